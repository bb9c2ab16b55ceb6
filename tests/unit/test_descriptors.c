/*
 * test_descriptors.c: nnspy's descriptor readers against the toolkit's REAL
 * libcudnn.so.9 and libcublasLt.so.13 (descriptor functions need no GPU). Every
 * expected value is derived by hand in the comment beside it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <cublasLt.h>
#include <cudnn.h>

#include "cublaslt_read.h"
#include "cuda_types.h"
#include "cudnn_read.h"

static const struct cudnn_getters real_cudnn = {
    .tensor = cudnnGetTensorNdDescriptor,
    .filter = cudnnGetFilterNdDescriptor,
    .activation = cudnnGetActivationDescriptor,
    .pooling = cudnnGetPoolingNdDescriptor,
    .lrn = cudnnGetLRNDescriptor,
    .op_tensor = cudnnGetOpTensorDescriptor,
    .rnn = cudnnGetRNNDescriptor_v8,
    .rnn_data = cudnnGetRNNDataDescriptor,
};

static const struct cublaslt_getters real_lt = {
    .desc = cublasLtMatmulDescGetAttribute,
    .layout = cublasLtMatrixLayoutGetAttribute,
};

static cudnnTensorDescriptor_t tensor4d(cudnnTensorFormat_t f, cudnnDataType_t t, int n, int c,
                                        int h, int w)
{
    cudnnTensorDescriptor_t d;
    assert_int_equal(cudnnCreateTensorDescriptor(&d), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetTensor4dDescriptor(d, f, t, n, c, h, w), CUDNN_STATUS_SUCCESS);
    return d;
}

static cudnnFilterDescriptor_t filter4d(cudnnDataType_t t, int k, int c, int h, int w)
{
    cudnnFilterDescriptor_t d;
    assert_int_equal(cudnnCreateFilterDescriptor(&d), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetFilter4dDescriptor(d, t, CUDNN_TENSOR_NCHW, k, c, h, w),
                     CUDNN_STATUS_SUCCESS);
    return d;
}

static void nchw_float_tensor(void **state)
{
    (void)state;
    cudnnTensorDescriptor_t d = tensor4d(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 3, 5, 7);
    nn_tensor_info t;
    assert_true(nn_read_tensor(&real_cudnn, d, &t));
    assert_int_equal(t.nb, 4);
    assert_int_equal(t.dims[0], 2);
    assert_int_equal(t.dims[3], 7);
    /* packed NCHW strides: W=1, H=7, C=5*7=35, N=3*35=105 */
    assert_int_equal(t.strides[0], 105);
    assert_int_equal(t.strides[1], 35);
    assert_int_equal(t.dtype, NN_DTYPE_F32);
    assert_int_equal(t.elements, 210); /* 2*3*5*7 */
    assert_int_equal(t.span_bytes, 840); /* 210 floats, packed */
    assert_false(t.channels_last);
    cudnnDestroyTensorDescriptor(d);
}

static void nhwc_half_tensor(void **state)
{
    (void)state;
    cudnnTensorDescriptor_t d = tensor4d(CUDNN_TENSOR_NHWC, CUDNN_DATA_HALF, 1, 16, 4, 4);
    nn_tensor_info t;
    assert_true(nn_read_tensor(&real_cudnn, d, &t));
    /* dims stay logical N, C, H, W; NHWC strides: C=1, W=16, H=4*16=64, N=256 */
    assert_int_equal(t.dims[1], 16);
    assert_int_equal(t.strides[1], 1);
    assert_int_equal(t.strides[2], 64);
    assert_true(t.channels_last);
    assert_int_equal(t.dtype, NN_DTYPE_F16);
    assert_int_equal(t.elements, 256); /* 16*4*4 */
    assert_int_equal(t.span_bytes, 512); /* 256 halves */
    cudnnDestroyTensorDescriptor(d);
}

static void padded_strides_tensor(void **state)
{
    (void)state;
    cudnnTensorDescriptor_t d;
    int dims[4] = {1, 2, 3, 3}, strides[4] = {32, 16, 4, 1};
    assert_int_equal(cudnnCreateTensorDescriptor(&d), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetTensorNdDescriptor(d, CUDNN_DATA_DOUBLE, 4, dims, strides),
                     CUDNN_STATUS_SUCCESS);
    nn_tensor_info t;
    assert_true(nn_read_tensor(&real_cudnn, d, &t));
    assert_int_equal(t.elements, 18); /* 2*3*3 */
    /* last element at 1*16 + 2*4 + 2*1 = 26, so the span is 27 doubles = 216 bytes */
    assert_int_equal(t.span_bytes, 216);
    assert_int_equal(t.dtype, NN_DTYPE_F64);
    cudnnDestroyTensorDescriptor(d);
}

