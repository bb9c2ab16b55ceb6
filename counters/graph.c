/*
 * graph.c: the compute of cuDNN graph (backend API) operations that have no
 * legacy counterpart: pointwise nodes, reductions, normalisations and fused
 * attention. Conventions are in counters.h, next to each declaration.
 */
#include "counters.h"

uint64_t nn_pointwise_flops_per_element(nn_pointwise_kind kind, nn_activation act)
{
    switch (kind) {
    case NN_PW_FREE: return 0;
    case NN_PW_ONE: return 1;
    case NN_PW_ADD_SQUARE: return 2;
    case NN_PW_SOFTPLUS: return 3;
    case NN_PW_ACTIVATION: return nn_activation_flops_per_element(act);
    case NN_PW_ACTIVATION_BWD: return nn_activation_flops_per_element(act) + 1;
    }
    return 0;
}

/* a - b for a >= b, else 0 (a reduction never has more outputs than inputs). */
static uint64_t sub_floor(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

uint64_t nn_reduction_flops(nn_reduction_kind kind, uint64_t in_elements, uint64_t out_elements,
                            bool *overflow)
{
    uint64_t combine = sub_floor(in_elements, out_elements), flops = 0;
    switch (kind) {
    case NN_REDUCE_SUM: return combine;
    case NN_REDUCE_AVG: return in_elements; /* in - out adds, out divides */
    case NN_REDUCE_AMAX:
    case NN_REDUCE_NORM1: /* |x| per input, then the combining ops */
        flops = in_elements;
        nn_accumulate_u64(&flops, combine, overflow);
        return flops;
    case NN_REDUCE_NORM2: { /* x^2 per input, the adds, one sqrt per output */
        const uint64_t f[2] = {in_elements, 2};
        return nn_product_u64(f, 2, overflow);
    }
    }
    return 0;
}

static uint64_t norm_flops_per_element(nn_norm_kind kind, nn_norm_phase phase)
{
    bool rms = kind == NN_NORM_RMS;
    switch (phase) {
    case NN_NORM_APPLY: return nn_bn_flops_per_element(NN_BN_INFERENCE);
    case NN_NORM_FORWARD: return rms ? 4 : nn_bn_flops_per_element(NN_BN_TRAINING);
    case NN_NORM_BACKWARD: return rms ? 6 : nn_bn_flops_per_element(NN_BN_BACKWARD);
    }
    return 0;
}

uint64_t nn_norm_flops(nn_norm_kind kind, nn_norm_phase phase, uint64_t elements, bool *overflow)
{
    const uint64_t f[2] = {elements, norm_flops_per_element(kind, phase)};
    return nn_product_u64(f, 2, overflow);
}

/* S = b h s_q s_k, the number of attention scores. */
static uint64_t attention_scores(const nn_attention_shape *a, bool *overflow)
{
    const uint64_t f[4] = {a->b, a->h, a->s_q, a->s_k};
    return nn_product_u64(f, 4, overflow);
}

uint64_t nn_attention_macs(const nn_attention_shape *a, bool backward, bool *overflow)
{
    /* Forward: Q.K^T (d per score) and P.V (d_v per score). Backward: dQ, dK and
     * the recomputed Q.K^T (d each), dV and dP (d_v each). */
    uint64_t depth = 0;
    const uint64_t d_terms[2] = {a->d, backward ? 3 : 1};
    const uint64_t dv_terms[2] = {a->d_v, backward ? 2 : 1};
    nn_accumulate_u64(&depth, nn_product_u64(d_terms, 2, overflow), overflow);
    nn_accumulate_u64(&depth, nn_product_u64(dv_terms, 2, overflow), overflow);
    const uint64_t f[2] = {attention_scores(a, overflow), depth};
    return nn_product_u64(f, 2, overflow);
}

uint64_t nn_attention_softmax_flops(const nn_attention_shape *a, bool backward, bool *overflow)
{
    uint64_t scores = attention_scores(a, overflow);
    const uint64_t row_f[3] = {a->b, a->h, a->s_q};
    uint64_t rows = nn_product_u64(row_f, 3, overflow), flops = 0;
    if (!backward) {
        const uint64_t per_score[2] = {scores, 4};
        const uint64_t reductions[2] = {sub_floor(scores, rows), 2};
        nn_accumulate_u64(&flops, nn_product_u64(per_score, 2, overflow), overflow);
        nn_accumulate_u64(&flops, nn_product_u64(reductions, 2, overflow), overflow);
        return flops;
    }
    const uint64_t per_score[2] = {scores, 5};
    const uint64_t row_dots[3] = {rows, a->d_v, 2};
    nn_accumulate_u64(&flops, nn_product_u64(per_score, 2, overflow), overflow);
    nn_accumulate_u64(&flops, nn_product_u64(row_dots, 3, overflow), overflow);
    return flops;
}
