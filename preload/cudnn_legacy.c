/*
 * cudnn_legacy.c: cuDNN's legacy (descriptor) API: convolutions forward and
 * backward, the fused convolution-bias-activation, tensor addition (bias), and the
 * activation and pooling that sit between them.
 *
 * Each wrapper calls the real function with the program's own arguments, then,
 * only when it succeeded, reads the descriptors through the library's getters
 * (never the tensors) and turns them into the counters' plain shapes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <cudnn.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cuda_types.h"
#include "cudnn_read.h"
#include "cudnn_shared.h"
#include "timing.h"

/* ------------------------------------------------------------ reading descriptors */

/* Each copy of cuDNN reads its descriptors with its own getters. */
static struct cudnn_getters getters_per_copy[NN_COPIES];
static int getters_ready[NN_COPIES];
static pthread_mutex_t getters_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void protect_getters_lock(void)
{
    nn_fork_protect(&getters_lock, NULL);
}

static void resolve_getters(const nn_copy *copy, struct cudnn_getters *g)
{
    g->tensor = (__typeof__(g->tensor))nn_copy_lookup(copy, "cudnnGetTensorNdDescriptor");
    g->filter = (__typeof__(g->filter))nn_copy_lookup(copy, "cudnnGetFilterNdDescriptor");
    g->activation = (__typeof__(g->activation))nn_copy_lookup(copy, "cudnnGetActivationDescriptor");
    g->pooling = (__typeof__(g->pooling))nn_copy_lookup(copy, "cudnnGetPoolingNdDescriptor");
    g->stream = (__typeof__(g->stream))nn_copy_lookup(copy, "cudnnGetStream");
    g->lrn = (__typeof__(g->lrn))nn_copy_lookup(copy, "cudnnGetLRNDescriptor");
    g->op_tensor = (__typeof__(g->op_tensor))nn_copy_lookup(copy, "cudnnGetOpTensorDescriptor");
    g->rnn = (__typeof__(g->rnn))nn_copy_lookup(copy, "cudnnGetRNNDescriptor_v8");
    g->rnn_data = (__typeof__(g->rnn_data))nn_copy_lookup(copy, "cudnnGetRNNDataDescriptor");
    if (!g->tensor || !g->filter)
        nn_warn_once(
            "cuDNN's descriptor getters are missing: cuDNN calls are counted without cost");
}

/* Resolved outside the lock (the lookups take the loader's lock), published under it. */
static const struct cudnn_getters *getters(const nn_copy *copy)
{
    int i = copy->index;
    if (!__atomic_load_n(&getters_ready[i], __ATOMIC_ACQUIRE)) {
        struct cudnn_getters found;
        resolve_getters(copy, &found);
        pthread_mutex_lock(&getters_lock);
        if (!getters_ready[i]) getters_per_copy[i] = found;
        __atomic_store_n(&getters_ready[i], 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&getters_lock);
    }
    return &getters_per_copy[i];
}

void *nn_cudnn_handle_stream(const nn_copy *copy, cudnnHandle_t handle)
{
    const struct cudnn_getters *g = getters(copy);
    cudaStream_t s = NULL;
    if (!g->stream || g->stream(handle, &s) != CUDNN_STATUS_SUCCESS) s = NULL;
    return s;
}

/* cuDNN's alpha and beta are host scalars: double for double data, float otherwise. */
static bool cudnn_scalar_is_zero(const void *s, nn_dtype data)
{
    return data == NN_DTYPE_F64 ? nn_host_scalar_is_zero(s, sizeof(double), 1, true)
                                : nn_host_scalar_is_zero(s, sizeof(float), 1, true);
}

static void describe_conv(nn_op *op, const nn_tensor_info *x, const nn_filter_info *w,
                          const nn_tensor_info *y, uint64_t groups)
{
    if (!nn_listing_open()) return;
    size_t pos = 0;
    nn_shape_append(op->shape, sizeof op->shape, &pos, x->dims, x->nb);
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, " * ");
    nn_shape_append(op->shape, sizeof op->shape, &pos, w->dims, w->nb);
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, " -> ");
    nn_shape_append(op->shape, sizeof op->shape, &pos, y->dims, y->nb);
    if (x->channels_last) nn_shape_append_text(op->shape, sizeof op->shape, &pos, " NHWC");
    if (groups > 1) {
        nn_shape_append_text(op->shape, sizeof op->shape, &pos, " groups=");
        nn_shape_append_u64(op->shape, sizeof op->shape, &pos, groups);
    }
}

/* A convolution's tensors in forward terms: x is dx for backward data, y is dy
 * for backward data and filter. */
struct conv_tensors {
    nn_tensor_info x, y;
    nn_filter_info w;
    nn_conv_shape shape;
};

