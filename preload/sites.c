/*
 * sites.c: where each intercepted call comes from (sites.h).
 *
 * The key of a site is the wrapper's return address (plus, under CPython, the
 * innermost user Python line: ctypes calls every foreign function from the same
 * place in libffi). The hot path is a lookup in a small per-thread cache; a miss
 * takes the lock and searches the process's table; only a key never seen before
 * reads the stack (libunwind), once, outside the lock. The frames of nnspy itself,
 * of NVIDIA's libraries and of the modules matching NNSPY_SKIP are left out, so a
 * site starts at the first frame of interest. Frames are kept as module (path and
 * build-id) + ELF address, to be symbolized by `nnspy report`.
 *
 * Written by hand rather than on liburcu: a site is published once and never
 * changes, so an array of pointers stored with release semantics is all readers
 * need, and the per-thread cache keeps the lock off the hot path.
 */
#define _GNU_SOURCE
#include "sites.h"

#include "core.h"

#include <elf.h>
#include <fnmatch.h>
#include <link.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#define DEFAULT_DEPTH  16
#define MAX_PATTERNS   16
#define UNWIND_FRAMES  128 /* read at most this deep to find the first frame of interest */
#define TABLE_SLOTS    (NN_MAX_SITES * 2)
#define THREAD_CACHE   64

__thread const void *nn_caller_pc;

static struct {
    bool off;       /* NNSPY_SITES=off */
    int depth;      /* NNSPY_STACK_DEPTH: native frames kept per site */
    int n_patterns; /* NNSPY_SKIP: module file names left out (fnmatch patterns) */
    char patterns[MAX_PATTERNS][128];
} cfg = {.depth = DEFAULT_DEPTH};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* key -> site id, open addressing; under lock */
static struct slot {
    uintptr_t pc, code;
    uint32_t line, site;
} table[TABLE_SLOTS];
/* published sites and modules: written once, then read without the lock */
static nn_site *sites[NN_MAX_SITES + 1];
static uint32_t n_sites;
static nn_module modules[NN_MAX_MODULES + 1];
static uint32_t n_modules;

static __thread struct slot thread_cache[THREAD_CACHE];

/* nnspy's own object: its frames are never a site */
static uintptr_t self_bias;
static char self_path[512];

/* ------------------------------------------------------------ configuration */

static void parse_patterns(const char *v)
{
    while (v && *v && cfg.n_patterns < MAX_PATTERNS) {
        const char *end = strchrnul(v, ':');
        size_t n = (size_t)(end - v);
        if (n > 0 && n < sizeof cfg.patterns[0]) {
            memcpy(cfg.patterns[cfg.n_patterns], v, n);
            cfg.patterns[cfg.n_patterns++][n] = '\0';
        } else if (n) {
            nn_warn("NNSPY_SKIP: a pattern longer than %zu bytes is ignored",
                    sizeof cfg.patterns[0] - 1);
        }
        v = *end ? end + 1 : end;
    }
    if (v && *v) nn_warn("NNSPY_SKIP: more than %d patterns; the rest are ignored", MAX_PATTERNS);
}

static void parse_config(void)
{
    const char *sites_env = getenv("NNSPY_SITES"), *depth = getenv("NNSPY_STACK_DEPTH");
    if (sites_env && *sites_env && strcmp(sites_env, "on") != 0) {
        if (strcmp(sites_env, "off") != 0)
            nn_warn("NNSPY_SITES=\"%.64s\" is not on or off; using on", sites_env);
        else cfg.off = true;
    }
    if (depth && *depth) {
        char *end;
        long d = strtol(depth, &end, 10);
        if (*end || d < 1 || d > NN_SITE_MAX_NATIVE)
            nn_warn("NNSPY_STACK_DEPTH=\"%.64s\" is not a number from 1 to %d; using %d", depth,
                    NN_SITE_MAX_NATIVE, DEFAULT_DEPTH);
        else cfg.depth = (int)d;
    }
    parse_patterns(getenv("NNSPY_SKIP"));
}

/* ------------------------------------------------------------ loaded objects */

/* What dl_iterate_phdr tells of the object holding one address. */
struct object_search {
    uintptr_t addr;
    bool found;
    nn_module m;
};