static void data_types(void **state)
{
    (void)state;
    static const struct {
        cudnnDataType_t in;
        nn_dtype out;
    } cases[] = {
        {CUDNN_DATA_BFLOAT16, NN_DTYPE_BF16},
        {CUDNN_DATA_INT8, NN_DTYPE_I8},
        {CUDNN_DATA_DOUBLE, NN_DTYPE_F64},
        {CUDNN_DATA_HALF, NN_DTYPE_F16},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cudnnTensorDescriptor_t d = tensor4d(CUDNN_TENSOR_NHWC, cases[i].in, 1, 4, 2, 2);
        nn_tensor_info t;
        assert_true(nn_read_tensor(&real_cudnn, d, &t));
        assert_int_equal(t.dtype, cases[i].out);
        cudnnDestroyTensorDescriptor(d);
    }
    /* The legacy setters refuse fp8 (CUDNN_STATUS_BAD_PARAM): fp8 tensors come
     * through the graph API, which shares this mapping. */
    cudnnTensorDescriptor_t d;
    assert_int_equal(cudnnCreateTensorDescriptor(&d), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetTensor4dDescriptor(d, CUDNN_TENSOR_NHWC, CUDNN_DATA_FP8_E4M3, 1, 4,
                                                2, 2), CUDNN_STATUS_BAD_PARAM);
    cudnnDestroyTensorDescriptor(d);
    assert_int_equal(nn_from_cudnn_dtype(CUDNN_DATA_FP8_E4M3), NN_DTYPE_FP8_E4M3);
    assert_int_equal(nn_from_cudnn_dtype(CUDNN_DATA_FP8_E5M2), NN_DTYPE_FP8_E5M2);
    assert_int_equal(nn_from_cudnn_dtype((cudnnDataType_t)999), NN_DTYPE_UNKNOWN);
}

static void null_descriptor_is_rejected(void **state)
{
    (void)state;
    nn_tensor_info t;
    nn_filter_info f;
    assert_false(nn_read_tensor(&real_cudnn, NULL, &t));
    assert_false(nn_read_filter(&real_cudnn, NULL, &f));
}

static void alexnet_conv1_shape(void **state)
{
    (void)state;
    cudnnTensorDescriptor_t x = tensor4d(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 3, 224, 224);
    cudnnFilterDescriptor_t w = filter4d(CUDNN_DATA_FLOAT, 64, 3, 11, 11);
    /* (224 + 2*2 - 11) / 4 + 1 = 217 / 4 + 1 = 54 + 1 = 55 */
    cudnnTensorDescriptor_t y = tensor4d(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, 64, 55, 55);
    nn_tensor_info xi, yi;
    nn_filter_info wi;
    nn_conv_shape s;
    assert_true(nn_read_tensor(&real_cudnn, x, &xi));
    assert_true(nn_read_tensor(&real_cudnn, y, &yi));
    assert_true(nn_read_filter(&real_cudnn, w, &wi));
    assert_true(nn_conv_shape_from(&xi, &wi, &yi, &s));
    assert_int_equal(s.spatial_dims, 2);
    assert_int_equal(s.groups, 1);
    assert_int_equal(s.kernel[0], 11);
    assert_int_equal(s.out_size[1], 55);
    /* 64 * 55*55 * 3 * 11*11 = 64 * 3025 * 363 = 70,276,800 */
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    assert_int_equal(c.macs, 70276800);
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
}

static void grouped_conv_shape(void **state)
{
    (void)state;
    cudnnTensorDescriptor_t x = tensor4d(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 8, 10, 10);
    cudnnFilterDescriptor_t w = filter4d(CUDNN_DATA_FLOAT, 16, 2, 3, 3);
    cudnnTensorDescriptor_t y = tensor4d(CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 2, 16, 8, 8);
    nn_tensor_info xi, yi;
    nn_filter_info wi;
    nn_conv_shape s;
    assert_true(nn_read_tensor(&real_cudnn, x, &xi));
    assert_true(nn_read_tensor(&real_cudnn, y, &yi));
    assert_true(nn_read_filter(&real_cudnn, w, &wi));
    assert_true(nn_conv_shape_from(&xi, &wi, &yi, &s));
    assert_int_equal(s.groups, 4); /* 8 input channels / 2 per group */
    /* 2 * 16 * 8*8 * 2 * 3*3 = 36,864 */
    assert_int_equal(nn_conv_cost(&s, NN_CONV_FORWARD, false).macs, 36864);
    /* a filter whose channels do not divide x's is not a convolution */
    cudnnFilterDescriptor_t bad = filter4d(CUDNN_DATA_FLOAT, 16, 3, 3, 3);
    assert_true(nn_read_filter(&real_cudnn, bad, &wi));
    assert_false(nn_conv_shape_from(&xi, &wi, &yi, &s));
    cudnnDestroyFilterDescriptor(bad);
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
}

