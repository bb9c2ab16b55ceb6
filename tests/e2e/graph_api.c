/*
 * graph_api.c: cuDNN's graph (backend) API called the way PyTorch's Conv_v8 and
 * the cuDNN frontend call it: tensors, an operation, an operation graph,
 * heuristics whose results fill engine configurations the program created, an
 * execution plan, a variant pack, and the cached plan executed again.
 *
 * In order, each convolution case first through the legacy API (where it has
 * one), then through the graph API, executed twice; fused attention as one SDPA
 * node, then as a composite graph of matmuls, pointwise operations and
 * reductions; and a plan populated into a CUDA graph launched 3 times.
 * tests/run_graph.py checks the counts against hand derivations.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#define CHECK(call)                                                                                \
    do {                                                                                           \
        cudnnStatus_t s_ = (call);                                                                 \
        if (s_ != CUDNN_STATUS_SUCCESS) {                                                          \
            fprintf(stderr, "graph_api: %s failed: %d (line %d)\n", #call, (int)s_, __LINE__);     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

#define CHECK_CUDA(call)                                                                           \
    do {                                                                                           \
        cudaError_t e_ = (call);                                                                   \
        if (e_ != cudaSuccess) {                                                                   \
            fprintf(stderr, "graph_api: %s failed: %d (line %d)\n", #call, (int)e_, __LINE__);     \
            exit(1);                                                                               \
        }                                                                                          \
    } while (0)

typedef cudnnBackendDescriptor_t desc_t;

/* Everything made, released at the end (a leak checker watches the tests). */
#define MAX_HELD 1024
static desc_t held_descs[MAX_HELD];
static void *held_memory[MAX_HELD];
static int n_descs, n_memory;

static desc_t create(cudnnBackendDescriptorType_t type)
{
    desc_t d;
    CHECK(cudnnBackendCreateDescriptor(type, &d));
    if (n_descs == MAX_HELD) {
        fprintf(stderr, "graph_api: too many descriptors\n");
        exit(1);
    }
    held_descs[n_descs++] = d;
    return d;
}

/* Destroyed now (the plan keeps what it needs), not at the end. */
static void destroy(desc_t d)
{
    for (int i = 0; i < n_descs; i++)
        if (held_descs[i] == d) held_descs[i] = held_descs[--n_descs];
    CHECK(cudnnBackendDestroyDescriptor(d));
}

static void release_all(void)
{
    while (n_descs) CHECK(cudnnBackendDestroyDescriptor(held_descs[--n_descs]));
    while (n_memory) CHECK_CUDA(cudaFree(held_memory[--n_memory]));
}

static void set(desc_t d, cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t t, int64_t n,
                const void *v)
{
    CHECK(cudnnBackendSetAttribute(d, a, t, n, v));
}

static void set_desc(desc_t d, cudnnBackendAttributeName_t a, desc_t v)
{
    set(d, a, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &v);
}

static desc_t done(desc_t d)
{
    CHECK(cudnnBackendFinalize(d));
    return d;
}

/* A float tensor; strides packed (row-major) unless given. */
static desc_t tensor(int64_t uid, int nb, const int64_t *dims, const int64_t *strides, bool virt,
                     bool by_value)
{
    int64_t packed[8], align = 16;
    cudnnDataType_t dt = CUDNN_DATA_FLOAT;
    packed[nb - 1] = 1;
    for (int i = nb - 2; i >= 0; i--) packed[i] = packed[i + 1] * dims[i + 1];
    desc_t t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt);
    set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, nb, dims);
    set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, nb, strides ? strides : packed);
    set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid);
    set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align);
    set(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL, CUDNN_TYPE_BOOLEAN, 1, &virt);
    if (by_value) set(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE, CUDNN_TYPE_BOOLEAN, 1, &by_value);
    return done(t);
}

