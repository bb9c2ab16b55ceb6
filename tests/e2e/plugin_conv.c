/*
 * plugin_conv: a shared object that uses cuDNN the way a framework's extension module
 * does. dlopen_host dlopen()s it RTLD_LOCAL, so cuDNN comes in through the plugin's
 * own dependencies, in a local scope that nnspy's interposition must still reach.
 *
 *   int plugin_run(int iters)
 *
 * One 1x3x8x8 input, a 2x3x3x3 filter, no padding -> 1x2x6x6 output; the convolution
 * runs `iters` times, then one bias cudnnAddTensor. Returns 0, or -1 after saying why
 * on stderr (resources are not freed then: the host exits at once).
 *
 * Hand-derived MACs per convolution: N*K*OH*OW*C*R*S = 1*2*6*6*3*3*3 = 1944.
 * Parameters: 2*3*3*3 + 2 = 56.
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdio.h>

int plugin_run(int iters);

#define TRY_CUDA(call)                                                                     \
    do {                                                                                   \
        if (cuda_failed((call), #call))                                                    \
            return -1;                                                                     \
    } while (0)
#define TRY_CUDNN(call)                                                                    \
    do {                                                                                   \
        if (cudnn_failed((call), #call))                                                   \
            return -1;                                                                     \
    } while (0)

static int cuda_failed(cudaError_t err, const char *what)
{
    if (err == cudaSuccess)
        return 0;
    fprintf(stderr, "plugin_conv: %s failed: %s (%d)\n", what, cudaGetErrorString(err),
            (int)err);
    return 1;
}

static int cudnn_failed(cudnnStatus_t st, const char *what)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return 0;
    fprintf(stderr, "plugin_conv: %s failed: %s (%d)\n", what, cudnnGetErrorString(st),
            (int)st);
    return 1;
}

static const float ONE = 1.0f, ZERO = 0.0f;

struct conv {
    cudnnHandle_t cudnn;
    cudnnTensorDescriptor_t x_desc, y_desc, bias_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    float *x, *w, *b, *y;
};

static int tensor(cudnnTensorDescriptor_t *t, int n, int c, int h, int w)
{
    TRY_CUDNN(cudnnCreateTensorDescriptor(t));
    TRY_CUDNN(cudnnSetTensor4dDescriptor(*t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
    return 0;
}

/* A device buffer holding a simple, fixed ramp of n floats. */
static int upload_ramp(float **dev, int n, float scale)
{
    float host[64 * 3];
    for (int i = 0; i < n; i++)
        host[i] = (float)(i % 7 - 3) * scale;
    TRY_CUDA(cudaMalloc((void **)dev, (size_t)n * sizeof(float)));
    TRY_CUDA(cudaMemcpy(*dev, host, (size_t)n * sizeof(float), cudaMemcpyHostToDevice));
    return 0;
}

static int setup(struct conv *cv)
{
    TRY_CUDNN(cudnnCreate(&cv->cudnn));
    if (tensor(&cv->x_desc, 1, 3, 8, 8) || tensor(&cv->y_desc, 1, 2, 6, 6)
        || tensor(&cv->bias_desc, 1, 2, 1, 1))
        return -1;
    TRY_CUDNN(cudnnCreateFilterDescriptor(&cv->w_desc));
    TRY_CUDNN(cudnnSetFilter4dDescriptor(cv->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 2, 3,
                                         3, 3));
    TRY_CUDNN(cudnnCreateConvolutionDescriptor(&cv->conv_desc));
    TRY_CUDNN(cudnnSetConvolution2dDescriptor(cv->conv_desc, 0, 0, 1, 1, 1, 1,
                                              CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    if (upload_ramp(&cv->x, 3 * 8 * 8, 0.25f) || upload_ramp(&cv->w, 2 * 3 * 3 * 3, 0.125f)
        || upload_ramp(&cv->b, 2, 0.5f))
        return -1;
    TRY_CUDA(cudaMalloc((void **)&cv->y, 2 * 6 * 6 * sizeof(float)));
    return 0;
}

static int run(struct conv *cv, int iters)
{
    const cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    size_t ws_bytes;
    void *ws = NULL;
    TRY_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(cv->cudnn, cv->x_desc, cv->w_desc,
                                                      cv->conv_desc, cv->y_desc, algo,
                                                      &ws_bytes));
    if (ws_bytes)
        TRY_CUDA(cudaMalloc(&ws, ws_bytes));
    for (int i = 0; i < iters; i++)
        TRY_CUDNN(cudnnConvolutionForward(cv->cudnn, &ONE, cv->x_desc, cv->x, cv->w_desc,
                                          cv->w, cv->conv_desc, algo, ws, ws_bytes, &ZERO,
                                          cv->y_desc, cv->y));
    TRY_CUDNN(cudnnAddTensor(cv->cudnn, &ONE, cv->bias_desc, cv->b, &ONE, cv->y_desc, cv->y));
    TRY_CUDA(cudaDeviceSynchronize());
    TRY_CUDA(cudaFree(ws));
    return 0;
}

static int teardown(struct conv *cv)
{
    TRY_CUDNN(cudnnDestroyTensorDescriptor(cv->x_desc));
    TRY_CUDNN(cudnnDestroyTensorDescriptor(cv->y_desc));
    TRY_CUDNN(cudnnDestroyTensorDescriptor(cv->bias_desc));
    TRY_CUDNN(cudnnDestroyFilterDescriptor(cv->w_desc));
    TRY_CUDNN(cudnnDestroyConvolutionDescriptor(cv->conv_desc));
    TRY_CUDA(cudaFree(cv->x));
    TRY_CUDA(cudaFree(cv->w));
    TRY_CUDA(cudaFree(cv->b));
    TRY_CUDA(cudaFree(cv->y));
    TRY_CUDNN(cudnnDestroy(cv->cudnn));
    return 0;
}

int plugin_run(int iters)
{
    struct conv cv = {0};
    if (setup(&cv) || run(&cv, iters) || teardown(&cv))
        return -1;
    return 0;
}
