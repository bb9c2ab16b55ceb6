/*
 * tf_loader: reaches cuDNN and cuBLAS the way TensorFlow and JAX do, through
 * dlopen + dlsym only. This file calls no CUDA, cuDNN or cuBLAS function by name
 * (the headers give only the prototypes, through __typeof__), so the linker keeps no
 * dependency on those libraries and symbol interposition alone never sees a call:
 * nnspy must count them through its dlsym.
 *
 *   tf_loader eager|lazy ITERS
 *
 * All three libraries are opened first with dlopen(RTLD_NOW | RTLD_LOCAL). Then
 *   eager  every function is looked up front (TensorFlow's dso_loader);
 *   lazy   the program calls static trampolines, each of which looks its function up
 *          on first use and caches it (implib.so-style stubs).
 *
 * Each iteration: one cudnnConvolutionForward (x 1x3x8x8, w 2x3x3x3, no padding ->
 * y 1x2x6x6), one cudnnAddTensor (bias 1x2x1x1 onto y) and one cublasSgemm_v2
 * (column-major C 8x4 = A 8x16 * B 16x4; A is a weight no operation wrote).
 * Hand-derived MACs per iteration: conv 1*2*6*6*3*3*3 = 1944, GEMM 8*4*16 = 512,
 * total 2456. Parameters: filter 2*3*3*3 = 54 + bias 2 + A 8*16 = 128 -> 184.
 *
 * Prints "tf_loader MODE x ITERS done" and exits 0; any failure exits 1, bad
 * arguments 2.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The three libraries, opened in main before any function is looked up. */
static void *lib_cudart, *lib_cudnn, *lib_cublas;

static void *open_library(const char *name)
{
    void *lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        fprintf(stderr, "tf_loader: dlopen(%s) failed: %s\n", name, dlerror());
        exit(1);
    }
    return lib;
}

static void *must_dlsym(void *lib, const char *name)
{
    dlerror(); /* a NULL result is an error only if dlerror says so */
    void *sym = dlsym(lib, name);
    const char *err = dlerror();
    if (!sym) {
        fprintf(stderr, "tf_loader: dlsym(%s) failed: %s\n", name, err ? err : "NULL symbol");
        exit(1);
    }
    return sym;
}

/* Every function the program uses, with the library that defines it. */
#define FUNCTIONS(X)                                                                       \
    X(lib_cudart, cudaMalloc)                                                              \
    X(lib_cudart, cudaMemcpy)                                                              \
    X(lib_cudart, cudaFree)                                                                \
    X(lib_cudart, cudaDeviceSynchronize)                                                   \
    X(lib_cudart, cudaGetErrorString)                                                      \
    X(lib_cudnn, cudnnGetErrorString)                                                      \
    X(lib_cudnn, cudnnCreate)                                                              \
    X(lib_cudnn, cudnnDestroy)                                                             \
    X(lib_cudnn, cudnnCreateTensorDescriptor)                                              \
    X(lib_cudnn, cudnnSetTensor4dDescriptor)                                               \
    X(lib_cudnn, cudnnDestroyTensorDescriptor)                                             \
    X(lib_cudnn, cudnnCreateFilterDescriptor)                                              \
    X(lib_cudnn, cudnnSetFilter4dDescriptor)                                               \
    X(lib_cudnn, cudnnDestroyFilterDescriptor)                                             \
    X(lib_cudnn, cudnnCreateConvolutionDescriptor)                                         \
    X(lib_cudnn, cudnnSetConvolution2dDescriptor)                                          \
    X(lib_cudnn, cudnnDestroyConvolutionDescriptor)                                        \
    X(lib_cudnn, cudnnGetConvolutionForwardWorkspaceSize)                                  \
    X(lib_cudnn, cudnnConvolutionForward)                                                  \
    X(lib_cudnn, cudnnAddTensor)                                                           \
    X(lib_cublas, cublasGetStatusString)                                                   \
    X(lib_cublas, cublasCreate_v2)                                                         \
    X(lib_cublas, cublasDestroy_v2)                                                        \
    X(lib_cublas, cublasSgemm_v2)

