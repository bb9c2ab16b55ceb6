/*
 * cublaslt_read.h: a cublasLtMatmul call's descriptors turned into plain shapes,
 * through the library's own attribute getters (passed in, so that tests can use
 * the toolkit's real libcublasLt).
 */
#ifndef NNSPY_PRELOAD_CUBLASLT_READ_H
#define NNSPY_PRELOAD_CUBLASLT_READ_H

#include <stdbool.h>
#include <stdint.h>

#include <cublasLt.h>

#include "counters.h"

struct cublaslt_getters {
    cublasStatus_t (*desc)(cublasLtMatmulDesc_t, cublasLtMatmulDescAttributes_t, void *, size_t,
                           size_t *);
    cublasStatus_t (*layout)(cublasLtMatrixLayout_t, cublasLtMatrixLayoutAttribute_t, void *,
                             size_t, size_t *);
};

typedef struct nn_lt_matmul {
    bool trans_a, trans_b;
    nn_gemm_shape gemm;         /* m, n, k from D and op(A); batch from D */
    int64_t stride_a, stride_b; /* batch offsets in elements (0: broadcast) */
    nn_epilogue epilogue;       /* forward epilogues: bias, ReLU, GELU, aux output */
    bool epilogue_not_counted;  /* a backward epilogue (DRELU, DGELU, BGRAD*) */
    const void *bias;           /* the bias the epilogue reads, or NULL */
    bool beta_on_host;          /* beta is a host scalar nnspy can read */
    bool beta_zero;             /* the pointer mode says beta is zero */
    size_t scalar_size;         /* bytes of beta */
    int scalar_parts;           /* 2 when complex */
    bool scalar_float;
    uint64_t d_span_elements; /* D's extent, batches included */
} nn_lt_matmul;

/* False when a descriptor cannot be read or the shapes disagree. */
bool nn_read_lt_matmul(const struct cublaslt_getters *g, cublasLtMatmulDesc_t desc,
                       cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                       cublasLtMatrixLayout_t d, nn_lt_matmul *out);

#endif
