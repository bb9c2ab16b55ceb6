/*
 * cudnn_graph_cost.c: the cost of a cuDNN operation graph, from the snapshots of
 * its operations: each operation's compute from counters/, its memory traffic from
 * the non-virtual tensors it reads and writes, its parameters by unique id (bound to
 * addresses at each execution, from the variant pack).
 *
 * Runs under the shadow lock, when an operation graph is finalized: once per
 * graph, however often its plans are executed.
 */
#include <stdio.h>
#include <string.h>

#include "cudnn_graph_shadow.h"
#include "cudnn_read.h"

/* ------------------------------------------------------------ tensors */

static uint64_t elements_of(const nn_graph_tensor *t, bool *overflow)
{
    uint64_t dims[NN_GRAPH_MAX_DIMS];
    if (!t->present || t->nb <= 0) return 0;
    for (int i = 0; i < t->nb; i++) dims[i] = t->dims[i] > 0 ? (uint64_t)t->dims[i] : 0;
    return nn_product_u64(dims, (unsigned)t->nb, overflow);
}

/* Whether every dimension is positive (the library refuses others; nnspy does not
 * count them either). */
static bool dims_positive(const nn_graph_tensor *t)
{
    if (!t->present || t->nb <= 0) return false;
    for (int i = 0; i < t->nb; i++)
        if (t->dims[i] <= 0) return false;
    return true;
}

/* Whether the tensor lives in device memory (virtual ones stay on chip, by-value
 * ones are host scalars). */
static bool in_memory(const nn_graph_tensor *t)
{
    return t->present && !t->is_virtual && !t->by_value;
}

static uint64_t memory_bytes(const nn_graph_tensor *t, nn_cost *c)
{
    if (!in_memory(t)) return 0;
    uint64_t n = elements_of(t, &c->overflow);
    return nn_tensor_bytes(&n, 1, t->dtype, c);
}

static void reads(nn_cost *c, const nn_graph_tensor *t)
{
    nn_accumulate_u64(&c->bytes_read, memory_bytes(t, c), &c->overflow);
}

static void writes(nn_cost *c, const nn_graph_tensor *t)
{
    nn_accumulate_u64(&c->bytes_written, memory_bytes(t, c), &c->overflow);
}

static void add_flops(nn_cost *c, uint64_t elements, uint64_t per_element)
{
    const uint64_t f[2] = {elements, per_element};
    nn_accumulate_u64(&c->flops, nn_product_u64(f, 2, &c->overflow), &c->overflow);
}

/* ------------------------------------------------------------ what a node adds */

typedef struct node_cost {
    nn_cost cost;
    bool counted;
    const char *name;
    int rank; /* what names a graph: 2 a convolution, matmul or attention, 1 a
                 normalisation, 0 the rest */
    nn_dtype dtype;
    char shape[NN_SHAPE_LEN];
} node_cost;

static void note_param(nn_graph_cost *g, const nn_graph_tensor *t, nn_param_rule rule, bool buffer)
{
    if (!in_memory(t)) return;
    if (g->n_params >= NN_GRAPH_MAX_PARAMS) {
        g->params_incomplete = true;
        return;
    }
    bool overflow = false;
    g->params[g->n_params++] =
        (nn_graph_param){t->uid, elements_of(t, &overflow), t->dtype, rule, buffer};
}

static void note_output(nn_graph_cost *g, const nn_graph_tensor *t)
{
    if (!in_memory(t) || g->n_outputs >= NN_GRAPH_MAX_OUTPUTS) return;
    nn_cost scratch = {0};
    g->outputs[g->n_outputs++] = (nn_graph_output){t->uid, memory_bytes(t, &scratch)};
}

static void shape_of(char *buf, size_t len, size_t *pos, const nn_graph_tensor *t)
{
    uint64_t dims[NN_GRAPH_MAX_DIMS];
    for (int i = 0; i < t->nb; i++) dims[i] = (uint64_t)t->dims[i];
    nn_shape_append(buf, len, pos, dims, t->nb);
}

