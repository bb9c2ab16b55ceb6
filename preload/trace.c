/*
 * trace.c: the `.nns` trace file (docs/trace-format.md). Records are encoded by
 * the thread that makes the call into a bounded buffer; a background thread writes
 * the buffer out at least every 200 ms, so a crash or SIGKILL loses at most that.
 * When the buffer is full, records are dropped and counted (memory stays bounded).
 *
 * The file is created at the first intercepted call (a process that makes none
 * leaves none), mode 0600, O_NOFOLLOW, never over an existing file: the first free
 * name of NAME, NAME.1, NAME.2, ... is taken with O_EXCL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core.h"
#include "device.h"
#include "output.h"
#include "nnspy.h"
#include "sites.h"
#include "trace.h"
#include "trace_writer.h"

#define RING_BYTES     (4u << 20)
#define FLUSH_EVERY_NS 200000000L
#define MAX_STRINGS    (1u << 16) /* distinct shape texts interned; more are left out */
#define MAX_KINDS      (1u << 14) /* distinct call kinds; the calls of more get OP records */
#define NO_RUN         SIZE_MAX

/* `lock` guards the buffer and is all the calling threads take; `io` serialises
 * the writes, which happen outside `lock` (a slow disk never stalls a caller: the
 * buffer fills and records are dropped instead). Lock order: io, then lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t io = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake;
static int state; /* 0: not started, 1: writing, 2: END written, -1: off or failed */
static int fd = -1;
static unsigned char *ring, *staging;
static size_t ring_used;
static uint64_t dropped;
static pthread_t writer;
static bool writer_running, stopping;

/* interned strings: text -> id, open addressing on the text's hash */
static struct {
    uint64_t hash;
    uint32_t id;
    char *text;
} strings[MAX_STRINGS * 2];
static uint32_t n_strings;

/*
 * Call kinds (format version 2): an OP payload with the call number, frame and host
 * time left 0, i.e. everything calls of one kind share. Each distinct kind is
 * written once as a KIND record; a call is then a PACKED entry of a few bytes: its
 * kind and the deltas of call number, host time and frame.
 */
static struct {
    uint64_t hash;
    uint32_t id; /* 0: empty slot */
} kinds[MAX_KINDS * 2];
static unsigned char (*kind_bodies)[NN_TOP_PAYLOAD]; /* id - 1 -> payload */
static uint32_t n_kinds;

/* The PACKED record being filled at the end of the buffer, and the values its
 * entries are deltas from (reset at each new record, so each is self-contained). */
static size_t run_at = NO_RUN;
static struct {
    uint64_t call, gpu_call;
    int64_t host_ns, gpu_start_ns;
    uint32_t frame;
} last;

/* ------------------------------------------------------------ encoding */

static void put(unsigned char **p, const void *v, size_t n)
{
    memcpy(*p, v, n); /* little-endian hosts only: x86-64, aarch64 */
    *p += n;
}
#define PUT(p, type, value)                                                                        \
    do {                                                                                           \
        type v_ = (type)(value);                                                                   \
        put(&(p), &v_, sizeof v_);                                                                 \
    } while (0)

/* Under lock: appends one record, or counts it dropped (false). */
static bool append(uint16_t type, const void *payload, uint32_t len)
{
    if (state != 1 || ring_used + 8 + len > RING_BYTES) {
        __atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
        return false;
    }
    unsigned char *p = ring + ring_used;
    PUT(p, uint16_t, type);
    PUT(p, uint16_t, 0);
    PUT(p, uint32_t, len);
    put(&p, payload, len);
    ring_used += 8 + len;
    run_at = NO_RUN; /* the next entry starts a PACKED record after this one */
    if (ring_used > RING_BYTES / 2) pthread_cond_signal(&wake);
    return true;
}

/* ------------------------------------------------------------ packed entries */

