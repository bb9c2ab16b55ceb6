/*
 * cublas.c: the simulated cuBLAS (libcublas.so.13). Test equipment: README.md.
 *
 * Handles and every GEMM entry point of cublas_api.h, with the argument checks the
 * cuBLAS documentation gives (a NULL handle is CUBLAS_STATUS_NOT_INITIALIZED; negative
 * sizes, a leading dimension below max(1, rows), a NULL alpha or beta are
 * CUBLAS_STATUS_INVALID_VALUE). Each call is one kernel on the handle's stream; with
 * NNSPY_SIM_MATH=1 it computes C on the CPU (column-major, op N/T/C).
 *
 * cublasGemmEx and cublasGemmEx_64 do their work the way the real library may: through
 * the exported cublasLtMatmul of libcublasLt.so.13, called through the PLT, so that a
 * profiler sees one nested call. Every other GEMM computes here.
 */
#include <cublasLt.h>
#include <cublas_v2.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define CUBLAS_HANDLE_MAGIC 0x43424c53u /* "CBLS" */

struct cublasContext {
    uint32_t magic;
    cudaStream_t stream;
    cublasPointerMode_t pointer_mode;
    cublasMath_t math_mode;
    cublasLtHandle_t lt;
    void *workspace;
    size_t workspace_size;
};

/* Half precision in C: cublas_api.h declares the H* GEMMs for C++ only. */
typedef struct sim_half {
    uint16_t x;
} sim_half;

/* ------------------------------------------------------------------ handle */

static int valid_handle(cublasHandle_t h)
{
    return h && h->magic == CUBLAS_HANDLE_MAGIC;
}

cublasStatus_t cublasCreate_v2(cublasHandle_t *handle)
{
    struct cublasContext *h;
    if (!handle)
        return CUBLAS_STATUS_INVALID_VALUE;
    nnspy_sim_runtime_use(); /* the real one sets up on the current device */
    h = calloc(1, sizeof *h);
    if (!h)
        return CUBLAS_STATUS_ALLOC_FAILED;
    if (cublasLtCreate(&h->lt) != CUBLAS_STATUS_SUCCESS) {
        free(h);
        return CUBLAS_STATUS_ALLOC_FAILED;
    }
    h->magic = CUBLAS_HANDLE_MAGIC;
    h->pointer_mode = CUBLAS_POINTER_MODE_HOST;
    h->math_mode = CUBLAS_DEFAULT_MATH;
    *handle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasDestroy_v2(cublasHandle_t handle)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    cublasLtDestroy(handle->lt);
    handle->magic = 0;
    free(handle);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetVersion_v2(cublasHandle_t handle, int *version)
{
    (void)handle; /* the real library answers without a handle too */
    if (!version)
        return CUBLAS_STATUS_INVALID_VALUE;
    *version = CUBLAS_VERSION;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetProperty(libraryPropertyType type, int *value)
{
    if (!value)
        return CUBLAS_STATUS_INVALID_VALUE;
    switch (type) {
    case MAJOR_VERSION: *value = CUBLAS_VER_MAJOR; return CUBLAS_STATUS_SUCCESS;
    case MINOR_VERSION: *value = CUBLAS_VER_MINOR; return CUBLAS_STATUS_SUCCESS;
    case PATCH_LEVEL: *value = CUBLAS_VER_PATCH; return CUBLAS_STATUS_SUCCESS;
    }
    return CUBLAS_STATUS_INVALID_VALUE;
}

size_t cublasGetCudartVersion(void)
{
    return CUDART_VERSION;
}

const char *cublasGetStatusName(cublasStatus_t status)
{
    return sim_cublas_status(status, 0);
}

const char *cublasGetStatusString(cublasStatus_t status)
{
    return sim_cublas_status(status, 1);
}

cublasStatus_t cublasSetWorkspace_v2(cublasHandle_t handle, void *workspace,
                                     size_t workspaceSizeInBytes)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!workspace && workspaceSizeInBytes)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->workspace = workspace;
    handle->workspace_size = workspaceSizeInBytes;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetStream_v2(cublasHandle_t handle, cudaStream_t streamId)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    handle->stream = streamId;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetStream_v2(cublasHandle_t handle, cudaStream_t *streamId)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!streamId)
        return CUBLAS_STATUS_INVALID_VALUE;
    *streamId = handle->stream;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasSetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t mode)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (mode != CUBLAS_POINTER_MODE_HOST && mode != CUBLAS_POINTER_MODE_DEVICE)
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->pointer_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetPointerMode_v2(cublasHandle_t handle, cublasPointerMode_t *mode)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode)
        return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->pointer_mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* A base mode, optionally with CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION. */
static int valid_math_mode(unsigned mode)
{
    unsigned base = mode & ~(unsigned)CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION;
    return base == CUBLAS_DEFAULT_MATH || base == CUBLAS_TENSOR_OP_MATH ||
           base == CUBLAS_PEDANTIC_MATH || base == CUBLAS_TF32_TENSOR_OP_MATH ||
           base == CUBLAS_FP32_EMULATED_BF16X9_MATH || base == CUBLAS_FP64_EMULATED_FIXEDPOINT_MATH;
}

cublasStatus_t cublasSetMathMode(cublasHandle_t handle, cublasMath_t mode)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_math_mode((unsigned)mode))
        return CUBLAS_STATUS_INVALID_VALUE;
    handle->math_mode = mode;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasGetMathMode(cublasHandle_t handle, cublasMath_t *mode)
{
    if (!valid_handle(handle))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!mode)
        return CUBLAS_STATUS_INVALID_VALUE;
    *mode = handle->math_mode;
    return CUBLAS_STATUS_SUCCESS;
}

/* --------------------------------------------------------------- one GEMM */

/*
 * C[b] = alpha op(A[b]) op(B[b]) + beta C[b] for b < batch. Operands are either
 * strided from A, B, C (strides in elements) or read from pointer arrays.
 */
typedef struct gemm_call {
    cublasHandle_t h;
    cublasOperation_t ta, tb;
    int64_t m, n, k, lda, ldb, ldc, batch;
    const void *alpha, *beta;
    cudaDataType scale_t, at, bt, ct;
    const void *A, *B;
    void *C;
    long long sa, sb, sc;
    const void *const *Aarr, *const *Barr;
    void *const *Carr;
} gemm_call;

