/*
 * badinput: calls cuDNN, cuBLAS and cuBLASLt with bad arguments and prints the status
 * each library returns, one line per call ("name code NAME"), so a test can diff
 * stdout with and without nnspy: the preload must hand every status back unchanged,
 * must not crash on NULL or inconsistent descriptors, and must count these calls as
 * failures, apart from the good ones. No descriptor is used after being destroyed.
 *
 * Calls, in order (failures expected unless said otherwise):
 *   conv_null_filter       cudnnConvolutionForward, filter descriptor NULL  -> BAD_PARAM*
 *   conv_channel_mismatch  input 3 channels, filter 4                     -> BAD_PARAM*
 *   sgemm_negative_m       cublasSgemm_v2 with m = -1                     -> INVALID_VALUE
 *   sgemm_null_handle      cublasSgemm_v2 with a NULL handle              -> NOT_INITIALIZED
 *   tensor_int8 / add_tensor_int8   cudnnAddTensor on INT8 tensors      -> whatever the
 *   tensor_fp8_e4m3 / add_tensor_fp8_e4m3  ... on FP8 E4M3 tensors         library says
 *       (the add_tensor line reads "skipped" when the descriptor is refused; the real
 *       cuDNN 9.19 accepts INT8 4d descriptors and refuses FP8 ones with BAD_PARAM)
 *   lt_matmul_mismatch     cublasLtMatmul, A is 4x8 but B is 4x4          -> not SUCCESS
 *   conv_valid             a correct 1x3x8x8 * 2x3x3x3 convolution        -> SUCCESS
 * (* cuDNN 9 may return a finer code in the BAD_PARAM category, e.g. 2002.)
 *
 * So nnspy should see: cudnnConvolutionForward 2 failed + 1 succeeded (1944 MACs),
 * cublasSgemm_v2 2 failed, cublasLtMatmul 1 failed, and the two cudnnAddTensor
 * outcomes printed. Exits 0 when every expected status came back, 1 otherwise.
 */
/* cublasLt.h declares cublasLtLoggerForceDisable() without a prototype. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <cublasLt.h>
#pragma GCC diagnostic pop
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <stdio.h>
#include <stdlib.h>

/* Setup calls must succeed: only the calls under test may fail. */
#define CHECK_CUDA(call) check_cuda((call), #call, __LINE__)
#define CHECK_CUDNN(call) check_cudnn((call), #call, __LINE__)
#define CHECK_CUBLAS(call) check_cublas((call), #call, __LINE__)

static void check_cuda(cudaError_t err, const char *what, int line)
{
    if (err == cudaSuccess)
        return;
    fprintf(stderr, "badinput: line %d: %s failed: %s (%d)\n", line, what,
            cudaGetErrorString(err), (int)err);
    exit(1);
}

static void check_cudnn(cudnnStatus_t st, const char *what, int line)
{
    if (st == CUDNN_STATUS_SUCCESS)
        return;
    fprintf(stderr, "badinput: line %d: %s failed: %s (%d)\n", line, what,
            cudnnGetErrorString(st), (int)st);
    exit(1);
}

static void check_cublas(cublasStatus_t st, const char *what, int line)
{
    if (st == CUBLAS_STATUS_SUCCESS)
        return;
    fprintf(stderr, "badinput: line %d: %s failed: %s (%d)\n", line, what,
            cublasGetStatusString(st), (int)st);
    exit(1);
}

static const float ONE = 1.0f, ZERO = 0.0f;
static int unexpected; /* how many statuses differed from what the call must return */

/* ------------------------------------------------------ reporting statuses */

static void expect(const char *name, int ok, const char *wanted)
{
    if (ok)
        return;
    fprintf(stderr, "badinput: %s: expected %s\n", name, wanted);
    unexpected++;
}

static cudnnStatus_t report_cudnn(const char *name, cudnnStatus_t st)
{
    printf("%s %d %s\n", name, (int)st, cudnnGetErrorString(st));
    return st;
}

static cublasStatus_t report_cublas(const char *name, cublasStatus_t st)
{
    printf("%s %d %s\n", name, (int)st, cublasGetStatusName(st));
    return st;
}

static int is_bad_param(cudnnStatus_t st)
{
    return CUDNN_STATUS_CATEGORY(st) == CUDNN_STATUS_BAD_PARAM;
}

/* ------------------------------------------------------------- fixtures */

