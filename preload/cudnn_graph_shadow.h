/*
 * cudnn_graph_shadow.h: nnspy's own copy of what a program builds with cuDNN's
 * graph (backend) API, so that each cudnnBackendExecute of a cached execution plan
 * finds the cost of its operation graph.
 *
 * The wrappers (cudnn_graph.c) report every successful create, set, get, finalize
 * and destroy here. A graph's cost is computed once, when the operation graph is
 * finalized, from snapshots its operations took of their tensors when they were
 * finalized; engines, engine configurations, heuristics and plans share it (counted
 * references), so that the program may destroy descriptors in any order.
 *
 * Pure with respect to cuDNN: it uses cuDNN's enums but calls no cuDNN function,
 * so the unit tests drive it next to the toolkit's real libcudnn.
 */
#ifndef NNSPY_PRELOAD_CUDNN_GRAPH_SHADOW_H
#define NNSPY_PRELOAD_CUDNN_GRAPH_SHADOW_H

#include <stdbool.h>
#include <stdint.h>

#include <cudnn.h>

#include "core.h"

#define NN_GRAPH_MAX_DIMS    8
#define NN_GRAPH_NODE_ROLES  12 /* tensor slots of one operation */
#define NN_GRAPH_MAX_PARAMS  8
#define NN_GRAPH_MAX_OUTPUTS 4
#define NN_GRAPH_MAX_BINDINGS 64 /* uid -> pointer pairs kept per variant pack */
#define NN_GRAPH_MAX_SHADOWS (1u << 18) /* live descriptors shadowed at most */

/* A backend tensor descriptor, as the program set it. */
typedef struct nn_graph_tensor {
    bool present;
    int nb;
    int64_t dims[NN_GRAPH_MAX_DIMS];
    int64_t strides[NN_GRAPH_MAX_DIMS];
    nn_dtype dtype;
    int64_t uid;
    bool is_virtual; /* stays on chip: moves no memory */
    bool by_value;   /* a host scalar passed by value */
} nn_graph_tensor;

/* What a graph costs each time it runs, shared by the descriptors that lead to it. */
typedef struct nn_graph_param {
    int64_t uid;
    uint64_t elements;
    nn_dtype dtype;
    nn_param_rule rule;
    bool buffer; /* running statistics: reported apart from parameters */
} nn_graph_param;

typedef struct nn_graph_output {
    int64_t uid;
    uint64_t bytes;
} nn_graph_output;

typedef struct nn_graph_cost {
    int refs;    /* under the shadow lock */
    uint32_t id; /* one per finalized graph, from 1: the autotuning key of its plans */
    bool known;             /* every operation of the graph could be counted */
    unsigned n_ops, n_uncounted;
    nn_cost cost;
    nn_dtype dtype;
    const char *op; /* conv_fwd, matmul, sdpa_fwd... for a one-operation graph; else "graph" */
    nn_graph_param params[NN_GRAPH_MAX_PARAMS];
    int n_params;
    bool params_incomplete; /* more parameter tensors than params[] holds */
    nn_graph_output outputs[NN_GRAPH_MAX_OUTPUTS];
    int n_outputs;
    char shape[NN_SHAPE_LEN];
} nn_graph_cost;

/* Calls into the store, one per successful backend call (thread-safe). */
void nn_graph_note_create(const void *desc, cudnnBackendDescriptorType_t type);
void nn_graph_note_destroy(const void *desc);
void nn_graph_note_set(const void *desc, cudnnBackendAttributeName_t name,
                       cudnnBackendAttributeType_t type, int64_t count, const void *elements);
/* A get that filled descriptors the program created (heuristics' results, a
 * plan's engine configuration, a configuration's engine). */
void nn_graph_note_get(const void *desc, cudnnBackendAttributeName_t name,
                       cudnnBackendAttributeType_t type, int64_t count, const void *elements);
void nn_graph_note_finalize(const void *desc);

/* What one execution of `plan` with `variant_pack` costs and reads. */
typedef struct nn_graph_execution {
    bool plan_known; /* the plan leads to a shadowed, finalized graph */
    uint32_t plan_serial; /* which plan of the graph: autotuning tries several */
    nn_graph_cost cost;
    /* The buffers of cost.params and cost.outputs, by uid; NULL when unbound. */
    const void *param_ptrs[NN_GRAPH_MAX_PARAMS];
    const void *output_ptrs[NN_GRAPH_MAX_OUTPUTS];
} nn_graph_execution;