static int valid_op(cublasOperation_t op)
{
    return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

static int64_t max1(int64_t v)
{
    return v > 1 ? v : 1;
}

static cublasStatus_t gemm_check(const gemm_call *g)
{
    if (!valid_handle(g->h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(g->ta) || !valid_op(g->tb) || g->m < 0 || g->n < 0 || g->k < 0 ||
        g->batch < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (g->lda < max1(g->ta == CUBLAS_OP_N ? g->m : g->k) ||
        g->ldb < max1(g->tb == CUBLAS_OP_N ? g->k : g->n) || g->ldc < max1(g->m))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!g->alpha || !g->beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

/* Data types: all known, A and B alike. */
static cublasStatus_t gemm_check_types(const gemm_call *g)
{
    if (!sim_dtype_bits(g->at) || !sim_dtype_bits(g->ct) || g->at != g->bt)
        return CUBLAS_STATUS_NOT_SUPPORTED;
    return CUBLAS_STATUS_SUCCESS;
}

/* 2mnk FLOPs per product; bytes of A (m x k), B (k x n) and C (m x n) per product. */
static void gemm_cost(const gemm_call *g, uint64_t *flops, uint64_t *bytes)
{
    uint64_t m = (uint64_t)g->m, n = (uint64_t)g->n, k = (uint64_t)g->k;
    uint64_t b = (uint64_t)g->batch;
    *flops = sim_mul(2, sim_mul(sim_mul(m, n), sim_mul(k, b)));
    *bytes = sim_add(sim_add(sim_dtype_bytes(g->at, sim_mul(sim_mul(m, k), b)),
                             sim_dtype_bytes(g->bt, sim_mul(sim_mul(k, n), b))),
                     sim_dtype_bytes(g->ct, sim_mul(sim_mul(m, n), b)));
}

static const void *operand(const void *base, const void *const *arr, long long stride,
                           cudaDataType t, int64_t b)
{
    if (arr)
        return arr[b];
    return base ? (const char *)base + b * stride * (long long)(sim_dtype_bits(t) / 8) : NULL;
}

static sim_mat op_mat(const void *p, cudaDataType t, int64_t ld, cublasOperation_t op)
{
    sim_mat m = {p, t, 1, ld, 0};
    if (op != CUBLAS_OP_N) {
        m.rs = ld;
        m.cs = 1;
        m.conj = op == CUBLAS_OP_C && sim_dtype_is_complex(t);
    }
    return m;
}

/* One product on the CPU; beta == 0 does not read C, alpha == 0 reads neither A nor B. */
static void gemm_math_one(const gemm_call *g, const void *A, const void *B, void *C)
{
    sim_mat a = op_mat(A, g->at, g->lda, g->ta), b = op_mat(B, g->bt, g->ldb, g->tb);
    sim_mat c = op_mat(C, g->ct, g->ldc, CUBLAS_OP_N);
    sim_cplx alpha = sim_load(g->alpha, g->scale_t, 0), beta = sim_load(g->beta, g->scale_t, 0);
    for (int64_t j = 0; j < g->n; j++) {
        for (int64_t i = 0; i < g->m; i++) {
            sim_cplx v = {0, 0};
            if (!sim_cis_zero(alpha))
                v = sim_cmul(alpha, sim_dot(&a, &b, i, j, g->k));
            if (!sim_cis_zero(beta))
                v = sim_cadd(v, sim_cmul(beta, sim_mat_get(&c, i, j)));
            sim_mat_set(&c, i, j, v);
        }
    }
}

static int gemm_has_math(const gemm_call *g)
{
    return nnspy_sim_math_enabled() && sim_dtype_has_math(g->at) && sim_dtype_has_math(g->bt) &&
           sim_dtype_has_math(g->ct) && sim_dtype_has_math(g->scale_t);
}

static void gemm_math(const gemm_call *g)
{
    for (int64_t b = 0; b < g->batch; b++) {
        const void *A = operand(g->A, g->Aarr, g->sa, g->at, b);
        const void *B = operand(g->B, g->Barr, g->sb, g->bt, b);
        void *C = (void *)operand(g->C, (const void *const *)g->Carr, g->sc, g->ct, b);
        if (C && ((A && B) || g->k == 0))
            gemm_math_one(g, A, B, C);
    }
}

static cublasStatus_t gemm_run(const gemm_call *g)
{
    uint64_t flops, bytes;
    cublasStatus_t s = gemm_check(g);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = gemm_check_types(g);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (g->m == 0 || g->n == 0 || g->batch == 0)
        return CUBLAS_STATUS_SUCCESS; /* quick return: no kernel */
    gemm_cost(g, &flops, &bytes);
    if (nnspy_sim_launch(g->h->stream, flops, bytes) != cudaSuccess)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (gemm_has_math(g))
        gemm_math(g);
    return CUBLAS_STATUS_SUCCESS;
}

static gemm_call make_call(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                           int64_t m, int64_t n, int64_t k, const void *alpha, const void *beta,
                           cudaDataType scale_t, int64_t lda, int64_t ldb, int64_t ldc)
{
    gemm_call g;
    memset(&g, 0, sizeof g);
    g.h = h;
    g.ta = ta;
    g.tb = tb;
    g.m = m;
    g.n = n;
    g.k = k;
    g.alpha = alpha;
    g.beta = beta;
    g.scale_t = g.at = g.bt = g.ct = scale_t;
    g.lda = lda;
    g.ldb = ldb;
    g.ldc = ldc;
    g.batch = 1;
    return g;
}

/* -------------------------------------------------------- typed GEMM family */

static cublasStatus_t typed_gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                 int64_t m, int64_t n, int64_t k, const void *alpha,
                                 const void *A, int64_t lda, const void *B, int64_t ldb,
                                 const void *beta, void *C, int64_t ldc, cudaDataType t)
{
    gemm_call g = make_call(h, ta, tb, m, n, k, alpha, beta, t, lda, ldb, ldc);
    g.A = A;
    g.B = B;
    g.C = C;
    return gemm_run(&g);
}

#define TYPED_GEMM(name, I, T, dtype)                                                            \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t transa,                       \
                        cublasOperation_t transb, I m, I n, I k, const T *alpha, const T *A,    \
                        I lda, const T *B, I ldb, const T *beta, T *C, I ldc)                   \
    {                                                                                          \
        return typed_gemm(handle, transa, transb, m, n, k, alpha, A, lda, B, ldb, beta, C,     \
                          ldc, dtype);                                                         \
    }

TYPED_GEMM(cublasSgemm_v2, int, float, CUDA_R_32F)
TYPED_GEMM(cublasSgemm_v2_64, int64_t, float, CUDA_R_32F)
TYPED_GEMM(cublasDgemm_v2, int, double, CUDA_R_64F)
TYPED_GEMM(cublasDgemm_v2_64, int64_t, double, CUDA_R_64F)
TYPED_GEMM(cublasCgemm_v2, int, cuComplex, CUDA_C_32F)
TYPED_GEMM(cublasCgemm_v2_64, int64_t, cuComplex, CUDA_C_32F)
TYPED_GEMM(cublasZgemm_v2, int, cuDoubleComplex, CUDA_C_64F)
TYPED_GEMM(cublasZgemm_v2_64, int64_t, cuDoubleComplex, CUDA_C_64F)
TYPED_GEMM(cublasCgemm3m, int, cuComplex, CUDA_C_32F)
TYPED_GEMM(cublasCgemm3m_64, int64_t, cuComplex, CUDA_C_32F)
TYPED_GEMM(cublasZgemm3m, int, cuDoubleComplex, CUDA_C_64F)
TYPED_GEMM(cublasZgemm3m_64, int64_t, cuDoubleComplex, CUDA_C_64F)

/* Not declared for C by cublas_api.h: prototypes here, same ABI as the C++ ones. */
cublasStatus_t cublasHgemm(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int, int,
                           const sim_half *, const sim_half *, int, const sim_half *, int,
                           const sim_half *, sim_half *, int);
cublasStatus_t cublasHgemm_64(cublasHandle_t, cublasOperation_t, cublasOperation_t, int64_t,
                              int64_t, int64_t, const sim_half *, const sim_half *, int64_t,
                              const sim_half *, int64_t, const sim_half *, sim_half *, int64_t);
TYPED_GEMM(cublasHgemm, int, sim_half, CUDA_R_16F)
TYPED_GEMM(cublasHgemm_64, int64_t, sim_half, CUDA_R_16F)

/* ---------------------------------------------------- mixed-type GEMMs (Ex) */

static cublasStatus_t ex_gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                              int64_t m, int64_t n, int64_t k, const void *alpha, const void *A,
                              cudaDataType at, int64_t lda, const void *B, cudaDataType bt,
                              int64_t ldb, const void *beta, void *C, cudaDataType ct,
                              int64_t ldc, cudaDataType scale_t)
{
    gemm_call g = make_call(h, ta, tb, m, n, k, alpha, beta, scale_t, lda, ldb, ldc);
    g.at = at;
    g.bt = bt;
    g.ct = ct;
    g.A = A;
    g.B = B;
    g.C = C;
    return gemm_run(&g);
}

#define EX_GEMM(name, I, T, scale_t)                                                             \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t transa,                       \
                        cublasOperation_t transb, I m, I n, I k, const T *alpha, const void *A, \
                        cudaDataType Atype, I lda, const void *B, cudaDataType Btype, I ldb,    \
                        const T *beta, void *C, cudaDataType Ctype, I ldc)                      \
    {                                                                                          \
        return ex_gemm(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb,   \
                       beta, C, Ctype, ldc, scale_t);                                          \
    }