static void conv3d_shape(void **state)
{
    (void)state;
    int xd[5] = {1, 4, 8, 8, 8}, yd[5] = {1, 6, 6, 6, 6}, wd[5] = {6, 4, 3, 3, 3};
    int xs[5] = {2048, 512, 64, 8, 1}, ys[5] = {1296, 216, 36, 6, 1};
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    assert_int_equal(cudnnCreateTensorDescriptor(&x), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnCreateTensorDescriptor(&y), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnCreateFilterDescriptor(&w), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetTensorNdDescriptor(x, CUDNN_DATA_FLOAT, 5, xd, xs), 0);
    assert_int_equal(cudnnSetTensorNdDescriptor(y, CUDNN_DATA_FLOAT, 5, yd, ys), 0);
    assert_int_equal(cudnnSetFilterNdDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, 5, wd), 0);
    nn_tensor_info xi, yi;
    nn_filter_info wi;
    nn_conv_shape s;
    assert_true(nn_read_tensor(&real_cudnn, x, &xi));
    assert_true(nn_read_tensor(&real_cudnn, y, &yi));
    assert_true(nn_read_filter(&real_cudnn, w, &wi));
    assert_true(nn_conv_shape_from(&xi, &wi, &yi, &s));
    assert_int_equal(s.spatial_dims, 3);
    /* 6 * 6*6*6 * 4 * 3*3*3 = 6 * 216 * 108 = 139,968 */
    assert_int_equal(nn_conv_cost(&s, NN_CONV_FORWARD, false).macs, 139968);
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
}

static void activation_and_pooling(void **state)
{
    (void)state;
    cudnnActivationDescriptor_t a;
    cudnnPoolingDescriptor_t p;
    nn_activation act;
    nn_pool_mode mode;
    uint64_t window;
    assert_int_equal(cudnnCreateActivationDescriptor(&a), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetActivationDescriptor(a, CUDNN_ACTIVATION_RELU, CUDNN_PROPAGATE_NAN, 0),
                     CUDNN_STATUS_SUCCESS);
    assert_true(nn_read_activation(&real_cudnn, a, &act));
    assert_int_equal(act, NN_ACT_RELU);
    assert_int_equal(cudnnCreatePoolingDescriptor(&p), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetPooling2dDescriptor(p, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING,
                                                 CUDNN_PROPAGATE_NAN, 3, 2, 0, 0, 2, 2),
                     CUDNN_STATUS_SUCCESS);
    assert_true(nn_read_pooling(&real_cudnn, p, &mode, &window));
    assert_int_equal(mode, NN_POOL_AVERAGE);
    assert_int_equal(window, 6); /* 3 x 2 */
    cudnnDestroyActivationDescriptor(a);
    cudnnDestroyPoolingDescriptor(p);
}

static cublasLtMatrixLayout_t layout(cudaDataType t, uint64_t rows, uint64_t cols, int64_t ld)
{
    cublasLtMatrixLayout_t l;
    assert_int_equal(cublasLtMatrixLayoutCreate(&l, t, rows, cols, ld), CUBLAS_STATUS_SUCCESS);
    return l;
}

static void set_batch(cublasLtMatrixLayout_t l, int32_t count, int64_t stride)
{
    assert_int_equal(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT,
                                                      &count, sizeof count),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET,
                                                      &stride, sizeof stride),
                     CUBLAS_STATUS_SUCCESS);
}