static void *device_zeros(size_t bytes)
{
    void *dev;
    CHECK_CUDA(cudaMalloc(&dev, bytes));
    CHECK_CUDA(cudaMemset(dev, 0, bytes));
    return dev;
}

static cudnnTensorDescriptor_t tensor(int c, int h, int w)
{
    cudnnTensorDescriptor_t t;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&t));
    CHECK_CUDNN(cudnnSetTensor4dDescriptor(t, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, c, h, w));
    return t;
}

static cudnnFilterDescriptor_t filter(int k, int c)
{
    cudnnFilterDescriptor_t f;
    CHECK_CUDNN(cudnnCreateFilterDescriptor(&f));
    CHECK_CUDNN(cudnnSetFilter4dDescriptor(f, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, 3, 3));
    return f;
}

/* A 1x3x8x8 input, a 3x3 unpadded convolution, a 1x2x6x6 output. */
struct conv_case {
    cudnnHandle_t h;
    cudnnTensorDescriptor_t x_desc, y_desc;
    cudnnConvolutionDescriptor_t conv_desc;
    float *x, *w, *y;
};

static cudnnStatus_t conv(const struct conv_case *cc, cudnnFilterDescriptor_t w_desc)
{
    return cudnnConvolutionForward(cc->h, &ONE, cc->x_desc, cc->x, w_desc, cc->w, cc->conv_desc,
                                   CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, NULL, 0, &ZERO,
                                   cc->y_desc, cc->y);
}

static void conv_case_init(struct conv_case *cc, cudnnHandle_t h)
{
    cc->h = h;
    cc->x_desc = tensor(3, 8, 8);
    cc->y_desc = tensor(2, 6, 6);
    CHECK_CUDNN(cudnnCreateConvolutionDescriptor(&cc->conv_desc));
    CHECK_CUDNN(cudnnSetConvolution2dDescriptor(cc->conv_desc, 0, 0, 1, 1, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    cc->x = device_zeros(3 * 8 * 8 * sizeof(float));
    cc->w = device_zeros(2 * 4 * 3 * 3 * sizeof(float)); /* room for the 4-channel filter */
    cc->y = device_zeros(2 * 6 * 6 * sizeof(float));
}

static void conv_case_free(struct conv_case *cc)
{
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(cc->x_desc));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(cc->y_desc));
    CHECK_CUDNN(cudnnDestroyConvolutionDescriptor(cc->conv_desc));
    CHECK_CUDA(cudaFree(cc->x));
    CHECK_CUDA(cudaFree(cc->w));
    CHECK_CUDA(cudaFree(cc->y));
}

/* ------------------------------------------------------------- the cases */

static void bad_convolutions(const struct conv_case *cc)
{
    cudnnStatus_t st = report_cudnn("conv_null_filter", conv(cc, NULL));
    expect("conv_null_filter", is_bad_param(st), "a BAD_PARAM status");

    cudnnFilterDescriptor_t four_channels = filter(2, 4);
    st = report_cudnn("conv_channel_mismatch", conv(cc, four_channels));
    expect("conv_channel_mismatch", is_bad_param(st), "a BAD_PARAM status");
    CHECK_CUDNN(cudnnDestroyFilterDescriptor(four_channels));
}