static void describe(node_cost *nc, const nn_graph_tensor *a, const char *mid,
                     const nn_graph_tensor *b, const nn_graph_tensor *out)
{
    size_t pos = 0;
    shape_of(nc->shape, sizeof nc->shape, &pos, a);
    if (b) {
        nn_shape_append_text(nc->shape, sizeof nc->shape, &pos, mid);
        shape_of(nc->shape, sizeof nc->shape, &pos, b);
    }
    nn_shape_append_text(nc->shape, sizeof nc->shape, &pos, " -> ");
    shape_of(nc->shape, sizeof nc->shape, &pos, out);
}

/* A graph tensor as the legacy readers describe one (logical dims, strides). */
static bool to_tensor_info(const nn_graph_tensor *g, nn_tensor_info *t)
{
    bool overflow = false;
    memset(t, 0, sizeof *t);
    if (!g->present || g->nb < 3 || g->nb > NN_CUDNN_MAX_DIMS) return false;
    t->nb = g->nb;
    for (int i = 0; i < g->nb; i++) {
        if (g->dims[i] <= 0) return false;
        t->dims[i] = (uint64_t)g->dims[i];
        t->strides[i] = g->strides[i];
    }
    t->dtype = g->dtype;
    t->elements = elements_of(g, &overflow);
    t->channels_last = g->nb >= 3 && g->strides[1] == 1 && g->dims[1] > 1;
    return !overflow;
}

static bool to_filter_info(const nn_graph_tensor *g, nn_filter_info *f)
{
    nn_tensor_info t;
    if (!to_tensor_info(g, &t)) return false;
    memset(f, 0, sizeof *f);
    f->nb = t.nb;
    memcpy(f->dims, t.dims, sizeof f->dims);
    f->dtype = t.dtype;
    f->channels_last = t.channels_last;
    return true;
}

static void conv_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    static const nn_conv_direction dirs[] = {
        [NN_GOP_CONV_FWD] = NN_CONV_FORWARD,
        [NN_GOP_CONV_BWD_DATA] = NN_CONV_BACKWARD_DATA,
        [NN_GOP_CONV_BWD_FILTER] = NN_CONV_BACKWARD_FILTER,
    };
    const nn_graph_tensor *x = &n->t[NN_ROLE_CONV_X], *w = &n->t[NN_ROLE_CONV_W],
                          *y = &n->t[NN_ROLE_CONV_Y];
    nn_tensor_info xi, yi;
    nn_filter_info wi;
    nn_conv_shape s;
    if (!to_tensor_info(x, &xi) || !to_tensor_info(y, &yi) || !to_filter_info(w, &wi) ||
        !nn_conv_shape_from(&xi, &wi, &yi, &s))
        return;
    nn_conv_direction dir = dirs[n->kind];
    nn_cost full = nn_conv_cost(&s, dir, false);
    nc->cost.macs = full.macs;
    nc->cost.flops = full.flops;
    nc->cost.overflow = full.overflow;
    /* Each direction reads two of x, w, y and writes the third (read too with beta != 0). */
    const nn_graph_tensor *out = dir == NN_CONV_FORWARD ? y : dir == NN_CONV_BACKWARD_DATA ? x : w;
    for (const nn_graph_tensor *t = n->t; t < n->t + 3; t++)
        if (t != out || n->accumulate) reads(&nc->cost, t);
    writes(&nc->cost, out);
    if (dir != NN_CONV_BACKWARD_FILTER) note_param(g, w, NN_PARAM_ALWAYS, false);
    note_output(g, out);
    nc->counted = true;
    nc->rank = 2;
    nc->name = dir == NN_CONV_FORWARD         ? "conv_fwd"
               : dir == NN_CONV_BACKWARD_DATA ? "conv_bwd_data"
                                              : "conv_bwd_filter";
    nc->dtype = x->dtype;
    describe(nc, x, " * ", w, y);
    if (s.groups > 1) {
        char text[32];
        size_t pos = strlen(nc->shape);
        snprintf(text, sizeof text, " groups=%llu", (unsigned long long)s.groups);
        nn_shape_append_text(nc->shape, sizeof nc->shape, &pos, text);
    }
}

