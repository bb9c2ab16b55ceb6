/*
 * cudnn_norm.c: the rest of cuDNN's legacy API between the convolutions: batch
 * normalisation (inference, training, backward, and their Ex forms), softmax, LRN,
 * op-tensor, scale, transform, dropout, and the backward passes of activation and
 * pooling.
 *
 * Batch norm's scale and shift are parameters; its running mean and variance are
 * state the model keeps but does not learn: counted once per address as buffers,
 * apart from the parameters (NN_PARAM_BUFFER). Saved mean and inverse variance are
 * one step's temporaries and count as neither.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include <cudnn.h>

#include "core.h"
#include "cudnn_read.h"
#include "cudnn_shared.h"
#include "timing.h"

/* ------------------------------------------------------------ batch normalisation */

/* A batch-norm call's tensors: x (and y, dy, dx, of its shape) and the shared
 * per-channel descriptor of scale, shift, mean and variance. */
struct bn_call {
    nn_bn_phase phase;
    cudnnTensorDescriptor_t x_desc, y_desc, channel_desc;
    const void *beta;
    const void *scale, *shift, *mean, *variance; /* mean and variance: running statistics */
    unsigned written;                             /* per-channel outputs */
    unsigned extra_read;                          /* saved statistics read */
    bool residual;
    cudnnActivationDescriptor_t act_desc; /* NULL: none */
    const void *out;                      /* y or dx */
};

static unsigned present(const void *a, const void *b)
{
    return (a != NULL) + (b != NULL);
}

