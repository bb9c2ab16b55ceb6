/*
 * two_copies: two copies of cuDNN in one process, as when two plugins each bring
 * their own. Each copy is a different file, dlopen'ed RTLD_LOCAL, and used only
 * through the functions looked up in its own handle; nnspy must send each call to
 * the copy it came from and read its descriptors with that copy's getters (the
 * simulated cuDNN refuses a descriptor made by another copy with BAD_PARAM).
 *
 *   two_copies PATH_A PATH_B
 *
 * PATH_A and PATH_B are copies of the simulated libcudnn.so.9 (both find the one
 * libcudart.so.13 through LD_LIBRARY_PATH; this program links libcudart itself and
 * calls cuDNN only through dlsym). Work, interleaved between the copies:
 *   copy A: 1 convolution  1x3x8x8  * 2x3x3x3 -> 1x2x6x6, MACs 2*6*6*3*3*3 = 1,944
 *   copy B: 2 convolutions 1x4x10x10 * 5x4x3x3 -> 1x5x8x8, MACs 5*8*8*4*3*3 = 11,520 each
 * Hand-derived totals: 3 calls, 1,944 + 2*11,520 = 24,984 MACs,
 * parameters 2*3*3*3 + 5*4*3*3 = 54 + 180 = 234 (B's filter is read twice, counted once).
 *
 * Then each copy's nnspy_sim_cudnn_conv_calls must report its own count, 1 and 2.
 * Prints "A 1 B 2" and exits 0; any failure exits 1, bad arguments 2.
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <dlfcn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Every cuDNN function the program uses; each copy gets its own set. */
#define CUDNN_FUNCTIONS(X)                                                                 \
    X(cudnnGetErrorString)                                                                 \
    X(cudnnCreate)                                                                         \
    X(cudnnDestroy)                                                                        \
    X(cudnnCreateTensorDescriptor)                                                         \
    X(cudnnSetTensor4dDescriptor)                                                          \
    X(cudnnGetTensorNdDescriptor)                                                          \
    X(cudnnDestroyTensorDescriptor)                                                        \
    X(cudnnCreateFilterDescriptor)                                                         \
    X(cudnnSetFilter4dDescriptor)                                                          \
    X(cudnnDestroyFilterDescriptor)                                                        \
    X(cudnnCreateConvolutionDescriptor)                                                    \
    X(cudnnSetConvolution2dDescriptor)                                                     \
    X(cudnnDestroyConvolutionDescriptor)                                                   \
    X(cudnnGetConvolutionForwardWorkspaceSize)                                             \
    X(cudnnConvolutionForward)

#define API_FIELD(name) __typeof__(&name) name;

/* One loaded copy of libcudnn and the functions found in it. */
struct copy {
    const char *label, *path;
    void *lib;
    CUDNN_FUNCTIONS(API_FIELD)
    unsigned long (*conv_calls)(void); /* the sim's nnspy_sim_cudnn_conv_calls */
};

/* A failure ends the program at once (resources are left to the exit). */
__attribute__((format(printf, 2, 3), noreturn)) static void fail(int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "two_copies: line %d: ", line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(cp, call) check_cudnn((cp), (call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err != cudaSuccess)
        fail(line, "%s failed: %s (%d)", what, cudaGetErrorString(err), (int)err);
}

static void check_cudnn(const struct copy *cp, cudnnStatus_t st, const char *what, int line)
{
    if (st != CUDNN_STATUS_SUCCESS)
        fail(line, "copy %s: %s failed: %s (%d)", cp->label, what, cp->cudnnGetErrorString(st),
             (int)st);
}

static void *must_dlsym(const struct copy *cp, const char *name)
{
    dlerror(); /* a NULL result is an error only if dlerror says so */
    void *sym = dlsym(cp->lib, name);
    const char *err = dlerror();
    if (!sym)
        fail(__LINE__, "dlsym(%s, %s) failed: %s", cp->path, name, err ? err : "NULL symbol");
    return sym;
}

#define RESOLVE(name) *(void **)&cp->name = must_dlsym(cp, #name);

static void load_copy(struct copy *cp, const char *label, const char *path)
{
    cp->label = label;
    cp->path = path;
    cp->lib = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!cp->lib)
        fail(__LINE__, "dlopen(%s) failed: %s", path, dlerror());
    CUDNN_FUNCTIONS(RESOLVE)
    *(void **)&cp->conv_calls = must_dlsym(cp, "nnspy_sim_cudnn_conv_calls");
}

/* One convolution layer, made entirely with one copy's functions. */
struct conv {
    const struct copy *cp;
    cudnnHandle_t handle;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    float *x, *w, *y;
    void *ws;
    size_t ws_bytes;
};

static const float ONE = 1.0f, ZERO = 0.0f;
static const cudnnConvolutionFwdAlgo_t ALGO = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;

/* A device buffer of n floats with a small fixed pattern. */
static float *upload(int n)
{
    float *host = malloc((size_t)n * sizeof *host), *dev;
    if (!host)
        fail(__LINE__, "out of memory");
    for (int i = 0; i < n; i++)
        host[i] = (float)(i % 5 - 2) * 0.5f;
    CHECK_CUDA(cudaMalloc((void **)&dev, (size_t)n * sizeof *dev));
    CHECK_CUDA(cudaMemcpy(dev, host, (size_t)n * sizeof *dev, cudaMemcpyHostToDevice));
    free(host);
    return dev;
}

