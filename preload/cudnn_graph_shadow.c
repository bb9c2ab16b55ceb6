/*
 * cudnn_graph_shadow.c: the shadow copies of cuDNN graph (backend) descriptors
 * (see cudnn_graph_shadow.h). One map from descriptor address to shadow, under one
 * lock: descriptors are built once and plans executed many times, so only
 * nn_graph_lookup_execution is on the hot path, and it only copies out.
 */
#define _GNU_SOURCE
#include "cudnn_graph_shadow.h"

#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "addrmap.h"
#include "cuda_types.h"

#define MAX_GRAPH_OPS 64

typedef struct op_build {
    const void *refs[NN_GRAPH_NODE_ROLES]; /* tensor descriptors by role */
    const void *desc_ref;                  /* the convolution, pointwise or reduction descriptor */
    bool accumulate;
    cudnnBackendNormMode_t norm_mode;
    cudnnBackendNormFwdPhase_t norm_phase;
    nn_graph_node *node; /* the snapshot, once finalized */
} op_build;

typedef struct variant_pack {
    int64_t uids[NN_GRAPH_MAX_BINDINGS];
    const void *ptrs[NN_GRAPH_MAX_BINDINGS];
    unsigned n_uids, n_ptrs;
} variant_pack;

typedef struct conv_desc {
    int spatial;
    int64_t pre_pad[NN_MAX_SPATIAL], post_pad[NN_MAX_SPATIAL];
} conv_desc;

/* A shadow is allocated only as large as its type's payload: never copy one whole. */
typedef struct shadow {
    cudnnBackendDescriptorType_t type;
    bool finalized;
    uint32_t serial;     /* distinct for every descriptor created (addresses are reused) */
    nn_graph_cost *cost; /* graph: its own; engine, config, heuristics, plan: shared */
    union {
        nn_graph_tensor tensor;
        conv_desc conv;
        cudnnPointwiseMode_t pw_mode;
        cudnnReduceTensorOp_t reduce_op;
        op_build op;
        struct {
            const void *ops[MAX_GRAPH_OPS];
            unsigned n_ops, n_dropped;
        } graph;
        variant_pack pack;
    } u;
} shadow;

static pthread_mutex_t shadow_lock = PTHREAD_MUTEX_INITIALIZER;
static nn_addrmap shadows = {.max_slots = 2 * NN_GRAPH_MAX_SHADOWS};
static uint64_t live;
static uint32_t serials, graph_ids; /* under the lock */

__attribute__((constructor)) static void protect_shadow_lock(void)
{
    nn_fork_protect(&shadow_lock, NULL);
}

/* ------------------------------------------------------------ the map */

/* Operation descriptors: the ones counted (kind_of) and the others, shadowed so
 * that a graph holding them is known to be partly uncounted. */
static bool is_operation(cudnnBackendDescriptorType_t t)
{
    switch (t) {
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_GEN_STATS_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_BN_FINALIZE_STATISTICS_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_BN_BWD_WEIGHTS_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_RESAMPLE_FWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_RESAMPLE_BWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONCAT_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SIGNAL_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_NORM_BACKWARD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_RNG_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_PAGED_CACHE_LOAD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_BLOCK_SCALE_QUANTIZE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_BLOCK_SCALE_DEQUANTIZE_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_EXPAND_BAND_MATRIX_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_CONTRACT_BAND_MATRIX_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_MOE_GROUPED_MATMUL_DESCRIPTOR:
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR: return true;
    default: return false;
    }
}

static size_t payload_size(cudnnBackendDescriptorType_t t)
{
    if (is_operation(t)) return sizeof(op_build);
    switch (t) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: return sizeof(nn_graph_tensor);
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR: return sizeof(conv_desc);
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR: return sizeof(cudnnPointwiseMode_t);
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR: return sizeof(cudnnReduceTensorOp_t);
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: return sizeof(((shadow *)0)->u.graph);
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: return sizeof(variant_pack);
    default: return 0; /* engines, configurations, heuristics, plans: the cost link only */
    }
}

static shadow *find(const void *desc)
{
    nn_addrmap_slot *s = desc ? nn_addrmap_find(&shadows, (uintptr_t)desc) : NULL;
    return s ? (shadow *)(uintptr_t)s->value : NULL;
}

static nn_graph_cost *cost_ref(nn_graph_cost *c)
{
    if (c) c->refs++;
    return c;
}

static void cost_release(nn_graph_cost *c)
{
    if (c && --c->refs == 0) free(c);
}