static bool bn_op(const struct cudnn_getters *g, nn_op *op, const struct bn_call *c)
{
    nn_tensor_info x, y, ch;
    if (!nn_read_tensor(g, c->x_desc, &x) || !nn_read_tensor(g, c->y_desc, &y) ||
        !nn_read_tensor(g, c->channel_desc, &ch))
        return false;
    nn_bn_shape s = {
        .phase = c->phase,
        .elements = x.elements,
        .channels = ch.elements,
        .x_dtype = x.dtype,
        .y_dtype = y.dtype,
        .param_dtype = ch.dtype,
        .channel_tensors_read = present(c->scale, c->shift) + c->extra_read,
        .channel_tensors_written = c->written,
        .residual = c->residual,
        .activation = NN_ACT_IDENTITY,
        .accumulate = !nn_cudnn_scalar_is_zero(c->beta, y.dtype),
    };
    /* Inference reads the running statistics; training updates them. */
    if (c->phase == NN_BN_INFERENCE)
        s.channel_tensors_read += present(c->mean, c->variance);
    else
        s.channel_tensors_updated = present(c->mean, c->variance);
    if (c->act_desc && !nn_read_activation(g, c->act_desc, &s.activation)) return false;
    op->cost = nn_bn_cost(&s);
    op->dtype = x.dtype;
    nn_op_add_param(op, c->scale, ch.elements, ch.dtype, NN_PARAM_ALWAYS);
    nn_op_add_param(op, c->shift, ch.elements, ch.dtype, NN_PARAM_ALWAYS);
    nn_op_add_param(op, c->mean, ch.elements, ch.dtype, NN_PARAM_BUFFER);
    nn_op_add_param(op, c->variance, ch.elements, ch.dtype, NN_PARAM_BUFFER);
    char what[40];
    snprintf(what, sizeof what, "bn %llu ch%s%s%s", (unsigned long long)ch.elements,
             c->residual ? " +z" : "", s.activation != NN_ACT_IDENTITY ? " " : "",
             s.activation != NN_ACT_IDENTITY ? nn_activation_name(s.activation) : "");
    nn_cudnn_describe_unary(op, &x, &y, what);
    nn_cudnn_note_output(op, c->out, &y);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBatchNormalizationForwardInference,
        (cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
         const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
         void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
         const void *bnBias, const void *estimatedMean, const void *estimatedVariance,
         double epsilon),
        (handle, mode, alpha, beta, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc, bnScale, bnBias,
         estimatedMean, estimatedVariance, epsilon))
{
    NN_CUDNN_BEGIN(cudnnBatchNormalizationForwardInference);
    cudnnStatus_t st = real(handle, mode, alpha, beta, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc,
                            bnScale, bnBias, estimatedMean, estimatedVariance, epsilon);
    NN_CUDNN_END(cudnnBatchNormalizationForwardInference, "bn_inference",
                 bn_op(g, op,
                       &(struct bn_call){.phase = NN_BN_INFERENCE, .x_desc = xDesc,
                                         .y_desc = yDesc, .channel_desc = bnScaleBiasMeanVarDesc,
                                         .beta = beta, .scale = bnScale, .shift = bnBias,
                                         .mean = estimatedMean, .variance = estimatedVariance,
                                         .out = y}));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBatchNormalizationForwardTraining,
        (cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alpha, const void *beta,
         const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t yDesc,
         void *y, const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
         const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
         void *resultRunningVariance, double epsilon, void *resultSaveMean,
         void *resultSaveInvVariance),
        (handle, mode, alpha, beta, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc, bnScale, bnBias,
         exponentialAverageFactor, resultRunningMean, resultRunningVariance, epsilon,
         resultSaveMean, resultSaveInvVariance))
{
    NN_CUDNN_BEGIN(cudnnBatchNormalizationForwardTraining);
    cudnnStatus_t st = real(handle, mode, alpha, beta, xDesc, x, yDesc, y, bnScaleBiasMeanVarDesc,
                            bnScale, bnBias, exponentialAverageFactor, resultRunningMean,
                            resultRunningVariance, epsilon, resultSaveMean, resultSaveInvVariance);
    NN_CUDNN_END(cudnnBatchNormalizationForwardTraining, "bn_training",
                 bn_op(g, op,
                       &(struct bn_call){.phase = NN_BN_TRAINING, .x_desc = xDesc,
                                         .y_desc = yDesc, .channel_desc = bnScaleBiasMeanVarDesc,
                                         .beta = beta, .scale = bnScale, .shift = bnBias,
                                         .mean = resultRunningMean,
                                         .variance = resultRunningVariance,
                                         .written = present(resultSaveMean, resultSaveInvVariance),
                                         .out = y}));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBatchNormalizationForwardTrainingEx,
        (cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps,
         const void *alpha, const void *beta, const cudnnTensorDescriptor_t xDesc,
         const void *xData, const cudnnTensorDescriptor_t zDesc, const void *zData,
         const cudnnTensorDescriptor_t yDesc, void *yData,
         const cudnnTensorDescriptor_t bnScaleBiasMeanVarDesc, const void *bnScale,
         const void *bnBias, double exponentialAverageFactor, void *resultRunningMean,
         void *resultRunningVariance, double epsilon, void *resultSaveMean,
         void *resultSaveInvVariance, cudnnActivationDescriptor_t activationDesc, void *workspace,
         size_t workSpaceSizeInBytes, void *reserveSpace, size_t reserveSpaceSizeInBytes),
        (handle, mode, bnOps, alpha, beta, xDesc, xData, zDesc, zData, yDesc, yData,
         bnScaleBiasMeanVarDesc, bnScale, bnBias, exponentialAverageFactor, resultRunningMean,
         resultRunningVariance, epsilon, resultSaveMean, resultSaveInvVariance, activationDesc,
         workspace, workSpaceSizeInBytes, reserveSpace, reserveSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnBatchNormalizationForwardTrainingEx);
    cudnnStatus_t st =
        real(handle, mode, bnOps, alpha, beta, xDesc, xData, zDesc, zData, yDesc, yData,
             bnScaleBiasMeanVarDesc, bnScale, bnBias, exponentialAverageFactor, resultRunningMean,
             resultRunningVariance, epsilon, resultSaveMean, resultSaveInvVariance, activationDesc,
             workspace, workSpaceSizeInBytes, reserveSpace, reserveSpaceSizeInBytes);
    NN_CUDNN_END(
        cudnnBatchNormalizationForwardTrainingEx, "bn_training",
        (op->workspace_bytes = workSpaceSizeInBytes,
         bn_op(g, op,
               &(struct bn_call){.phase = NN_BN_TRAINING, .x_desc = xDesc, .y_desc = yDesc,
                                 .channel_desc = bnScaleBiasMeanVarDesc, .beta = beta,
                                 .scale = bnScale, .shift = bnBias, .mean = resultRunningMean,
                                 .variance = resultRunningVariance,
                                 .written = present(resultSaveMean, resultSaveInvVariance),
                                 .residual = bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION,
                                 .act_desc = bnOps == CUDNN_BATCHNORM_OPS_BN ? NULL
                                                                             : activationDesc,
                                 .out = yData})));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBatchNormalizationBackward,
        (cudnnHandle_t handle, cudnnBatchNormMode_t mode, const void *alphaDataDiff,
         const void *betaDataDiff, const void *alphaParamDiff, const void *betaParamDiff,
         const cudnnTensorDescriptor_t xDesc, const void *x, const cudnnTensorDescriptor_t dyDesc,
         const void *dy, const cudnnTensorDescriptor_t dxDesc, void *dx,
         const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScale, void *dBnScaleResult,
         void *dBnBiasResult, double epsilon, const void *savedMean, const void *savedInvVariance),
        (handle, mode, alphaDataDiff, betaDataDiff, alphaParamDiff, betaParamDiff, xDesc, x, dyDesc,
         dy, dxDesc, dx, dBnScaleBiasDesc, bnScale, dBnScaleResult, dBnBiasResult, epsilon,
         savedMean, savedInvVariance))
{
    NN_CUDNN_BEGIN(cudnnBatchNormalizationBackward);
    cudnnStatus_t st = real(handle, mode, alphaDataDiff, betaDataDiff, alphaParamDiff,
                            betaParamDiff, xDesc, x, dyDesc, dy, dxDesc, dx, dBnScaleBiasDesc,
                            bnScale, dBnScaleResult, dBnBiasResult, epsilon, savedMean,
                            savedInvVariance);
    NN_CUDNN_END(cudnnBatchNormalizationBackward, "bn_backward",
                 bn_op(g, op,
                       &(struct bn_call){.phase = NN_BN_BACKWARD, .x_desc = xDesc,
                                         .y_desc = dxDesc, .channel_desc = dBnScaleBiasDesc,
                                         .beta = betaDataDiff, .scale = bnScale,
                                         .extra_read = present(savedMean, savedInvVariance),
                                         .written = present(dBnScaleResult, dBnBiasResult),
                                         .out = dx}));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBatchNormalizationBackwardEx,
        (cudnnHandle_t handle, cudnnBatchNormMode_t mode, cudnnBatchNormOps_t bnOps,
         const void *alphaDataDiff, const void *betaDataDiff, const void *alphaParamDiff,
         const void *betaParamDiff, const cudnnTensorDescriptor_t xDesc, const void *xData,
         const cudnnTensorDescriptor_t yDesc, const void *yData,
         const cudnnTensorDescriptor_t dyDesc, const void *dyData,
         const cudnnTensorDescriptor_t dzDesc, void *dzData, const cudnnTensorDescriptor_t dxDesc,
         void *dxData, const cudnnTensorDescriptor_t dBnScaleBiasDesc, const void *bnScaleData,
         const void *bnBiasData, void *dBnScaleData, void *dBnBiasData, double epsilon,
         const void *savedMean, const void *savedInvVariance,
         cudnnActivationDescriptor_t activationDesc, void *workSpace, size_t workSpaceSizeInBytes,
         void *reserveSpace, size_t reserveSpaceSizeInBytes),
        (handle, mode, bnOps, alphaDataDiff, betaDataDiff, alphaParamDiff, betaParamDiff, xDesc,
         xData, yDesc, yData, dyDesc, dyData, dzDesc, dzData, dxDesc, dxData, dBnScaleBiasDesc,
         bnScaleData, bnBiasData, dBnScaleData, dBnBiasData, epsilon, savedMean, savedInvVariance,
         activationDesc, workSpace, workSpaceSizeInBytes, reserveSpace, reserveSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnBatchNormalizationBackwardEx);
    cudnnStatus_t st =
        real(handle, mode, bnOps, alphaDataDiff, betaDataDiff, alphaParamDiff, betaParamDiff,
             xDesc, xData, yDesc, yData, dyDesc, dyData, dzDesc, dzData, dxDesc, dxData,
             dBnScaleBiasDesc, bnScaleData, bnBiasData, dBnScaleData, dBnBiasData, epsilon,
             savedMean, savedInvVariance, activationDesc, workSpace, workSpaceSizeInBytes,
             reserveSpace, reserveSpaceSizeInBytes);
    NN_CUDNN_END(
        cudnnBatchNormalizationBackwardEx, "bn_backward",
        (op->workspace_bytes = workSpaceSizeInBytes,
         bn_op(g, op,
               &(struct bn_call){.phase = NN_BN_BACKWARD, .x_desc = xDesc, .y_desc = dxDesc,
                                 .channel_desc = dBnScaleBiasDesc, .beta = betaDataDiff,
                                 .scale = bnScaleData, .shift = bnBiasData,
                                 .extra_read = present(savedMean, savedInvVariance),
                                 .written = present(dBnScaleData, dBnBiasData),
                                 .residual = bnOps == CUDNN_BATCHNORM_OPS_BN_ADD_ACTIVATION,
                                 .act_desc = bnOps == CUDNN_BATCHNORM_OPS_BN ? NULL
                                                                             : activationDesc,
                                 .out = dxData})));
}

