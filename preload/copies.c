/*
 * copies.c: the copies of each library family that nnspy's wrappers call.
 *
 * Copy 0 is what the program's direct calls reach (global scope, or the first
 * loaded object of the family). Copies 1..NN_COPIES-1 are given out to the
 * distinct objects that the program's dlsym(handle, ...) lookups land in, so that
 * two copies of cuDNN in one process (two plugins, each with its own) each get
 * wrappers that call their own functions and read their own descriptors.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "core.h"

#define COPY_ROW(f)                                                                                \
    {                                                                                              \
        {f, 0, NULL}, {f, 1, NULL}, {f, 2, NULL},                                                  \
        {                                                                                          \
            f, 3, NULL                                                                             \
        }                                                                                          \
    }
static nn_copy copies[NN_FAMILY_COUNT_][NN_COPIES] = {
    COPY_ROW(NN_FAMILY_CUDNN),  COPY_ROW(NN_FAMILY_CUBLAS),      COPY_ROW(NN_FAMILY_CUBLASLT),
    COPY_ROW(NN_FAMILY_CUDART), COPY_ROW(NN_FAMILY_CUDA_DRIVER),
};
_Static_assert(NN_COPIES == 4, "COPY_ROW and NN_WRAP list NN_COPIES copies");
_Static_assert(NN_FAMILY_COUNT_ == 5, "copies[] lists every family");

/* The load address of each copy's object, to recognise it again. */
static const void *copy_base[NN_FAMILY_COUNT_][NN_COPIES];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void protect_lock(void)
{
    nn_fork_protect(&lock, NULL);
}

const nn_copy *nn_primary(nn_family family)
{
    return &copies[family][0];
}

const nn_copy *nn_copy_at(nn_family family, int index)
{
    return &copies[family][index];
}

void *nn_copy_lookup(const nn_copy *copy, const char *name)
{
    if (copy->index == 0) return nn_lookup(copy->family, name);
    void *handle = __atomic_load_n(&copy->handle, __ATOMIC_ACQUIRE);
    return handle ? nn_real_dlsym(handle, name) : NULL;
}

static int find_copy(nn_family family, const void *base)
{
    for (int i = 1; i < NN_COPIES; i++)
        if (copy_base[family][i] == base) return i;
    return -1;
}

int nn_copy_for_object(nn_family family, const char *path, const void *base)
{
    pthread_mutex_lock(&lock);
    int found = find_copy(family, base);
    pthread_mutex_unlock(&lock);
    if (found >= 0) return found;
    /* Pinned: the wrappers keep pointers into it for the life of the process.
     * dlopen takes the loader's lock, so it runs outside ours. */
    void *h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    if (!h) return -1;
    pthread_mutex_lock(&lock);
    found = find_copy(family, base);
    for (int i = 1; i < NN_COPIES && found < 0; i++) {
        if (copy_base[family][i]) continue;
        copy_base[family][i] = base;
        __atomic_store_n(&copies[family][i].handle, h, __ATOMIC_RELEASE);
        found = i;
    }
    pthread_mutex_unlock(&lock);
    return found;
}

/* ------------------------------------------------------------ direct calls */

/* Call sites seen, each with the copy it reaches. Lock-free: a slot is claimed
 * with a compare-and-swap on its key, then its answer is published. */
#define SITE_SLOTS  4096
#define SITE_PROBES 16
struct site {
    uintptr_t key;  /* caller address ^ family; 0: empty */
    int copy_plus1; /* 0: not yet published */
};
static struct site sites[SITE_SLOTS];

static bool same_object(const void *a, const void *b)
{
    Dl_info ia, ib;
    return dladdr(a, &ia) && dladdr(b, &ib) && ia.dli_fbase == ib.dli_fbase;
}

/* What `name` is in the calling object's own lookup scope (itself and its
 * dependencies, which is where its PLT would bind without nnspy preloaded). */
static int resolve_caller_copy(nn_family family, const void *caller, const char *name)
{
    Dl_info ci, fi;
    if (!dladdr(caller, &ci) || !ci.dli_fname || !*ci.dli_fname) return 0;
    void *h = dlopen(ci.dli_fname, RTLD_LAZY | RTLD_NOLOAD);
    if (!h) return 0;
    void *fn = nn_real_dlsym(h, name);
    dlclose(h);
    if (!fn || !dladdr(fn, &fi) || !fi.dli_fname) return 0;
    const char *base = strrchr(fi.dli_fname, '/');
    base = base ? base + 1 : fi.dli_fname;
    const char *prefix = nn_family_file(family);
    if (strncmp(base, prefix, strlen(prefix)) != 0) return 0; /* another interposer: copy 0 */
    void *primary = nn_lookup(family, name);
    if (!primary || same_object(primary, fn)) return 0;
    int copy = nn_copy_for_object(family, fi.dli_fname, fi.dli_fbase);
    if (copy < 0) {
        nn_warn_once("more than %d copies of %s*: some calls go to the first one", NN_COPIES - 1,
                     prefix);
        return 0;
    }
    return copy;
}

const nn_copy *nn_copy_for_caller(nn_family family, const void *caller, const char *name)
{
    uintptr_t key = ((uintptr_t)caller ^ (uintptr_t)family) | 1u;
    uint64_t h = ((uint64_t)key * 0x9e3779b97f4a7c15ULL) >> 52; /* 12 bits: SITE_SLOTS */
    for (int i = 0; i < SITE_PROBES; i++) {
        struct site *s = &sites[(h + (uint64_t)i) % SITE_SLOTS];
        uintptr_t k = __atomic_load_n(&s->key, __ATOMIC_ACQUIRE);
        if (k == key) {
            int c = __atomic_load_n(&s->copy_plus1, __ATOMIC_ACQUIRE);
            if (c) return &copies[family][c - 1];
            break; /* being resolved by another thread: resolve too */
        }
        if (k != 0) continue;
        int copy = resolve_caller_copy(family, caller, name);
        uintptr_t empty = 0;
        if (__atomic_compare_exchange_n(&s->key, &empty, key, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE) ||
            empty == key)
            __atomic_store_n(&s->copy_plus1, copy + 1, __ATOMIC_RELEASE);
        return &copies[family][copy];
    }
    /* Table full around this site, or a race: answer without caching. */
    return &copies[family][resolve_caller_copy(family, caller, name)];
}
