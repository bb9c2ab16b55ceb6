/*
 * elementwise.c: activations, tensor addition, pooling and fused epilogues.
 * Elementwise work adds FLOPs (a transcendental counts as 1) and never MACs: there
 * is no multiply-accumulate chain, and counting one would inflate the MAC column
 * that published tables compare against.
 */
#include "counters.h"

#include <stddef.h>

typedef struct activation_info {
    uint64_t flops; /* per element; the breakdown is in counters.h */
    const char *name;
} activation_info;

static const activation_info ACTIVATIONS[NN_ACT_COUNT_] = {
    [NN_ACT_IDENTITY] = {0, "identity"},
    [NN_ACT_RELU] = {1, "relu"},
    [NN_ACT_CLIPPED_RELU] = {2, "clipped_relu"},
    [NN_ACT_SIGMOID] = {4, "sigmoid"},
    [NN_ACT_TANH] = {1, "tanh"},
    [NN_ACT_ELU] = {3, "elu"},
    [NN_ACT_SWISH] = {6, "swish"},
    [NN_ACT_GELU] = {5, "gelu"},
    [NN_ACT_GELU_TANH] = {9, "gelu_tanh"},
};

uint64_t nn_activation_flops_per_element(nn_activation a)
{
    unsigned i = (unsigned)a;
    return i < NN_ACT_COUNT_ ? ACTIVATIONS[i].flops : 0;
}

const char *nn_activation_name(nn_activation a)
{
    unsigned i = (unsigned)a;
    return i < NN_ACT_COUNT_ ? ACTIVATIONS[i].name : "unknown";
}

void nn_cost_add_flops(nn_cost *c, uint64_t elements, uint64_t per_element)
{
    const uint64_t f[2] = {elements, per_element};
    uint64_t flops = nn_product_u64(f, 2, &c->overflow);
    nn_accumulate_u64(&c->flops, flops, &c->overflow);
}

void nn_cost_add_read(nn_cost *c, uint64_t elements, nn_dtype t)
{
    nn_accumulate_u64(&c->bytes_read, nn_tensor_bytes(&elements, 1, t, c), &c->overflow);
}

void nn_cost_add_written(nn_cost *c, uint64_t elements, nn_dtype t)
{
    nn_accumulate_u64(&c->bytes_written, nn_tensor_bytes(&elements, 1, t, c),
                      &c->overflow);
}

void nn_cost_add_in_out(nn_cost *c, uint64_t in_elements, nn_dtype in_dtype,
                       uint64_t out_elements, nn_dtype out_dtype, bool accumulate)
{
    nn_cost_add_read(c, in_elements, in_dtype);
    if (accumulate)
        nn_cost_add_read(c, out_elements, out_dtype);
    nn_cost_add_written(c, out_elements, out_dtype);
}

nn_cost nn_activation_cost(nn_activation a, uint64_t elements, nn_dtype x_dtype,
                           nn_dtype y_dtype, bool accumulate)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, elements, nn_activation_flops_per_element(a));
    nn_cost_add_in_out(&c, elements, x_dtype, elements, y_dtype, accumulate);
    return c;
}

nn_cost nn_add_tensor_cost(uint64_t a_elements, nn_dtype a_dtype, uint64_t c_elements,
                           nn_dtype c_dtype, bool accumulate)
{
    nn_cost c = {0};
    /* One add per element of C; a broadcast A is still read only once. */
    nn_cost_add_flops(&c, c_elements, 1);
    nn_cost_add_in_out(&c, a_elements, a_dtype, c_elements, c_dtype, accumulate);
    return c;
}

/* Max: window - 1 comparisons; average: window - 1 adds and one divide. */
static uint64_t pool_flops_per_output(nn_pool_mode mode, uint64_t window)
{
    if (window == 0)
        return 0; /* degenerate window: no work rather than a wrapped count */
    return mode == NN_POOL_AVERAGE ? window : window - 1;
}

nn_cost nn_pool_cost(nn_pool_mode mode, uint64_t window, uint64_t in_elements,
                     uint64_t out_elements, nn_dtype dtype, bool accumulate)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, out_elements, pool_flops_per_output(mode, window));
    nn_cost_add_in_out(&c, in_elements, dtype, out_elements, dtype, accumulate);
    return c;
}

void nn_epilogue_add_cost(nn_cost *cost, const nn_epilogue *e, uint64_t out_elements)
{
    if (cost == NULL || e == NULL)
        return;
    /* Fused: the main output stays in registers, so only the extra operands are
     * read and only an auxiliary output is written. */
    nn_cost c = {0};
    if (e->bias) {
        nn_cost_add_flops(&c, out_elements, 1);
        nn_cost_add_read(&c, e->bias_elements, e->bias_dtype);
    }
    if (e->residual) { /* alpha2 x z + acc: a multiply and an add */
        nn_cost_add_flops(&c, out_elements, 2);
        nn_cost_add_read(&c, out_elements, e->residual_dtype);
    }
    nn_cost_add_flops(&c, out_elements, nn_activation_flops_per_element(e->activation));
    if (e->aux_output)
        nn_cost_add_written(&c, out_elements, e->aux_dtype);
    nn_cost_add(cost, &c);
}
