/*
 * cublas.c: every cuBLAS GEMM entry point that frameworks use, with their _64
 * variants: plain, Ex, strided-batched and pointer-array batched.
 *
 * cuBLAS is column-major: op(A) is m x k, op(B) is k x n, C is m x n. Which
 * operand is a weight is not in the call, so it is decided by what nnspy saw
 * (see gemm_params below and the README's parameter rule).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>

#include <cublas_v2.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cuda_types.h"
#include "timing.h"

/* cublas_api.h declares the __half entry points for C++ only; in C they take this
 * two-byte struct, laid out as __half is. */
typedef struct nn_half {
    unsigned short bits;
} nn_half;

/* One GEMM call in plain terms, whatever entry point it came through. */
struct gemm_call {
    const char *call;
    const nn_copy *copy;
    nn_timing_mark *timing;
    void *stream;
    cublasHandle_t handle;
    cublasOperation_t ta, tb;
    int64_t m, n, k, batch;
    const void *A, *B, *C;
    int64_t ldc;
    long long stride_a, stride_b, stride_c;
    bool pointer_arrays; /* A, B, C are device arrays of pointers: never read */
    nn_dtype a_type, b_type, c_type;
    bool complex_math;
    const void *beta;
    size_t beta_size; /* bytes of the host scalar beta */
    int beta_parts;   /* 2 for complex */
    bool beta_float;
};

/* The stream the handle's work goes to (NULL: the default stream). */
static void *handle_stream(const nn_copy *copy, cublasHandle_t handle)
{
    static __typeof__(&cublasGetStream_v2) per_copy[NN_COPIES];
    __typeof__(&cublasGetStream_v2) get = __atomic_load_n(&per_copy[copy->index], __ATOMIC_ACQUIRE);
    if (!get) {
        get = (__typeof__(get))nn_copy_lookup(copy, "cublasGetStream_v2");
        __atomic_store_n(&per_copy[copy->index], get, __ATOMIC_RELEASE);
    }
    cudaStream_t s = NULL;
    if (!get || get(handle, &s) != CUBLAS_STATUS_SUCCESS) s = NULL;
    return s;
}

/* Whether the call adds into C: beta != 0 when it is a host scalar; a scalar in
 * device memory is never read, so it is taken to be non-zero. */
static bool gemm_accumulates(const struct gemm_call *g)
{
    static __typeof__(&cublasGetPointerMode_v2) per_copy[NN_COPIES];
    __typeof__(&cublasGetPointerMode_v2) get_mode =
        __atomic_load_n(&per_copy[g->copy->index], __ATOMIC_ACQUIRE);
    if (!get_mode) {
        get_mode = (__typeof__(get_mode))nn_copy_lookup(g->copy, "cublasGetPointerMode_v2");
        __atomic_store_n(&per_copy[g->copy->index], get_mode, __ATOMIC_RELEASE);
    }
    cublasPointerMode_t mode;
    if (!get_mode || get_mode(g->handle, &mode) != CUBLAS_STATUS_SUCCESS ||
        mode != CUBLAS_POINTER_MODE_HOST)
        return true;
    return !nn_host_scalar_is_zero(g->beta, g->beta_size, g->beta_parts, g->beta_float);
}

/* Operands in device pointer arrays (the *gemmBatched calls) are never read, so
 * they cannot be told apart: none is counted as a parameter. */
static void gemm_params(nn_op *op, const struct gemm_call *g)
{
    if (g->pointer_arrays) return;
    nn_op_add_gemm_operand(op, g->A, (uint64_t)g->m, (uint64_t)g->k, g->a_type, (uint64_t)g->batch,
                           g->stride_a);
    nn_op_add_gemm_operand(op, g->B, (uint64_t)g->k, (uint64_t)g->n, g->b_type, (uint64_t)g->batch,
                           g->stride_b);
}

