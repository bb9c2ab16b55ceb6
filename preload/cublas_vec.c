/*
 * cublas_vec.c: the cuBLAS calls beyond GEMM that frameworks make: gemv (a linear
 * layer at batch 1, an RNN step), its strided and pointer-array batched forms, dot,
 * and geam (matrix add, scaled copy and transpose), with their _64 variants.
 *
 * gemv's matrix is the weight operand unless an earlier operation wrote it (the
 * README's GEMM rule, with x the activation); dot and geam read no weights.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include <cublas_v2.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cuda_types.h"
#include "timing.h"

/* Defined in cublas.c. */
void *nn_cublas_stream(const nn_copy *copy, cublasHandle_t handle);
/* beta != 0 as a host scalar of `size` bytes in `parts`; true when it lives on the
 * device (never read). */
bool nn_cublas_beta_nonzero(const nn_copy *copy, cublasHandle_t handle, const void *beta,
                            size_t size, int parts);

#define VEC_PROLOGUE(NAME)                                                                         \
    NN_REAL_OR_RETURN(NAME, CUBLAS_STATUS_NOT_INITIALIZED);                                        \
    bool outer = nn_enter();                                                                       \
    nn_timing_mark tm_ = {.ctx = -1};                                                              \
    void *stream_ = outer ? nn_cublas_stream(copy, handle) : NULL;                                 \
    if (outer) nn_timing_start(&tm_, stream_)

/* Records the call (when outermost) with `op` filled by the caller's FILL, run only
 * when the call succeeded; errno is the program's again afterwards. */
#define VEC_EPILOGUE(NAME, KIND, FILL)                                                             \
    if (outer) {                                                                                   \
        int saved_ = errno;                                                                        \
        nn_op op_ = {.api = NN_API_CUBLAS,                                                         \
                     .call = #NAME,                                                                \
                     .op = KIND,                                                                   \
                     .succeeded = st == CUBLAS_STATUS_SUCCESS};                                    \
        if (op_.succeeded) {                                                                       \
            nn_op *op = &op_;                                                                      \
            FILL;                                                                                  \
        }                                                                                          \
        nn_timing_finish(&tm_, stream_, op_.succeeded, nn_record_on_stream(&op_, stream_));                           \
        errno = saved_;                                                                            \
    }                                                                                              \
    nn_leave();                                                                                    \
    return st

/* Bytes from the first of `count` vectors `stride` elements apart (each of len
 * elements, inc apart) to one past the last element; 0 when it overflows. */
static uint64_t vectors_span(int64_t len, int64_t inc, uint64_t count, long long stride, nn_dtype t)
{
    uint64_t step = inc < 0 ? (uint64_t)0 - (uint64_t)inc : (uint64_t)inc, last, between = 0;
    bool ok = nn_mul_u64((uint64_t)(len - 1), step, &last);
    if (count > 1 && stride > 0) ok &= nn_mul_u64(count - 1, (uint64_t)stride, &between);
    ok &= nn_add_u64(last, between, &last) && nn_add_u64(last, 1, &last);
    bool overflow = false;
    uint64_t bytes = nn_bytes_of(last, t, &overflow);
    return ok && !overflow ? bytes : 0;
}

/* ------------------------------------------------------------ gemv */

struct gemv_call {
    const nn_copy *copy;
    cublasHandle_t handle;
    cublasOperation_t trans;
    int64_t m, n, batch;
    const void *A, *y;
    long long stride_a, stride_y;
    int64_t incy;
    bool pointer_arrays;
    nn_dtype dtype;
    bool complex_math;
    const void *beta;
    size_t beta_size;
};

