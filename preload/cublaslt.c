/*
 * cublaslt.c: cublasLtMatmul, the GEMM behind PyTorch's linear layers on recent
 * GPUs: shapes from the matrix layouts, transposes and the epilogue (bias, ReLU,
 * GELU) from the matmul descriptor.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdio.h>

#include <cublasLt.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cublaslt_read.h"
#include "lt_memo.h"
#include "timing.h"
#include "cuda_types.h"

/* Each copy of cuBLASLt reads its descriptors with its own getters. */
static struct cublaslt_getters getters_per_copy[NN_COPIES];
static int getters_ready[NN_COPIES];
static pthread_mutex_t getters_lock = PTHREAD_MUTEX_INITIALIZER;

__attribute__((constructor)) static void protect_getters_lock(void)
{
    nn_fork_protect(&getters_lock, NULL);
}

static const struct cublaslt_getters *getters(const nn_copy *copy)
{
    int i = copy->index;
    if (!__atomic_load_n(&getters_ready[i], __ATOMIC_ACQUIRE)) {
        /* Resolved outside the lock (the lookups take the loader's lock). */
        struct cublaslt_getters g = {
            .desc = (__typeof__(g.desc))nn_copy_lookup(copy, "cublasLtMatmulDescGetAttribute"),
            .layout =
                (__typeof__(g.layout))nn_copy_lookup(copy, "cublasLtMatrixLayoutGetAttribute"),
        };
        if (!g.desc || !g.layout)
            nn_warn_once("cuBLASLt's attribute getters are missing: "
                         "cublasLtMatmul is counted without cost");
        pthread_mutex_lock(&getters_lock);
        if (!getters_ready[i]) getters_per_copy[i] = g;
        __atomic_store_n(&getters_ready[i], 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&getters_lock);
    }
    return &getters_per_copy[i];
}

/* The same weight rule as cuBLAS GEMMs, and the epilogue's bias. */
static void lt_params(nn_op *op, const nn_lt_matmul *mm, const void *A, const void *B)
{
    const nn_gemm_shape *s = &mm->gemm;
    nn_op_add_gemm_operand(op, A, s->m, s->k, s->a_dtype, s->batch, mm->stride_a);
    nn_op_add_gemm_operand(op, B, s->k, s->n, s->b_dtype, s->batch, mm->stride_b);
    nn_op_add_param(op, mm->bias, mm->epilogue.bias_elements, mm->epilogue.bias_dtype,
                    NN_PARAM_UNLESS_ACTIVATION);
}

static void describe_lt(nn_op *op, const nn_lt_matmul *mm)
{
    if (!nn_listing_open()) return;
    const nn_gemm_shape *s = &mm->gemm;
    size_t pos = nn_shape_gemm(op->shape, sizeof op->shape, s->batch, mm->trans_a, mm->trans_b,
                               s->m, s->n, s->k);
    if (mm->epilogue.bias) nn_shape_append_text(op->shape, sizeof op->shape, &pos, " +bias");
    if (mm->epilogue.activation != NN_ACT_IDENTITY) {
        nn_shape_append_text(op->shape, sizeof op->shape, &pos, " ");
        nn_shape_append_text(op->shape, sizeof op->shape, &pos,
                             nn_activation_name(mm->epilogue.activation));
    }
}

static void record_matmul(const nn_copy *copy, nn_timing_mark *tm, void *stream, size_t workspace, cublasStatus_t st, cublasLtMatmulDesc_t desc,
                          const void *beta, const void *A, cublasLtMatrixLayout_t Adesc,
                          const void *B, cublasLtMatrixLayout_t Bdesc, cublasLtMatrixLayout_t Cdesc,
                          void *D, cublasLtMatrixLayout_t Ddesc)
{
    int saved = errno;
    nn_op op = {.api = NN_API_CUBLASLT, .workspace_bytes = workspace,
                .call = "cublasLtMatmul",
                .op = "gemm",
                .succeeded = st == CUBLAS_STATUS_SUCCESS};
    nn_lt_matmul mm;
    if (op.succeeded && nn_read_lt_matmul_memo(getters(copy), desc, Adesc, Bdesc, Cdesc, Ddesc, &mm)) {
        /* A beta in device memory is never read: taken as non-zero. */
        bool accumulate =
            !mm.beta_zero &&
            (!mm.beta_on_host ||
             !nn_host_scalar_is_zero(beta, mm.scalar_size, mm.scalar_parts, mm.scalar_float));
        op.cost = nn_gemm_cost(&mm.gemm, accumulate);
        uint64_t out_elements = 0, per_product = 0;
        op.cost.overflow |= !nn_mul_u64(mm.gemm.m, mm.gemm.n, &per_product) ||
                            !nn_mul_u64(per_product, mm.gemm.batch, &out_elements);
        nn_epilogue_add_cost(&op.cost, &mm.epilogue, out_elements);
        op.cost_known = !mm.epilogue_not_counted;
        op.dtype = mm.gemm.a_dtype;
        lt_params(&op, &mm, A, B);
        describe_lt(&op, &mm);
        bool overflow = false;
        op.output = D;
        op.output_bytes = nn_bytes_of(mm.d_span_elements, mm.gemm.d_dtype, &overflow);
        if (mm.epilogue_not_counted)
            nn_warn_once("cublasLtMatmul with a backward epilogue (DRELU, DGELU, BGRAD): "
                         "its cost is not counted yet");
    }
    nn_timing_finish(tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
    errno = saved;
}

NN_WRAP(NN_FAMILY_CUBLASLT, cublasStatus_t, cublasLtMatmul,
        (cublasLtHandle_t lightHandle, cublasLtMatmulDesc_t computeDesc, const void *alpha,
         const void *A, cublasLtMatrixLayout_t Adesc, const void *B, cublasLtMatrixLayout_t Bdesc,
         const void *beta, const void *C, cublasLtMatrixLayout_t Cdesc, void *D,
         cublasLtMatrixLayout_t Ddesc, const cublasLtMatmulAlgo_t *algo, void *workspace,
         size_t workspaceSizeInBytes, cudaStream_t stream),
        (lightHandle, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D, Ddesc, algo,
         workspace, workspaceSizeInBytes, stream))
{
    NN_REAL_OR_RETURN(cublasLtMatmul, CUBLAS_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    if (outer) nn_timing_start(&tm, stream);
    cublasStatus_t st = real(lightHandle, computeDesc, alpha, A, Adesc, B, Bdesc, beta, C, Cdesc, D,
                             Ddesc, algo, workspace, workspaceSizeInBytes, stream);
    if (outer) record_matmul(copy, &tm, stream, workspaceSizeInBytes, st, computeDesc, beta, A, Adesc, B, Bdesc, Cdesc, D, Ddesc);
    nn_leave();
    return st;
}
