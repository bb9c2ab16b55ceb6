/*
 * AlexNet inference, exactly torchvision.models.alexnet's architecture, written
 * straight against the cuDNN 9 legacy API and cuBLAS v2: the program a closed-source
 * application might be, for nnspy to profile. It runs as is on a real GPU; under the
 * test suite it runs on the simulated device (LD_LIBRARY_PATH=build/sim).
 *
 *   alexnet [--batch N] [--size S] [--iters N] [--conv2-filters K]
 *
 * Prints one line: the top-1 class of sample 0, the sum of all logits and an FNV-1a
 * hash of their bytes, so two runs can be compared (loosely or bit for bit).
 *
 * Expected cost, derived from torchvision, for batch 1 at 224x224:
 *   714,188,480 MACs per forward pass and 61,100,840 parameters.
 * --size 448 works too (the adaptive pool then averages 3x3 windows with stride 2).
 *
 * --conv2-filters K gives conv2 K output channels instead of torchvision's 192 (a
 * model change for `nnspy diff` to find): conv2's weights and bias, its ReLU and the
 * max pool after it, and conv3's input channels follow. At batch 1, 224x224, the
 * cost moves by (K - 192) x (27*27*64*25 + 384*13*13*9) = (K - 192) x 1,750,464 MACs
 * and (K - 192) x (64*25 + 1 + 384*9) = (K - 192) x 5,057 parameters; K = 128 gives
 * 602,158,784 MACs and 60,777,192 parameters.
 *
 * Weights are random (fixed seed), scaled like PyTorch's default initialisation so
 * that activations keep a sane range; no pretrained weights are needed to measure cost.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- error checks */

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "alexnet: line %d: %s failed: %s (%d)\n", line, what,
            cudaGetErrorString(err), (int)err);
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return;
    fprintf(stderr, "alexnet: line %d: %s failed: %s (%d)\n", line, what,
            cudnnGetErrorString(st), (int)st);
    exit(1);
}

static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "alexnet: line %d: %s failed: %s (%d)\n", line, what,
            cublasGetStatusString(st), (int)st);
    exit(1);
}

/* ------------------------------------------------------------ architecture */

enum layer_kind { CONV, MAX_POOL, ADAPTIVE_AVG_POOL, LINEAR };

struct layer_spec {
    enum layer_kind kind;
    int features; /* CONV: output channels; LINEAR: output features */
    int window;   /* CONV: kernel side; MAX_POOL: window side; ADAPTIVE: output side */
    int stride;
    int pad;
    int relu; /* followed by an in-place ReLU */
};

/* torchvision's AlexNet; its Dropout layers are identities at inference and its
 * flatten is free on contiguous NCHW data, so neither appears here. */
static const struct layer_spec ALEXNET[] = {
    {.kind = CONV, .features = 64, .window = 11, .stride = 4, .pad = 2, .relu = 1},
    {.kind = MAX_POOL, .window = 3, .stride = 2},
    {.kind = CONV, .features = 192, .window = 5, .stride = 1, .pad = 2, .relu = 1},
    {.kind = MAX_POOL, .window = 3, .stride = 2},
    {.kind = CONV, .features = 384, .window = 3, .stride = 1, .pad = 1, .relu = 1},
    {.kind = CONV, .features = 256, .window = 3, .stride = 1, .pad = 1, .relu = 1},
    {.kind = CONV, .features = 256, .window = 3, .stride = 1, .pad = 1, .relu = 1},
    {.kind = MAX_POOL, .window = 3, .stride = 2},
    {.kind = ADAPTIVE_AVG_POOL, .window = 6},
    {.kind = LINEAR, .features = 4096, .relu = 1},
    {.kind = LINEAR, .features = 4096, .relu = 1},
    {.kind = LINEAR, .features = 1000},
};
#define N_LAYERS ((int)(sizeof ALEXNET / sizeof ALEXNET[0]))
#define CONV2_LAYER 2 /* ALEXNET[2]: the layer whose output channels --conv2-filters sets */

struct dims {
    int n, c, h, w;
};

struct layer {
    struct layer_spec spec; /* adaptive pools resolved to a plain window and stride */
    struct dims in, out;
    cudnnTensorDescriptor_t x_desc, y_desc, bias_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cudnnPoolingDescriptor_t pool_desc;
    float *weight, *bias; /* each in its own device buffer */
};