static void fill_gemv(nn_op *op, const struct gemv_call *c)
{
    if (c->m < 0 || c->n < 0 || c->batch < 0) return;
    uint64_t batch = (uint64_t)c->batch;
    bool broadcast = batch > 1 && c->stride_a == 0 && !c->pointer_arrays;
    nn_gemv_shape s = {.rows = (uint64_t)c->m, .cols = (uint64_t)c->n, .batch = batch,
                       .a_matrices = broadcast ? 1 : batch, .transposed = c->trans != CUBLAS_OP_N,
                       .a_dtype = c->dtype, .x_dtype = c->dtype, .y_dtype = c->dtype,
                       .complex_math = c->complex_math};
    int parts = c->complex_math ? 2 : 1;
    op->cost = nn_gemv_cost(&s, nn_cublas_beta_nonzero(c->copy, c->handle, c->beta,
                                                        c->beta_size, parts));
    op->dtype = c->dtype;
    op->cost_known = true;
    if (!c->pointer_arrays) {
        nn_op_add_gemm_operand(op, c->A, s.rows, s.cols, c->dtype, batch, c->stride_a);
        int64_t y_len = s.transposed ? c->n : c->m;
        if (y_len > 0 && batch > 0) {
            op->output = c->y;
            op->output_bytes = vectors_span(y_len, c->incy, batch, c->stride_y, c->dtype);
        }
    }
    if (nn_listing_open()) {
        char b[32] = "";
        if (batch > 1) snprintf(b, sizeof b, "[%llu] ", (unsigned long long)batch);
        snprintf(op->shape, sizeof op->shape, "%s%c %lldx%lld * x", b,
                 c->trans == CUBLAS_OP_N ? 'N' : 'T', (long long)c->m, (long long)c->n);
    }
}

#define GEMV(NAME, T, I, DTYPE, CPLX)                                                              \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t trans, I m, I n, const T *alpha, const T *A, \
             I lda, const T *x, I incx, const T *beta, T *y, I incy),                              \
            (handle, trans, m, n, alpha, A, lda, x, incx, beta, y, incy))                          \
    {                                                                                              \
        VEC_PROLOGUE(NAME);                                                                        \
        cublasStatus_t st = real(handle, trans, m, n, alpha, A, lda, x, incx, beta, y, incy);      \
        VEC_EPILOGUE(NAME, "gemv",                                                                 \
                     fill_gemv(op, &(struct gemv_call){.copy = copy, .handle = handle,            \
                                                       .trans = trans, .m = m, .n = n,            \
                                                       .batch = 1, .A = A, .y = y, .incy = incy,  \
                                                       .dtype = DTYPE, .complex_math = CPLX,      \
                                                       .beta = beta, .beta_size = sizeof(T)}));   \
    }

GEMV(cublasSgemv_v2, float, int, NN_DTYPE_F32, false)
GEMV(cublasDgemv_v2, double, int, NN_DTYPE_F64, false)
GEMV(cublasCgemv_v2, cuComplex, int, NN_DTYPE_C32F, true)
GEMV(cublasZgemv_v2, cuDoubleComplex, int, NN_DTYPE_C64F, true)
GEMV(cublasSgemv_v2_64, float, int64_t, NN_DTYPE_F32, false)
GEMV(cublasDgemv_v2_64, double, int64_t, NN_DTYPE_F64, false)
GEMV(cublasCgemv_v2_64, cuComplex, int64_t, NN_DTYPE_C32F, true)
GEMV(cublasZgemv_v2_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, true)

#define GEMV_STRIDED(NAME, T, I, DTYPE, CPLX)                                                      \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t trans, I m, I n, const T *alpha, const T *A, \
             I lda, long long strideA, const T *x, I incx, long long stridex, const T *beta, T *y, \
             I incy, long long stridey, I batchCount),                                             \
            (handle, trans, m, n, alpha, A, lda, strideA, x, incx, stridex, beta, y, incy,         \
             stridey, batchCount))                                                                 \
    {                                                                                              \
        VEC_PROLOGUE(NAME);                                                                        \
        cublasStatus_t st = real(handle, trans, m, n, alpha, A, lda, strideA, x, incx, stridex,    \
                                 beta, y, incy, stridey, batchCount);                              \
        VEC_EPILOGUE(NAME, "gemv",                                                                 \
                     fill_gemv(op, &(struct gemv_call){                                            \
                                       .copy = copy, .handle = handle, .trans = trans, .m = m,    \
                                       .n = n, .batch = batchCount, .A = A, .y = y,               \
                                       .stride_a = strideA, .stride_y = stridey, .incy = incy,    \
                                       .dtype = DTYPE, .complex_math = CPLX, .beta = beta,        \
                                       .beta_size = sizeof(T)}));                                  \
    }