/* ------------------------------------------------------------ softmax, LRN */

static nn_softmax_algo softmax_algo(cudnnSoftmaxAlgorithm_t a)
{
    return a == CUDNN_SOFTMAX_FAST ? NN_SOFTMAX_FAST
           : a == CUDNN_SOFTMAX_LOG ? NN_SOFTMAX_LOG
                                    : NN_SOFTMAX_ACCURATE;
}

static bool softmax_op(const struct cudnn_getters *g, nn_op *op, cudnnSoftmaxAlgorithm_t algo,
                       bool backward, cudnnTensorDescriptor_t in_desc,
                       cudnnTensorDescriptor_t out_desc, const void *beta, const void *out)
{
    nn_tensor_info in, o;
    if (!nn_read_tensor(g, in_desc, &in) || !nn_read_tensor(g, out_desc, &o)) return false;
    op->dtype = o.dtype;
    op->cost = nn_softmax_cost(softmax_algo(algo), backward, o.elements, o.dtype,
                               !nn_cudnn_scalar_is_zero(beta, o.dtype));
    nn_cudnn_describe_unary(op, &in, &o, algo == CUDNN_SOFTMAX_LOG ? "log" : "softmax");
    nn_cudnn_note_output(op, out, &o);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnSoftmaxForward,
        (cudnnHandle_t handle, cudnnSoftmaxAlgorithm_t algo, cudnnSoftmaxMode_t mode,
         const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
         const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, algo, mode, alpha, xDesc, x, beta, yDesc, y))
{
    NN_CUDNN_BEGIN(cudnnSoftmaxForward);
    cudnnStatus_t st = real(handle, algo, mode, alpha, xDesc, x, beta, yDesc, y);
    NN_CUDNN_END(cudnnSoftmaxForward, "softmax",
                 softmax_op(g, op, algo, false, xDesc, yDesc, beta, y));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnSoftmaxBackward,
        (cudnnHandle_t handle, cudnnSoftmaxAlgorithm_t algo, cudnnSoftmaxMode_t mode,
         const void *alpha, const cudnnTensorDescriptor_t yDesc, const void *y,
         const cudnnTensorDescriptor_t dyDesc, const void *dy, const void *beta,
         const cudnnTensorDescriptor_t dxDesc, void *dx),
        (handle, algo, mode, alpha, yDesc, y, dyDesc, dy, beta, dxDesc, dx))
{
    NN_CUDNN_BEGIN(cudnnSoftmaxBackward);
    cudnnStatus_t st = real(handle, algo, mode, alpha, yDesc, y, dyDesc, dy, beta, dxDesc, dx);
    NN_CUDNN_END(cudnnSoftmaxBackward, "softmax_bwd",
                 softmax_op(g, op, algo, true, yDesc, dxDesc, beta, dx));
}