struct net {
    struct layer layers[N_LAYERS];
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    cudnnActivationDescriptor_t relu;
    float *input;
    float *act[2]; /* layer i writes act[i % 2] and reads the other one */
    size_t act_elems;
    void *workspace;
    size_t workspace_bytes;
};

static const float ONE = 1.0f, ZERO = 0.0f;

/* ------------------------------------------------------------------ options */

struct options {
    int batch, size, iters;
    int conv2_filters; /* conv2's output channels (torchvision: 192) */
    int cuda_graph;    /* capture one forward pass in a CUDA graph, launch it --iters times */
};

static void usage(FILE *to)
{
    fprintf(to, "usage: alexnet [--batch N] [--size S] [--iters N] [--conv2-filters K] "
                "[--cuda-graph]\n"
                "  --batch N          images per forward pass (default 1)\n"
                "  --size S           input height and width (default 224)\n"
                "  --iters N          forward passes over the same buffers (default 1)\n"
                "  --conv2-filters K  conv2's output channels, and so conv3's input\n"
                "                     channels (default 192, torchvision's)\n"
                "  --cuda-graph       capture one forward pass into a CUDA graph and launch\n"
                "                     it --iters times (as PyTorch's CUDAGraph does)\n");
}

static int parse_positive(const char *text, int max, int *out)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 1 || v > max)
        return -1;
    *out = (int)v;
    return 0;
}

static struct options parse_options(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"batch", required_argument, NULL, 'b'},
        {"size", required_argument, NULL, 's'},
        {"iters", required_argument, NULL, 'i'},
        {"conv2-filters", required_argument, NULL, 'k'},
        {"cuda-graph", no_argument, NULL, 'g'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct options o = {.batch = 1, .size = 224, .iters = 1, .conv2_filters = 192};
    int c, bad = 0;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'b': bad |= parse_positive(optarg, 65536, &o.batch); break;
        case 's': bad |= parse_positive(optarg, 16384, &o.size); break;
        case 'i': bad |= parse_positive(optarg, INT_MAX, &o.iters); break;
        case 'k': bad |= parse_positive(optarg, 16384, &o.conv2_filters); break;
        case 'g': o.cuda_graph = 1; break;
        case 'h': usage(stdout); exit(0);
        default: bad = -1; break;
        }
    }
    if (bad || optind != argc) {
        usage(stderr);
        exit(2);
    }
    return o;
}

/* ------------------------------------------------------------------- shapes */

static void unsupported_size(int size)
{
    fprintf(stderr, "alexnet: input size %d not supported\n", size);
    exit(1);
}

/* Output side of a convolution or pooling window, as PyTorch (and cuDNN) compute it. */
static int sliding_out(int in, int window, int stride, int pad)
{
    int span = in + 2 * pad - window;
    return span < 0 ? 0 : span / stride + 1;
}

/* PyTorch's adaptive pooling windows: [floor(i*in/out), ceil((i+1)*in/out)). */
static int adaptive_start(int i, int in, int out) { return i * in / out; }
static int adaptive_end(int i, int in, int out) { return ((i + 1) * in + out - 1) / out; }

/* An adaptive average pool is one ordinary average pool when all its windows have
 * the same size and start at evenly spaced offsets; returns -1 otherwise. */
static int uniform_adaptive_pool(int in, int out, int *window, int *stride)
{
    int w = adaptive_end(0, in, out) - adaptive_start(0, in, out);
    int s = out > 1 ? adaptive_start(1, in, out) - adaptive_start(0, in, out) : 1;
    if (s < 1)
        return -1;
    for (int i = 0; i < out; i++)
        if (adaptive_start(i, in, out) != i * s
            || adaptive_end(i, in, out) - adaptive_start(i, in, out) != w)
            return -1;
    *window = w;
    *stride = s;
    return 0;
}

/* Fills every layer's input and output dims for this batch, input size and conv2
 * width; each layer's input is the previous one's output, so conv3 follows conv2. */
