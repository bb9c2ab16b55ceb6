/*
 * rnn.c: cuDNN's recurrent networks as the GEMMs they run per gate (input and
 * recurrent products, an LSTM's projection) plus the gates' elementwise math.
 */
#include "counters.h"

#include <stddef.h>

uint64_t nn_rnn_gates(nn_rnn_cell cell)
{
    switch (cell) {
    case NN_RNN_RELU:
    case NN_RNN_TANH: return 1;
    case NN_RNN_LSTM: return 4;
    case NN_RNN_GRU: return 3;
    }
    return 0;
}

uint64_t nn_rnn_cell_flops(nn_rnn_cell cell)
{
    switch (cell) {
    case NN_RNN_RELU:
    case NN_RNN_TANH: return 2;
    case NN_RNN_LSTM: return 22;
    case NN_RNN_GRU: return 17;
    }
    return 0;
}

/* Features layer `layer` multiplies by its input weights. */
static uint64_t layer_inputs(const nn_rnn_shape *s, uint64_t layer, bool *overflow)
{
    if (layer > 0) {
        uint64_t v;
        *overflow |= !nn_mul_u64(s->directions, s->proj_size, &v);
        return v;
    }
    return s->skip_input ? 0 : s->input_size;
}

/* The products of one step of one direction of one layer: the matrix elements. */
static uint64_t step_macs(const nn_rnn_shape *s, uint64_t layer, bool *overflow)
{
    uint64_t gh, in_and_rec, macs, proj = 0;
    *overflow |= !nn_mul_u64(nn_rnn_gates(s->cell), s->hidden_size, &gh);
    *overflow |= !nn_add_u64(layer_inputs(s, layer, overflow), s->proj_size, &in_and_rec);
    *overflow |= !nn_mul_u64(gh, in_and_rec, &macs);
    if (s->proj_size != s->hidden_size)
        *overflow |= !nn_mul_u64(s->hidden_size, s->proj_size, &proj);
    *overflow |= !nn_add_u64(macs, proj, &macs);
    return macs;
}

/* Sum over layers of one direction's per-step products: every layer after the
 * first has the same inputs, so no loop over (possibly many) layers. */
static uint64_t macs_per_direction_step(const nn_rnn_shape *s, bool *overflow)
{
    if (s->layers == 0) return 0;
    uint64_t later;
    *overflow |= !nn_mul_u64(s->layers - 1, step_macs(s, 1, overflow), &later);
    uint64_t sum = step_macs(s, 0, overflow);
    nn_accumulate_u64(&sum, later, overflow);
    return sum;
}

uint64_t nn_rnn_params(const nn_rnn_shape *s, bool *overflow)
{
    bool o = false;
    uint64_t per_direction = macs_per_direction_step(s, &o), biases, params;
    o |= !nn_mul_u64(nn_rnn_gates(s->cell) * s->bias_vectors, s->hidden_size, &biases);
    const uint64_t f[2] = {s->layers, s->directions};
    o |= !nn_mul_u64(biases, nn_product_u64(f, 2, &o), &biases);
    o |= !nn_mul_u64(per_direction, s->directions, &params);
    o |= !nn_add_u64(params, biases, &params);
    if (overflow) *overflow |= o;
    return o ? 0 : params;
}

nn_cost nn_rnn_cost(const nn_rnn_shape *s, nn_rnn_pass pass)
{
    nn_cost c = {0};
    if (s == NULL) {
        c.unknown_dtype = true;
        return c;
    }
    const uint64_t m[3] = {macs_per_direction_step(s, &c.overflow), s->directions, s->steps};
    c.macs = nn_product_u64(m, 3, &c.overflow);
    if (!nn_mul_u64(2, c.macs, &c.flops)) c.overflow = true;
    if (pass != NN_RNN_BACKWARD_WEIGHTS) {
        uint64_t per_unit = nn_rnn_cell_flops(s->cell) + nn_rnn_gates(s->cell) * s->bias_vectors;
        const uint64_t e[4] = {s->steps, s->layers, s->directions, s->hidden_size};
        nn_cost_add_flops(&c, nn_product_u64(e, 4, &c.overflow), per_unit);
    }
    /* Sequences in and out, the weights, and the states (layers x directions x
     * batch x proj_size for h, x hidden_size for an LSTM's c). */
    const uint64_t st[3] = {s->layers, s->directions, s->batch};
    uint64_t states = nn_product_u64(st, 3, &c.overflow), h, cell = 0, x, y;
    h = nn_product_u64((const uint64_t[]){states, s->proj_size}, 2, &c.overflow);
    if (s->cell == NN_RNN_LSTM)
        cell = nn_product_u64((const uint64_t[]){states, s->hidden_size}, 2, &c.overflow);
    x = nn_product_u64((const uint64_t[]){s->steps, s->input_size}, 2, &c.overflow);
    y = nn_product_u64((const uint64_t[]){s->steps, s->directions, s->proj_size}, 3, &c.overflow);
    uint64_t weights = nn_rnn_params(s, &c.overflow), hc = h;
    nn_accumulate_u64(&hc, cell, &c.overflow);
    switch (pass) {
    case NN_RNN_FORWARD: /* x, w, hx, cx -> y, hy, cy */
        nn_cost_add_read(&c, x, s->dtype);
        nn_cost_add_read(&c, weights, s->dtype);
        nn_cost_add_read(&c, hc, s->dtype);
        nn_cost_add_written(&c, y, s->dtype);
        nn_cost_add_written(&c, hc, s->dtype);
        break;
    case NN_RNN_BACKWARD_DATA: /* y, dy, w, hx, cx, dhy, dcy -> dx, dhx, dcx */
        nn_cost_add_read(&c, y, s->dtype);
        nn_cost_add_read(&c, y, s->dtype);
        nn_cost_add_read(&c, weights, s->dtype);
        nn_cost_add_read(&c, hc, s->dtype);
        nn_cost_add_read(&c, hc, s->dtype);
        nn_cost_add_written(&c, x, s->dtype);
        nn_cost_add_written(&c, hc, s->dtype);
        break;
    case NN_RNN_BACKWARD_WEIGHTS: /* x, hx, y -> dw */
        nn_cost_add_read(&c, x, s->dtype);
        nn_cost_add_read(&c, h, s->dtype);
        nn_cost_add_read(&c, y, s->dtype);
        nn_cost_add_written(&c, weights, s->dtype);
        break;
    }
    return c;
}
