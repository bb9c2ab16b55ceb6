/*
 * frames: programs whose frames nnspy must find, on the simulated device.
 *
 *   frames decoder N   a prefill (2 GEMMs with weight W0), then N decode steps of
 *                      3 GEMMs each (Q = Wq x, scores = Q K^T batched over 2 heads,
 *                      out = Wo h) whose activation shapes grow with the step
 *   frames streams N   N frames marked with nnspy_frame_begin/end, each with a
 *                      convolution on stream A and a GEMM on stream B (two
 *                      non-blocking streams), then a device synchronisation; plus
 *                      one marked frame with no call in it
 *   frames sync N      N iterations of one GEMM and a device-to-host copy
 *   frames custom N    N iterations of one GEMM and one kernel of the program's own
 *                      (no library's: the simulated device's nnspy_sim_launch, 2e8
 *                      FLOPs, 0 bytes), as a framework's elementwise kernels are
 *
 * The markers are looked up with dlsym, so the program runs the same without nnspy.
 */
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) != 0) {                                                                            \
            fprintf(stderr, "frames: %s failed\n", #x);                                            \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static const float one = 1.0f, zero = 0.0f;

static float *device_floats(size_t n)
{
    void *p;
    CHECK(cudaMalloc(&p, n * sizeof(float)));
    CHECK(cudaMemset(p, 0, n * sizeof(float)));
    return p;
}

/* C (m x n) = A (m x k) B (k x n), column-major, packed. */
static void gemm(cublasHandle_t h, int m, int n, int k, const float *a, const float *b, float *c)
{
    CHECK(cublasSgemm(h, CUBLAS_OP_N, CUBLAS_OP_N, m, n, k, &one, a, m, b, k, &zero, c, m));
}

static void decoder(int steps)
{
    enum { D = 64, MAXT = 64 };
    cublasHandle_t h;
    CHECK(cublasCreate(&h));
    float *w0 = device_floats(D * D), *wq = device_floats(D * D), *wo = device_floats(D * D);
    float *x = device_floats(D * MAXT), *q = device_floats(D * MAXT), *k = device_floats(D * MAXT);
    float *s = device_floats(2 * MAXT * MAXT), *o = device_floats(D * MAXT);
    /* prefill: K = W0 x, twice */
    gemm(h, D, 4, D, w0, x, k);
    gemm(h, D, 4, D, w0, x, k);
    for (int t = 1; t <= steps; t++) {
        gemm(h, D, t, D, wq, x, q); /* Q = Wq x over the t tokens so far */
        /* scores = Q^T K per head (2 heads of D/2), both operands activations */
        CHECK(cublasSgemmStridedBatched(h, CUBLAS_OP_T, CUBLAS_OP_N, t, t, D / 2, &one, q, D,
                                        D / 2, k, D, D / 2, &zero, s, t, t * t, 2));
        gemm(h, D, t, D, wo, q, o); /* out = Wo h */
    }
    CHECK(cudaDeviceSynchronize());
    cublasDestroy(h);
}

typedef void (*marker_fn)(void);

static marker_fn marker(const char *name)
{
    marker_fn f;
    *(void **)&f = dlsym(RTLD_DEFAULT, name);
    return f;
}

static void mark(marker_fn f)
{
    if (f) f();
}

static void streams(int frames)
{
    marker_fn begin = marker("nnspy_frame_begin"), end = marker("nnspy_frame_end");
    cudaStream_t sa, sb;
    CHECK(cudaStreamCreateWithFlags(&sa, cudaStreamNonBlocking));
    CHECK(cudaStreamCreateWithFlags(&sb, cudaStreamNonBlocking));
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    CHECK(cudnnCreate(&dnn));
    CHECK(cudnnSetStream(dnn, sa));
    CHECK(cublasCreate(&blas));
    CHECK(cublasSetStream(blas, sb));
    cudnnTensorDescriptor_t xd, yd;
    cudnnFilterDescriptor_t wd;
    cudnnConvolutionDescriptor_t cd;
    CHECK(cudnnCreateTensorDescriptor(&xd));
    CHECK(cudnnCreateTensorDescriptor(&yd));
    CHECK(cudnnCreateFilterDescriptor(&wd));
    CHECK(cudnnCreateConvolutionDescriptor(&cd));
    CHECK(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 3, 8, 8));
    CHECK(cudnnSetTensor4dDescriptor(yd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 2, 6, 6));
    CHECK(cudnnSetFilter4dDescriptor(wd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 2, 3, 3, 3));
    CHECK(cudnnSetConvolution2dDescriptor(cd, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT));
    float *x = device_floats(192), *w = device_floats(54), *y = device_floats(72);
    float *a = device_floats(256 * 256), *b = device_floats(256 * 256), *c = device_floats(256 * 256);
    for (int i = 0; i < frames; i++) {
        mark(begin);
        CHECK(cudnnConvolutionForward(dnn, &one, xd, x, wd, w, cd,
                                      CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yd,
                                      y));
        gemm(blas, 256, 256, 256, a, b, c);
        CHECK(cudaDeviceSynchronize());
        mark(end);
    }
    mark(begin); /* a frame with nothing in it */
    mark(end);
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyFilterDescriptor(wd);
    cudnnDestroyConvolutionDescriptor(cd);
    cudnnDestroy(dnn);
    cublasDestroy(blas);
}

static void sync_frames(int iters)
{
    cublasHandle_t h;
    CHECK(cublasCreate(&h));
    float *a = device_floats(128), *b = device_floats(64), *c = device_floats(32), out[32];
    for (int i = 0; i < iters; i++) {
        gemm(h, 8, 4, 16, a, b, c);
        CHECK(cudaMemcpy(out, c, sizeof out, cudaMemcpyDeviceToHost));
    }
    cublasDestroy(h);
}

static void custom_kernels(int iters)
{
    cudaError_t (*launch)(cudaStream_t, uint64_t, uint64_t);
    *(void **)&launch = dlsym(RTLD_DEFAULT, "nnspy_sim_launch");
    if (!launch) {
        fprintf(stderr, "frames: custom needs the simulated device\n");
        exit(1);
    }
    cublasHandle_t h;
    CHECK(cublasCreate(&h));
    float *a = device_floats(128), *b = device_floats(64), *c = device_floats(32);
    for (int i = 0; i < iters; i++) {
        gemm(h, 8, 4, 16, a, b, c);
        CHECK(launch(NULL, 200000000, 0));
    }
    CHECK(cudaDeviceSynchronize());
    cublasDestroy(h);
}

int main(int argc, char **argv)
{
    int n = argc == 3 ? atoi(argv[2]) : 0;
    if (n <= 0 || n > 64) {
        fprintf(stderr, "usage: frames decoder|streams|sync|custom N (1..64)\n");
        return 2;
    }
    if (!strcmp(argv[1], "decoder")) decoder(n);
    else if (!strcmp(argv[1], "streams")) streams(n);
    else if (!strcmp(argv[1], "sync")) sync_frames(n);
    else if (!strcmp(argv[1], "custom")) custom_kernels(n);
    else {
        fprintf(stderr, "frames: unknown mode %s\n", argv[1]);
        return 2;
    }
    return 0;
}
