/*
 * threads: concurrent cuBLAS and cuDNN work from several host threads, each with its
 * own handles, stream and buffers, as a multi-threaded server would run them. nnspy's
 * per-thread reentrancy guard and its counters must stay exact under this.
 *
 *   threads NTHREADS ITERS
 *
 * Each iteration of each thread: one cublasSgemm_v2 with m=8, n=4, k=16 and one
 * cudnnConvolutionForward (1x1x4x4 input, 1x1x3x3 filter, no padding -> 1x1x2x2).
 * Hand-derived MACs per thread-iteration: 8*4*16 + 1*1*2*2*1*3*3 = 512 + 36 = 548.
 * Prints "threads NTHREADS x ITERS done" and exits 0; any failure exits 1.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A failing call ends its thread (not the process: two threads calling exit() at
 * once race in the CUDA runtime's own exit handlers) and makes main exit 1. */
#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static atomic_int any_failed;

static void fail_thread(void)
{
    atomic_store(&any_failed, 1);
    pthread_exit(NULL);
}

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "threads: line %d: %s failed: %s (%d)\n", line, what,
            cudaGetErrorString(err), (int)err);
    fail_thread();
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return;
    fprintf(stderr, "threads: line %d: %s failed: %s (%d)\n", line, what,
            cudnnGetErrorString(st), (int)st);
    fail_thread();
}

static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "threads: line %d: %s failed: %s (%d)\n", line, what,
            cublasGetStatusString(st), (int)st);
    fail_thread();
}

enum { M = 8, N = 4, K = 16 };
static const float ONE = 1.0f, ZERO = 0.0f;

/* Everything one thread owns: nothing here is shared between threads. */
struct worker {
    pthread_t thread;
    int id, iters;
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    float *a, *b, *c, *x, *w, *y;
};

/* A device buffer of n floats holding a small pattern that depends on the thread. */
static float *upload_pattern(int n, int seed)
{
    float host[M * K];
    float *dev;
    for (int i = 0; i < n; i++)
        host[i] = (float)((i * 7 + seed) % 11 - 5) * 0.125f;
    CHECK_CUDA(cudaMalloc((void **)&dev, (size_t)n * sizeof *dev));
    CHECK_CUDA(cudaMemcpy(dev, host, (size_t)n * sizeof *dev, cudaMemcpyHostToDevice));
    return dev;
}

static cudnnTensorDescriptor_t tensor(int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, h, w));
    return t;
}

static void setup(struct worker *wk)
{
    CHECK_CUDA(cudaStreamCreate(&wk->stream));
    CHECK_CUBLAS(cublasCreate(&wk->cublas));
    CHECK_CUBLAS(cublasSetStream(wk->cublas, wk->stream));
    CHECK_CUDNN(cudnnCreate(&wk->cudnn));
    CHECK_CUDNN(cudnnSetStream(wk->cudnn, wk->stream));
    wk->x_desc = tensor(4, 4);
    wk->y_desc = tensor(2, 2);
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&wk->w_desc));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(wk->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 1, 1,
                                           3, 3));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&wk->conv_desc));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(wk->conv_desc, 0, 0, 1, 1, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    wk->a = upload_pattern(M * K, wk->id);
    wk->b = upload_pattern(K * N, wk->id + 1);
    wk->c = upload_pattern(M * N, 0);
    wk->x = upload_pattern(4 * 4, wk->id + 2);
    wk->w = upload_pattern(3 * 3, wk->id + 3);
    wk->y = upload_pattern(2 * 2, 0);
}

static void teardown(struct worker *wk)
{
    float *bufs[] = {wk->a, wk->b, wk->c, wk->x, wk->w, wk->y};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        CHECK_CUDA(cudaFree(bufs[i]));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(wk->x_desc));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(wk->y_desc));
    CHECK_CUDNN(cudnnDestroyFilterDescriptor(wk->w_desc));
    CHECK_CUDNN(cudnnDestroyConvolutionDescriptor(wk->conv_desc));
    CHECK_CUDNN(cudnnDestroy(wk->cudnn));
    CHECK_CUBLAS(cublasDestroy(wk->cublas));
    CHECK_CUDA(cudaStreamDestroy(wk->stream));
}

static void *work(void *arg)
{
    struct worker *wk = arg;
    const cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    size_t ws_bytes;
    void *ws = NULL;
    setup(wk);
    CHECK_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(wk->cudnn, wk->x_desc, wk->w_desc,
                                                        wk->conv_desc, wk->y_desc, algo,
                                                        &ws_bytes));
    if (ws_bytes)
        CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
    for (int i = 0; i < wk->iters; i++) {
        /* Column-major C(8x4) = A(8x16) * B(16x4). */
        CHECK_CUBLAS(cublasSgemm_v2(wk->cublas, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &ONE, wk->a,
                                    M, wk->b, K, &ZERO, wk->c, M));
        CHECK_CUDNN(cudnnConvolutionForward(wk->cudnn, &ONE, wk->x_desc, wk->x, wk->w_desc,
                                            wk->w, wk->conv_desc, algo, ws, ws_bytes, &ZERO,
                                            wk->y_desc, wk->y));
    }
    CHECK_CUDA(cudaStreamSynchronize(wk->stream));
    CHECK_CUDA(cudaFree(ws));
    teardown(wk);
    return NULL;
}

static int parse_count(const char *text, int min, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < min || v > INT_MAX)
        return -1;
    *out = (int)v;
    return 0;
}

int main(int argc, char **argv)
{
    int nthreads, iters;
    if (argc != 3 || parse_count(argv[1], 1, &nthreads) || nthreads > 1024
        || parse_count(argv[2], 0, &iters)) {
        fprintf(stderr, "usage: threads NTHREADS ITERS   (1 <= NTHREADS <= 1024)\n");
        return 2;
    }
    struct worker *workers = calloc((size_t)nthreads, sizeof *workers);
    if (!workers) {
        fprintf(stderr, "threads: out of memory\n");
        return 1;
    }
    for (int t = 0; t < nthreads; t++) {
        workers[t].id = t;
        workers[t].iters = iters;
        int err = pthread_create(&workers[t].thread, NULL, work, &workers[t]);
        if (err) {
            fprintf(stderr, "threads: pthread_create: %s\n", strerror(err));
            return 1;
        }
    }
    for (int t = 0; t < nthreads; t++) {
        int err = pthread_join(workers[t].thread, NULL);
        if (err) {
            fprintf(stderr, "threads: pthread_join: %s\n", strerror(err));
            return 1;
        }
    }
    free(workers);
    if (atomic_load(&any_failed))
        return 1;
    printf("threads %d x %d done\n", nthreads, iters);
    return 0;
}
