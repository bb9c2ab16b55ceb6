/*
 * cudnn_rnn.c: cuDNN's recurrent networks (cudnnRNNForward, cudnnRNNBackwardData_v8,
 * cudnnRNNBackwardWeights_v8). The cost is the GEMMs each gate runs per step plus
 * the gates' elementwise math (counters/rnn.c); the weight space is the layer's
 * parameters, counted from the descriptor's sizes (not from the size the program
 * passes, which may be larger).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <cudnn.h>

#include "addrmap.h"
#include "core.h"
#include "cudnn_read.h"
#include "cudnn_shared.h"
#include "timing.h"

/* ------------------------------------------------------------ sequence descriptors */

/*
 * What each RNN data descriptor was set to, by descriptor address: its steps in all
 * (value) and batch (extra) in one map, its buffer's elements (padding included) in
 * another. cuDNN 9's cudnnGetRNNDataDescriptor has been seen to return success
 * without writing anything, so nnspy notes the sequence lengths when the program
 * sets them, and asks the getter only for descriptors it did not see set.
 */
#define MAX_SEQUENCE_DESCRIPTORS (1u << 16)
static pthread_mutex_t sequences_lock = PTHREAD_MUTEX_INITIALIZER;
static nn_addrmap sequence_steps = {.max_slots = MAX_SEQUENCE_DESCRIPTORS};
static nn_addrmap sequence_elements = {.max_slots = MAX_SEQUENCE_DESCRIPTORS};

static void forget_sequences(void)
{
    nn_addrmap_clear(&sequence_steps);
    nn_addrmap_clear(&sequence_elements);
}

__attribute__((constructor)) static void protect_sequences_lock(void)
{
    nn_fork_protect(&sequences_lock, forget_sequences);
}

static void note_sequence(const void *desc, int max_len, int batch, int vector,
                          const int *lengths)
{
    if (!desc || !lengths || max_len <= 0 || batch <= 0 || vector <= 0) return;
    uint64_t steps = 0; /* at most 2^31 lengths of at most 2^31: no overflow */
    for (int i = 0; i < batch; i++) steps += lengths[i] > 0 ? (uint64_t)lengths[i] : 0;
    bool overflow = false;
    const uint64_t dims[3] = {(uint64_t)max_len, (uint64_t)batch, (uint64_t)vector};
    uint64_t elements = nn_product_u64(dims, 3, &overflow);
    pthread_mutex_lock(&sequences_lock);
    nn_addrmap_slot *s = nn_addrmap_insert(&sequence_steps, (uintptr_t)desc);
    nn_addrmap_slot *e = nn_addrmap_insert(&sequence_elements, (uintptr_t)desc);
    if (s && e) {
        s->value = steps, s->extra = (uint32_t)batch;
        e->value = overflow ? 0 : elements;
    }
    pthread_mutex_unlock(&sequences_lock);
    if (!s || !e) nn_warn_once("too many RNN data descriptors: later ones are read back");
}

static bool noted_sequence(const void *desc, uint64_t *steps, uint64_t *batch,
                           uint64_t *elements)
{
    pthread_mutex_lock(&sequences_lock);
    const nn_addrmap_slot *s = nn_addrmap_find(&sequence_steps, (uintptr_t)desc);
    const nn_addrmap_slot *e = nn_addrmap_find(&sequence_elements, (uintptr_t)desc);
    if (s && e) *steps = s->value, *batch = s->extra, *elements = e->value;
    pthread_mutex_unlock(&sequences_lock);
    return s && e;
}

/* The steps, batch and buffer elements of a data descriptor: as noted when it was
 * set, else from cuDNN's getter. */
static bool sequence_of(const struct cudnn_getters *g, cudnnRNNDataDescriptor_t d,
                        uint64_t *steps, uint64_t *batch, uint64_t *elements)
{
    return noted_sequence(d, steps, batch, elements) ||
           nn_read_rnn_steps(g, d, steps, batch, elements);
}