static void lt_linear_with_bias_relu(void **state)
{
    (void)state;
    /* PyTorch's linear 64 -> 32 on a batch of 8: D(32x8) = W^T(32x64) x(64x8),
     * W stored as a 64x32 column-major matrix and transposed. */
    cublasLtMatmulDesc_t desc;
    assert_int_equal(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                     CUBLAS_STATUS_SUCCESS);
    int32_t trans = CUBLAS_OP_T;
    uint32_t epi = CUBLASLT_EPILOGUE_RELU_BIAS;
    const void *bias = (const void *)0x10000; /* never dereferenced */
    assert_int_equal(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans,
                                                    sizeof trans), 0);
    assert_int_equal(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi,
                                                    sizeof epi), 0);
    assert_int_equal(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                                    sizeof bias), 0);
    cublasLtMatrixLayout_t a = layout(CUDA_R_32F, 64, 32, 64);
    cublasLtMatrixLayout_t b = layout(CUDA_R_32F, 64, 8, 64);
    cublasLtMatrixLayout_t c = layout(CUDA_R_32F, 32, 8, 32);
    nn_lt_matmul mm;
    assert_true(nn_read_lt_matmul(&real_lt, desc, a, b, c, c, &mm));
    assert_true(mm.trans_a);
    assert_false(mm.trans_b);
    assert_int_equal(mm.gemm.m, 32);
    assert_int_equal(mm.gemm.n, 8);
    assert_int_equal(mm.gemm.k, 64);
    assert_int_equal(mm.gemm.batch, 1);
    assert_true(mm.epilogue.bias);
    assert_int_equal(mm.epilogue.bias_elements, 32); /* one bias per output row */
    assert_int_equal(mm.epilogue.activation, NN_ACT_RELU);
    assert_ptr_equal(mm.bias, bias);
    assert_true(mm.beta_on_host);
    assert_false(mm.beta_zero);
    assert_int_equal(mm.scalar_size, 4);
    assert_int_equal(mm.d_span_elements, 256); /* 7*32 + 32 */
    /* MACs 32*8*64 = 16,384 */
    assert_int_equal(nn_gemm_cost(&mm.gemm, false).macs, 16384);
    /* shapes that disagree (B with 63 rows) are refused */
    cublasLtMatrixLayout_t bad = layout(CUDA_R_32F, 63, 8, 64);
    assert_false(nn_read_lt_matmul(&real_lt, desc, a, bad, c, c, &mm));
    cublasLtMatrixLayoutDestroy(bad);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(desc);
}

static void lt_batched_broadcast(void **state)
{
    (void)state;
    cublasLtMatmulDesc_t desc;
    assert_int_equal(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_16F, CUDA_R_16F), 0);
    cublasLtMatrixLayout_t a = layout(CUDA_R_16F, 16, 4, 16);
    cublasLtMatrixLayout_t b = layout(CUDA_R_16F, 4, 2, 4);
    cublasLtMatrixLayout_t c = layout(CUDA_R_16F, 16, 2, 16);
    set_batch(a, 5, 0); /* one A broadcast to the 5 products */
    set_batch(b, 5, 8);
    set_batch(c, 5, 32);
    nn_lt_matmul mm;
    assert_true(nn_read_lt_matmul(&real_lt, desc, a, b, c, c, &mm));
    assert_int_equal(mm.gemm.batch, 5);
    assert_int_equal(mm.gemm.a_matrices, 1);
    assert_int_equal(mm.gemm.b_matrices, 5);
    assert_int_equal(mm.gemm.a_dtype, NN_DTYPE_F16);
    assert_int_equal(mm.scalar_size, 2); /* CUDA_R_16F scale type */
    /* D: last element at 4*32 + 1*16 + 15, span 4*32 + 16 + 16 = 160 */
    assert_int_equal(mm.d_span_elements, 160);
    /* 16*2*4 MACs per product, 5 products: 640 */
    nn_cost cost = nn_gemm_cost(&mm.gemm, false);
    assert_int_equal(cost.macs, 640);
    /* read A once (16*4 halves = 128 B) and B five times (5*4*2 halves = 80 B) */
    assert_int_equal(cost.bytes_read, 208);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(desc);
}

