/*
 * bottleneck: one ResNet-50 bottleneck block (conv2_x) on 1x256x56x56, built the way
 * PyTorch's legacy cuDNN path calls it: convolutions without bias, each followed by
 * cudnnBatchNormalizationForwardInference with scale, shift, running mean and
 * running variance (spatial mode), ReLU through cudnnActivationForward, and the
 * residual added with cudnnOpTensor.
 *
 *   x 1x256x56x56
 *   conv1 1x1 256->64, BN(64), ReLU
 *   conv2 3x3 64->64 pad 1, BN(64), ReLU
 *   conv3 1x1 64->256, BN(256)
 *   + x, ReLU                                -> 1x256x56x56
 *
 * --train runs the training forward pass instead: cudnnBatchNormalizationForward-
 * Training for the first two, and cudnnBatchNormalizationForwardTrainingEx with the
 * residual and ReLU fused (BN_ADD_ACTIVATION) for the third.
 * --bad-call ends with one batch norm that cuDNN must reject: conv1's output with
 * conv3's 256-channel statistics.
 *
 * The expected counts are derived by hand in tests/run_legacy.py.
 */
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess) return;
    fprintf(stderr, "bottleneck: line %d: %s failed: %s\n", line, what, cudaGetErrorString(err));
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS) return;
    fprintf(stderr, "bottleneck: line %d: %s failed: %s\n", line, what, cudnnGetErrorString(st));
    exit(1);
}

enum { N = 1, C_IN = 256, C_MID = 64, HW = 56 };
static const float ONE = 1.0f, ZERO = 0.0f;
static const double EPSILON = 1e-5;

static void *device_zeros(size_t floats)
{
    void *p;
    CHECK_CUDA(cudaMalloc(&p, floats * sizeof(float)));
    CHECK_CUDA(cudaMemset(p, 0, floats * sizeof(float)));
    return p;
}

static cudnnTensorDescriptor_t tensor(int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, w));
    return t;
}

/* A convolution without bias and the batch norm after it: PyTorch's conv + bn. */
struct conv_bn {
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv;
    cudnnTensorDescriptor_t x, y, bn;
    void *w, *y_data, *scale, *shift, *running_mean, *running_var;
    void *save_mean, *save_inv_var;
};

static struct conv_bn conv_bn_make(int c_in, int c_out, int k)
{
    struct conv_bn l;
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&l.w_desc));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(l.w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, c_out,
                                           c_in, k, k));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&l.conv));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(l.conv, k / 2, k / 2, 1, 1, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    l.x = tensor(N, c_in, HW, HW);
    l.y = tensor(N, c_out, HW, HW);
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&l.bn));
    CHECK_CUDNN(cudnnDeriveBNTensorDescriptor(l.bn, l.y, CUDNN_BATCHNORM_SPATIAL));
    l.w = device_zeros((size_t)c_out * c_in * k * k);
    l.y_data = device_zeros((size_t)N * c_out * HW * HW);
    l.scale = device_zeros((size_t)c_out);
    l.shift = device_zeros((size_t)c_out);
    l.running_mean = device_zeros((size_t)c_out);
    l.running_var = device_zeros((size_t)c_out);
    l.save_mean = device_zeros((size_t)c_out);
    l.save_inv_var = device_zeros((size_t)c_out);
    return l;
}

static void conv_bn_free(struct conv_bn *l)
{
    CHECK_CUDNN(cudnnDestroyFilterDescriptor(l->w_desc));
    CHECK_CUDNN(cudnnDestroyConvolutionDescriptor(l->conv));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(l->x));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(l->y));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(l->bn));
    void *buffers[] = {l->w,     l->y_data,       l->scale,     l->shift,
                       l->running_mean, l->running_var, l->save_mean, l->save_inv_var};
    for (size_t i = 0; i < sizeof buffers / sizeof *buffers; i++) CHECK_CUDA(cudaFree(buffers[i]));
}

static void conv(cudnnHandle_t h, const struct conv_bn *l, const void *x)
{
    size_t ws_bytes = 0;
    void *ws = NULL;
    cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    CHECK_CUDNN(
        cudnnGetConvolutionForwardWorkspaceSize(h, l->x, l->w_desc, l->conv, l->y, algo, &ws_bytes));
    if (ws_bytes) CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
    CHECK_CUDNN(cudnnConvolutionForward(h, &ONE, l->x, x, l->w_desc, l->w, l->conv, algo, ws,
                                        ws_bytes, &ZERO, l->y, l->y_data));
    if (ws) CHECK_CUDA(cudaFree(ws));
}

static void bn_inference(cudnnHandle_t h, const struct conv_bn *l)
{
    CHECK_CUDNN(cudnnBatchNormalizationForwardInference(
        h, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, l->y, l->y_data, l->y, l->y_data, l->bn, l->scale,
        l->shift, l->running_mean, l->running_var, EPSILON));
}