EX_GEMM(cublasSgemmEx, int, float, CUDA_R_32F)
EX_GEMM(cublasSgemmEx_64, int64_t, float, CUDA_R_32F)
EX_GEMM(cublasCgemmEx, int, cuComplex, CUDA_C_32F)
EX_GEMM(cublasCgemmEx_64, int64_t, cuComplex, CUDA_C_32F)
EX_GEMM(cublasCgemm3mEx, int, cuComplex, CUDA_C_32F)
EX_GEMM(cublasCgemm3mEx_64, int64_t, cuComplex, CUDA_C_32F)

/* Scale type for a compute type and output; CUBLAS_STATUS_INVALID_VALUE if unknown. */
static cublasStatus_t compute_scale(cublasComputeType_t compute, cudaDataType ct,
                                    cudaDataType *scale_t)
{
    int s = sim_scale_type(compute, sim_dtype_is_complex(ct));
    if (s < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    *scale_t = (cudaDataType)s;
    return CUBLAS_STATUS_SUCCESS;
}

static int valid_algo(cublasGemmAlgo_t algo)
{
    return (algo >= CUBLAS_GEMM_DEFAULT && algo <= CUBLAS_GEMM_ALGO23) ||
           (algo >= CUBLAS_GEMM_DEFAULT_TENSOR_OP && algo <= CUBLAS_GEMM_ALGO15_TENSOR_OP) ||
           algo == CUBLAS_GEMM_AUTOTUNE;
}

/* ------------------------------------------- cublasGemmEx through cublasLtMatmul */

static cublasStatus_t lt_layouts(const gemm_call *g, cublasLtMatrixLayoutOpaque_t *a,
                                 cublasLtMatrixLayoutOpaque_t *b, cublasLtMatrixLayoutOpaque_t *c)
{
    int64_t a_rows = g->ta == CUBLAS_OP_N ? g->m : g->k, b_rows = g->tb == CUBLAS_OP_N ? g->k : g->n;
    cublasStatus_t s = cublasLtMatrixLayoutInit(a, g->at, (uint64_t)a_rows,
                                                (uint64_t)(g->ta == CUBLAS_OP_N ? g->k : g->m),
                                                g->lda);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutInit(b, g->bt, (uint64_t)b_rows,
                                     (uint64_t)(g->tb == CUBLAS_OP_N ? g->n : g->k), g->ldb);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatrixLayoutInit(c, g->ct, (uint64_t)g->m, (uint64_t)g->n, g->ldc);
    return s;
}

static cublasStatus_t lt_desc(const gemm_call *g, cublasComputeType_t compute,
                              cublasLtMatmulDescOpaque_t *d)
{
    int32_t ta = g->ta, tb = g->tb, mode = g->h->pointer_mode;
    cublasStatus_t s = cublasLtMatmulDescInit(d, compute, g->scale_t);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_POINTER_MODE, &mode, sizeof mode);
    return s;
}

/* D = C in place; the matmul is the one kernel of the call. */
static cublasStatus_t gemm_via_lt(const gemm_call *g, cublasComputeType_t compute)
{
    cublasLtMatmulDescOpaque_t desc;
    cublasLtMatrixLayoutOpaque_t a, b, c;
    cublasStatus_t s = lt_desc(g, compute, &desc);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = lt_layouts(g, &a, &b, &c);
    if (s != CUBLAS_STATUS_SUCCESS)
        return CUBLAS_STATUS_INTERNAL_ERROR;
    return cublasLtMatmul(g->h->lt, &desc, g->alpha, g->A, &a, g->B, &b, g->beta, g->C, &c, g->C,
                          &c, NULL, g->h->workspace, g->h->workspace_size, g->h->stream);
}

static cublasStatus_t gemm_ex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                              int64_t m, int64_t n, int64_t k, const void *alpha, const void *A,
                              cudaDataType at, int64_t lda, const void *B, cudaDataType bt,
                              int64_t ldb, const void *beta, void *C, cudaDataType ct,
                              int64_t ldc, cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
    cudaDataType scale_t = CUDA_R_32F;
    gemm_call g = make_call(h, ta, tb, m, n, k, alpha, beta, scale_t, lda, ldb, ldc);
    cublasStatus_t s = gemm_check(&g);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = compute_scale(compute, ct, &g.scale_t);
    g.at = at;
    g.bt = bt;
    g.ct = ct;
    if (s == CUBLAS_STATUS_SUCCESS)
        s = gemm_check_types(&g);
    if (s == CUBLAS_STATUS_SUCCESS && !valid_algo(algo))
        s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (m == 0 || n == 0)
        return CUBLAS_STATUS_SUCCESS;
    g.A = A;
    g.B = B;
    g.C = C;
    return gemm_via_lt(&g, compute);
}

cublasStatus_t cublasGemmEx(cublasHandle_t handle, cublasOperation_t transa,
                            cublasOperation_t transb, int m, int n, int k, const void *alpha,
                            const void *A, cudaDataType Atype, int lda, const void *B,
                            cudaDataType Btype, int ldb, const void *beta, void *C,
                            cudaDataType Ctype, int ldc, cublasComputeType_t computeType,
                            cublasGemmAlgo_t algo)
{
    return gemm_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C,
                   Ctype, ldc, computeType, algo);
}