static void lt_row_order_bias_stride_beta_zero(void **state)
{
    (void)state;
    cublasLtMatmulDesc_t desc;
    assert_int_equal(cublasLtMatmulDescCreate(&desc, CUBLAS_COMPUTE_32F, CUDA_R_32F), 0);
    int32_t mode = CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO;
    uint32_t epi = CUBLASLT_EPILOGUE_BIAS;
    int64_t bias_stride = 4;
    assert_int_equal(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode,
                                                    sizeof mode), 0);
    assert_int_equal(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi,
                                                    sizeof epi), 0);
    assert_int_equal(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE,
                                                    &bias_stride, sizeof bias_stride), 0);
    /* D is 4x3, row-major with ld 3, 2 products 12 elements apart */
    int32_t row = CUBLASLT_ORDER_ROW;
    cublasLtMatrixLayout_t a = layout(CUDA_R_32F, 4, 5, 5), b = layout(CUDA_R_32F, 5, 3, 3),
                           d = layout(CUDA_R_32F, 4, 3, 3);
    cublasLtMatrixLayout_t all[3] = {a, b, d};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(cublasLtMatrixLayoutSetAttribute(all[i], CUBLASLT_MATRIX_LAYOUT_ORDER, &row,
                                                          sizeof row), 0);
        set_batch(all[i], 2, i == 0 ? 20 : i == 1 ? 15 : 12);
    }
    nn_lt_matmul mm;
    assert_true(nn_read_lt_matmul(&real_lt, desc, a, b, d, d, &mm));
    assert_true(mm.beta_zero);        /* ALPHA_DEVICE_VECTOR_BETA_ZERO */
    assert_false(mm.beta_on_host);
    /* row-major: last element at 1*12 + 3*3 + 2, span 12 + (4-1)*3 + 3 = 24 */
    assert_int_equal(mm.d_span_elements, 24);
    /* a bias per product: 4 rows x 2 products */
    assert_int_equal(mm.epilogue.bias_elements, 8);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(d);
    cublasLtMatmulDescDestroy(desc);
}

static void lrn_and_op_tensor(void **state)
{
    (void)state;
    cudnnLRNDescriptor_t lrn;
    assert_int_equal(cudnnCreateLRNDescriptor(&lrn), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetLRNDescriptor(lrn, 5, 1e-4, 0.75, 2.0), CUDNN_STATUS_SUCCESS);
    uint64_t window = 0;
    assert_true(nn_read_lrn(&real_cudnn, lrn, &window));
    assert_int_equal(window, 5);
    cudnnDestroyLRNDescriptor(lrn);

    cudnnOpTensorDescriptor_t op;
    const char *name = NULL;
    bool unary = true;
    assert_int_equal(cudnnCreateOpTensorDescriptor(&op), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetOpTensorDescriptor(op, CUDNN_OP_TENSOR_ADD, CUDNN_DATA_FLOAT,
                                                CUDNN_NOT_PROPAGATE_NAN),
                     CUDNN_STATUS_SUCCESS);
    assert_true(nn_read_op_tensor(&real_cudnn, op, &name, &unary));
    assert_string_equal(name, "add");
    assert_false(unary);
    assert_int_equal(cudnnSetOpTensorDescriptor(op, CUDNN_OP_TENSOR_SQRT, CUDNN_DATA_FLOAT,
                                                CUDNN_NOT_PROPAGATE_NAN),
                     CUDNN_STATUS_SUCCESS);
    assert_true(nn_read_op_tensor(&real_cudnn, op, &name, &unary));
    assert_string_equal(name, "sqrt");
    assert_true(unary); /* B is ignored */
    cudnnDestroyOpTensorDescriptor(op);
    assert_false(nn_read_op_tensor(&real_cudnn, NULL, &name, &unary));
    assert_false(nn_read_lrn(&real_cudnn, NULL, &window));
}

/* The per-channel descriptor cuDNN derives for batch norm, as a wrapper reads it:
 * spatial mode on 8x64x56x56 half gives 1x64x1x1 float (64 channels), per
 * activation 1x64x56x56 (200704 = 64 x 56 x 56). */
static void batch_norm_channels(void **state)
{
    (void)state;
    cudnnTensorDescriptor_t x = tensor4d(CUDNN_TENSOR_NCHW, CUDNN_DATA_HALF, 8, 64, 56, 56), bn;
    assert_int_equal(cudnnCreateTensorDescriptor(&bn), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnDeriveBNTensorDescriptor(bn, x, CUDNN_BATCHNORM_SPATIAL),
                     CUDNN_STATUS_SUCCESS);
    nn_tensor_info t;
    assert_true(nn_read_tensor(&real_cudnn, bn, &t));
    assert_int_equal(t.elements, 64);
    assert_int_equal(t.dtype, NN_DTYPE_F32);
    assert_int_equal(cudnnDeriveBNTensorDescriptor(bn, x, CUDNN_BATCHNORM_PER_ACTIVATION),
                     CUDNN_STATUS_SUCCESS);
    assert_true(nn_read_tensor(&real_cudnn, bn, &t));
    assert_int_equal(t.elements, 200704);
    cudnnDestroyTensorDescriptor(bn);
    cudnnDestroyTensorDescriptor(x);
}