/* Points s at cost c (or nothing), dropping what it pointed at. */
static void link_cost(shadow *s, nn_graph_cost *c)
{
    nn_graph_cost *old = s->cost;
    s->cost = cost_ref(c);
    cost_release(old);
}

static void free_shadow(shadow *s)
{
    cost_release(s->cost);
    if (is_operation(s->type)) free(s->u.op.node);
    free(s);
}

void nn_graph_note_create(const void *desc, cudnnBackendDescriptorType_t type)
{
    if (!desc) return;
    shadow *s = calloc(1, offsetof(shadow, u) + payload_size(type));
    if (!s) return;
    s->type = type;
    pthread_mutex_lock(&shadow_lock);
    nn_addrmap_slot *slot =
        live < NN_GRAPH_MAX_SHADOWS ? nn_addrmap_insert(&shadows, (uintptr_t)desc) : NULL;
    if (slot) {
        /* An address the library reuses without our having seen its destroy. */
        if (slot->value)
            free_shadow((shadow *)(uintptr_t)slot->value);
        else
            live++;
        s->serial = ++serials;
        slot->value = (uint64_t)(uintptr_t)s;
        s = NULL;
    }
    pthread_mutex_unlock(&shadow_lock);
    if (s) {
        free(s);
        nn_warn_once("more than %u live cuDNN graph descriptors: graphs built past that are "
                     "counted without cost",
                     NN_GRAPH_MAX_SHADOWS);
    }
}

void nn_graph_note_destroy(const void *desc)
{
    pthread_mutex_lock(&shadow_lock);
    shadow *s = find(desc);
    if (s) {
        nn_addrmap_erase(&shadows, (uintptr_t)desc);
        live--;
        free_shadow(s);
    }
    pthread_mutex_unlock(&shadow_lock);
}

uint64_t nn_graph_live_shadows(void)
{
    pthread_mutex_lock(&shadow_lock);
    uint64_t n = live;
    pthread_mutex_unlock(&shadow_lock);
    return n;
}

/* ------------------------------------------------------------ attributes */