cublasStatus_t cublasGemmEx_64(cublasHandle_t handle, cublasOperation_t transa,
                               cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                               const void *alpha, const void *A, cudaDataType Atype, int64_t lda,
                               const void *B, cudaDataType Btype, int64_t ldb, const void *beta,
                               void *C, cudaDataType Ctype, int64_t ldc,
                               cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    return gemm_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, B, Btype, ldb, beta, C,
                   Ctype, ldc, computeType, algo);
}

/* ------------------------------------------------------- strided batched */

#define STRIDED_GEMM(name, I, T, dtype)                                                          \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t transa,                       \
                        cublasOperation_t transb, I m, I n, I k, const T *alpha, const T *A,    \
                        I lda, long long strideA, const T *B, I ldb, long long strideB,         \
                        const T *beta, T *C, I ldc, long long strideC, I batchCount)            \
    {                                                                                          \
        gemm_call g = make_call(handle, transa, transb, m, n, k, alpha, beta, dtype, lda, ldb, \
                                ldc);                                                          \
        g.A = A;                                                                               \
        g.B = B;                                                                               \
        g.C = C;                                                                               \
        g.sa = strideA;                                                                        \
        g.sb = strideB;                                                                        \
        g.sc = strideC;                                                                        \
        g.batch = batchCount;                                                                  \
        return gemm_run(&g);                                                                   \
    }

STRIDED_GEMM(cublasSgemmStridedBatched, int, float, CUDA_R_32F)
STRIDED_GEMM(cublasSgemmStridedBatched_64, int64_t, float, CUDA_R_32F)
STRIDED_GEMM(cublasDgemmStridedBatched, int, double, CUDA_R_64F)
STRIDED_GEMM(cublasDgemmStridedBatched_64, int64_t, double, CUDA_R_64F)
STRIDED_GEMM(cublasCgemmStridedBatched, int, cuComplex, CUDA_C_32F)
STRIDED_GEMM(cublasCgemmStridedBatched_64, int64_t, cuComplex, CUDA_C_32F)
STRIDED_GEMM(cublasCgemm3mStridedBatched, int, cuComplex, CUDA_C_32F)
STRIDED_GEMM(cublasCgemm3mStridedBatched_64, int64_t, cuComplex, CUDA_C_32F)
STRIDED_GEMM(cublasZgemmStridedBatched, int, cuDoubleComplex, CUDA_C_64F)
STRIDED_GEMM(cublasZgemmStridedBatched_64, int64_t, cuDoubleComplex, CUDA_C_64F)

cublasStatus_t cublasHgemmStridedBatched(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                         int, int, int, const sim_half *, const sim_half *, int,
                                         long long, const sim_half *, int, long long,
                                         const sim_half *, sim_half *, int, long long, int);
cublasStatus_t cublasHgemmStridedBatched_64(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                            int64_t, int64_t, int64_t, const sim_half *,
                                            const sim_half *, int64_t, long long,
                                            const sim_half *, int64_t, long long,
                                            const sim_half *, sim_half *, int64_t, long long,
                                            int64_t);
STRIDED_GEMM(cublasHgemmStridedBatched, int, sim_half, CUDA_R_16F)
STRIDED_GEMM(cublasHgemmStridedBatched_64, int64_t, sim_half, CUDA_R_16F)

static cublasStatus_t strided_ex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                                 int64_t m, int64_t n, int64_t k, const void *alpha,
                                 const void *A, cudaDataType at, int64_t lda, long long sa,
                                 const void *B, cudaDataType bt, int64_t ldb, long long sb,
                                 const void *beta, void *C, cudaDataType ct, int64_t ldc,
                                 long long sc, int64_t batch, cublasComputeType_t compute,
                                 cublasGemmAlgo_t algo)
{
    gemm_call g = make_call(h, ta, tb, m, n, k, alpha, beta, CUDA_R_32F, lda, ldb, ldc);
    cublasStatus_t s = gemm_check(&g);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = compute_scale(compute, ct, &g.scale_t);
    if (s == CUBLAS_STATUS_SUCCESS && !valid_algo(algo))
        s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    g.at = at;
    g.bt = bt;
    g.ct = ct;
    g.A = A;
    g.B = B;
    g.C = C;
    g.sa = sa;
    g.sb = sb;
    g.sc = sc;
    g.batch = batch;
    return gemm_run(&g);
}

cublasStatus_t cublasGemmStridedBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                          cublasOperation_t transb, int m, int n, int k,
                                          const void *alpha, const void *A, cudaDataType Atype,
                                          int lda, long long int strideA, const void *B,
                                          cudaDataType Btype, int ldb, long long int strideB,
                                          const void *beta, void *C, cudaDataType Ctype, int ldc,
                                          long long int strideC, int batchCount,
                                          cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    return strided_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype,
                      ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo);
}

cublasStatus_t cublasGemmStridedBatchedEx_64(cublasHandle_t handle, cublasOperation_t transa,
                                             cublasOperation_t transb, int64_t m, int64_t n,
                                             int64_t k, const void *alpha, const void *A,
                                             cudaDataType Atype, int64_t lda,
                                             long long int strideA, const void *B,
                                             cudaDataType Btype, int64_t ldb,
                                             long long int strideB, const void *beta, void *C,
                                             cudaDataType Ctype, int64_t ldc,
                                             long long int strideC, int64_t batchCount,
                                             cublasComputeType_t computeType,
                                             cublasGemmAlgo_t algo)
{
    return strided_ex(handle, transa, transb, m, n, k, alpha, A, Atype, lda, strideA, B, Btype,
                      ldb, strideB, beta, C, Ctype, ldc, strideC, batchCount, computeType, algo);
}

/* --------------------------------------------------- pointer-array batched */

#define ARRAY_GEMM(name, I, T, dtype)                                                            \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t transa,                       \
                        cublasOperation_t transb, I m, I n, I k, const T *alpha,                \
                        const T *const Aarray[], I lda, const T *const Barray[], I ldb,         \
                        const T *beta, T *const Carray[], I ldc, I batchCount)                  \
    {                                                                                          \
        gemm_call g = make_call(handle, transa, transb, m, n, k, alpha, beta, dtype, lda, ldb, \
                                ldc);                                                          \
        g.Aarr = (const void *const *)Aarray;                                                  \
        g.Barr = (const void *const *)Barray;                                                  \
        g.Carr = (void *const *)Carray;                                                        \
        g.batch = batchCount;                                                                  \
        return gemm_run(&g);                                                                   \
    }