GEMV_STRIDED(cublasSgemvStridedBatched, float, int, NN_DTYPE_F32, false)
GEMV_STRIDED(cublasDgemvStridedBatched, double, int, NN_DTYPE_F64, false)
GEMV_STRIDED(cublasCgemvStridedBatched, cuComplex, int, NN_DTYPE_C32F, true)
GEMV_STRIDED(cublasZgemvStridedBatched, cuDoubleComplex, int, NN_DTYPE_C64F, true)
GEMV_STRIDED(cublasSgemvStridedBatched_64, float, int64_t, NN_DTYPE_F32, false)
GEMV_STRIDED(cublasDgemvStridedBatched_64, double, int64_t, NN_DTYPE_F64, false)
GEMV_STRIDED(cublasCgemvStridedBatched_64, cuComplex, int64_t, NN_DTYPE_C32F, true)
GEMV_STRIDED(cublasZgemvStridedBatched_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, true)

/* Operands in device pointer arrays are never read: no parameters, no output. */
#define GEMV_ARRAY(NAME, T, I, DTYPE, CPLX)                                                        \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t trans, I m, I n, const T *alpha,             \
             const T *const Aarray[], I lda, const T *const xarray[], I incx, const T *beta,       \
             T *const yarray[], I incy, I batchCount),                                             \
            (handle, trans, m, n, alpha, Aarray, lda, xarray, incx, beta, yarray, incy,            \
             batchCount))                                                                          \
    {                                                                                              \
        VEC_PROLOGUE(NAME);                                                                        \
        cublasStatus_t st = real(handle, trans, m, n, alpha, Aarray, lda, xarray, incx, beta,      \
                                 yarray, incy, batchCount);                                        \
        VEC_EPILOGUE(NAME, "gemv",                                                                 \
                     fill_gemv(op, &(struct gemv_call){.copy = copy, .handle = handle,            \
                                                       .trans = trans, .m = m, .n = n,            \
                                                       .batch = batchCount,                       \
                                                       .pointer_arrays = true, .dtype = DTYPE,    \
                                                       .complex_math = CPLX, .beta = beta,        \
                                                       .beta_size = sizeof(T)}));                 \
    }

GEMV_ARRAY(cublasSgemvBatched, float, int, NN_DTYPE_F32, false)
GEMV_ARRAY(cublasDgemvBatched, double, int, NN_DTYPE_F64, false)
GEMV_ARRAY(cublasCgemvBatched, cuComplex, int, NN_DTYPE_C32F, true)
GEMV_ARRAY(cublasZgemvBatched, cuDoubleComplex, int, NN_DTYPE_C64F, true)
GEMV_ARRAY(cublasSgemvBatched_64, float, int64_t, NN_DTYPE_F32, false)
GEMV_ARRAY(cublasDgemvBatched_64, double, int64_t, NN_DTYPE_F64, false)
GEMV_ARRAY(cublasCgemvBatched_64, cuComplex, int64_t, NN_DTYPE_C32F, true)
GEMV_ARRAY(cublasZgemvBatched_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, true)

/* ------------------------------------------------------------ dot */

static void fill_dot(nn_op *op, int64_t n, nn_dtype x, nn_dtype y, nn_dtype result, bool cplx)
{
    if (n < 0) return;
    op->cost = nn_dot_cost((uint64_t)n, x, y, result, cplx);
    op->dtype = x;
    op->cost_known = true;
    if (nn_listing_open()) snprintf(op->shape, sizeof op->shape, "%lld . %lld", (long long)n,
                                    (long long)n);
}

#define DOT(NAME, T, I, DTYPE)                                                                     \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, I n, const T *x, I incx, const T *y, I incy, T *result),       \
            (handle, n, x, incx, y, incy, result))                                                 \
    {                                                                                              \
        VEC_PROLOGUE(NAME);                                                                        \
        cublasStatus_t st = real(handle, n, x, incx, y, incy, result);                             \
        VEC_EPILOGUE(NAME, "dot", fill_dot(op, n, DTYPE, DTYPE, DTYPE, false));                    \
    }

