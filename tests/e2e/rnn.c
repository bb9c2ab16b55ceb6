/*
 * rnn: cuDNN's v8 RNN API as PyTorch's cuDNN RNN path calls it.
 *
 *   LSTM, input 256, hidden 512, 2 layers, unidirectional, two bias vectors, batch
 *   of 4 sequences of lengths 35, 35, 30, 20 (120 steps in all), float
 *   GRU, input 64, hidden 128, 1 layer, bidirectional, two bias vectors, batch of 2
 *   sequences of length 10
 *
 * --train runs the LSTM for training: cudnnRNNForward in training mode, then
 * cudnnRNNBackwardData_v8 and cudnnRNNBackwardWeights_v8 (no GRU).
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
    fprintf(stderr, "rnn: line %d: %s failed: %s\n", line, what, cudaGetErrorString(err));
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS) return;
    fprintf(stderr, "rnn: line %d: %s failed: %s\n", line, what, cudnnGetErrorString(st));
    exit(1);
}

static void *device_bytes(size_t n)
{
    void *p = NULL;
    if (n) {
        CHECK_CUDA(cudaMalloc(&p, n));
        CHECK_CUDA(cudaMemset(p, 0, n));
    }
    return p;
}

struct rnn {
    cudnnRNNDescriptor_t desc;
    cudnnRNNDataDescriptor_t x_desc, y_desc;
    cudnnTensorDescriptor_t h_desc;
    int32_t *dev_lengths;
    void *x, *y, *dx, *dy, *hx, *cx, *weights, *dweights, *work, *reserve;
    size_t weight_bytes, work_bytes, reserve_bytes;
};

static cudnnRNNDataDescriptor_t sequence(int max_len, int batch, int vector, const int *lengths)
{
    cudnnRNNDataDescriptor_t d;
    float pad = 0.0f;
    CHECK_CUDNN(cudnnCreateRNNDataDescriptor(&d));
    CHECK_CUDNN(cudnnSetRNNDataDescriptor(d, CUDNN_DATA_FLOAT,
                                          CUDNN_RNN_DATA_LAYOUT_SEQ_MAJOR_UNPACKED, max_len, batch,
                                          vector, lengths, &pad));
    return d;
}

static struct rnn rnn_make(cudnnHandle_t h, cudnnRNNMode_t cell, int input, int hidden, int layers,
                           cudnnDirectionMode_t dir, int batch, int max_len, const int *lengths,
                           cudnnForwardMode_t mode)
{
    struct rnn r;
    int dirs = dir == CUDNN_BIDIRECTIONAL ? 2 : 1;
    CHECK_CUDNN(cudnnCreateRNNDescriptor(&r.desc));
    CHECK_CUDNN(cudnnSetRNNDescriptor_v8(r.desc, CUDNN_RNN_ALGO_STANDARD, cell,
                                         CUDNN_RNN_DOUBLE_BIAS, dir, CUDNN_LINEAR_INPUT,
                                         CUDNN_DATA_FLOAT, CUDNN_DATA_FLOAT, CUDNN_DEFAULT_MATH,
                                         input, hidden, hidden, layers, NULL, 0));
    r.x_desc = sequence(max_len, batch, input, lengths);
    r.y_desc = sequence(max_len, batch, dirs * hidden, lengths);
    int dims[3] = {layers * dirs, batch, hidden}, strides[3] = {batch * hidden, hidden, 1};
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&r.h_desc));
    CHECK_CUDNN(cudnnSetTensorNdDescriptor(r.h_desc, CUDNN_DATA_FLOAT, 3, dims, strides));
    CHECK_CUDNN(cudnnGetRNNWeightSpaceSize(h, r.desc, &r.weight_bytes));
    CHECK_CUDNN(cudnnGetRNNTempSpaceSizes(h, r.desc, mode, r.x_desc, &r.work_bytes,
                                          &r.reserve_bytes));
    r.dev_lengths = device_bytes((size_t)batch * sizeof(int32_t));
    CHECK_CUDA(cudaMemcpy(r.dev_lengths, lengths, (size_t)batch * sizeof(int32_t),
                          cudaMemcpyHostToDevice));
    size_t x_bytes = (size_t)max_len * batch * input * sizeof(float);
    size_t y_bytes = (size_t)max_len * batch * dirs * hidden * sizeof(float);
    size_t h_bytes = (size_t)layers * dirs * batch * hidden * sizeof(float);
    r.x = device_bytes(x_bytes), r.dx = device_bytes(x_bytes);
    r.y = device_bytes(y_bytes), r.dy = device_bytes(y_bytes);
    r.hx = device_bytes(h_bytes), r.cx = device_bytes(h_bytes);
    r.weights = device_bytes(r.weight_bytes), r.dweights = device_bytes(r.weight_bytes);
    r.work = device_bytes(r.work_bytes), r.reserve = device_bytes(r.reserve_bytes);
    return r;
}

static void forward(cudnnHandle_t h, const struct rnn *r, cudnnForwardMode_t mode)
{
    CHECK_CUDNN(cudnnRNNForward(h, r->desc, mode, r->dev_lengths, r->x_desc, r->x, r->y_desc, r->y,
                                r->h_desc, r->hx, NULL, r->h_desc, r->cx, NULL, r->weight_bytes,
                                r->weights, r->work_bytes, r->work, r->reserve_bytes, r->reserve));
}

static void backward(cudnnHandle_t h, const struct rnn *r)
{
    CHECK_CUDNN(cudnnRNNBackwardData_v8(h, r->desc, r->dev_lengths, r->y_desc, r->y, r->dy,
                                        r->x_desc, r->dx, r->h_desc, r->hx, NULL, NULL, r->h_desc,
                                        r->cx, NULL, NULL, r->weight_bytes, r->weights,
                                        r->work_bytes, r->work, r->reserve_bytes, r->reserve));
    CHECK_CUDNN(cudnnRNNBackwardWeights_v8(h, r->desc, CUDNN_WGRAD_MODE_ADD, r->dev_lengths,
                                           r->x_desc, r->x, r->h_desc, r->hx, r->y_desc, r->y,
                                           r->weight_bytes, r->dweights, r->work_bytes, r->work,
                                           r->reserve_bytes, r->reserve));
}

static void rnn_free(struct rnn *r)
{
    CHECK_CUDNN(cudnnDestroyRNNDescriptor(r->desc));
    CHECK_CUDNN(cudnnDestroyRNNDataDescriptor(r->x_desc));
    CHECK_CUDNN(cudnnDestroyRNNDataDescriptor(r->y_desc));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(r->h_desc));
}

int main(int argc, char **argv)
{
    int train = argc > 1 && !strcmp(argv[1], "--train");
    if (argc > 2 || (argc == 2 && !train)) {
        fprintf(stderr, "usage: rnn [--train]\n");
        return 2;
    }
    cudnnHandle_t h;
    CHECK_CUDNN(cudnnCreate(&h));
    cudnnForwardMode_t mode = train ? CUDNN_FWD_MODE_TRAINING : CUDNN_FWD_MODE_INFERENCE;
    static const int lstm_lengths[4] = {35, 35, 30, 20}, gru_lengths[2] = {10, 10};
    struct rnn lstm = rnn_make(h, CUDNN_LSTM, 256, 512, 2, CUDNN_UNIDIRECTIONAL, 4, 35,
                               lstm_lengths, mode);
    forward(h, &lstm, mode);
    if (train) {
        backward(h, &lstm);
    } else {
        struct rnn gru = rnn_make(h, CUDNN_GRU, 64, 128, 1, CUDNN_BIDIRECTIONAL, 2, 10,
                                  gru_lengths, mode);
        forward(h, &gru, mode);
        rnn_free(&gru);
    }
    CHECK_CUDA(cudaDeviceSynchronize());
    printf("rnn done: LSTM weight space %zu bytes\n", lstm.weight_bytes);
    rnn_free(&lstm);
    CHECK_CUDNN(cudnnDestroy(h));
    return 0;
}
