/*
 * plugin_interposer: another LD_PRELOAD interposer, of the kind GPU-sharing layers
 * (HAMi-core) and other profilers are, to be preloaded together with nnspy in either
 * order:
 *
 *   LD_PRELOAD="plugin_interposer.so:libnnspy.so" PROGRAM     (or the reverse)
 *
 * It defines cudnnConvolutionForward, cudnnAddTensor and cublasSgemm_v2, counts
 * their calls and calls through to the next definition, found once with
 * dlsym(RTLD_NEXT, name): the real library, or nnspy when nnspy comes after it.
 * At exit it prints "interposer: N calls" on stderr, N the total of the three.
 * Neither nnspy's nor this object's counts may change with the order.
 *
 * It links neither cuDNN nor cuBLAS (the headers give only the prototypes), so it
 * can be preloaded into any program. If RTLD_NEXT ever handed back this object's
 * own function (which would recurse forever), it prints "interposer: recursion"
 * and aborts.
 */
#define _GNU_SOURCE
#include <cublas_v2.h>
#include <cudnn.h>
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_ulong conv_calls, add_calls, gemm_calls;

/*
 * The next definition of `name` after this object, cached in *cache. `self` is
 * this object's own definition, taken through a hidden alias: the exported name
 * may resolve to another interposer's function, the alias never does.
 */
static void *next_of(void *_Atomic *cache, const char *name, const void *self)
{
    void *next = atomic_load(cache);
    if (next)
        return next;
    next = dlsym(RTLD_NEXT, name);
    if (!next) {
        const char *err = dlerror();
        fprintf(stderr, "interposer: no %s after this object: %s\n", name,
                err ? err : "NULL symbol");
        abort();
    }
    if (next == self) {
        fprintf(stderr, "interposer: recursion\n");
        abort();
    }
    atomic_store(cache, next);
    return next;
}

/* The function this object's NAME calls through to, looked up on first use. */
#define NEXT(NAME)                                                                         \
    ({                                                                                     \
        static void *_Atomic cache_;                                                       \
        __typeof__(&NAME) next_;                                                           \
        *(void **)&next_ = next_of(&cache_, #NAME, (const void *)self_##NAME);             \
        next_;                                                                             \
    })

/* Hidden aliases of the definitions below: this object's own addresses. */
extern __typeof__(cudnnConvolutionForward) self_cudnnConvolutionForward
    __attribute__((visibility("hidden"), alias("cudnnConvolutionForward")));
extern __typeof__(cudnnAddTensor) self_cudnnAddTensor
    __attribute__((visibility("hidden"), alias("cudnnAddTensor")));
extern __typeof__(cublasSgemm_v2) self_cublasSgemm_v2
    __attribute__((visibility("hidden"), alias("cublasSgemm_v2")));

cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t handle, const void *alpha,
                                      const cudnnTensorDescriptor_t xDesc, const void *x,
                                      const cudnnFilterDescriptor_t wDesc, const void *w,
                                      const cudnnConvolutionDescriptor_t convDesc,
                                      cudnnConvolutionFwdAlgo_t algo, void *workSpace,
                                      size_t workSpaceSizeInBytes, const void *beta,
                                      const cudnnTensorDescriptor_t yDesc, void *y)
{
    atomic_fetch_add(&conv_calls, 1);
    return NEXT(cudnnConvolutionForward)(handle, alpha, xDesc, x, wDesc, w, convDesc, algo,
                                         workSpace, workSpaceSizeInBytes, beta, yDesc, y);
}

cudnnStatus_t cudnnAddTensor(cudnnHandle_t handle, const void *alpha,
                             const cudnnTensorDescriptor_t aDesc, const void *A, const void *beta,
                             const cudnnTensorDescriptor_t cDesc, void *C)
{
    atomic_fetch_add(&add_calls, 1);
    return NEXT(cudnnAddTensor)(handle, alpha, aDesc, A, beta, cDesc, C);
}

cublasStatus_t cublasSgemm_v2(cublasHandle_t handle, cublasOperation_t transa,
                              cublasOperation_t transb, int m, int n, int k, const float *alpha,
                              const float *A, int lda, const float *B, int ldb, const float *beta,
                              float *C, int ldc)
{
    atomic_fetch_add(&gemm_calls, 1);
    return NEXT(cublasSgemm_v2)(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C,
                                ldc);
}

__attribute__((destructor)) static void report(void)
{
    unsigned long total = atomic_load(&conv_calls) + atomic_load(&add_calls) +
                          atomic_load(&gemm_calls);
    fprintf(stderr, "interposer: %lu calls\n", total);
}
