/*
 * cudnn_read.c: reading cuDNN legacy descriptors into plain shapes.
 */
#include "cudnn_read.h"

#include "cuda_types.h"

#include <stdlib.h>

bool nn_read_tensor(const struct cudnn_getters *g, cudnnTensorDescriptor_t d, nn_tensor_info *t)
{
    int dims[NN_CUDNN_MAX_DIMS], strides[NN_CUDNN_MAX_DIMS], nb = 0;
    cudnnDataType_t type;
    if (!g->tensor || !d ||
        g->tensor(d, NN_CUDNN_MAX_DIMS, &type, &nb, dims, strides) != CUDNN_STATUS_SUCCESS ||
        nb < 1 || nb > NN_CUDNN_MAX_DIMS)
        return false;
    bool overflow = false;
    uint64_t elements = 1, last = 0; /* offset of the last element, in elements */
    for (int i = 0; i < nb; i++) {
        if (dims[i] <= 0 || strides[i] < 0) return false;
        t->dims[i] = (uint64_t)dims[i];
        t->strides[i] = strides[i];
        uint64_t step = 0;
        overflow |= !nn_mul_u64(elements, (uint64_t)dims[i], &elements);
        overflow |= !nn_mul_u64((uint64_t)dims[i] - 1, (uint64_t)strides[i], &step);
        overflow |= !nn_add_u64(last, step, &last);
    }
    t->nb = nb;
    t->dtype = nn_from_cudnn_dtype(type);
    t->elements = elements;
    t->span_bytes = nn_bytes_of(last + 1, t->dtype, &overflow);
    t->channels_last = nb >= 3 && strides[1] == 1 && dims[1] > 1;
    return !overflow;
}

bool nn_read_filter(const struct cudnn_getters *g, cudnnFilterDescriptor_t d, nn_filter_info *f)
{
    int dims[NN_CUDNN_MAX_DIMS], nb = 0;
    cudnnDataType_t type;
    cudnnTensorFormat_t format;
    if (!g->filter || !d ||
        g->filter(d, NN_CUDNN_MAX_DIMS, &type, &format, &nb, dims) != CUDNN_STATUS_SUCCESS ||
        nb < 3 || nb > NN_CUDNN_MAX_DIMS)
        return false;
    for (int i = 0; i < nb; i++) {
        if (dims[i] <= 0) return false;
        f->dims[i] = (uint64_t)dims[i];
    }
    f->nb = nb;
    f->dtype = nn_from_cudnn_dtype(type);
    f->channels_last = format == CUDNN_TENSOR_NHWC;
    return true;
}

bool nn_read_activation(const struct cudnn_getters *g, cudnnActivationDescriptor_t d,
                        nn_activation *a)
{
    cudnnActivationMode_t mode;
    cudnnNanPropagation_t nan;
    double coef;
    if (!g->activation || !d || g->activation(d, &mode, &nan, &coef) != CUDNN_STATUS_SUCCESS)
        return false;
    switch (mode) {
    case CUDNN_ACTIVATION_SIGMOID: *a = NN_ACT_SIGMOID; return true;
    case CUDNN_ACTIVATION_RELU: *a = NN_ACT_RELU; return true;
    case CUDNN_ACTIVATION_TANH: *a = NN_ACT_TANH; return true;
    case CUDNN_ACTIVATION_CLIPPED_RELU: *a = NN_ACT_CLIPPED_RELU; return true;
    case CUDNN_ACTIVATION_ELU: *a = NN_ACT_ELU; return true;
    case CUDNN_ACTIVATION_IDENTITY: *a = NN_ACT_IDENTITY; return true;
    case CUDNN_ACTIVATION_SWISH: *a = NN_ACT_SWISH; return true;
    default: return false;
    }
}