/* Graph, heuristics, the engine configuration they fill, and the plan. */
static desc_t plan_for(cudnnHandle_t handle, desc_t *ops, int n_ops)
{
    desc_t graph = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, n_ops, ops);
    done(graph);
    desc_t heur = create(CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    cudnnBackendHeurMode_t mode = CUDNN_HEUR_MODE_A;
    set_desc(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, graph);
    set(heur, CUDNN_ATTR_ENGINEHEUR_MODE, CUDNN_TYPE_HEUR_MODE, 1, &mode);
    done(heur);
    desc_t cfg = create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    int64_t got = 0;
    CHECK(cudnnBackendGetAttribute(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS,
                                   CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &got, &cfg));
    if (got != 1) {
        fprintf(stderr, "graph_api: no engine configuration\n");
        exit(1);
    }
    desc_t plan = create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    set(plan, CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &handle);
    set_desc(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg);
    done(plan);
    /* As the frontend does once a plan is built: the graph and heuristics go away,
     * the plan stays cached. */
    destroy(heur);
    destroy(graph);
    return plan;
}

static desc_t variant_pack(const int64_t *uids, void *const *ptrs, int n)
{
    void *workspace = NULL;
    desc_t pack = create(CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    set(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, n, uids);
    set(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, n, ptrs);
    set(pack, CUDNN_ATTR_VARIANT_PACK_WORKSPACE, CUDNN_TYPE_VOID_PTR, 1, &workspace);
    return done(pack);
}

static void *device(size_t floats)
{
    void *p;
    CHECK_CUDA(cudaMalloc(&p, floats * sizeof(float)));
    CHECK_CUDA(cudaMemset(p, 0, floats * sizeof(float)));
    if (n_memory == MAX_HELD) {
        fprintf(stderr, "graph_api: too many buffers\n");
        exit(1);
    }
    held_memory[n_memory++] = p;
    return p;
}

static int64_t product(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++) p *= d[i];
    return p;
}

/* ------------------------------------------------------------ convolutions */

struct conv_case {
    const char *name;
    int nb; /* 4 or 5 */
    int64_t x[5], w[5], y[5];
    int64_t pre[3], post[3], stride[3], dilation[3];
    bool legacy; /* the legacy API can express it (symmetric padding) */
};

static void legacy_conv(cudnnHandle_t h, const struct conv_case *c, void *x, void *w, void *y)
{
    int xd[5], wd[5], yd[5], xs[5], ys[5], pad[3], stride[3], dil[3];
    int sp = c->nb - 2;
    for (int i = 0; i < c->nb; i++)
        xd[i] = (int)c->x[i], wd[i] = (int)c->w[i], yd[i] = (int)c->y[i];
    xs[c->nb - 1] = ys[c->nb - 1] = 1;
    for (int i = c->nb - 2; i >= 0; i--)
        xs[i] = xs[i + 1] * xd[i + 1], ys[i] = ys[i + 1] * yd[i + 1];
    for (int i = 0; i < sp; i++)
        pad[i] = (int)c->pre[i], stride[i] = (int)c->stride[i], dil[i] = (int)c->dilation[i];
    cudnnTensorDescriptor_t xt, yt;
    cudnnFilterDescriptor_t wt;
    cudnnConvolutionDescriptor_t cd;
    CHECK(cudnnCreateTensorDescriptor(&xt));
    CHECK(cudnnCreateTensorDescriptor(&yt));
    CHECK(cudnnCreateFilterDescriptor(&wt));
    CHECK(cudnnCreateConvolutionDescriptor(&cd));
    CHECK(cudnnSetTensorNdDescriptor(xt, CUDNN_DATA_FLOAT, c->nb, xd, xs));
    CHECK(cudnnSetTensorNdDescriptor(yt, CUDNN_DATA_FLOAT, c->nb, yd, ys));
    CHECK(cudnnSetFilterNdDescriptor(wt, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, c->nb, wd));
    CHECK(cudnnSetConvolutionNdDescriptor(cd, sp, pad, stride, dil, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT));
    CHECK(cudnnSetConvolutionGroupCount(cd, (int)(c->x[1] / c->w[1])));
    float one = 1, zero = 0;
    CHECK(cudnnConvolutionForward(h, &one, xt, x, wt, w, cd,
                                  CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &zero, yt, y));
    cudnnDestroyTensorDescriptor(xt);
    cudnnDestroyTensorDescriptor(yt);
    cudnnDestroyFilterDescriptor(wt);
    cudnnDestroyConvolutionDescriptor(cd);
}