static void build_id_of(const struct dl_phdr_info *info, nn_module *m)
{
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_NOTE) continue;
        const unsigned char *p = (const unsigned char *)(info->dlpi_addr + ph->p_vaddr);
        const unsigned char *end = p + ph->p_memsz;
        while (p + sizeof(ElfW(Nhdr)) <= end) {
            const ElfW(Nhdr) *n = (const ElfW(Nhdr) *)p;
            const unsigned char *name = p + sizeof *n;
            const unsigned char *desc = name + ((n->n_namesz + 3) & ~3u);
            if (desc + n->n_descsz > end) break;
            if (n->n_type == NT_GNU_BUILD_ID && n->n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                n->n_descsz <= NN_BUILD_ID_MAX) {
                memcpy(m->build_id, desc, n->n_descsz);
                m->build_id_len = n->n_descsz;
                return;
            }
            p = desc + ((n->n_descsz + 3) & ~3u);
        }
    }
}

static int find_object(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct object_search *s = data;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t start = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type != PT_LOAD || s->addr < start || s->addr - start >= ph->p_memsz) continue;
        s->found = true;
        s->m.bias = info->dlpi_addr;
        const char *name = info->dlpi_name;
        if (name && *name) snprintf(s->m.path, sizeof s->m.path, "%s", name);
        else { /* the main program */
            ssize_t n = readlink("/proc/self/exe", s->m.path, sizeof s->m.path - 1);
            s->m.path[n > 0 ? n : 0] = '\0';
        }
        build_id_of(info, &s->m);
        return 1;
    }
    return 0;
}