ARRAY_GEMM(cublasSgemmBatched, int, float, CUDA_R_32F)
ARRAY_GEMM(cublasSgemmBatched_64, int64_t, float, CUDA_R_32F)
ARRAY_GEMM(cublasDgemmBatched, int, double, CUDA_R_64F)
ARRAY_GEMM(cublasDgemmBatched_64, int64_t, double, CUDA_R_64F)
ARRAY_GEMM(cublasCgemmBatched, int, cuComplex, CUDA_C_32F)
ARRAY_GEMM(cublasCgemmBatched_64, int64_t, cuComplex, CUDA_C_32F)
ARRAY_GEMM(cublasCgemm3mBatched, int, cuComplex, CUDA_C_32F)
ARRAY_GEMM(cublasCgemm3mBatched_64, int64_t, cuComplex, CUDA_C_32F)
ARRAY_GEMM(cublasZgemmBatched, int, cuDoubleComplex, CUDA_C_64F)
ARRAY_GEMM(cublasZgemmBatched_64, int64_t, cuDoubleComplex, CUDA_C_64F)

cublasStatus_t cublasHgemmBatched(cublasHandle_t, cublasOperation_t, cublasOperation_t, int, int,
                                  int, const sim_half *, const sim_half *const[], int,
                                  const sim_half *const[], int, const sim_half *,
                                  sim_half *const[], int, int);
cublasStatus_t cublasHgemmBatched_64(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                     int64_t, int64_t, int64_t, const sim_half *,
                                     const sim_half *const[], int64_t, const sim_half *const[],
                                     int64_t, const sim_half *, sim_half *const[], int64_t,
                                     int64_t);
ARRAY_GEMM(cublasHgemmBatched, int, sim_half, CUDA_R_16F)
ARRAY_GEMM(cublasHgemmBatched_64, int64_t, sim_half, CUDA_R_16F)

static cublasStatus_t array_ex(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb,
                               int64_t m, int64_t n, int64_t k, const void *alpha,
                               const void *const *A, cudaDataType at, int64_t lda,
                               const void *const *B, cudaDataType bt, int64_t ldb,
                               const void *beta, void *const *C, cudaDataType ct, int64_t ldc,
                               int64_t batch, cublasComputeType_t compute, cublasGemmAlgo_t algo)
{
    gemm_call g = make_call(h, ta, tb, m, n, k, alpha, beta, CUDA_R_32F, lda, ldb, ldc);
    cublasStatus_t s = gemm_check(&g);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = compute_scale(compute, ct, &g.scale_t);
    if (s == CUBLAS_STATUS_SUCCESS && !valid_algo(algo))
        s = CUBLAS_STATUS_NOT_SUPPORTED;
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    g.at = at;
    g.bt = bt;
    g.ct = ct;
    g.Aarr = A;
    g.Barr = B;
    g.Carr = C;
    g.batch = batch;
    return gemm_run(&g);
}

cublasStatus_t cublasGemmBatchedEx(cublasHandle_t handle, cublasOperation_t transa,
                                   cublasOperation_t transb, int m, int n, int k,
                                   const void *alpha, const void *const Aarray[],
                                   cudaDataType Atype, int lda, const void *const Barray[],
                                   cudaDataType Btype, int ldb, const void *beta,
                                   void *const Carray[], cudaDataType Ctype, int ldc,
                                   int batchCount, cublasComputeType_t computeType,
                                   cublasGemmAlgo_t algo)
{
    return array_ex(handle, transa, transb, m, n, k, alpha, Aarray, Atype, lda, Barray, Btype,
                    ldb, beta, Carray, Ctype, ldc, batchCount, computeType, algo);
}

cublasStatus_t cublasGemmBatchedEx_64(cublasHandle_t handle, cublasOperation_t transa,
                                      cublasOperation_t transb, int64_t m, int64_t n, int64_t k,
                                      const void *alpha, const void *const Aarray[],
                                      cudaDataType Atype, int64_t lda,
                                      const void *const Barray[], cudaDataType Btype,
                                      int64_t ldb, const void *beta, void *const Carray[],
                                      cudaDataType Ctype, int64_t ldc, int64_t batchCount,
                                      cublasComputeType_t computeType, cublasGemmAlgo_t algo)
{
    return array_ex(handle, transa, transb, m, n, k, alpha, Aarray, Atype, lda, Barray, Btype,
                    ldb, beta, Carray, Ctype, ldc, batchCount, computeType, algo);
}

/* ------------------------------------------------------------ grouped batched */

/*
 * Groups of products with their own shapes and scalars, as one kernel: the problem
 * sizes of all groups add up. alpha/beta are arrays with one value per group.
 */
typedef struct grouped_call {
    cublasHandle_t h;
    const cublasOperation_t *ta, *tb;
    const int *m32, *n32, *k32, *lda32, *ldb32, *ldc32, *size32;
    const int64_t *m64, *n64, *k64, *lda64, *ldb64, *ldc64, *size64;
    const void *alpha, *beta;
    const void *const *A, *const *B;
    void *const *C;
    cudaDataType scale_t, at, bt, ct;
    int64_t groups;
} grouped_call;

static int64_t pick(const int *a32, const int64_t *a64, int64_t i)
{
    return a32 ? a32[i] : a64[i];
}

/* The gemm_call of group i (operands filled in by the caller). */
static gemm_call group_call(const grouped_call *gc, int64_t i)
{
    int64_t bytes = sim_dtype_bits(gc->scale_t) / 8;
    gemm_call g = make_call(gc->h, gc->ta[i], gc->tb[i], pick(gc->m32, gc->m64, i),
                            pick(gc->n32, gc->n64, i), pick(gc->k32, gc->k64, i),
                            (const char *)gc->alpha + i * bytes, (const char *)gc->beta + i * bytes,
                            gc->scale_t, pick(gc->lda32, gc->lda64, i),
                            pick(gc->ldb32, gc->ldb64, i), pick(gc->ldc32, gc->ldc64, i));
    g.at = gc->at;
    g.bt = gc->bt;
    g.ct = gc->ct;
    g.batch = pick(gc->size32, gc->size64, i);
    return g;
}