static void describe_gemm(nn_op *op, const struct gemm_call *g)
{
    if (!nn_listing_open()) return;
    /* record_gemm checked that m, n, k and batch are not negative */
    nn_shape_gemm(op->shape, sizeof op->shape, (uint64_t)g->batch, g->ta != CUBLAS_OP_N,
                  g->tb != CUBLAS_OP_N, (uint64_t)g->m, (uint64_t)g->n, (uint64_t)g->k);
}

/* C's extent in bytes, so that a later GEMM sees it as an activation. */
static uint64_t gemm_output_span(const struct gemm_call *g)
{
    bool overflow = false;
    uint64_t last = (uint64_t)(g->n - 1) * (uint64_t)g->ldc + (uint64_t)g->m;
    if (g->batch > 1 && g->stride_c > 0) last += (uint64_t)(g->batch - 1) * (uint64_t)g->stride_c;
    uint64_t bytes = nn_bytes_of(last, g->c_type, &overflow);
    return overflow ? 0 : bytes;
}

static void record_gemm(cublasStatus_t st, const struct gemm_call *g)
{
    int saved = errno;
    nn_op op = {.api = NN_API_CUBLAS,
                .call = g->call,
                .op = "gemm",
                .succeeded = st == CUBLAS_STATUS_SUCCESS,
                .dtype = g->a_type};
    if (op.succeeded && g->m >= 0 && g->n >= 0 && g->k >= 0 && g->batch >= 0) {
        uint64_t batch = (uint64_t)g->batch;
        nn_gemm_shape s = {
            .m = (uint64_t)g->m,
            .n = (uint64_t)g->n,
            .k = (uint64_t)g->k,
            .batch = batch,
            .a_matrices = batch > 1 && g->stride_a == 0 && !g->pointer_arrays ? 1 : batch,
            .b_matrices = batch > 1 && g->stride_b == 0 && !g->pointer_arrays ? 1 : batch,
            .c_matrices = batch > 1 && g->stride_c == 0 && !g->pointer_arrays ? 1 : batch,
            .d_matrices = batch,
            .a_dtype = g->a_type,
            .b_dtype = g->b_type,
            .c_dtype = g->c_type,
            .d_dtype = g->c_type,
            .complex_math = g->complex_math,
        };
        op.cost = nn_gemm_cost(&s, gemm_accumulates(g));
        op.cost_known = true;
        gemm_params(&op, g);
        describe_gemm(&op, g);
        if (!g->pointer_arrays && g->m > 0 && g->n > 0) {
            op.output = g->C;
            op.output_bytes = gemm_output_span(g);
        }
    }
    nn_timing_finish(g->timing, g->stream, op.succeeded, nn_record_on_stream(&op, g->stream));
    errno = saved;
}

/* The scalar type of GemmEx-style calls: the compute type's, complex when C is. */
static void ex_scalar(struct gemm_call *g, cublasComputeType_t compute, cudaDataType c_type)
{
    bool complex = nn_dtype_is_complex(nn_from_cuda_dtype(c_type));
    size_t real_size;
    switch (compute) {
    case CUBLAS_COMPUTE_16F:
    case CUBLAS_COMPUTE_16F_PEDANTIC: real_size = 2; break;
    case CUBLAS_COMPUTE_64F:
    case CUBLAS_COMPUTE_64F_PEDANTIC:
    case CUBLAS_COMPUTE_64F_EMULATED_FIXEDPOINT: real_size = 8; break;
    case CUBLAS_COMPUTE_32I:
    case CUBLAS_COMPUTE_32I_PEDANTIC: real_size = 4, g->beta_float = false; break;
    default: real_size = 4; break;
    }
    g->beta_parts = complex ? 2 : 1;
    g->beta_size = real_size * (size_t)g->beta_parts;
    g->complex_math = complex;
}

/* Before the real call: the real function, the reentrancy guard, and the begin
 * event on the handle's stream. */