static void plan_shapes(struct net *net, int batch, int size, int conv2_filters)
{
    struct dims d = {batch, 3, size, size};
    for (int i = 0; i < N_LAYERS; i++) {
        struct layer *l = &net->layers[i];
        l->spec = ALEXNET[i];
        struct layer_spec *s = &l->spec;
        if (i == CONV2_LAYER)
            s->features = conv2_filters;
        if (s->kind == ADAPTIVE_AVG_POOL) {
            int out = s->window;
            if (d.h != d.w || uniform_adaptive_pool(d.h, out, &s->window, &s->stride))
                unsupported_size(size);
        }
        if (s->kind == LINEAR)
            d = (struct dims){d.n, d.c * d.h * d.w, 1, 1}; /* flatten */
        l->in = d;
        if (s->kind == LINEAR) {
            d.c = s->features;
        } else {
            if (s->kind == CONV)
                d.c = s->features;
            d.h = sliding_out(d.h, s->window, s->stride, s->pad);
            d.w = sliding_out(d.w, s->window, s->stride, s->pad);
            if (d.h < 1 || d.w < 1)
                unsupported_size(size);
        }
        l->out = d;
    }
}

static size_t elems(struct dims d) { return (size_t)d.n * d.c * d.h * d.w; }

/* --------------------------------------------------------------- parameters */

static uint64_t rng_state = 0x5eed0a1e7e7ull; /* fixed seed: runs are reproducible */

/* splitmix64: tiny, portable, and the same sequence on every machine. */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [-bound, bound). */
static float rng_uniform(float bound)
{
    float unit = (float)(rng_next() >> 40) * (1.0f / 16777216.0f);
    return (2.0f * unit - 1.0f) * bound;
}

/* A device buffer of n floats, uniform in [-bound, bound), copied from the host. */
static float *upload_random(size_t n, float bound)
{
    float *host = malloc(n * sizeof *host);
    float *dev;
    if (!host) {
        fprintf(stderr, "alexnet: out of host memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        host[i] = rng_uniform(bound);
    CHECK_CUDA(cudaMalloc((void **)&dev, n * sizeof *dev));
    CHECK_CUDA(cudaMemcpy(dev, host, n * sizeof *dev, cudaMemcpyHostToDevice));
    free(host);
    return dev;
}

/* PyTorch's default Conv2d/Linear init bounds weights and biases by 1/sqrt(fan_in). */
static void init_params(struct layer *l)
{
    size_t fan_in = (size_t)l->in.c * l->spec.window * l->spec.window;
    if (l->spec.kind == LINEAR)
        fan_in = (size_t)l->in.c;
    float bound = 1.0f / sqrtf((float)fan_in);
    l->weight = upload_random(fan_in * l->out.c, bound);
    l->bias = upload_random((size_t)l->out.c, bound);
}

/* -------------------------------------------------------------- descriptors */

static cudnnTensorDescriptor_t tensor_desc(struct dims d)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, d.n, d.c,
                                           d.h, d.w));
    return t;
}

static void setup_conv(struct net *net, struct layer *l)
{
    const struct layer_spec *s = &l->spec;
    size_t bytes;
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&l->w_desc));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(l->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW,
                                           l->out.c, l->in.c, s->window, s->window));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&l->conv_desc));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(l->conv_desc, s->pad, s->pad, s->stride,
                                                s->stride, 1, 1, CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT));
    l->bias_desc = tensor_desc((struct dims){1, l->out.c, 1, 1});
    CHECK_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(
        net->cudnn, l->x_desc, l->w_desc, l->conv_desc, l->y_desc,
        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, &bytes));
    if (bytes > net->workspace_bytes)
        net->workspace_bytes = bytes;
    init_params(l);
}

static void setup_pool(struct layer *l)
{
    /* No padding anywhere, so including or excluding padding averages the same;
     * INCLUDE matches PyTorch's AvgPool2d default (count_include_pad=True). */
    cudnnPoolingMode_t mode = l->spec.kind == MAX_POOL
                                  ? CUDNN_POOLING_MAX
                                  : CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING;
    CHECK_CUDNN(cudnnCreatePoolingDescriptor(&l->pool_desc));
    CHECK_CUDNN(cudnnSetPooling2dDescriptor(l->pool_desc, mode, CUDNN_NOT_PROPAGATE_NAN,
                                            l->spec.window, l->spec.window, 0, 0,
                                            l->spec.stride, l->spec.stride));
}

