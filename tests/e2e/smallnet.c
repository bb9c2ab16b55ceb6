/*
 * smallnet: a tiny network touching every kind of call nnspy intercepts, for the
 * bit-identity test: its stdout (every output float in %a) must be byte for byte the
 * same with and without the preload. Run on the simulated device with
 * NNSPY_SIM_MATH=1 so that the numbers are real.
 *
 *   input 2x3x12x12 NCHW
 *   conv1  3->4 k3 p1            + bias + ReLU   2x4x12x12
 *   maxpool 2 s2                                 2x4x6x6
 *   conv2  4->4 k3 p1 groups 2   + bias + ReLU   2x4x6x6
 *   cudnnTransformTensor NCHW -> NHWC            2x4x6x6 (NHWC)
 *   conv3  4->8 k3 p1, all NHWC  + bias + ReLU   2x8x6x6 (NHWC)
 *   avgpool 6 s6                                 2x8x1x1 (same bytes in both layouts)
 *   fc1    cublasSgemm       8->16 + bias + ReLU
 *   fc2    cublasGemmEx     16->12 + bias
 *   fc3    cublasLtMatmul   12->10, epilogue RELU_BIAS       -> 2x10 printed
 *
 * Hand-derived MACs: conv1 2*4*12*12*3*9 = 31104, conv2 2*4*6*6*2*9 = 5184,
 * conv3 2*8*6*6*4*9 = 20736, fc1 2*16*8 = 256, fc2 2*12*16 = 384, fc3 2*10*12 = 240;
 * total 57904. Parameters: 112 + 76 + 296 + 144 + 204 + 130 = 962.
 */
/* cublasLt.h declares cublasLtLoggerForceDisable() without a prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cublasLt.h>
#pragma GCC diagnostic pop
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "smallnet: line %d: %s failed: %s (%d)\n", line, what,
            cudaGetErrorString(err), (int)err);
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return;
    fprintf(stderr, "smallnet: line %d: %s failed: %s (%d)\n", line, what,
            cudnnGetErrorString(st), (int)st);
    exit(1);
}

/* cuBLAS and cuBLASLt share cublasStatus_t. */
static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "smallnet: line %d: %s failed: %s (%d)\n", line, what,
            cublasGetStatusString(st), (int)st);
    exit(1);
}

enum { BATCH = 2 };
static const float ONE = 1.0f, ZERO = 0.0f;

struct ctx {
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    cublasLtHandle_t lt;
    cudnnActivationDescriptor_t relu;
};

/* ------------------------------------------------------------ random data */

static uint64_t rng_state = 0x5a11ae7ull; /* fixed seed: every run sees the same data */

static uint64_t rng_next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float *upload_random(size_t n, float bound)
{
    float host[1024]; /* every tensor here is small */
    float *dev;
    if (n > sizeof host / sizeof host[0]) {
        fprintf(stderr, "smallnet: tensor of %zu floats too large\n", n);
        exit(1);
    }
    for (size_t i = 0; i < n; i++)
        host[i] = ((float)(rng_next() >> 40) * (2.0f / 16777216.0f) - 1.0f) * bound;
    CHECK_CUDA(cudaMalloc((void **)&dev, n * sizeof *dev));
    CHECK_CUDA(cudaMemcpy(dev, host, n * sizeof *dev, cudaMemcpyHostToDevice));
    return dev;
}

static float *device_floats(size_t n)
{
    float *dev;
    CHECK_CUDA(cudaMalloc((void **)&dev, n * sizeof *dev));
    CHECK_CUDA(cudaMemset(dev, 0, n * sizeof *dev));
    return dev;
}

/* ------------------------------------------------------------ descriptors */

static cudnnTensorDescriptor_t tensor(cudnnTensorFormat_t fmt, int n, int c, int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(t, fmt, CUDNN_DATA_FLOAT, n, c, h, w));
    return t;
}