static cudnnTensorDescriptor_t tensor(const struct copy *cp, int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cp, cp->cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cp, cp->cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c,
                                                   h, w));
    return t;
}

/* x 1xCxHxW, filter KxCx3x3, no padding, stride 1 -> y 1xKx(H-2)x(W-2). */
static void setup(struct conv *cv, const struct copy *cp, int c, int h, int w, int k)
{
    cv->cp = cp;
    CHECK_CUDNN(cp, cp->cudnnCreate(&cv->handle));
    cv->x_desc = tensor(cp, 1, c, h, w);
    cv->y_desc = tensor(cp, 1, k, h - 2, w - 2);
    CHECK_CUDNN(cp, cp->cudnnCreateFilterDescriptor(&cv->w_desc));
    CHECK_CUDNN(cp, cp->cudnnSetFilter4dDescriptor(cv->w_desc, CUDNN_DATA_FLOAT,
                                                   CUDNN_TENSOR_NCHW, k, c, 3, 3));
    CHECK_CUDNN(cp, cp->cudnnCreateConvolutionDescriptor(&cv->conv_desc));
    CHECK_CUDNN(cp, cp->cudnnSetConvolution2dDescriptor(cv->conv_desc, 0, 0, 1, 1, 1, 1,
                                                        CUDNN_CROSS_CORRELATION,
                                                        CUDNN_DATA_FLOAT));
    CHECK_CUDNN(cp, cp->cudnnGetConvolutionForwardWorkspaceSize(cv->handle, cv->x_desc,
                                                                cv->w_desc, cv->conv_desc,
                                                                cv->y_desc, ALGO, &cv->ws_bytes));
    cv->ws = NULL; /* no workspace needed: cudaFree(NULL) in teardown is a no-op */
    if (cv->ws_bytes)
        CHECK_CUDA(cudaMalloc(&cv->ws, cv->ws_bytes));
    cv->x = upload(c * h * w);
    cv->w = upload(k * c * 3 * 3);
    cv->y = upload(k * (h - 2) * (w - 2));
}

static void forward(const struct conv *cv)
{
    const struct copy *cp = cv->cp;
    CHECK_CUDNN(cp, cp->cudnnConvolutionForward(cv->handle, &ONE, cv->x_desc, cv->x, cv->w_desc,
                                                cv->w, cv->conv_desc, ALGO, cv->ws, cv->ws_bytes,
                                                &ZERO, cv->y_desc, cv->y));
}

static void teardown(struct conv *cv)
{
    const struct copy *cp = cv->cp;
    CHECK_CUDA(cudaDeviceSynchronize());
    CHECK_CUDA(cudaFree(cv->x));
    CHECK_CUDA(cudaFree(cv->w));
    CHECK_CUDA(cudaFree(cv->y));
    CHECK_CUDA(cudaFree(cv->ws));
    CHECK_CUDNN(cp, cp->cudnnDestroyTensorDescriptor(cv->x_desc));
    CHECK_CUDNN(cp, cp->cudnnDestroyTensorDescriptor(cv->y_desc));
    CHECK_CUDNN(cp, cp->cudnnDestroyFilterDescriptor(cv->w_desc));
    CHECK_CUDNN(cp, cp->cudnnDestroyConvolutionDescriptor(cv->conv_desc));
    CHECK_CUDNN(cp, cp->cudnnDestroy(cv->handle));
}

/*
 * The test means something only if the two copies really are distinct and tell
 * their descriptors apart: copy A's getter must refuse copy B's tensor.
 */
static void check_copies_distinct(const struct copy *a, const struct copy *b,
                                   const struct conv *of_b)
{
    cudnnDataType_t dtype;
    int nb, dim[4], stride[4];
    if (a->lib == b->lib)
        fail(__LINE__, "dlopen returned the same handle for %s and %s", a->path, b->path);
    cudnnStatus_t st = a->cudnnGetTensorNdDescriptor(of_b->x_desc, 4, &dtype, &nb, dim, stride);
    if (st != CUDNN_STATUS_BAD_PARAM)
        fail(__LINE__, "copy A's getter answered %s for copy B's tensor descriptor, expected "
                       "CUDNN_STATUS_BAD_PARAM: the two copies do not tell their descriptors apart",
             a->cudnnGetErrorString(st));
}

static void check_calls(const struct copy *cp, unsigned long expected)
{
    unsigned long got = cp->conv_calls();
    if (got != expected)
        fail(__LINE__, "copy %s (%s) ran %lu convolutions, expected %lu", cp->label, cp->path,
             got, expected);
}

int main(int argc, char **argv)
{
    struct copy a = {0}, b = {0};
    struct conv conv_a, conv_b;
    if (argc != 3) {
        fprintf(stderr, "usage: two_copies PATH_A PATH_B   (two copies of libcudnn.so.9)\n");
        return 2;
    }
    load_copy(&a, "A", argv[1]);
    load_copy(&b, "B", argv[2]);
    setup(&conv_a, &a, 3, 8, 8, 2);
    setup(&conv_b, &b, 4, 10, 10, 5);
    check_copies_distinct(&a, &b, &conv_b);
    /* Interleaved, so that a profiler cannot get by with one copy at a time. */
    forward(&conv_b);
    forward(&conv_a);
    forward(&conv_b);
    teardown(&conv_a);
    teardown(&conv_b);
    check_calls(&a, 1);
    check_calls(&b, 2);
    printf("A %lu B %lu\n", a.conv_calls(), b.conv_calls());
    return 0;
}
