/*
 * cudnn_read.h: cuDNN legacy descriptors turned into plain shapes, through the
 * library's own getters (passed in, so that tests can use the toolkit's real
 * libcudnn and the wrappers the copy of the library the program loaded).
 */
#ifndef NNSPY_PRELOAD_CUDNN_READ_H
#define NNSPY_PRELOAD_CUDNN_READ_H

#include <stdbool.h>
#include <stdint.h>

#include <cudnn.h>

#include "counters.h"

#define NN_CUDNN_MAX_DIMS 8 /* CUDNN_DIM_MAX */

struct cudnn_getters {
    cudnnStatus_t (*tensor)(const cudnnTensorDescriptor_t, int, cudnnDataType_t *, int *, int[],
                            int[]);
    cudnnStatus_t (*filter)(const cudnnFilterDescriptor_t, int, cudnnDataType_t *,
                            cudnnTensorFormat_t *, int *, int[]);
    cudnnStatus_t (*activation)(const cudnnActivationDescriptor_t, cudnnActivationMode_t *,
                                cudnnNanPropagation_t *, double *);
    cudnnStatus_t (*pooling)(const cudnnPoolingDescriptor_t, int, cudnnPoolingMode_t *,
                             cudnnNanPropagation_t *, int *, int[], int[], int[]);
    cudnnStatus_t (*stream)(cudnnHandle_t, cudaStream_t *);
    cudnnStatus_t (*lrn)(cudnnLRNDescriptor_t, unsigned *, double *, double *, double *);
    cudnnStatus_t (*op_tensor)(const cudnnOpTensorDescriptor_t, cudnnOpTensorOp_t *,
                               cudnnDataType_t *, cudnnNanPropagation_t *);
    cudnnStatus_t (*rnn)(cudnnRNNDescriptor_t, cudnnRNNAlgo_t *, cudnnRNNMode_t *,
                         cudnnRNNBiasMode_t *, cudnnDirectionMode_t *, cudnnRNNInputMode_t *,
                         cudnnDataType_t *, cudnnDataType_t *, cudnnMathType_t *, int32_t *,
                         int32_t *, int32_t *, int32_t *, cudnnDropoutDescriptor_t *, uint32_t *);
    cudnnStatus_t (*rnn_data)(cudnnRNNDataDescriptor_t, cudnnDataType_t *, cudnnRNNDataLayout_t *,
                              int *, int *, int *, int, int[], void *);
};

typedef struct nn_tensor_info {
    int nb;
    uint64_t dims[NN_CUDNN_MAX_DIMS]; /* logical order: N, C, then spatial */
    int64_t strides[NN_CUDNN_MAX_DIMS];
    nn_dtype dtype;
    uint64_t elements;
    uint64_t span_bytes; /* from the first to one past the last element */
    bool channels_last;  /* C has the smallest stride (NHWC, NDHWC) */
} nn_tensor_info;

typedef struct nn_filter_info {
    int nb;
    uint64_t dims[NN_CUDNN_MAX_DIMS]; /* K, C / groups, then the kernel's dims */
    nn_dtype dtype;
    bool channels_last;
} nn_filter_info;

bool nn_read_tensor(const struct cudnn_getters *g, cudnnTensorDescriptor_t d, nn_tensor_info *t);
bool nn_read_filter(const struct cudnn_getters *g, cudnnFilterDescriptor_t d, nn_filter_info *f);
bool nn_read_activation(const struct cudnn_getters *g, cudnnActivationDescriptor_t d,
                        nn_activation *a);
bool nn_read_pooling(const struct cudnn_getters *g, cudnnPoolingDescriptor_t d, nn_pool_mode *mode,
                     uint64_t *window);

/* The window (lrnN channels) of a cross-channel LRN. */
bool nn_read_lrn(const struct cudnn_getters *g, cudnnLRNDescriptor_t d, uint64_t *window);
/* An op-tensor's operation; *unary for those that ignore B (sqrt, not). */
bool nn_read_op_tensor(const struct cudnn_getters *g, cudnnOpTensorDescriptor_t d,
                       const char **name, bool *unary);

/* An RNN descriptor's cell, sizes, layers, directions, biases and input mode
 * (steps and batch are left to nn_read_rnn_steps). */
bool nn_read_rnn(const struct cudnn_getters *g, cudnnRNNDescriptor_t d, nn_rnn_shape *s);
/* Larger RNN batches (far beyond what cuDNN runs) are not read: the lengths are
 * copied to the heap. */
#define NN_RNN_MAX_BATCH (1 << 20)
/* The time steps of an RNN data descriptor in all (the sum of its sequence
 * lengths), its batch size, and the elements of its buffer (max length x batch x
 * vector size, padding included). */
bool nn_read_rnn_steps(const struct cudnn_getters *g, cudnnRNNDataDescriptor_t d,
                       uint64_t *steps, uint64_t *batch, uint64_t *buffer_elements);

/*
 * The convolution of input x, filter w and output y (forward terms). Groups come
 * from x's channels over w's second dimension. False when the shapes disagree.
 */
bool nn_conv_shape_from(const nn_tensor_info *x, const nn_filter_info *w, const nn_tensor_info *y,
                        nn_conv_shape *s);

#endif