/*
 * Fills op's cost for a convolution whose forward input is x_desc, filter w_desc,
 * forward output y_desc. Returns false when the descriptors cannot be read.
 */
static bool conv_op(const struct cudnn_getters *g, nn_op *op, nn_conv_direction dir,
                    cudnnTensorDescriptor_t x_desc, cudnnFilterDescriptor_t w_desc,
                    cudnnTensorDescriptor_t y_desc, const void *beta, struct conv_tensors *t)
{
    if (!nn_read_tensor(g, x_desc, &t->x) || !nn_read_tensor(g, y_desc, &t->y) ||
        !nn_read_filter(g, w_desc, &t->w) || !nn_conv_shape_from(&t->x, &t->w, &t->y, &t->shape))
        return false;
    nn_dtype written = dir == NN_CONV_FORWARD         ? t->y.dtype
                       : dir == NN_CONV_BACKWARD_DATA ? t->x.dtype
                                                      : t->w.dtype;
    op->cost = nn_conv_cost(&t->shape, dir, !cudnn_scalar_is_zero(beta, written));
    op->dtype = t->x.dtype;
    describe_conv(op, &t->x, &t->w, &t->y, t->shape.groups);
    return true;
}

static void note_output(nn_op *op, const void *ptr, const nn_tensor_info *t)
{
    op->output = ptr;
    op->output_bytes = t->span_bytes;
}

static uint64_t filter_elements(const nn_conv_shape *s)
{
    bool overflow = false;
    return nn_conv_filter_elements(s, &overflow);
}

bool nn_cudnn_conv_cost(const nn_copy *copy, nn_conv_direction dir, cudnnTensorDescriptor_t x_desc,
                        cudnnFilterDescriptor_t w_desc, cudnnTensorDescriptor_t y_desc, nn_op *op)
{
    static const double zero = 0; /* read as a float or a double: 0 either way */
    struct conv_tensors t;
    return conv_op(getters(copy), op, dir, x_desc, w_desc, y_desc, &zero, &t);
}