/* The tensor slot an operation's attribute fills; -1 for other attributes. */
static int role_of(cudnnBackendDescriptorType_t t, cudnnBackendAttributeName_t a)
{
    switch (a) {
    case CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X: return NN_ROLE_CONV_X;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W: return NN_ROLE_CONV_W;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y: return NN_ROLE_CONV_Y;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX: return NN_ROLE_CONV_X;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W: return NN_ROLE_CONV_W;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY: return NN_ROLE_CONV_Y;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X: return NN_ROLE_CONV_X;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW: return NN_ROLE_CONV_W;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY: return NN_ROLE_CONV_Y;
    case CUDNN_ATTR_OPERATION_MATMUL_ADESC: return NN_ROLE_MM_A;
    case CUDNN_ATTR_OPERATION_MATMUL_BDESC: return NN_ROLE_MM_B;
    case CUDNN_ATTR_OPERATION_MATMUL_CDESC: return NN_ROLE_MM_C;
    case CUDNN_ATTR_OPERATION_POINTWISE_XDESC: return NN_ROLE_PW_X;
    case CUDNN_ATTR_OPERATION_POINTWISE_BDESC: return NN_ROLE_PW_B;
    case CUDNN_ATTR_OPERATION_POINTWISE_YDESC: return NN_ROLE_PW_Y;
    case CUDNN_ATTR_OPERATION_POINTWISE_TDESC: return NN_ROLE_PW_T;
    case CUDNN_ATTR_OPERATION_POINTWISE_DXDESC: return NN_ROLE_PW_DX;
    case CUDNN_ATTR_OPERATION_POINTWISE_DYDESC: return NN_ROLE_PW_DY;
    case CUDNN_ATTR_OPERATION_REDUCTION_XDESC: return NN_ROLE_RED_X;
    case CUDNN_ATTR_OPERATION_REDUCTION_YDESC: return NN_ROLE_RED_Y;
    case CUDNN_ATTR_OPERATION_NORM_FWD_XDESC: return NN_ROLE_NF_X;
    case CUDNN_ATTR_OPERATION_NORM_FWD_SCALE_DESC: return NN_ROLE_NF_SCALE;
    case CUDNN_ATTR_OPERATION_NORM_FWD_BIAS_DESC: return NN_ROLE_NF_BIAS;
    case CUDNN_ATTR_OPERATION_NORM_FWD_YDESC: return NN_ROLE_NF_Y;
    case CUDNN_ATTR_OPERATION_NORM_FWD_MEAN_DESC: return NN_ROLE_NF_MEAN;
    case CUDNN_ATTR_OPERATION_NORM_FWD_INV_VARIANCE_DESC: return NN_ROLE_NF_INV_VAR;
    case CUDNN_ATTR_OPERATION_NORM_FWD_INPUT_RUNNING_MEAN_DESC: return NN_ROLE_NF_IN_RUN_MEAN;
    case CUDNN_ATTR_OPERATION_NORM_FWD_INPUT_RUNNING_VAR_DESC: return NN_ROLE_NF_IN_RUN_VAR;
    case CUDNN_ATTR_OPERATION_NORM_FWD_OUTPUT_RUNNING_MEAN_DESC: return NN_ROLE_NF_OUT_RUN_MEAN;
    case CUDNN_ATTR_OPERATION_NORM_FWD_OUTPUT_RUNNING_VAR_DESC: return NN_ROLE_NF_OUT_RUN_VAR;
    case CUDNN_ATTR_OPERATION_NORM_BWD_XDESC: return NN_ROLE_NB_X;
    case CUDNN_ATTR_OPERATION_NORM_BWD_DYDESC: return NN_ROLE_NB_DY;
    case CUDNN_ATTR_OPERATION_NORM_BWD_SCALE_DESC: return NN_ROLE_NB_SCALE;
    case CUDNN_ATTR_OPERATION_NORM_BWD_MEAN_DESC: return NN_ROLE_NB_MEAN;
    case CUDNN_ATTR_OPERATION_NORM_BWD_INV_VARIANCE_DESC: return NN_ROLE_NB_INV_VAR;
    case CUDNN_ATTR_OPERATION_NORM_BWD_DXDESC: return NN_ROLE_NB_DX;
    case CUDNN_ATTR_OPERATION_NORM_BWD_DSCALE_DESC: return NN_ROLE_NB_DSCALE;
    case CUDNN_ATTR_OPERATION_NORM_BWD_DBIAS_DESC: return NN_ROLE_NB_DBIAS;
    case CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC: return NN_ROLE_SDPA_Q;
    case CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC: return NN_ROLE_SDPA_K;
    case CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC: return NN_ROLE_SDPA_V;
    case CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC: return NN_ROLE_SDPA_O;
    case CUDNN_ATTR_OPERATION_SDPA_FWD_STATSDESC: return NN_ROLE_SDPA_STATS;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_QDESC: return NN_ROLE_SDPA_Q;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_KDESC: return NN_ROLE_SDPA_K;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_VDESC: return NN_ROLE_SDPA_V;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_ODESC: return NN_ROLE_SDPA_O;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_STATSDESC: return NN_ROLE_SDPA_STATS;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_DQDESC: return NN_ROLE_SDPA_DQ;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_DKDESC: return NN_ROLE_SDPA_DK;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_DVDESC: return NN_ROLE_SDPA_DV;
    case CUDNN_ATTR_OPERATION_SDPA_BWD_DODDESC: return NN_ROLE_SDPA_DO;
    case CUDNN_ATTR_OPERATION_RESHAPE_XDESC: return NN_ROLE_RESHAPE_X;
    case CUDNN_ATTR_OPERATION_RESHAPE_YDESC: return NN_ROLE_RESHAPE_Y;
    case CUDNN_ATTR_OPERATION_CONCAT_OUTPUT_DESC: return NN_ROLE_CONCAT_Y;
    default: (void)t; return -1;
    }
}

static bool is_desc_ref(cudnnBackendAttributeName_t a)
{
    return a == CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC ||
           a == CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC ||
           a == CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC ||
           a == CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR ||
           a == CUDNN_ATTR_OPERATION_REDUCTION_DESC;
}

static bool is_beta(cudnnBackendAttributeName_t a)
{
    return a == CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA ||
           a == CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA ||
           a == CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA;
}

/* Copies up to max int64 values; returns how many. */
static int copy_int64s(int64_t *dst, int max, cudnnBackendAttributeType_t type, int64_t count,
                       const void *elements)
{
    if (type != CUDNN_TYPE_INT64 || !elements || count < 0) return 0;
    int n = count < max ? (int)count : max;
    memcpy(dst, elements, (size_t)n * sizeof *dst);
    return n;
}

/* A program's bool, whatever byte it holds (any non-zero byte is true). */
static bool read_bool(const void *p)
{
    unsigned char b;
    memcpy(&b, p, 1);
    return b != 0;
}

