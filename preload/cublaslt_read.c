/*
 * cublaslt_read.c: reading cublasLtMatmul's matmul descriptor and matrix layouts.
 */
#include "cublaslt_read.h"

#include <string.h>

#include "cuda_types.h"

struct layout {
    cudaDataType type;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch;
    int64_t stride;
    int32_t order;
};

/* Reads one attribute of exactly `size` bytes; absent optional ones keep *buf. */
static bool get_desc(const struct cublaslt_getters *g, cublasLtMatmulDesc_t d,
                     cublasLtMatmulDescAttributes_t attr, void *buf, size_t size)
{
    size_t written = 0;
    return g->desc(d, attr, buf, size, &written) == CUBLAS_STATUS_SUCCESS && written == size;
}

static bool read_layout(const struct cublaslt_getters *g, cublasLtMatrixLayout_t l,
                        struct layout *out)
{
    size_t w;
    uint32_t type = 0;
    out->batch = 1;
    out->stride = 0;
    out->order = CUBLASLT_ORDER_COL;
    if (!l || g->layout(l, CUBLASLT_MATRIX_LAYOUT_TYPE, &type, sizeof type, &w) ||
        g->layout(l, CUBLASLT_MATRIX_LAYOUT_ORDER, &out->order, sizeof out->order, &w) ||
        g->layout(l, CUBLASLT_MATRIX_LAYOUT_ROWS, &out->rows, sizeof out->rows, &w) ||
        g->layout(l, CUBLASLT_MATRIX_LAYOUT_COLS, &out->cols, sizeof out->cols, &w) ||
        g->layout(l, CUBLASLT_MATRIX_LAYOUT_LD, &out->ld, sizeof out->ld, &w) ||
        g->layout(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &out->batch, sizeof out->batch, &w) ||
        g->layout(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &out->stride, sizeof out->stride,
                  &w))
        return false;
    out->type = (cudaDataType)type;
    return out->batch >= 1;
}

/* Bytes of alpha/beta for a scale type. */
static void scalar_of(cudaDataType scale, nn_lt_matmul *m)
{
    nn_dtype t = nn_from_cuda_dtype(scale);
    m->scalar_parts = nn_dtype_is_complex(t) ? 2 : 1;
    m->scalar_size = nn_dtype_bits(t) / 8;
    m->scalar_float = scale != CUDA_R_32I;
}

/*
 * The epilogue's forward part. cuBLASLt's GELU is the tanh approximation (PyTorch
 * uses this epilogue for gelu(approximate="tanh") only). Backward epilogues
 * (DRELU, DGELU, BGRAD) are flagged as not counted yet.
 */
static void read_epilogue(uint32_t e, const void *bias, nn_dtype bias_type, uint64_t bias_len,
                          nn_dtype aux_type, nn_lt_matmul *out)
{
    out->epilogue = (nn_epilogue){.activation = NN_ACT_IDENTITY};
    /* Bits that only backward epilogues set: DRELU's 8, BGRAD's 16, DGELU's 64. */
    const uint32_t backward = 8u | 16u | 64u | CUBLASLT_EPILOGUE_BGRADA | CUBLASLT_EPILOGUE_BGRADB;
    if (e & backward) {
        out->epilogue_not_counted = true;
        return;
    }
    if (e & CUBLASLT_EPILOGUE_BIAS) {
        out->epilogue.bias = true;
        out->epilogue.bias_elements = bias_len;
        out->epilogue.bias_dtype = bias_type;
        out->bias = bias;
    }
    if (e & CUBLASLT_EPILOGUE_RELU) out->epilogue.activation = NN_ACT_RELU;
    if (e & CUBLASLT_EPILOGUE_GELU) out->epilogue.activation = NN_ACT_GELU_TANH;
    if (e & 128u) {
        out->epilogue.aux_output = true;
        /* ReLU's aux output is a bit mask (cublasLt.h: "ReLu bit-mask"); GELU's
         * keeps the pre-activation values. */
        out->epilogue.aux_dtype = (e & CUBLASLT_EPILOGUE_RELU) ? NN_DTYPE_BIT : aux_type;
    }
}

/* D's extent in elements, from its first element to past its last, batches
 * included: column-major, row-major, or (tiled orders) its packed size. */