/* The plan of one convolution, as Conv_v8 builds it (uids 'x', 'w', 'y'). */
/* The forward convolution of case c from x to y (tensors of the caller's). */
static desc_t conv_operation(const struct conv_case *c, desc_t x, desc_t w, desc_t y)
{
    int64_t sp = c->nb - 2;
    cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    desc_t conv = create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    set(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &sp);
    set(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    set(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode);
    set(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, sp, c->pre);
    set(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, sp, c->post);
    set(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, sp, c->stride);
    set(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, sp, c->dilation);
    done(conv);
    desc_t op = create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    float alpha = 1, beta = 0;
    set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, x);
    set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, w);
    set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, y);
    set_desc(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC, conv);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha);
    set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta);
    return done(op);
}

/* The tensors of case c: uids 'x', 'w', 'y', as Conv_v8 names them. */
static void conv_tensors(const struct conv_case *c, desc_t *x, desc_t *w, desc_t *y)
{
    *x = tensor('x', c->nb, c->x, NULL, false, false);
    *w = tensor('w', c->nb, c->w, NULL, false, false);
    *y = tensor('y', c->nb, c->y, NULL, false, false);
}

/* The plan of one convolution, as Conv_v8 builds it. */
static desc_t conv_plan(cudnnHandle_t h, const struct conv_case *c)
{
    desc_t x, w, y;
    conv_tensors(c, &x, &w, &y);
    desc_t op = conv_operation(c, x, w, y);
    desc_t plan = plan_for(h, &op, 1);
    /* The operation and its tensors may go once the graph is built: the plan keeps
     * what it needs. */
    destroy(op);
    destroy(x);
    destroy(w);
    destroy(y);
    return plan;
}

static const struct conv_case conv_cases[] = {
    {"plain",
     4,
     {2, 3, 16, 16},
     {8, 3, 3, 3},
     {2, 8, 16, 16},
     {1, 1},
     {1, 1},
     {1, 1},
     {1, 1},
     true},
    {"grouped",
     4,
     {1, 8, 10, 10},
     {8, 2, 3, 3},
     {1, 8, 8, 8},
     {0, 0},
     {0, 0},
     {1, 1},
     {1, 1},
     true},
    {"strided",
     4,
     {1, 4, 15, 15},
     {6, 4, 3, 3},
     {1, 6, 7, 7},
     {0, 0},
     {0, 0},
     {2, 2},
     {1, 1},
     true},
    {"dilated",
     4,
     {1, 2, 12, 12},
     {3, 2, 3, 3},
     {1, 3, 8, 8},
     {0, 0},
     {0, 0},
     {1, 1},
     {2, 2},
     true},
    {"asymmetric",
     4,
     {1, 1, 5, 5},
     {1, 1, 2, 2},
     {1, 1, 5, 5},
     {0, 0},
     {1, 1},
     {1, 1},
     {1, 1},
     false},
    {"3d",
     5,
     {1, 2, 4, 6, 6},
     {4, 2, 3, 3, 3},
     {1, 4, 4, 6, 6},
     {1, 1, 1},
     {1, 1, 1},
     {1, 1, 1},
     {1, 1, 1},
     true},
};

static void convolutions(cudnnHandle_t h)
{
    for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
        const struct conv_case *c = &conv_cases[i];
        void *x = device((size_t)product(c->x, c->nb)), *w = device((size_t)product(c->w, c->nb)),
             *y = device((size_t)product(c->y, c->nb));
        if (c->legacy) legacy_conv(h, c, x, w, y);
        desc_t plan = conv_plan(h, c);
        int64_t uids[] = {'x', 'w', 'y'};
        void *ptrs[] = {x, w, y};
        desc_t pack = variant_pack(uids, ptrs, 3);
        CHECK(cudnnBackendExecute(h, plan, pack));
        CHECK(cudnnBackendExecute(h, plan, pack)); /* the cached plan, again */
        destroy(pack);
        destroy(plan);
    }
}

