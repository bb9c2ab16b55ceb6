/*
 * cublaslt.c: the simulated cuBLASLt (libcublasLt.so.13). Test equipment: README.md.
 *
 * Descriptors live in the opaque structures of cublasLt.h (so that the *Init_internal
 * calls work on caller-provided storage too) and store every attribute the header
 * defines at its documented size and default, checked as the real library does: a
 * Set or Get whose size is not the attribute's exact size is CUBLAS_STATUS_INVALID_VALUE,
 * and values are only checked when cublasLtMatmul uses them.
 *
 * cublasLtMatmul validates the problem, advances the stream's virtual clock by one
 * kernel, and with NNSPY_SIM_MATH=1 computes D on the CPU (column- or row-major
 * layouts; epilogues DEFAULT, RELU, BIAS, GELU and their AUX variants).
 */
#include <cublasLt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define LT_HANDLE_MAGIC 0x4c54484eu /* "LTHN" */
#define LT_LAYOUT_MAGIC 0x4c544c59u /* "LTLY" */
#define LT_DESC_MAGIC 0x4c544453u   /* "LTDS" */
#define LT_PREF_MAGIC 0x4c545046u   /* "LTPF" */

struct cublasLtContext {
    uint32_t magic;
};

typedef struct lt_layout {
    uint32_t magic;
    uint32_t type; /* cudaDataType */
    int32_t order;
    uint32_t batch_mode;
    uint64_t rows, cols;
    int64_t ld;
    int32_t batch_count;
    int32_t unused_;
    int64_t batch_stride;
    int64_t plane_offset;
} lt_layout;

typedef struct lt_desc {
    uint32_t magic;
    int32_t compute_type, scale_type, pointer_mode, transa, transb, transc, fill_mode;
    uint32_t epilogue;
    int32_t sm_count_target, aux_data_type, bias_data_type;
    int32_t a_scale_mode, b_scale_mode, c_scale_mode, d_scale_mode, aux_scale_mode;
    int32_t d_out_scale_mode, reserved_16;
    int8_t fast_accum;
    const void *bias;
    int64_t bias_batch_stride;
    void *aux;
    int64_t aux_ld, aux_batch_stride, alpha_vector_batch_stride;
    const void *a_scale, *b_scale, *c_scale, *d_scale;
    void *amax_d, *aux_scale, *aux_amax, *d_out_scale;
    void *emulation_desc;
} lt_desc;

typedef struct lt_pref {
    uint32_t magic;
    uint32_t search_mode, reduction_scheme_mask;
    uint32_t min_alignment_a, min_alignment_b, min_alignment_c, min_alignment_d;
    float max_waves;
    uint64_t max_workspace, impl_mask;
} lt_pref;

_Static_assert(sizeof(lt_layout) <= sizeof(cublasLtMatrixLayoutOpaque_t), "layout fits");
_Static_assert(sizeof(lt_desc) <= sizeof(cublasLtMatmulDescOpaque_t), "desc fits");
_Static_assert(sizeof(lt_pref) <= sizeof(cublasLtMatmulPreferenceOpaque_t), "pref fits");

/* ------------------------------------------------------------ attribute tables */

typedef struct lt_attr {
    int id;
    size_t offset, size;
} lt_attr;

#define ATTR(type, id, field) {id, offsetof(type, field), sizeof(((type *)0)->field)}
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static const lt_attr k_layout_attrs[] = {
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_TYPE, type),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_ORDER, order),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_ROWS, rows),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_COLS, cols),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_LD, ld),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, batch_count),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, batch_stride),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_PLANE_OFFSET, plane_offset),
    ATTR(lt_layout, CUBLASLT_MATRIX_LAYOUT_BATCH_MODE, batch_mode),
};

