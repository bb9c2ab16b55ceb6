/*
 * mha: cuDNN's multi-head attention as a Transformer layer's self-attention:
 * embedding 512, 8 heads of 64 (Q, K, V projections of 64 per head, output
 * projection to 512), projection biases, a batch of 2 sequences of lengths 64 and
 * 48 (queries, keys and values are one buffer).
 *
 *   full attention forward (every query step sees every key of its sequence)
 *   causal forward (query step t sees keys 0..t: hiWinIdx[t] = t + 1)
 *   one decoding step (currIdx 10, full windows)
 *
 * --train: a full forward, cudnnMultiHeadAttnBackwardData, ...BackwardWeights.
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
    fprintf(stderr, "mha: line %d: %s failed: %s\n", line, what, cudaGetErrorString(err));
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS) return;
    fprintf(stderr, "mha: line %d: %s failed: %s\n", line, what, cudnnGetErrorString(st));
    exit(1);
}

enum { EMBED = 512, HEADS = 8, HEAD = 64, BATCH = 2, MAX_LEN = 64 };
static const int LENGTHS[BATCH] = {64, 48};

static void *device_bytes(size_t n)
{
    void *p;
    CHECK_CUDA(cudaMalloc(&p, n));
    CHECK_CUDA(cudaMemset(p, 0, n));
    return p;
}

struct attention {
    cudnnAttnDescriptor_t desc;
    cudnnSeqDataDescriptor_t seq;
    int *dev_lengths;
    void *x, *out, *dx, *dout, *weights, *dweights, *work, *reserve;
    size_t weight_bytes, work_bytes, reserve_bytes;
    int lo[MAX_LEN], hi[MAX_LEN];
};

static void attention_make(cudnnHandle_t h, struct attention *a)
{
    CHECK_CUDNN(cudnnCreateAttnDescriptor(&a->desc));
    CHECK_CUDNN(cudnnSetAttnDescriptor(a->desc, CUDNN_ATTN_ENABLE_PROJ_BIASES, HEADS, 0.125,
                                       CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_DEFAULT_MATH,
                                       NULL, NULL, EMBED, EMBED, EMBED, HEAD, HEAD, HEAD, EMBED,
                                       MAX_LEN, MAX_LEN, BATCH, 1));
    CHECK_CUDNN(cudnnCreateSeqDataDescriptor(&a->seq));
    int dims[CUDNN_SEQDATA_DIM_COUNT];
    dims[CUDNN_SEQDATA_TIME_DIM] = MAX_LEN, dims[CUDNN_SEQDATA_BATCH_DIM] = BATCH;
    dims[CUDNN_SEQDATA_BEAM_DIM] = 1, dims[CUDNN_SEQDATA_VECT_DIM] = EMBED;
    cudnnSeqDataAxis_t axes[CUDNN_SEQDATA_DIM_COUNT] = {
        CUDNN_SEQDATA_BATCH_DIM, CUDNN_SEQDATA_BEAM_DIM, CUDNN_SEQDATA_TIME_DIM,
        CUDNN_SEQDATA_VECT_DIM};
    float pad = 0;
    CHECK_CUDNN(cudnnSetSeqDataDescriptor(a->seq, CUDNN_DATA_FLOAT, CUDNN_SEQDATA_DIM_COUNT, dims,
                                          axes, BATCH, LENGTHS, &pad));
    CHECK_CUDNN(cudnnGetMultiHeadAttnBuffers(h, a->desc, &a->weight_bytes, &a->work_bytes,
                                             &a->reserve_bytes));
    size_t seq_bytes = (size_t)BATCH * MAX_LEN * EMBED * sizeof(float);
    a->x = device_bytes(seq_bytes), a->out = device_bytes(seq_bytes);
    a->dx = device_bytes(seq_bytes), a->dout = device_bytes(seq_bytes);
    a->weights = device_bytes(a->weight_bytes), a->dweights = device_bytes(a->weight_bytes);
    a->work = device_bytes(a->work_bytes), a->reserve = device_bytes(a->reserve_bytes);
    a->dev_lengths = device_bytes(sizeof LENGTHS);
    CHECK_CUDA(cudaMemcpy(a->dev_lengths, LENGTHS, sizeof LENGTHS, cudaMemcpyHostToDevice));
}

/* Every query step sees keys [0, hi(t)): the whole sequence, or up to itself. */
static void windows(struct attention *a, int causal)
{
    for (int t = 0; t < MAX_LEN; t++) a->lo[t] = 0, a->hi[t] = causal ? t + 1 : MAX_LEN;
}

static void forward(cudnnHandle_t h, struct attention *a, int curr_idx)
{
    CHECK_CUDNN(cudnnMultiHeadAttnForward(
        h, a->desc, curr_idx, a->lo, a->hi, a->dev_lengths, a->dev_lengths, a->seq, a->x, NULL,
        a->seq, a->x, a->seq, a->x, a->seq, a->out, a->weight_bytes, a->weights, a->work_bytes,
        a->work, a->reserve_bytes, a->reserve));
}

static void backward(cudnnHandle_t h, struct attention *a)
{
    CHECK_CUDNN(cudnnMultiHeadAttnBackwardData(
        h, a->desc, a->lo, a->hi, a->dev_lengths, a->dev_lengths, a->seq, a->dout, a->seq, a->dx,
        a->x, a->seq, a->dx, a->x, a->seq, a->dx, a->x, a->weight_bytes, a->weights,
        a->work_bytes, a->work, a->reserve_bytes, a->reserve));
    CHECK_CUDNN(cudnnMultiHeadAttnBackwardWeights(
        h, a->desc, CUDNN_WGRAD_MODE_SET, a->seq, a->x, a->seq, a->x, a->seq, a->x, a->seq,
        a->dout, a->weight_bytes, a->weights, a->dweights, a->work_bytes, a->work,
        a->reserve_bytes, a->reserve));
}

int main(int argc, char **argv)
{
    int train = argc > 1 && !strcmp(argv[1], "--train");
    if (argc > 2 || (argc == 2 && !train)) {
        fprintf(stderr, "usage: mha [--train]\n");
        return 2;
    }
    cudnnHandle_t h;
    CHECK_CUDNN(cudnnCreate(&h));
    struct attention a;
    attention_make(h, &a);
    windows(&a, 0);
    forward(h, &a, -1);
    if (train) {
        backward(h, &a);
    } else {
        windows(&a, 1);
        forward(h, &a, -1);
        windows(&a, 0);
        forward(h, &a, 10);
    }
    CHECK_CUDA(cudaDeviceSynchronize());
    printf("mha done: weight buffer %zu bytes\n", a.weight_bytes);
    CHECK_CUDNN(cudnnDestroySeqDataDescriptor(a.seq));
    CHECK_CUDNN(cudnnDestroyAttnDescriptor(a.desc));
    CHECK_CUDNN(cudnnDestroy(h));
    return 0;
}