bool nn_read_pooling(const struct cudnn_getters *g, cudnnPoolingDescriptor_t d, nn_pool_mode *mode,
                     uint64_t *window)
{
    /* cuDNN refuses requests for more than CUDNN_DIM_MAX - 2 (spatial) dims. */
    enum { max_spatial = NN_CUDNN_MAX_DIMS - 2 };
    int nb = 0, win[max_spatial], pad[max_spatial], stride[max_spatial];
    cudnnPoolingMode_t m;
    cudnnNanPropagation_t nan;
    if (!g->pooling || !d ||
        g->pooling(d, max_spatial, &m, &nan, &nb, win, pad, stride) != CUDNN_STATUS_SUCCESS ||
        nb < 1 || nb > max_spatial)
        return false;
    *window = 1;
    for (int i = 0; i < nb; i++)
        if (win[i] <= 0 || !nn_mul_u64(*window, (uint64_t)win[i], window)) return false;
    *mode = (m == CUDNN_POOLING_MAX || m == CUDNN_POOLING_MAX_DETERMINISTIC) ? NN_POOL_MAX
                                                                             : NN_POOL_AVERAGE;
    return true;
}

bool nn_conv_shape_from(const nn_tensor_info *x, const nn_filter_info *w, const nn_tensor_info *y,
                        nn_conv_shape *s)
{
    int spatial = x->nb - 2;
    if (spatial < 1 || spatial > NN_MAX_SPATIAL || w->nb != x->nb || y->nb != x->nb) return false;
    if (x->dims[1] % w->dims[1] != 0 || y->dims[1] != w->dims[0] || y->dims[0] != x->dims[0])
        return false;
    *s = (nn_conv_shape){
        .spatial_dims = spatial,
        .batch = x->dims[0],
        .in_channels = x->dims[1],
        .out_channels = y->dims[1],
        .groups = x->dims[1] / w->dims[1],
        .x_dtype = x->dtype,
        .w_dtype = w->dtype,
        .y_dtype = y->dtype,
    };
    for (int i = 0; i < spatial; i++) {
        s->in_size[i] = x->dims[2 + i];
        s->out_size[i] = y->dims[2 + i];
        s->kernel[i] = w->dims[2 + i];
    }
    return true;
}

bool nn_read_lrn(const struct cudnn_getters *g, cudnnLRNDescriptor_t d, uint64_t *window)
{
    unsigned n;
    double alpha, beta, k;
    if (!g->lrn || !d || g->lrn(d, &n, &alpha, &beta, &k) != CUDNN_STATUS_SUCCESS || n == 0)
        return false;
    *window = n;
    return true;
}

bool nn_read_op_tensor(const struct cudnn_getters *g, cudnnOpTensorDescriptor_t d,
                       const char **name, bool *unary)
{
    cudnnOpTensorOp_t op;
    cudnnDataType_t type;
    cudnnNanPropagation_t nan;
    if (!g->op_tensor || !d || g->op_tensor(d, &op, &type, &nan) != CUDNN_STATUS_SUCCESS)
        return false;
    *unary = op == CUDNN_OP_TENSOR_SQRT || op == CUDNN_OP_TENSOR_NOT;
    switch (op) {
    case CUDNN_OP_TENSOR_ADD: *name = "add"; return true;
    case CUDNN_OP_TENSOR_MUL: *name = "mul"; return true;
    case CUDNN_OP_TENSOR_MIN: *name = "min"; return true;
    case CUDNN_OP_TENSOR_MAX: *name = "max"; return true;
    case CUDNN_OP_TENSOR_SQRT: *name = "sqrt"; return true;
    case CUDNN_OP_TENSOR_NOT: *name = "not"; return true;
    default: return false;
    }
}

static bool rnn_cell_from(cudnnRNNMode_t mode, nn_rnn_cell *cell)
{
    switch (mode) {
    case CUDNN_RNN_RELU: *cell = NN_RNN_RELU; return true;
    case CUDNN_RNN_TANH: *cell = NN_RNN_TANH; return true;
    case CUDNN_LSTM: *cell = NN_RNN_LSTM; return true;
    case CUDNN_GRU: *cell = NN_RNN_GRU; return true;
    default: return false;
    }
}