#define GEMM_PROLOGUE(NAME)                                                                        \
    NN_REAL_OR_RETURN(NAME, CUBLAS_STATUS_NOT_INITIALIZED);                                        \
    bool outer = nn_enter();                                                                       \
    nn_timing_mark tm_ = {.ctx = -1};                                                              \
    void *stream_ = outer ? handle_stream(copy, handle) : NULL;                                    \
    if (outer) nn_timing_start(&tm_, stream_)

#define GEMM_EPILOGUE(...)                                                                         \
    if (outer) {                                                                                   \
        struct gemm_call g = {.copy = copy, .timing = &tm_, .stream = stream_, __VA_ARGS__};       \
        record_gemm(st, &g);                                                                       \
    }                                                                                              \
    nn_leave();                                                                                    \
    return st

/* ------------------------------------------------ cublas{S,D,C,Z}gemm_v2, Hgemm */

#define PLAIN_GEMM(NAME, T, I, DTYPE, PARTS, CPLX)                                                 \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const T *alpha, const T *A, I lda, const T *B, I ldb, const T *beta, T *C,       \
             I ldc),                                                                               \
            (handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc))                \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st =                                                                        \
            real(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);            \
        GEMM_EPILOGUE(.call = #NAME, .handle = handle, .ta = transa, .tb = transb, .m = m, .n = n, \
                      .k = k, .batch = 1, .A = A, .B = B, .C = C, .ldc = ldc, .a_type = DTYPE,     \
                      .b_type = DTYPE, .c_type = DTYPE, .complex_math = CPLX, .beta = beta,        \
                      .beta_size = sizeof(T), .beta_parts = PARTS, .beta_float = true);            \
    }

PLAIN_GEMM(cublasSgemm_v2, float, int, NN_DTYPE_F32, 1, false)
PLAIN_GEMM(cublasDgemm_v2, double, int, NN_DTYPE_F64, 1, false)
PLAIN_GEMM(cublasCgemm_v2, cuComplex, int, NN_DTYPE_C32F, 2, true)
PLAIN_GEMM(cublasZgemm_v2, cuDoubleComplex, int, NN_DTYPE_C64F, 2, true)
PLAIN_GEMM(cublasHgemm, nn_half, int, NN_DTYPE_F16, 1, false)
PLAIN_GEMM(cublasSgemm_v2_64, float, int64_t, NN_DTYPE_F32, 1, false)
PLAIN_GEMM(cublasDgemm_v2_64, double, int64_t, NN_DTYPE_F64, 1, false)
PLAIN_GEMM(cublasCgemm_v2_64, cuComplex, int64_t, NN_DTYPE_C32F, 2, true)
PLAIN_GEMM(cublasZgemm_v2_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, 2, true)
PLAIN_GEMM(cublasHgemm_64, nn_half, int64_t, NN_DTYPE_F16, 1, false)

/* ------------------------------------------------ strided batched */

#define STRIDED_GEMM(NAME, T, I, DTYPE, PARTS, CPLX)                                               \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const T *alpha, const T *A, I lda, long long strideA, const T *B, I ldb,         \
             long long strideB, const T *beta, T *C, I ldc, long long strideC, I batchCount),      \
            (handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb, strideB, beta, C,    \
             ldc, strideC, batchCount))                                                            \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st = real(handle, transa, transb, m, n, k, alpha, A, lda, strideA, B, ldb,  \
                                 strideB, beta, C, ldc, strideC, batchCount);                      \
        GEMM_EPILOGUE(.call = #NAME, .handle = handle, .ta = transa, .tb = transb, .m = m, .n = n, \
                      .k = k, .batch = batchCount, .A = A, .B = B, .C = C, .ldc = ldc,             \
                      .stride_a = strideA, .stride_b = strideB, .stride_c = strideC,               \
                      .a_type = DTYPE, .b_type = DTYPE, .c_type = DTYPE, .complex_math = CPLX,     \
                      .beta = beta, .beta_size = sizeof(T), .beta_parts = PARTS,                   \
                      .beta_float = true);                                                         \
    }

