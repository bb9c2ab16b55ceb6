/*
 * driver: the benchmark's load. Each of THREADS host threads, with its own handles,
 * stream and buffers, makes CALLS intercepted calls, cycling through MIX, a
 * comma-separated list of:
 *
 *   conv  cudnnConvolutionForward   (legacy cuDNN)
 *   gemm  cublasSgemm_v2            (cuBLAS)
 *   lt    cublasLtMatmul            (cuBLASLt)
 *   graph cudnnBackendExecute       (cuDNN's graph API: the convolution's cached plan)
 *
 * The shapes are tiny: on the simulated device a kernel does no math and only moves
 * a virtual clock, so what is measured is the CPU cost of the call path.
 *
 *   driver MIX THREADS CALLS
 *
 * Prints one line on stdout, "ns_per_call WALL CPU": from the moment every thread is
 * ready to the moment the last one is done, the wall time and the CPU time of the
 * whole process (every thread, nnspy's trace writer included), each divided by all
 * threads' calls. The CPU time is what a busy shared machine disturbs least. Set-up,
 * exit and nnspy's exit report are outside that window.
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_THREADS 64
#define MAX_MIX     16

enum call_kind { CALL_CONV, CALL_GEMM, CALL_LT, CALL_GRAPH };

static enum call_kind mix[MAX_MIX];
static int mix_len;
static long calls_per_thread;
static pthread_barrier_t ready, done;

static void die(const char *what, int code, int line)
{
    fprintf(stderr, "driver: line %d: %s failed (%d)\n", line, what, code);
    exit(1);
}
#define CHECK(call)                                                                                \
    do {                                                                                           \
        int rc_ = (int)(call);                                                                     \
        if (rc_ != 0) die(#call, rc_, __LINE__);                                                   \
    } while (0)

enum { M = 8, N = 4, K = 16 };
static const float ONE = 1.0f, ZERO = 0.0f;

/* Everything one thread owns. */
struct worker {
    pthread_t thread;
    cudaStream_t stream;
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    cublasLtHandle_t lt;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    cublasLtMatmulDesc_t matmul;
    cublasLtMatrixLayout_t a_layout, b_layout, c_layout;
    float *a, *b, *c, *x, *w, *y;
    cudnnBackendDescriptor_t plan, pack; /* the convolution through the graph API */
};

static float *device_floats(size_t n)
{
    float *p;
    CHECK(cudaMalloc((void **)&p, n * sizeof *p));
    CHECK(cudaMemset(p, 0, n * sizeof *p));
    return p;
}

static cudnnTensorDescriptor_t tensor(int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK(cudnnCreateTensorDescriptor(&t));
    CHECK(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 1, h, w));
    return t;
}

static cublasLtMatrixLayout_t layout(int rows, int cols)
{
    cublasLtMatrixLayout_t l;
    CHECK(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, (uint64_t)rows, (uint64_t)cols, rows));
    return l;
}

/* ------------------------------------------------------------ the graph API's plan */

static cudnnBackendDescriptor_t backend(cudnnBackendDescriptorType_t type)
{
    cudnnBackendDescriptor_t d;
    CHECK(cudnnBackendCreateDescriptor(type, &d));
    return d;
}

static void set_attr(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                     cudnnBackendAttributeType_t t, int64_t n, const void *v)
{
    CHECK(cudnnBackendSetAttribute(d, a, t, n, v));
}