/* Checks every group and adds up their cost; *work: some product has an output. */
static cublasStatus_t grouped_check(const grouped_call *gc, uint64_t *flops, uint64_t *bytes,
                                    int *work)
{
    if (!valid_handle(gc->h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (gc->groups < 0 || !gc->alpha || !gc->beta || (gc->groups > 0 && (!gc->ta || !gc->tb)))
        return CUBLAS_STATUS_INVALID_VALUE;
    *flops = *bytes = 0;
    *work = 0;
    for (int64_t i = 0; i < gc->groups; i++) {
        uint64_t f, b;
        gemm_call g = group_call(gc, i);
        cublasStatus_t s = gemm_check(&g);
        if (s == CUBLAS_STATUS_SUCCESS)
            s = gemm_check_types(&g);
        if (s != CUBLAS_STATUS_SUCCESS)
            return s;
        gemm_cost(&g, &f, &b);
        *work |= g.m > 0 && g.n > 0 && g.batch > 0;
        *flops = sim_add(*flops, f);
        *bytes = sim_add(*bytes, b);
    }
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t grouped_run(const grouped_call *gc)
{
    uint64_t flops, bytes;
    int64_t first = 0;
    int work;
    cublasStatus_t s = grouped_check(gc, &flops, &bytes, &work);
    if (s != CUBLAS_STATUS_SUCCESS || !work)
        return s; /* no product has an output: no kernel */
    if (nnspy_sim_launch(gc->h->stream, flops, bytes) != cudaSuccess)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    for (int64_t i = 0; i < gc->groups; i++) {
        gemm_call g = group_call(gc, i);
        g.Aarr = gc->A + first;
        g.Barr = gc->B + first;
        g.Carr = gc->C + first;
        first += g.batch;
        if (gemm_has_math(&g) && g.m > 0 && g.n > 0)
            gemm_math(&g);
    }
    return CUBLAS_STATUS_SUCCESS;
}

/* sfx (32 or 64) picks the grouped_call fields of the int or int64_t variant. */
#define GROUPED_GEMM(name, I, sfx, T, dtype)                                                      \
    cublasStatus_t name(cublasHandle_t handle, const cublasOperation_t transa_array[],          \
                        const cublasOperation_t transb_array[], const I m_array[],              \
                        const I n_array[], const I k_array[], const T alpha_array[],            \
                        const T *const Aarray[], const I lda_array[], const T *const Barray[],  \
                        const I ldb_array[], const T beta_array[], T *const Carray[],           \
                        const I ldc_array[], I group_count, const I group_size[])               \
    {                                                                                           \
        grouped_call gc = {.h = handle, .ta = transa_array, .tb = transb_array,                 \
                           .m##sfx = m_array, .n##sfx = n_array, .k##sfx = k_array,             \
                           .lda##sfx = lda_array, .ldb##sfx = ldb_array, .ldc##sfx = ldc_array, \
                           .size##sfx = group_size, .alpha = alpha_array, .beta = beta_array,   \
                           .A = (const void *const *)Aarray, .B = (const void *const *)Barray,  \
                           .C = (void *const *)Carray, .scale_t = dtype, .at = dtype,           \
                           .bt = dtype, .ct = dtype, .groups = group_count};                    \
        return grouped_run(&gc);                                                                \
    }

GROUPED_GEMM(cublasSgemmGroupedBatched, int, 32, float, CUDA_R_32F)
GROUPED_GEMM(cublasSgemmGroupedBatched_64, int64_t, 64, float, CUDA_R_32F)
GROUPED_GEMM(cublasDgemmGroupedBatched, int, 32, double, CUDA_R_64F)
GROUPED_GEMM(cublasDgemmGroupedBatched_64, int64_t, 64, double, CUDA_R_64F)

static cublasStatus_t grouped_ex(grouped_call *gc, cublasComputeType_t compute)
{
    if (!valid_handle(gc->h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    cublasStatus_t s = compute_scale(compute, gc->ct, &gc->scale_t);
    return s == CUBLAS_STATUS_SUCCESS ? grouped_run(gc) : s;
}

cublasStatus_t cublasGemmGroupedBatchedEx(cublasHandle_t handle,
                                          const cublasOperation_t transa_array[],
                                          const cublasOperation_t transb_array[],
                                          const int m_array[], const int n_array[],
                                          const int k_array[], const void *alpha_array,
                                          const void *const Aarray[], cudaDataType_t Atype,
                                          const int lda_array[], const void *const Barray[],
                                          cudaDataType_t Btype, const int ldb_array[],
                                          const void *beta_array, void *const Carray[],
                                          cudaDataType_t Ctype, const int ldc_array[],
                                          int group_count, const int group_size[],
                                          cublasComputeType_t computeType)
{
    grouped_call gc = {.h = handle, .ta = transa_array, .tb = transb_array, .m32 = m_array,
                       .n32 = n_array, .k32 = k_array, .lda32 = lda_array, .ldb32 = ldb_array,
                       .ldc32 = ldc_array, .size32 = group_size, .alpha = alpha_array,
                       .beta = beta_array, .A = Aarray, .B = Barray, .C = Carray, .at = Atype,
                       .bt = Btype, .ct = Ctype, .groups = group_count};
    return grouped_ex(&gc, computeType);
}

cublasStatus_t cublasGemmGroupedBatchedEx_64(cublasHandle_t handle,
                                             const cublasOperation_t transa_array[],
                                             const cublasOperation_t transb_array[],
                                             const int64_t m_array[], const int64_t n_array[],
                                             const int64_t k_array[], const void *alpha_array,
                                             const void *const Aarray[], cudaDataType_t Atype,
                                             const int64_t lda_array[],
                                             const void *const Barray[], cudaDataType_t Btype,
                                             const int64_t ldb_array[], const void *beta_array,
                                             void *const Carray[], cudaDataType_t Ctype,
                                             const int64_t ldc_array[], int64_t group_count,
                                             const int64_t group_size[],
                                             cublasComputeType_t computeType)
{
    grouped_call gc = {.h = handle, .ta = transa_array, .tb = transb_array, .m64 = m_array,
                       .n64 = n_array, .k64 = k_array, .lda64 = lda_array, .ldb64 = ldb_array,
                       .ldc64 = ldc_array, .size64 = group_size, .alpha = alpha_array,
                       .beta = beta_array, .A = Aarray, .B = Barray, .C = Carray, .at = Atype,
                       .bt = Btype, .ct = Ctype, .groups = group_count};
    return grouped_ex(&gc, computeType);
}

/* ------------------------------------------------ legacy API (cublas.h) GEMMs */

/*
 * The handle-less API of cublas.h: cublasInit() creates one implicit context, errors
 * are kept for cublasGetError(), and the kernel stream is set with
 * cublasSetKernelStream(). cublas_v2.h maps these names to the _v2 ones, hence the
 * #undefs and the prototypes written here (those of cublas.h).
 */
#undef cublasSgemm
#undef cublasDgemm
#undef cublasCgemm
#undef cublasZgemm

cublasStatus_t cublasInit(void);
cublasStatus_t cublasShutdown(void);
cublasStatus_t cublasGetError(void);
cublasStatus_t cublasSetKernelStream(cudaStream_t stream);
void cublasSgemm(char, char, int, int, int, float, const float *, int, const float *, int,
                 float, float *, int);
void cublasDgemm(char, char, int, int, int, double, const double *, int, const double *, int,
                 double, double *, int);
void cublasCgemm(char, char, int, int, int, cuComplex, const cuComplex *, int, const cuComplex *,
                 int, cuComplex, cuComplex *, int);
void cublasZgemm(char, char, int, int, int, cuDoubleComplex, const cuDoubleComplex *, int,
                 const cuDoubleComplex *, int, cuDoubleComplex, cuDoubleComplex *, int);

static pthread_mutex_t g_legacy_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cublasContext g_legacy; /* magic set while initialised */
static cublasStatus_t g_legacy_error;

cublasStatus_t cublasInit(void)
{
    nnspy_sim_runtime_use();
    pthread_mutex_lock(&g_legacy_lock);
    g_legacy.magic = CUBLAS_HANDLE_MAGIC;
    pthread_mutex_unlock(&g_legacy_lock);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasShutdown(void)
{
    pthread_mutex_lock(&g_legacy_lock);
    cublasStatus_t s = g_legacy.magic ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
    memset(&g_legacy, 0, sizeof g_legacy);
    pthread_mutex_unlock(&g_legacy_lock);
    return s;
}

cublasStatus_t cublasGetError(void)
{
    pthread_mutex_lock(&g_legacy_lock);
    cublasStatus_t s = g_legacy_error;
    g_legacy_error = CUBLAS_STATUS_SUCCESS;
    pthread_mutex_unlock(&g_legacy_lock);
    return s;
}

cublasStatus_t cublasSetKernelStream(cudaStream_t stream)
{
    pthread_mutex_lock(&g_legacy_lock);
    cublasStatus_t s = g_legacy.magic ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
    if (s == CUBLAS_STATUS_SUCCESS)
        g_legacy.stream = stream;
    pthread_mutex_unlock(&g_legacy_lock);
    return s;
}

/* 'N'/'n', 'T'/'t', 'C'/'c'; anything else is an invalid operation. */
static cublasOperation_t legacy_op(char c)
{
    switch (c) {
    case 'N': case 'n': return CUBLAS_OP_N;
    case 'T': case 't': return CUBLAS_OP_T;
    case 'C': case 'c': return CUBLAS_OP_C;
    }
    return (cublasOperation_t)-1;
}

static void legacy_gemm(char ta, char tb, int m, int n, int k, const void *alpha, const void *A,
                        int lda, const void *B, int ldb, const void *beta, void *C, int ldc,
                        cudaDataType t)
{
    pthread_mutex_lock(&g_legacy_lock);
    struct cublasContext ctx = g_legacy;
    pthread_mutex_unlock(&g_legacy_lock);
    cublasStatus_t s = typed_gemm(ctx.magic ? &ctx : NULL, legacy_op(ta), legacy_op(tb), m, n,
                                  k, alpha, A, lda, B, ldb, beta, C, ldc, t);
    if (s != CUBLAS_STATUS_SUCCESS) {
        pthread_mutex_lock(&g_legacy_lock);
        g_legacy_error = s;
        pthread_mutex_unlock(&g_legacy_lock);
    }
}

#define LEGACY_GEMM(name, T, dtype)                                                             \
    void name(char transa, char transb, int m, int n, int k, T alpha, const T *A, int lda,     \
              const T *B, int ldb, T beta, T *C, int ldc)                                      \
    {                                                                                          \
        legacy_gemm(transa, transb, m, n, k, &alpha, A, lda, B, ldb, &beta, C, ldc, dtype);    \
    }

LEGACY_GEMM(cublasSgemm, float, CUDA_R_32F)
LEGACY_GEMM(cublasDgemm, double, CUDA_R_64F)
LEGACY_GEMM(cublasCgemm, cuComplex, CUDA_C_32F)
LEGACY_GEMM(cublasZgemm, cuDoubleComplex, CUDA_C_64F)

/* ---------------------------------------------------- gemv, dot, geam */
/*
 * Argument checks as cuBLAS documents them: CUBLAS_STATUS_NOT_INITIALIZED for a bad
 * handle, CUBLAS_STATUS_INVALID_VALUE for negative sizes, zero increments, short
 * leading dimensions, NULL scalars or an in-place geam with a transposed operand.
 * m = 0 or n = 0 returns at once, without a kernel. No CPU math: nnspy never reads
 * these results.
 */

static cublasStatus_t vec_launch(cublasHandle_t h, uint64_t flops, uint64_t bytes)
{
    return nnspy_sim_launch(h->stream, flops, bytes) == cudaSuccess
               ? CUBLAS_STATUS_SUCCESS
               : CUBLAS_STATUS_EXECUTION_FAILED;
}

typedef struct gemv_call {
    cublasHandle_t h;
    cublasOperation_t trans;
    int64_t m, n, lda, incx, incy, batch;
    const void *alpha, *beta;
    cudaDataType t;
} gemv_call;

static cublasStatus_t gemv_run(const gemv_call *g)
{
    if (!valid_handle(g->h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(g->trans) || g->m < 0 || g->n < 0 || g->batch < 0 || g->lda < max1(g->m) ||
        g->incx == 0 || g->incy == 0 || !g->alpha || !g->beta)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (g->m == 0 || g->n == 0 || g->batch == 0)
        return CUBLAS_STATUS_SUCCESS;
    uint64_t m = (uint64_t)g->m, n = (uint64_t)g->n, b = (uint64_t)g->batch;
    uint64_t flops = sim_mul(2, sim_mul(sim_mul(m, n), b));
    uint64_t bytes = sim_dtype_bytes(g->t, sim_mul(sim_add(sim_mul(m, n), sim_add(m, n)), b));
    return vec_launch(g->h, flops, bytes);
}

#define SIM_GEMV(name, I, T, dtype)                                                              \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t trans, I m, I n,              \
                        const T *alpha, const T *A, I lda, const T *x, I incx, const T *beta,  \
                        T *y, I incy)                                                          \
    {                                                                                          \
        (void)A, (void)x, (void)y;                                                             \
        return gemv_run(&(gemv_call){handle, trans, m, n, lda, incx, incy, 1, alpha, beta,     \
                                     dtype});                                                  \
    }

SIM_GEMV(cublasSgemv_v2, int, float, CUDA_R_32F)
SIM_GEMV(cublasDgemv_v2, int, double, CUDA_R_64F)
SIM_GEMV(cublasCgemv_v2, int, cuComplex, CUDA_C_32F)
SIM_GEMV(cublasZgemv_v2, int, cuDoubleComplex, CUDA_C_64F)
SIM_GEMV(cublasSgemv_v2_64, int64_t, float, CUDA_R_32F)
SIM_GEMV(cublasDgemv_v2_64, int64_t, double, CUDA_R_64F)
SIM_GEMV(cublasCgemv_v2_64, int64_t, cuComplex, CUDA_C_32F)
SIM_GEMV(cublasZgemv_v2_64, int64_t, cuDoubleComplex, CUDA_C_64F)

#define SIM_GEMV_STRIDED(name, I, T, dtype)                                                      \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t trans, I m, I n,              \
                        const T *alpha, const T *A, I lda, long long strideA, const T *x,      \
                        I incx, long long stridex, const T *beta, T *y, I incy,                \
                        long long stridey, I batchCount)                                       \
    {                                                                                          \
        (void)A, (void)x, (void)y, (void)strideA, (void)stridex, (void)stridey;                \
        return gemv_run(&(gemv_call){handle, trans, m, n, lda, incx, incy, batchCount, alpha,  \
                                     beta, dtype});                                            \
    }

SIM_GEMV_STRIDED(cublasSgemvStridedBatched, int, float, CUDA_R_32F)
SIM_GEMV_STRIDED(cublasDgemvStridedBatched, int, double, CUDA_R_64F)
SIM_GEMV_STRIDED(cublasCgemvStridedBatched, int, cuComplex, CUDA_C_32F)
SIM_GEMV_STRIDED(cublasZgemvStridedBatched, int, cuDoubleComplex, CUDA_C_64F)
SIM_GEMV_STRIDED(cublasSgemvStridedBatched_64, int64_t, float, CUDA_R_32F)
SIM_GEMV_STRIDED(cublasDgemvStridedBatched_64, int64_t, double, CUDA_R_64F)
SIM_GEMV_STRIDED(cublasCgemvStridedBatched_64, int64_t, cuComplex, CUDA_C_32F)
SIM_GEMV_STRIDED(cublasZgemvStridedBatched_64, int64_t, cuDoubleComplex, CUDA_C_64F)

#define SIM_GEMV_ARRAY(name, I, T, dtype)                                                        \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t trans, I m, I n,              \
                        const T *alpha, const T *const Aarray[], I lda, const T *const xarray[], \
                        I incx, const T *beta, T *const yarray[], I incy, I batchCount)        \
    {                                                                                          \
        if (batchCount > 0 && (!Aarray || !xarray || !yarray))                                 \
            return CUBLAS_STATUS_INVALID_VALUE;                                                \
        return gemv_run(&(gemv_call){handle, trans, m, n, lda, incx, incy, batchCount, alpha,  \
                                     beta, dtype});                                            \
    }

SIM_GEMV_ARRAY(cublasSgemvBatched, int, float, CUDA_R_32F)
SIM_GEMV_ARRAY(cublasDgemvBatched, int, double, CUDA_R_64F)
SIM_GEMV_ARRAY(cublasCgemvBatched, int, cuComplex, CUDA_C_32F)
SIM_GEMV_ARRAY(cublasZgemvBatched, int, cuDoubleComplex, CUDA_C_64F)
SIM_GEMV_ARRAY(cublasSgemvBatched_64, int64_t, float, CUDA_R_32F)
SIM_GEMV_ARRAY(cublasDgemvBatched_64, int64_t, double, CUDA_R_64F)
SIM_GEMV_ARRAY(cublasCgemvBatched_64, int64_t, cuComplex, CUDA_C_32F)
SIM_GEMV_ARRAY(cublasZgemvBatched_64, int64_t, cuDoubleComplex, CUDA_C_64F)

/* n <= 0: the result is 0 (in host pointer mode, written at once), no kernel. */
static cublasStatus_t dot_run(cublasHandle_t h, int64_t n, const void *x, const void *y,
                              void *result, cudaDataType t, cudaDataType rt)
{
    if (!valid_handle(h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!result || (n > 0 && (!x || !y)))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (!sim_dtype_bits(t) || !sim_dtype_bits(rt))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (n <= 0) {
        if (h->pointer_mode == CUBLAS_POINTER_MODE_HOST)
            memset(result, 0, sim_dtype_bits(rt) / 8);
        return CUBLAS_STATUS_SUCCESS;
    }
    return vec_launch(h, sim_mul(2, (uint64_t)n), sim_dtype_bytes(t, sim_mul(2, (uint64_t)n)));
}

#define SIM_DOT(name, I, T, dtype)                                                               \
    cublasStatus_t name(cublasHandle_t handle, I n, const T *x, I incx, const T *y, I incy,    \
                        T *result)                                                             \
    {                                                                                          \
        (void)incx, (void)incy;                                                                \
        return dot_run(handle, n, x, y, result, dtype, dtype);                                 \
    }

SIM_DOT(cublasSdot_v2, int, float, CUDA_R_32F)
SIM_DOT(cublasDdot_v2, int, double, CUDA_R_64F)
SIM_DOT(cublasSdot_v2_64, int64_t, float, CUDA_R_32F)
SIM_DOT(cublasDdot_v2_64, int64_t, double, CUDA_R_64F)

#define SIM_DOT_EX(name, I)                                                                      \
    cublasStatus_t name(cublasHandle_t handle, I n, const void *x, cudaDataType xType, I incx, \
                        const void *y, cudaDataType yType, I incy, void *result,               \
                        cudaDataType resultType, cudaDataType executionType)                   \
    {                                                                                          \
        (void)incx, (void)incy, (void)executionType;                                           \
        if (xType != yType)                                                                    \
            return CUBLAS_STATUS_NOT_SUPPORTED;                                                \
        return dot_run(handle, n, x, y, result, xType, resultType);                            \
    }

SIM_DOT_EX(cublasDotEx, int)
SIM_DOT_EX(cublasDotcEx, int)
SIM_DOT_EX(cublasDotEx_64, int64_t)
SIM_DOT_EX(cublasDotcEx_64, int64_t)

typedef struct geam_call {
    cublasHandle_t h;
    cublasOperation_t ta, tb;
    int64_t m, n, lda, ldb, ldc;
    const void *alpha, *beta, *A, *B, *C;
    cudaDataType t;
} geam_call;

static cublasStatus_t geam_run(const geam_call *g)
{
    if (!valid_handle(g->h))
        return CUBLAS_STATUS_NOT_INITIALIZED;
    if (!valid_op(g->ta) || !valid_op(g->tb) || g->m < 0 || g->n < 0 || !g->alpha ||
        !g->beta || g->lda < max1(g->ta == CUBLAS_OP_N ? g->m : g->n) ||
        g->ldb < max1(g->tb == CUBLAS_OP_N ? g->m : g->n) || g->ldc < max1(g->m) ||
        (g->C == g->A && g->ta != CUBLAS_OP_N) || (g->C == g->B && g->tb != CUBLAS_OP_N))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (g->m == 0 || g->n == 0)
        return CUBLAS_STATUS_SUCCESS;
    uint64_t e = sim_mul((uint64_t)g->m, (uint64_t)g->n);
    return vec_launch(g->h, sim_mul(3, e), sim_dtype_bytes(g->t, sim_mul(3, e)));
}

#define SIM_GEAM(name, I, T, dtype)                                                              \
    cublasStatus_t name(cublasHandle_t handle, cublasOperation_t transa,                       \
                        cublasOperation_t transb, I m, I n, const T *alpha, const T *A, I lda, \
                        const T *beta, const T *B, I ldb, T *C, I ldc)                         \
    {                                                                                          \
        return geam_run(&(geam_call){handle, transa, transb, m, n, lda, ldb, ldc, alpha, beta, \
                                     A, B, C, dtype});                                         \
    }

SIM_GEAM(cublasSgeam, int, float, CUDA_R_32F)
SIM_GEAM(cublasDgeam, int, double, CUDA_R_64F)
SIM_GEAM(cublasCgeam, int, cuComplex, CUDA_C_32F)
SIM_GEAM(cublasZgeam, int, cuDoubleComplex, CUDA_C_64F)
SIM_GEAM(cublasSgeam_64, int64_t, float, CUDA_R_32F)
SIM_GEAM(cublasDgeam_64, int64_t, double, CUDA_R_64F)
SIM_GEAM(cublasCgeam_64, int64_t, cuComplex, CUDA_C_32F)
SIM_GEAM(cublasZgeam_64, int64_t, cuDoubleComplex, CUDA_C_64F)
