/*
 * cudnn_find.c: cuDNN's algorithm searches (cudnnFind*Algorithm and their Ex
 * forms), which PyTorch's legacy path and TensorFlow call to autotune a
 * convolution: the library runs the convolution once with each algorithm it
 * reports a time for. That is autotuning, not model work: the call is recorded as
 * an explicit search (nn_op.autotune), counted in the totals, shown apart, and in
 * no frame. Its cost is the convolution's times the algorithms run.
 */
#define _GNU_SOURCE
#include <errno.h>

#include <cudnn.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cudnn_shared.h"
#include "timing.h"

/* Algorithms the search ran: those it reports with a success status. */
#define ALGORITHMS_RUN(perf, returned)                                                             \
    ({                                                                                             \
        uint64_t runs_ = 0;                                                                        \
        for (int i_ = 0; (perf) && (returned) && i_ < *(returned); i_++)                           \
            runs_ += (perf)[i_].status == CUDNN_STATUS_SUCCESS;                                    \
        runs_;                                                                                     \
    })

/* The search's cost: the convolution's, once per algorithm it ran (forward terms:
 * x is dx, y is dy, as for nn_conv_shape); it is autotuning. */
static bool search_cost(nn_op *op, const nn_copy *copy, nn_conv_direction dir,
                        cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w,
                        cudnnTensorDescriptor_t y, uint64_t runs)
{
    op->autotune = true;
    if (!nn_cudnn_conv_cost(copy, dir, x, w, y, op)) return false;
    op->cost = nn_cost_times(&op->cost, runs);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionForwardAlgorithm,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc,
         const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionFwdAlgoPerf_t *perfResults),
        (handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, returnedAlgoCount, perfResults))
{
    NN_CUDNN_BEGIN(cudnnFindConvolutionForwardAlgorithm);
    cudnnStatus_t st = real(handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount,
                            returnedAlgoCount, perfResults);
    NN_CUDNN_END(cudnnFindConvolutionForwardAlgorithm, "conv_fwd_search",
                 search_cost(op, copy, NN_CONV_FORWARD, xDesc, wDesc, yDesc,
                             ALGORITHMS_RUN(perfResults, returnedAlgoCount)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionForwardAlgorithmEx,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x,
         const cudnnFilterDescriptor_t wDesc, const void *w,
         const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t yDesc, void *y,
         const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionFwdAlgoPerf_t *perfResults, void *workSpace, size_t workSpaceSizeInBytes),
        (handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount, returnedAlgoCount,
         perfResults, workSpace, workSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnFindConvolutionForwardAlgorithmEx);
    cudnnStatus_t st = real(handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount,
                            returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
    NN_CUDNN_END(cudnnFindConvolutionForwardAlgorithmEx, "conv_fwd_search",
                 search_cost(op, copy, NN_CONV_FORWARD, xDesc, wDesc, yDesc,
                             ALGORITHMS_RUN(perfResults, returnedAlgoCount)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionBackwardDataAlgorithm,
        (cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
         const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionBwdDataAlgoPerf_t *perfResults),
        (handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount, returnedAlgoCount,
         perfResults))
{
    NN_CUDNN_BEGIN(cudnnFindConvolutionBackwardDataAlgorithm);
    cudnnStatus_t st = real(handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount,
                            returnedAlgoCount, perfResults);
    NN_CUDNN_END(cudnnFindConvolutionBackwardDataAlgorithm, "conv_bwd_data_search",
                 search_cost(op, copy, NN_CONV_BACKWARD_DATA, dxDesc, wDesc, dyDesc,
                             ALGORITHMS_RUN(perfResults, returnedAlgoCount)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionBackwardDataAlgorithmEx,
        (cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc, const void *w,
         const cudnnTensorDescriptor_t dyDesc, const void *dy,
         const cudnnConvolutionDescriptor_t convDesc, const cudnnTensorDescriptor_t dxDesc,
         void *dx, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionBwdDataAlgoPerf_t *perfResults, void *workSpace,
         size_t workSpaceSizeInBytes),
        (handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requestedAlgoCount, returnedAlgoCount,
         perfResults, workSpace, workSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnFindConvolutionBackwardDataAlgorithmEx);
    cudnnStatus_t st = real(handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requestedAlgoCount,
                            returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
    NN_CUDNN_END(cudnnFindConvolutionBackwardDataAlgorithmEx, "conv_bwd_data_search",
                 search_cost(op, copy, NN_CONV_BACKWARD_DATA, dxDesc, wDesc, dyDesc,
                             ALGORITHMS_RUN(perfResults, returnedAlgoCount)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionBackwardFilterAlgorithm,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionBwdFilterAlgoPerf_t *perfResults),
        (handle, xDesc, dyDesc, convDesc, dwDesc, requestedAlgoCount, returnedAlgoCount,
         perfResults))
{
    NN_CUDNN_BEGIN(cudnnFindConvolutionBackwardFilterAlgorithm);
    cudnnStatus_t st = real(handle, xDesc, dyDesc, convDesc, dwDesc, requestedAlgoCount,
                            returnedAlgoCount, perfResults);
    NN_CUDNN_END(cudnnFindConvolutionBackwardFilterAlgorithm, "conv_bwd_filter_search",
                 search_cost(op, copy, NN_CONV_BACKWARD_FILTER, xDesc, dwDesc, dyDesc,
                             ALGORITHMS_RUN(perfResults, returnedAlgoCount)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionBackwardFilterAlgorithmEx,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc, const void *x,
         const cudnnTensorDescriptor_t dyDesc, const void *y,
         const cudnnConvolutionDescriptor_t convDesc, const cudnnFilterDescriptor_t dwDesc,
         void *dw, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionBwdFilterAlgoPerf_t *perfResults, void *workSpace,
         size_t workSpaceSizeInBytes),
        (handle, xDesc, x, dyDesc, y, convDesc, dwDesc, dw, requestedAlgoCount, returnedAlgoCount,
         perfResults, workSpace, workSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnFindConvolutionBackwardFilterAlgorithmEx);
    cudnnStatus_t st = real(handle, xDesc, x, dyDesc, y, convDesc, dwDesc, dw, requestedAlgoCount,
                            returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes);
    NN_CUDNN_END(cudnnFindConvolutionBackwardFilterAlgorithmEx, "conv_bwd_filter_search",
                 search_cost(op, copy, NN_CONV_BACKWARD_FILTER, xDesc, dwDesc, dyDesc,
                             ALGORITHMS_RUN(perfResults, returnedAlgoCount)));
}