/* An LSTM with a projection, as nn.LSTM(100, 64, num_layers=3, proj_size=32,
 * bidirectional=True) sets it, and its data descriptor of 3 sequences. */
static void rnn_descriptors(void **state)
{
    (void)state;
    cudnnRNNDescriptor_t rnn;
    assert_int_equal(cudnnCreateRNNDescriptor(&rnn), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetRNNDescriptor_v8(rnn, CUDNN_RNN_ALGO_STANDARD, CUDNN_LSTM,
                                              CUDNN_RNN_DOUBLE_BIAS, CUDNN_BIDIRECTIONAL,
                                              CUDNN_LINEAR_INPUT, CUDNN_DATA_HALF,
                                              CUDNN_DATA_FLOAT, CUDNN_TENSOR_OP_MATH, 100, 64, 32,
                                              3, NULL, 0),
                     CUDNN_STATUS_SUCCESS);
    nn_rnn_shape s;
    assert_true(nn_read_rnn(&real_cudnn, rnn, &s));
    assert_int_equal(s.cell, NN_RNN_LSTM);
    assert_int_equal(s.input_size, 100);
    assert_int_equal(s.hidden_size, 64);
    assert_int_equal(s.proj_size, 32);
    assert_int_equal(s.layers, 3);
    assert_int_equal(s.directions, 2);
    assert_int_equal(s.bias_vectors, 2);
    assert_false(s.skip_input);
    assert_int_equal(s.dtype, NN_DTYPE_F16);
    cudnnDestroyRNNDescriptor(rnn);

    cudnnRNNDataDescriptor_t data;
    static const int lengths[3] = {7, 5, 2};
    float pad = 0;
    assert_int_equal(cudnnCreateRNNDataDescriptor(&data), CUDNN_STATUS_SUCCESS);
    assert_int_equal(cudnnSetRNNDataDescriptor(data, CUDNN_DATA_FLOAT,
                                               CUDNN_RNN_DATA_LAYOUT_BATCH_MAJOR_UNPACKED, 7, 3,
                                               100, lengths, &pad),
                     CUDNN_STATUS_SUCCESS);
    /* cuDNN 9's getter returns success here without writing any output (seen with
     * this toolkit: no GPU needed to see it). The reader must refuse that answer,
     * not report garbage; the wrapper takes the lengths from the Set call instead. */
    uint64_t steps = 0, batch = 0, elements = 0;
    cudnnDataType_t type = (cudnnDataType_t)-1;
    cudnnRNNDataLayout_t layout;
    int max_len = -5, batch_size = -5, vector = -5, got[3] = {-1, -1, -1};
    double padding;
    assert_int_equal(cudnnGetRNNDataDescriptor(data, &type, &layout, &max_len, &batch_size,
                                               &vector, 3, got, &padding),
                     CUDNN_STATUS_SUCCESS);
    if (max_len == 7) { /* a library whose getter works */
        assert_true(nn_read_rnn_steps(&real_cudnn, data, &steps, &batch, &elements));
        assert_int_equal(steps, 14);             /* 7 + 5 + 2 */
        assert_int_equal(batch, 3);
        assert_int_equal(elements, 7 * 3 * 100); /* padded: 2100 */
    } else {
        assert_int_equal(max_len, -5);
        assert_false(nn_read_rnn_steps(&real_cudnn, data, &steps, &batch, &elements));
    }
    cudnnDestroyRNNDataDescriptor(data);
    assert_false(nn_read_rnn(&real_cudnn, NULL, &s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nchw_float_tensor),
        cmocka_unit_test(nhwc_half_tensor),
        cmocka_unit_test(padded_strides_tensor),
        cmocka_unit_test(data_types),
        cmocka_unit_test(null_descriptor_is_rejected),
        cmocka_unit_test(alexnet_conv1_shape),
        cmocka_unit_test(grouped_conv_shape),
        cmocka_unit_test(conv3d_shape),
        cmocka_unit_test(activation_and_pooling),
        cmocka_unit_test(lrn_and_op_tensor),
        cmocka_unit_test(batch_norm_channels),
        cmocka_unit_test(rnn_descriptors),
        cmocka_unit_test(lt_linear_with_bias_relu),
        cmocka_unit_test(lt_batched_broadcast),
        cmocka_unit_test(lt_row_order_bias_stride_beta_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
