/*
 * blas_vec: the cuBLAS calls beyond GEMM: a two-layer perceptron at batch 1 through
 * cublasSgemv (as PyTorch's addmv: the weight stored row-major [out, in] is a
 * column-major in x out matrix, multiplied transposed), the batched gemv forms, dot,
 * DotEx, and geam (an add, then a transpose). The expected counts are derived by
 * hand in tests/run_legacy.py.
 *
 *   fc1   gemv T  512x1000 (W1) * x[512]       -> h[1000]
 *   fc2   gemv N  10x1000  (W2) * h            -> out[10]
 *   gemvStridedBatched, 4 products of 8x16: one shared weight (stride 0), then
 *   4 distinct matrices; gemvBatched, 2 products of 8x16 (pointer arrays)
 *   Sdot n = 1000; DotEx (f32) n = 500
 *   geam 100x200: C = A + B; then T = A^T (beta 0, a transpose)
 *   gemv N 100x200 on geam's output C (an activation, not a weight)
 *   a gemv with lda < m, which cuBLAS rejects
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess) return;
    fprintf(stderr, "blas_vec: line %d: %s failed: %s\n", line, what, cudaGetErrorString(err));
    exit(1);
}

static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS) return;
    fprintf(stderr, "blas_vec: line %d: %s failed: %d\n", line, what, (int)st);
    exit(1);
}

static float *device_floats(size_t n)
{
    float *p;
    CHECK_CUDA(cudaMalloc((void **)&p, n * sizeof *p));
    CHECK_CUDA(cudaMemset(p, 0, n * sizeof *p));
    return p;
}

static const float ONE = 1.0f, ZERO = 0.0f;

static void perceptron(cublasHandle_t h)
{
    float *w1 = device_floats(512 * 1000), *w2 = device_floats(10 * 1000);
    float *x = device_floats(512), *hidden = device_floats(1000), *out = device_floats(10);
    CHECK_CUBLAS(cublasSgemv(h, CUBLAS_OP_T, 512, 1000, &ONE, w1, 512, x, 1, &ZERO, hidden, 1));
    CHECK_CUBLAS(cublasSgemv(h, CUBLAS_OP_N, 10, 1000, &ONE, w2, 10, hidden, 1, &ZERO, out, 1));
}

static void batched(cublasHandle_t h)
{
    float *shared = device_floats(8 * 16), *distinct = device_floats(4 * 8 * 16);
    float *x = device_floats(4 * 16), *y = device_floats(4 * 8);
    CHECK_CUBLAS(cublasSgemvStridedBatched(h, CUBLAS_OP_N, 8, 16, &ONE, shared, 8, 0, x, 1, 16,
                                           &ZERO, y, 1, 8, 4));
    CHECK_CUBLAS(cublasSgemvStridedBatched(h, CUBLAS_OP_N, 8, 16, &ONE, distinct, 8, 8 * 16, x, 1,
                                           16, &ZERO, y, 1, 8, 4));
    const float *a_host[2] = {distinct, distinct + 128}, *x_host[2] = {x, x + 16};
    float *y_host[2] = {y, y + 8};
    const float **a_dev, **x_dev;
    float **y_dev;
    CHECK_CUDA(cudaMalloc((void **)&a_dev, sizeof a_host));
    CHECK_CUDA(cudaMalloc((void **)&x_dev, sizeof x_host));
    CHECK_CUDA(cudaMalloc((void **)&y_dev, sizeof y_host));
    CHECK_CUDA(cudaMemcpy(a_dev, a_host, sizeof a_host, cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(x_dev, x_host, sizeof x_host, cudaMemcpyHostToDevice));
    CHECK_CUDA(cudaMemcpy(y_dev, y_host, sizeof y_host, cudaMemcpyHostToDevice));
    CHECK_CUBLAS(cublasSgemvBatched(h, CUBLAS_OP_N, 8, 16, &ONE, (const float *const *)a_dev, 8,
                                    (const float *const *)x_dev, 1, &ZERO, y_dev, 1, 2));
}

static void dots(cublasHandle_t h)
{
    float *a = device_floats(1000), *b = device_floats(1000), result;
    CHECK_CUBLAS(cublasSdot(h, 1000, a, 1, b, 1, &result));
    CHECK_CUBLAS(cublasDotEx(h, 500, a, CUDA_R_32F, 1, b, CUDA_R_32F, 1, &result, CUDA_R_32F,
                             CUDA_R_32F));
}

static void matrix_ops(cublasHandle_t h)
{
    float *a = device_floats(100 * 200), *b = device_floats(100 * 200);
    float *c = device_floats(100 * 200), *t = device_floats(200 * 100);
    float *v = device_floats(200), *y = device_floats(100);
    CHECK_CUBLAS(cublasSgeam(h, CUBLAS_OP_N, CUBLAS_OP_N, 100, 200, &ONE, a, 100, &ONE, b, 100, c,
                             100));
    CHECK_CUBLAS(cublasSgeam(h, CUBLAS_OP_T, CUBLAS_OP_N, 200, 100, &ONE, a, 100, &ZERO, b, 200, t,
                             200));
    CHECK_CUBLAS(cublasSgemv(h, CUBLAS_OP_N, 100, 200, &ONE, c, 100, v, 1, &ZERO, y, 1));
    cublasStatus_t st = cublasSgemv(h, CUBLAS_OP_N, 100, 200, &ONE, c, 50, v, 1, &ZERO, y, 1);
    if (st != CUBLAS_STATUS_INVALID_VALUE) {
        fprintf(stderr, "blas_vec: lda < m gave status %d, not INVALID_VALUE\n", (int)st);
        exit(1);
    }
}

int main(void)
{
    cublasHandle_t h;
    CHECK_CUBLAS(cublasCreate(&h));
    perceptron(h);
    batched(h);
    dots(h);
    matrix_ops(h);
    CHECK_CUDA(cudaDeviceSynchronize());
    CHECK_CUBLAS(cublasDestroy(h));
    printf("blas_vec done\n");
    return 0;
}