static cudnnBackendDescriptor_t graph_tensor(int64_t uid, int64_t h, int64_t w)
{
    int64_t dims[4] = {1, 1, h, w}, strides[4] = {h * w, h * w, w, 1}, align = 4;
    cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    cudnnBackendDescriptor_t t = backend(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    set_attr(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    set_attr(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims);
    set_attr(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides);
    set_attr(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    set_attr(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    CHECK(cudnnBackendFinalize(t));
    return t;
}

/* The same convolution as `conv`, as a plan made once and executed at each call. */
static void graph_setup(struct worker *wk)
{
    cudnnBackendDescriptor_t x = graph_tensor('x', 4, 4), w = graph_tensor('w', 3, 3),
                             y = graph_tensor('y', 2, 2);
    cudnnBackendDescriptor_t conv = backend(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    int64_t sp = 2, pad[2] = {0, 0}, one[2] = {1, 1}, got = 0;
    cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    set_attr(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &sp);
    set_attr(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    set_attr(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
    set_attr(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad);
    set_attr(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, one);
    set_attr(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, one);
    CHECK(cudnnBackendFinalize(conv));
    cudnnBackendDescriptor_t op = backend(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    set_attr(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x);
    set_attr(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w);
    set_attr(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y);
    set_attr(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, CUDNN_TYPE_BACKEND_DESCRIPTOR,
             1, &conv);
    CHECK(cudnnBackendFinalize(op));
    cudnnBackendDescriptor_t graph = backend(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    set_attr(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
    CHECK(cudnnBackendFinalize(graph));
    cudnnBackendDescriptor_t heur = backend(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    set_attr(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    set_attr(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    CHECK(cudnnBackendFinalize(heur));
    cudnnBackendDescriptor_t cfg = backend(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    CHECK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR,
                                   1, &got, &cfg));
    wk->plan = backend(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    set_attr(wk->plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &wk->cudnn);
    set_attr(wk->plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
             &cfg);
    CHECK(cudnnBackendFinalize(wk->plan));
    int64_t uids[3] = {'x', 'w', 'y'};
    void *ptrs[3] = {wk->x, wk->w, wk->y}, *workspace = NULL;
    wk->pack = backend(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    set_attr(wk->pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    set_attr(wk->pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3, ptrs);
    set_attr(wk->pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    CHECK(cudnnBackendFinalize(wk->pack));
}

static void setup(struct worker *wk)
{
    CHECK(cudaStreamCreate(&wk->stream));
    CHECK(cudnnCreate(&wk->cudnn));
    CHECK(cudnnSetStream(wk->cudnn, wk->stream));
    CHECK(cublasCreate(&wk->cublas));
    CHECK(cublasSetStream(wk->cublas, wk->stream));
    CHECK(cublasLtCreate(&wk->lt));
    /* conv: 1x1x4x4 input, 1x1x3x3 filter, no padding -> 1x1x2x2 */
    wk->x_desc = tensor(4, 4);
    wk->y_desc = tensor(2, 2);
    CHECK(cudnnCreateFilterDescriptor(&wk->w_desc));
    CHECK(cudnnSetFilter4dDescriptor(wk->w_desc, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 1, 1, 3, 3));
    CHECK(cudnnCreateConvolutionDescriptor(&wk->conv_desc));
    CHECK(cudnnSetConvolution2dDescriptor(wk->conv_desc, 0, 0, 1, 1, 1, 1,
                                          CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    /* GEMM and Lt matmul: column-major C(8x4) = A(8x16) * B(16x4) */
    CHECK(cublasLtMatmulDescCreate(&wk->matmul, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    wk->a_layout = layout(M, K);
    wk->b_layout = layout(K, N);
    wk->c_layout = layout(M, N);
    wk->a = device_floats(M * K);
    wk->b = device_floats(K * N);
    wk->c = device_floats(M * N);
    wk->x = device_floats(16);
    wk->w = device_floats(9);
    wk->y = device_floats(4);
    graph_setup(wk);
}

static void one_call(struct worker *wk, enum call_kind kind)
{
    switch (kind) {
    case CALL_CONV:
        CHECK(cudnnConvolutionForward(wk->cudnn, &ONE, wk->x_desc, wk->x, wk->w_desc, wk->w,
                                      wk->conv_desc, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM,
                                      NULL, 0, &ZERO, wk->y_desc, wk->y));
        break;
    case CALL_GEMM:
        CHECK(cublasSgemm_v2(wk->cublas, CUBLAS_OP_N, CUBLAS_OP_N, M, N, K, &ONE, wk->a, M, wk->b,
                             K, &ZERO, wk->c, M));
        break;
    case CALL_LT:
        CHECK(cublasLtMatmul(wk->lt, wk->matmul, &ONE, wk->a, wk->a_layout, wk->b, wk->b_layout,
                             &ZERO, wk->c, wk->c_layout, wk->c, wk->c_layout, NULL, NULL, 0,
                             wk->stream));
        break;
    case CALL_GRAPH: CHECK(cudnnBackendExecute(wk->cudnn, wk->plan, wk->pack)); break;
    }
}

static void *work(void *arg)
{
    struct worker *wk = arg;
    setup(wk);
    pthread_barrier_wait(&ready);
    for (long i = 0; i < calls_per_thread; i++) one_call(wk, mix[i % mix_len]);
    pthread_barrier_wait(&done);
    CHECK(cudaStreamSynchronize(wk->stream));
    return NULL;
}

static int parse_mix(char *text)
{
    for (char *save, *name = strtok_r(text, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
        if (mix_len == MAX_MIX) return -1;
        if (!strcmp(name, "conv")) mix[mix_len++] = CALL_CONV;
        else if (!strcmp(name, "gemm")) mix[mix_len++] = CALL_GEMM;
        else if (!strcmp(name, "lt")) mix[mix_len++] = CALL_LT;
        else if (!strcmp(name, "graph")) mix[mix_len++] = CALL_GRAPH;
        else return -1;
    }
    return mix_len ? 0 : -1;
}

static double now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    int threads = argc == 4 ? atoi(argv[2]) : 0;
    calls_per_thread = argc == 4 ? atol(argv[3]) : 0;
    if (argc != 4 || parse_mix(argv[1]) || threads < 1 || threads > MAX_THREADS ||
        calls_per_thread < 1) {
        fprintf(stderr, "usage: driver conv,gemm,lt THREADS CALLS_PER_THREAD\n");
        return 2;
    }
    static struct worker workers[MAX_THREADS];
    /* The main thread is the timer: it crosses both barriers with the workers. */
    pthread_barrier_init(&ready, NULL, (unsigned)threads + 1);
    pthread_barrier_init(&done, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++)
        CHECK(pthread_create(&workers[t].thread, NULL, work, &workers[t]));
    pthread_barrier_wait(&ready);
    double start = now_ns(CLOCK_MONOTONIC), cpu_start = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    pthread_barrier_wait(&done);
    double elapsed = now_ns(CLOCK_MONOTONIC) - start;
    double cpu = now_ns(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
    for (int t = 0; t < threads; t++) CHECK(pthread_join(workers[t].thread, NULL));
    double calls = (double)threads * (double)calls_per_thread;
    printf("ns_per_call %.2f %.2f\n", elapsed / calls, cpu / calls);
    return 0;
}
