/*
 * trace_read.c: reading a `.nns` trace (docs/trace-format.md) into memory.
 *
 * Everything read is checked: lengths against the file and the 1 MiB limit, string
 * ids against the strings defined before, call numbers, times, the JSON of the
 * header and of END. Errors name the byte offset where they were found. A file
 * that ends cleanly between two records without an END record is accepted as
 * incomplete: its totals are recomputed from the calls it has.
 *
 * Memory is bounded by the file size: a first pass over the records counts them
 * (checking only their framing), and the second allocates exactly that.
 */
#define _GNU_SOURCE
#include "trace.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER_FIXED     16u
#define RECORD_HEAD      8u
#define GPU_TIME_PAYLOAD 24u
#define FRAME_PAYLOAD    24u

typedef struct parser {
    const unsigned char *d;
    size_t size;
    const char *name;
    char *err;
    size_t errlen;
    nn_trace *t;
    /* strings: id -> text, open addressing */
    uint32_t *ids;
    const char **texts;
    size_t cap;
    char *arena;
    size_t arena_used;
    /* call kinds (version 2): id - 1 -> what the calls of that kind share */
    nn_trace_op *kinds;
    uint32_t n_kinds;
    uint32_t op_payload; /* bytes of an OP payload: 104 in version 1, 120 in version 2 */
} parser;

__attribute__((format(printf, 3, 4))) static int fail(parser *p, size_t offset, const char *fmt,
                                                      ...)
{
    if (!p->err || !p->errlen) return -1;
    int n = snprintf(p->err, p->errlen, "%s: offset %zu: ", p->name, offset);
    if (n < 0 || (size_t)n >= p->errlen) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static uint16_t rd16(const unsigned char *b)
{
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t rd32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint64_t rd64(const unsigned char *b)
{
    return (uint64_t)rd32(b) | (uint64_t)rd32(b + 4) << 32;
}

static bool time_ok(int64_t t)
{
    return t >= -NN_TRACE_TIME_LIMIT && t <= NN_TRACE_TIME_LIMIT;
}

/* Strict UTF-8 (no overlongs, no surrogates, at most U+10FFFF); returns the offset
 * of the first bad byte, or len. */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return i;
        if (len - i <= n) return i;
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xc0) != 0x80) return i;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return i;
        i += n + 1;
    }
    return len;
}

/* ------------------------------------------------------------ JSON */

/*
 * jansson's integers are signed 64-bit; the writer's counts are unsigned and may
 * be saturated at 2^64 - 1. Integers too big for jansson are read as strings
 * marked with a leading \u0001, which get_u64 turns back into numbers.
 */
#define BIG_MARK "\x01"

static char *mark_big_integers(const char *text, size_t len, size_t *out_len)
{
    char *out = malloc(len * 3 + 1); /* each digit run gains at most 8 bytes */
    if (!out) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        char c = text[i];
        if (c == '"') { /* a string: copied as is, escapes included */
            out[o++] = text[i++];
            while (i < len && text[i] != '"') {
                if (text[i] == '\\' && i + 1 < len) out[o++] = text[i++];
                out[o++] = text[i++];
            }
            if (i < len) out[o++] = text[i++];
            continue;
        }
        bool prev_ok = i == 0 || strchr(" \t\r\n:,[", text[i - 1]);
        if (c >= '0' && c <= '9' && prev_ok) {
            size_t j = i;
            while (j < len && text[j] >= '0' && text[j] <= '9') j++;
            bool integer = j == len || !strchr(".eE", text[j]);
            size_t digits = j - i;
            /* 19 digits may exceed INT64_MAX; 21 or more exceed UINT64_MAX too, and
             * stay numbers (jansson then reports them too big). */
            bool big =
                integer &&
                (digits == 20 || (digits == 19 && memcmp(text + i, "9223372036854775807", 19) > 0));
            if (big) {
                memcpy(out + o, "\"\\u0001", 7);
                o += 7;
                memcpy(out + o, text + i, digits);
                o += digits;
                out[o++] = '"';
                i = j;
                continue;
            }
            memcpy(out + o, text + i, digits);
            o += digits;
            i = j;
            continue;
        }
        out[o++] = text[i++];
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

/* Parses the JSON object at d[offset .. offset + len); NULL after fail(). */
static json_t *load_object(parser *p, size_t offset, size_t len, const char *what)
{
    json_error_t e;
    const char *text = (const char *)p->d + offset;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &e);
    if (!j && strstr(e.text, "too big")) {
        size_t marked_len;
        char *marked = mark_big_integers(text, len, &marked_len);
        if (!marked) {
            fail(p, offset, "out of memory");
            return NULL;
        }
        json_error_t e2;
        j = json_loadb(marked, marked_len, JSON_REJECT_DUPLICATES, &e2);
        free(marked);
    }
    if (!j) {
        size_t at = e.position >= 0 && (size_t)e.position <= len ? (size_t)e.position : 0;
        fail(p, offset + at, "%s JSON: %s", what, e.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        fail(p, offset, "%s JSON is not an object", what);
        return NULL;
    }
    return j;
}

/* obj[key] as an unsigned 64-bit integer; absent leaves *out. 0 or -1 (fail). */
static int get_u64(parser *p, size_t offset, const json_t *obj, const char *what, const char *key,
                   uint64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0) {
        *out = (uint64_t)json_integer_value(v);
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        if (s[0] == BIG_MARK[0] && s[1] >= '0' && s[1] <= '9') {
            char *end;
            errno = 0;
            unsigned long long u = strtoull(s + 1, &end, 10);
            if (!*end && errno == 0) {
                *out = u;
                return 0;
            }
        }
    }
    return fail(p, offset, "%s: \"%s\" is not an integer from 0 to 2^64 - 1", what, key);
}

static int get_i64(parser *p, size_t offset, const json_t *obj, const char *what, const char *key,
                   int64_t *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_integer(v)) return fail(p, offset, "%s: \"%s\" is not an integer", what, key);
    *out = json_integer_value(v);
    return 0;
}

