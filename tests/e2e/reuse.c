/*
 * reuse: device memory freed and handed out again for something else.
 *  1. conv A (filter FA, 1x3x8x8 -> 1x2x6x6, 1,944 MACs) writes its output into Y;
 *     Y and FA are freed.
 *  2. The same sizes are allocated again until the allocator hands back the same
 *     addresses (up to 1,000 tries each; the program says "reused" or "not reused").
 *  3. conv B uses the new filter FB (at FA's old address) and adds a bias BB that
 *     sits where Y was: BB is a weight now, not the activation Y once was.
 * Expected parameters: FA 54 (retired, still counted) + FB 54 + BB 72 = 180.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cuda_runtime.h>
#include <cudnn.h>

#define CHECK(x)                                                                   \
    do {                                                                           \
        if ((x) != 0) {                                                            \
            fprintf(stderr, "reuse: %s failed\n", #x);                            \
            exit(1);                                                               \
        }                                                                          \
    } while (0)

static cudnnTensorDescriptor_t tensor(int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t d;
    CHECK(cudnnCreateTensorDescriptor(&d));
    CHECK(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
    return d;
}

/* Allocates `size` bytes until the allocator returns `old`; the blocks it handed
 * out instead are held meanwhile (so that it moves on), then freed. */
static void *again(const void *old, size_t size)
{
    void *p = NULL, *held[1000];
    int n = 0;
    for (; n < 1000; n++) {
        CHECK(cudaMalloc(&p, size));
        if (p == old) break;
        held[n] = p;
    }
    for (int i = 0; i < n && i < 1000; i++) CHECK(cudaFree(held[i]));
    return p;
}

int main(void)
{
    cudnnHandle_t h;
    cudnnFilterDescriptor_t fd;
    cudnnConvolutionDescriptor_t cd;
    float one = 1.0f, zero = 0.0f;
    CHECK(cudnnCreate(&h));
    CHECK(cudnnCreateFilterDescriptor(&fd));
    CHECK(cudnnSetFilter4dDescriptor(fd, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 2, 3, 3, 3));
    CHECK(cudnnCreateConvolutionDescriptor(&cd));
    CHECK(cudnnSetConvolution2dDescriptor(cd, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT));
    cudnnTensorDescriptor_t xd = tensor(1, 3, 8, 8), yd = tensor(1, 2, 6, 6);
    void *x, *fa, *y;
    CHECK(cudaMalloc(&x, 3 * 64 * 4));
    CHECK(cudaMalloc(&fa, 54 * 4));
    CHECK(cudaMalloc(&y, 72 * 4));
    CHECK(cudnnConvolutionForward(h, &one, xd, x, fd, fa, cd,
                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yd, y));
    CHECK(cudaFree(y));
    CHECK(cudaFree(fa));
    void *fb = again(fa, 54 * 4), *bb = again(y, 72 * 4), *out;
    CHECK(cudaMalloc(&out, 72 * 4));
    printf("%s\n", fb == fa && bb == y ? "reused" : "not reused");
    cudnnTensorDescriptor_t bd = tensor(1, 2, 6, 6);
    CHECK(cudnnConvolutionForward(h, &one, xd, x, fd, fb, cd,
                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yd,
                                  out));
    CHECK(cudnnAddTensor(h, &one, bd, bb, &one, yd, out));
    /* everything freed: the sanitizer builds check for leaks */
    CHECK(cudaFree(x));
    CHECK(cudaFree(fb));
    CHECK(cudaFree(bb));
    CHECK(cudaFree(out));
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(yd);
    cudnnDestroyTensorDescriptor(bd);
    cudnnDestroyFilterDescriptor(fd);
    cudnnDestroyConvolutionDescriptor(cd);
    cudnnDestroy(h);
    return 0;
}
