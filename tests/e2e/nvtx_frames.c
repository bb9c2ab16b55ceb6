/*
 * nvtx_frames: a program that marks its steps with NVTX ranges (nvtx3, header
 * only), for NNSPY_FRAME=nvtx:step.
 *
 * Each GEMM is 8x4x16: 512 MACs.
 *   - 4 iterations of nvtxRangePushA("step") { GEMM; nvtxRangePushA("inner")
 *     { GEMM } nvtxRangePop } nvtxRangePop, with one GEMM outside any range
 *     between two iterations;
 *   - one more step as nvtxRangeStartA("step") { GEMM; GEMM } nvtxRangeEnd.
 * So 5 frames of 2 GEMMs (1,024 MACs); the GEMMs between them belong to none.
 * The return values of push and pop (the nesting levels) are checked when a tool
 * tracks them; without a tool NVTX returns NVTX_NO_PUSH_POP_TRACKING (-2), and
 * the program runs the same. The last line on stdout says which: "levels
 * tracked" or "no NVTX tool".
 */
#include <stdio.h>
#include <stdlib.h>

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nvtx3/nvToolsExt.h>

#define CHECK(x)                                                                                   \
    do {                                                                                           \
        if ((x) != 0) {                                                                            \
            fprintf(stderr, "nvtx_frames: %s failed\n", #x);                                       \
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

static cublasHandle_t h;
static int tracked; /* a tool returned real levels */
static float *a, *b, *c;

/* C (8 x 4) = A (8 x 16) B (16 x 4): 512 MACs. */
static void gemm(void)
{
    CHECK(cublasSgemm_v2(h, CUBLAS_OP_N, CUBLAS_OP_N, 8, 4, 16, &one, a, 8, b, 16, &zero, c, 8));
}

/* A level as NVTX returns it: expected when tracked, NVTX_NO_PUSH_POP_TRACKING
 * when no tool is attached. */
static void check_level(const char *what, int got, int want)
{
    if (got != NVTX_NO_PUSH_POP_TRACKING) tracked = 1;
    if (got != want && got != NVTX_NO_PUSH_POP_TRACKING) {
        fprintf(stderr, "nvtx_frames: %s returned %d, not %d\n", what, got, want);
        exit(1);
    }
}

int main(void)
{
    CHECK(cublasCreate(&h));
    a = device_floats(8 * 16);
    b = device_floats(16 * 4);
    c = device_floats(8 * 4);

    gemm(); /* before any range */
    for (int i = 0; i < 4; i++) {
        check_level("push step", nvtxRangePushA("step"), 0);
        gemm();
        check_level("push inner", nvtxRangePushA("inner"), 1);
        gemm();
        check_level("pop inner", nvtxRangePop(), 1);
        check_level("pop step", nvtxRangePop(), 0);
        gemm(); /* between iterations: outside any range */
    }
    nvtxRangeId_t id = nvtxRangeStartA("step");
    gemm();
    gemm();
    nvtxRangeEnd(id);
    gemm(); /* after the last frame */

    CHECK(cudaDeviceSynchronize());
    cudaFree(a);
    cudaFree(b);
    cudaFree(c);
    cublasDestroy(h);
    printf("nvtx_frames: done, %s\n", tracked ? "levels tracked" : "no NVTX tool");
    return 0;
}
