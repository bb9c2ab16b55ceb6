/*
 * test_lt_memo.c: the per-thread memo of cublasLtMatmul's descriptor reads
 * (preload/lt_memo.c), against the toolkit's REAL libcublasLt.so.13 (descriptor
 * functions need no GPU).
 *
 * The memo is keyed by the descriptors' bytes. That is right only if every attribute
 * nnspy reads lives in those bytes: the first two tests check it, attribute by
 * attribute, on the real library. The others check that the memo answers as the
 * reader does, skips the getters on a repeat, and reads again what changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <cublasLt.h>

#include "lt_memo.h"

/* The real getters, counted: a memo hit makes no getter call. */
static int getter_calls;

static cublasStatus_t counted_desc(cublasLtMatmulDesc_t d, cublasLtMatmulDescAttributes_t a,
                                   void *buf, size_t size, size_t *written)
{
    getter_calls++;
    return cublasLtMatmulDescGetAttribute(d, a, buf, size, written);
}

static cublasStatus_t counted_layout(cublasLtMatrixLayout_t l, cublasLtMatrixLayoutAttribute_t a,
                                     void *buf, size_t size, size_t *written)
{
    getter_calls++;
    return cublasLtMatrixLayoutGetAttribute(l, a, buf, size, written);
}

static const struct cublaslt_getters counted = {.desc = counted_desc, .layout = counted_layout};

static cublasLtMatrixLayout_t layout(uint64_t rows, uint64_t cols)
{
    cublasLtMatrixLayout_t l;
    assert_int_equal(cublasLtMatrixLayoutCreate(&l, CUDA_R_32F, rows, cols, (int64_t)rows),
                     CUBLAS_STATUS_SUCCESS);
    return l;
}

static cublasLtMatmulDesc_t matmul_desc(void)
{
    cublasLtMatmulDesc_t d;
    assert_int_equal(cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F),
                     CUBLAS_STATUS_SUCCESS);
    return d;
}

/* Every layout attribute nnspy reads, set to a value other than its default,
 * changes the layout's bytes. */
static void layout_attributes_live_in_the_bytes(void **state)
{
    (void)state;
    uint32_t type = CUDA_R_16F;
    int32_t order = CUBLASLT_ORDER_ROW, batch = 3;
    uint64_t rows = 9, cols = 5;
    int64_t ld = 40, stride = 400;
    struct {
        cublasLtMatrixLayoutAttribute_t attr;
        const void *value;
        size_t size;
    } changes[] = {
        {CUBLASLT_MATRIX_LAYOUT_TYPE, &type, sizeof type},
        {CUBLASLT_MATRIX_LAYOUT_ORDER, &order, sizeof order},
        {CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows},
        {CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols},
        {CUBLASLT_MATRIX_LAYOUT_LD, &ld, sizeof ld},
        {CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &batch, sizeof batch},
        {CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &stride, sizeof stride},
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        cublasLtMatrixLayout_t l = layout(8, 4);
        cublasLtMatrixLayoutOpaque_t before = *l;
        assert_int_equal(cublasLtMatrixLayoutSetAttribute(l, changes[i].attr, changes[i].value,
                                                          changes[i].size),
                         CUBLAS_STATUS_SUCCESS);
        assert_true(memcmp(&before, l, sizeof before) != 0);
        assert_int_equal(cublasLtMatrixLayoutDestroy(l), CUBLAS_STATUS_SUCCESS);
    }
}

/* The same for every matmul descriptor attribute nnspy reads. */
static void matmul_attributes_live_in_the_bytes(void **state)
{
    (void)state;
    int32_t trans = CUBLAS_OP_T, pointer_mode = CUBLASLT_POINTER_MODE_DEVICE;
    int32_t scale = CUDA_R_64F, bias_type = CUDA_R_16F, aux_type = CUDA_R_16F;
    uint32_t epilogue = CUBLASLT_EPILOGUE_RELU_BIAS;
    const void *bias = (const void *)(uintptr_t)0x1000;
    int64_t bias_stride = 8;
    struct {
        cublasLtMatmulDescAttributes_t attr;
        const void *value;
        size_t size;
    } changes[] = {
        {CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof trans},
        {CUBLASLT_MATMUL_DESC_TRANSB, &trans, sizeof trans},
        {CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue, sizeof epilogue},
        {CUBLASLT_MATMUL_DESC_POINTER_MODE, &pointer_mode, sizeof pointer_mode},
        {CUBLASLT_MATMUL_DESC_SCALE_TYPE, &scale, sizeof scale},
        {CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof bias},
        {CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type},
        {CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, &aux_type, sizeof aux_type},
        {CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, &bias_stride, sizeof bias_stride},
    };
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        cublasLtMatmulDesc_t d = matmul_desc();
        cublasLtMatmulDescOpaque_t before = *d;
        assert_int_equal(cublasLtMatmulDescSetAttribute(d, changes[i].attr, changes[i].value,
                                                        changes[i].size),
                         CUBLAS_STATUS_SUCCESS);
        assert_true(memcmp(&before, d, sizeof before) != 0);
        assert_int_equal(cublasLtMatmulDescDestroy(d), CUBLAS_STATUS_SUCCESS);
    }
}