static void bad_sgemms(cublasHandle_t h)
{
    float *buf = device_zeros(16 * sizeof(float));
    cublasStatus_t st = report_cublas(
        "sgemm_negative_m",
        cublasSgemm_v2(h, CUBLAS_OP_N, CUBLAS_OP_N, -1, 4, 4, &ONE, buf, 4, buf, 4, &ZERO, buf, 4));
    expect("sgemm_negative_m", st == CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE");
    st = report_cublas("sgemm_null_handle",
                       cublasSgemm_v2(NULL, CUBLAS_OP_N, CUBLAS_OP_N, 4, 4, 4, &ONE, buf, 4, buf,
                                      4, &ZERO, buf, 4));
    expect("sgemm_null_handle", st == CUBLAS_STATUS_NOT_INITIALIZED,
           "CUBLAS_STATUS_NOT_INITIALIZED");
    CHECK_CUDA(cudaFree(buf));
}

/* C(1x4x2x2) += bias(1x4x1x1) in an exotic data type, if the library takes the type.
 * Any status is acceptable; it is printed for the diff. */
static void exotic_add_tensor(cudnnHandle_t h, const char *type_name, cudnnDataType_t type)
{
    char name[64];
    cudnnTensorDescriptor_t a, c;
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&a));
    CHECK_CUDNN(cudnnCreateTensorDescriptor(&c));
    snprintf(name, sizeof name, "tensor_%s", type_name);
    cudnnStatus_t sa = report_cudnn(name, cudnnSetTensor4dDescriptor(a, CUDNN_TENSOR_NCHW, type,
                                                                     1, 4, 1, 1));
    cudnnStatus_t sc = cudnnSetTensor4dDescriptor(c, CUDNN_TENSOR_NCHW, type, 1, 4, 2, 2);
    snprintf(name, sizeof name, "add_tensor_%s", type_name);
    if (sa == CUDNN_STATUS_SUCCESS && sc == CUDNN_STATUS_SUCCESS) {
        void *bias = device_zeros(4), *out = device_zeros(16); /* one byte per element */
        report_cudnn(name, cudnnAddTensor(h, &ONE, a, bias, &ONE, c, out));
        CHECK_CUDA(cudaFree(bias));
        CHECK_CUDA(cudaFree(out));
    } else {
        printf("%s skipped\n", name);
    }
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(a));
    CHECK_CUDNN(cudnnDestroyTensorDescriptor(c));
}

static cublasLtMatrixLayout_t lt_layout(int rows, int cols)
{
    cublasLtMatrixLayout_t l;
    CHECK_CUBLAS(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, (uint64_t)rows, (uint64_t)cols,
                                            rows));
    return l;
}

/* D(4x4) = A(4x8) * B(4x4): A's 8 columns cannot meet B's 4 rows. */
static void bad_lt_matmul(cublasLtHandle_t lt)
{
    cublasLtMatmulDesc_t md;
    CHECK_CUBLAS(cublasLtMatmulDescCreate(&md, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasLtMatrixLayout_t a = lt_layout(4, 8), b = lt_layout(4, 4), d = lt_layout(4, 4);
    float *buf = device_zeros(32 * sizeof(float));
    cublasStatus_t st = cublasLtMatmul(lt, md, &ONE, buf, a, buf, b, &ZERO, buf, d, buf, d,
                                       NULL, NULL, 0, 0);
    printf("lt_matmul_mismatch %d %s\n", (int)st, cublasLtGetStatusName(st));
    expect("lt_matmul_mismatch", st != CUBLAS_STATUS_SUCCESS, "a failure");
    CHECK_CUDA(cudaFree(buf));
    CHECK_CUBLAS(cublasLtMatrixLayoutDestroy(a));
    CHECK_CUBLAS(cublasLtMatrixLayoutDestroy(b));
    CHECK_CUBLAS(cublasLtMatrixLayoutDestroy(d));
    CHECK_CUBLAS(cublasLtMatmulDescDestroy(md));
}

static void good_convolution(const struct conv_case *cc)
{
    cudnnFilterDescriptor_t w_desc = filter(2, 3);
    cudnnStatus_t st = report_cudnn("conv_valid", conv(cc, w_desc));
    expect("conv_valid", st == CUDNN_STATUS_SUCCESS, "CUDNN_STATUS_SUCCESS");
    CHECK_CUDNN(cudnnDestroyFilterDescriptor(w_desc));
}

int main(void)
{
    cudnnHandle_t cudnn;
    cublasHandle_t cublas;
    cublasLtHandle_t lt;
    struct conv_case cc;
    CHECK_CUDNN(cudnnCreate(&cudnn));
    CHECK_CUBLAS(cublasCreate(&cublas));
    CHECK_CUBLAS(cublasLtCreate(&lt));
    conv_case_init(&cc, cudnn);

    bad_convolutions(&cc);
    bad_sgemms(cublas);
    exotic_add_tensor(cudnn, "int8", CUDNN_DATA_INT8);
    exotic_add_tensor(cudnn, "fp8_e4m3", CUDNN_DATA_FP8_E4M3);
    bad_lt_matmul(lt);
    good_convolution(&cc);
    CHECK_CUDA(cudaDeviceSynchronize());

    conv_case_free(&cc);
    CHECK_CUBLAS(cublasLtDestroy(lt));
    CHECK_CUBLAS(cublasDestroy(cublas));
    CHECK_CUDNN(cudnnDestroy(cudnn));
    fflush(stdout);
    return unexpected ? 1 : 0;
}