DOT(cublasSdot_v2, float, int, NN_DTYPE_F32)
DOT(cublasDdot_v2, double, int, NN_DTYPE_F64)
DOT(cublasSdot_v2_64, float, int64_t, NN_DTYPE_F32)
DOT(cublasDdot_v2_64, double, int64_t, NN_DTYPE_F64)

/* cublasDotEx and cublasDotcEx: any types; complex when x is. */
#define DOT_EX(NAME, I)                                                                            \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, I n, const void *x, cudaDataType xType, I incx, const void *y, \
             cudaDataType yType, I incy, void *result, cudaDataType resultType,                    \
             cudaDataType executionType),                                                          \
            (handle, n, x, xType, incx, y, yType, incy, result, resultType, executionType))        \
    {                                                                                              \
        VEC_PROLOGUE(NAME);                                                                        \
        cublasStatus_t st =                                                                        \
            real(handle, n, x, xType, incx, y, yType, incy, result, resultType, executionType);    \
        VEC_EPILOGUE(NAME, "dot",                                                                  \
                     fill_dot(op, n, nn_from_cuda_dtype(xType), nn_from_cuda_dtype(yType),        \
                              nn_from_cuda_dtype(resultType),                                      \
                              nn_dtype_is_complex(nn_from_cuda_dtype(xType))));                    \
    }

DOT_EX(cublasDotEx, int)
DOT_EX(cublasDotcEx, int)
DOT_EX(cublasDotEx_64, int64_t)
DOT_EX(cublasDotcEx_64, int64_t)

/* ------------------------------------------------------------ geam */

static void fill_geam(nn_op *op, const nn_copy *copy, cublasHandle_t handle, int64_t m, int64_t n,
                      const void *beta, size_t beta_size, bool cplx, nn_dtype t, const void *C,
                      int64_t ldc)
{
    if (m < 0 || n < 0) return;
    bool uses_b = nn_cublas_beta_nonzero(copy, handle, beta, beta_size, cplx ? 2 : 1);
    op->cost = nn_geam_cost((uint64_t)m, (uint64_t)n, uses_b, t, cplx);
    op->dtype = t;
    op->cost_known = true;
    if (m > 0 && n > 0) {
        bool overflow = false;
        op->output = C;
        op->output_bytes = nn_bytes_of((uint64_t)(n - 1) * (uint64_t)ldc + (uint64_t)m, t,
                                       &overflow);
        if (overflow) op->output_bytes = 0;
    }
    if (nn_listing_open())
        snprintf(op->shape, sizeof op->shape, "%lldx%lld %s", (long long)m, (long long)n,
                 uses_b ? "A + B" : "copy");
}

#define GEAM(NAME, T, I, DTYPE, CPLX)                                                              \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             const T *alpha, const T *A, I lda, const T *beta, const T *B, I ldb, T *C, I ldc),    \
            (handle, transa, transb, m, n, alpha, A, lda, beta, B, ldb, C, ldc))                   \
    {                                                                                              \
        VEC_PROLOGUE(NAME);                                                                        \
        cublasStatus_t st = real(handle, transa, transb, m, n, alpha, A, lda, beta, B, ldb, C, ldc); \
        VEC_EPILOGUE(NAME, "geam",                                                                 \
                     fill_geam(op, copy, handle, m, n, beta, sizeof(T), CPLX, DTYPE, C, ldc));    \
    }

GEAM(cublasSgeam, float, int, NN_DTYPE_F32, false)
GEAM(cublasDgeam, double, int, NN_DTYPE_F64, false)
GEAM(cublasCgeam, cuComplex, int, NN_DTYPE_C32F, true)
GEAM(cublasZgeam, cuDoubleComplex, int, NN_DTYPE_C64F, true)
GEAM(cublasSgeam_64, float, int64_t, NN_DTYPE_F32, false)
GEAM(cublasDgeam_64, double, int64_t, NN_DTYPE_F64, false)
GEAM(cublasCgeam_64, cuComplex, int64_t, NN_DTYPE_C32F, true)
GEAM(cublasZgeam_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, true)