/* What the program calls: the real functions (eager) or the trampolines (lazy). */
#define API_FIELD(lib, name) __typeof__(&name) name;
static struct {
    FUNCTIONS(API_FIELD)
} api;

/* ------------------------------------------------------------------ eager */

#define RESOLVE_NOW(lib, name) *(void **)&api.name = must_dlsym(lib, #name);

static void resolve_eager(void)
{
    FUNCTIONS(RESOLVE_NOW)
}

/* ------------------------------------------------------------------- lazy */

/*
 * A trampoline is private to this program (static), like the stubs implib.so
 * generates: the first call looks the real function up, later calls reuse it.
 * Assigning it to `api` below checks its prototype against the header's. (The
 * locals end in _ so that they cannot clash with a parameter's name.)
 */
#define TRAMPOLINE(lib, ret, name, params, args)                                           \
    static ret tramp_##name params                                                         \
    {                                                                                      \
        static __typeof__(&name) real_;                                                    \
        __typeof__(&name) fn_ = __atomic_load_n(&real_, __ATOMIC_ACQUIRE);                 \
        if (!fn_) {                                                                        \
            *(void **)&fn_ = must_dlsym(lib, #name);                                       \
            __atomic_store_n(&real_, fn_, __ATOMIC_RELEASE);                               \
        }                                                                                  \
        return fn_ args;                                                                   \
    }

TRAMPOLINE(lib_cudart, cudaError_t, cudaMalloc, (void **p, size_t n), (p, n))
TRAMPOLINE(lib_cudart, cudaError_t, cudaMemcpy,
           (void *dst, const void *src, size_t n, enum cudaMemcpyKind kind),
           (dst, src, n, kind))
TRAMPOLINE(lib_cudart, cudaError_t, cudaFree, (void *p), (p))
TRAMPOLINE(lib_cudart, cudaError_t, cudaDeviceSynchronize, (void), ())
TRAMPOLINE(lib_cudart, const char *, cudaGetErrorString, (cudaError_t e), (e))

TRAMPOLINE(lib_cudnn, const char *, cudnnGetErrorString, (cudnnStatus_t s), (s))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnCreate, (cudnnHandle_t * h), (h))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnDestroy, (cudnnHandle_t h), (h))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnCreateTensorDescriptor, (cudnnTensorDescriptor_t * d),
           (d))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnSetTensor4dDescriptor,
           (cudnnTensorDescriptor_t d, cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c,
            int h, int w),
           (d, f, t, n, c, h, w))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnDestroyTensorDescriptor, (cudnnTensorDescriptor_t d),
           (d))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnCreateFilterDescriptor, (cudnnFilterDescriptor_t * d),
           (d))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnSetFilter4dDescriptor,
           (cudnnFilterDescriptor_t d, cudnnDataType_t t, cudnnTensorFormat_t f, int k, int c,
            int h, int w),
           (d, t, f, k, c, h, w))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnDestroyFilterDescriptor, (cudnnFilterDescriptor_t d),
           (d))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnCreateConvolutionDescriptor,
           (cudnnConvolutionDescriptor_t * d), (d))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnSetConvolution2dDescriptor,
           (cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int u, int v, int dil_h,
            int dil_w, cudnnConvolutionMode_t mode, cudnnDataType_t t),
           (d, pad_h, pad_w, u, v, dil_h, dil_w, mode, t))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnDestroyConvolutionDescriptor,
           (cudnnConvolutionDescriptor_t d), (d))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnGetConvolutionForwardWorkspaceSize,
           (cudnnHandle_t h, const cudnnTensorDescriptor_t xd, const cudnnFilterDescriptor_t wd,
            const cudnnConvolutionDescriptor_t cd, const cudnnTensorDescriptor_t yd,
            cudnnConvolutionFwdAlgo_t algo, size_t *bytes),
           (h, xd, wd, cd, yd, algo, bytes))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnConvolutionForward,
           (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t xd, const void *x,
            const cudnnFilterDescriptor_t wd, const void *w,
            const cudnnConvolutionDescriptor_t cd, cudnnConvolutionFwdAlgo_t algo, void *ws,
            size_t ws_bytes, const void *beta, const cudnnTensorDescriptor_t yd, void *y),
           (h, alpha, xd, x, wd, w, cd, algo, ws, ws_bytes, beta, yd, y))