STRIDED_GEMM(cublasSgemmStridedBatched, float, int, NN_DTYPE_F32, 1, false)
STRIDED_GEMM(cublasDgemmStridedBatched, double, int, NN_DTYPE_F64, 1, false)
STRIDED_GEMM(cublasCgemmStridedBatched, cuComplex, int, NN_DTYPE_C32F, 2, true)
STRIDED_GEMM(cublasZgemmStridedBatched, cuDoubleComplex, int, NN_DTYPE_C64F, 2, true)
STRIDED_GEMM(cublasHgemmStridedBatched, nn_half, int, NN_DTYPE_F16, 1, false)
STRIDED_GEMM(cublasSgemmStridedBatched_64, float, int64_t, NN_DTYPE_F32, 1, false)
STRIDED_GEMM(cublasDgemmStridedBatched_64, double, int64_t, NN_DTYPE_F64, 1, false)
STRIDED_GEMM(cublasCgemmStridedBatched_64, cuComplex, int64_t, NN_DTYPE_C32F, 2, true)
STRIDED_GEMM(cublasZgemmStridedBatched_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, 2, true)
STRIDED_GEMM(cublasHgemmStridedBatched_64, nn_half, int64_t, NN_DTYPE_F16, 1, false)

/* ------------------------------------------------ batched with pointer arrays */

#define ARRAY_GEMM(NAME, T, I, DTYPE, PARTS, CPLX)                                                 \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const T *alpha, const T *const Aarray[], I lda, const T *const Barray[], I ldb,  \
             const T *beta, T *const Carray[], I ldc, I batchCount),                               \
            (handle, transa, transb, m, n, k, alpha, Aarray, lda, Barray, ldb, beta, Carray, ldc,  \
             batchCount))                                                                          \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st = real(handle, transa, transb, m, n, k, alpha, Aarray, lda, Barray, ldb, \
                                 beta, Carray, ldc, batchCount);                                   \
        GEMM_EPILOGUE(.call = #NAME, .handle = handle, .ta = transa, .tb = transb, .m = m, .n = n, \
                      .k = k, .batch = batchCount, .ldc = ldc, .pointer_arrays = true,             \
                      .a_type = DTYPE, .b_type = DTYPE, .c_type = DTYPE, .complex_math = CPLX,     \
                      .beta = beta, .beta_size = sizeof(T), .beta_parts = PARTS,                   \
                      .beta_float = true);                                                         \
    }

ARRAY_GEMM(cublasSgemmBatched, float, int, NN_DTYPE_F32, 1, false)
ARRAY_GEMM(cublasDgemmBatched, double, int, NN_DTYPE_F64, 1, false)
ARRAY_GEMM(cublasSgemmBatched_64, float, int64_t, NN_DTYPE_F32, 1, false)
ARRAY_GEMM(cublasDgemmBatched_64, double, int64_t, NN_DTYPE_F64, 1, false)
ARRAY_GEMM(cublasCgemmBatched, cuComplex, int, NN_DTYPE_C32F, 2, true)
ARRAY_GEMM(cublasZgemmBatched, cuDoubleComplex, int, NN_DTYPE_C64F, 2, true)
ARRAY_GEMM(cublasHgemmBatched, nn_half, int, NN_DTYPE_F16, 1, false)
ARRAY_GEMM(cublasCgemmBatched_64, cuComplex, int64_t, NN_DTYPE_C32F, 2, true)
ARRAY_GEMM(cublasZgemmBatched_64, cuDoubleComplex, int64_t, NN_DTYPE_C64F, 2, true)
ARRAY_GEMM(cublasHgemmBatched_64, nn_half, int64_t, NN_DTYPE_F16, 1, false)

/* ------------------------------------------------ mixed-precision entry points */

