/*
 * blas.c: the cuBLAS calls beyond GEMM that frameworks make: gemv (a linear layer
 * at batch 1), dot, and geam (matrix add and transpose). gemv and dot are
 * multiply-accumulate chains, counted in MACs as GEMM is; geam is elementwise.
 */
#include "counters.h"

#include <stddef.h>

nn_cost nn_gemv_cost(const nn_gemv_shape *s, bool accumulate)
{
    nn_cost c = {0};
    if (s == NULL) {
        c.unknown_dtype = true;
        return c;
    }
    const uint64_t f[4] = {s->rows, s->cols, s->batch, s->complex_math ? 4 : 1};
    c.macs = nn_product_u64(f, 4, &c.overflow);
    if (!nn_mul_u64(2, c.macs, &c.flops)) c.overflow = true;
    uint64_t x_len = s->transposed ? s->rows : s->cols, y_len = s->transposed ? s->cols : s->rows;
    const uint64_t a_dims[3] = {s->a_matrices, s->rows, s->cols};
    const uint64_t x_dims[2] = {s->batch, x_len}, y_dims[2] = {s->batch, y_len};
    nn_accumulate_u64(&c.bytes_read, nn_tensor_bytes(a_dims, 3, s->a_dtype, &c), &c.overflow);
    nn_accumulate_u64(&c.bytes_read, nn_tensor_bytes(x_dims, 2, s->x_dtype, &c), &c.overflow);
    if (accumulate)
        nn_accumulate_u64(&c.bytes_read, nn_tensor_bytes(y_dims, 2, s->y_dtype, &c), &c.overflow);
    c.bytes_written = nn_tensor_bytes(y_dims, 2, s->y_dtype, &c);
    return c;
}

nn_cost nn_dot_cost(uint64_t n, nn_dtype x_dtype, nn_dtype y_dtype, nn_dtype result_dtype,
                    bool complex_math)
{
    nn_cost c = {0};
    const uint64_t f[2] = {n, complex_math ? 4 : 1};
    c.macs = nn_product_u64(f, 2, &c.overflow);
    if (!nn_mul_u64(2, c.macs, &c.flops)) c.overflow = true;
    nn_cost_add_read(&c, n, x_dtype);
    nn_cost_add_read(&c, n, y_dtype);
    nn_cost_add_written(&c, 1, result_dtype);
    return c;
}

nn_cost nn_geam_cost(uint64_t rows, uint64_t cols, bool uses_b, nn_dtype dtype, bool complex_math)
{
    nn_cost c = {0};
    const uint64_t dims[2] = {rows, cols};
    uint64_t elements = nn_product_u64(dims, 2, &c.overflow);
    /* A complex add is two real adds. */
    if (uses_b) nn_cost_add_flops(&c, elements, complex_math ? 2 : 1);
    nn_cost_add_read(&c, elements, dtype); /* A */
    if (uses_b) nn_cost_add_read(&c, elements, dtype);
    nn_cost_add_written(&c, elements, dtype);
    return c;
}
