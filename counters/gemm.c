/*
 * gemm.c: matrix-multiply cost. Transposes and leading dimensions change only the
 * layout, never the number of products or elements, so they are not inputs here.
 */
#include "counters.h"

#include <stddef.h>

/* Bytes of `matrices` distinct rows x cols matrices: a broadcast operand (batch
 * stride 0) is one matrix read once, however many products use it. */
static uint64_t matrices_bytes(uint64_t matrices, uint64_t rows, uint64_t cols,
                               nn_dtype t, nn_cost *c)
{
    const uint64_t dims[3] = {matrices, rows, cols};
    return nn_tensor_bytes(dims, 3, t, c);
}

nn_cost nn_gemm_cost(const nn_gemm_shape *s, bool accumulate)
{
    nn_cost c = {0};
    if (s == NULL) {
        c.unknown_dtype = true;
        return c;
    }
    /* One complex MAC = 4 real multiplies and 4 real adds = 4 real MACs. */
    const uint64_t f[5] = {s->m, s->n, s->k, s->batch, s->complex_math ? 4 : 1};
    c.macs = nn_product_u64(f, 5, &c.overflow);
    /* alpha and beta scaling are not counted, as in every published table. */
    if (!nn_mul_u64(2, c.macs, &c.flops))
        c.overflow = true;

    uint64_t a = matrices_bytes(s->a_matrices, s->m, s->k, s->a_dtype, &c);
    uint64_t b = matrices_bytes(s->b_matrices, s->k, s->n, s->b_dtype, &c);
    nn_accumulate_u64(&c.bytes_read, a, &c.overflow);
    nn_accumulate_u64(&c.bytes_read, b, &c.overflow);
    if (accumulate) { /* beta != 0: C is an input */
        uint64_t cb = matrices_bytes(s->c_matrices, s->m, s->n, s->c_dtype, &c);
        nn_accumulate_u64(&c.bytes_read, cb, &c.overflow);
    }
    c.bytes_written = matrices_bytes(s->d_matrices, s->m, s->n, s->d_dtype, &c);
    return c;
}