#define SGEMM_EX(NAME, I)                                                                          \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const float *alpha, const void *A, cudaDataType Atype, I lda, const void *B,     \
             cudaDataType Btype, I ldb, const float *beta, void *C, cudaDataType Ctype, I ldc),    \
            (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, \
             ldc))                                                                                 \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st = real(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype,  \
                                 ldb, beta, C, Ctype, ldc);                                        \
        GEMM_EPILOGUE(.call = #NAME, .handle = handle, .ta = transa, .tb = transb, .m = m, .n = n, \
                      .k = k, .batch = 1, .A = A, .B = B, .C = C, .ldc = ldc,                      \
                      .a_type = nn_from_cuda_dtype(Atype), .b_type = nn_from_cuda_dtype(Btype),    \
                      .c_type = nn_from_cuda_dtype(Ctype), .beta = beta,                           \
                      .beta_size = sizeof(float), .beta_parts = 1, .beta_float = true);            \
    }

SGEMM_EX(cublasSgemmEx, int)
SGEMM_EX(cublasSgemmEx_64, int64_t)

#define GEMM_EX(NAME, I)                                                                           \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const void *alpha, const void *A, cudaDataType Atype, I lda, const void *B,      \
             cudaDataType Btype, I ldb, const void *beta, void *C, cudaDataType Ctype, I ldc,      \
             cublasComputeType_t computeType, cublasGemmAlgo_t algo),                              \
            (handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C, Ctype, \
             ldc, computeType, algo))                                                              \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st = real(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype,  \
                                 ldb, beta, C, Ctype, ldc, computeType, algo);                     \
        if (outer) {                                                                               \
            struct gemm_call g = {.call = #NAME, .timing = &tm_, .stream = stream_,               \
                                  .copy = copy,                                                    \
                                  .handle = handle,                                                \
                                  .ta = transa,                                                    \
                                  .tb = transb,                                                    \
                                  .m = m,                                                          \
                                  .n = n,                                                          \
                                  .k = k,                                                          \
                                  .batch = 1,                                                      \
                                  .A = A,                                                          \
                                  .B = B,                                                          \
                                  .C = C,                                                          \
                                  .ldc = ldc,                                                      \
                                  .a_type = nn_from_cuda_dtype(Atype),                             \
                                  .b_type = nn_from_cuda_dtype(Btype),                             \
                                  .c_type = nn_from_cuda_dtype(Ctype),                             \
                                  .beta = beta,                                                    \
                                  .beta_float = true};                                             \
            ex_scalar(&g, computeType, Ctype);                                                     \
            record_gemm(st, &g);                                                                   \
        }                                                                                          \
        nn_leave();                                                                                \
        return st;                                                                                 \
    }

GEMM_EX(cublasGemmEx, int)
GEMM_EX(cublasGemmEx_64, int64_t)

#define GEMM_STRIDED_EX(NAME, I)                                                                   \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const void *alpha, const void *A, cudaDataType Atype, I lda, long long strideA,  \
             const void *B, cudaDataType Btype, I ldb, long long strideB, const void *beta,        \
             void *C, cudaDataType Ctype, I ldc, long long strideC, I batchCount,                  \
             cublasComputeType_t computeType, cublasGemmAlgo_t algo),                              \
            (handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb,        \
             strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo))                \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st =                                                                        \
            real(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype, ldb,    \
                 strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo);            \
        if (outer) {                                                                               \
            struct gemm_call g = {.call = #NAME, .timing = &tm_, .stream = stream_,               \
                                  .copy = copy,                                                    \
                                  .handle = handle,                                                \
                                  .ta = transa,                                                    \
                                  .tb = transb,                                                    \
                                  .m = m,                                                          \
                                  .n = n,                                                          \
                                  .k = k,                                                          \
                                  .batch = batchCount,                                             \
                                  .A = A,                                                          \
                                  .B = B,                                                          \
                                  .C = C,                                                          \
                                  .ldc = ldc,                                                      \
                                  .stride_a = strideA,                                             \
                                  .stride_b = strideB,                                             \
                                  .stride_c = strideC,                                             \
                                  .a_type = nn_from_cuda_dtype(Atype),                             \
                                  .b_type = nn_from_cuda_dtype(Btype),                             \
                                  .c_type = nn_from_cuda_dtype(Ctype),                             \
                                  .beta = beta,                                                    \
                                  .beta_float = true};                                             \
            ex_scalar(&g, computeType, Ctype);                                                     \
            record_gemm(st, &g);                                                                   \
        }                                                                                          \
        nn_leave();                                                                                \
        return st;                                                                                 \
    }