/* A square-kernel, stride-1, same-padded convolution layer with bias and ReLU. */
struct conv {
    cudnnTensorDescriptor_t x, y, bias;
    cudnnFilterDescriptor_t w_desc;
    cudnnConvolutionDescriptor_t desc;
    float *w, *b;
};

static struct conv make_conv(cudnnTensorFormat_t fmt, int c, int k, int hw, int groups)
{
    struct conv cv;
    cv.x = tensor(fmt, BATCH, c, hw, hw);
    cv.y = tensor(fmt, BATCH, k, hw, hw);
    cv.bias = tensor(fmt, 1, k, 1, 1);
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&cv.w_desc));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(cv.w_desc, CUDNN_DATA_FLOAT, fmt, k, c / groups, 3,
                                           3));
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&cv.desc));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(cv.desc, 1, 1, 1, 1, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    CHECK_CUDNN(cudnnSetConvolutionGroupCount(cv.desc, groups));
    float bound = 1.0f / sqrtf((float)(c / groups * 9));
    cv.w = upload_random((size_t)k * (c / groups) * 9, bound);
    cv.b = upload_random((size_t)k, bound);
    return cv;
}

static void run_conv(struct ctx *cx, const struct conv *cv, const float *x, float *y)
{
    const cudnnConvolutionFwdAlgo_t algo = CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM;
    size_t ws_bytes;
    void *ws = NULL;
    CHECK_CUDNN(cudnnGetConvolutionForwardWorkspaceSize(cx->cudnn, cv->x, cv->w_desc, cv->desc,
                                                        cv->y, algo, &ws_bytes));
    if (ws_bytes)
        CHECK_CUDA(cudaMalloc(&ws, ws_bytes));
    CHECK_CUDNN(cudnnConvolutionForward(cx->cudnn, &ONE, cv->x, x, cv->w_desc, cv->w, cv->desc,
                                        algo, ws, ws_bytes, &ZERO, cv->y, y));
    CHECK_CUDNN(cudnnAddTensor(cx->cudnn, &ONE, cv->bias, cv->b, &ONE, cv->y, y));
    CHECK_CUDNN(cudnnActivationForward(cx->cudnn, cx->relu, &ONE, cv->y, y, &ZERO, cv->y, y));
    CHECK_CUDA(cudaFree(ws));
}

static void free_conv(struct conv *cv)
{
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(cv->x));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(cv->y));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(cv->bias));
    CHECK_CUDNN(cudnnDestroyFilterDescriptor(cv->w_desc));
    CHECK_CUDNN(cudnnDestroyConvolutionDescriptor(cv->desc));
    CHECK_CUDA(cudaFree(cv->w));
    CHECK_CUDA(cudaFree(cv->b));
}

static void run_pool(struct ctx *cx, cudnnPoolingMode_t mode, int window,
                     cudnnTensorDescriptor_t xd, const float *x, cudnnTensorDescriptor_t yd,
                     float *y)
{
    cudnnPoolingDescriptor_t pd;
    CHECK_CUDNN(cudnnCreatePoolingDescriptor(&pd));
    CHECK_CUDNN(cudnnSetPooling2dDescriptor(pd, mode, CUDNN_NOT_PROPAGATE_NAN, window, window,
                                            0, 0, window, window));
    CHECK_CUDNN(cudnnPoolingForward(cx->cudnn, pd, &ONE, xd, x, &ZERO, yd, y));
    CHECK_CUDNN(cudnnDestroyPoolingDescriptor(pd));
}

/* ------------------------------------------------------- fully connected */

/* Weights and bias of PyTorch's Linear(in, out): W row-major out x in. */
struct fc {
    int in, out;
    float *w, *b;
};

static struct fc make_fc(int in, int out)
{
    float bound = 1.0f / sqrtf((float)in);
    struct fc f = {in, out, upload_random((size_t)in * out, bound),
                   upload_random((size_t)out, bound)};
    return f;
}

