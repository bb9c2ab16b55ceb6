/*
 * resolve.c: finding the real functions behind nnspy's wrappers.
 *
 * RTLD_NEXT finds libraries in the program's global scope. PyTorch, Python
 * extension modules and plugin loaders load cuDNN and cuBLAS into local scopes,
 * where RTLD_NEXT cannot see them; for those we look through the loaded objects
 * (dl_iterate_phdr) for the library's file and ask that very object.
 *
 * nnspy never calls the public dlsym itself: a later layer overrides dlsym, and
 * glibc's dlsym decides what RTLD_NEXT means from its caller's address. The real
 * one is bootstrapped with dlvsym.
 */
#define _GNU_SOURCE
#include "core.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

typedef void *(*dlsym_fn)(void *, const char *);

static dlsym_fn real_dlsym(void)
{
    static dlsym_fn fn;
    dlsym_fn f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);
    if (f) return f;
    /* glibc 2.34 moved dlsym into libc under a new version; older ones have 2.2.5. */
    f = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
    if (!f) f = (dlsym_fn)dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
    if (!f) nn_warn("cannot find glibc's dlsym; interception is off");
    __atomic_store_n(&fn, f, __ATOMIC_RELEASE);
    return f;
}

/* File-name prefixes of each family's front library. */
static const char *const family_prefix[NN_FAMILY_COUNT_] = {
    [NN_FAMILY_CUDNN] = "libcudnn.so",
    [NN_FAMILY_CUBLAS] = "libcublas.so",
    [NN_FAMILY_CUBLASLT] = "libcublasLt.so",
    [NN_FAMILY_CUDART] = "libcudart.so",
    [NN_FAMILY_CUDA_DRIVER] = "libcuda.so",
};

#define MAX_COPIES 8

struct loaded_search {
    const char *prefix;
    char paths[MAX_COPIES][512];
    int count;
};

static int collect_family_objects(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct loaded_search *s = data;
    const char *path = info->dlpi_name;
    if (!path || !*path || s->count == MAX_COPIES) return 0;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    if (strncmp(base, s->prefix, strlen(s->prefix)) != 0) return 0;
    if (strlen(path) >= sizeof s->paths[0]) return 0;
    strcpy(s->paths[s->count++], path);
    return 0;
}

/* Looks `name` up in each loaded object of the family, in load order. */
static void *find_in_loaded_objects(nn_family family, const char *name)
{
    struct loaded_search s = {.prefix = family_prefix[family]};
    /* Collect first, open after: dlopen must not run inside dl_iterate_phdr. */
    dl_iterate_phdr(collect_family_objects, &s);
    dlsym_fn sym = real_dlsym();
    for (int i = 0; i < s.count && sym; i++) {
        void *h = dlopen(s.paths[i], RTLD_LAZY | RTLD_NOLOAD);
        if (!h) continue;
        void *fn = sym(h, name);
        /* The object stays loaded as long as the program's own reference does. */
        dlclose(h);
        if (fn) return fn;
    }
    return NULL;
}

void *nn_lookup(nn_family family, const char *name)
{
    dlsym_fn sym = real_dlsym();
    if (!sym) return NULL;
    void *fn = sym(RTLD_NEXT, name);
    return fn ? fn : find_in_loaded_objects(family, name);
}

const char *nn_family_file(nn_family family)
{
    return family_prefix[family];
}