static void set_tensor(nn_graph_tensor *t, cudnnBackendAttributeName_t a,
                       cudnnBackendAttributeType_t type, int64_t count, const void *elements)
{
    switch (a) {
    case CUDNN_ATTR_TENSOR_DATA_TYPE:
        if (type == CUDNN_TYPE_DATA_TYPE && count >= 1)
            t->dtype = nn_from_cudnn_dtype(*(const cudnnDataType_t *)elements);
        break;
    case CUDNN_ATTR_TENSOR_DIMENSIONS:
        t->nb = count <= NN_GRAPH_MAX_DIMS
                    ? copy_int64s(t->dims, NN_GRAPH_MAX_DIMS, type, count, elements)
                    : 0;
        break;
    case CUDNN_ATTR_TENSOR_STRIDES:
        copy_int64s(t->strides, NN_GRAPH_MAX_DIMS, type, count, elements);
        break;
    case CUDNN_ATTR_TENSOR_UNIQUE_ID: copy_int64s(&t->uid, 1, type, count, elements); break;
    case CUDNN_ATTR_TENSOR_IS_VIRTUAL:
        if (type == CUDNN_TYPE_BOOLEAN && count >= 1) t->is_virtual = read_bool(elements);
        break;
    case CUDNN_ATTR_TENSOR_IS_BY_VALUE:
        if (type == CUDNN_TYPE_BOOLEAN && count >= 1) t->by_value = read_bool(elements);
        break;
    default: break;
    }
}

static void set_conv(conv_desc *c, cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t type,
                     int64_t count, const void *elements)
{
    if (a == CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS) {
        int64_t n = 0;
        copy_int64s(&n, 1, type, count, elements);
        c->spatial = n > 0 && n <= NN_MAX_SPATIAL ? (int)n : 0;
    } else if (a == CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS) {
        copy_int64s(c->pre_pad, NN_MAX_SPATIAL, type, count, elements);
    } else if (a == CUDNN_ATTR_CONVOLUTION_POST_PADDINGS) {
        copy_int64s(c->post_pad, NN_MAX_SPATIAL, type, count, elements);
    }
}

static bool scalar_nonzero(cudnnBackendAttributeType_t type, int64_t count, const void *elements)
{
    if (count < 1 || !elements) return true;
    if (type == CUDNN_TYPE_FLOAT) return *(const float *)elements != 0.0f;
    if (type == CUDNN_TYPE_DOUBLE) return *(const double *)elements != 0.0;
    return true; /* an unknown scalar type: assume the output is read */
}

static void set_operation(op_build *op, cudnnBackendDescriptorType_t t,
                          cudnnBackendAttributeName_t a, cudnnBackendAttributeType_t type,
                          int64_t count, const void *elements)
{
    const void *const *descs = elements;
    int role = role_of(t, a);
    if (type == CUDNN_TYPE_BACKEND_DESCRIPTOR && count >= 1 && elements) {
        if (a == CUDNN_ATTR_OPERATION_CONCAT_INPUT_DESCS) {
            for (int64_t i = 0; i < count && i < NN_ROLE_CONCAT_Y; i++) op->refs[i] = descs[i];
        } else if (role >= 0) {
            op->refs[role] = descs[0];
        } else if (is_desc_ref(a)) {
            op->desc_ref = descs[0];
        }
    } else if (is_beta(a)) {
        op->accumulate = scalar_nonzero(type, count, elements);
    } else if ((a == CUDNN_ATTR_OPERATION_NORM_FWD_MODE ||
                a == CUDNN_ATTR_OPERATION_NORM_BWD_MODE) &&
               type == CUDNN_TYPE_NORM_MODE && count >= 1) {
        op->norm_mode = *(const cudnnBackendNormMode_t *)elements;
    } else if (a == CUDNN_ATTR_OPERATION_NORM_FWD_PHASE && type == CUDNN_TYPE_NORM_FWD_PHASE &&
               count >= 1) {
        op->norm_phase = *(const cudnnBackendNormFwdPhase_t *)elements;
    }
}

static void set_variant_pack(variant_pack *p, cudnnBackendAttributeName_t a,
                             cudnnBackendAttributeType_t type, int64_t count, const void *elements)
{
    if (a == CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS) {
        p->n_uids = (unsigned)copy_int64s(p->uids, NN_GRAPH_MAX_BINDINGS, type, count, elements);
    } else if (a == CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS && type == CUDNN_TYPE_VOID_PTR &&
               elements && count >= 0) {
        p->n_ptrs = count < NN_GRAPH_MAX_BINDINGS ? (unsigned)count : NN_GRAPH_MAX_BINDINGS;
        memcpy(p->ptrs, elements, p->n_ptrs * sizeof p->ptrs[0]);
    }
}