TRAMPOLINE(lib_cudnn, cudnnStatus_t, cudnnAddTensor,
           (cudnnHandle_t h, const void *alpha, const cudnnTensorDescriptor_t ad, const void *a,
            const void *beta, const cudnnTensorDescriptor_t cd, void *c),
           (h, alpha, ad, a, beta, cd, c))

TRAMPOLINE(lib_cublas, const char *, cublasGetStatusString, (cublasStatus_t s), (s))
TRAMPOLINE(lib_cublas, cublasStatus_t, cublasCreate_v2, (cublasHandle_t * h), (h))
TRAMPOLINE(lib_cublas, cublasStatus_t, cublasDestroy_v2, (cublasHandle_t h), (h))
TRAMPOLINE(lib_cublas, cublasStatus_t, cublasSgemm_v2,
           (cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
            const float *alpha, const float *a, int lda, const float *b, int ldb,
            const float *beta, float *c, int ldc),
           (h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc))

#define USE_TRAMPOLINE(lib, name) api.name = tramp_##name;

static void use_trampolines(void)
{
    FUNCTIONS(USE_TRAMPOLINE)
}

/* ------------------------------------------------------------ the network */

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "tf_loader: line %d: %s failed: %s (%d)\n", line, what,
            api.cudaGetErrorString(err), (int)err);
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return;
    fprintf(stderr, "tf_loader: line %d: %s failed: %s (%d)\n", line, what,
            api.cudnnGetErrorString(st), (int)st);
    exit(1);
}

static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "tf_loader: line %d: %s failed: %s (%d)\n", line, what,
            api.cublasGetStatusString(st), (int)st);
    exit(1);
}

enum { M = 8, N = 4, K = 16 };
static const float ONE = 1.0f, ZERO = 0.0f;
static const cudnnConvolutionFwdAlgo_t ALGO = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;

struct net {
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    cudnnTensorDescriptor_t x_desc, y_desc, bias_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    float *x, *w, *bias, *y; /* convolution */
    float *a, *b, *c;        /* GEMM: a is the weight */
    void *ws;
    size_t ws_bytes;
};

/* A device buffer of n floats holding a small fixed pattern (uploaded by a copy,
 * which nnspy does not count as an operation writing it). */
static float *upload(int n, int seed)
{
    float host[3 * 8 * 8];
    float *dev;
    for (int i = 0; i < n; i++)
        host[i] = (float)((i * 5 + seed) % 9 - 4) * 0.25f;
    CHECK_CUDA(api.cudaMalloc((void **)&dev, (size_t)n * sizeof *dev));
    CHECK_CUDA(api.cudaMemcpy(dev, host, (size_t)n * sizeof *dev, cudaMemcpyHostToDevice));
    return dev;
}