static bool lrn_op(const struct cudnn_getters *g, nn_op *op, cudnnLRNDescriptor_t norm,
                   cudnnTensorDescriptor_t x_desc, cudnnTensorDescriptor_t y_desc,
                   const void *beta, const void *y)
{
    nn_tensor_info x, yi;
    uint64_t window;
    if (!nn_read_tensor(g, x_desc, &x) || !nn_read_tensor(g, y_desc, &yi) ||
        !nn_read_lrn(g, norm, &window))
        return false;
    op->dtype = yi.dtype;
    op->cost = nn_lrn_cost(window, yi.elements, yi.dtype, !nn_cudnn_scalar_is_zero(beta, yi.dtype));
    char what[32];
    snprintf(what, sizeof what, "lrn n=%llu", (unsigned long long)window);
    nn_cudnn_describe_unary(op, &x, &yi, what);
    nn_cudnn_note_output(op, y, &yi);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnLRNCrossChannelForward,
        (cudnnHandle_t handle, cudnnLRNDescriptor_t normDesc, cudnnLRNMode_t lrnMode,
         const void *alpha, const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
         const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, normDesc, lrnMode, alpha, xDesc, x, beta, yDesc, y))
{
    NN_CUDNN_BEGIN(cudnnLRNCrossChannelForward);
    cudnnStatus_t st = real(handle, normDesc, lrnMode, alpha, xDesc, x, beta, yDesc, y);
    NN_CUDNN_END(cudnnLRNCrossChannelForward, "lrn", lrn_op(g, op, normDesc, xDesc, yDesc, beta, y));
}