/* ------------------------------------------------------------ attention */

enum { B = 2, H = 4, SQ = 64, SK = 128, D = 32 };

static void attention_node(cudnnHandle_t h, void *q, void *k, void *v, void *o)
{
    const int64_t qd[] = {B, H, SQ, D}, kd[] = {B, H, SK, D};
    desc_t tq = tensor('q', 4, qd, NULL, false, false), tk = tensor('k', 4, kd, NULL, false, false),
           tv = tensor('v', 4, kd, NULL, false, false), to = tensor('o', 4, qd, NULL, false, false);
    desc_t op = create(CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, tq);
    set_desc(op, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC, tk);
    set_desc(op, CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, tv);
    set_desc(op, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC, to);
    done(op);
    desc_t plan = plan_for(h, &op, 1);
    int64_t uids[] = {'q', 'k', 'v', 'o'};
    void *ptrs[] = {q, k, v, o};
    CHECK(cudnnBackendExecute(h, plan, variant_pack(uids, ptrs, 4)));
    /* A pack that leaves V unbound: the library refuses it, nnspy counts a failure. */
    if (cudnnBackendExecute(h, plan, variant_pack(uids, ptrs, 2)) != CUDNN_STATUS_BAD_PARAM) {
        fprintf(stderr, "graph_api: an incomplete variant pack was accepted\n");
        exit(1);
    }
}

static desc_t pointwise(cudnnPointwiseMode_t mode, desc_t x, desc_t b, desc_t y)
{
    cudnnDataType_t prec = CUDNN_DATA_FLOAT;
    desc_t pw = create(CUDNN_BACKEND_POINTWISE_DESCRIPTOR);
    set(pw, CUDNN_ATTR_POINTWISE_MODE, CUDNN_TYPE_POINTWISE_MODE, 1, &mode);
    set(pw, CUDNN_ATTR_POINTWISE_MATH_PREC, CUDNN_TYPE_DATA_TYPE, 1, &prec);
    done(pw);
    desc_t op = create(CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, pw);
    set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_XDESC, x);
    if (b) set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_BDESC, b);
    set_desc(op, CUDNN_ATTR_OPERATION_POINTWISE_YDESC, y);
    return done(op);
}

static desc_t reduction(cudnnReduceTensorOp_t how, desc_t x, desc_t y)
{
    cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    desc_t red = create(CUDNN_BACKEND_REDUCTION_DESCRIPTOR);
    set(red, CUDNN_ATTR_REDUCTION_OPERATOR, CUDNN_TYPE_REDUCTION_OPERATOR_TYPE, 1, &how);
    set(red, CUDNN_ATTR_REDUCTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    done(red);
    desc_t op = create(CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_REDUCTION_DESC, red);
    set_desc(op, CUDNN_ATTR_OPERATION_REDUCTION_XDESC, x);
    set_desc(op, CUDNN_ATTR_OPERATION_REDUCTION_YDESC, y);
    return done(op);
}

static desc_t matmul(desc_t a, desc_t b, desc_t c)
{
    cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    desc_t mm = create(CUDNN_BACKEND_MATMUL_DESCRIPTOR);
    set(mm, CUDNN_ATTR_MATMUL_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp);
    done(mm);
    desc_t op = create(CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR);
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_ADESC, a);
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_BDESC, b);
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_CDESC, c);
    set_desc(op, CUDNN_ATTR_OPERATION_MATMUL_DESC, mm);
    return done(op);
}

/* softmax(Q.K^T x scale).V as the frontend lowered it before the SDPA node:
 * S = Q.K^T, S2 = S x scale, M = rowmax, E = exp(S2 - M), Z = rowsum, P = E / Z,
 * O = P.V; every intermediate virtual. */
