/*
 * driver_graph.c: a CUDA graph captured and launched through the driver API, as
 * XLA does: one convolution (cuDNN legacy API) and one GEMM (cuBLAS) captured with
 * cuStreamBeginCapture, instantiated with cuGraphInstantiateWithFlags and launched
 * 4 times with cuGraphLaunch. Then as XLA's command buffers do: the same calls
 * captured into a graph made beforehand (cuStreamBeginCaptureToGraph), that graph
 * added to a parent as a child node, the parent launched twice. tests/run_graph.py
 * checks the counts.
 *
 * Convolution 1x4x8x8 * 6x4x3x3 (no padding) -> 1x6x6x6: 6 x 36 x 4 x 9 = 7,776 MACs.
 * GEMM 32 x 16 x 8: 4,096 MACs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cublas_v2.h>
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#define CHECK(ok, what)                                                                            \
    do {                                                                                           \
        if (!(ok)) {                                                                               \
            fprintf(stderr, "driver_graph: %s failed (line %d)\n", what, __LINE__);                \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

static void *device(size_t floats)
{
    void *p = NULL;
    CHECK(cudaMalloc(&p, floats * sizeof(float)) == cudaSuccess, "cudaMalloc");
    return p;
}

static void conv(cudnnHandle_t h, void *x, void *w, void *y)
{
    cudnnTensorDescriptor_t xt, yt;
    cudnnFilterDescriptor_t wt;
    cudnnConvolutionDescriptor_t cd;
    float one = 1, zero = 0;
    CHECK(cudnnCreateTensorDescriptor(&xt) == 0 && cudnnCreateTensorDescriptor(&yt) == 0 &&
              cudnnCreateFilterDescriptor(&wt) == 0 && cudnnCreateConvolutionDescriptor(&cd) == 0,
          "descriptors");
    CHECK(
        cudnnSetTensor4dDescriptor(xt, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 4, 8, 8) == 0 &&
            cudnnSetTensor4dDescriptor(yt, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 6, 6, 6) == 0 &&
            cudnnSetFilter4dDescriptor(wt, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 6, 4, 3, 3) == 0 &&
            cudnnSetConvolution2dDescriptor(cd, 0, 0, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                            CUDNN_DATA_FLOAT) == 0,
        "shapes");
    CHECK(cudnnConvolutionForward(h, &one, xt, x, wt, w, cd,
                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yt,
                                  y) == CUDNN_STATUS_SUCCESS,
          "cudnnConvolutionForward");
    cudnnDestroyTensorDescriptor(xt);
    cudnnDestroyTensorDescriptor(yt);
    cudnnDestroyFilterDescriptor(wt);
    cudnnDestroyConvolutionDescriptor(cd);
}

int main(void)
{
    cudaStream_t stream;
    cudnnHandle_t dnn;
    cublasHandle_t blas;
    CHECK(cudaStreamCreate(&stream) == cudaSuccess, "cudaStreamCreate");
    CHECK(cudnnCreate(&dnn) == 0 && cudnnSetStream(dnn, stream) == 0, "cudnn");
    CHECK(cublasCreate(&blas) == 0 && cublasSetStream(blas, stream) == 0, "cublas");
    void *x = device(256), *w = device(216), *y = device(216);
    float *a = device(32 * 8), *b = device(8 * 16), *c = device(32 * 16);
    float one = 1, zero = 0;

    CUgraph graph;
    CUgraphExec exec;
    CHECK(cuStreamBeginCapture((CUstream)stream, CU_STREAM_CAPTURE_MODE_GLOBAL) == CUDA_SUCCESS,
          "cuStreamBeginCapture");
    conv(dnn, x, w, y);
    CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, 32, 16, 8, &one, a, 32, b, 8, &zero, c, 32) ==
              CUBLAS_STATUS_SUCCESS,
          "cublasSgemm");
    CHECK(cuStreamEndCapture((CUstream)stream, &graph) == CUDA_SUCCESS, "cuStreamEndCapture");
    CHECK(cuGraphInstantiate(&exec, graph, 0) == CUDA_SUCCESS, "cuGraphInstantiate");
    for (int i = 0; i < 4; i++)
        CHECK(cuGraphLaunch(exec, (CUstream)stream) == CUDA_SUCCESS, "cuGraphLaunch");
    CHECK(cuStreamSynchronize((CUstream)stream) == CUDA_SUCCESS, "cuStreamSynchronize");
    CHECK(cuGraphExecDestroy(exec) == CUDA_SUCCESS && cuGraphDestroy(graph) == CUDA_SUCCESS,
          "destroy");

    CUgraph child, parent, captured;
    CUgraphNode node;
    CHECK(cuGraphCreate(&child, 0) == CUDA_SUCCESS && cuGraphCreate(&parent, 0) == CUDA_SUCCESS,
          "cuGraphCreate");
    CHECK(cuStreamBeginCaptureToGraph((CUstream)stream, child, NULL, NULL, 0,
                                      CU_STREAM_CAPTURE_MODE_THREAD_LOCAL) == CUDA_SUCCESS,
          "cuStreamBeginCaptureToGraph");
    conv(dnn, x, w, y);
    CHECK(cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, 32, 16, 8, &one, a, 32, b, 8, &zero, c, 32) ==
              CUBLAS_STATUS_SUCCESS,
          "cublasSgemm");
    CHECK(cuStreamEndCapture((CUstream)stream, &captured) == CUDA_SUCCESS && captured == child,
          "cuStreamEndCapture into the graph");
    CHECK(cuGraphAddChildGraphNode(&node, parent, NULL, 0, child) == CUDA_SUCCESS,
          "cuGraphAddChildGraphNode");
    CHECK(cuGraphInstantiate(&exec, parent, 0) == CUDA_SUCCESS, "cuGraphInstantiate");
    for (int i = 0; i < 2; i++)
        CHECK(cuGraphLaunch(exec, (CUstream)stream) == CUDA_SUCCESS, "cuGraphLaunch");
    CHECK(cuStreamSynchronize((CUstream)stream) == CUDA_SUCCESS, "cuStreamSynchronize");
    CHECK(cuGraphExecDestroy(exec) == CUDA_SUCCESS && cuGraphDestroy(parent) == CUDA_SUCCESS &&
              cuGraphDestroy(child) == CUDA_SUCCESS,
          "destroy");
    void *buffers[] = {x, w, y, a, b, c};
    for (int i = 0; i < 6; i++) CHECK(cudaFree(buffers[i]) == cudaSuccess, "cudaFree");
    CHECK(cublasDestroy(blas) == 0 && cudnnDestroy(dnn) == 0, "handles");
    CHECK(cudaStreamDestroy(stream) == cudaSuccess, "cudaStreamDestroy");
    printf("driver_graph: done\n");
    return 0;
}
