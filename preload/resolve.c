/*
 * resolve.c: finding the real functions behind nnspy's wrappers.
 *
 * RTLD_NEXT finds libraries in the program's global scope. PyTorch, Python
 * extension modules and plugin loaders load cuDNN and cuBLAS into local scopes,
 * where RTLD_NEXT cannot see them; for those we look through the loaded objects
 * (dl_iterate_phdr) for the library's file and ask that very object.
 */
#define _GNU_SOURCE
#include "core.h"

#include <dlfcn.h>
#include <link.h>
#include <string.h>

/* File-name prefixes of each family's front library. */
static const char *const family_prefix[NN_FAMILY_COUNT_] = {
    [NN_FAMILY_CUDNN] = "libcudnn.so",       [NN_FAMILY_CUBLAS] = "libcublas.so",
    [NN_FAMILY_CUBLASLT] = "libcublasLt.so", [NN_FAMILY_CUDART] = "libcudart.so",
    [NN_FAMILY_CUDA_DRIVER] = "libcuda.so",
};

const char *nn_family_file(nn_family family)
{
    return family_prefix[family];
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* The libraries of the stack nnspy intercepts, which look each other's functions
 * up by the same names (cuDNN 9's front library and its sub-libraries, cuBLAS and
 * cuBLASLt). Their dlsym lookups are never redirected. Consumers such as TensorRT
 * are not in the list: their cuDNN and cuBLAS calls are the program's work. */
bool nn_is_intercepted_stack_file(const char *path)
{
    static const char *const prefixes[] = {"libcudnn", "libcublas", "libcudart", "libcuda.so"};
    if (!path) return false;
    const char *base = base_name(path);
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

#define MAX_OBJECTS 8

struct loaded_search {
    const char *prefix;
    char paths[MAX_OBJECTS][512];
    int count;
};

static int collect_family_objects(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    struct loaded_search *s = data;
    const char *path = info->dlpi_name;
    if (!path || !*path || s->count == MAX_OBJECTS) return 0;
    if (strncmp(base_name(path), s->prefix, strlen(s->prefix)) != 0) return 0;
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
    for (int i = 0; i < s.count; i++) {
        void *h = dlopen(s.paths[i], RTLD_LAZY | RTLD_NOLOAD);
        if (!h) continue;
        void *fn = nn_real_dlsym(h, name);
        dlclose(h);
        if (fn) return fn;
    }
    return NULL;
}

/* Keeps the object that defines fn loaded for good: nnspy caches fn. */
static void pin_object_of(void *fn)
{
    Dl_info info;
    if (dladdr(fn, &info) && info.dli_fname && *info.dli_fname)
        dlopen(info.dli_fname, RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
}

void *nn_lookup(nn_family family, const char *name)
{
    void *fn = nn_real_dlsym(RTLD_NEXT, name);
    if (!fn) fn = find_in_loaded_objects(family, name);
    if (fn) pin_object_of(fn);
    return fn;
}