static void put_varint(unsigned char **p, uint64_t v)
{
    while (v >= 0x80) {
        *(*p)++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *(*p)++ = (unsigned char)v;
}

/* a - b as a zigzag varint value: small differences of either sign, few bytes.
 * Computed modulo 2^64, as the reader undoes it. */
static uint64_t zigzag_delta(uint64_t a, uint64_t b)
{
    uint64_t d = a - b;
    return (d << 1) ^ (uint64_t)-(int64_t)(d >> 63);
}

#define MAX_ENTRY 48 /* 4 varints of at most 10 bytes, and spare */

/* Under lock: where the next entry goes, in a PACKED record that has room for
 * MAX_ENTRY more bytes (a new one if needed); NULL (counted dropped) when the
 * buffer is full. */
static unsigned char *entry_start(void)
{
    bool open = run_at != NO_RUN && ring_used - run_at - 8 + MAX_ENTRY <= NN_TPACK_MAX;
    size_t need = MAX_ENTRY + (open ? 0 : 8);
    if (state != 1 || ring_used + need > RING_BYTES) {
        __atomic_add_fetch(&dropped, 1, __ATOMIC_RELAXED);
        return NULL;
    }
    if (!open) {
        unsigned char *h = ring + ring_used;
        PUT(h, uint16_t, NN_TREC_PACKED);
        PUT(h, uint16_t, 0);
        PUT(h, uint32_t, 0);
        run_at = ring_used;
        ring_used += 8;
        last.call = UINT64_MAX; /* so that call 0 is a delta of 0 from last.call + 1 */
        last.gpu_call = 0;
        last.host_ns = last.gpu_start_ns = 0;
        last.frame = 0;
    }
    return ring + ring_used;
}

/* Under lock: the entry written from entry_start() up to end is in. */
static void entry_end(unsigned char *end)
{
    ring_used = (size_t)(end - ring);
    uint32_t len = (uint32_t)(ring_used - run_at - 8);
    memcpy(ring + run_at + 4, &len, sizeof len);
    if (ring_used > RING_BYTES / 2) pthread_cond_signal(&wake);
}

static uint64_t body_hash(const unsigned char *b)
{
    uint64_t h = 0xcbf29ce484222325ULL, w;
    for (size_t i = 0; i < NN_TOP_PAYLOAD; i += 8) {
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

/* Under lock: the id of the kind whose OP payload is body, writing its KIND record
 * the first time; 0 when it cannot have one (table full, buffer full). */
static uint32_t kind_id(const unsigned char *body)
{
    if (!kind_bodies && !(kind_bodies = malloc(MAX_KINDS * sizeof *kind_bodies))) return 0;
    uint64_t h = body_hash(body);
    size_t slots = MAX_KINDS * 2, j = h % slots;
    for (; kinds[j].id; j = (j + 1) % slots)
        if (kinds[j].hash == h && !memcmp(kind_bodies[kinds[j].id - 1], body, NN_TOP_PAYLOAD))
            return kinds[j].id;
    if (n_kinds >= MAX_KINDS) return 0;
    uint32_t id = n_kinds + 1;
    unsigned char rec[NN_TKIND_PAYLOAD], *p = rec;
    PUT(p, uint32_t, id);
    put(&p, body, NN_TOP_PAYLOAD);
    /* Known only once its KIND record is in, as strings are. */
    if (!append(NN_TREC_KIND, rec, sizeof rec)) return 0;
    memcpy(kind_bodies[id - 1], body, NN_TOP_PAYLOAD);
    kinds[j].hash = h;
    kinds[j].id = id;
    n_kinds = id;
    return id;
}

/* Under lock: one call as a PACKED entry. */
static void append_call(uint32_t kind, uint64_t call, int64_t host_ns, uint32_t frame)
{
    unsigned char *p = entry_start();
    if (!p) return;
    put_varint(&p, (uint64_t)kind << 2 | NN_TPACK_CALL);
    put_varint(&p, zigzag_delta(call, last.call + 1));
    put_varint(&p, zigzag_delta((uint64_t)host_ns, (uint64_t)last.host_ns));
    put_varint(&p, zigzag_delta(frame, last.frame));
    last.call = call;
    last.host_ns = host_ns;
    last.frame = frame;
    entry_end(p);
}

/* Under lock: one GPU interval as a PACKED entry; false when its call delta does
 * not fit (the caller writes a GPU_TIME record instead). */
static bool append_gpu_time(uint64_t call, int64_t start_ns, int64_t end_ns)
{
    if (zigzag_delta(call, last.gpu_call) >> 62) return false;
    unsigned char *p = entry_start();
    if (!p) return true;
    put_varint(&p, zigzag_delta(call, last.gpu_call) << 2 | NN_TPACK_GPU_TIME);
    put_varint(&p, zigzag_delta((uint64_t)start_ns, (uint64_t)last.gpu_start_ns));
    put_varint(&p, zigzag_delta((uint64_t)end_ns, (uint64_t)start_ns));
    last.gpu_call = call;
    last.gpu_start_ns = start_ns;
    entry_end(p);
    return true;
}

/* FNV-1a over 8 bytes at a time, then the tail: a traced call's shape text is
 * hashed at every call. */
static uint64_t text_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL, w;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, s + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 32;
    }
    for (; i < len; i++) h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

/* Under lock: the id of text, defining it with a STRING record the first time. */
static uint32_t string_id(const char *text)
{
    if (!text || !*text) return 0;
    size_t len = strlen(text);
    uint64_t h = text_hash(text, len);
    size_t slots = MAX_STRINGS * 2, j = h % slots;
    while (strings[j].text) {
        if (strings[j].hash == h && strcmp(strings[j].text, text) == 0) return strings[j].id;
        j = (j + 1) % slots;
    }
    if (n_strings >= MAX_STRINGS || len > 4096) return 0;
    char *copy = strdup(text);
    unsigned char *payload = malloc(4 + len);
    if (!copy || !payload) {
        free(copy);
        free(payload);
        return 0;
    }
    uint32_t id = n_strings + 1;
    unsigned char *p = payload;
    PUT(p, uint32_t, id);
    put(&p, text, len);
    /* Interned only once its STRING record is in: a dropped one would leave later
     * records naming an undefined string. */
    bool in = append(NN_TREC_STRING, payload, (uint32_t)(4 + len));
    free(payload);
    if (!in) {
        free(copy);
        return 0;
    }
    n_strings = id;
    strings[j].hash = h;
    strings[j].id = id;
    strings[j].text = copy;
    return id;
}

/*
 * Under lock: string_id of a string that lives as long as nnspy, remembered by its
 * address: the function, operation and data type names of a call are string
 * literals of nnspy's own (nn_op in core.h), and hashing them at every call cost
 * more than the rest of the record.
 */
#define LITERAL_SLOTS 64
static struct {
    const char *text;
    uint32_t id;
} literals[LITERAL_SLOTS];

static uint32_t literal_id(const char *text)
{
    size_t j = ((uintptr_t)text >> 3) % LITERAL_SLOTS;
    if (text && literals[j].text == text) return literals[j].id;
    uint32_t id = string_id(text);
    if (id) literals[j].text = text, literals[j].id = id;
    return id;
}

/* ------------------------------------------------------------ the file */

static const char *exe_base(char *buf, size_t len)
{
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    buf[n > 0 ? n : 0] = '\0';
    const char *slash = strrchr(buf, '/');
    return slash ? slash + 1 : buf;
}

/* The rank of this process in a multi-process job, or -1. */
static long job_rank(void)
{
    static const char *const vars[] = {"RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        char *end;
        long r = v && *v ? strtol(v, &end, 10) : -1;
        if (v && *v && !*end && r >= 0) return r;
    }
    return -1;
}

/* NNSPY_OUTPUT with %p (pid), %r (rank), %h (host), %e (executable), %% (%). */
static bool expand_name(const char *tmpl, char *out, size_t len)
{
    char exe[PATH_MAX], host[256] = "", piece[PATH_MAX];
    size_t used = 0;
    gethostname(host, sizeof host - 1);
    for (const char *p = tmpl; *p; p++) {
        piece[0] = p[0], piece[1] = '\0';
        if (p[0] == '%' && p[1]) {
            switch (*++p) {
            case 'p': snprintf(piece, sizeof piece, "%ld", (long)getpid()); break;
            case 'r': snprintf(piece, sizeof piece, "%ld", job_rank()); break;
            case 'h': snprintf(piece, sizeof piece, "%s", host); break;
            case 'e': snprintf(piece, sizeof piece, "%s", exe_base(exe, sizeof exe)); break;
            case '%': break;
            default: snprintf(piece, sizeof piece, "%%%c", *p); break;
            }
        }
        size_t n = strlen(piece);
        if (used + n >= len) return false;
        memcpy(out + used, piece, n + 1);
        used += n;
    }
    return used > 0;
}

/* Creates the first free name of base, base.1, ...: never an existing file. */
static int create_file(const char *base, char *chosen, size_t len)
{
    for (int n = 0; n < 1000; n++) {
        if (n == 0) snprintf(chosen, len, "%s", base);
        else snprintf(chosen, len, "%s.%d", base, n);
        int f = open(chosen, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f >= 0 || errno != EEXIST) return f;
    }
    errno = EEXIST;
    return -1;
}

static int64_t clock_ns(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The command line, as a JSON array. */
static void json_args(nn_out *o)
{
    char buf[4096];
    int f = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    ssize_t n = f >= 0 ? read(f, buf, sizeof buf - 1) : 0;
    if (f >= 0) close(f);
    nn_out_printf(o, "[");
    for (ssize_t i = 0; i < n;) {
        buf[n] = '\0';
        nn_out_printf(o, "%s", i ? ", " : "");
        nn_out_json_string(o, buf + i);
        i += (ssize_t)strlen(buf + i) + 1;
    }
    nn_out_printf(o, "]");
}

static bool write_header(void)
{
    static nn_out o; /* 16 KiB: the header JSON is built here, then written at once */
    const nn_config *cfg = nn_config_get();
    const nn_device_info *dev = nn_device_get();
    char exe[PATH_MAX] = "", host[256] = "";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = '\0';
    gethostname(host, sizeof host - 1);
    static const char *const frames[] = {"auto", "marker", "sync", "nvtx:"};
    static const char *const timings[] = {"events", "cupti", "off"};
    nn_out_init_memory(&o);
    nn_out_printf(&o, "{\"nnspy_version\": \"%s\", \"pid\": %ld, \"rank\": ", NNSPY_VERSION,
                  (long)getpid());
    long rank = job_rank();
    if (rank >= 0) nn_out_printf(&o, "%ld", rank);
    else nn_out_printf(&o, "null");
    nn_out_printf(&o, ", \"host\": ");
    nn_out_json_string(&o, host);
    nn_out_printf(&o, ", \"exe\": ");
    nn_out_json_string(&o, exe);
    nn_out_printf(&o, ", \"args\": ");
    json_args(&o);
    nn_out_printf(&o, ", \"start_time_ns\": %lld, \"start_monotonic_ns\": %lld, \"device\": {\"name\": ",
                  (long long)clock_ns(CLOCK_REALTIME), (long long)nn_monotonic_ns());
    nn_out_json_string(&o, dev->name);
    nn_out_printf(&o, ", \"simulated\": %s, \"peak_tflops\": ", dev->simulated ? "true" : "false");
    if (dev->peak_tflops > 0) nn_out_printf(&o, "%.9g}", dev->peak_tflops);
    else nn_out_printf(&o, "null}");
    char frame_mode[sizeof cfg->frame_range + 8];
    snprintf(frame_mode, sizeof frame_mode, "%s%s", frames[cfg->frame_mode],
             cfg->frame_mode == NN_FRAME_NVTX ? cfg->frame_range : "");
    nn_out_printf(&o, ", \"frame_mode\": ");
    nn_out_json_string(&o, frame_mode);
    nn_out_printf(&o, ", \"timing_mode\": \"%s\"}", timings[cfg->timing_mode]);
    if (!nn_out_flush(&o)) return false;
    unsigned char head[16], *p = head;
    put(&p, NN_TRACE_MAGIC, 8);
    PUT(p, uint32_t, NN_TRACE_VERSION);
    PUT(p, uint32_t, (uint32_t)o.used);
    return write(fd, head, sizeof head) == (ssize_t)sizeof head &&
           write(fd, o.buf, o.used) == (ssize_t)o.used;
}

/* ------------------------------------------------------------ writing out */

/* Under io: writes n bytes of staging out. */
static bool write_out(size_t n)
{
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, staging + off, n - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return false;
        off += (size_t)w;
    }
    return true;
}

/*
 * Writes what is buffered: under io (which keeps the file in record order), the
 * buffer is swapped for the empty staging one under lock, then written with lock
 * released. `wait`: false in a signal handler, where a held lock means "skip".
 */
static void drain(bool wait)
{
    if (wait ? pthread_mutex_lock(&io) != 0 : pthread_mutex_trylock(&io) != 0) return;
    if (wait ? pthread_mutex_lock(&lock) != 0 : pthread_mutex_trylock(&lock) != 0) {
        pthread_mutex_unlock(&io);
        return;
    }
    size_t n = state > 0 && fd >= 0 ? ring_used : 0;
    unsigned char *full = ring;
    ring = staging;
    staging = full;
    ring_used = 0;
    run_at = NO_RUN;
    pthread_mutex_unlock(&lock);
    if (n && !write_out(n)) {
        pthread_mutex_lock(&lock);
        state = -1;
        pthread_mutex_unlock(&lock);
        /* A record cut short stays at the end: the reader reads up to it. */
        if (wait) nn_warn_once("cannot write the trace: %s; tracing is off", strerrorname_np(errno));
    }
    pthread_mutex_unlock(&io);
}

static void *writer_main(void *arg)
{
    (void)arg;
    /* The program's signals are for its own threads, not for this one. */
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&lock);
    while (!stopping && state == 1) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += FLUSH_EVERY_NS;
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&wake, &lock, &until);
        pthread_mutex_unlock(&lock);
        drain(true);
        pthread_mutex_lock(&lock);
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* Under lock: opens the file and starts the writer, once. */
static bool started(void)
{
    if (state) return state > 0;
    state = -1;
    const char *tmpl = nn_config_get()->output_template;
    if (!tmpl[0]) return false; /* NNSPY_OUTPUT=off */
    char base[PATH_MAX], chosen[PATH_MAX + 16];
    ring = malloc(RING_BYTES);
    staging = malloc(RING_BYTES);
    if (!ring || !staging || !expand_name(tmpl, base, sizeof base)) {
        nn_warn("cannot start the trace (NNSPY_OUTPUT=\"%.64s\"); counting goes on", tmpl);
        return false;
    }
    fd = create_file(base, chosen, sizeof chosen);
    if (fd < 0) {
        nn_warn("cannot create the trace %s: %s; counting goes on", base, strerrorname_np(errno));
        return false;
    }
    if (!write_header()) {
        nn_warn("cannot write the trace %s; counting goes on", chosen);
        close(fd), fd = -1;
        unlink(chosen); /* no empty or half-headed file left behind */
        return false;
    }
    state = 1;
    stopping = false;
    writer_running = pthread_create(&writer, NULL, writer_main, NULL) == 0;
    return true;
}

/* ------------------------------------------------------------ call sites */

/* which sites and modules have their record in this process's trace */
static bool site_written[NN_MAX_SITES + 1], module_written[NN_MAX_MODULES + 1];

/* Under lock: the MODULE record of module id, once; false when it is not in. */
static bool module_defined(uint32_t id)
{
    const nn_module *m = nn_module_get(id);
    if (!m || module_written[id]) return m != NULL;
    size_t path_len = strnlen(m->path, sizeof m->path);
    unsigned char rec[8 + NN_BUILD_ID_MAX + sizeof m->path], *p = rec;
    PUT(p, uint32_t, id);
    PUT(p, uint32_t, m->build_id_len);
    put(&p, m->build_id, m->build_id_len);
    put(&p, m->path, path_len);
    return module_written[id] = append(NN_TREC_MODULE, rec, (uint32_t)(p - rec));
}

/* Under lock: the SITE record of site id (and what it names), once; returns the id
 * to write in OP records, 0 when the site could not be put in the trace. */
static uint32_t site_defined(uint32_t id)
{
    const nn_site *s = nn_site_get(id);
    if (!s || site_written[id]) return s ? id : 0;
    unsigned char rec[16 + NN_SITE_MAX_NATIVE * 16 + NN_SITE_MAX_PYTHON * 16], *p = rec;
    PUT(p, uint32_t, id);
    PUT(p, uint32_t, s->flags);
    PUT(p, uint32_t, s->n_native);
    PUT(p, uint32_t, s->n_python);
    for (uint32_t i = 0; i < s->n_native; i++) {
        uint32_t module = s->native[i].module;
        if (module && !module_defined(module)) return 0;
        PUT(p, uint32_t, module);
        PUT(p, uint32_t, 0);
        PUT(p, uint64_t, s->native[i].address);
    }
    for (uint32_t i = 0; i < s->n_python; i++) {
        uint32_t file = string_id(s->python[i].file), function = string_id(s->python[i].function);
        if (!file || !function) return 0;
        PUT(p, uint32_t, file);
        PUT(p, uint32_t, function);
        PUT(p, uint32_t, s->python[i].line);
        PUT(p, uint32_t, 0);
    }
    site_written[id] = append(NN_TREC_SITE, rec, (uint32_t)(p - rec));
    return site_written[id] ? id : 0;
}

/* ------------------------------------------------------------ records */

/* The OP payload of a call (docs/trace-format.md); `rec` has NN_TOP_PAYLOAD bytes. */
static void op_payload(unsigned char *rec, uint64_t call, const nn_op *op, uint64_t params_read,
                       uint64_t signature, int64_t host_ns, uint32_t given_frame, uint32_t site)
{
    unsigned char *p = rec;
    uint32_t flags = (op->succeeded ? NN_TOP_SUCCEEDED : 0) |
                     (op->cost_known ? NN_TOP_COST_KNOWN : 0) |
                     (op->cost.overflow ? NN_TOP_OVERFLOW : 0) |
                     (op->cost.unknown_dtype ? NN_TOP_BYTES_INCOMPLETE : 0) |
                     (op->in_graph_launch ? NN_TOP_IN_GRAPH_LAUNCH : 0);
    uint32_t function = literal_id(op->call), kind = literal_id(op->op);
    uint32_t shape = string_id(op->shape), dtype = literal_id(nn_dtype_name(op->dtype));
    bool counted = op->succeeded && op->cost_known;
    PUT(p, uint64_t, call);
    PUT(p, uint32_t, op->api);
    PUT(p, uint32_t, function);
    PUT(p, uint32_t, kind);
    PUT(p, uint32_t, shape);
    PUT(p, uint32_t, dtype);
    PUT(p, uint32_t, flags);
    PUT(p, uint32_t, given_frame);
    PUT(p, uint32_t, site);
    PUT(p, uint64_t, counted ? op->cost.macs : 0);
    PUT(p, uint64_t, counted ? op->cost.flops : 0);
    PUT(p, uint64_t, counted ? op->cost.bytes_read : 0);
    PUT(p, uint64_t, counted ? op->cost.bytes_written : 0);
    PUT(p, uint64_t, params_read);
    PUT(p, uint64_t, signature);
    PUT(p, int64_t, host_ns);
    PUT(p, uint64_t, op->workspace_bytes);
    /* Autotuning (report/frames.c): the graph and plan a cudnnBackendExecute ran,
     * the same for all its calls, so part of their kind. */
    PUT(p, uint32_t, op->tune_key);
    PUT(p, uint32_t, op->tune_variant);
    PUT(p, uint32_t, op->autotune ? NN_TOP_TUNE_SEARCH : 0);
    PUT(p, uint32_t, 0);
}

/* The byte offsets, in an OP payload, of the fields that differ from call to call. */
#define OP_CALL_AT  0
#define OP_FRAME_AT 32
#define OP_HOST_AT  88

void nn_trace_write_op(uint64_t call, const nn_op *op, uint64_t params_read, uint64_t signature,
                       int64_t host_ns, uint32_t given_frame, uint32_t site)
{
    pthread_mutex_lock(&lock);
    if (started()) {
        unsigned char body[NN_TOP_PAYLOAD];
        op_payload(body, 0, op, params_read, signature, 0, 0, site_defined(site));
        uint32_t kind = kind_id(body);
        if (kind) {
            append_call(kind, call, host_ns, given_frame);
        } else {
            /* No kind to refer to: the whole call in an OP record. */
            memcpy(body + OP_CALL_AT, &call, 8);
            memcpy(body + OP_FRAME_AT, &given_frame, 4);
            memcpy(body + OP_HOST_AT, &host_ns, 8);
            append(NN_TREC_OP, body, NN_TOP_PAYLOAD);
        }
    }
    pthread_mutex_unlock(&lock);
}

void nn_trace_write_gpu_time(uint64_t call, int64_t start_ns, int64_t end_ns)
{
    pthread_mutex_lock(&lock);
    if (state > 0 && !append_gpu_time(call, start_ns, end_ns)) {
        unsigned char rec[24], *p = rec;
        PUT(p, uint64_t, call);
        PUT(p, int64_t, start_ns);
        PUT(p, int64_t, end_ns);
        append(NN_TREC_GPU_TIME, rec, sizeof rec);
    }
    pthread_mutex_unlock(&lock);
}

void nn_trace_write_frame(uint32_t id, int64_t begin_ns, int64_t end_ns, bool open_at_exit)
{
    pthread_mutex_lock(&lock);
    if (started()) {
        unsigned char rec[24], *p = rec;
        PUT(p, uint32_t, id);
        PUT(p, uint32_t, open_at_exit ? 1u : 0u);
        PUT(p, int64_t, begin_ns);
        PUT(p, int64_t, end_ns);
        append(NN_TREC_FRAME, rec, sizeof rec);
    }
    pthread_mutex_unlock(&lock);
}

uint64_t nn_trace_dropped(void)
{
    return __atomic_load_n(&dropped, __ATOMIC_RELAXED); /* no lock: read in signal handlers */
}

void nn_trace_flush(bool from_signal)
{
    /* In a signal handler only if the locks are free: the interrupted thread may
     * hold them. write(2) is async-signal-safe. */
    drain(!from_signal);
}

void nn_trace_finish(const char *end_json, size_t len, bool from_signal)
{
    /* Out first, so that END finds room; then END, and the file is closed to late
     * calls of other threads (counted as dropped, never written after END). */
    drain(!from_signal);
    if (from_signal ? pthread_mutex_trylock(&lock) != 0 : pthread_mutex_lock(&lock) != 0) return;
    bool open = state == 1;
    if (open) append(NN_TREC_END, end_json, (uint32_t)len);
    if (open) state = 2;
    stopping = true;
    bool join = writer_running && !from_signal;
    if (join) {
        pthread_cond_signal(&wake);
        writer_running = false;
    }
    pthread_mutex_unlock(&lock);
    if (!open) return;
    drain(!from_signal); /* END goes out: a finished trace still drains */
    if (join) pthread_join(writer, NULL);
}

/* A forked child writes a trace of its own, from its first call: the parent's
 * file, buffer and writer thread are not its. */
static void forget_after_fork(void)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    if (fd >= 0) close(fd);
    fd = -1;
    state = 0;
    /* The parent's buffers: the child writes a trace of its own, with its own. */
    free(ring);
    free(staging);
    ring = staging = NULL;
    ring_used = 0;
    dropped = 0;
    writer_running = false;
    stopping = false;
    pthread_cond_init(&wake, &attr);
    for (size_t i = 0; i < MAX_STRINGS * 2; i++) free(strings[i].text), strings[i].text = NULL;
    n_strings = 0;
    memset(site_written, 0, sizeof site_written);
    memset(module_written, 0, sizeof module_written);
    memset(kinds, 0, sizeof kinds);
    memset(literals, 0, sizeof literals);
    n_kinds = 0;
    run_at = NO_RUN;
}

__attribute__((constructor(130))) static void trace_init(void)
{
    pthread_condattr_t attr; /* the writer's periodic wait follows the monotonic clock */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&wake, &attr);
    nn_fork_protect(&io, NULL);
    nn_fork_protect(&lock, forget_after_fork);
}