/* D(8x4) = A(8x16) * B(16x4): m = 8, n = 4, k = 16 (A's columns). A repeat, even
 * through copies of the same bytes at other addresses, makes no getter call. */
static void repeat_is_remembered(void **state)
{
    (void)state;
    cublasLtMatmulDesc_t d = matmul_desc();
    cublasLtMatrixLayout_t a = layout(8, 16), b = layout(16, 4), c = layout(8, 4);
    nn_lt_matmul first, again;
    getter_calls = 0;
    assert_true(nn_read_lt_matmul_memo(&counted, d, a, b, c, NULL, &first));
    assert_true(getter_calls > 0);
    assert_int_equal(first.gemm.m, 8);
    assert_int_equal(first.gemm.n, 4);
    assert_int_equal(first.gemm.k, 16);

    cublasLtMatrixLayoutOpaque_t a_copy = *a;
    cublasLtMatmulDescOpaque_t d_copy = *d;
    getter_calls = 0;
    assert_true(nn_read_lt_matmul_memo(&counted, &d_copy, &a_copy, b, c, c, &again));
    assert_int_equal(getter_calls, 0);
    assert_memory_equal(&first, &again, sizeof first);
    cublasLtMatmulDescDestroy(d);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
}

/* Changed in place, at the same addresses: k grows from 16 to 32 (A 8x32, B 32x4),
 * which the memo must read, not remember. Then A becomes 32x8 with TRANSA = T:
 * op(A) = A^T is 8x32, so k = 32 with trans_a set. */
static void change_in_place_is_read_again(void **state)
{
    (void)state;
    cublasLtMatmulDesc_t d = matmul_desc();
    cublasLtMatrixLayout_t a = layout(8, 16), b = layout(16, 4), c = layout(8, 4);
    nn_lt_matmul mm;
    assert_true(nn_read_lt_matmul_memo(&counted, d, a, b, c, c, &mm));
    assert_int_equal(mm.gemm.k, 16);

    uint64_t k = 32;
    assert_int_equal(cublasLtMatrixLayoutSetAttribute(a, CUBLASLT_MATRIX_LAYOUT_COLS, &k, sizeof k),
                     CUBLAS_STATUS_SUCCESS);
    assert_int_equal(cublasLtMatrixLayoutSetAttribute(b, CUBLASLT_MATRIX_LAYOUT_ROWS, &k, sizeof k),
                     CUBLAS_STATUS_SUCCESS);
    getter_calls = 0;
    assert_true(nn_read_lt_matmul_memo(&counted, d, a, b, c, c, &mm));
    assert_true(getter_calls > 0);
    assert_int_equal(mm.gemm.k, 32);

    /* A as 32x8 (rows k, cols m) with TRANSA: op(A) is 8x32, k stays 32, trans_a set */
    uint64_t rows = 32, cols = 8;
    int32_t trans = CUBLAS_OP_T;
    cublasLtMatrixLayoutSetAttribute(a, CUBLASLT_MATRIX_LAYOUT_ROWS, &rows, sizeof rows);
    cublasLtMatrixLayoutSetAttribute(a, CUBLASLT_MATRIX_LAYOUT_COLS, &cols, sizeof cols);
    cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &trans, sizeof trans);
    assert_true(nn_read_lt_matmul_memo(&counted, d, a, b, c, c, &mm));
    assert_true(mm.trans_a);
    assert_int_equal(mm.gemm.k, 32);
    cublasLtMatmulDescDestroy(d);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
}

/* An unreadable problem (A's columns 16 against B's rows 12) is remembered as
 * unreadable too, and still answered false. */
static void unreadable_stays_unreadable(void **state)
{
    (void)state;
    cublasLtMatmulDesc_t d = matmul_desc();
    cublasLtMatrixLayout_t a = layout(8, 16), b = layout(12, 4), c = layout(8, 4);
    nn_lt_matmul mm;
    assert_false(nn_read_lt_matmul_memo(&counted, d, a, b, c, c, &mm));
    getter_calls = 0;
    assert_false(nn_read_lt_matmul_memo(&counted, d, a, b, c, c, &mm));
    assert_int_equal(getter_calls, 0);
    cublasLtMatmulDescDestroy(d);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(layout_attributes_live_in_the_bytes),
        cmocka_unit_test(matmul_attributes_live_in_the_bytes),
        cmocka_unit_test(repeat_is_remembered),
        cmocka_unit_test(change_in_place_is_read_again),
        cmocka_unit_test(unreadable_stays_unreadable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