/* Product of the dims before the last two: the matrices of a batched operand. */
static uint64_t matrices_of(const nn_graph_tensor *t, bool *overflow)
{
    uint64_t dims[NN_GRAPH_MAX_DIMS];
    int n = t->nb - 2;
    for (int i = 0; i < n; i++) dims[i] = t->dims[i] > 0 ? (uint64_t)t->dims[i] : 0;
    return n > 0 ? nn_product_u64(dims, (unsigned)n, overflow) : 1;
}

static void matmul_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    const nn_graph_tensor *a = &n->t[NN_ROLE_MM_A], *b = &n->t[NN_ROLE_MM_B],
                          *c = &n->t[NN_ROLE_MM_C];
    if (!dims_positive(a) || !dims_positive(b) || !dims_positive(c) || a->nb < 2 || b->nb < 2 ||
        c->nb < 2)
        return;
    bool overflow = false;
    nn_gemm_shape s = {
        .m = (uint64_t)a->dims[a->nb - 2],
        .k = (uint64_t)a->dims[a->nb - 1],
        .n = (uint64_t)b->dims[b->nb - 1],
        .batch = matrices_of(c, &overflow),
        .a_matrices = matrices_of(a, &overflow),
        .b_matrices = matrices_of(b, &overflow),
        .d_matrices = matrices_of(c, &overflow),
        .a_dtype = a->dtype,
        .b_dtype = b->dtype,
        .c_dtype = c->dtype,
        .d_dtype = c->dtype,
    };
    s.c_matrices = s.d_matrices;
    nn_cost full = nn_gemm_cost(&s, false);
    nc->cost.macs = full.macs;
    nc->cost.flops = full.flops;
    nc->cost.overflow = full.overflow || overflow;
    reads(&nc->cost, a);
    reads(&nc->cost, b);
    writes(&nc->cost, c);
    /* A weight is one matrix shared by every product of the batch. cuDNN's matmul is
     * row-major, so a linear layer is X.W: B is its weight unless an earlier call
     * wrote it (each matmul of a graph has its own); A only when B cannot be (W.X). */
    bool b_weight = s.b_matrices == 1 && in_memory(b);
    if (b_weight) note_param(g, b, NN_PARAM_UNLESS_ACTIVATION, false);
    else if (s.a_matrices == 1) note_param(g, a, NN_PARAM_WEIGHT_OPERAND, false);
    note_output(g, c);
    nc->counted = true;
    nc->rank = 2;
    nc->name = "matmul";
    nc->dtype = a->dtype;
    describe(nc, a, " * ", b, c);
}

static nn_pointwise_kind pointwise_kind(cudnnPointwiseMode_t m, nn_activation *act)
{
    *act = NN_ACT_IDENTITY;
    switch (m) {
    case CUDNN_POINTWISE_IDENTITY:
    case CUDNN_POINTWISE_GEN_INDEX: return NN_PW_FREE;
    case CUDNN_POINTWISE_ADD_SQUARE: return NN_PW_ADD_SQUARE;
    case CUDNN_POINTWISE_SOFTPLUS_FWD: return NN_PW_SOFTPLUS;
    case CUDNN_POINTWISE_SOFTPLUS_BWD: /* dy x sigmoid(b x) */
        *act = NN_ACT_SIGMOID;
        return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_RELU_FWD: *act = NN_ACT_RELU; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_TANH_FWD: *act = NN_ACT_TANH; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_SIGMOID_FWD: *act = NN_ACT_SIGMOID; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_ELU_FWD: *act = NN_ACT_ELU; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_GELU_FWD: *act = NN_ACT_GELU; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_SWISH_FWD: *act = NN_ACT_SWISH; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_GELU_APPROX_TANH_FWD: *act = NN_ACT_GELU_TANH; return NN_PW_ACTIVATION;
    case CUDNN_POINTWISE_RELU_BWD: *act = NN_ACT_RELU; return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_TANH_BWD: *act = NN_ACT_TANH; return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_SIGMOID_BWD: *act = NN_ACT_SIGMOID; return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_ELU_BWD: *act = NN_ACT_ELU; return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_GELU_BWD: *act = NN_ACT_GELU; return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_SWISH_BWD: *act = NN_ACT_SWISH; return NN_PW_ACTIVATION_BWD;
    case CUDNN_POINTWISE_GELU_APPROX_TANH_BWD: *act = NN_ACT_GELU_TANH; return NN_PW_ACTIVATION_BWD;
    default: return NN_PW_ONE; /* arithmetic, math functions, comparisons, logic, select */
    }
}