/* The attributes that lead from a plan to its graph: point `s` at what the
 * descriptor `target` leads to. */
static void set_link(shadow *s, const void *target)
{
    shadow *t = find(target);
    link_cost(s, t ? t->cost : NULL);
}

static bool is_link(cudnnBackendAttributeName_t a)
{
    return a == CUDNN_ATTR_ENGINE_OPERATION_GRAPH || a == CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH ||
           a == CUDNN_ATTR_ENGINECFG_ENGINE || a == CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG;
}

static void set_graph_ops(shadow *s, cudnnBackendAttributeType_t type, int64_t count,
                          const void *elements)
{
    if (type != CUDNN_TYPE_BACKEND_DESCRIPTOR || !elements || count < 0) return;
    const void *const *ops = elements;
    s->u.graph.n_ops = count < MAX_GRAPH_OPS ? (unsigned)count : MAX_GRAPH_OPS;
    s->u.graph.n_dropped = (unsigned)(count - s->u.graph.n_ops);
    memcpy(s->u.graph.ops, ops, s->u.graph.n_ops * sizeof ops[0]);
}

void nn_graph_note_set(const void *desc, cudnnBackendAttributeName_t a,
                       cudnnBackendAttributeType_t type, int64_t count, const void *elements)
{
    pthread_mutex_lock(&shadow_lock);
    shadow *s = find(desc);
    if (s && !s->finalized) {
        if (is_link(a)) {
            if (type == CUDNN_TYPE_BACKEND_DESCRIPTOR && count >= 1 && elements)
                set_link(s, *(const void *const *)elements);
        } else if (s->type == CUDNN_BACKEND_TENSOR_DESCRIPTOR) {
            set_tensor(&s->u.tensor, a, type, count, elements);
        } else if (s->type == CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR) {
            set_conv(&s->u.conv, a, type, count, elements);
        } else if (s->type == CUDNN_BACKEND_POINTWISE_DESCRIPTOR) {
            if (a == CUDNN_ATTR_POINTWISE_MODE && type == CUDNN_TYPE_POINTWISE_MODE && count >= 1)
                s->u.pw_mode = *(const cudnnPointwiseMode_t *)elements;
        } else if (s->type == CUDNN_BACKEND_REDUCTION_DESCRIPTOR) {
            if (a == CUDNN_ATTR_REDUCTION_OPERATOR && type == CUDNN_TYPE_REDUCTION_OPERATOR_TYPE &&
                count >= 1)
                s->u.reduce_op = *(const cudnnReduceTensorOp_t *)elements;
        } else if (s->type == CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR) {
            if (a == CUDNN_ATTR_OPERATIONGRAPH_OPS) set_graph_ops(s, type, count, elements);
        } else if (s->type == CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR) {
            set_variant_pack(&s->u.pack, a, type, count, elements);
        } else if (is_operation(s->type)) {
            set_operation(&s->u.op, s->type, a, type, count, elements);
        }
    }
    pthread_mutex_unlock(&shadow_lock);
}

void nn_graph_note_get(const void *desc, cudnnBackendAttributeName_t a,
                       cudnnBackendAttributeType_t type, int64_t count, const void *elements)
{
    if (type != CUDNN_TYPE_BACKEND_DESCRIPTOR || !elements || count < 1) return;
    if (a != CUDNN_ATTR_ENGINEHEUR_RESULTS && a != CUDNN_ATTR_ENGINECFG_ENGINE &&
        a != CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG)
        return;
    const void *const *filled = elements;
    pthread_mutex_lock(&shadow_lock);
    shadow *s = find(desc);
    for (int64_t i = 0; s && i < count; i++) {
        shadow *out = find(filled[i]);
        if (out) link_cost(out, s->cost);
    }
    pthread_mutex_unlock(&shadow_lock);
}

/* ------------------------------------------------------------ finalize */