/* ------------------------------------------------------------ op-tensor, scale, transform */

static bool op_tensor_op(const struct cudnn_getters *g, nn_op *op, cudnnOpTensorDescriptor_t d,
                         cudnnTensorDescriptor_t a_desc, cudnnTensorDescriptor_t b_desc,
                         cudnnTensorDescriptor_t c_desc, const void *beta, const void *C)
{
    nn_tensor_info a, b = {0}, c;
    const char *name;
    bool unary;
    if (!nn_read_op_tensor(g, d, &name, &unary) || !nn_read_tensor(g, a_desc, &a) ||
        !nn_read_tensor(g, c_desc, &c) || (!unary && !nn_read_tensor(g, b_desc, &b)))
        return false;
    op->dtype = c.dtype;
    op->cost = nn_op_tensor_cost(unary, a.elements, a.dtype, b.elements, b.dtype, c.elements,
                                 c.dtype, !nn_cudnn_scalar_is_zero(beta, c.dtype));
    nn_cudnn_describe_unary(op, &a, &c, name);
    nn_cudnn_note_output(op, C, &c);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnOpTensor,
        (cudnnHandle_t handle, const cudnnOpTensorDescriptor_t opTensorDesc, const void *alpha1,
         const cudnnTensorDescriptor_t aDesc, const void *A, const void *alpha2,
         const cudnnTensorDescriptor_t bDesc, const void *B, const void *beta,
         const cudnnTensorDescriptor_t cDesc, void *C),
        (handle, opTensorDesc, alpha1, aDesc, A, alpha2, bDesc, B, beta, cDesc, C))
{
    NN_CUDNN_BEGIN(cudnnOpTensor);
    cudnnStatus_t st = real(handle, opTensorDesc, alpha1, aDesc, A, alpha2, bDesc, B, beta, cDesc, C);
    NN_CUDNN_END(cudnnOpTensor, "op_tensor",
                 op_tensor_op(g, op, opTensorDesc, aDesc, bDesc, cDesc, beta, C));
}