static void setup_linear(struct layer *l)
{
    l->bias_desc = tensor_desc((struct dims){1, l->out.c, 1, 1});
    init_params(l);
}

static void setup_layers(struct net *net)
{
    size_t largest = 0;
    for (int i = 0; i < N_LAYERS; i++) {
        struct layer *l = &net->layers[i];
        l->x_desc = tensor_desc(l->in);
        l->y_desc = tensor_desc(l->out);
        if (l->spec.kind == CONV)
            setup_conv(net, l);
        else if (l->spec.kind == LINEAR)
            setup_linear(l);
        else
            setup_pool(l);
        if (elems(l->out) > largest)
            largest = elems(l->out);
    }
    net->act_elems = largest;
}

static void destroy_layer(struct layer *l)
{
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(l->x_desc));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(l->y_desc));
    if (l->bias_desc)
        CHECK_CUDNN(cudnnDestroyTensorDescriptor(l->bias_desc));
    if (l->w_desc)
        CHECK_CUDNN(cudnnDestroyFilterDescriptor(l->w_desc));
    if (l->conv_desc)
        CHECK_CUDNN(cudnnDestroyConvolutionDescriptor(l->conv_desc));
    if (l->pool_desc)
        CHECK_CUDNN(cudnnDestroyPoolingDescriptor(l->pool_desc));
    CHECK_CUDA(cudaFree(l->weight));
    CHECK_CUDA(cudaFree(l->bias));
}

/* ------------------------------------------------------------------ network */

static void create_net(struct net *net, const struct options *o)
{
    memset(net, 0, sizeof *net);
    plan_shapes(net, o->batch, o->size, o->conv2_filters);
    /* Everything runs on one non-default stream, set on both handles, as
     * frameworks do; nnspy must time the work on the program's own stream. */
    CHECK_CUDA(cudaStreamCreate(&net->stream));
    CHECK_CUDNN(cudnnCreate(&net->cudnn));
    CHECK_CUDNN(cudnnSetStream(net->cudnn, net->stream));
    CHECK_CUBLAS(cublasCreate(&net->cublas));
    CHECK_CUBLAS(cublasSetStream(net->cublas, net->stream));
    CHECK_CUDNN(cudnnCreateActivationDescriptor(&net->relu));
    CHECK_CUDNN(cudnnSetActivationDescriptor(net->relu, CUDNN_ACTIVATION_RELU,
                                             CUDNN_NOT_PROPAGATE_NAN, 0.0));
    setup_layers(net);
    struct dims in = net->layers[0].in;
    net->input = upload_random(elems(in), 1.0f);
    /* Zeroed so that the printed result is defined even on a device that skips the
     * math (the simulated one by default); on a GPU every layer overwrites them. */
    for (int i = 0; i < 2; i++) {
        CHECK_CUDA(cudaMalloc((void **)&net->act[i], net->act_elems * sizeof(float)));
        CHECK_CUDA(cudaMemset(net->act[i], 0, net->act_elems * sizeof(float)));
    }
    if (net->workspace_bytes)
        CHECK_CUDA(cudaMalloc(&net->workspace, net->workspace_bytes));
}

static void destroy_net(struct net *net)
{
    for (int i = 0; i < N_LAYERS; i++)
        destroy_layer(&net->layers[i]);
    CHECK_CUDA(cudaFree(net->workspace));
    CHECK_CUDA(cudaFree(net->act[0]));
    CHECK_CUDA(cudaFree(net->act[1]));
    CHECK_CUDA(cudaFree(net->input));
    CHECK_CUDNN(cudnnDestroyActivationDescriptor(net->relu));
    CHECK_CUBLAS(cublasDestroy(net->cublas));
    CHECK_CUDNN(cudnnDestroy(net->cudnn));
    CHECK_CUDA(cudaStreamDestroy(net->stream));
}

/* y += bias, broadcast over batch (and space); then ReLU in place if asked. */
static void bias_relu(struct net *net, const struct layer *l, float *y)
{
    CHECK_CUDNN(cudnnAddTensor(net->cudnn, &ONE, l->bias_desc, l->bias, &ONE, l->y_desc, y));
    if (l->spec.relu)
        CHECK_CUDNN(cudnnActivationForward(net->cudnn, net->relu, &ONE, l->y_desc, y, &ZERO,
                                           l->y_desc, y));
}