/* y = x W^T + b as NCHW batch x out x 1 x 1, bias by cudnnAddTensor, ReLU if asked. */
static void add_bias(struct ctx *cx, const struct fc *f, float *y, int relu)
{
    cudnnTensorDescriptor_t yd = tensor(CUDNN_TENSOR_NCHW, BATCH, f->out, 1, 1);
    cudnnTensorDescriptor_t bd = tensor(CUDNN_TENSOR_NCHW, 1, f->out, 1, 1);
    CHECK_CUDNN(cudnnAddTensor(cx->cudnn, &ONE, bd, f->b, &ONE, yd, y));
    if (relu)
        CHECK_CUDNN(cudnnActivationForward(cx->cudnn, cx->relu, &ONE, yd, y, &ZERO, yd, y));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(yd));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(bd));
}

/* Column-major view: W is (in x out) with ld in, so op(W)=W^T; x is (in x batch). */
static void fc_sgemm(struct ctx *cx, const struct fc *f, const float *x, float *y)
{
    CHECK_CUBLAS(cublasSgemm(cx->cublas, CUBLAS_OP_T, CUBLAS_OP_N, f->out, BATCH, f->in, &ONE,
                             f->w, f->in, x, f->in, &ZERO, y, f->out));
    add_bias(cx, f, y, 1);
}

static void fc_gemm_ex(struct ctx *cx, const struct fc *f, const float *x, float *y)
{
    CHECK_CUBLAS(cublasGemmEx(cx->cublas, CUBLAS_OP_T, CUBLAS_OP_N, f->out, BATCH, f->in, &ONE,
                              f->w, CUDA_R_32F, f->in, x, CUDA_R_32F, f->in, &ZERO, y,
                              CUDA_R_32F, f->out, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    add_bias(cx, f, y, 0);
}

static cublasLtMatrixLayout_t lt_layout(int rows, int cols)
{
    cublasLtMatrixLayout_t l;
    CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, (uint64_t)rows, (uint64_t)cols,
                                            rows));
    return l;
}

