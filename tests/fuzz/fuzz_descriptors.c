/*
 * fuzz_descriptors: libFuzzer target for what nnspy reads from the program's
 * descriptors. Fake cuDNN and cuBLASLt getters answer with the fuzzer's bytes
 * (any rank, dims, strides, data types, epilogues, batch counts), and the result
 * goes through the readers and the cost model, as in a wrapper. Any crash,
 * sanitizer report or broken invariant is a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cublaslt_read.h"
#include "cudnn_read.h"

static const uint8_t *in;
static size_t left;

static int32_t next_i32(void)
{
    int32_t v = 0;
    size_t n = left < sizeof v ? left : sizeof v;
    memcpy(&v, in, n);
    in += n;
    left -= n;
    return v;
}

static cudnnStatus_t fake_tensor(const cudnnTensorDescriptor_t d, int req, cudnnDataType_t *t,
                                 int *nb, int dims[], int strides[])
{
    (void)d;
    *t = (cudnnDataType_t)next_i32();
    *nb = next_i32();
    for (int i = 0; i < req; i++) dims[i] = next_i32(), strides[i] = next_i32();
    return (cudnnStatus_t)(next_i32() & 1 ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM);
}

static cudnnStatus_t fake_filter(const cudnnFilterDescriptor_t d, int req, cudnnDataType_t *t,
                                 cudnnTensorFormat_t *f, int *nb, int dims[])
{
    (void)d;
    *t = (cudnnDataType_t)next_i32();
    *f = (cudnnTensorFormat_t)next_i32();
    *nb = next_i32();
    for (int i = 0; i < req; i++) dims[i] = next_i32();
    return CUDNN_STATUS_SUCCESS;
}

static cublasStatus_t fake_desc(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a,
                                void *buf, size_t size, size_t *written)
{
    (void)d;
    (void)a;
    for (size_t i = 0; i < size; i += 4) {
        int32_t v = next_i32();
        memcpy((char *)buf + i, &v, size - i < 4 ? size - i : 4);
    }
    *written = (next_i32() & 7) ? size : 0;
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t fake_layout(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a,
                                  void *buf, size_t size, size_t *written)
{
    return fake_desc((cublasLtMatmulDesc_t)l, (cublasLtMatmulDescAttributes_t)a, buf, size,
                     written);
}

static void conv_path(void)
{
    static const struct cudnn_getters g = {.tensor = fake_tensor, .filter = fake_filter};
    cudnnTensorDescriptor_t any = (cudnnTensorDescriptor_t)&g;
    nn_tensor_info x, y;
    nn_filter_info w;
    nn_conv_shape s;
    if (nn_read_tensor(&g, any, &x) && nn_read_filter(&g, (cudnnFilterDescriptor_t)any, &w) &&
        nn_read_tensor(&g, any, &y) && nn_conv_shape_from(&x, &w, &y, &s)) {
        for (int dir = 0; dir < 3; dir++) {
            nn_cost c = nn_conv_cost(&s, (nn_conv_direction)dir, next_i32() & 1);
            if (!c.overflow && c.flops != 2 * c.macs) abort(); /* FLOPs = 2 x MACs */
        }
    }
}

static void matmul_path(void)
{
    static const struct cublaslt_getters g = {.desc = fake_desc, .layout = fake_layout};
    void *any = (void *)&g;
    nn_lt_matmul mm;
    if (!nn_read_lt_matmul(&g, any, any, any, any, any, &mm)) return;
    nn_cost c = nn_gemm_cost(&mm.gemm, next_i32() & 1);
    nn_epilogue_add_cost(&c, &mm.epilogue, mm.gemm.m * mm.gemm.n);
    if (!c.overflow && c.flops < 2 * c.macs) abort(); /* elementwise FLOPs only add */
}

static cudnnStatus_t fake_rnn(cudnnRNNDescriptor_t d, cudnnRNNAlgo_t *algo, cudnnRNNMode_t *mode,
                              cudnnRNNBiasMode_t *bias, cudnnDirectionMode_t *dir,
                              cudnnRNNInputMode_t *input, cudnnDataType_t *type,
                              cudnnDataType_t *math_prec, cudnnMathType_t *math,
                              int32_t *input_size, int32_t *hidden, int32_t *proj,
                              int32_t *layers, cudnnDropoutDescriptor_t *dropout, uint32_t *aux)
{
    (void)d;
    *algo = (cudnnRNNAlgo_t)next_i32(), *mode = (cudnnRNNMode_t)next_i32();
    *bias = (cudnnRNNBiasMode_t)next_i32(), *dir = (cudnnDirectionMode_t)next_i32();
    *input = (cudnnRNNInputMode_t)next_i32(), *type = (cudnnDataType_t)next_i32();
    *math_prec = (cudnnDataType_t)next_i32(), *math = (cudnnMathType_t)next_i32();
    *input_size = next_i32(), *hidden = next_i32(), *proj = next_i32(), *layers = next_i32();
    *dropout = NULL, *aux = 0;
    return CUDNN_STATUS_SUCCESS;
}

static cudnnStatus_t fake_rnn_data(cudnnRNNDataDescriptor_t d, cudnnDataType_t *type,
                                   cudnnRNNDataLayout_t *layout, int *max_len, int *batch,
                                   int *vector, int requested, int lengths[], void *padding)
{
    (void)d, (void)padding;
    *type = (cudnnDataType_t)next_i32(), *layout = (cudnnRNNDataLayout_t)next_i32();
    *max_len = next_i32(), *batch = next_i32() & 0xffff, *vector = next_i32();
    for (int i = 0; i < requested; i++) lengths[i] = next_i32();
    return CUDNN_STATUS_SUCCESS;
}

static void rnn_path(void)
{
    static const struct cudnn_getters g = {.rnn = fake_rnn, .rnn_data = fake_rnn_data};
    void *any = (void *)&g;
    nn_rnn_shape s;
    uint64_t elements;
    if (!nn_read_rnn(&g, any, &s) || !nn_read_rnn_steps(&g, any, &s.steps, &s.batch, &elements))
        return;
    for (int pass = 0; pass < 3; pass++) {
        nn_cost c = nn_rnn_cost(&s, (nn_rnn_pass)pass);
        if (!c.overflow && c.flops < 2 * c.macs) abort(); /* gate math only adds */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in = data;
    left = size;
    conv_path();
    matmul_path();
    rnn_path();
    return 0;
}