static void conv_forward(struct net *net, const struct layer *l, const float *x, float *y)
{
    CHECK_CUDNN(cudnnConvolutionForward(net->cudnn, &ONE, l->x_desc, x, l->w_desc, l->weight,
                                        l->conv_desc,
                                        CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                        net->workspace, net->workspace_bytes, &ZERO,
                                        l->y_desc, y));
    bias_relu(net, l, y);
}

static void pool_forward(struct net *net, const struct layer *l, const float *x, float *y)
{
    CHECK_CUDNN(cudnnPoolingForward(net->cudnn, l->pool_desc, &ONE, l->x_desc, x, &ZERO,
                                    l->y_desc, y));
}

/* PyTorch's y = x * W^T with W stored row-major out x in. cuBLAS is column-major:
 * W is an (in x out) matrix with ld = in, so op(W) = W^T (out x in); x is (in x batch)
 * with ld = in; y comes out (out x batch) with ld = out, i.e. row-major batch x out,
 * exactly an NCHW batch x out x 1 x 1 tensor. */
static void linear_forward(struct net *net, const struct layer *l, const float *x, float *y)
{
    int in = l->in.c, out = l->out.c, batch = l->in.n;
    CHECK_CUBLAS(cublasSgemm(net->cublas, CUBLAS_OP_T, CUBLAS_OP_N, out, batch, in, &ONE,
                             l->weight, in, x, in, &ZERO, y, out));
    bias_relu(net, l, y);
}

/* One forward pass; returns the device buffer holding the logits. */
static float *forward(struct net *net)
{
    const float *x = net->input;
    float *y = NULL;
    for (int i = 0; i < N_LAYERS; i++) {
        const struct layer *l = &net->layers[i];
        y = net->act[i % 2];
        if (l->spec.kind == CONV)
            conv_forward(net, l, x, y);
        else if (l->spec.kind == LINEAR)
            linear_forward(net, l, x, y);
        else
            pool_forward(net, l, x, y);
        x = y;
    }
    return y;
}

/* ------------------------------------------------------------------- report */

static uint32_t fnv1a(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void print_result(const float *logits, int batch, int classes)
{
    size_t n = (size_t)batch * classes;
    double sum = 0.0;
    int top1 = 0;
    for (size_t i = 0; i < n; i++)
        sum += logits[i];
    for (int i = 1; i < classes; i++)
        if (logits[i] > logits[top1])
            top1 = i;
    printf("top1 %d checksum %.9e fnv1a %08x\n", top1, sum,
           (unsigned)fnv1a(logits, n * sizeof *logits));
}

/* One forward pass captured on the net's stream, then launched `iters` times: the
 * library calls run once, at capture, and do no work then. */
static float *forward_in_graph(struct net *net, int iters)
{
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CHECK_CUDA(cudaStreamBeginCapture(net->stream, cudaStreamCaptureModeGlobal));
    float *logits_dev = forward(net);
    CHECK_CUDA(cudaStreamEndCapture(net->stream, &graph));
    CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    for (int it = 0; it < iters; it++)
        CHECK_CUDA(cudaGraphLaunch(exec, net->stream));
    CHECK_CUDA(cudaStreamSynchronize(net->stream));
    CHECK_CUDA(cudaGraphExecDestroy(exec));
    CHECK_CUDA(cudaGraphDestroy(graph));
    return logits_dev;
}

int main(int argc, char **argv)
{
    struct options o = parse_options(argc, argv);
    struct net net;
    create_net(&net, &o);

    float *logits_dev = o.cuda_graph ? forward_in_graph(&net, o.iters) : NULL;
    for (int it = 0; !o.cuda_graph && it < o.iters; it++)
        logits_dev = forward(&net);
    CHECK_CUDA(cudaStreamSynchronize(net.stream));

    struct dims out = net.layers[N_LAYERS - 1].out;
    size_t n = elems(out);
    float *logits = malloc(n * sizeof *logits);
    if (!logits) {
        fprintf(stderr, "alexnet: out of host memory\n");
        return 1;
    }
    CHECK_CUDA(cudaMemcpy(logits, logits_dev, n * sizeof *logits, cudaMemcpyDeviceToHost));
    print_result(logits, out.n, out.c);
    free(logits);
    destroy_net(&net);
    return 0;
}