/* The same product through cuBLASLt, bias and ReLU fused into the epilogue. */
static void fc_lt_relu_bias(struct ctx *cx, const struct fc *f, const float *x, float *y)
{
    cublasLtMatmulDesc_t md;
    cublasOperation_t trans_a = CUBLAS_OP_T;
    cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_RELU_BIAS;
    const float *bias = f->b;
    CHECK_CUBLAS(cublasLtMatmulDescCreate(&md, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CHECK_CUBLAS(cublasLtMatmulDescSetAttribute(md, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a,
                                                sizeof trans_a));
    CHECK_CUBLAS(cublasLtMatmulDescSetAttribute(md, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                                sizeof epilogue));
    CHECK_CUBLAS(cublasLtMatmulDescSetAttribute(md, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                sizeof bias));
    cublasLtMatrixLayout_t a = lt_layout(f->in, f->out), b = lt_layout(f->in, BATCH),
                           d = lt_layout(f->out, BATCH);
    /* algo NULL: cuBLASLt runs its own heuristic query; no workspace needed. */
    CHECK_CUBLAS(cublasLtMatmul(cx->lt, md, &ONE, f->w, a, x, b, &ZERO, y, d, y, d, NULL, NULL,
                                0, 0));
    CHECK_CUBLAS(cublasLtMatrixLayoutDestroy(a));
    CHECK_CUBLAS(cublasLtMatrixLayoutDestroy(b));
    CHECK_CUBLAS(cublasLtMatrixLayoutDestroy(d));
    CHECK_CUBLAS(cublasLtMatmulDescDestroy(md));
}

static void free_fc(struct fc *f)
{
    CHECK_CUDA(cudaFree(f->w));
    CHECK_CUDA(cudaFree(f->b));
}

/* ------------------------------------------------------------------ main */

static void create_ctx(struct ctx *cx)
{
    CHECK_CUDNN(cudnnCreate(&cx->cudnn));
    CHECK_CUBLAS(cublasCreate(&cx->cublas));
    CHECK_CUBLAS(cublasLtCreate(&cx->lt));
    CHECK_CUDNN(cudnnCreateActivationDescriptor(&cx->relu));
    CHECK_CUDNN(cudnnSetActivationDescriptor(cx->relu, CUDNN_ACTIVATION_RELU,
                                             CUDNN_NOT_PROPAGATE_NAN, 0.0));
}

static void destroy_ctx(struct ctx *cx)
{
    CHECK_CUDNN(cudnnDestroyActivationDescriptor(cx->relu));
    CHECK_CUBLAS(cublasLtDestroy(cx->lt));
    CHECK_CUBLAS(cublasDestroy(cx->cublas));
    CHECK_CUDNN(cudnnDestroy(cx->cudnn));
}

static void print_output(const float *dev, size_t n)
{
    float host[BATCH * 10];
    CHECK_CUDA(cudaDeviceSynchronize());
    CHECK_CUDA(cudaMemcpy(host, dev, n * sizeof *host, cudaMemcpyDeviceToHost));
    for (size_t i = 0; i < n; i++)
        printf("%a\n", (double)host[i]);
}

int main(void)
{
    const cudnnTensorFormat_t NCHW = CUDNN_TENSOR_NCHW, NHWC = CUDNN_TENSOR_NHWC;
    struct ctx cx;
    create_ctx(&cx);

    float *x = upload_random(BATCH * 3 * 12 * 12, 1.0f);
    struct conv c1 = make_conv(NCHW, 3, 4, 12, 1);
    struct conv c2 = make_conv(NCHW, 4, 4, 6, 2);
    struct conv c3 = make_conv(NHWC, 4, 8, 6, 1);
    struct fc f1 = make_fc(8, 16), f2 = make_fc(16, 12), f3 = make_fc(12, 10);
    float *a1 = device_floats(BATCH * 4 * 12 * 12), *p1 = device_floats(BATCH * 4 * 6 * 6);
    float *a2 = device_floats(BATCH * 4 * 6 * 6), *t2 = device_floats(BATCH * 4 * 6 * 6);
    float *a3 = device_floats(BATCH * 8 * 6 * 6), *p3 = device_floats(BATCH * 8);
    float *y1 = device_floats(BATCH * 16), *y2 = device_floats(BATCH * 12);
    float *y3 = device_floats(BATCH * 10);
    cudnnTensorDescriptor_t p1_desc = tensor(NCHW, BATCH, 4, 6, 6);
    cudnnTensorDescriptor_t p3_desc = tensor(NHWC, BATCH, 8, 1, 1);

    run_conv(&cx, &c1, x, a1);
    run_pool(&cx, CUDNN_POOLING_MAX, 2, c1.y, a1, p1_desc, p1);
    run_conv(&cx, &c2, p1, a2);
    CHECK_CUDNN(cudnnTransformTensor(cx.cudnn, &ONE, c2.y, a2, &ZERO, c3.x, t2));
    run_conv(&cx, &c3, t2, a3);
    run_pool(&cx, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING, 6, c3.y, a3, p3_desc, p3);
    fc_sgemm(&cx, &f1, p3, y1);
    fc_gemm_ex(&cx, &f2, y1, y2);
    fc_lt_relu_bias(&cx, &f3, y2, y3);
    print_output(y3, BATCH * 10);

    CHECK_CUDNN(cudnnDestroyTensorDescriptor(p1_desc));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(p3_desc));
    float *bufs[] = {x, a1, p1, a2, t2, a3, p3, y1, y2, y3};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        CHECK_CUDA(cudaFree(bufs[i]));
    free_conv(&c1);
    free_conv(&c2);
    free_conv(&c3);
    free_fc(&f1);
    free_fc(&f2);
    free_fc(&f3);
    destroy_ctx(&cx);
    return 0;
}