static const lt_attr k_desc_attrs[] = {
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_COMPUTE_TYPE, compute_type),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_SCALE_TYPE, scale_type),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_POINTER_MODE, pointer_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_TRANSA, transa),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_TRANSB, transb),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_TRANSC, transc),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_FILL_MODE, fill_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE, epilogue),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, bias),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_BIAS_BATCH_STRIDE, bias_batch_stride),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_POINTER, aux),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_LD, aux_ld),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_BATCH_STRIDE, aux_batch_stride),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_ALPHA_VECTOR_BATCH_STRIDE, alpha_vector_batch_stride),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_SM_COUNT_TARGET, sm_count_target),
    ATTR(lt_desc, 16, reserved_16), /* not in the header, but the real library has it */
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, a_scale),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, b_scale),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_C_SCALE_POINTER, c_scale),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_D_SCALE_POINTER, d_scale),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_AMAX_D_POINTER, amax_d),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_DATA_TYPE, aux_data_type),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_POINTER, aux_scale),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_AMAX_POINTER, aux_amax),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_FAST_ACCUM, fast_accum),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, bias_data_type),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, a_scale_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, b_scale_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_C_SCALE_MODE, c_scale_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_D_SCALE_MODE, d_scale_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EPILOGUE_AUX_SCALE_MODE, aux_scale_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_D_OUT_SCALE_POINTER, d_out_scale),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_D_OUT_SCALE_MODE, d_out_scale_mode),
    ATTR(lt_desc, CUBLASLT_MATMUL_DESC_EMULATION_DESCRIPTOR, emulation_desc),
};

static const lt_attr k_pref_attrs[] = {
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_SEARCH_MODE, search_mode),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, max_workspace),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_REDUCTION_SCHEME_MASK, reduction_scheme_mask),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, min_alignment_a),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, min_alignment_b),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, min_alignment_c),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, min_alignment_d),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_MAX_WAVES_COUNT, max_waves),
    ATTR(lt_pref, CUBLASLT_MATMUL_PREF_IMPL_MASK, impl_mask),
};

static const lt_attr *find_attr(const lt_attr *table, size_t n, int id)
{
    for (size_t i = 0; i < n; i++)
        if (table[i].id == id)
            return &table[i];
    return NULL;
}

static cublasStatus_t attr_set(void *obj, const lt_attr *table, size_t n, int id,
                               const void *buf, size_t size)
{
    const lt_attr *a = find_attr(table, n, id);
    if (!obj || !a || !buf || size != a->size)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy((char *)obj + a->offset, buf, size);
    return CUBLAS_STATUS_SUCCESS;
}

/* sizeInBytes 0 asks for the size; otherwise it must be the attribute's exact size. */
static cublasStatus_t attr_get(const void *obj, const lt_attr *table, size_t n, int id, void *buf,
                               size_t size, size_t *written)
{
    const lt_attr *a = find_attr(table, n, id);
    if (!obj || !a)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size == 0) {
        if (!written)
            return CUBLAS_STATUS_INVALID_VALUE;
        *written = a->size;
        return CUBLAS_STATUS_SUCCESS;
    }
    if (!buf || size != a->size)
        return CUBLAS_STATUS_INVALID_VALUE;
    memcpy(buf, (const char *)obj + a->offset, size);
    if (written)
        *written = size;
    return CUBLAS_STATUS_SUCCESS;
}

/* --------------------------------------------------------- handle, versions */

cublasStatus_t cublasLtCreate(cublasLtHandle_t *lightHandle)
{
    struct cublasLtContext *h;
    if (!lightHandle)
        return CUBLAS_STATUS_INVALID_VALUE;
    nnspy_sim_runtime_use(); /* the real one queries the current device */
    h = malloc(sizeof *h);
    if (!h)
        return CUBLAS_STATUS_ALLOC_FAILED;
    h->magic = LT_HANDLE_MAGIC;
    *lightHandle = h;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t lightHandle)
{
    if (!lightHandle)
        return CUBLAS_STATUS_INVALID_VALUE;
    lightHandle->magic = 0;
    free(lightHandle);
    return CUBLAS_STATUS_SUCCESS;
}