bool nn_read_rnn(const struct cudnn_getters *g, cudnnRNNDescriptor_t d, nn_rnn_shape *s)
{
    cudnnRNNAlgo_t algo;
    cudnnRNNMode_t mode;
    cudnnRNNBiasMode_t bias;
    cudnnDirectionMode_t dir;
    cudnnRNNInputMode_t input;
    cudnnDataType_t type, math_prec;
    cudnnMathType_t math;
    int32_t input_size, hidden, proj, layers;
    cudnnDropoutDescriptor_t dropout;
    uint32_t aux;
    if (!g->rnn || !d ||
        g->rnn(d, &algo, &mode, &bias, &dir, &input, &type, &math_prec, &math, &input_size,
               &hidden, &proj, &layers, &dropout, &aux) != CUDNN_STATUS_SUCCESS ||
        input_size <= 0 || hidden <= 0 || proj <= 0 || layers <= 0)
        return false;
    *s = (nn_rnn_shape){.input_size = (uint64_t)input_size,
                        .hidden_size = (uint64_t)hidden,
                        .proj_size = (uint64_t)proj,
                        .layers = (uint64_t)layers,
                        .directions = dir == CUDNN_BIDIRECTIONAL ? 2 : 1,
                        .bias_vectors = bias == CUDNN_RNN_DOUBLE_BIAS ? 2
                                        : bias == CUDNN_RNN_NO_BIAS   ? 0
                                                                      : 1,
                        .skip_input = input == CUDNN_SKIP_INPUT,
                        .dtype = nn_from_cudnn_dtype(type)};
    return rnn_cell_from(mode, &s->cell);
}

bool nn_read_rnn_steps(const struct cudnn_getters *g, cudnnRNNDataDescriptor_t d,
                       uint64_t *steps, uint64_t *batch, uint64_t *buffer_elements)
{
    /* cuDNN 9.x's getter has been seen to return success without writing anything:
     * every output starts invalid, so that such an answer is refused. cuDNN wants
     * somewhere to write the padding symbol (up to a double). */
    cudnnDataType_t type;
    cudnnRNNDataLayout_t layout;
    int max_len = 0, batch_size = 0, vector = 0;
    double padding;
    /* A first call with no room for the lengths gives the batch size. */
    if (!g->rnn_data || !d ||
        g->rnn_data(d, &type, &layout, &max_len, &batch_size, &vector, 0, NULL, &padding) !=
            CUDNN_STATUS_SUCCESS ||
        batch_size <= 0 || max_len <= 0 || vector <= 0 || batch_size > NN_RNN_MAX_BATCH)
        return false;
    int *lengths = malloc((size_t)batch_size * sizeof *lengths);
    if (!lengths) return false;
    for (int i = 0; i < batch_size; i++) lengths[i] = -1;
    /* The second answer must describe the same batch the array was sized for. */
    int asked = batch_size;
    bool ok = g->rnn_data(d, &type, &layout, &max_len, &batch_size, &vector, asked, lengths,
                          &padding) == CUDNN_STATUS_SUCCESS &&
              batch_size == asked && max_len > 0 && vector > 0;
    uint64_t sum = 0;
    for (int i = 0; ok && i < batch_size; i++) {
        if (lengths[i] < 0 || lengths[i] > max_len) ok = false;
        else sum += (uint64_t)lengths[i]; /* at most 2^31 x 2^31: no overflow */
    }
    free(lengths);
    *steps = sum;
    *batch = (uint64_t)batch_size;
    /* three factors below 2^31: below 2^93, so checked */
    const uint64_t dims[3] = {(uint64_t)max_len, (uint64_t)batch_size, (uint64_t)vector};
    bool overflow = false;
    *buffer_elements = nn_product_u64(dims, 3, &overflow);
    return ok && !overflow;
}