static void bn_training(cudnnHandle_t h, const struct conv_bn *l)
{
    CHECK_CUDNN(cudnnBatchNormalizationForwardTraining(
        h, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, l->y, l->y_data, l->y, l->y_data, l->bn, l->scale,
        l->shift, 0.1, l->running_mean, l->running_var, EPSILON, l->save_mean, l->save_inv_var));
}

/* y = relu(bn(y) + z), all in one call, as a training framework fuses the block's end. */
static void bn_add_relu_training(cudnnHandle_t h, const struct conv_bn *l, const void *z,
                                 cudnnActivationDescriptor_t relu)
{
    CHECK_CUDNN(cudnnBatchNormalizationForwardTrainingEx(
        h, CUDNN_BATCHNORM_SPATIAL_PERSISTENT, CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION, &ONE, &ZERO,
        l->y, l->y_data, l->y, z, l->y, l->y_data, l->bn, l->scale, l->shift, 0.1,
        l->running_mean, l->running_var, EPSILON, l->save_mean, l->save_inv_var, relu, NULL, 0,
        NULL, 0));
}

static void relu_in_place(cudnnHandle_t h, cudnnActivationDescriptor_t relu,
                          const struct conv_bn *l)
{
    CHECK_CUDNN(
        cudnnActivationForward(h, relu, &ONE, l->y, l->y_data, &ZERO, l->y, l->y_data));
}

int main(int argc, char **argv)
{
    int train = 0, bad_call = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--train")) train = 1;
        else if (!strcmp(argv[i], "--bad-call")) bad_call = 1;
        else {
            fprintf(stderr, "usage: bottleneck [--train] [--bad-call]\n");
            return 2;
        }
    }
    cudnnHandle_t h;
    CHECK_CUDNN(cudnnCreate(&h));
    cudnnActivationDescriptor_t relu;
    CHECK_CUDNN(cudnnCreateActivationDescriptor(&relu));
    CHECK_CUDNN(
        cudnnSetActivationDescriptor(relu, CUDNN_ACTIVATION_RELU, CUDNN_NOT_PROPAGATE_NAN, 0.0));
    cudnnOpTensorDescriptor_t add;
    CHECK_CUDNN(cudnnCreateOpTensorDescriptor(&add));
    CHECK_CUDNN(cudnnSetOpTensorDescriptor(add, CUDNN_OP_TENSOR_ADD, CUDNN_DATA_FLOAT,
                                           CUDNN_NOT_PROPAGATE_NAN));

    void *x = device_zeros((size_t)N * C_IN * HW * HW);
    void *out = device_zeros((size_t)N * C_IN * HW * HW);
    struct conv_bn l1 = conv_bn_make(C_IN, C_MID, 1);
    struct conv_bn l2 = conv_bn_make(C_MID, C_MID, 3);
    struct conv_bn l3 = conv_bn_make(C_MID, C_IN, 1);

    conv(h, &l1, x);
    train ? bn_training(h, &l1) : bn_inference(h, &l1);
    relu_in_place(h, relu, &l1);
    conv(h, &l2, l1.y_data);
    train ? bn_training(h, &l2) : bn_inference(h, &l2);
    relu_in_place(h, relu, &l2);
    conv(h, &l3, l2.y_data);
    if (train) {
        bn_add_relu_training(h, &l3, x, relu);
    } else {
        bn_inference(h, &l3);
        CHECK_CUDNN(cudnnOpTensor(h, add, &ONE, l3.y, l3.y_data, &ONE, l3.y, x, &ZERO, l3.y, out));
        CHECK_CUDNN(cudnnActivationForward(h, relu, &ONE, l3.y, out, &ZERO, l3.y, out));
    }
    if (bad_call) {
        cudnnStatus_t st = cudnnBatchNormalizationForwardInference(
            h, CUDNN_BATCHNORM_SPATIAL, &ONE, &ZERO, l1.y, l1.y_data, l1.y, l1.y_data, l3.bn,
            l3.scale, l3.shift, l3.running_mean, l3.running_var, EPSILON);
        if (st != CUDNN_STATUS_BAD_PARAM) {
            fprintf(stderr, "bottleneck: mismatched statistics gave status %d, not BAD_PARAM\n",
                    (int)st);
            return 1;
        }
    }
    CHECK_CUDA(cudaDeviceSynchronize());
    conv_bn_free(&l1), conv_bn_free(&l2), conv_bn_free(&l3);
    CHECK_CUDA(cudaFree(x));
    CHECK_CUDA(cudaFree(out));
    CHECK_CUDNN(cudnnDestroyOpTensorDescriptor(add));
    CHECK_CUDNN(cudnnDestroyActivationDescriptor(relu));
    CHECK_CUDNN(cudnnDestroy(h));
    printf("bottleneck done\n");
    return 0;
}