static void pointwise_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    const nn_graph_tensor *out =
        n->t[NN_ROLE_PW_DX].present ? &n->t[NN_ROLE_PW_DX] : &n->t[NN_ROLE_PW_Y];
    if (!out->present) return;
    nn_activation act;
    nn_pointwise_kind kind = pointwise_kind(n->pw_mode, &act);
    uint64_t per_element = nn_pointwise_flops_per_element(kind, act);
    uint64_t elements = elements_of(out, &nc->cost.overflow);
    add_flops(&nc->cost, elements, per_element);
    static const int inputs[] = {NN_ROLE_PW_X, NN_ROLE_PW_B, NN_ROLE_PW_T, NN_ROLE_PW_DY};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        reads(&nc->cost, &n->t[inputs[i]]);
    writes(&nc->cost, out);
    /* A bias: the broadcast operand of an addition, unless an earlier call wrote it. */
    const nn_graph_tensor *b = &n->t[NN_ROLE_PW_B];
    bool overflow = false;
    if (n->pw_mode == CUDNN_POINTWISE_ADD && b->present && elements_of(b, &overflow) < elements)
        note_param(g, b, NN_PARAM_UNLESS_ACTIVATION, false);
    note_output(g, out);
    nc->counted = true;
    nc->name = "pointwise";
    nc->dtype = n->t[NN_ROLE_PW_X].dtype;
    describe(nc, &n->t[NN_ROLE_PW_X], ", ", b->present ? b : NULL, out);
}

static nn_reduction_kind reduction_kind(cudnnReduceTensorOp_t op)
{
    switch (op) {
    case CUDNN_REDUCE_TENSOR_AMAX: return NN_REDUCE_AMAX;
    case CUDNN_REDUCE_TENSOR_AVG: return NN_REDUCE_AVG;
    case CUDNN_REDUCE_TENSOR_NORM1: return NN_REDUCE_NORM1;
    case CUDNN_REDUCE_TENSOR_NORM2: return NN_REDUCE_NORM2;
    default: return NN_REDUCE_SUM; /* add, mul, min, max, mul without zeros */
    }
}

static void reduction_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    const nn_graph_tensor *x = &n->t[NN_ROLE_RED_X], *y = &n->t[NN_ROLE_RED_Y];
    if (!x->present || !y->present) return;
    uint64_t in = elements_of(x, &nc->cost.overflow), out = elements_of(y, &nc->cost.overflow);
    nn_accumulate_u64(&nc->cost.flops,
                      nn_reduction_flops(reduction_kind(n->reduce_op), in, out, &nc->cost.overflow),
                      &nc->cost.overflow);
    reads(&nc->cost, x);
    writes(&nc->cost, y);
    note_output(g, y);
    nc->counted = true;
    nc->name = "reduction";
    nc->dtype = x->dtype;
    describe(nc, x, "", NULL, y);
}

static nn_norm_kind norm_kind(cudnnBackendNormMode_t m)
{
    switch (m) {
    case CUDNN_LAYER_NORM: return NN_NORM_LAYER;
    case CUDNN_RMS_NORM: return NN_NORM_RMS;
    case CUDNN_BATCH_NORM: return NN_NORM_BATCH;
    default: return NN_NORM_OTHER; /* instance, group: statistics per group, as layer norm */
    }
}

