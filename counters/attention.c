/*
 * attention.c: cuDNN's multi-head attention as its projections (GEMMs with the
 * weight buffer) plus the two batched products with no weights, Q K^T and P V,
 * and the softmax between them.
 */
#include "counters.h"

#include <stddef.h>

/* The dimension each head works in: the projection's, or the input's. */
static uint64_t head_dim(uint64_t proj, uint64_t input)
{
    return proj ? proj : input;
}

static uint64_t mul4(uint64_t a, uint64_t b, uint64_t c, uint64_t d, bool *overflow)
{
    const uint64_t f[4] = {a, b, c, d};
    return nn_product_u64(f, 4, overflow);
}

/* The projections' MACs: q, k, v and the output. */
static uint64_t projection_macs(const nn_attn_shape *s, bool *o)
{
    uint64_t head_v = head_dim(s->v_proj, s->v_size), sum = 0;
    nn_accumulate_u64(&sum, mul4(s->q_tokens, s->heads, s->q_size, s->q_proj, o), o);
    nn_accumulate_u64(&sum, mul4(s->k_tokens, s->heads, s->k_size, s->k_proj, o), o);
    nn_accumulate_u64(&sum, mul4(s->k_tokens, s->heads, s->v_size, s->v_proj, o), o);
    nn_accumulate_u64(&sum, mul4(s->q_tokens, s->heads, head_v, s->o_proj, o), o);
    return sum;
}

/* Q K^T and P V: scores x heads x (head_q + head_v). */
static uint64_t product_macs(const nn_attn_shape *s, bool *o)
{
    uint64_t dims = head_dim(s->q_proj, s->q_size) + head_dim(s->v_proj, s->v_size);
    return mul4(s->scores, s->heads, dims, 1, o);
}

/* Elements the projections' biases are added to (or, backward, summed over). */
static uint64_t bias_elements(const nn_attn_shape *s, bool *o)
{
    if (!s->proj_biases) return 0;
    uint64_t sum = 0;
    nn_accumulate_u64(&sum, mul4(s->q_tokens, s->heads, s->q_proj, 1, o), o);
    nn_accumulate_u64(&sum, mul4(s->k_tokens, s->heads, s->k_proj + s->v_proj, 1, o), o);
    nn_accumulate_u64(&sum, mul4(s->q_tokens, s->o_proj, 1, 1, o), o);
    return sum;
}

uint64_t nn_attn_params(const nn_attn_shape *s, bool *overflow)
{
    bool o = false;
    uint64_t head_v = head_dim(s->v_proj, s->v_size), sum = 0;
    nn_accumulate_u64(&sum, mul4(s->heads, s->q_proj, s->q_size, 1, &o), &o);
    nn_accumulate_u64(&sum, mul4(s->heads, s->k_proj, s->k_size, 1, &o), &o);
    nn_accumulate_u64(&sum, mul4(s->heads, s->v_proj, s->v_size, 1, &o), &o);
    nn_accumulate_u64(&sum, mul4(s->o_proj, s->heads, head_v, 1, &o), &o);
    if (s->proj_biases) {
        nn_accumulate_u64(&sum, mul4(s->heads, s->q_proj + s->k_proj + s->v_proj, 1, 1, &o), &o);
        nn_accumulate_u64(&sum, s->o_proj, &o);
    }
    if (overflow) *overflow |= o;
    return o ? 0 : sum;
}

nn_cost nn_attn_cost(const nn_attn_shape *s, nn_attn_pass pass)
{
    nn_cost c = {0};
    if (s == NULL) {
        c.unknown_dtype = true;
        return c;
    }
    bool *o = &c.overflow;
    uint64_t projections = projection_macs(s, o), products = product_macs(s, o);
    uint64_t score_elements = mul4(s->scores, s->heads, 1, 1, o);
    uint64_t out_size = s->o_proj ? s->o_proj : mul4(s->heads, head_dim(s->v_proj, s->v_size), 1, 1, o);
    uint64_t q = mul4(s->q_tokens, s->q_size, 1, 1, o), k = mul4(s->k_tokens, s->k_size, 1, 1, o);
    uint64_t v = mul4(s->k_tokens, s->v_size, 1, 1, o), out = mul4(s->q_tokens, out_size, 1, 1, o);
    uint64_t weights = nn_attn_params(s, o);
    c.macs = projections;
    if (pass == NN_ATTN_FORWARD) nn_accumulate_u64(&c.macs, products, o);
    if (pass == NN_ATTN_BACKWARD_DATA) nn_accumulate_u64(&c.macs, mul4(products, 2, 1, 1, o), o);
    if (!nn_mul_u64(2, c.macs, &c.flops)) *o = true;
    if (pass == NN_ATTN_FORWARD) {
        nn_cost_add_flops(&c, score_elements, 5);
        nn_cost_add_flops(&c, bias_elements(s, o), 1);
        if (s->residual) nn_cost_add_flops(&c, out, 1);
    } else if (pass == NN_ATTN_BACKWARD_DATA) {
        nn_cost_add_flops(&c, score_elements, 4);
    } else {
        nn_cost_add_flops(&c, bias_elements(s, o), 1);
    }
    nn_cost_add_read(&c, q, s->dtype);
    nn_cost_add_read(&c, k, s->dtype);
    nn_cost_add_read(&c, v, s->dtype);
    nn_cost_add_read(&c, weights, s->dtype);
    switch (pass) {
    case NN_ATTN_FORWARD: /* Q, K, V, weights (, residuals) -> out */
        if (s->residual) nn_cost_add_read(&c, out, s->dtype);
        nn_cost_add_written(&c, out, s->dtype);
        break;
    case NN_ATTN_BACKWARD_DATA: /* dout, Q, K, V, weights -> dQ, dK, dV */
        nn_cost_add_read(&c, out, s->dtype);
        nn_cost_add_written(&c, q, s->dtype);
        nn_cost_add_written(&c, k, s->dtype);
        nn_cost_add_written(&c, v, s->dtype);
        break;
    case NN_ATTN_BACKWARD_WEIGHTS: /* Q, K, V, dout, weights -> dweights */
        nn_cost_add_read(&c, out, s->dtype);
        nn_cost_add_written(&c, weights, s->dtype);
        break;
    }
    return c;
}