GEMM_STRIDED_EX(cublasGemmStridedBatchedEx, int)
GEMM_STRIDED_EX(cublasGemmStridedBatchedEx_64, int64_t)

#define GEMM_BATCHED_EX(NAME, I)                                                                   \
    NN_WRAP(NN_FAMILY_CUBLAS, cublasStatus_t, NAME,                                                \
            (cublasHandle_t handle, cublasOperation_t transa, cublasOperation_t transb, I m, I n,  \
             I k, const void *alpha, const void *const Aarray[], cudaDataType Atype, I lda,        \
             const void *const Barray[], cudaDataType Btype, I ldb, const void *beta,              \
             void *const Carray[], cudaDataType Ctype, I ldc, I batchCount,                        \
             cublasComputeType_t computeType, cublasGemmAlgo_t algo),                              \
            (handle, transa, transb, m, n, k, alpha, Aarray, Atype, lda, Barray, Btype, ldb, beta, \
             Carray, Ctype, ldc, batchCount, computeType, algo))                                   \
    {                                                                                              \
        GEMM_PROLOGUE(NAME);                                                                       \
        cublasStatus_t st =                                                                        \
            real(handle, transa, transb, m, n, k, alpha, Aarray, Atype, lda, Barray, Btype, ldb,   \
                 beta, Carray, Ctype, ldc, batchCount, computeType, algo);                         \
        if (outer) {                                                                               \
            struct gemm_call g = {.call = #NAME, .timing = &tm_, .stream = stream_,               \
                                  .copy = copy,                                                    \
                                  .handle = handle,                                                \
                                  .ta = transa,                                                    \
                                  .tb = transb,                                                    \
                                  .m = m,                                                          \
                                  .n = n,                                                          \
                                  .k = k,                                                          \
                                  .batch = batchCount,                                             \
                                  .ldc = ldc,                                                      \
                                  .pointer_arrays = true,                                          \
                                  .a_type = nn_from_cuda_dtype(Atype),                             \
                                  .b_type = nn_from_cuda_dtype(Btype),                             \
                                  .c_type = nn_from_cuda_dtype(Ctype),                             \
                                  .beta = beta,                                                    \
                                  .beta_float = true};                                             \
            ex_scalar(&g, computeType, Ctype);                                                     \
            record_gemm(st, &g);                                                                   \
        }                                                                                          \
        nn_leave();                                                                                \
        return st;                                                                                 \
    }

GEMM_BATCHED_EX(cublasGemmBatchedEx, int)
GEMM_BATCHED_EX(cublasGemmBatchedEx_64, int64_t)

/* ------------------------------------------------ shared with cublas_vec.c */

void *nn_cublas_stream(const nn_copy *copy, cublasHandle_t handle)
{
    return handle_stream(copy, handle);
}

bool nn_cublas_beta_nonzero(const nn_copy *copy, cublasHandle_t handle, const void *beta,
                            size_t size, int parts)
{
    struct gemm_call g = {.copy = copy, .handle = handle, .beta = beta, .beta_size = size,
                          .beta_parts = parts, .beta_float = true};
    return gemm_accumulates(&g);
}