const char *cublasLtGetStatusName(cublasStatus_t status)
{
    return sim_cublas_status(status, 0);
}

const char *cublasLtGetStatusString(cublasStatus_t status)
{
    return sim_cublas_status(status, 1);
}

size_t cublasLtGetVersion(void)
{
    return CUBLAS_VERSION;
}

size_t cublasLtGetCudartVersion(void)
{
    return CUDART_VERSION;
}

cublasStatus_t cublasLtGetProperty(libraryPropertyType type, int *value)
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

/* ------------------------------------------------------------ matrix layout */

/* Exported functions never call each other: a profiler would see nested calls. */
static cublasStatus_t layout_init(cublasLtMatrixLayout_t matLayout, size_t size, cudaDataType type,
                                  uint64_t rows, uint64_t cols, int64_t ld)
{
    lt_layout *l = (lt_layout *)matLayout;
    if (!l)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size < sizeof *l)
        return CUBLAS_STATUS_ALLOC_FAILED;
    memset(l, 0, sizeof *l);
    l->magic = LT_LAYOUT_MAGIC;
    l->type = (uint32_t)type;
    l->order = CUBLASLT_ORDER_COL;
    l->rows = rows;
    l->cols = cols;
    l->ld = ld;
    l->batch_count = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutInit_internal(cublasLtMatrixLayout_t matLayout, size_t size,
                                                 cudaDataType type, uint64_t rows, uint64_t cols,
                                                 int64_t ld)
{
    return layout_init(matLayout, size, type, rows, cols, ld);
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t *matLayout, cudaDataType type,
                                          uint64_t rows, uint64_t cols, int64_t ld)
{
    cublasLtMatrixLayout_t l;
    if (!matLayout)
        return CUBLAS_STATUS_INVALID_VALUE;
    l = malloc(sizeof *l);
    if (!l)
        return CUBLAS_STATUS_ALLOC_FAILED;
    layout_init(l, sizeof *l, type, rows, cols, ld);
    *matLayout = l;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t matLayout)
{
    free(matLayout);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t matLayout,
                                                cublasLtMatrixLayoutAttribute_t attr,
                                                const void *buf, size_t sizeInBytes)
{
    return attr_set(matLayout, k_layout_attrs, COUNT(k_layout_attrs), attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatrixLayoutGetAttribute(cublasLtMatrixLayout_t matLayout,
                                                cublasLtMatrixLayoutAttribute_t attr, void *buf,
                                                size_t sizeInBytes, size_t *sizeWritten)
{
    return attr_get(matLayout, k_layout_attrs, COUNT(k_layout_attrs), attr, buf, sizeInBytes,
                    sizeWritten);
}

/* ---------------------------------------------------------- matmul descriptor */

static cublasStatus_t desc_init(cublasLtMatmulDesc_t matmulDesc, size_t size,
                                cublasComputeType_t computeType, cudaDataType_t scaleType)
{
    lt_desc *d = (lt_desc *)matmulDesc;
    if (!d)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size < sizeof *d)
        return CUBLAS_STATUS_ALLOC_FAILED;
    memset(d, 0, sizeof *d);
    d->magic = LT_DESC_MAGIC;
    d->compute_type = computeType;
    d->scale_type = scaleType;
    d->pointer_mode = CUBLASLT_POINTER_MODE_HOST;
    d->transa = d->transb = d->transc = CUBLAS_OP_N;
    d->fill_mode = CUBLAS_FILL_MODE_FULL;
    d->epilogue = CUBLASLT_EPILOGUE_DEFAULT;
    d->aux_data_type = -1;
    d->bias_data_type = -1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescInit_internal(cublasLtMatmulDesc_t matmulDesc, size_t size,
                                               cublasComputeType_t computeType,
                                               cudaDataType_t scaleType)
{
    return desc_init(matmulDesc, size, computeType, scaleType);
}

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t *matmulDesc,
                                        cublasComputeType_t computeType,
                                        cudaDataType_t scaleType)
{
    cublasLtMatmulDesc_t d;
    if (!matmulDesc)
        return CUBLAS_STATUS_INVALID_VALUE;
    d = malloc(sizeof *d);
    if (!d)
        return CUBLAS_STATUS_ALLOC_FAILED;
    desc_init(d, sizeof *d, computeType, scaleType);
    *matmulDesc = d;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t matmulDesc)
{
    free(matmulDesc);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t matmulDesc,
                                              cublasLtMatmulDescAttributes_t attr,
                                              const void *buf, size_t sizeInBytes)
{
    return attr_set(matmulDesc, k_desc_attrs, COUNT(k_desc_attrs), attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulDescGetAttribute(cublasLtMatmulDesc_t matmulDesc,
                                              cublasLtMatmulDescAttributes_t attr, void *buf,
                                              size_t sizeInBytes, size_t *sizeWritten)
{
    return attr_get(matmulDesc, k_desc_attrs, COUNT(k_desc_attrs), attr, buf, sizeInBytes,
                    sizeWritten);
}

/* ------------------------------------------------------------- preference */

static cublasStatus_t pref_init(cublasLtMatmulPreference_t pref, size_t size)
{
    lt_pref *p = (lt_pref *)pref;
    if (!p)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (size < sizeof *p)
        return CUBLAS_STATUS_ALLOC_FAILED;
    memset(p, 0, sizeof *p);
    p->magic = LT_PREF_MAGIC;
    p->search_mode = CUBLASLT_SEARCH_BEST_FIT;
    p->reduction_scheme_mask = CUBLASLT_REDUCTION_SCHEME_MASK;
    p->min_alignment_a = p->min_alignment_b = p->min_alignment_c = p->min_alignment_d = 256;
    p->impl_mask = UINT64_MAX;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceInit_internal(cublasLtMatmulPreference_t pref, size_t size)
{
    return pref_init(pref, size);
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t *pref)
{
    cublasLtMatmulPreference_t p;
    if (!pref)
        return CUBLAS_STATUS_INVALID_VALUE;
    p = malloc(sizeof *p);
    if (!p)
        return CUBLAS_STATUS_ALLOC_FAILED;
    pref_init(p, sizeof *p);
    *pref = p;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref)
{
    free(pref);
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void *buf, size_t sizeInBytes)
{
    return attr_set(pref, k_pref_attrs, COUNT(k_pref_attrs), attr, buf, sizeInBytes);
}

cublasStatus_t cublasLtMatmulPreferenceGetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    void *buf, size_t sizeInBytes,
                                                    size_t *sizeWritten)
{
    return attr_get(pref, k_pref_attrs, COUNT(k_pref_attrs), attr, buf, sizeInBytes,
                    sizeWritten);
}

/* ------------------------------------------------------- problem validation */

/* A matmul problem read from its descriptors: op(A) is m x k, op(B) k x n, D m x n. */
typedef struct lt_problem {
    const lt_desc *desc;
    const lt_layout *a, *b, *c, *d;
    int64_t m, n, k, batch;
} lt_problem;

static int valid_op(int32_t op)
{
    return op == CUBLAS_OP_N || op == CUBLAS_OP_T || op == CUBLAS_OP_C;
}

/* The leading dimension must keep rows (COL) or columns (ROW) apart. */
static int valid_ld(const lt_layout *l)
{
    if (l->order == CUBLASLT_ORDER_ROW)
        return l->ld >= 1 && (uint64_t)l->ld >= l->cols;
    if (l->order == CUBLASLT_ORDER_COL)
        return l->ld >= 1 && (uint64_t)l->ld >= l->rows;
    return l->ld >= 0; /* tiled IMMA orders: ld is in tiles, not checked here */
}

static int valid_layout(const lt_layout *l)
{
    return l && l->magic == LT_LAYOUT_MAGIC && sim_dtype_bits((cudaDataType)l->type) != 0 &&
           l->rows <= INT64_MAX && l->cols <= INT64_MAX && valid_ld(l) && l->batch_count >= 1 &&
           l->order >= CUBLASLT_ORDER_COL && l->order <= CUBLASLT_ORDER_COL32_2R_4R4;
}

static int epilogue_known(uint32_t e)
{
    switch (e) {
    case CUBLASLT_EPILOGUE_DEFAULT: case CUBLASLT_EPILOGUE_RELU: case CUBLASLT_EPILOGUE_RELU_AUX:
    case CUBLASLT_EPILOGUE_BIAS: case CUBLASLT_EPILOGUE_RELU_BIAS:
    case CUBLASLT_EPILOGUE_RELU_AUX_BIAS: case CUBLASLT_EPILOGUE_DRELU:
    case CUBLASLT_EPILOGUE_DRELU_BGRAD: case CUBLASLT_EPILOGUE_GELU: case CUBLASLT_EPILOGUE_GELU_AUX:
    case CUBLASLT_EPILOGUE_GELU_BIAS: case CUBLASLT_EPILOGUE_GELU_AUX_BIAS:
    case CUBLASLT_EPILOGUE_DGELU: case CUBLASLT_EPILOGUE_DGELU_BGRAD:
    case CUBLASLT_EPILOGUE_BGRADA: case CUBLASLT_EPILOGUE_BGRADB:
        return 1;
    }
    return 0;
}

/* Forward epilogues: what the CPU math implements. */
static int epilogue_forward(uint32_t e)
{
    return e == CUBLASLT_EPILOGUE_DEFAULT || !(e & ~(uint32_t)(CUBLASLT_EPILOGUE_RELU_AUX_BIAS |
                                                               CUBLASLT_EPILOGUE_GELU_AUX_BIAS));
}

static int epilogue_has(uint32_t e, uint32_t part)
{
    return e != CUBLASLT_EPILOGUE_DEFAULT && (e & part) == part;
}

static cublasStatus_t check_epilogue(const lt_desc *d, int64_t m)
{
    uint32_t e = d->epilogue;
    if (!epilogue_known(e))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (epilogue_forward(e) && epilogue_has(e, CUBLASLT_EPILOGUE_BIAS) && !d->bias)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (epilogue_forward(e) && (e & 128u)) { /* AUX: the aux buffer and its ld */
        int64_t multiple = (e & CUBLASLT_EPILOGUE_RELU) ? 128 : 8;
        if (!d->aux || d->aux_ld < m || d->aux_ld % multiple != 0)
            return CUBLAS_STATUS_INVALID_VALUE;
    }
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t check_types(const lt_desc *d)
{
    int want = sim_scale_type((cublasComputeType_t)d->compute_type,
                              sim_dtype_is_complex((cudaDataType)d->scale_type));
    if (want < 0)
        return CUBLAS_STATUS_INVALID_VALUE;
    if (d->scale_type != want && !(want == CUDA_R_32I && d->scale_type == CUDA_R_32F))
        return CUBLAS_STATUS_NOT_SUPPORTED;
    if (d->pointer_mode < CUBLASLT_POINTER_MODE_HOST ||
        d->pointer_mode > CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_HOST)
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

/* Shapes: op(A) rows = D rows, op(B) cols = D cols, op(A) cols = op(B) rows, C = D. */
static cublasStatus_t check_shapes(lt_problem *p)
{
    const lt_desc *d = p->desc;
    if (!valid_op(d->transa) || !valid_op(d->transb) || d->transc != CUBLAS_OP_N)
        return CUBLAS_STATUS_INVALID_VALUE;
    p->m = (int64_t)p->d->rows;
    p->n = (int64_t)p->d->cols;
    p->k = (int64_t)(d->transa == CUBLAS_OP_N ? p->a->cols : p->a->rows);
    uint64_t a_rows = d->transa == CUBLAS_OP_N ? p->a->rows : p->a->cols;
    uint64_t b_rows = d->transb == CUBLAS_OP_N ? p->b->rows : p->b->cols;
    uint64_t b_cols = d->transb == CUBLAS_OP_N ? p->b->cols : p->b->rows;
    if (a_rows != p->d->rows || b_cols != p->d->cols || b_rows != (uint64_t)p->k ||
        p->c->rows != p->d->rows || p->c->cols != p->d->cols)
        return CUBLAS_STATUS_INVALID_VALUE;
    p->batch = p->d->batch_count;
    if (p->a->batch_count != p->batch || p->b->batch_count != p->batch ||
        p->c->batch_count != p->batch)
        return CUBLAS_STATUS_INVALID_VALUE;
    return CUBLAS_STATUS_SUCCESS;
}

static cublasStatus_t check_problem(cublasLtHandle_t h, cublasLtMatmulDesc_t desc,
                                    cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                    cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                    lt_problem *p)
{
    cublasStatus_t s;
    if (!h || h->magic != LT_HANDLE_MAGIC)
        return CUBLAS_STATUS_NOT_INITIALIZED;
    p->desc = (const lt_desc *)desc;
    p->a = (const lt_layout *)a;
    p->b = (const lt_layout *)b;
    p->c = (const lt_layout *)c;
    p->d = (const lt_layout *)d;
    if (!p->desc || p->desc->magic != LT_DESC_MAGIC || !valid_layout(p->a) ||
        !valid_layout(p->b) || !valid_layout(p->c) || !valid_layout(p->d))
        return CUBLAS_STATUS_INVALID_VALUE;
    if ((s = check_types(p->desc)) != CUBLAS_STATUS_SUCCESS)
        return s;
    if ((s = check_shapes(p)) != CUBLAS_STATUS_SUCCESS)
        return s;
    return check_epilogue(p->desc, p->m);
}

/* -------------------------------------------------------------------- cost */

static uint64_t layout_bytes(const lt_layout *l)
{
    return sim_dtype_bytes((cudaDataType)l->type,
                           sim_mul(sim_mul(l->rows, l->cols), (uint64_t)l->batch_count));
}

static cudaDataType bias_type(const lt_problem *p)
{
    return p->desc->bias_data_type >= 0 ? (cudaDataType)p->desc->bias_data_type
                                        : (cudaDataType)p->d->type;
}

/* 2mnk FLOPs per product plus one FLOP per output element for each epilogue stage
 * (bias, activation); bytes of A, B, D, of C when it is another buffer, and of bias. */
static void problem_cost(const lt_problem *p, const void *c_ptr, const void *d_ptr,
                         uint64_t *flops, uint64_t *bytes)
{
    uint32_t e = p->desc->epilogue;
    uint64_t outputs = sim_mul(sim_mul((uint64_t)p->m, (uint64_t)p->n), (uint64_t)p->batch);
    uint64_t stages = 0;
    *flops = sim_mul(2, sim_mul(outputs, (uint64_t)p->k));
    *bytes = sim_add(sim_add(layout_bytes(p->a), layout_bytes(p->b)), layout_bytes(p->d));
    if (c_ptr && c_ptr != d_ptr)
        *bytes = sim_add(*bytes, layout_bytes(p->c));
    if (epilogue_has(e, CUBLASLT_EPILOGUE_BIAS)) {
        stages++;
        *bytes = sim_add(*bytes, sim_dtype_bytes(bias_type(p), (uint64_t)p->m));
    }
    if (epilogue_has(e, CUBLASLT_EPILOGUE_RELU) || epilogue_has(e, CUBLASLT_EPILOGUE_GELU))
        stages++;
    *flops = sim_add(*flops, sim_mul(stages, outputs));
}

/* -------------------------------------------------------------- CPU math */

/* Operand of layout l at batch b, as op(X) (rows and columns swapped by T and C). */
static sim_mat layout_mat(const lt_layout *l, const void *ptr, int64_t b, int32_t op)
{
    int row_major = l->order == CUBLASLT_ORDER_ROW;
    int64_t elem_bytes = sim_dtype_bits((cudaDataType)l->type) / 8;
    sim_mat m = {(const char *)ptr + b * l->batch_stride * elem_bytes, (cudaDataType)l->type,
                 row_major ? l->ld : 1, row_major ? 1 : l->ld, 0};
    if (op != CUBLAS_OP_N) {
        int64_t t = m.rs;
        m.rs = m.cs;
        m.cs = t;
        m.conj = op == CUBLAS_OP_C && sim_dtype_is_complex(m.t);
    }
    return m;
}

static int problem_has_math(const lt_problem *p, const void *A, const void *B, const void *C,
                            const void *D)
{
    const lt_layout *ls[4] = {p->a, p->b, p->c, p->d};
    for (int i = 0; i < 4; i++)
        if (!sim_dtype_has_math((cudaDataType)ls[i]->type) ||
            (ls[i]->order != CUBLASLT_ORDER_COL && ls[i]->order != CUBLASLT_ORDER_ROW))
            return 0;
    if (epilogue_has(p->desc->epilogue, CUBLASLT_EPILOGUE_BIAS) &&
        !sim_dtype_has_math(bias_type(p)))
        return 0;
    (void)C; /* may be NULL: then beta is taken as 0 */
    return sim_dtype_has_math((cudaDataType)p->desc->scale_type) &&
           epilogue_forward(p->desc->epilogue) && A && B && D;
}

/* alpha and beta for row i of batch b, by pointer mode. */
static void scales(const lt_problem *p, const void *alpha, const void *beta, int64_t i, int64_t b,
                   sim_cplx *al, sim_cplx *be)
{
    cudaDataType t = (cudaDataType)p->desc->scale_type;
    int32_t mode = p->desc->pointer_mode;
    int vector_alpha = mode >= CUBLASLT_POINTER_MODE_DEVICE_VECTOR;
    sim_cplx zero = {0, 0};
    *al = sim_load(alpha, t, vector_alpha ? i + b * p->desc->alpha_vector_batch_stride : 0);
    if (mode == CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO)
        *be = zero;
    else
        *be = sim_load(beta, t, mode == CUBLASLT_POINTER_MODE_DEVICE_VECTOR ? i : 0);
}

static double gelu(double x)
{
    return 0.5 * x * (1.0 + tanh(0.7978845608028654 * (x + 0.044715 * x * x * x)));
}

/* Bias and activation of element (i, j) of batch b; records the AUX output. */
static sim_cplx apply_epilogue(const lt_problem *p, sim_cplx v, int64_t i, int64_t j, int64_t b)
{
    const lt_desc *d = p->desc;
    uint32_t e = d->epilogue;
    if (epilogue_has(e, CUBLASLT_EPILOGUE_BIAS))
        v = sim_cadd(v, sim_load(d->bias, bias_type(p), i + b * d->bias_batch_stride));
    if (e != CUBLASLT_EPILOGUE_DEFAULT && (e & 128u)) {
        int64_t at = i + j * d->aux_ld + b * d->aux_batch_stride;
        if (e & CUBLASLT_EPILOGUE_RELU) {
            uint8_t *mask = (uint8_t *)d->aux + at / 8;
            *mask = (uint8_t)(v.re > 0 ? *mask | (1u << (at % 8)) : *mask & ~(1u << (at % 8)));
        } else {
            cudaDataType t = d->aux_data_type >= 0 ? (cudaDataType)d->aux_data_type
                                                   : (cudaDataType)p->d->type;
            sim_store(d->aux, t, at, v);
        }
    }
    if (epilogue_has(e, CUBLASLT_EPILOGUE_RELU) && !(v.re > 0))
        v.re = 0;
    if (epilogue_has(e, CUBLASLT_EPILOGUE_GELU))
        v.re = gelu(v.re);
    return v;
}

static void compute(const lt_problem *p, const void *alpha, const void *A, const void *B,
                    const void *beta, const void *C, void *D)
{
    for (int64_t b = 0; b < p->batch; b++) {
        sim_mat ma = layout_mat(p->a, A, b, p->desc->transa);
        sim_mat mb = layout_mat(p->b, B, b, p->desc->transb);
        sim_mat mc = layout_mat(p->c, C ? C : D, b, CUBLAS_OP_N);
        sim_mat md = layout_mat(p->d, D, b, CUBLAS_OP_N);
        for (int64_t j = 0; j < p->n; j++) {
            for (int64_t i = 0; i < p->m; i++) {
                sim_cplx al, be;
                scales(p, alpha, beta, i, b, &al, &be);
                sim_cplx v = sim_cmul(al, sim_dot(&ma, &mb, i, j, p->k));
                if (C && !sim_cis_zero(be)) /* beta == 0: C is not read */
                    v = sim_cadd(v, sim_cmul(be, sim_mat_get(&mc, i, j)));
                sim_mat_set(&md, i, j, apply_epilogue(p, v, i, j, b));
            }
        }
    }
}

/* ------------------------------------------------------------------ matmul */

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t lightHandle,
                                              cublasLtMatmulDesc_t operationDesc,
                                              cublasLtMatrixLayout_t Adesc,
                                              cublasLtMatrixLayout_t Bdesc,
                                              cublasLtMatrixLayout_t Cdesc,
                                              cublasLtMatrixLayout_t Ddesc,
                                              cublasLtMatmulPreference_t preference,
                                              int requestedAlgoCount,
                                              cublasLtMatmulHeuristicResult_t heuristicResultsArray[],
                                              int *returnAlgoCount)
{
    lt_problem p;
    cublasStatus_t s = check_problem(lightHandle, operationDesc, Adesc, Bdesc, Cdesc, Ddesc, &p);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (!preference || requestedAlgoCount <= 0 || !heuristicResultsArray || !returnAlgoCount)
        return CUBLAS_STATUS_INVALID_VALUE;
    /* One algorithm, needing no workspace. */
    memset(&heuristicResultsArray[0], 0, sizeof heuristicResultsArray[0]);
    heuristicResultsArray[0].algo.data[0] = 1;
    heuristicResultsArray[0].workspaceSize = 0;
    heuristicResultsArray[0].state = CUBLAS_STATUS_SUCCESS;
    heuristicResultsArray[0].wavesCount = 1.0f;
    *returnAlgoCount = 1;
    return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc,
                              const void *alpha, const void *A, cublasLtMatrixLayout_t Adesc,
                              const void *B, cublasLtMatrixLayout_t Bdesc, const void *beta,
                              const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
                              cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo,
                              void *workspace, size_t workspaceSizeInBytes, cudaStream_t stream)
{
    lt_problem p;
    uint64_t flops, bytes;
    (void)algo;
    (void)workspace;
    (void)workspaceSizeInBytes;
    cublasStatus_t s = check_problem(lightHandle, computeDesc, Adesc, Bdesc, Cdesc, Ddesc, &p);
    if (s != CUBLAS_STATUS_SUCCESS)
        return s;
    if (!alpha || (!beta && p.desc->pointer_mode != CUBLASLT_POINTER_MODE_ALPHA_DEVICE_VECTOR_BETA_ZERO))
        return CUBLAS_STATUS_INVALID_VALUE;
    if (p.m == 0 || p.n == 0 || p.batch == 0)
        return CUBLAS_STATUS_SUCCESS; /* nothing to compute: no kernel */
    problem_cost(&p, C, D, &flops, &bytes);
    if (nnspy_sim_launch(stream, flops, bytes) != cudaSuccess)
        return CUBLAS_STATUS_EXECUTION_FAILED;
    if (nnspy_sim_math_enabled() && problem_has_math(&p, A, B, C, D))
        compute(&p, alpha, A, B, beta, C, D);
    return CUBLAS_STATUS_SUCCESS;
}