/* Not a counted call: it only tells nnspy the sequence lengths. */
NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnSetRNNDataDescriptor,
        (cudnnRNNDataDescriptor_t rnnDataDesc, cudnnDataType_t dataType,
         cudnnRNNDataLayout_t layout, int maxSeqLength, int batchSize, int vectorSize,
         const int seqLengthArray[], void *paddingFill),
        (rnnDataDesc, dataType, layout, maxSeqLength, batchSize, vectorSize, seqLengthArray,
         paddingFill))
{
    NN_REAL_OR_RETURN(cudnnSetRNNDataDescriptor, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    cudnnStatus_t st = real(rnnDataDesc, dataType, layout, maxSeqLength, batchSize, vectorSize,
                            seqLengthArray, paddingFill);
    if (outer && st == CUDNN_STATUS_SUCCESS) {
        int saved = errno;
        note_sequence(rnnDataDesc, maxSeqLength, batchSize, vectorSize, seqLengthArray);
        errno = saved;
    }
    nn_leave();
    return st;
}

/* ------------------------------------------------------------ the passes */

/* The shape of an RNN call: its descriptor and the steps of its input sequence. */
static bool rnn_shape(const struct cudnn_getters *g, cudnnRNNDescriptor_t rnn,
                      cudnnRNNDataDescriptor_t x_desc, nn_rnn_shape *s, uint64_t *x_elements)
{
    return nn_read_rnn(g, rnn, s) && sequence_of(g, x_desc, &s->steps, &s->batch, x_elements);
}

static const char *cell_name(nn_rnn_cell c)
{
    return c == NN_RNN_LSTM ? "lstm" : c == NN_RNN_GRU ? "gru" : c == NN_RNN_RELU ? "rnn_relu"
                                                                               : "rnn_tanh";
}

static void describe_rnn(nn_op *op, const nn_rnn_shape *s)
{
    if (!nn_listing_open()) return;
    snprintf(op->shape, sizeof op->shape, "%s %llu steps x %llu -> %llu%s, layers=%llu%s",
             cell_name(s->cell), (unsigned long long)s->steps,
             (unsigned long long)s->input_size, (unsigned long long)s->hidden_size,
             s->proj_size != s->hidden_size ? " proj" : "", (unsigned long long)s->layers,
             s->directions == 2 ? " bidirectional" : "");
}

/*
 * Fills op for one pass. `weights` is read as the parameters (forward, backward
 * data); `out` is the buffer written (y, dx, or the weight gradients), of
 * `out_elements`.
 */
static bool rnn_op(const struct cudnn_getters *g, nn_op *op, nn_rnn_pass pass,
                   cudnnRNNDescriptor_t rnn, cudnnRNNDataDescriptor_t x_desc,
                   cudnnRNNDataDescriptor_t out_desc, const void *weights, const void *out)
{
    nn_rnn_shape s;
    uint64_t x_elements, out_elements, out_steps, out_batch;
    if (!rnn_shape(g, rnn, x_desc, &s, &x_elements)) return false;
    bool overflow = false;
    uint64_t params = nn_rnn_params(&s, &overflow);
    if (overflow) return false;
    op->cost = nn_rnn_cost(&s, pass);
    op->dtype = s.dtype;
    describe_rnn(op, &s);
    if (pass == NN_RNN_BACKWARD_WEIGHTS) {
        /* dw is a gradient, written here: not a parameter. */
        op->output = out;
        op->output_bytes = nn_bytes_of(params, s.dtype, &overflow);
        return true;
    }
    nn_op_add_param(op, weights, params, s.dtype, NN_PARAM_ALWAYS);
    if (sequence_of(g, out_desc, &out_steps, &out_batch, &out_elements)) {
        op->output = out;
        op->output_bytes = nn_bytes_of(out_elements, s.dtype, &overflow);
    }
    return true;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnRNNForward,
        (cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, cudnnForwardMode_t fwdMode,
         const int32_t devSeqLengths[], cudnnRNNDataDescriptor_t xDesc, const void *x,
         cudnnRNNDataDescriptor_t yDesc, void *y, cudnnTensorDescriptor_t hDesc, const void *hx,
         void *hy, cudnnTensorDescriptor_t cDesc, const void *cx, void *cy, size_t weightSpaceSize,
         const void *weightSpace, size_t workSpaceSize, void *workSpace, size_t reserveSpaceSize,
         void *reserveSpace),
        (handle, rnnDesc, fwdMode, devSeqLengths, xDesc, x, yDesc, y, hDesc, hx, hy, cDesc, cx, cy,
         weightSpaceSize, weightSpace, workSpaceSize, workSpace, reserveSpaceSize, reserveSpace))
{
    NN_CUDNN_BEGIN(cudnnRNNForward);
    cudnnStatus_t st = real(handle, rnnDesc, fwdMode, devSeqLengths, xDesc, x, yDesc, y, hDesc, hx,
                            hy, cDesc, cx, cy, weightSpaceSize, weightSpace, workSpaceSize,
                            workSpace, reserveSpaceSize, reserveSpace);
    NN_CUDNN_END(cudnnRNNForward, "rnn_fwd",
                 (op->workspace_bytes = workSpaceSize,
                  rnn_op(g, op, NN_RNN_FORWARD, rnnDesc, xDesc, yDesc, weightSpace, y)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnRNNBackwardData_v8,
        (cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, const int32_t devSeqLengths[],
         cudnnRNNDataDescriptor_t yDesc, const void *y, const void *dy,
         cudnnRNNDataDescriptor_t xDesc, void *dx, cudnnTensorDescriptor_t hDesc, const void *hx,
         const void *dhy, void *dhx, cudnnTensorDescriptor_t cDesc, const void *cx,
         const void *dcy, void *dcx, size_t weightSpaceSize, const void *weightSpace,
         size_t workSpaceSize, void *workSpace, size_t reserveSpaceSize, void *reserveSpace),
        (handle, rnnDesc, devSeqLengths, yDesc, y, dy, xDesc, dx, hDesc, hx, dhy, dhx, cDesc, cx,
         dcy, dcx, weightSpaceSize, weightSpace, workSpaceSize, workSpace, reserveSpaceSize,
         reserveSpace))
{
    NN_CUDNN_BEGIN(cudnnRNNBackwardData_v8);
    cudnnStatus_t st = real(handle, rnnDesc, devSeqLengths, yDesc, y, dy, xDesc, dx, hDesc, hx,
                            dhy, dhx, cDesc, cx, dcy, dcx, weightSpaceSize, weightSpace,
                            workSpaceSize, workSpace, reserveSpaceSize, reserveSpace);
    NN_CUDNN_END(cudnnRNNBackwardData_v8, "rnn_bwd_data",
                 (op->workspace_bytes = workSpaceSize,
                  rnn_op(g, op, NN_RNN_BACKWARD_DATA, rnnDesc, xDesc, xDesc, weightSpace, dx)));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnRNNBackwardWeights_v8,
        (cudnnHandle_t handle, cudnnRNNDescriptor_t rnnDesc, cudnnWgradMode_t addGrad,
         const int32_t devSeqLengths[], cudnnRNNDataDescriptor_t xDesc, const void *x,
         cudnnTensorDescriptor_t hDesc, const void *hx, cudnnRNNDataDescriptor_t yDesc,
         const void *y, size_t weightSpaceSize, void *dweightSpace, size_t workSpaceSize,
         void *workSpace, size_t reserveSpaceSize, void *reserveSpace),
        (handle, rnnDesc, addGrad, devSeqLengths, xDesc, x, hDesc, hx, yDesc, y, weightSpaceSize,
         dweightSpace, workSpaceSize, workSpace, reserveSpaceSize, reserveSpace))
{
    NN_CUDNN_BEGIN(cudnnRNNBackwardWeights_v8);
    cudnnStatus_t st = real(handle, rnnDesc, addGrad, devSeqLengths, xDesc, x, hDesc, hx, yDesc, y,
                            weightSpaceSize, dweightSpace, workSpaceSize, workSpace,
                            reserveSpaceSize, reserveSpace);
    NN_CUDNN_END(cudnnRNNBackwardWeights_v8, "rnn_bwd_weights",
                 (op->workspace_bytes = workSpaceSize,
                  rnn_op(g, op, NN_RNN_BACKWARD_WEIGHTS, rnnDesc, xDesc, yDesc, NULL,
                         dweightSpace)));
}