static bool scale_op(const struct cudnn_getters *g, nn_op *op, cudnnTensorDescriptor_t y_desc,
                     const void *y)
{
    nn_tensor_info yi;
    if (!nn_read_tensor(g, y_desc, &yi)) return false;
    op->dtype = yi.dtype;
    op->cost = nn_scale_tensor_cost(yi.elements, yi.dtype);
    nn_cudnn_describe_unary(op, &yi, &yi, "scale");
    nn_cudnn_note_output(op, y, &yi);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnScaleTensor,
        (cudnnHandle_t handle, const cudnnTensorDescriptor_t yDesc, void *y, const void *alpha),
        (handle, yDesc, y, alpha))
{
    NN_CUDNN_BEGIN(cudnnScaleTensor);
    cudnnStatus_t st = real(handle, yDesc, y, alpha);
    NN_CUDNN_END(cudnnScaleTensor, "scale_tensor", scale_op(g, op, yDesc, y));
}

static bool transform_op(const struct cudnn_getters *g, nn_op *op, cudnnTensorDescriptor_t x_desc,
                         cudnnTensorDescriptor_t y_desc, const void *beta, const void *y)
{
    nn_tensor_info x, yi;
    if (!nn_read_tensor(g, x_desc, &x) || !nn_read_tensor(g, y_desc, &yi)) return false;
    op->dtype = x.dtype;
    op->cost = nn_transform_cost(yi.elements, x.dtype, yi.dtype,
                                 !nn_cudnn_scalar_is_zero(beta, yi.dtype));
    nn_cudnn_describe_unary(op, &x, &yi, yi.channels_last ? "to NHWC" : "copy");
    nn_cudnn_note_output(op, y, &yi);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnTransformTensor,
        (cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc,
         const void *x, const void *beta, const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, alpha, xDesc, x, beta, yDesc, y))
{
    NN_CUDNN_BEGIN(cudnnTransformTensor);
    cudnnStatus_t st = real(handle, alpha, xDesc, x, beta, yDesc, y);
    NN_CUDNN_END(cudnnTransformTensor, "transform", transform_op(g, op, xDesc, yDesc, beta, y));
}

/* ------------------------------------------------------------ dropout */

static bool dropout_op(const struct cudnn_getters *g, nn_op *op, bool backward,
                       cudnnTensorDescriptor_t in_desc, cudnnTensorDescriptor_t out_desc,
                       const void *out, size_t reserve_bytes)
{
    nn_tensor_info in, o;
    if (!nn_read_tensor(g, in_desc, &in) || !nn_read_tensor(g, out_desc, &o)) return false;
    op->dtype = o.dtype;
    op->cost = nn_dropout_cost(backward, o.elements, o.dtype, reserve_bytes);
    nn_cudnn_describe_unary(op, &in, &o, "dropout");
    nn_cudnn_note_output(op, out, &o);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnDropoutForward,
        (cudnnHandle_t handle, const cudnnDropoutDescriptor_t dropoutDesc,
         const cudnnTensorDescriptor_t xdesc, const void *x, const cudnnTensorDescriptor_t ydesc,
         void *y, void *reserveSpace, size_t reserveSpaceSizeInBytes),
        (handle, dropoutDesc, xdesc, x, ydesc, y, reserveSpace, reserveSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnDropoutForward);
    cudnnStatus_t st = real(handle, dropoutDesc, xdesc, x, ydesc, y, reserveSpace,
                            reserveSpaceSizeInBytes);
    NN_CUDNN_END(cudnnDropoutForward, "dropout",
                 dropout_op(g, op, false, xdesc, ydesc, y, reserveSpaceSizeInBytes));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnDropoutBackward,
        (cudnnHandle_t handle, const cudnnDropoutDescriptor_t dropoutDesc,
         const cudnnTensorDescriptor_t dydesc, const void *dy, const cudnnTensorDescriptor_t dxdesc,
         void *dx, void *reserveSpace, size_t reserveSpaceSizeInBytes),
        (handle, dropoutDesc, dydesc, dy, dxdesc, dx, reserveSpace, reserveSpaceSizeInBytes))
{
    NN_CUDNN_BEGIN(cudnnDropoutBackward);
    cudnnStatus_t st = real(handle, dropoutDesc, dydesc, dy, dxdesc, dx, reserveSpace,
                            reserveSpaceSizeInBytes);
    NN_CUDNN_END(cudnnDropoutBackward, "dropout_bwd",
                 dropout_op(g, op, true, dydesc, dxdesc, dx, reserveSpaceSizeInBytes));
}