bool nn_graph_lookup_execution(const void *plan, const void *variant_pack, nn_graph_execution *out);

/* Live shadows, for tests of the bookkeeping. */
uint64_t nn_graph_live_shadows(void);

/* An operation, as snapshotted when it was finalized. */
typedef enum nn_graph_op_kind {
    NN_GOP_UNKNOWN, /* a type nnspy does not count */
    NN_GOP_CONV_FWD,
    NN_GOP_CONV_BWD_DATA,
    NN_GOP_CONV_BWD_FILTER,
    NN_GOP_MATMUL,
    NN_GOP_POINTWISE,
    NN_GOP_REDUCTION,
    NN_GOP_NORM_FWD,
    NN_GOP_NORM_BWD,
    NN_GOP_SDPA_FWD,
    NN_GOP_SDPA_BWD,
    NN_GOP_RESHAPE,
    NN_GOP_CONCAT,
} nn_graph_op_kind;

/* Tensor slots (roles) of each kind of operation. */
enum {
    /* convolutions, in forward terms: X is dX for backward data, W is dW for backward
     * filter, Y is dY for both backward directions */
    NN_ROLE_CONV_X = 0, NN_ROLE_CONV_W, NN_ROLE_CONV_Y,
    NN_ROLE_MM_A = 0, NN_ROLE_MM_B, NN_ROLE_MM_C,
    NN_ROLE_PW_X = 0, NN_ROLE_PW_B, NN_ROLE_PW_Y, NN_ROLE_PW_T, NN_ROLE_PW_DX, NN_ROLE_PW_DY,
    NN_ROLE_RED_X = 0, NN_ROLE_RED_Y,
    NN_ROLE_NF_X = 0, NN_ROLE_NF_SCALE, NN_ROLE_NF_BIAS, NN_ROLE_NF_Y, NN_ROLE_NF_MEAN,
    NN_ROLE_NF_INV_VAR, NN_ROLE_NF_IN_RUN_MEAN, NN_ROLE_NF_IN_RUN_VAR, NN_ROLE_NF_OUT_RUN_MEAN,
    NN_ROLE_NF_OUT_RUN_VAR,
    NN_ROLE_NB_X = 0, NN_ROLE_NB_DY, NN_ROLE_NB_SCALE, NN_ROLE_NB_MEAN, NN_ROLE_NB_INV_VAR,
    NN_ROLE_NB_DX, NN_ROLE_NB_DSCALE, NN_ROLE_NB_DBIAS,
    NN_ROLE_SDPA_Q = 0, NN_ROLE_SDPA_K, NN_ROLE_SDPA_V, NN_ROLE_SDPA_O, NN_ROLE_SDPA_STATS,
    NN_ROLE_SDPA_DQ, NN_ROLE_SDPA_DK, NN_ROLE_SDPA_DV, NN_ROLE_SDPA_DO,
    NN_ROLE_RESHAPE_X = 0, NN_ROLE_RESHAPE_Y,
    /* concatenation: inputs 0.. in order, the output in the last slot */
    NN_ROLE_CONCAT_Y = NN_GRAPH_NODE_ROLES - 1,
};

typedef struct nn_graph_node {
    nn_graph_op_kind kind;
    bool complete; /* every descriptor it refers to was shadowed */
    nn_graph_tensor t[NN_GRAPH_NODE_ROLES];
    /* convolution */
    int spatial;
    int64_t pre_pad[NN_MAX_SPATIAL], post_pad[NN_MAX_SPATIAL];
    bool accumulate; /* beta != 0: the output is read too */
    /* pointwise, reduction, normalisation */
    cudnnPointwiseMode_t pw_mode;
    cudnnReduceTensorOp_t reduce_op;
    cudnnBackendNormMode_t norm_mode;
    cudnnBackendNormFwdPhase_t norm_phase;
} nn_graph_node;

/* Turns a graph's operations into its cost (cudnn_graph_cost.c). */
void nn_graph_cost_of_nodes(const nn_graph_node *const *nodes, unsigned n, nn_graph_cost *out);

#endif
