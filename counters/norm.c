/*
 * norm.c: batch normalisation, softmax, LRN, op-tensor, scale, transform, dropout
 * and the backward passes of activation and pooling. Like every elementwise op
 * they add FLOPs and never MACs; the per-element counts are documented in
 * counters.h and the README's table.
 */
#include "counters.h"

#include <stddef.h>

uint64_t nn_bn_flops_per_element(nn_bn_phase phase)
{
    switch (phase) {
    case NN_BN_INFERENCE: return 4;
    case NN_BN_TRAINING: return 8;
    case NN_BN_BACKWARD: return 9;
    }
    return 0;
}

/* The Ex variants' fused residual and activation. Forward: z read and added
 * (1 FLOP), then the activation. Backward: the activation's gradient (its FLOPs
 * and a multiply, y read) and the residual's gradient dz written (a copy). */
static void bn_ex_terms(nn_cost *c, const nn_bn_shape *s, uint64_t *per_element)
{
    bool backward = s->phase == NN_BN_BACKWARD;
    if (s->residual) {
        if (backward)
            nn_cost_add_written(c, s->elements, s->y_dtype);
        else {
            *per_element += 1;
            nn_cost_add_read(c, s->elements, s->y_dtype);
        }
    }
    if (s->activation != NN_ACT_IDENTITY) {
        *per_element += nn_activation_flops_per_element(s->activation) + (backward ? 1 : 0);
        if (backward) nn_cost_add_read(c, s->elements, s->y_dtype);
    }
}

nn_cost nn_bn_cost(const nn_bn_shape *s)
{
    nn_cost c = {0};
    if (s == NULL) {
        c.unknown_dtype = true;
        return c;
    }
    uint64_t per_element = nn_bn_flops_per_element(s->phase);
    bn_ex_terms(&c, s, &per_element);
    nn_cost_add_flops(&c, s->elements, per_element);
    /* The backward pass reads dy as well as x: two tensors of x's size. */
    if (s->phase == NN_BN_BACKWARD) nn_cost_add_read(&c, s->elements, s->y_dtype);
    nn_cost_add_in_out(&c, s->elements, s->x_dtype, s->elements, s->y_dtype, s->accumulate);
    for (unsigned i = 0; i < s->channel_tensors_read + s->channel_tensors_updated; i++)
        nn_cost_add_read(&c, s->channels, s->param_dtype);
    for (unsigned i = 0; i < s->channel_tensors_written + s->channel_tensors_updated; i++)
        nn_cost_add_written(&c, s->channels, s->param_dtype);
    return c;
}

static uint64_t softmax_flops_per_element(nn_softmax_algo algo, bool backward)
{
    if (backward) return 4;
    return algo == NN_SOFTMAX_FAST ? 3 : 5;
}

nn_cost nn_softmax_cost(nn_softmax_algo algo, bool backward, uint64_t elements, nn_dtype dtype,
                        bool accumulate)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, elements, softmax_flops_per_element(algo, backward));
    if (backward) nn_cost_add_read(&c, elements, dtype); /* y and dy */
    nn_cost_add_in_out(&c, elements, dtype, elements, dtype, accumulate);
    return c;
}

nn_cost nn_lrn_cost(uint64_t window, uint64_t elements, nn_dtype dtype, bool accumulate)
{
    nn_cost c = {0};
    uint64_t per_element = 3, twice;
    if (!nn_mul_u64(window, 2, &twice) || !nn_add_u64(per_element, twice, &per_element))
        c.overflow = true;
    nn_cost_add_flops(&c, elements, per_element);
    nn_cost_add_in_out(&c, elements, dtype, elements, dtype, accumulate);
    return c;
}

nn_cost nn_op_tensor_cost(bool unary, uint64_t a_elements, nn_dtype a_dtype, uint64_t b_elements,
                          nn_dtype b_dtype, uint64_t c_elements, nn_dtype c_dtype,
                          bool accumulate)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, c_elements, 1);
    if (!unary) nn_cost_add_read(&c, b_elements, b_dtype);
    nn_cost_add_in_out(&c, a_elements, a_dtype, c_elements, c_dtype, accumulate);
    return c;
}

nn_cost nn_scale_tensor_cost(uint64_t elements, nn_dtype dtype)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, elements, 1);
    nn_cost_add_in_out(&c, elements, dtype, elements, dtype, false);
    return c;
}

nn_cost nn_transform_cost(uint64_t elements, nn_dtype x_dtype, nn_dtype y_dtype, bool accumulate)
{
    nn_cost c = {0};
    nn_cost_add_in_out(&c, elements, x_dtype, elements, y_dtype, accumulate);
    return c;
}

nn_cost nn_dropout_cost(bool backward, uint64_t elements, nn_dtype dtype, uint64_t reserve_bytes)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, elements, backward ? 1 : 2);
    nn_cost_add_in_out(&c, elements, dtype, elements, dtype, false);
    /* The mask: written by the forward pass, read by the backward one. */
    if (backward)
        nn_accumulate_u64(&c.bytes_read, reserve_bytes, &c.overflow);
    else
        nn_accumulate_u64(&c.bytes_written, reserve_bytes, &c.overflow);
    return c;
}

nn_cost nn_activation_backward_cost(nn_activation a, uint64_t elements, nn_dtype dtype,
                                    bool accumulate)
{
    nn_cost c = {0};
    nn_cost_add_flops(&c, elements, nn_activation_flops_per_element(a) + 1);
    nn_cost_add_read(&c, elements, dtype); /* y */
    nn_cost_add_read(&c, elements, dtype); /* dy */
    nn_cost_add_in_out(&c, elements, dtype, elements, dtype, accumulate); /* x -> dx */
    return c;
}

nn_cost nn_pool_backward_cost(nn_pool_mode mode, uint64_t window, uint64_t in_elements,
                              uint64_t out_elements, nn_dtype dtype, bool accumulate)
{
    /* The forward's FLOPs (per output element); y and dy read at the output's
     * size, x read and dx written at the input's. */
    nn_cost forward = nn_pool_cost(mode, window, 0, out_elements, dtype, false);
    nn_cost c = {.flops = forward.flops, .overflow = forward.overflow};
    nn_cost_add_read(&c, out_elements, dtype); /* y */
    nn_cost_add_read(&c, out_elements, dtype); /* dy */
    nn_cost_add_in_out(&c, in_elements, dtype, in_elements, dtype, accumulate); /* x -> dx */
    return c;
}
