/*
 * cudnn_attn.c: cuDNN's multi-head attention (cudnnMultiHeadAttnForward,
 * cudnnMultiHeadAttnBackwardData, cudnnMultiHeadAttnBackwardWeights). The cost is
 * the projections with the weight buffer plus Q K^T and P V over the attention
 * windows, and the softmax (counters/attention.c). The weight buffer is the
 * parameters; queries, keys and values are activations, never parameters.
 *
 * cuDNN 9's cudnnGetAttnDescriptor and cudnnGetSeqDataDescriptor return success
 * without writing anything (seen with this toolkit), so nnspy notes what the
 * program sets (cudnnSetAttnDescriptor, cudnnSetSeqDataDescriptor), by descriptor
 * address. A call whose descriptors nnspy did not see set is counted at unknown
 * cost.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cudnn.h>

#include "addrmap.h"
#include "core.h"
#include "cuda_types.h"
#include "cudnn_shared.h"
#include "timing.h"

/* ------------------------------------------------------------ noted descriptors */

/* An attention descriptor as set: the counters' shape without the token counts. */
struct attn_note {
    nn_attn_shape shape;
    int qo_max_len; /* the window arrays' length */
};

/* A sequence-data descriptor as set: its lengths (batch x beam, beam fastest). */
struct seq_note {
    int batch, beam, time, vector;
    int *lengths;
};

#define MAX_NOTED (1u << 16)
static pthread_mutex_t notes_lock = PTHREAD_MUTEX_INITIALIZER;
/* descriptor address -> index + 1 into the arrays below */
static nn_addrmap attn_index = {.max_slots = MAX_NOTED}, seq_index = {.max_slots = MAX_NOTED};
static struct attn_note *attn_notes;
static struct seq_note *seq_notes;
static uint64_t n_attn_notes, n_seq_notes;

static void forget_notes(void)
{
    for (uint64_t i = 0; i < n_seq_notes; i++) free(seq_notes[i].lengths);
    free(attn_notes), free(seq_notes);
    attn_notes = NULL, seq_notes = NULL;
    n_attn_notes = n_seq_notes = 0;
    nn_addrmap_clear(&attn_index);
    nn_addrmap_clear(&seq_index);
}

__attribute__((constructor)) static void protect_notes_lock(void)
{
    nn_fork_protect(&notes_lock, forget_notes);
}

/* The slot for desc in `notes` (grown by one when new); NULL when full. Locked. */
static void *note_slot(nn_addrmap *index, void **notes, uint64_t *count, size_t size,
                       const void *desc)
{
    nn_addrmap_slot *s = nn_addrmap_insert(index, (uintptr_t)desc);
    if (!s) return NULL;
    if (!s->value) {
        void *grown = realloc(*notes, (*count + 1) * size);
        if (!grown) {
            nn_addrmap_erase(index, (uintptr_t)desc);
            return NULL;
        }
        *notes = grown;
        memset((char *)grown + *count * size, 0, size);
        s->value = ++*count;
    }
    return (char *)*notes + (s->value - 1) * size;
}

static void note_attn(const void *desc, const struct attn_note *n)
{
    pthread_mutex_lock(&notes_lock);
    struct attn_note *slot = note_slot(&attn_index, (void **)&attn_notes, &n_attn_notes,
                                       sizeof *attn_notes, desc);
    if (slot) *slot = *n;
    pthread_mutex_unlock(&notes_lock);
    if (!slot) nn_warn_once("too many attention descriptors: later ones are not counted");
}

/* Takes ownership of n->lengths. */
static void note_seq(const void *desc, struct seq_note *n)
{
    pthread_mutex_lock(&notes_lock);
    struct seq_note *slot = note_slot(&seq_index, (void **)&seq_notes, &n_seq_notes,
                                      sizeof *seq_notes, desc);
    if (slot) {
        free(slot->lengths);
        *slot = *n;
    }
    pthread_mutex_unlock(&notes_lock);
    if (!slot) {
        free(n->lengths);
        nn_warn_once("too many sequence-data descriptors: later ones are not counted");
    }
}

