/*
 * nested: cublasGemmEx (float, m = n = k = 4) ITERS times. cuBLAS may carry a GEMM
 * out through cuBLASLt (the simulated libcublas always does: its cublasGemmEx calls
 * cublasLtMatmul), so nnspy sees a call inside a call and must count only the
 * outermost one: 4*4*4 = 64 MACs per iteration, ITERS calls, nothing more.
 *
 *   nested ITERS
 *
 * Prints the 16 result floats in %a (so runs can be compared byte for byte).
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "nested: line %d: %s failed: %s (%d)\n", line, what,
            cudaGetErrorString(err), (int)err);
    exit(1);
}

static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "nested: line %d: %s failed: %s (%d)\n", line, what,
            cublasGetStatusString(st), (int)st);
    exit(1);
}

enum { DIM = 4, ELEMS = DIM * DIM };

static float *upload(const float *host)
{
    float *dev;
    CHECK_CUDA(cudaMalloc((void **)&dev, ELEMS * sizeof *dev));
    CHECK_CUDA(cudaMemcpy(dev, host, ELEMS * sizeof *dev, cudaMemcpyHostToDevice));
    return dev;
}

int main(int argc, char **argv)
{
    char *end;
    long iters = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    if (argc != 2 || end == argv[1] || *end != '\0' || iters < 0 || iters > INT_MAX) {
        fprintf(stderr, "usage: nested ITERS\n");
        return 2;
    }
    float ha[ELEMS], hb[ELEMS], hc[ELEMS] = {0};
    for (int i = 0; i < ELEMS; i++) {
        ha[i] = (float)(i % 5) - 2.0f;
        hb[i] = 0.5f * (float)(i % 3);
    }
    const float one = 1.0f, zero = 0.0f;
    float *a = upload(ha), *b = upload(hb), *c = upload(hc);
    cublasHandle_t h;
    CHECK_CUBLAS(cublasCreate(&h));
    for (long i = 0; i < iters; i++)
        CHECK_CUBLAS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, DIM, DIM, DIM, &one, a,
                                  CUDA_R_32F, DIM, b, CUDA_R_32F, DIM, &zero, c, CUDA_R_32F,
                                  DIM, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    CHECK_CUDA(cudaDeviceSynchronize());
    CHECK_CUDA(cudaMemcpy(hc, c, sizeof hc, cudaMemcpyDeviceToHost));
    for (int i = 0; i < ELEMS; i++)
        printf("%a\n", (double)hc[i]);
    CHECK_CUBLAS(cublasDestroy(h));
    CHECK_CUDA(cudaFree(a));
    CHECK_CUDA(cudaFree(b));
    CHECK_CUDA(cudaFree(c));
    return 0;
}
