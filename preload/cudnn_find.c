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
#include "cudnn_read.h"
#include "timing.h"

/* Algorithms the search ran: those it reports with a success status. */
#define ALGORITHMS_RUN(perf, returned)                                                             \
    ({                                                                                             \
        uint64_t runs_ = 0;                                                                        \
        for (int i_ = 0; (perf) && (returned) && i_ < *(returned); i_++)                           \
            runs_ += (perf)[i_].status == CUDNN_STATUS_SUCCESS;                                    \
        runs_;                                                                                     \
    })

typedef struct search {
    const nn_copy *copy;
    const char *call, *op;
    nn_conv_direction dir;
    cudnnTensorDescriptor_t x; /* forward terms: dx for backward data */
    cudnnFilterDescriptor_t w;
    cudnnTensorDescriptor_t y; /* dy for the backward directions */
} search;

static void record_search(const search *s, cudnnStatus_t st, uint64_t runs, nn_timing_mark *tm,
                          void *stream)
{
    int saved = errno;
    nn_op op = {.api = NN_API_CUDNN,
                .call = s->call,
                .op = s->op,
                .autotune = true,
                .succeeded = st == CUDNN_STATUS_SUCCESS};
    if (op.succeeded && nn_cudnn_conv_cost(s->copy, s->dir, s->x, s->w, s->y, &op)) {
        op.cost_known = true;
        op.cost = nn_cost_times(&op.cost, runs);
    }
    nn_timing_finish(tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
    errno = saved;
}

/* Runs `call` (the real search) between the timing marks and records it. */
#define SEARCH(S, handle, call, perf, returned)                                                    \
    do {                                                                                           \
        bool outer_ = nn_enter();                                                                  \
        nn_timing_mark tm_ = {.ctx = -1};                                                          \
        void *stream_ = outer_ ? nn_cudnn_handle_stream((S).copy, handle) : NULL;                  \
        if (outer_) nn_timing_start(&tm_, stream_);                                                \
        cudnnStatus_t st_ = (call);                                                                \
        if (outer_) record_search(&(S), st_, ALGORITHMS_RUN(perf, returned), &tm_, stream_);       \
        nn_leave();                                                                                \
        return st_;                                                                                \
    } while (0)

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionForwardAlgorithm,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         const cudnnFilterDescriptor_t wDesc, const cudnnConvolutionDescriptor_t convDesc,
         const cudnnTensorDescriptor_t yDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionFwdAlgoPerf_t *perfResults),
        (handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, returnedAlgoCount, perfResults))
{
    NN_REAL_OR_RETURN(cudnnFindConvolutionForwardAlgorithm, CUDNN_STATUS_NOT_INITIALIZED);
    search s = {copy,
                "cudnnFindConvolutionForwardAlgorithm",
                "conv_fwd_search",
                NN_CONV_FORWARD,
                xDesc,
                wDesc,
                yDesc};
    SEARCH(s, handle,
           real(handle, xDesc, wDesc, convDesc, yDesc, requestedAlgoCount, returnedAlgoCount,
                perfResults),
           perfResults, returnedAlgoCount);
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
    NN_REAL_OR_RETURN(cudnnFindConvolutionForwardAlgorithmEx, CUDNN_STATUS_NOT_INITIALIZED);
    search s = {copy,
                "cudnnFindConvolutionForwardAlgorithmEx",
                "conv_fwd_search",
                NN_CONV_FORWARD,
                xDesc,
                wDesc,
                yDesc};
    SEARCH(s, handle,
           real(handle, xDesc, x, wDesc, w, convDesc, yDesc, y, requestedAlgoCount,
                returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes),
           perfResults, returnedAlgoCount);
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionBackwardDataAlgorithm,
        (cudnnHandle_t handle, const cudnnFilterDescriptor_t wDesc,
         const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         const cudnnTensorDescriptor_t dxDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionBwdDataAlgoPerf_t *perfResults),
        (handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount, returnedAlgoCount,
         perfResults))
{
    NN_REAL_OR_RETURN(cudnnFindConvolutionBackwardDataAlgorithm, CUDNN_STATUS_NOT_INITIALIZED);
    search s = {copy,
                "cudnnFindConvolutionBackwardDataAlgorithm",
                "conv_bwd_data_search",
                NN_CONV_BACKWARD_DATA,
                dxDesc,
                wDesc,
                dyDesc};
    SEARCH(s, handle,
           real(handle, wDesc, dyDesc, convDesc, dxDesc, requestedAlgoCount, returnedAlgoCount,
                perfResults),
           perfResults, returnedAlgoCount);
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
    NN_REAL_OR_RETURN(cudnnFindConvolutionBackwardDataAlgorithmEx, CUDNN_STATUS_NOT_INITIALIZED);
    search s = {copy,
                "cudnnFindConvolutionBackwardDataAlgorithmEx",
                "conv_bwd_data_search",
                NN_CONV_BACKWARD_DATA,
                dxDesc,
                wDesc,
                dyDesc};
    SEARCH(s, handle,
           real(handle, wDesc, w, dyDesc, dy, convDesc, dxDesc, dx, requestedAlgoCount,
                returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes),
           perfResults, returnedAlgoCount);
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnFindConvolutionBackwardFilterAlgorithm,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t xDesc,
         const cudnnTensorDescriptor_t dyDesc, const cudnnConvolutionDescriptor_t convDesc,
         const cudnnFilterDescriptor_t dwDesc, const int requestedAlgoCount, int *returnedAlgoCount,
         cudnnConvolutionBwdFilterAlgoPerf_t *perfResults),
        (handle, xDesc, dyDesc, convDesc, dwDesc, requestedAlgoCount, returnedAlgoCount,
         perfResults))
{
    NN_REAL_OR_RETURN(cudnnFindConvolutionBackwardFilterAlgorithm, CUDNN_STATUS_NOT_INITIALIZED);
    search s = {copy,
                "cudnnFindConvolutionBackwardFilterAlgorithm",
                "conv_bwd_filter_search",
                NN_CONV_BACKWARD_FILTER,
                xDesc,
                dwDesc,
                dyDesc};
    SEARCH(s, handle,
           real(handle, xDesc, dyDesc, convDesc, dwDesc, requestedAlgoCount, returnedAlgoCount,
                perfResults),
           perfResults, returnedAlgoCount);
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
    NN_REAL_OR_RETURN(cudnnFindConvolutionBackwardFilterAlgorithmEx, CUDNN_STATUS_NOT_INITIALIZED);
    search s = {copy,
                "cudnnFindConvolutionBackwardFilterAlgorithmEx",
                "conv_bwd_filter_search",
                NN_CONV_BACKWARD_FILTER,
                xDesc,
                dwDesc,
                dyDesc};
    SEARCH(s, handle,
           real(handle, xDesc, x, dyDesc, y, convDesc, dwDesc, dw, requestedAlgoCount,
                returnedAlgoCount, perfResults, workSpace, workSpaceSizeInBytes),
           perfResults, returnedAlgoCount);
}