static bool d_span(const struct layout *d, uint64_t m, uint64_t n, uint64_t *span)
{
    uint64_t one = 0, lead = (uint64_t)(d->ld > 0 ? d->ld : 0), batches = 0;
    bool ok = true;
    if (m == 0 || n == 0)
        one = 0;
    else if (d->order == CUBLASLT_ORDER_COL)
        ok &= nn_mul_u64(n - 1, lead, &one) && nn_add_u64(one, m, &one);
    else if (d->order == CUBLASLT_ORDER_ROW)
        ok &= nn_mul_u64(m - 1, lead, &one) && nn_add_u64(one, n, &one);
    else
        ok &= nn_mul_u64(m, n, &one);
    if (d->batch > 1 && d->stride > 0)
        ok &= nn_mul_u64((uint64_t)d->batch - 1, (uint64_t)d->stride, &batches);
    return ok && nn_add_u64(one, batches, span);
}

bool nn_read_lt_matmul(const struct cublaslt_getters *g, cublasLtMatmulDesc_t desc,
                       cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                       cublasLtMatrixLayout_t d, nn_lt_matmul *out)
{
    struct layout la, lb, lc, ld;
    int32_t ta = CUBLAS_OP_N, tb = CUBLAS_OP_N, pointer_mode = 0, scale = CUDA_R_32F;
    int32_t bias_type = -1, aux_type = -1;
    uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    const void *bias = NULL;
    memset(out, 0, sizeof *out);
    if (!g->desc || !g->layout || !desc) return false;
    if (!d) d = c; /* D defaults to C's layout */
    if (!read_layout(g, a, &la) || !read_layout(g, b, &lb) || !read_layout(g, c, &lc) ||
        !read_layout(g, d, &ld))
        return false;
    if (!get_desc(g, desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta) ||
        !get_desc(g, desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb) ||
        !get_desc(g, desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue) ||
        !get_desc(g, desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, &pointer_mode, sizeof pointer_mode) ||
        !get_desc(g, desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, &scale, sizeof scale))
        return false;
    get_desc(g, desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias);
    get_desc(g, desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type);
    get_desc(g, desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, &aux_type, sizeof aux_type);
    int64_t bias_stride = 0;
    get_desc(g, desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &bias_stride, sizeof bias_stride);

    out->trans_a = ta != CUBLAS_OP_N;
    out->trans_b = tb != CUBLAS_OP_N;
    uint64_t m = ld.rows, n = ld.cols;
    uint64_t k = out->trans_a ? la.rows : la.cols;
    uint64_t a_rows = out->trans_a ? la.cols : la.rows;
    uint64_t b_rows = out->trans_b ? lb.cols : lb.rows, b_cols = out->trans_b ? lb.rows : lb.cols;
    if (a_rows != m || b_rows != k || b_cols != n) return false;

    uint64_t batch = (uint64_t)ld.batch;
    nn_dtype d_type = nn_from_cuda_dtype(ld.type);
    out->gemm = (nn_gemm_shape){
        .m = m,
        .n = n,
        .k = k,
        .batch = batch,
        .a_matrices = batch > 1 && la.stride == 0 ? 1 : batch,
        .b_matrices = batch > 1 && lb.stride == 0 ? 1 : batch,
        .c_matrices = batch > 1 && lc.stride == 0 ? 1 : batch,
        .d_matrices = batch,
        .a_dtype = nn_from_cuda_dtype(la.type),
        .b_dtype = nn_from_cuda_dtype(lb.type),
        .c_dtype = nn_from_cuda_dtype(lc.type),
        .d_dtype = d_type,
        .complex_math = nn_dtype_is_complex(nn_from_cuda_dtype(la.type)),
    };
    out->stride_a = la.stride;
    out->stride_b = lb.stride;
    /* Where beta is: a host scalar (HOST, ALPHA_DEVICE_VECTOR_BETA_HOST), known zero
     * (ALPHA_DEVICE_VECTOR_BETA_ZERO), or device memory nnspy does not read. */
    out->beta_on_host = pointer_mode == CUBLASLT_POINTER_MODE_HOST ||
                        pointer_mode == CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST;
    out->beta_zero = pointer_mode == CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO;
    scalar_of((cudaDataType)scale, out);
    /* One bias vector of m, or one per product when it has a batch stride. */
    uint64_t bias_len = m;
    if (bias_stride != 0 && !nn_mul_u64(m, batch, &bias_len)) return false;
    read_epilogue(epilogue, bias, bias_type < 0 ? d_type : nn_from_cuda_dtype(bias_type), bias_len,
                  aux_type < 0 ? d_type : nn_from_cuda_dtype(aux_type), out);
    return d_span(&ld, m, n, &out->d_span_elements);
}