static nn_graph_op_kind kind_of(cudnnBackendDescriptorType_t t)
{
    switch (t) {
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR: return NN_GOP_CONV_FWD;
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR: return NN_GOP_CONV_BWD_DATA;
    case CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR:
        return NN_GOP_CONV_BWD_FILTER;
    case CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR: return NN_GOP_MATMUL;
    case CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR: return NN_GOP_POINTWISE;
    case CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR: return NN_GOP_REDUCTION;
    case CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR: return NN_GOP_NORM_FWD;
    case CUDNN_BACKEND_OPERATION_NORM_BACKWARD_DESCRIPTOR: return NN_GOP_NORM_BWD;
    case CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR: return NN_GOP_SDPA_FWD;
    case CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR: return NN_GOP_SDPA_BWD;
    case CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR: return NN_GOP_RESHAPE;
    case CUDNN_BACKEND_OPERATION_CONCAT_DESCRIPTOR: return NN_GOP_CONCAT;
    default: return NN_GOP_UNKNOWN;
    }
}

/* Copies what the operation refers to into a snapshot of its own. */
static nn_graph_node *snapshot_operation(const shadow *s)
{
    nn_graph_node *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    const op_build *op = &s->u.op;
    n->kind = kind_of(s->type);
    n->complete = true;
    n->accumulate = op->accumulate;
    n->norm_mode = op->norm_mode;
    n->norm_phase = op->norm_phase;
    for (int r = 0; r < NN_GRAPH_NODE_ROLES; r++) {
        if (!op->refs[r]) continue;
        const shadow *t = find(op->refs[r]);
        if (t && t->type == CUDNN_BACKEND_TENSOR_DESCRIPTOR) {
            n->t[r] = t->u.tensor;
            n->t[r].present = true;
        } else {
            n->complete = false;
        }
    }
    const shadow *d = find(op->desc_ref);
    if (d && d->type == CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR) {
        n->spatial = d->u.conv.spatial;
        memcpy(n->pre_pad, d->u.conv.pre_pad, sizeof n->pre_pad);
        memcpy(n->post_pad, d->u.conv.post_pad, sizeof n->post_pad);
    } else if (d && d->type == CUDNN_BACKEND_POINTWISE_DESCRIPTOR) {
        n->pw_mode = d->u.pw_mode;
    } else if (d && d->type == CUDNN_BACKEND_REDUCTION_DESCRIPTOR) {
        n->reduce_op = d->u.reduce_op;
    } else if (op->desc_ref) {
        n->complete = false;
    }
    return n;
}

static void finalize_graph(shadow *s)
{
    const nn_graph_node *nodes[MAX_GRAPH_OPS];
    unsigned n = 0, missing = s->u.graph.n_dropped;
    for (unsigned i = 0; i < s->u.graph.n_ops; i++) {
        const shadow *op = find(s->u.graph.ops[i]);
        if (op && is_operation(op->type) && op->u.op.node)
            nodes[n++] = op->u.op.node;
        else
            missing++;
    }
    nn_graph_cost *c = calloc(1, sizeof *c);
    if (!c) return;
    nn_graph_cost_of_nodes(nodes, n, c);
    c->n_ops += missing;
    c->n_uncounted += missing;
    if (missing) c->known = false;
    c->refs = 0;
    c->id = ++graph_ids;
    link_cost(s, c);
}

void nn_graph_note_finalize(const void *desc)
{
    pthread_mutex_lock(&shadow_lock);
    shadow *s = find(desc);
    if (s && !s->finalized) {
        s->finalized = true;
        if (s->type == CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR)
            finalize_graph(s);
        else if (is_operation(s->type))
            s->u.op.node = snapshot_operation(s);
    }
    pthread_mutex_unlock(&shadow_lock);
}

/* ------------------------------------------------------------ execution */

static const void *bound_pointer(const variant_pack *p, int64_t uid)
{
    unsigned n = p->n_uids < p->n_ptrs ? p->n_uids : p->n_ptrs;
    for (unsigned i = 0; i < n; i++)
        if (p->uids[i] == uid) return p->ptrs[i];
    return NULL;
}

bool nn_graph_lookup_execution(const void *plan, const void *variant_pack_desc,
                               nn_graph_execution *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&shadow_lock);
    const shadow *p = find(plan);
    if (p && p->cost) {
        out->plan_known = true;
        out->plan_serial = p->serial;
        out->cost = *p->cost;
        const shadow *v = find(variant_pack_desc);
        if (v && v->type == CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR) {
            for (int i = 0; i < out->cost.n_params; i++)
                out->param_ptrs[i] = bound_pointer(&v->u.pack, out->cost.params[i].uid);
            for (int i = 0; i < out->cost.n_outputs; i++)
                out->output_ptrs[i] = bound_pointer(&v->u.pack, out->cost.outputs[i].uid);
        }
    }
    pthread_mutex_unlock(&shadow_lock);
    return out->plan_known;
}
