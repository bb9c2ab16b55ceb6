/*
 * legacy_ops: one call of each remaining legacy cuDNN operation on x = 2x16x8x8
 * float (2,048 elements), as a training framework makes them:
 *
 *   softmax forward (accurate, per channel) and backward; LRN across channels
 *   (n = 5); dropout forward and backward; scale; transform NCHW -> NHWC; ReLU
 *   backward; 2x2 max-pool backward (y 2x16x4x4); batch-norm backward (spatial,
 *   16 channels); op-tensor multiply by a 1x16x1x1 tensor
 *
 * The expected counts are derived by hand in tests/run_legacy.py.
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess) return;
    fprintf(stderr, "legacy_ops: line %d: %s failed: %s\n", line, what, cudaGetErrorString(err));
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS) return;
    fprintf(stderr, "legacy_ops: line %d: %s failed: %s\n", line, what, cudnnGetErrorString(st));
    exit(1);
}

static const float ONE = 1.0f, ZERO = 0.0f;

static void *device_bytes(size_t n)
{
    void *p;
    CHECK_CUDA(cudaMalloc(&p, n));
    CHECK_CUDA(cudaMemset(p, 0, n));
    return p;
}

static cudnnTensorDescriptor_t tensor(cudnnTensorFormat_t f, int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(t, f, CUDNN_DATA_FLOAT, n, c, h, w));
    return t;
}

static void dropout(cudnnHandle_t h, cudnnTensorDescriptor_t x_desc, void *x, void *y)
{
    cudnnDropoutDescriptor_t d;
    size_t state_bytes, reserve_bytes;
    CHECK_CUDNN(cudnnCreateDropoutDescriptor(&d));
    CHECK_CUDNN(cudnnDropoutGetStatesSize(h, &state_bytes));
    CHECK_CUDNN(cudnnSetDropoutDescriptor(d, h, 0.1f, device_bytes(state_bytes), state_bytes, 7));
    CHECK_CUDNN(cudnnDropoutGetReserveSpaceSize(x_desc, &reserve_bytes));
    void *reserve = device_bytes(reserve_bytes);
    CHECK_CUDNN(cudnnDropoutForward(h, d, x_desc, x, x_desc, y, reserve, reserve_bytes));
    CHECK_CUDNN(cudnnDropoutBackward(h, d, x_desc, y, x_desc, x, reserve, reserve_bytes));
    CHECK_CUDNN(cudnnDestroyDropoutDescriptor(d));
}

static void pool_backward(cudnnHandle_t h, cudnnTensorDescriptor_t x_desc, void *x, void *dx)
{
    cudnnPoolingDescriptor_t p;
    CHECK_CUDNN(cudnnCreatePoolingDescriptor(&p));
    CHECK_CUDNN(cudnnSetPooling2dDescriptor(p, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, 2, 2, 0,
                                            0, 2, 2));
    cudnnTensorDescriptor_t y_desc = tensor(CUDNN_TENSOR_NCHW, 2, 16, 4, 4);
    void *y = device_bytes(512 * sizeof(float)), *dy = device_bytes(512 * sizeof(float));
    CHECK_CUDNN(cudnnPoolingBackward(h, p, &ONE, y_desc, y, y_desc, dy, x_desc, x, &ZERO, x_desc,
                                     dx));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(y_desc));
    CHECK_CUDNN(cudnnDestroyPoolingDescriptor(p));
}

static void batch_norm_backward(cudnnHandle_t h, cudnnTensorDescriptor_t x_desc, void *x,
                                void *dy, void *dx)
{
    cudnnTensorDescriptor_t bn;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&bn));
    CHECK_CUDNN(cudnnDeriveBNTensorDescriptor(bn, x_desc, CUDNN_BATCHNORM_SPATIAL));
    size_t c = 16 * sizeof(float);
    CHECK_CUDNN(cudnnBatchNormalizationBackward(
        h, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, &ONE, &ZERO, x_desc, x, x_desc, dy, x_desc, dx, bn,
        device_bytes(c), device_bytes(c), device_bytes(c), 1e-5, device_bytes(c),
        device_bytes(c)));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(bn));
}

int main(void)
{
    cudnnHandle_t h;
    CHECK_CUDNN(cudnnCreate(&h));
    cudnnTensorDescriptor_t x_desc = tensor(CUDNN_TENSOR_NCHW, 2, 16, 8, 8);
    cudnnTensorDescriptor_t nhwc = tensor(CUDNN_TENSOR_NHWC, 2, 16, 8, 8);
    size_t bytes = 2048 * sizeof(float);
    void *x = device_bytes(bytes), *y = device_bytes(bytes), *dy = device_bytes(bytes);
    void *dx = device_bytes(bytes);

    CHECK_CUDNN(cudnnSoftmaxForward(h, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &ONE,
                                    x_desc, x, &ZERO, x_desc, y));
    CHECK_CUDNN(cudnnSoftmaxBackward(h, CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_CHANNEL, &ONE,
                                     x_desc, y, x_desc, dy, &ZERO, x_desc, dx));
    cudnnLRNDescriptor_t lrn;
    CHECK_CUDNN(cudnnCreateLRNDescriptor(&lrn));
    CHECK_CUDNN(cudnnSetLRNDescriptor(lrn, 5, 1e-4, 0.75, 2.0));
    CHECK_CUDNN(cudnnLRNCrossChannelForward(h, lrn, CUDNN_LRN_CROSS_CHANNEL_DIM1, &ONE, x_desc, x,
                                            &ZERO, x_desc, y));
    dropout(h, x_desc, x, y);
    const float half = 0.5f;
    CHECK_CUDNN(cudnnScaleTensor(h, x_desc, y, &half));
    CHECK_CUDNN(cudnnTransformTensor(h, &ONE, x_desc, x, &ZERO, nhwc, y));
    cudnnActivationDescriptor_t relu;
    CHECK_CUDNN(cudnnCreateActivationDescriptor(&relu));
    CHECK_CUDNN(
        cudnnSetActivationDescriptor(relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    CHECK_CUDNN(cudnnActivationBackward(h, relu, &ONE, x_desc, y, x_desc, dy, x_desc, x, &ZERO,
                                        x_desc, dx));
    pool_backward(h, x_desc, x, dx);
    batch_norm_backward(h, x_desc, x, dy, dx);
    cudnnOpTensorDescriptor_t mul;
    CHECK_CUDNN(cudnnCreateOpTensorDescriptor(&mul));
    CHECK_CUDNN(cudnnSetOpTensorDescriptor(mul, CUDNN_OP_TENSOR_MUL, CUDNN_DATA_FLOAT,
                                           CUDNN_NOT_PROPAGATE_NAN));
    cudnnTensorDescriptor_t per_channel = tensor(CUDNN_TENSOR_NCHW, 1, 16, 1, 1);
    CHECK_CUDNN(cudnnOpTensor(h, mul, &ONE, x_desc, x, &ONE, per_channel,
                              device_bytes(16 * sizeof(float)), &ZERO, x_desc, y));
    CHECK_CUDA(cudaDeviceSynchronize());
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(per_channel));
    CHECK_CUDNN(cudnnDestroyOpTensorDescriptor(mul));
    CHECK_CUDNN(cudnnDestroyActivationDescriptor(relu));
    CHECK_CUDNN(cudnnDestroyLRNDescriptor(lrn));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(nhwc));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(x_desc));
    CHECK_CUDNN(cudnnDestroy(h));
    printf("legacy_ops done\n");
    return 0;
}