/* ------------------------------------------------------------ activation and pooling backward */

static bool activation_backward_op(const struct cudnn_getters *g, nn_op *op,
                                   cudnnActivationDescriptor_t act_desc,
                                   cudnnTensorDescriptor_t dy_desc,
                                   cudnnTensorDescriptor_t dx_desc, const void *beta,
                                   const void *dx)
{
    nn_tensor_info dy, dxi;
    nn_activation act;
    if (!nn_read_tensor(g, dy_desc, &dy) || !nn_read_tensor(g, dx_desc, &dxi) ||
        !nn_read_activation(g, act_desc, &act))
        return false;
    op->dtype = dxi.dtype;
    op->cost = nn_activation_backward_cost(act, dxi.elements, dxi.dtype,
                                           !nn_cudnn_scalar_is_zero(beta, dxi.dtype));
    nn_cudnn_describe_unary(op, &dy, &dxi, nn_activation_name(act));
    nn_cudnn_note_output(op, dx, &dxi);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnActivationBackward,
        (cudnnHandle_t handle, cudnnActivationDescriptor_t activationDesc, const void *alpha,
         const cudnnTensorDescriptor_t yDesc, const void *y, const cudnnTensorDescriptor_t dyDesc,
         const void *dy, const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
         const cudnnTensorDescriptor_t dxDesc, void *dx),
        (handle, activationDesc, alpha, yDesc, y, dyDesc, dy, xDesc, x, beta, dxDesc, dx))
{
    NN_CUDNN_BEGIN(cudnnActivationBackward);
    cudnnStatus_t st =
        real(handle, activationDesc, alpha, yDesc, y, dyDesc, dy, xDesc, x, beta, dxDesc, dx);
    NN_CUDNN_END(cudnnActivationBackward, "activation_bwd",
                 activation_backward_op(g, op, activationDesc, dyDesc, dxDesc, beta, dx));
}

static bool pool_backward_op(const struct cudnn_getters *g, nn_op *op,
                             cudnnPoolingDescriptor_t pool_desc, cudnnTensorDescriptor_t dy_desc,
                             cudnnTensorDescriptor_t dx_desc, const void *beta, const void *dx)
{
    nn_tensor_info dy, dxi;
    nn_pool_mode mode;
    uint64_t window;
    if (!nn_read_tensor(g, dy_desc, &dy) || !nn_read_tensor(g, dx_desc, &dxi) ||
        !nn_read_pooling(g, pool_desc, &mode, &window))
        return false;
    op->dtype = dxi.dtype;
    op->cost = nn_pool_backward_cost(mode, window, dxi.elements, dy.elements, dxi.dtype,
                                     !nn_cudnn_scalar_is_zero(beta, dxi.dtype));
    nn_cudnn_describe_unary(op, &dy, &dxi, mode == NN_POOL_MAX ? "max" : "avg");
    nn_cudnn_note_output(op, dx, &dxi);
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnPoolingBackward,
        (cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void *alpha,
         const cudnnTensorDescriptor_t yDesc, const void *y, const cudnnTensorDescriptor_t dyDesc,
         const void *dy, const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
         const cudnnTensorDescriptor_t dxDesc, void *dx),
        (handle, poolingDesc, alpha, yDesc, y, dyDesc, dy, xDesc, x, beta, dxDesc, dx))
{
    NN_CUDNN_BEGIN(cudnnPoolingBackward);
    cudnnStatus_t st =
        real(handle, poolingDesc, alpha, yDesc, y, dyDesc, dy, xDesc, x, beta, dxDesc, dx);
    NN_CUDNN_END(cudnnPoolingBackward, "pool_bwd",
                 pool_backward_op(g, op, poolingDesc, dyDesc, dxDesc, beta, dx));
}