/* Named as the legacy API's batch norm rows are (bn_inference, bn_training,
 * bn_backward). */
static const char *norm_name(nn_norm_kind kind, nn_norm_phase phase)
{
    bool backward = phase == NN_NORM_BACKWARD;
    if (kind == NN_NORM_BATCH)
        return backward ? "bn_backward" : phase == NN_NORM_APPLY ? "bn_inference" : "bn_training";
    if (kind == NN_NORM_RMS) return backward ? "rmsnorm_bwd" : "rmsnorm";
    return backward ? "layernorm_bwd" : "layernorm";
}

static void norm_forward_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    const nn_graph_tensor *t = n->t;
    if (!t[NN_ROLE_NF_X].present || !t[NN_ROLE_NF_Y].present) return;
    nn_norm_kind kind = norm_kind(n->norm_mode);
    /* Only batch norm at inference applies given statistics; layer and RMS norm
     * compute theirs from x in both phases. */
    nn_norm_phase phase = kind == NN_NORM_BATCH && n->norm_phase == CUDNN_NORM_FWD_INFERENCE
                              ? NN_NORM_APPLY
                              : NN_NORM_FORWARD;
    uint64_t elements = elements_of(&t[NN_ROLE_NF_X], &nc->cost.overflow);
    nn_accumulate_u64(&nc->cost.flops,
                      nn_norm_flops(kind, phase, elements, &nc->cost.overflow),
                      &nc->cost.overflow);
    reads(&nc->cost, &t[NN_ROLE_NF_X]);
    reads(&nc->cost, &t[NN_ROLE_NF_SCALE]);
    reads(&nc->cost, &t[NN_ROLE_NF_BIAS]);
    reads(&nc->cost, &t[NN_ROLE_NF_IN_RUN_MEAN]);
    reads(&nc->cost, &t[NN_ROLE_NF_IN_RUN_VAR]);
    writes(&nc->cost, &t[NN_ROLE_NF_Y]);
    writes(&nc->cost, &t[NN_ROLE_NF_OUT_RUN_MEAN]);
    writes(&nc->cost, &t[NN_ROLE_NF_OUT_RUN_VAR]);
    /* At inference the mean and inverse variance are given (read); in training they
     * are saved for the backward pass (written). */
    void (*stat_io)(nn_cost *, const nn_graph_tensor *) = phase == NN_NORM_APPLY ? reads : writes;
    stat_io(&nc->cost, &t[NN_ROLE_NF_MEAN]);
    stat_io(&nc->cost, &t[NN_ROLE_NF_INV_VAR]);
    note_param(g, &t[NN_ROLE_NF_SCALE], NN_PARAM_UNLESS_ACTIVATION, false);
    note_param(g, &t[NN_ROLE_NF_BIAS], NN_PARAM_UNLESS_ACTIVATION, false);
    /* Running statistics are state, not parameters: reported apart. */
    if (phase == NN_NORM_APPLY) {
        note_param(g, &t[NN_ROLE_NF_MEAN], NN_PARAM_ALWAYS, true);
        note_param(g, &t[NN_ROLE_NF_INV_VAR], NN_PARAM_ALWAYS, true);
    } else {
        note_param(g, &t[NN_ROLE_NF_IN_RUN_MEAN], NN_PARAM_ALWAYS, true);
        note_param(g, &t[NN_ROLE_NF_IN_RUN_VAR], NN_PARAM_ALWAYS, true);
    }
    note_output(g, &t[NN_ROLE_NF_Y]);
    nc->counted = true;
    nc->rank = 1;
    nc->name = norm_name(kind, phase);
    nc->dtype = t[NN_ROLE_NF_X].dtype;
    describe(nc, &t[NN_ROLE_NF_X], "", NULL, &t[NN_ROLE_NF_Y]);
}