static int get_bool(parser *p, size_t offset, const json_t *obj, const char *what, const char *key,
                    bool *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v) return 0;
    if (!json_is_boolean(v)) return fail(p, offset, "%s: \"%s\" is not true or false", what, key);
    *out = json_is_true(v);
    return 0;
}

/* A string (copied) or, when null_ok, null (*out stays NULL); absent: dflt. */
static int get_str(parser *p, size_t offset, const json_t *obj, const char *what, const char *key,
                   const char *dflt, bool null_ok, char **out)
{
    json_t *v = json_object_get(obj, key);
    const char *s = dflt;
    if (v && json_is_string(v))
        s = json_string_value(v);
    else if (v && json_is_null(v) && null_ok)
        s = NULL;
    else if (v)
        return fail(p, offset, "%s: \"%s\" is not a string", what, key);
    *out = NULL;
    if (s && !(*out = strdup(s))) return fail(p, offset, "out of memory");
    return 0;
}

static int parse_header_json(parser *p, size_t offset, size_t len)
{
    nn_trace *t = p->t;
    const char *w = "header";
    json_t *j = load_object(p, offset, len, w);
    if (!j) return -1;
    int rc = -1;
    int64_t pid = 0, rank = -1;
    json_t *r = json_object_get(j, "rank");
    if (get_i64(p, offset, j, w, "pid", &pid) != 0) goto out;
    if (pid < 0 || pid > (int64_t)0x7fffffff) {
        fail(p, offset, "header: \"pid\" %lld is out of range", (long long)pid);
        goto out;
    }
    if (r && !json_is_null(r)) {
        if (get_i64(p, offset, j, w, "rank", &rank) != 0) goto out;
        if (rank < 0 || rank > (int64_t)0x7fffffff) {
            fail(p, offset, "header: \"rank\" %lld is out of range", (long long)rank);
            goto out;
        }
    }
    t->pid = (long)pid;
    t->rank = (long)rank;
    if (get_str(p, offset, j, w, "nnspy_version", "", false, &t->nnspy_version) ||
        get_str(p, offset, j, w, "host", "", false, &t->host) ||
        get_str(p, offset, j, w, "exe", "", false, &t->exe) ||
        get_str(p, offset, j, w, "frame_mode", "auto", false, &t->frame_mode) ||
        get_str(p, offset, j, w, "timing_mode", "events", false, &t->timing_mode) ||
        get_i64(p, offset, j, w, "start_time_ns", &t->start_time_ns) ||
        get_i64(p, offset, j, w, "start_monotonic_ns", &t->start_monotonic_ns))
        goto out;
    json_t *args = json_object_get(j, "args");
    if (args) {
        if (!json_is_array(args)) {
            fail(p, offset, "header: \"args\" is not an array");
            goto out;
        }
        size_t n = json_array_size(args);
        t->args = calloc(n + 1, sizeof *t->args);
        if (!t->args) {
            fail(p, offset, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            json_t *a = json_array_get(args, i);
            if (!json_is_string(a)) {
                fail(p, offset, "header: \"args\"[%zu] is not a string", i);
                goto out;
            }
            if (!(t->args[i] = strdup(json_string_value(a)))) {
                fail(p, offset, "out of memory");
                goto out;
            }
            t->n_args = i + 1;
        }
    }
    json_t *dev = json_object_get(j, "device");
    if (dev && !json_is_object(dev)) {
        fail(p, offset, "header: \"device\" is not an object");
        goto out;
    }
    if (get_str(p, offset, dev, "header: device", "name", "", false, &t->device_name) ||
        get_bool(p, offset, dev, "header: device", "simulated", &t->simulated))
        goto out;
    json_t *peak = json_object_get(dev, "peak_tflops");
    if (peak && !json_is_null(peak)) {
        double v = json_is_number(peak) ? json_number_value(peak) : -1;
        if (!json_is_number(peak) || !isfinite(v) || v < 0) {
            fail(p, offset, "header: device \"peak_tflops\" is not a number >= 0 or null");
            goto out;
        }
        t->peak_tflops = v;
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

static int parse_end_json(parser *p, size_t offset, size_t len)
{
    nn_trace *t = p->t;
    json_t *j = load_object(p, offset, len, "END");
    if (!j) return -1;
    int rc = -1;
    json_t *tot = json_object_get(j, "totals"), *tm = json_object_get(j, "timing");
    if (!tot || !json_is_object(tot)) {
        fail(p, offset, "END: no \"totals\" object");
        goto out;
    }
    if (tm && !json_is_object(tm)) {
        fail(p, offset, "END: \"timing\" is not an object");
        goto out;
    }
    nn_trace_totals *s = &t->totals;
    const char *w = "END totals";
    if (get_u64(p, offset, tot, w, "calls", &s->calls) ||
        get_u64(p, offset, tot, w, "failed_calls", &s->failed_calls) ||
        get_u64(p, offset, tot, w, "unknown_cost_calls", &s->unknown_cost_calls) ||
        get_u64(p, offset, tot, w, "macs", &s->macs) ||
        get_u64(p, offset, tot, w, "flops", &s->flops) ||
        get_u64(p, offset, tot, w, "params", &s->params) ||
        get_u64(p, offset, tot, w, "param_bytes", &s->param_bytes) ||
        get_u64(p, offset, tot, w, "buffers", &s->buffers) ||
        get_u64(p, offset, tot, w, "buffer_bytes", &s->buffer_bytes) ||
        get_u64(p, offset, tot, w, "bytes_read", &s->bytes_read) ||
        get_u64(p, offset, tot, w, "bytes_written", &s->bytes_written) ||
        get_bool(p, offset, tot, w, "overflow", &s->overflow) ||
        get_bool(p, offset, tot, w, "params_incomplete", &s->params_incomplete) ||
        get_bool(p, offset, tot, w, "bytes_incomplete", &s->bytes_incomplete) ||
        get_u64(p, offset, j, "END", "dropped_records", &t->dropped_records))
        goto out;
    w = "END timing";
    t->timing_available = false;
    if (tm) {
        uint64_t other_kernels = 0;
        if (get_str(p, offset, tm, w, "mode", t->timing_mode, false, &t->timing_used) ||
            get_bool(p, offset, tm, w, "available", &t->timing_available) ||
            get_str(p, offset, tm, w, "reason", NULL, true, &t->timing_reason) ||
            get_u64(p, offset, tm, w, "timed_calls", &t->timed_calls) ||
            get_u64(p, offset, tm, w, "dropped_calls", &t->timing_dropped_calls) ||
            get_u64(p, offset, tm, w, "attributed_kernels", &t->attributed_kernels) ||
            get_u64(p, offset, tm, w, "other_kernels", &other_kernels))
            goto out;
        t->other_kernels = other_kernels;
        json_t *ms = json_object_get(tm, "other_gpu_ms");
        if (ms && !json_is_null(ms)) {
            double v = json_is_number(ms) ? json_number_value(ms) * 1e6 : -1;
            if (!json_is_number(ms) || !isfinite(v) || v < 0 || v > (double)NN_TRACE_TIME_LIMIT) {
                fail(p, offset, "END timing: \"other_gpu_ms\" is not a number of milliseconds");
                goto out;
            }
            t->other_ns = llround(v);
        }
    } else if (!(t->timing_used = strdup(t->timing_mode))) {
        fail(p, offset, "out of memory");
        goto out;
    }
    rc = 0;
out:
    json_decref(j);
    return rc;
}

/* ------------------------------------------------------------ strings */

static const char *string_find(const parser *p, uint32_t id)
{
    if (!p->cap) return NULL;
    for (size_t j = (id * 0x9e3779b9u) & (p->cap - 1);; j = (j + 1) & (p->cap - 1)) {
        if (p->ids[j] == id) return p->texts[j];
        if (p->ids[j] == 0) return NULL;
    }
}

static int string_define(parser *p, size_t offset, const unsigned char *payload, uint32_t len)
{
    uint32_t id = rd32(payload);
    size_t text_len = len - 4;
    const unsigned char *text = payload + 4;
    if (id == 0) return fail(p, offset + RECORD_HEAD, "STRING with id 0 (0 means none)");
    const unsigned char *nul = memchr(text, 0, text_len);
    if (nul)
        return fail(p, offset + RECORD_HEAD + 4 + (size_t)(nul - text), "NUL byte inside string %u",
                    id);
    size_t bad = utf8_bad_at(text, text_len);
    if (bad != text_len)
        return fail(p, offset + RECORD_HEAD + 4 + bad, "string %u is not valid UTF-8", id);
    size_t j = (id * 0x9e3779b9u) & (p->cap - 1);
    while (p->ids[j] != 0) {
        if (p->ids[j] == id) return fail(p, offset + RECORD_HEAD, "string id %u defined twice", id);
        j = (j + 1) & (p->cap - 1);
    }
    char *s = p->arena + p->arena_used;
    memcpy(s, text, text_len);
    s[text_len] = '\0';
    p->arena_used += text_len + 1;
    p->ids[j] = id;
    p->texts[j] = s;
    return 0;
}

/* The text of string id (0: ""), or NULL after fail(). */
static const char *string_use(parser *p, size_t offset, uint32_t id, const char *field)
{
    if (id == 0) return "";
    const char *s = string_find(p, id);
    if (!s) fail(p, offset, "%s: string id %u used before it is defined", field, id);
    return s;
}

/* ------------------------------------------------------------ records */

static const char *const api_limit_names = "0 (cudnn), 1 (cublas), 2 (cublasLt) or 3 (cuda)";

/* An OP payload at file offset `at` into *o. */
static int parse_op_body(parser *p, size_t at, const unsigned char *b, nn_trace_op *o)
{
    o->call = rd64(b);
    o->api = rd32(b + 8);
    if (o->api > 3) return fail(p, at + 8, "OP api %u is not %s", o->api, api_limit_names);
    if (!(o->function = string_use(p, at + 12, rd32(b + 12), "OP function")) ||
        !(o->op = string_use(p, at + 16, rd32(b + 16), "OP operation")) ||
        !(o->shape = string_use(p, at + 20, rd32(b + 20), "OP shape")) ||
        !(o->dtype = string_use(p, at + 24, rd32(b + 24), "OP data type")))
        return -1;
    o->flags = rd32(b + 28);
    o->given_frame = rd32(b + 32);
    o->macs = rd64(b + 40);
    o->flops = rd64(b + 48);
    o->bytes_read = rd64(b + 56);
    o->bytes_written = rd64(b + 64);
    o->params_read = rd64(b + 72);
    o->signature = rd64(b + 80);
    o->host_ns = (int64_t)rd64(b + 88);
    if (!time_ok(o->host_ns))
        return fail(p, at + 88, "OP host time %lld ns is out of range", (long long)o->host_ns);
    o->workspace_bytes = rd64(b + 96);
    o->site = rd32(b + 36); /* reserved 0 in version 1: no site */
    if (p->op_payload >= NN_TOP_PAYLOAD) { /* version 2: autotuning */
        o->tune_key = rd32(b + 104);
        o->tune_variant = rd32(b + 108);
        o->tune_search = (rd32(b + 112) & NN_TOP_TUNE_SEARCH) != 0;
    } else {
        o->tune_key = o->tune_variant = 0;
        o->tune_search = false;
    }
    o->gpu_start_ns = o->gpu_end_ns = NN_UNTIMED;
    return 0;
}

static int parse_op(parser *p, size_t offset, const unsigned char *b, size_t *offsets_out)
{
    nn_trace *t = p->t;
    if (parse_op_body(p, offset + RECORD_HEAD, b, &t->ops[t->n_ops]) != 0) return -1;
    offsets_out[t->n_ops] = offset;
    t->n_ops++;
    return 0;
}

/* KIND: ids run from 1 in the order defined; the OP payload's call number, frame and
 * host time are not the kind's (its calls give them). */
static int parse_kind(parser *p, size_t offset, const unsigned char *b)
{
    size_t at = offset + RECORD_HEAD;
    uint32_t id = rd32(b);
    if (id != p->n_kinds + 1)
        return fail(p, at, "KIND id %u out of order (the next one is %u)", id, p->n_kinds + 1);
    if (parse_op_body(p, at + 4, b + 4, &p->kinds[p->n_kinds]) != 0) return -1;
    p->n_kinds++;
    return 0;
}

/* ------------------------------------------------------------ PACKED entries */

/* Reading one PACKED record's entries, with the values their deltas are from. */
typedef struct packed_cursor {
    const unsigned char *b;
    size_t len, pos, at; /* at: the payload's file offset */
    uint64_t call, gpu_call, frame;
    uint64_t host_ns, gpu_start_ns; /* as unsigned: deltas wrap modulo 2^64 */
} packed_cursor;

typedef struct packed_entry {
    unsigned type; /* NN_TPACK_* */
    size_t at;     /* file offset of the entry */
    uint64_t kind, call;
    int64_t host_ns, start_ns, end_ns;
    uint64_t frame;
} packed_entry;

static packed_cursor packed_open(parser *p, size_t offset, uint32_t len)
{
    return (packed_cursor){.b = p->d + offset + RECORD_HEAD, .len = len,
                           .at = offset + RECORD_HEAD, .call = UINT64_MAX};
}

static bool read_varint(packed_cursor *c, uint64_t *v)
{
    if (c->pos < c->len && c->b[c->pos] < 0x80) { /* most are one byte */
        *v = c->b[c->pos++];
        return true;
    }
    *v = 0;
    for (unsigned shift = 0; c->pos < c->len && shift < 64; shift += 7) {
        unsigned char byte = c->b[c->pos++];
        if (shift == 63 && byte > 1) return false; /* past 64 bits */
        *v |= (uint64_t)(byte & 0x7f) << shift;
        if (!(byte & 0x80)) return true;
    }
    return false;
}

static uint64_t unzigzag(uint64_t v)
{
    return (v >> 1) ^ (uint64_t)-(int64_t)(v & 1);
}

/* The next entry into *e: 1, or 0 at the record's end, or -1 after fail(). */
static int packed_next(parser *p, packed_cursor *c, packed_entry *e)
{
    if (c->pos == c->len) return 0;
    e->at = c->at + c->pos;
    uint64_t head, v1, v2, v3 = 0;
    e->type = (unsigned)(c->b[c->pos] & 3u);
    bool ok = read_varint(c, &head) && read_varint(c, &v1) && read_varint(c, &v2) &&
              (e->type != NN_TPACK_CALL || read_varint(c, &v3));
    if (!ok) return fail(p, e->at, "PACKED entry runs past its record or has a malformed number");
    if (e->type == NN_TPACK_CALL) {
        e->kind = head >> 2;
        e->call = c->call = c->call + 1 + unzigzag(v1);
        e->host_ns = (int64_t)(c->host_ns += unzigzag(v2));
        e->frame = c->frame += unzigzag(v3);
        if (!time_ok(e->host_ns))
            return fail(p, e->at, "PACKED call %llu: host time out of range",
                        (unsigned long long)e->call);
        if (e->frame > UINT32_MAX)
            return fail(p, e->at, "PACKED call %llu: frame number past 2^32 - 1",
                        (unsigned long long)e->call);
    } else if (e->type == NN_TPACK_GPU_TIME) {
        e->call = c->gpu_call += unzigzag(head >> 2);
        e->start_ns = (int64_t)(c->gpu_start_ns += unzigzag(v1));
        e->end_ns = (int64_t)(c->gpu_start_ns + unzigzag(v2));
    } else {
        return fail(p, e->at, "PACKED entry of unknown type %u", e->type);
    }
    return 1;
}

/* Pass 1: checks a PACKED record's framing; adds its calls to *n_calls. */
static int packed_count(parser *p, size_t offset, uint32_t len, size_t *n_calls)
{
    if (len > NN_TPACK_MAX)
        return fail(p, offset + 4, "PACKED payload of %u bytes is over its 64 KiB limit", len);
    packed_cursor c = packed_open(p, offset, len);
    packed_entry e;
    int rc;
    while ((rc = packed_next(p, &c, &e)) == 1) *n_calls += e.type == NN_TPACK_CALL;
    return rc;
}

/* Pass 2: a PACKED record's calls, each its kind's shared part plus its own. */
static int packed_calls(parser *p, size_t offset, uint32_t len, size_t *offsets_out)
{
    nn_trace *t = p->t;
    packed_cursor c = packed_open(p, offset, len);
    packed_entry e;
    int rc;
    while ((rc = packed_next(p, &c, &e)) == 1) {
        if (e.type != NN_TPACK_CALL) continue;
        if (e.kind == 0 || e.kind > p->n_kinds)
            return fail(p, e.at, "PACKED call %llu: kind %llu used before it is defined",
                        (unsigned long long)e.call, (unsigned long long)e.kind);
        nn_trace_op *o = &t->ops[t->n_ops];
        *o = p->kinds[e.kind - 1];
        o->call = e.call;
        o->host_ns = e.host_ns;
        o->given_frame = (uint32_t)e.frame;
        offsets_out[t->n_ops++] = offset;
    }
    return rc;
}

static int parse_frame(parser *p, size_t offset, const unsigned char *b, size_t *offsets_out)
{
    nn_trace *t = p->t;
    nn_trace_frame *f = &t->frames[t->n_frames];
    size_t at = offset + RECORD_HEAD;
    f->id = rd32(b);
    f->open_at_exit = (rd32(b + 4) & 1u) != 0;
    f->host_begin_ns = (int64_t)rd64(b + 8);
    f->host_end_ns = (int64_t)rd64(b + 16);
    if (f->id == 0) return fail(p, at, "FRAME number 0 (frames are numbered from 1)");
    if (!time_ok(f->host_begin_ns) || !time_ok(f->host_end_ns))
        return fail(p, at + 8, "FRAME %u: host time out of range", f->id);
    if (f->host_end_ns < f->host_begin_ns)
        return fail(p, at + 8, "FRAME %u ends (%lld ns) before it begins (%lld ns)", f->id,
                    (long long)f->host_end_ns, (long long)f->host_begin_ns);
    offsets_out[t->n_frames++] = offset;
    return 0;
}

/* ------------------------------------------------------------ call sites */

#define SITE_HEAD  16u
#define FRAME_SIZE 16u

static int module_framing(parser *p, size_t pos, const unsigned char *b, uint32_t len)
{
    if (len < 8) return fail(p, pos + 4, "MODULE payload of %u bytes (at least 8)", len);
    uint32_t id_len = rd32(b + 4);
    if (id_len > 64 || id_len > len - 8)
        return fail(p, pos + RECORD_HEAD + 4, "MODULE build-id of %u bytes (at most 64, in %u)",
                    id_len, len - 8);
    return 0;
}

static int site_framing(parser *p, size_t pos, const unsigned char *b, uint32_t len)
{
    if (len < SITE_HEAD) return fail(p, pos + 4, "SITE payload of %u bytes (at least 16)", len);
    uint64_t frames = (uint64_t)rd32(b + 8) + rd32(b + 12);
    if ((uint64_t)len != SITE_HEAD + frames * FRAME_SIZE)
        return fail(p, pos + 4, "SITE payload of %u bytes does not hold its %llu frames", len,
                    (unsigned long long)frames);
    return 0;
}

static int parse_module(parser *p, size_t pos, const unsigned char *b, uint32_t len)
{
    nn_trace_module *m = &p->t->modules[p->t->n_modules];
    size_t at = pos + RECORD_HEAD;
    m->id = rd32(b);
    m->build_id_len = rd32(b + 4);
    memcpy(m->build_id, b + 8, m->build_id_len);
    const unsigned char *path = b + 8 + m->build_id_len;
    size_t path_len = len - 8 - m->build_id_len;
    if (m->id == 0) return fail(p, at, "MODULE with id 0 (0 means none)");
    /* A Linux path is bytes: one that is not UTF-8 text (or was cut inside a
     * character) is kept with '?' for each byte that is not (and for a NUL), rather
     * than refused. */
    if (!(m->path = malloc(path_len + 1))) return fail(p, at, "out of memory");
    memcpy(m->path, path, path_len);
    m->path[path_len] = '\0';
    for (size_t i = 0; i < path_len; i++)
        if (m->path[i] == '\0') m->path[i] = '?';
    for (size_t i = 0; i < path_len;) {
        size_t bad = utf8_bad_at((const unsigned char *)m->path + i, path_len - i);
        if (bad == path_len - i) break;
        m->path[i + bad] = '?';
        i += bad + 1;
    }
    p->t->n_modules++;
    return 0;
}

static int parse_site(parser *p, size_t pos, const unsigned char *b)
{
    nn_trace_site *s = &p->t->sites[p->t->n_sites];
    size_t at = pos + RECORD_HEAD;
    s->id = rd32(b);
    s->flags = rd32(b + 4);
    s->n_native = rd32(b + 8);
    s->n_python = rd32(b + 12);
    if (s->id == 0) return fail(p, at, "SITE with id 0 (0 means none)");
    s->native = calloc(s->n_native ? s->n_native : 1, sizeof *s->native);
    s->python = calloc(s->n_python ? s->n_python : 1, sizeof *s->python);
    p->t->n_sites++; /* freed with the trace from here on */
    if (!s->native || !s->python) return fail(p, at, "out of memory");
    const unsigned char *f = b + SITE_HEAD;
    for (uint32_t i = 0; i < s->n_native; i++, f += FRAME_SIZE)
        s->native[i] = (nn_trace_native){rd32(f), rd64(f + 8)};
    for (uint32_t i = 0; i < s->n_python; i++, f += FRAME_SIZE) {
        size_t f_at = at + (size_t)(f - b);
        nn_trace_python *py = &s->python[i];
        if (!(py->file = string_use(p, f_at, rd32(f), "SITE Python file")) ||
            !(py->function = string_use(p, f_at + 4, rd32(f + 4), "SITE Python function")))
            return -1;
        py->line = rd32(f + 8);
    }
    return 0;
}

static int compare_module_id(const void *a, const void *b)
{
    uint32_t x = ((const nn_trace_module *)a)->id, y = ((const nn_trace_module *)b)->id;
    return x < y ? -1 : x > y;
}

static int compare_site_id(const void *a, const void *b)
{
    uint32_t x = ((const nn_trace_site *)a)->id, y = ((const nn_trace_site *)b)->id;
    return x < y ? -1 : x > y;
}

const nn_trace_module *nn_trace_module_of(const nn_trace *t, uint32_t id)
{
    nn_trace_module key = {.id = id};
    return id && t->n_modules ? bsearch(&key, t->modules, t->n_modules, sizeof key, compare_module_id)
                              : NULL;
}

/* Every id defined once, and every module and site that is named, defined. */
static int link_sites(parser *p)
{
    nn_trace *t = p->t;
    qsort(t->modules, t->n_modules, sizeof *t->modules, compare_module_id);
    qsort(t->sites, t->n_sites, sizeof *t->sites, compare_site_id);
    for (size_t i = 1; i < t->n_modules; i++)
        if (t->modules[i].id == t->modules[i - 1].id)
            return fail(p, 0, "MODULE id %u defined twice", t->modules[i].id);
    for (size_t i = 0; i < t->n_sites; i++) {
        const nn_trace_site *s = &t->sites[i];
        if (i && s->id == t->sites[i - 1].id) return fail(p, 0, "SITE id %u defined twice", s->id);
        for (uint32_t k = 0; k < s->n_native; k++)
            if (s->native[k].module && !nn_trace_module_of(t, s->native[k].module))
                return fail(p, 0, "SITE %u names module %u, which no MODULE record defines",
                            s->id, s->native[k].module);
    }
    for (size_t i = 0; i < t->n_ops; i++)
        if (t->ops[i].site && !nn_trace_site_of(t, t->ops[i].site))
            return fail(p, 0, "call %llu names site %u, which no SITE record defines",
                        (unsigned long long)t->ops[i].call, t->ops[i].site);
    return 0;
}

/* Sorting the ops by call number, with their record offsets alongside. */
typedef struct op_at {
    nn_trace_op op;
    size_t offset;
} op_at;

static int compare_op_at(const void *a, const void *b)
{
    const op_at *x = a, *y = b;
    if (x->op.call != y->op.call) return x->op.call < y->op.call ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int sort_ops(parser *p, size_t *offsets)
{
    nn_trace *t = p->t;
    bool sorted = true;
    for (size_t i = 1; i < t->n_ops && sorted; i++) sorted = t->ops[i - 1].call < t->ops[i].call;
    if (sorted) return 0;
    op_at *tmp = malloc(t->n_ops * sizeof *tmp);
    if (!tmp) return fail(p, 0, "out of memory");
    for (size_t i = 0; i < t->n_ops; i++) tmp[i] = (op_at){t->ops[i], offsets[i]};
    qsort(tmp, t->n_ops, sizeof *tmp, compare_op_at);
    for (size_t i = 0; i < t->n_ops; i++) {
        t->ops[i] = tmp[i].op;
        offsets[i] = tmp[i].offset;
    }
    free(tmp);
    for (size_t i = 1; i < t->n_ops; i++)
        if (t->ops[i - 1].call == t->ops[i].call)
            return fail(p, offsets[i] + RECORD_HEAD,
                        "call %llu has a second OP record (the first at offset %zu)",
                        (unsigned long long)t->ops[i].call, offsets[i - 1]);
    return 0;
}

typedef struct frame_at {
    nn_trace_frame frame;
    size_t offset;
} frame_at;

static int compare_frame_at(const void *a, const void *b)
{
    const frame_at *x = a, *y = b;
    if (x->frame.id != y->frame.id) return x->frame.id < y->frame.id ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int sort_frames(parser *p, const size_t *offsets)
{
    nn_trace *t = p->t;
    bool sorted = true;
    for (size_t i = 1; i < t->n_frames && sorted; i++)
        sorted = t->frames[i - 1].id < t->frames[i].id;
    if (sorted) return 0;
    frame_at *tmp = malloc(t->n_frames * sizeof *tmp);
    if (!tmp) return fail(p, 0, "out of memory");
    for (size_t i = 0; i < t->n_frames; i++) tmp[i] = (frame_at){t->frames[i], offsets[i]};
    qsort(tmp, t->n_frames, sizeof *tmp, compare_frame_at);
    int rc = 0;
    for (size_t i = 0; i < t->n_frames; i++) t->frames[i] = tmp[i].frame;
    for (size_t i = 1; i < t->n_frames && rc == 0; i++)
        if (tmp[i - 1].frame.id == tmp[i].frame.id)
            rc = fail(p, tmp[i].offset + RECORD_HEAD,
                      "frame %u has a second FRAME record (the first at offset %zu)",
                      tmp[i].frame.id, tmp[i - 1].offset);
    free(tmp);
    return rc;
}

static nn_trace_op *find_call(const nn_trace *t, uint64_t call)
{
    /* Calls are numbered from 0 and sorted: with none dropped, call n is at n. */
    if (call < t->n_ops && t->ops[call].call == call) return &t->ops[call];
    size_t lo = 0, hi = t->n_ops;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->ops[mid].call < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->n_ops && t->ops[lo].call == call ? &t->ops[lo] : NULL;
}

/* A call's GPU interval (GPU_TIME record or PACKED entry at file offset `at`). */
static int apply_gpu_interval(parser *p, size_t at, uint64_t call, int64_t start, int64_t end)
{
    nn_trace *t = p->t;
    if (!time_ok(start) || !time_ok(end))
        return fail(p, at, "GPU_TIME of call %llu: time out of range",
                    (unsigned long long)call);
    if (end < start)
        return fail(p, at, "GPU_TIME of call %llu ends (%lld ns) before it starts (%lld ns)",
                    (unsigned long long)call, (long long)end, (long long)start);
    nn_trace_op *o = find_call(t, call);
    if (!o) {
        t->gpu_times_unmatched++;
        return 0;
    }
    if (o->gpu_start_ns == NN_UNTIMED || start < o->gpu_start_ns) o->gpu_start_ns = start;
    if (o->gpu_end_ns == NN_UNTIMED || end > o->gpu_end_ns) o->gpu_end_ns = end;
    return 0;
}

static int apply_gpu_time(parser *p, size_t offset, const unsigned char *b)
{
    return apply_gpu_interval(p, offset + RECORD_HEAD + 8, rd64(b), (int64_t)rd64(b + 8),
                              (int64_t)rd64(b + 16));
}

/* Pass 3: a PACKED record's GPU intervals. */
static int packed_gpu_times(parser *p, size_t offset, uint32_t len)
{
    packed_cursor c = packed_open(p, offset, len);
    packed_entry e;
    int rc;
    while ((rc = packed_next(p, &c, &e)) == 1)
        if (e.type == NN_TPACK_GPU_TIME &&
            apply_gpu_interval(p, e.at, e.call, e.start_ns, e.end_ns) != 0)
            return -1;
    return rc;
}

/* *acc += v, saturated at 2^64 - 1 with *overflow set (as the preload adds). */
static void accumulate(uint64_t *acc, uint64_t v, bool *overflow)
{
    if (__builtin_add_overflow(*acc, v, acc)) {
        *acc = UINT64_MAX;
        *overflow = true;
    }
}

/* Totals of a trace without END: what its calls add up to (parameters unknown). */
static void recompute_totals(nn_trace *t)
{
    nn_trace_totals *s = &t->totals;
    *s = (nn_trace_totals){.params_incomplete = true};
    t->timed_calls = 0;
    for (size_t i = 0; i < t->n_ops; i++) {
        const nn_trace_op *o = &t->ops[i];
        s->calls++;
        if (o->gpu_start_ns != NN_UNTIMED) t->timed_calls++;
        if (!(o->flags & NN_TOP_SUCCEEDED)) {
            s->failed_calls++;
            continue;
        }
        if (!(o->flags & NN_TOP_COST_KNOWN)) {
            s->unknown_cost_calls++;
            continue;
        }
        accumulate(&s->macs, o->macs, &s->overflow);
        accumulate(&s->flops, o->flops, &s->overflow);
        accumulate(&s->bytes_read, o->bytes_read, &s->overflow);
        accumulate(&s->bytes_written, o->bytes_written, &s->overflow);
        s->overflow |= (o->flags & NN_TOP_OVERFLOW) != 0;
        s->bytes_incomplete |= (o->flags & NN_TOP_BYTES_INCOMPLETE) != 0;
    }
    t->timing_available = t->timed_calls > 0;
}

/* ------------------------------------------------------------ the file */

/* A record's type as this trace's version defines it: version 1 has no KIND,
 * PACKED, MODULE or SITE, so such a type there is an unknown record, skipped. */
static uint16_t record_type(const parser *p, const unsigned char *head)
{
    uint16_t type = rd16(head);
    bool v2_only = type == NN_TREC_KIND || type == NN_TREC_PACKED || type == NN_TREC_MODULE ||
                   type == NN_TREC_SITE;
    return v2_only && p->op_payload == NN_TOP_PAYLOAD_V1 ? 0 : type;
}

static int parse(parser *p)
{
    const unsigned char *d = p->d;
    size_t size = p->size;
    nn_trace *t = p->t;
    size_t magic_len = strlen(NN_TRACE_MAGIC);
    if (memcmp(d, NN_TRACE_MAGIC, size < magic_len ? size : magic_len) != 0)
        return fail(p, 0, "not an nnspy trace (the file does not start with \"%s\")",
                    NN_TRACE_MAGIC);
    if (size < HEADER_FIXED)
        return fail(p, size, "the file ends inside its 16-byte header (truncated?)");
    uint32_t version = rd32(d + 8), hlen = rd32(d + 12);
    if (version < 1 || version > NN_TRACE_VERSION)
        return fail(p, 8, "trace format version %u; this nnspy reads versions 1 to %u", version,
                    NN_TRACE_VERSION);
    p->op_payload = version == 1 ? NN_TOP_PAYLOAD_V1 : NN_TOP_PAYLOAD;
    if (hlen > NN_TREC_MAX_PAYLOAD)
        return fail(p, 12, "header JSON of %u bytes is over the 1 MiB limit", hlen);
    if (hlen > size - HEADER_FIXED)
        return fail(p, HEADER_FIXED,
                    "the header JSON (%u bytes) runs past the end of the file (truncated?)", hlen);
    if (parse_header_json(p, HEADER_FIXED, hlen) != 0) return -1;

    /* Pass 1: the framing of every record; counts. */
    size_t first = HEADER_FIXED + hlen, n_op = 0, n_frame = 0, n_string = 0, string_bytes = 0;
    size_t n_module = 0, n_site = 0;
    size_t n_kind = 0;
    size_t end_at = 0;
    bool have_end = false;
    /* The records read: up to the END record, or to the last complete record of a
     * file cut short (a process killed in the middle of a write). */
    size_t limit = size;
    for (size_t pos = first; pos < size;) {
        if (have_end) {
            t->bytes_after_end = size - pos;
            limit = pos;
            break;
        }
        if (size - pos < RECORD_HEAD ||
            rd32(d + pos + 4) > size - pos - RECORD_HEAD) {
            if (size - pos >= RECORD_HEAD && rd32(d + pos + 4) > NN_TREC_MAX_PAYLOAD)
                return fail(p, pos + 4, "record payload of %u bytes is over the 1 MiB limit",
                            rd32(d + pos + 4));
            t->truncated_at = pos;
            limit = pos;
            break;
        }
        uint16_t type = record_type(p, d + pos);
        uint32_t len = rd32(d + pos + 4);
        if (len > NN_TREC_MAX_PAYLOAD)
            return fail(p, pos + 4, "record payload of %u bytes is over the 1 MiB limit", len);
        uint32_t want = 0;
        switch (type) {
        case NN_TREC_STRING:
            if (len < 4) return fail(p, pos + 4, "STRING payload of %u bytes (at least 4)", len);
            n_string++;
            string_bytes += len - 4 + 1;
            break;
        case NN_TREC_OP: want = p->op_payload, n_op++; break;
        case NN_TREC_GPU_TIME: want = GPU_TIME_PAYLOAD; break;
        case NN_TREC_FRAME: want = FRAME_PAYLOAD, n_frame++; break;
        case NN_TREC_END: have_end = true, end_at = pos; break;
        case NN_TREC_MODULE:
            if (module_framing(p, pos, d + pos + RECORD_HEAD, len) != 0) return -1;
            n_module++;
            break;
        case NN_TREC_SITE:
            if (site_framing(p, pos, d + pos + RECORD_HEAD, len) != 0) return -1;
            n_site++;
            break;
        case NN_TREC_KIND: want = 4 + p->op_payload, n_kind++; break;
        case NN_TREC_PACKED:
            if (packed_count(p, pos, len, &n_op) != 0) return -1;
            break;
        default: t->unknown_records++; break;
        }
        if (want && len != want)
            return fail(p, pos + 4, "record of type %u has a payload of %u bytes, not %u", type,
                        len, want);
        pos += RECORD_HEAD + len;
    }

    /* Pass 2: strings, ops, frames, END. */
    t->ops = calloc(n_op ? n_op : 1, sizeof *t->ops);
    t->frames = calloc(n_frame ? n_frame : 1, sizeof *t->frames);
    size_t *offsets = malloc((n_op ? n_op : 1) * sizeof *offsets);
    size_t *frame_offsets = malloc((n_frame ? n_frame : 1) * sizeof *frame_offsets);
    p->cap = 16;
    while (p->cap < 2 * n_string) p->cap *= 2;
    p->ids = calloc(p->cap, sizeof *p->ids);
    p->texts = calloc(p->cap, sizeof *p->texts);
    p->arena = malloc(string_bytes ? string_bytes : 1);
    t->modules = calloc(n_module ? n_module : 1, sizeof *t->modules);
    t->sites = calloc(n_site ? n_site : 1, sizeof *t->sites);
    p->kinds = malloc((n_kind ? n_kind : 1) * sizeof *p->kinds);
    if (!t->ops || !t->frames || !offsets || !frame_offsets || !p->ids || !p->texts || !p->arena ||
        !t->modules || !t->sites || !p->kinds) {
        free(offsets);
        free(frame_offsets);
        return fail(p, 0, "out of memory (%zu bytes of trace)", size);
    }
    int rc = 0;
    for (size_t pos = first; pos < limit && rc == 0;) {
        uint16_t type = record_type(p, d + pos);
        uint32_t len = rd32(d + pos + 4);
        const unsigned char *b = d + pos + RECORD_HEAD;
        switch (type) {
        case NN_TREC_STRING: rc = string_define(p, pos, b, len); break;
        case NN_TREC_OP: rc = parse_op(p, pos, b, offsets); break;
        case NN_TREC_FRAME: rc = parse_frame(p, pos, b, frame_offsets); break;
        case NN_TREC_END: rc = parse_end_json(p, pos + RECORD_HEAD, len); break;
        case NN_TREC_MODULE: rc = parse_module(p, pos, b, len); break;
        case NN_TREC_SITE: rc = parse_site(p, pos, b); break;
        case NN_TREC_KIND: rc = parse_kind(p, pos, b); break;
        case NN_TREC_PACKED: rc = packed_calls(p, pos, len, offsets); break;
        default: break;
        }
        pos += RECORD_HEAD + len;
    }
    if (rc == 0) rc = link_sites(p);
    if (rc == 0) rc = sort_ops(p, offsets);
    if (rc == 0) rc = sort_frames(p, frame_offsets);
    free(offsets);
    free(frame_offsets);
    /* Pass 3: GPU times and autotuning, now that every call is known. */
    for (size_t pos = first; pos < limit && rc == 0;) {
        uint32_t len = rd32(d + pos + 4);
        if (rd16(d + pos) == NN_TREC_GPU_TIME) rc = apply_gpu_time(p, pos, d + pos + RECORD_HEAD);
        if (record_type(p, d + pos) == NN_TREC_PACKED) rc = packed_gpu_times(p, pos, len);
        pos += RECORD_HEAD + len;
    }
    if (rc != 0) return -1;
    t->complete = have_end;
    if (have_end) {
        if (t->n_ops > t->totals.calls)
            return fail(p, end_at + RECORD_HEAD,
                        "END counts %llu calls, but the trace has %zu OP records",
                        (unsigned long long)t->totals.calls, t->n_ops);
        if (t->n_ops && t->ops[t->n_ops - 1].call >= t->totals.calls)
            return fail(p, end_at + RECORD_HEAD,
                        "END counts %llu calls, but the trace has call number %llu",
                        (unsigned long long)t->totals.calls,
                        (unsigned long long)t->ops[t->n_ops - 1].call);
    } else {
        recompute_totals(t);
        if (!(t->timing_used = strdup(t->timing_mode))) return fail(p, size, "out of memory");
    }
    return 0;
}

int nn_trace_parse(const unsigned char *data, size_t size, const char *name, nn_trace *t, char *err,
                   size_t errlen)
{
    *t = (nn_trace){.rank = -1};
    if (err && errlen) err[0] = '\0';
    if (!name) name = "trace";
    parser p = {.d = data, .size = size, .name = name, .err = err, .errlen = errlen, .t = t};
    int rc = size == 0 ? fail(&p, 0, "empty file (not an nnspy trace)") : 0;
    if (rc == 0 && !(t->path = strdup(name))) rc = fail(&p, 0, "out of memory");
    if (rc == 0) rc = parse(&p);
    free(p.ids);
    free(p.texts);
    free(p.kinds);
    if (rc != 0) {
        free(p.arena);
        nn_trace_free(t);
        return -1;
    }
    t->size = size;
    t->strings = p.arena; /* the ops point into it */
    return 0;
}

int nn_trace_read(const char *path, nn_trace *t, char *err, size_t errlen)
{
    *t = (nn_trace){.rank = -1};
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    size_t size = (size_t)st.st_size, got = 0;
    unsigned char *data = malloc(size ? size : 1);
    if (!data) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory for %zu bytes", path, size);
        return -1;
    }
    while (got < size) {
        ssize_t n = read(fd, data + got, size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: offset %zu: %s", path, got, strerror(errno));
            free(data);
            close(fd);
            return -1;
        }
        if (n == 0) break; /* shrank while being read: what is there */
        got += (size_t)n;
    }
    close(fd);
    int rc = nn_trace_parse(data, got, path, t, err, errlen);
    free(data);
    return rc;
}

void nn_trace_free(nn_trace *t)
{
    free(t->path);
    free(t->nnspy_version);
    free(t->host);
    free(t->exe);
    for (size_t i = 0; i < t->n_args; i++) free(t->args[i]);
    free(t->args);
    free(t->device_name);
    free(t->frame_mode);
    free(t->timing_mode);
    free(t->ops);
    free(t->frames);
    free(t->timing_reason);
    free(t->timing_used);
    free(t->strings);
    for (size_t i = 0; i < t->n_modules; i++) free(t->modules[i].path);
    free(t->modules);
    for (size_t i = 0; i < t->n_sites; i++) {
        nn_trace_site *s = &t->sites[i];
        free(s->native), free(s->python), free(s->name), free(s->function), free(s->file);
    }
    free(t->sites);
    *t = (nn_trace){.rank = -1};
}

nn_frame_op *nn_trace_frame_ops(const nn_trace *t)
{
    nn_frame_op *f = malloc((t->n_ops ? t->n_ops : 1) * sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < t->n_ops; i++) {
        const nn_trace_op *o = &t->ops[i];
        /* As the preload keeps them: a call counts its cost only when it succeeded
         * and its cost is known. */
        bool counted = (o->flags & NN_TOP_SUCCEEDED) && (o->flags & NN_TOP_COST_KNOWN);
        f[i] = (nn_frame_op){
            .signature = o->signature,
            .macs = counted ? o->macs : 0,
            .flops = counted ? o->flops : 0,
            .gpu_start_ns = o->gpu_start_ns,
            .gpu_end_ns = o->gpu_end_ns,
            .host_ns = o->host_ns,
            .given_frame = o->given_frame,
            .in_graph_launch = (o->flags & NN_TOP_IN_GRAPH_LAUNCH) != 0,
            .autotune = o->tune_search,
            .tune_key = o->tune_key,
            .tune_variant = o->tune_variant,
        };
    }
    return f;
}
