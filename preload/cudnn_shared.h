/*
 * cudnn_shared.h: what the legacy cuDNN wrapper files share (defined in
 * cudnn_legacy.c): each copy's descriptor getters, the handle's stream, host
 * scalars, and the output and shape text of a call.
 */
#ifndef NNSPY_PRELOAD_CUDNN_SHARED_H
#define NNSPY_PRELOAD_CUDNN_SHARED_H

#include <cudnn.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cudnn_read.h"

const struct cudnn_getters *nn_cudnn_getters(const nn_copy *copy);
/* The stream the handle's work goes to, through the copy's own cudnnGetStream; NULL
 * for the default stream. */
void *nn_cudnn_handle_stream(const nn_copy *copy, cudnnHandle_t handle);
/* One convolution's cost (forward terms: x is dx, y is dy as for nn_conv_shape) into
 * op->cost, op->dtype and op->shape; false when the descriptors cannot be read. */
bool nn_cudnn_conv_cost(const nn_copy *copy, nn_conv_direction dir, cudnnTensorDescriptor_t x_desc,
                        cudnnFilterDescriptor_t w_desc, cudnnTensorDescriptor_t y_desc, nn_op *op);
/* cuDNN's alpha and beta are host scalars: double for double data, float otherwise. */
bool nn_cudnn_scalar_is_zero(const void *scalar, nn_dtype data);
/* The buffer the call wrote, so that later operations know it is an activation. */
void nn_cudnn_note_output(nn_op *op, const void *ptr, const nn_tensor_info *t);
/* "x -> y what" as the call's shape text. */
void nn_cudnn_describe_unary(nn_op *op, const nn_tensor_info *x, const nn_tensor_info *y,
                             const char *what);

/* Before the real call: the real function, the reentrancy guard, and the begin
 * event on the handle's stream. */
#define NN_CUDNN_BEGIN(NAME)                                                                       \
    NN_REAL_OR_RETURN(NAME, CUDNN_STATUS_NOT_INITIALIZED);                                         \
    bool outer = nn_enter();                                                                       \
    nn_timing_mark tm_ = {.ctx = -1};                                                              \
    void *stream_ = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;                           \
    if (outer) nn_timing_start(&tm_, stream_)

/*
 * After it: when outermost, records the call as KIND. COST is run only when the
 * call succeeded, with `op` (nn_op *) and `g` (the getters, which a COST working
 * from nnspy's own notes may leave unused) in scope, and says whether the shapes
 * could be read. errno is the program's again after it.
 */
#define NN_CUDNN_END(NAME, KIND, COST)                                                             \
    if (outer) {                                                                                   \
        int saved_ = errno;                                                                        \
        nn_op op_ = {.api = NN_API_CUDNN,                                                          \
                     .call = #NAME,                                                                \
                     .op = KIND,                                                                   \
                     .succeeded = st == CUDNN_STATUS_SUCCESS};                                     \
        if (op_.succeeded) {                                                                       \
            nn_op *op = &op_;                                                                      \
            const struct cudnn_getters *g __attribute__((unused)) = nn_cudnn_getters(copy);        \
            op_.cost_known = (COST);                                                               \
        }                                                                                          \
        nn_timing_finish(&tm_, stream_, op_.succeeded, nn_record_on_stream(&op_, stream_));        \
        errno = saved_;                                                                            \
    }                                                                                              \
    nn_leave();                                                                                    \
    return st

#endif