static void norm_backward_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    const nn_graph_tensor *t = n->t;
    if (!t[NN_ROLE_NB_X].present || !t[NN_ROLE_NB_DX].present) return;
    nn_norm_kind kind = norm_kind(n->norm_mode);
    uint64_t elements = elements_of(&t[NN_ROLE_NB_X], &nc->cost.overflow);
    nn_accumulate_u64(&nc->cost.flops,
                      nn_norm_flops(kind, NN_NORM_BACKWARD, elements, &nc->cost.overflow),
                      &nc->cost.overflow);
    static const int in[] = {NN_ROLE_NB_X, NN_ROLE_NB_DY, NN_ROLE_NB_SCALE, NN_ROLE_NB_MEAN,
                             NN_ROLE_NB_INV_VAR};
    static const int out[] = {NN_ROLE_NB_DX, NN_ROLE_NB_DSCALE, NN_ROLE_NB_DBIAS};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) reads(&nc->cost, &t[in[i]]);
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) writes(&nc->cost, &t[out[i]]);
    note_param(g, &t[NN_ROLE_NB_SCALE], NN_PARAM_UNLESS_ACTIVATION, false);
    note_output(g, &t[NN_ROLE_NB_DX]);
    nc->counted = true;
    nc->rank = 1;
    nc->name = norm_name(kind, NN_NORM_BACKWARD);
    nc->dtype = t[NN_ROLE_NB_X].dtype;
    describe(nc, &t[NN_ROLE_NB_DY], "", NULL, &t[NN_ROLE_NB_DX]);
}

static void sdpa_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g, bool backward)
{
    const nn_graph_tensor *t = n->t, *q = &t[NN_ROLE_SDPA_Q], *k = &t[NN_ROLE_SDPA_K],
                          *v = &t[NN_ROLE_SDPA_V];
    if (q->nb != 4 || k->nb != 4 || v->nb != 4 || !dims_positive(q) || !dims_positive(k) ||
        !dims_positive(v))
        return;
    /* Q is b x h x s_q x d, K is b x h_k x s_k x d, V is b x h_v x s_k x d_v. */
    nn_attention_shape a = {(uint64_t)q->dims[0], (uint64_t)q->dims[1], (uint64_t)q->dims[2],
                            (uint64_t)k->dims[2], (uint64_t)q->dims[3], (uint64_t)v->dims[3]};
    nc->cost.macs = nn_attention_macs(&a, backward, &nc->cost.overflow);
    nn_accumulate_u64(&nc->cost.flops, nc->cost.macs, &nc->cost.overflow);
    nn_accumulate_u64(&nc->cost.flops, nc->cost.macs, &nc->cost.overflow);
    nn_accumulate_u64(&nc->cost.flops, nn_attention_softmax_flops(&a, backward, &nc->cost.overflow),
                      &nc->cost.overflow);
    static const int fwd_in[] = {NN_ROLE_SDPA_Q, NN_ROLE_SDPA_K, NN_ROLE_SDPA_V};
    static const int fwd_out[] = {NN_ROLE_SDPA_O, NN_ROLE_SDPA_STATS};
    static const int bwd_in[] = {NN_ROLE_SDPA_Q, NN_ROLE_SDPA_K,     NN_ROLE_SDPA_V,
                                 NN_ROLE_SDPA_O, NN_ROLE_SDPA_STATS, NN_ROLE_SDPA_DO};
    static const int bwd_out[] = {NN_ROLE_SDPA_DQ, NN_ROLE_SDPA_DK, NN_ROLE_SDPA_DV};
    const int *in = backward ? bwd_in : fwd_in, *out = backward ? bwd_out : fwd_out;
    size_t n_in = backward ? 6 : 3, n_out = backward ? 3 : 2;
    for (size_t i = 0; i < n_in; i++) reads(&nc->cost, &t[in[i]]);
    for (size_t i = 0; i < n_out; i++) {
        writes(&nc->cost, &t[out[i]]);
        note_output(g, &t[out[i]]);
    }
    /* Q, K and V are activations: attention has no parameter of its own. */
    nc->counted = true;
    nc->rank = 2;
    nc->name = backward ? "sdpa_bwd" : "sdpa_fwd";
    nc->dtype = q->dtype;
    describe(nc, q, " @ ", k, backward ? &t[NN_ROLE_SDPA_DQ] : &t[NN_ROLE_SDPA_O]);
}