static bool object_at(uintptr_t addr, nn_module *m)
{
    struct object_search s = {.addr = addr};
    dl_iterate_phdr(find_object, &s);
    if (s.found) *m = s.m;
    return s.found;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Frames of nnspy, NVIDIA's libraries and NNSPY_SKIP's modules are not of interest. */
static bool skipped(const nn_module *m)
{
    if (m->bias == self_bias && strcmp(m->path, self_path) == 0) return true;
    if (nn_is_intercepted_stack_file(m->path)) return true;
    for (int i = 0; i < cfg.n_patterns; i++)
        if (fnmatch(cfg.patterns[i], base_name(m->path), 0) == 0 ||
            fnmatch(cfg.patterns[i], m->path, 0) == 0)
            return true;
    return false;
}

/* Under lock: the id of module m, added the first time (0 when the table is full). */
static uint32_t module_id(const nn_module *m)
{
    for (uint32_t i = 1; i <= n_modules; i++)
        if (modules[i].bias == m->bias && strcmp(modules[i].path, m->path) == 0) return i;
    if (n_modules == NN_MAX_MODULES) return 0;
    modules[n_modules + 1] = *m;
    __atomic_store_n(&n_modules, n_modules + 1, __ATOMIC_RELEASE);
    return n_modules;
}

/* ------------------------------------------------------------ reading a stack */

/* A site's native frames before their modules have ids. */
struct unwound {
    uint32_t flags, n;
    nn_module mod[NN_SITE_MAX_NATIVE];
    bool in_module[NN_SITE_MAX_NATIVE];
    uintptr_t pc[NN_SITE_MAX_NATIVE]; /* the call instruction: return address - 1 */
};

/*
 * Reads the stack and keeps the frames from the first one of interest on. The
 * return address of a frame points after its call, so each is taken one byte back,
 * inside the call instruction, whose line is the caller's. A first frame of
 * interest that no loaded object holds (JIT code) ends the site there: nothing
 * further is guessed. No frame of interest at all: the site is unreadable, and
 * keeps the wrapper's caller as the one thing known for sure.
 */
/*
 * The return addresses on this thread's stack, its callers first: libunwind's cursor,
 * not unw_backtrace, whose per-thread cache is freed by a thread-exit destructor
 * that takes a lock when the thread is already gone for sanitizers (TSan crashes).
 */
static int return_addresses(uintptr_t *ips, int max)
{
    unw_context_t context;
    unw_cursor_t cursor;
    int n = 0;
    if (unw_getcontext(&context) != 0 || unw_init_local(&cursor, &context) != 0) return 0;
    while (n < max && unw_step(&cursor) > 0) {
        unw_word_t ip;
        if (unw_get_reg(&cursor, UNW_REG_IP, &ip) != 0 || ip == 0) break;
        ips[n++] = (uintptr_t)ip;
    }
    return n;
}

static void unwind(struct unwound *u)
{
    uintptr_t ips[UNWIND_FRAMES];
    int n = return_addresses(ips, UNWIND_FRAMES);
    u->n = u->flags = 0;
    for (int i = 0; i < n && u->n < (uint32_t)cfg.depth; i++) {
        uintptr_t pc = ips[i] - 1;
        nn_module m;
        bool known = object_at(pc, &m);
        if (known && u->n == 0 && skipped(&m)) continue;
        if (!known && u->n == 0) u->flags |= NN_SITE_NO_MODULE;
        u->mod[u->n] = known ? m : (nn_module){.path = ""};
        u->in_module[u->n] = known;
        u->pc[u->n++] = pc;
        if (!known) break;
    }
    if (u->n == 0) {
        u->flags |= NN_SITE_UNREADABLE;
        uintptr_t pc = (uintptr_t)nn_caller_pc - 1;
        u->in_module[0] = object_at(pc, &u->mod[0]);
        u->pc[u->n++] = pc;
    }
}

/* Under lock: the frames with their modules' ids. */
static void fill_native(nn_site *s, const struct unwound *u)
{
    s->flags = u->flags;
    s->n_native = u->n;
    for (uint32_t i = 0; i < u->n; i++) {
        uint32_t id = u->in_module[i] ? module_id(&u->mod[i]) : 0;
        s->native[i] = (nn_site_native){id, id ? u->pc[i] - u->mod[i].bias : u->pc[i]};
    }
}

/* ------------------------------------------------------------ the table */

static uint64_t key_hash(uintptr_t pc, uintptr_t code, uint32_t line)
{
    uint64_t h = (uint64_t)pc * 0x9e3779b97f4a7c15ULL;
    h ^= ((uint64_t)code + line) * 0xc2b2ae3d27d4eb4fULL;
    return h ^ (h >> 29);
}

/* Under lock: the slot of the key, or the empty one where it would go. */
static struct slot *table_slot(uintptr_t pc, uintptr_t code, uint32_t line)
{
    size_t j = key_hash(pc, code, line) % TABLE_SLOTS;
    while (table[j].site && !(table[j].pc == pc && table[j].code == code && table[j].line == line))
        j = (j + 1) % TABLE_SLOTS;
    return &table[j];
}

/* A new site for the key: read outside the lock (libunwind and dl_iterate_phdr take
 * the loader's lock, which a thread inside dlopen holds while it may call us). The
 * frames go on the heap: a program's thread may have a small stack. */
static uint32_t new_site(uintptr_t pc, uintptr_t code, uint32_t line)
{
    struct unwound *u = malloc(sizeof *u);
    nn_site *s = calloc(1, sizeof *s);
    if (!u || !s) {
        free(u), free(s);
        return 0;
    }
    unwind(u);
    if (code) s->n_python = nn_py_frames(s->python, NN_SITE_MAX_PYTHON);
    pthread_mutex_lock(&lock);
    struct slot *slot = table_slot(pc, code, line);
    uint32_t id = slot->site;
    if (!id && n_sites < NN_MAX_SITES) { /* not added meanwhile by another thread */
        id = s->id = n_sites + 1;
        fill_native(s, u);
        __atomic_store_n(&sites[id], s, __ATOMIC_RELEASE);
        n_sites = id;
        *slot = (struct slot){pc, code, line, id};
        s = NULL;
    }
    pthread_mutex_unlock(&lock);
    if (!id) nn_warn_once("more than %d call sites: later ones are not named", NN_MAX_SITES);
    free(u);
    free(s);
    return id;
}

uint32_t nn_site_current(void)
{
    if (cfg.off) return 0;
    uintptr_t pc = (uintptr_t)nn_caller_pc;
    nn_py_key py = nn_py_innermost();
    struct slot *c = &thread_cache[key_hash(pc, py.code, py.line) % THREAD_CACHE];
    if (c->site && c->pc == pc && c->code == py.code && c->line == py.line) return c->site;
    pthread_mutex_lock(&lock);
    uint32_t id = table_slot(pc, py.code, py.line)->site;
    pthread_mutex_unlock(&lock);
    if (!id) id = new_site(pc, py.code, py.line);
    if (id) *c = (struct slot){pc, py.code, py.line, id};
    return id;
}

const nn_site *nn_site_get(uint32_t id)
{
    return id && id <= NN_MAX_SITES ? __atomic_load_n(&sites[id], __ATOMIC_ACQUIRE) : NULL;
}

const nn_module *nn_module_get(uint32_t id)
{
    return id && id <= __atomic_load_n(&n_modules, __ATOMIC_ACQUIRE) ? &modules[id] : NULL;
}

__attribute__((constructor(125))) static void sites_init(void)
{
    parse_config();
    /* Sites are for the trace's reader: without a trace they would cost for nothing. */
    if (!nn_config_get()->output_template[0]) cfg.off = true;
    nn_module self;
    if (object_at((uintptr_t)&nn_site_current, &self)) {
        self_bias = self.bias;
        memcpy(self_path, self.path, sizeof self_path);
    }
    nn_fork_protect(&lock, NULL);
    /* libunwind sets itself up on first use, without a lock that a race detector can
     * see: done here, before the program's threads exist. */
    uintptr_t warm_up[1];
    if (!cfg.off) return_addresses(warm_up, 1);
}