/* ------------------------------------------------------------ convolutions */

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnConvolutionForward,
        (cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc,
         const void *x, const cudnnFilterDescriptor_t wDesc, const void *w,
         const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
         void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
         const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, alpha, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes, beta,
         yDesc, y))
{
    NN_REAL_OR_RETURN(cudnnConvolutionForward, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, alpha, xDesc, x, wDesc, w, convDesc, algo, workSpace,
                            workSpaceSizeInBytes, beta, yDesc, y);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnConvolutionForward", .workspace_bytes = workSpaceSizeInBytes,
                    .op = "conv_fwd",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        struct conv_tensors t;
        if (op.succeeded &&
            conv_op(getters(copy), &op, NN_CONV_FORWARD, xDesc, wDesc, yDesc, beta, &t)) {
            op.cost_known = true;
            nn_op_add_param(&op, w, filter_elements(&t.shape), t.w.dtype, NN_PARAM_ALWAYS);
            note_output(&op, y, &t.y);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnConvolutionBackwardData,
        (cudnnHandle_t handle, const void *alpha, const cudnnFilterDescriptor_t wDesc,
         const void *w, const cudnnTensorDescriptor_t dyDesc, const void *dy,
         const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdDataAlgo_t algo,
         void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
         const cudnnTensorDescriptor_t dxDesc, void *dx),
        (handle, alpha, wDesc, w, dyDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta,
         dxDesc, dx))
{
    NN_REAL_OR_RETURN(cudnnConvolutionBackwardData, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, alpha, wDesc, w, dyDesc, dy, convDesc, algo, workSpace,
                            workSpaceSizeInBytes, beta, dxDesc, dx);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnConvolutionBackwardData", .workspace_bytes = workSpaceSizeInBytes,
                    .op = "conv_bwd_data",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        struct conv_tensors t;
        if (op.succeeded &&
            conv_op(getters(copy), &op, NN_CONV_BACKWARD_DATA, dxDesc, wDesc, dyDesc, beta, &t)) {
            op.cost_known = true;
            nn_op_add_param(&op, w, filter_elements(&t.shape), t.w.dtype, NN_PARAM_ALWAYS);
            note_output(&op, dx, &t.x);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnConvolutionBackwardFilter,
        (cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t xDesc,
         const void *x, const cudnnTensorDescriptor_t dyDesc, const void *dy,
         const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionBwdFilterAlgo_t algo,
         void *workSpace, size_t workSpaceSizeInBytes, const void *beta,
         const cudnnFilterDescriptor_t dwDesc, void *dw),
        (handle, alpha, xDesc, x, dyDesc, dy, convDesc, algo, workSpace, workSpaceSizeInBytes, beta,
         dwDesc, dw))
{
    NN_REAL_OR_RETURN(cudnnConvolutionBackwardFilter, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, alpha, xDesc, x, dyDesc, dy, convDesc, algo, workSpace,
                            workSpaceSizeInBytes, beta, dwDesc, dw);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnConvolutionBackwardFilter", .workspace_bytes = workSpaceSizeInBytes,
                    .op = "conv_bwd_filter",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        struct conv_tensors t;
        if (op.succeeded &&
            conv_op(getters(copy), &op, NN_CONV_BACKWARD_FILTER, xDesc, dwDesc, dyDesc, beta, &t)) {
            /* dw is a gradient, written here: not a parameter. */
            bool overflow = false;
            op.cost_known = true;
            op.output = dw;
            op.output_bytes = nn_bytes_of(filter_elements(&t.shape), t.w.dtype, &overflow);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

static void add_epilogue(const struct cudnn_getters *g, nn_op *op, const nn_tensor_info *y,
                         cudnnTensorDescriptor_t bias_desc, cudnnTensorDescriptor_t z_desc,
                         const void *alpha2, cudnnActivationDescriptor_t act_desc, const void *bias)
{
    nn_tensor_info b, z;
    nn_epilogue e = {.activation = NN_ACT_IDENTITY};
    if (nn_read_tensor(g, bias_desc, &b)) {
        e.bias = true;
        e.bias_elements = b.elements;
        e.bias_dtype = b.dtype;
        nn_op_add_param(op, bias, b.elements, b.dtype, NN_PARAM_ALWAYS);
    }
    if (!cudnn_scalar_is_zero(alpha2, y->dtype) && nn_read_tensor(g, z_desc, &z)) {
        e.residual = true;
        e.residual_dtype = z.dtype;
    }
    nn_read_activation(g, act_desc, &e.activation);
    nn_epilogue_add_cost(&op->cost, &e, y->elements);
    if (!nn_listing_open()) return;
    size_t pos = strlen(op->shape);
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, e.residual ? " +bias +z " : " +bias ");
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, nn_activation_name(e.activation));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnConvolutionBiasActivationForward,
        (cudnnHandle_t handle, const void *alpha1, const cudnnTensorDescriptor_t xDesc,
         const void *x, const cudnnFilterDescriptor_t wDesc, const void *w,
         const cudnnConvolutionDescriptor_t convDesc, cudnnConvolutionFwdAlgo_t algo,
         void *workSpace, size_t workSpaceSizeInBytes, const void *alpha2,
         const cudnnTensorDescriptor_t zDesc, const void *z, const cudnnTensorDescriptor_t biasDesc,
         const void *bias, const cudnnActivationDescriptor_t activationDesc,
         const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, alpha1, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes,
         alpha2, zDesc, z, biasDesc, bias, activationDesc, yDesc, y))
{
    NN_REAL_OR_RETURN(cudnnConvolutionBiasActivationForward, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st =
        real(handle, alpha1, xDesc, x, wDesc, w, convDesc, algo, workSpace, workSpaceSizeInBytes,
             alpha2, zDesc, z, biasDesc, bias, activationDesc, yDesc, y);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnConvolutionBiasActivationForward", .workspace_bytes = workSpaceSizeInBytes,
                    .op = "conv_bias_act",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        struct conv_tensors t;
        /* y = act(alpha1 conv(x, w) + alpha2 z + bias): the output's old value is
         * not read (z is, as the residual), hence no `beta` for the convolution. */
        static const double zero = 0.0; /* as wide as any cuDNN scalar */
        if (op.succeeded &&
            conv_op(getters(copy), &op, NN_CONV_FORWARD, xDesc, wDesc, yDesc, &zero, &t)) {
            op.cost_known = true;
            nn_op_add_param(&op, w, filter_elements(&t.shape), t.w.dtype, NN_PARAM_ALWAYS);
            add_epilogue(getters(copy), &op, &t.y, biasDesc, zDesc, alpha2, activationDesc, bias);
            note_output(&op, y, &t.y);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

/* ------------------------------------------------------------ elementwise */

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnAddTensor,
        (cudnnHandle_t handle, const void *alpha, const cudnnTensorDescriptor_t aDesc,
         const void *A, const void *beta, const cudnnTensorDescriptor_t cDesc, void *C),
        (handle, alpha, aDesc, A, beta, cDesc, C))
{
    NN_REAL_OR_RETURN(cudnnAddTensor, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, alpha, aDesc, A, beta, cDesc, C);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnAddTensor",
                    .op = "add_tensor",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        nn_tensor_info a, c;
        const struct cudnn_getters *g = getters(copy);
        if (op.succeeded && nn_read_tensor(g, aDesc, &a) && nn_read_tensor(g, cDesc, &c)) {
            op.cost_known = true;
            op.dtype = c.dtype;
            op.cost = nn_add_tensor_cost(a.elements, a.dtype, c.elements, c.dtype,
                                         !cudnn_scalar_is_zero(beta, c.dtype));
            /* A bias is one tensor for the whole batch (N = 1), smaller than C or
             * not, and no earlier operation's output; a residual connection's A is
             * an earlier output, and has the batch's N. */
            if (a.dims[0] == 1)
                nn_op_add_param(&op, A, a.elements, a.dtype, NN_PARAM_UNLESS_ACTIVATION);
            size_t pos = 0;
            if (nn_listing_open()) {
                nn_shape_append(op.shape, sizeof op.shape, &pos, a.dims, a.nb);
                nn_shape_append_text(op.shape, sizeof op.shape, &pos, " + ");
                nn_shape_append(op.shape, sizeof op.shape, &pos, c.dims, c.nb);
            }
            note_output(&op, C, &c);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

static void describe_unary(nn_op *op, const nn_tensor_info *x, const nn_tensor_info *y,
                           const char *what)
{
    if (!nn_listing_open()) return;
    size_t pos = 0;
    nn_shape_append(op->shape, sizeof op->shape, &pos, x->dims, x->nb);
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, " -> ");
    nn_shape_append(op->shape, sizeof op->shape, &pos, y->dims, y->nb);
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, " ");
    nn_shape_append_text(op->shape, sizeof op->shape, &pos, what);
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnActivationForward,
        (cudnnHandle_t handle, cudnnActivationDescriptor_t activationDesc, const void *alpha,
         const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
         const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, activationDesc, alpha, xDesc, x, beta, yDesc, y))
{
    NN_REAL_OR_RETURN(cudnnActivationForward, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, activationDesc, alpha, xDesc, x, beta, yDesc, y);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnActivationForward",
                    .op = "activation",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        nn_tensor_info xi, yi;
        nn_activation act;
        const struct cudnn_getters *g = getters(copy);
        if (op.succeeded && nn_read_tensor(g, xDesc, &xi) && nn_read_tensor(g, yDesc, &yi) &&
            nn_read_activation(g, activationDesc, &act)) {
            op.cost_known = true;
            op.dtype = yi.dtype;
            op.cost = nn_activation_cost(act, yi.elements, xi.dtype, yi.dtype,
                                         !cudnn_scalar_is_zero(beta, yi.dtype));
            describe_unary(&op, &xi, &yi, nn_activation_name(act));
            note_output(&op, y, &yi);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnPoolingForward,
        (cudnnHandle_t handle, const cudnnPoolingDescriptor_t poolingDesc, const void *alpha,
         const cudnnTensorDescriptor_t xDesc, const void *x, const void *beta,
         const cudnnTensorDescriptor_t yDesc, void *y),
        (handle, poolingDesc, alpha, xDesc, x, beta, yDesc, y))
{
    NN_REAL_OR_RETURN(cudnnPoolingForward, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, poolingDesc, alpha, xDesc, x, beta, yDesc, y);
    if (outer) {
        int saved = errno;
        nn_op op = {.api = NN_API_CUDNN,
                    .call = "cudnnPoolingForward",
                    .op = "pool_fwd",
                    .succeeded = st == CUDNN_STATUS_SUCCESS};
        nn_tensor_info xi, yi;
        nn_pool_mode mode;
        uint64_t window;
        const struct cudnn_getters *g = getters(copy);
        if (op.succeeded && nn_read_tensor(g, xDesc, &xi) && nn_read_tensor(g, yDesc, &yi) &&
            nn_read_pooling(g, poolingDesc, &mode, &window)) {
            op.cost_known = true;
            op.dtype = yi.dtype;
            op.cost = nn_pool_cost(mode, window, xi.elements, yi.elements, yi.dtype,
                                   !cudnn_scalar_is_zero(beta, yi.dtype));
            describe_unary(&op, &xi, &yi, mode == NN_POOL_MAX ? "max" : "avg");
            note_output(&op, y, &yi);
        }
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

/* ------------------------------------------------------------ shared with cudnn_*.c */

const struct cudnn_getters *nn_cudnn_getters(const nn_copy *copy)
{
    return getters(copy);
}

bool nn_cudnn_scalar_is_zero(const void *scalar, nn_dtype data)
{
    return cudnn_scalar_is_zero(scalar, data);
}

void nn_cudnn_note_output(nn_op *op, const void *ptr, const nn_tensor_info *t)
{
    note_output(op, ptr, t);
}

void nn_cudnn_describe_unary(nn_op *op, const nn_tensor_info *x, const nn_tensor_info *y,
                             const char *what)
{
    describe_unary(op, x, y, what);
}