static void attention_composite(cudnnHandle_t h, void *q, void *k, void *v, void *o)
{
    const int64_t qd[] = {B, H, SQ, D}, kd[] = {B, H, SK, D}, ktd[] = {B, H, D, SK},
                  sd[] = {B, H, SQ, SK}, rd[] = {B, H, SQ, 1}, one[] = {1, 1, 1, 1};
    /* K^T: K's memory read with the last two dims swapped. */
    const int64_t kts[] = {H * SK * D, SK * D, 1, D};
    int64_t uid = 100;
    desc_t tq = tensor('q', 4, qd, NULL, false, false),
           tkt = tensor('k', 4, ktd, kts, false, false),
           tv = tensor('v', 4, kd, NULL, false, false), to = tensor('o', 4, qd, NULL, false, false),
           scale = tensor('s', 4, one, NULL, false, true);
    desc_t s = tensor(uid++, 4, sd, NULL, true, false),
           s2 = tensor(uid++, 4, sd, NULL, true, false),
           m = tensor(uid++, 4, rd, NULL, true, false),
           sub = tensor(uid++, 4, sd, NULL, true, false),
           e = tensor(uid++, 4, sd, NULL, true, false), z = tensor(uid++, 4, rd, NULL, true, false),
           p = tensor(uid++, 4, sd, NULL, true, false);
    desc_t ops[] = {
        matmul(tq, tkt, s),
        pointwise(CUDNN_POINTWISE_MUL, s, scale, s2),
        reduction(CUDNN_REDUCE_TENSOR_MAX, s2, m),
        pointwise(CUDNN_POINTWISE_SUB, s2, m, sub),
        pointwise(CUDNN_POINTWISE_EXP, sub, NULL, e),
        reduction(CUDNN_REDUCE_TENSOR_ADD, e, z),
        pointwise(CUDNN_POINTWISE_DIV, e, z, p),
        matmul(p, tv, to),
    };
    desc_t plan = plan_for(h, ops, (int)(sizeof ops / sizeof ops[0]));
    float scale_value = 0.125f;
    int64_t uids[] = {'q', 'k', 'v', 'o', 's'};
    void *ptrs[] = {q, k, v, o, &scale_value};
    CHECK(cudnnBackendExecute(h, plan, variant_pack(uids, ptrs, 5)));
}

static void attention(cudnnHandle_t h)
{
    void *q = device(B * H * SQ * D), *k = device(B * H * SK * D), *v = device(B * H * SK * D),
         *o = device(B * H * SQ * D);
    attention_node(h, q, k, v, o);
    attention_composite(h, q, k, v, o);
}

/* ------------------------------------------------------------ CUDA graph */

/* The plain convolution populated into a graph (an empty capture gives the graph),
 * updated to another output buffer y2 (cudnnBackendUpdateCudaGraph), instantiated
 * and launched 3 times; then a GEMM reads y2 as its A (64 x 64) with a weight of
 * 64 x 8 as B: y2, written at each launch, is an activation. */
static void populated_graph(cudnnHandle_t h, cudaStream_t stream)
{
    const struct conv_case *c = &conv_cases[0];
    void *x = device((size_t)product(c->x, c->nb)), *w = device((size_t)product(c->w, c->nb)),
         *y = device((size_t)product(c->y, c->nb)), *y2 = device((size_t)product(c->y, c->nb));
    desc_t plan = conv_plan(h, c);
    int64_t uids[] = {'x', 'w', 'y'};
    void *ptrs[] = {x, w, y}, *ptrs2[] = {x, w, y2};
    cudaGraph_t graph;
    cudaGraphExec_t exec;
    CHECK_CUDA(cudaStreamBeginCapture(stream, cudaStreamCaptureModeGlobal));
    CHECK_CUDA(cudaStreamEndCapture(stream, &graph));
    CHECK(cudnnBackendPopulateCudaGraph(h, plan, variant_pack(uids, ptrs, 3), graph));
    CHECK(cudnnBackendUpdateCudaGraph(h, plan, variant_pack(uids, ptrs2, 3), graph));
    CHECK_CUDA(cudaGraphInstantiate(&exec, graph, 0));
    for (int i = 0; i < 3; i++) CHECK_CUDA(cudaGraphLaunch(exec, stream));
    CHECK_CUDA(cudaStreamSynchronize(stream));
    CHECK_CUDA(cudaGraphExecDestroy(exec));
    CHECK_CUDA(cudaGraphDestroy(graph));
    cublasHandle_t blas;
    float one = 1, zero = 0, *b = device(64 * 8), *out = device(64 * 8);
    if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS || cublasSetStream(blas, stream) != 0 ||
        cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, 64, 8, 64, &one, y2, 64, b, 64, &zero, out,
                    64) != CUBLAS_STATUS_SUCCESS ||
        cublasDestroy(blas) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "graph_api: the GEMM after the launches failed\n");
        exit(1);
    }
}

