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

#include "core.h"

#define COPY_ROW(f) {{f, 0, NULL}, {f, 1, NULL}, {f, 2, NULL}, {f, 3, NULL}}
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
