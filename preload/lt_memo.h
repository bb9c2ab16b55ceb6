/*
 * lt_memo.h: cublasLtMatmul's descriptors read once per distinct content, per thread.
 */
#ifndef NNSPY_PRELOAD_LT_MEMO_H
#define NNSPY_PRELOAD_LT_MEMO_H

#include "cublaslt_read.h"

/*
 * nn_read_lt_matmul, remembered: the same result as that function, without the
 * ~37 attribute getter calls when this thread read descriptors with the same bytes
 * before. Only for descriptors a real cublasLtMatmul accepted (their bytes are read).
 */
bool nn_read_lt_matmul_memo(const struct cublaslt_getters *g, cublasLtMatmulDesc_t desc,
                            cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                            cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d, nn_lt_matmul *out);

#endif