/* ------------------------------------------------------------ autotuning */

/* A plan per engine of the graph (as PyTorch's benchmark mode builds its candidates
 * from the engine list), all of one operation graph. */
static void plans_of_one_graph(cudnnHandle_t h, desc_t op, desc_t *plans, int n)
{
    desc_t graph = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
    done(graph);
    for (int64_t i = 0; i < n; i++) {
        desc_t engine = create(CUDNN_BACKEND_ENGINE_DESCRIPTOR);
        set_desc(engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, graph);
        set(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1, &i);
        done(engine);
        desc_t cfg = create(CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
        set_desc(cfg, CUDNN_ATTR_ENGINECFG_ENGINE, engine);
        done(cfg);
        plans[i] = create(CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
        set(plans[i], CUDNN_ATTR_EXECUTION_PLAN_HANDLE, CUDNN_TYPE_HANDLE, 1, &h);
        set_desc(plans[i], CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG, cfg);
        done(plans[i]);
    }
}

/*
 * The plain convolution autotuned twice over: an explicit legacy search of 3
 * algorithms, then a benchmark of 3 plans of one graph (3 runs each), after which
 * the program settles on the second plan and runs it 5 times.
 */
static void autotuning(cudnnHandle_t h)
{
    const struct conv_case *c = &conv_cases[0];
    void *x = device((size_t)product(c->x, c->nb)), *w = device((size_t)product(c->w, c->nb)),
         *y = device((size_t)product(c->y, c->nb));
    int xd[4], wd[4], yd[4], xs[4], ys[4], pad[2] = {1, 1}, one[2] = {1, 1}, returned = 0;
    for (int i = 0; i < 4; i++) xd[i] = (int)c->x[i], wd[i] = (int)c->w[i], yd[i] = (int)c->y[i];
    xs[3] = ys[3] = 1;
    for (int i = 2; i >= 0; i--) xs[i] = xs[i + 1] * xd[i + 1], ys[i] = ys[i + 1] * yd[i + 1];
    cudnnTensorDescriptor_t xt, yt;
    cudnnFilterDescriptor_t wt;
    cudnnConvolutionDescriptor_t cd;
    cudnnConvolutionFwdAlgoPerf_t perf[3];
    CHECK(cudnnCreateTensorDescriptor(&xt));
    CHECK(cudnnCreateTensorDescriptor(&yt));
    CHECK(cudnnCreateFilterDescriptor(&wt));
    CHECK(cudnnCreateConvolutionDescriptor(&cd));
    CHECK(cudnnSetTensorNdDescriptor(xt, CUDNN_DATA_FLOAT, 4, xd, xs));
    CHECK(cudnnSetTensorNdDescriptor(yt, CUDNN_DATA_FLOAT, 4, yd, ys));
    CHECK(cudnnSetFilterNdDescriptor(wt, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 4, wd));
    CHECK(cudnnSetConvolutionNdDescriptor(cd, 2, pad, one, one, CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT));
    CHECK(cudnnFindConvolutionForwardAlgorithm(h, xt, wt, cd, yt, 3, &returned, perf));
    if (returned != 3) {
        fprintf(stderr, "graph_api: the search returned %d algorithms, not 3\n", returned);
        exit(1);
    }

    desc_t tx, tw, ty, plans[3];
    conv_tensors(c, &tx, &tw, &ty);
    desc_t op = conv_operation(c, tx, tw, ty);
    plans_of_one_graph(h, op, plans, 3);
    int64_t uids[] = {'x', 'w', 'y'};
    void *ptrs[] = {x, w, y};
    desc_t pack = variant_pack(uids, ptrs, 3);
    for (int p = 0; p < 3; p++)
        for (int run = 0; run < 3; run++) CHECK(cudnnBackendExecute(h, plans[p], pack));
    for (int run = 0; run < 5; run++) CHECK(cudnnBackendExecute(h, plans[1], pack));
    cudnnDestroyTensorDescriptor(xt);
    cudnnDestroyTensorDescriptor(yt);
    cudnnDestroyFilterDescriptor(wt);
    cudnnDestroyConvolutionDescriptor(cd);
}

/* ------------------------------------------------------------ normalisation */

/*
 * One graph: the plain convolution (2x3x16x16 * 8x3x3x3 -> 2x8x16x16), then batch
 * norm at inference on its output (virtual: it stays on chip), with scale, bias,
 * mean and inverse variance of 1x8x1x1, then ReLU.
 */
static void conv_bn_relu(cudnnHandle_t h)
{
    const struct conv_case *c = &conv_cases[0];
    const int64_t ch[4] = {1, 8, 1, 1};
    desc_t tx = tensor('x', 4, c->x, NULL, false, false),
           tw = tensor('w', 4, c->w, NULL, false, false),
           conv_out = tensor(200, 4, c->y, NULL, true, false),
           bn_out = tensor(201, 4, c->y, NULL, true, false),
           ty = tensor('y', 4, c->y, NULL, false, false),
           scale = tensor('s', 4, ch, NULL, false, false),
           bias = tensor('b', 4, ch, NULL, false, false),
           mean = tensor('m', 4, ch, NULL, false, false),
           inv_var = tensor('v', 4, ch, NULL, false, false);
    desc_t conv_op = conv_operation(c, tx, tw, conv_out);
    cudnnBackendNormMode_t mode = CUDNN_BATCH_NORM;
    cudnnBackendNormFwdPhase_t phase = CUDNN_NORM_FWD_INFERENCE;
    desc_t bn = create(CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR);
    set(bn, CUDNN_ATTR_OPERATION_NORM_FWD_MODE, CUDNN_TYPE_NORM_MODE, 1, &mode);
    set(bn, CUDNN_ATTR_OPERATION_NORM_FWD_PHASE, CUDNN_TYPE_NORM_FWD_PHASE, 1, &phase);
    set_desc(bn, CUDNN_ATTR_OPERATION_NORM_FWD_XDESC, conv_out);
    set_desc(bn, CUDNN_ATTR_OPERATION_NORM_FWD_SCALE_DESC, scale);
    set_desc(bn, CUDNN_ATTR_OPERATION_NORM_FWD_BIAS_DESC, bias);
    set_desc(bn, CUDNN_ATTR_OPERATION_NORM_FWD_MEAN_DESC, mean);
    set_desc(bn, CUDNN_ATTR_OPERATION_NORM_FWD_INV_VARIANCE_DESC, inv_var);
    set_desc(bn, CUDNN_ATTR_OPERATION_NORM_FWD_YDESC, bn_out);
    done(bn);
    desc_t ops[] = {conv_op, bn, pointwise(CUDNN_POINTWISE_RELU_FWD, bn_out, NULL, ty)};
    desc_t plan = plan_for(h, ops, 3);
    void *x = device((size_t)product(c->x, 4)), *w = device((size_t)product(c->w, 4)),
         *y = device((size_t)product(c->y, 4));
    void *stats[4] = {device(8), device(8), device(8), device(8)};
    int64_t uids[] = {'x', 'w', 'y', 's', 'b', 'm', 'v'};
    void *ptrs[] = {x, w, y, stats[0], stats[1], stats[2], stats[3]};
    CHECK(cudnnBackendExecute(h, plan, variant_pack(uids, ptrs, 7)));
}

/* Two linear layers in one graph, row-major as cuDNN's matmul is: X[32,64] . W1[64,128]
 * -> H (virtual) . W2[128,16] -> Y. */
static void mlp(cudnnHandle_t h)
{
    const int64_t xd[] = {1, 32, 64}, w1d[] = {1, 64, 128}, hd[] = {1, 32, 128},
                  w2d[] = {1, 128, 16}, yd[] = {1, 32, 16};
    desc_t x = tensor('x', 3, xd, NULL, false, false), w1 = tensor('1', 3, w1d, NULL, false, false),
           hidden = tensor(300, 3, hd, NULL, true, false),
           w2 = tensor('2', 3, w2d, NULL, false, false), y = tensor('y', 3, yd, NULL, false, false);
    desc_t ops[] = {matmul(x, w1, hidden), matmul(hidden, w2, y)};
    desc_t plan = plan_for(h, ops, 2);
    int64_t uids[] = {'x', '1', '2', 'y'};
    void *ptrs[] = {device(32 * 64), device(64 * 128), device(128 * 16), device(32 * 16)};
    CHECK(cudnnBackendExecute(h, plan, variant_pack(uids, ptrs, 4)));
}

/*
 * A graph with two outputs in memory: C = X[32,64] . W1[64,128] and D = ReLU(C), then
 * a cuBLAS GEMM that reads D as its A (32 x 128, column-major) with a weight W3
 * (128 x 16) as B. D, the graph's second output, is an activation: W3 is the GEMM's
 * weight.
 */
static void two_outputs_then_gemm(cudnnHandle_t h, cudaStream_t stream)
{
    const int64_t xd[] = {1, 32, 64}, w1d[] = {1, 64, 128}, cd[] = {1, 32, 128};
    desc_t x = tensor('x', 3, xd, NULL, false, false), w1 = tensor('1', 3, w1d, NULL, false, false),
           c = tensor('c', 3, cd, NULL, false, false), d = tensor('d', 3, cd, NULL, false, false);
    desc_t ops[] = {matmul(x, w1, c), pointwise(CUDNN_POINTWISE_RELU_FWD, c, NULL, d)};
    desc_t plan = plan_for(h, ops, 2);
    float *dev_d = device(32 * 128), *w3 = device(128 * 16), *out = device(32 * 16);
    int64_t uids[] = {'x', '1', 'c', 'd'};
    void *ptrs[] = {device(32 * 64), device(64 * 128), device(32 * 128), dev_d};
    CHECK(cudnnBackendExecute(h, plan, variant_pack(uids, ptrs, 4)));
    cublasHandle_t blas;
    float one = 1, zero = 0;
    if (cublasCreate(&blas) != CUBLAS_STATUS_SUCCESS || cublasSetStream(blas, stream) != 0 ||
        cublasSgemm(blas, CUBLAS_OP_N, CUBLAS_OP_N, 32, 16, 128, &one, dev_d, 32, w3, 128, &zero,
                    out, 32) != CUBLAS_STATUS_SUCCESS ||
        cublasDestroy(blas) != CUBLAS_STATUS_SUCCESS) {
        fprintf(stderr, "graph_api: the GEMM after the graph failed\n");
        exit(1);
    }
}

int main(void)
{
    cudnnHandle_t h;
    cudaStream_t stream;
    CHECK(cudnnCreate(&h));
    CHECK_CUDA(cudaStreamCreate(&stream));
    CHECK(cudnnSetStream(h, stream));
    convolutions(h);
    attention(h);
    populated_graph(h, stream);
    conv_bn_relu(h);
    mlp(h);
    two_outputs_then_gemm(h, stream);
    autotuning(h);
    CHECK_CUDA(cudaStreamSynchronize(stream));
    release_all();
    CHECK(cudnnDestroy(h));
    CHECK_CUDA(cudaStreamDestroy(stream));
    printf("graph_api: done\n");
    return 0;
}