static void movement_node(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    int out = n->kind == NN_GOP_RESHAPE ? NN_ROLE_RESHAPE_Y : NN_ROLE_CONCAT_Y;
    if (!n->t[out].present) return;
    for (int r = 0; r < NN_GRAPH_NODE_ROLES; r++)
        if (r != out) reads(&nc->cost, &n->t[r]);
    writes(&nc->cost, &n->t[out]);
    note_output(g, &n->t[out]);
    nc->counted = true;
    nc->name = n->kind == NN_GOP_RESHAPE ? "reshape" : "concat";
    nc->dtype = n->t[out].dtype;
    describe(nc, &n->t[0], "", NULL, &n->t[out]);
}

static void node_cost_of(const nn_graph_node *n, node_cost *nc, nn_graph_cost *g)
{
    memset(nc, 0, sizeof *nc);
    if (!n->complete) return;
    switch (n->kind) {
    case NN_GOP_CONV_FWD:
    case NN_GOP_CONV_BWD_DATA:
    case NN_GOP_CONV_BWD_FILTER: conv_node(n, nc, g); break;
    case NN_GOP_MATMUL: matmul_node(n, nc, g); break;
    case NN_GOP_POINTWISE: pointwise_node(n, nc, g); break;
    case NN_GOP_REDUCTION: reduction_node(n, nc, g); break;
    case NN_GOP_NORM_FWD: norm_forward_node(n, nc, g); break;
    case NN_GOP_NORM_BWD: norm_backward_node(n, nc, g); break;
    case NN_GOP_SDPA_FWD: sdpa_node(n, nc, g, false); break;
    case NN_GOP_SDPA_BWD: sdpa_node(n, nc, g, true); break;
    case NN_GOP_RESHAPE:
    case NN_GOP_CONCAT: movement_node(n, nc, g); break;
    case NN_GOP_UNKNOWN: break;
    }
}

/* ------------------------------------------------------------ the graph */

/* The graph is named after its one operation of the highest rank (a convolution
 * with its fused batch norm, bias and activation is a conv_fwd), or after its only
 * operation; else "graph". */
static void name_graph(nn_graph_cost *g, const node_cost *first, const node_cost *top,
                       unsigned top_count)
{
    const node_cost *named = top_count == 1 ? top : g->n_ops == 1 ? first : NULL;
    g->op = named && named->name ? named->name : "graph";
    if (named) memcpy(g->shape, named->shape, sizeof g->shape);
    g->dtype = (named ? named : first)->dtype;
    if (g->n_ops > 1) {
        char text[40];
        size_t pos = strlen(g->shape);
        snprintf(text, sizeof text, "%s%u ops", pos ? " (graph of " : "graph of ", g->n_ops);
        nn_shape_append_text(g->shape, sizeof g->shape, &pos, text);
        if (pos && g->shape[0] != 'g') nn_shape_append_text(g->shape, sizeof g->shape, &pos, ")");
    }
}

void nn_graph_cost_of_nodes(const nn_graph_node *const *nodes, unsigned n, nn_graph_cost *g)
{
    memset(g, 0, sizeof *g);
    g->known = true;
    g->op = "graph";
    g->n_ops = n;
    node_cost first = {0}, top = {0};
    unsigned top_count = 0;
    for (unsigned i = 0; i < n; i++) {
        node_cost nc;
        node_cost_of(nodes[i], &nc, g);
        if (!nc.counted) {
            g->n_uncounted++;
            g->known = false;
            continue;
        }
        nn_cost_add(&g->cost, &nc.cost);
        if (i == 0) first = nc;
        if (nc.rank > top.rank) top = nc, top_count = 1;
        else if (nc.rank && nc.rank == top.rank) top_count++;
    }
    if (n) name_graph(g, &first, &top, top_count);
}