/* ------------------------------------------------------------ the Set calls */

static uint64_t size_or_zero(int v)
{
    return v > 0 ? (uint64_t)v : 0;
}

/* Not counted calls: they only tell nnspy the shapes. */
NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnSetAttnDescriptor,
        (cudnnAttnDescriptor_t attnDesc, unsigned attnMode, int nHeads, double smScaler,
         cudnnDataType_t dataType, cudnnDataType_t computePrec, cudnnMathType_t mathType,
         cudnnDropoutDescriptor_t attnDropoutDesc, cudnnDropoutDescriptor_t postDropoutDesc,
         int qSize, int kSize, int vSize, int qProjSize, int kProjSize, int vProjSize,
         int oProjSize, int qoMaxSeqLength, int kvMaxSeqLength, int maxBatchSize,
         int maxBeamSize),
        (attnDesc, attnMode, nHeads, smScaler, dataType, computePrec, mathType, attnDropoutDesc,
         postDropoutDesc, qSize, kSize, vSize, qProjSize, kProjSize, vProjSize, oProjSize,
         qoMaxSeqLength, kvMaxSeqLength, maxBatchSize, maxBeamSize))
{
    NN_REAL_OR_RETURN(cudnnSetAttnDescriptor, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    cudnnStatus_t st =
        real(attnDesc, attnMode, nHeads, smScaler, dataType, computePrec, mathType,
             attnDropoutDesc, postDropoutDesc, qSize, kSize, vSize, qProjSize, kProjSize,
             vProjSize, oProjSize, qoMaxSeqLength, kvMaxSeqLength, maxBatchSize, maxBeamSize);
    if (outer && st == CUDNN_STATUS_SUCCESS && attnDesc) {
        int saved = errno;
        struct attn_note n = {
            .shape = {.heads = size_or_zero(nHeads),
                      .q_size = size_or_zero(qSize),
                      .k_size = size_or_zero(kSize),
                      .v_size = size_or_zero(vSize),
                      .q_proj = size_or_zero(qProjSize),
                      .k_proj = size_or_zero(kProjSize),
                      .v_proj = size_or_zero(vProjSize),
                      .o_proj = size_or_zero(oProjSize),
                      .proj_biases = (attnMode & CUDNN_ATTN_ENABLE_PROJ_BIASES) != 0,
                      .dtype = nn_from_cudnn_dtype(dataType)},
            .qo_max_len = qoMaxSeqLength};
        note_attn(attnDesc, &n);
        errno = saved;
    }
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnSetSeqDataDescriptor,
        (cudnnSeqDataDescriptor_t seqDataDesc, cudnnDataType_t dataType, int nbDims,
         const int dimA[], const cudnnSeqDataAxis_t axes[], size_t seqLengthArraySize,
         const int seqLengthArray[], void *paddingFill),
        (seqDataDesc, dataType, nbDims, dimA, axes, seqLengthArraySize, seqLengthArray,
         paddingFill))
{
    NN_REAL_OR_RETURN(cudnnSetSeqDataDescriptor, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    cudnnStatus_t st = real(seqDataDesc, dataType, nbDims, dimA, axes, seqLengthArraySize,
                            seqLengthArray, paddingFill);
    /* dimA is indexed by axis (time, batch, beam, vector), whatever the layout. */
    if (outer && st == CUDNN_STATUS_SUCCESS && seqDataDesc && dimA && seqLengthArray &&
        nbDims == CUDNN_SEQDATA_DIM_COUNT) {
        int saved = errno;
        struct seq_note n = {.batch = dimA[CUDNN_SEQDATA_BATCH_DIM],
                             .beam = dimA[CUDNN_SEQDATA_BEAM_DIM],
                             .time = dimA[CUDNN_SEQDATA_TIME_DIM],
                             .vector = dimA[CUDNN_SEQDATA_VECT_DIM]};
        size_t count = (size_t)n.batch * (size_t)n.beam;
        if (n.batch > 0 && n.beam > 0 && seqLengthArraySize >= count &&
            (n.lengths = malloc(count * sizeof *n.lengths))) {
            memcpy(n.lengths, seqLengthArray, count * sizeof *n.lengths);
            note_seq(seqDataDesc, &n);
        }
        errno = saved;
    }
    nn_leave();
    return st;
}

/* ------------------------------------------------------------ shapes of a call */

/* A query sequence's keys: its batch item's, the same beam when K has beams. */
static int key_length(const struct seq_note *k, int b, int m)
{
    return k->lengths[(size_t)b * (size_t)k->beam + (size_t)(k->beam == 1 ? 0 : m)];
}

/* Keys query step t attends to: [lo[t], hi[t]) within [0, keys). */
static uint64_t window(const int *lo, const int *hi, int t, int keys)
{
    int from = lo ? lo[t] : 0, to = hi ? hi[t] : keys;
    if (from < 0) from = 0;
    if (to > keys) to = keys;
    return to > from ? (uint64_t)(to - from) : 0;
}

/*
 * Token counts and score elements of a call over the noted q and k sequences: every
 * query step below its sequence's length (only step curr_idx when it is >= 0),
 * attending to the keys of its window. Locked.
 */
static bool count_tokens(nn_attn_shape *s, int qo_max_len, const struct seq_note *q,
                         const struct seq_note *k, int curr_idx, const int *lo, const int *hi)
{
    if (q->batch != k->batch || (k->beam != 1 && k->beam != q->beam)) return false;
    for (size_t i = 0; i < (size_t)k->batch * (size_t)k->beam; i++)
        s->k_tokens += size_or_zero(k->lengths[i]);
    for (int b = 0; b < q->batch; b++)
        for (int m = 0; m < q->beam; m++) {
            int len = q->lengths[(size_t)b * (size_t)q->beam + (size_t)m], keys = key_length(k, b, m);
            int first = curr_idx >= 0 ? curr_idx : 0, end = curr_idx >= 0 ? curr_idx + 1 : len;
            for (int t = first; t < end && t < len && t < qo_max_len; t++) {
                s->q_tokens++;
                s->scores += window(lo, hi, t, keys);
            }
        }
    return true;
}

static bool attn_shape(const void *attn, const void *q_desc, const void *k_desc, int curr_idx,
                       const int *lo, const int *hi, nn_attn_shape *s)
{
    pthread_mutex_lock(&notes_lock);
    const nn_addrmap_slot *a = nn_addrmap_find(&attn_index, (uintptr_t)attn);
    const nn_addrmap_slot *q = nn_addrmap_find(&seq_index, (uintptr_t)q_desc);
    const nn_addrmap_slot *k = nn_addrmap_find(&seq_index, (uintptr_t)k_desc);
    bool ok = a && q && k;
    if (ok) {
        *s = attn_notes[a->value - 1].shape;
        ok = count_tokens(s, attn_notes[a->value - 1].qo_max_len, &seq_notes[q->value - 1],
                          &seq_notes[k->value - 1], curr_idx, lo, hi);
    }
    pthread_mutex_unlock(&notes_lock);
    return ok;
}

static void describe_attn(nn_op *op, const nn_attn_shape *s)
{
    if (!nn_listing_open()) return;
    snprintf(op->shape, sizeof op->shape, "%llu heads, %llu q x %llu kv tokens, d=%llu",
             (unsigned long long)s->heads, (unsigned long long)s->q_tokens,
             (unsigned long long)s->k_tokens,
             (unsigned long long)(s->q_proj ? s->q_proj : s->q_size));
}

/* Fills op for one pass: `weights` read as parameters (forward, backward data), or
 * `written` the weight gradients (backward weights). */
static bool attn_op(nn_op *op, nn_attn_pass pass, nn_attn_shape *s, const void *weights,
                    const void *written)
{
    bool overflow = false;
    uint64_t params = nn_attn_params(s, &overflow);
    if (overflow) return false;
    op->cost = nn_attn_cost(s, pass);
    op->dtype = s->dtype;
    describe_attn(op, s);
    if (pass == NN_ATTN_BACKWARD_WEIGHTS) {
        op->output = written;
        op->output_bytes = nn_bytes_of(params, s->dtype, &overflow);
    } else {
        nn_op_add_param(op, weights, params, s->dtype, NN_PARAM_ALWAYS);
    }
    return true;
}

static bool forward_op(nn_op *op, const void *attn, int curr_idx, const int *lo, const int *hi,
                       const void *q_desc, const void *k_desc, const void *residuals,
                       const void *weights, const void *out)
{
    nn_attn_shape s;
    if (!attn_shape(attn, q_desc, k_desc, curr_idx, lo, hi, &s)) return false;
    s.residual = residuals != NULL;
    if (!attn_op(op, NN_ATTN_FORWARD, &s, weights, NULL)) return false;
    bool overflow = false;
    const uint64_t heads_out[2] = {s.heads, s.v_proj ? s.v_proj : s.v_size};
    uint64_t out_size = s.o_proj ? s.o_proj : nn_product_u64(heads_out, 2, &overflow);
    const uint64_t out_elements[2] = {s.q_tokens, out_size};
    op->output = out;
    op->output_bytes = nn_bytes_of(nn_product_u64(out_elements, 2, &overflow), s.dtype, &overflow);
    if (overflow) op->output_bytes = 0;
    return true;
}

/* ------------------------------------------------------------ the passes */

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnMultiHeadAttnForward,
        (cudnnHandle_t handle, const cudnnAttnDescriptor_t attnDesc, int currIdx,
         const int loWinIdx[], const int hiWinIdx[], const int devSeqLengthsQO[],
         const int devSeqLengthsKV[], const cudnnSeqDataDescriptor_t qDesc, const void *queries,
         const void *residuals, const cudnnSeqDataDescriptor_t kDesc, const void *keys,
         const cudnnSeqDataDescriptor_t vDesc, const void *values,
         const cudnnSeqDataDescriptor_t oDesc, void *out, size_t weightSizeInBytes,
         const void *weights, size_t workSpaceSizeInBytes, void *workSpace,
         size_t reserveSpaceSizeInBytes, void *reserveSpace),
        (handle, attnDesc, currIdx, loWinIdx, hiWinIdx, devSeqLengthsQO, devSeqLengthsKV, qDesc,
         queries, residuals, kDesc, keys, vDesc, values, oDesc, out, weightSizeInBytes, weights,
         workSpaceSizeInBytes, workSpace, reserveSpaceSizeInBytes, reserveSpace))
{
    NN_CUDNN_BEGIN(cudnnMultiHeadAttnForward);
    cudnnStatus_t st =
        real(handle, attnDesc, currIdx, loWinIdx, hiWinIdx, devSeqLengthsQO, devSeqLengthsKV,
             qDesc, queries, residuals, kDesc, keys, vDesc, values, oDesc, out, weightSizeInBytes,
             weights, workSpaceSizeInBytes, workSpace, reserveSpaceSizeInBytes, reserveSpace);
    NN_CUDNN_END(cudnnMultiHeadAttnForward, "mha_fwd",
                 (op->workspace_bytes = workSpaceSizeInBytes,
                  forward_op(op, attnDesc, currIdx, loWinIdx, hiWinIdx, qDesc, kDesc, residuals,
                             weights, out)));
}

static bool backward_data_op(nn_op *op, const void *attn, const int *lo, const int *hi,
                             const void *q_desc, const void *k_desc, const void *weights)
{
    nn_attn_shape s;
    return attn_shape(attn, q_desc, k_desc, -1, lo, hi, &s) &&
           attn_op(op, NN_ATTN_BACKWARD_DATA, &s, weights, NULL);
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnMultiHeadAttnBackwardData,
        (cudnnHandle_t handle, const cudnnAttnDescriptor_t attnDesc, const int loWinIdx[],
         const int hiWinIdx[], const int devSeqLengthsDQDO[], const int devSeqLengthsDKDV[],
         const cudnnSeqDataDescriptor_t doDesc, const void *dout,
         const cudnnSeqDataDescriptor_t dqDesc, void *dqueries, const void *queries,
         const cudnnSeqDataDescriptor_t dkDesc, void *dkeys, const void *keys,
         const cudnnSeqDataDescriptor_t dvDesc, void *dvalues, const void *values,
         size_t weightSizeInBytes, const void *weights, size_t workSpaceSizeInBytes,
         void *workSpace, size_t reserveSpaceSizeInBytes, void *reserveSpace),
        (handle, attnDesc, loWinIdx, hiWinIdx, devSeqLengthsDQDO, devSeqLengthsDKDV, doDesc, dout,
         dqDesc, dqueries, queries, dkDesc, dkeys, keys, dvDesc, dvalues, values,
         weightSizeInBytes, weights, workSpaceSizeInBytes, workSpace, reserveSpaceSizeInBytes,
         reserveSpace))
{
    NN_CUDNN_BEGIN(cudnnMultiHeadAttnBackwardData);
    cudnnStatus_t st = real(handle, attnDesc, loWinIdx, hiWinIdx, devSeqLengthsDQDO,
                            devSeqLengthsDKDV, doDesc, dout, dqDesc, dqueries, queries, dkDesc,
                            dkeys, keys, dvDesc, dvalues, values, weightSizeInBytes, weights,
                            workSpaceSizeInBytes, workSpace, reserveSpaceSizeInBytes, reserveSpace);
    NN_CUDNN_END(cudnnMultiHeadAttnBackwardData, "mha_bwd_data",
                 (op->workspace_bytes = workSpaceSizeInBytes,
                  backward_data_op(op, attnDesc, loWinIdx, hiWinIdx, dqDesc, dkDesc, weights)));
}

static bool backward_weights_op(nn_op *op, const void *attn, const void *q_desc,
                                const void *k_desc, const void *dweights)
{
    nn_attn_shape s;
    return attn_shape(attn, q_desc, k_desc, -1, NULL, NULL, &s) &&
           attn_op(op, NN_ATTN_BACKWARD_WEIGHTS, &s, NULL, dweights);
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnMultiHeadAttnBackwardWeights,
        (cudnnHandle_t handle, const cudnnAttnDescriptor_t attnDesc, cudnnWgradMode_t addGrad,
         const cudnnSeqDataDescriptor_t qDesc, const void *queries,
         const cudnnSeqDataDescriptor_t kDesc, const void *keys,
         const cudnnSeqDataDescriptor_t vDesc, const void *values,
         const cudnnSeqDataDescriptor_t doDesc, const void *dout, size_t weightSizeInBytes,
         const void *weights, void *dweights, size_t workSpaceSizeInBytes, void *workSpace,
         size_t reserveSpaceSizeInBytes, void *reserveSpace),
        (handle, attnDesc, addGrad, qDesc, queries, kDesc, keys, vDesc, values, doDesc, dout,
         weightSizeInBytes, weights, dweights, workSpaceSizeInBytes, workSpace,
         reserveSpaceSizeInBytes, reserveSpace))
{
    NN_CUDNN_BEGIN(cudnnMultiHeadAttnBackwardWeights);
    cudnnStatus_t st = real(handle, attnDesc, addGrad, qDesc, queries, kDesc, keys, vDesc, values,
                            doDesc, dout, weightSizeInBytes, weights, dweights,
                            workSpaceSizeInBytes, workSpace, reserveSpaceSizeInBytes, reserveSpace);
    NN_CUDNN_END(cudnnMultiHeadAttnBackwardWeights, "mha_bwd_weights",
                 (op->workspace_bytes = workSpaceSizeInBytes,
                  backward_weights_op(op, attnDesc, qDesc, kDesc, dweights)));
}