static cudnnTensorDescriptor_t tensor(int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(api.cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(api.cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
    return t;
}

static void setup(struct net *nt)
{
    CHECK_CUDNN(api.cudnnCreate(&nt->cudnn));
    CHECK_CUBLAS(api.cublasCreate_v2(&nt->cublas));
    nt->x_desc = tensor(1, 3, 8, 8);
    nt->y_desc = tensor(1, 2, 6, 6);
    nt->bias_desc = tensor(1, 2, 1, 1);
    CHECK_CUDNN(api.cudnnCreateFilterDescriptor(&nt->w_desc));
    CHECK_CUDNN(api.cudnnSetFilter4dDescriptor(nt->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 2,
                                               3, 3, 3));
    CHECK_CUDNN(api.cudnnCreateConvolutionDescriptor(&nt->conv_desc));
    CHECK_CUDNN(api.cudnnSetConvolution2dDescriptor(nt->conv_desc, 0, 0, 1, 1, 1, 1,
                                                    CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CHECK_CUDNN(api.cudnnGetConvolutionForwardWorkspaceSize(
        nt->cudnn, nt->x_desc, nt->w_desc, nt->conv_desc, nt->y_desc, ALGO, &nt->ws_bytes));
    if (nt->ws_bytes)
        CHECK_CUDA(api.cudaMalloc(&nt->ws, nt->ws_bytes));
    nt->x = upload(3 * 8 * 8, 1);
    nt->w = upload(2 * 3 * 3 * 3, 2);
    nt->bias = upload(2, 3);
    nt->y = upload(2 * 6 * 6, 0);
    nt->a = upload(M * K, 4);
    nt->b = upload(K * N, 5);
    nt->c = upload(M * N, 0);
}

static void step(struct net *nt)
{
    CHECK_CUDNN(api.cudnnConvolutionForward(nt->cudnn, &ONE, nt->x_desc, nt->x, nt->w_desc, nt->w,
                                            nt->conv_desc, ALGO, nt->ws, nt->ws_bytes, &ZERO,
                                            nt->y_desc, nt->y));
    CHECK_CUDNN(api.cudnnAddTensor(nt->cudnn, &ONE, nt->bias_desc, nt->bias, &ONE, nt->y_desc,
                                   nt->y));
    /* Column-major C(8x4) = A(8x16) * B(16x4): A is the weight, as frameworks pass it. */
    CHECK_CUBLAS(api.cublasSgemm_v2(nt->cublas, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &ONE, nt->a, M,
                                    nt->b, K, &ZERO, nt->c, M));
}

static void teardown(struct net *nt)
{
    float *bufs[] = {nt->x, nt->w, nt->bias, nt->y, nt->a, nt->b, nt->c};
    CHECK_CUDA(api.cudaDeviceSynchronize());
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        CHECK_CUDA(api.cudaFree(bufs[i]));
    CHECK_CUDA(api.cudaFree(nt->ws));
    CHECK_CUDNN(api.cudnnDestroyTensorDescriptor(nt->x_desc));
    CHECK_CUDNN(api.cudnnDestroyTensorDescriptor(nt->y_desc));
    CHECK_CUDNN(api.cudnnDestroyTensorDescriptor(nt->bias_desc));
    CHECK_CUDNN(api.cudnnDestroyFilterDescriptor(nt->w_desc));
    CHECK_CUDNN(api.cudnnDestroyConvolutionDescriptor(nt->conv_desc));
    CHECK_CUDNN(api.cudnnDestroy(nt->cudnn));
    CHECK_CUBLAS(api.cublasDestroy_v2(nt->cublas));
}

static int parse_iters(const char *text, int *iters)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 0 || v > INT_MAX)
        return -1;
    *iters = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int iters;
    if (argc != 3 || (strcmp(argv[1], "eager") != 0 && strcmp(argv[1], "lazy") != 0) ||
        parse_iters(argv[2], &iters)) {
        fprintf(stderr, "usage: tf_loader eager|lazy ITERS\n");
        return 2;
    }
    lib_cudart = open_library("libcudart.so.13");
    lib_cudnn = open_library("libcudnn.so.9");
    lib_cublas = open_library("libcublas.so.13");
    if (strcmp(argv[1], "eager") == 0)
        resolve_eager();
    else
        use_trampolines();
    struct net nt = {0};
    setup(&nt);
    for (int i = 0; i < iters; i++)
        step(&nt);
    teardown(&nt);
    /* The libraries stay loaded until exit, as a framework's do. */
    printf("tf_loader %s x %d done\n", argv[1], iters);
    return 0;
}
