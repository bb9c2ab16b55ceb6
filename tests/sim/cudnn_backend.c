/*
 * cudnn_backend.c: the simulated cuDNN's graph (backend) API (test equipment).
 *
 * Descriptors keep every attribute set on them. Finalize checks what the real
 * library needs of each type that nnspy's tests build (tensors, convolutions,
 * pointwise, reduction and matmul descriptors, operations, operation graphs,
 * engines, heuristics, engine configurations, plans, variant packs); a set on a
 * finalized descriptor, a wrong attribute type or a missing attribute gives the
 * real library's statuses. Heuristics offer one engine. Execution checks that the
 * variant pack binds every non-virtual tensor of the graph, then runs one kernel
 * per operation (2000 ns each in the time model), or adds them to a CUDA graph.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "sim_cudnn.h"

#define DESC_MAGIC 0x44424b42u /* "BKBD" */
#define MAX_ATTRS  32

struct attr {
    cudnnBackendAttributeName_t name;
    cudnnBackendAttributeType_t type;
    int64_t count;
    void *data;
};

/* Descriptors refer to each other: one the program destroyed lives on while a
 * descriptor it was set on needs it (a plan keeps its graph), as in the real
 * library, which copies what it is given. */
struct sim_desc {
    uint32_t magic;
    cudnnBackendDescriptorType_t type;
    bool finalized;
    bool destroyed; /* by the program: no longer usable through the API */
    int refs;
    struct attr attrs[MAX_ATTRS];
    int n_attrs;
};
typedef struct sim_desc sim_desc;

/* A descriptor, even one the program destroyed but another still refers to. */
static sim_desc *raw_of(const void *d)
{
    sim_desc *s = (sim_desc *)d;
    return s && s->magic == DESC_MAGIC ? s : NULL;
}

/* A descriptor the program may use. */
static sim_desc *desc_of(const void *d)
{
    sim_desc *s = raw_of(d);
    return s && !s->destroyed ? s : NULL;
}

static void release(sim_desc *d);

/* References taken (+1) or dropped (-1) on the descriptors an attribute holds. */
static void hold_refs(const struct attr *a, int delta)
{
    if (a->type != CUDNN_TYPE_BACKEND_DESCRIPTOR) return;
    for (int64_t i = 0; i < a->count; i++) {
        sim_desc *r = raw_of(((void **)a->data)[i]);
        if (r && delta > 0)
            r->refs++;
        else if (r)
            release(r);
    }
}

static void release(sim_desc *d)
{
    if (--d->refs > 0) return;
    for (int i = 0; i < d->n_attrs; i++) {
        hold_refs(&d->attrs[i], -1);
        free(d->attrs[i].data);
    }
    d->magic = 0;
    free(d);
}

static size_t type_size(cudnnBackendAttributeType_t t)
{
    switch (t) {
    case CUDNN_TYPE_INT64: return sizeof(int64_t);
    case CUDNN_TYPE_DOUBLE: return sizeof(double);
    case CUDNN_TYPE_FLOAT: return sizeof(float);
    case CUDNN_TYPE_BOOLEAN: return sizeof(bool);
    case CUDNN_TYPE_VOID_PTR:
    case CUDNN_TYPE_BACKEND_DESCRIPTOR:
    case CUDNN_TYPE_HANDLE: return sizeof(void *);
    case CUDNN_TYPE_CHAR: return 1;
    case CUDNN_TYPE_FRACTION: return sizeof(cudnnFraction_t);
    default: return sizeof(int32_t); /* the enums */
    }
}

static struct attr *find_attr(sim_desc *d, cudnnBackendAttributeName_t name)
{
    for (int i = 0; i < d->n_attrs; i++)
        if (d->attrs[i].name == name) return &d->attrs[i];
    return NULL;
}

/* The attribute types nnspy's tests set, as the real library checks them. */
static int expected_type(cudnnBackendAttributeName_t name)
{
    switch (name) {
    case CUDNN_ATTR_TENSOR_DATA_TYPE:
    case CUDNN_ATTR_CONVOLUTION_COMP_TYPE:
    case CUDNN_ATTR_MATMUL_COMP_TYPE:
    case CUDNN_ATTR_POINTWISE_MATH_PREC:
    case CUDNN_ATTR_REDUCTION_COMP_TYPE: return CUDNN_TYPE_DATA_TYPE;
    case CUDNN_ATTR_TENSOR_DIMENSIONS:
    case CUDNN_ATTR_TENSOR_STRIDES:
    case CUDNN_ATTR_TENSOR_UNIQUE_ID:
    case CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT:
    case CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS:
    case CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS:
    case CUDNN_ATTR_CONVOLUTION_POST_PADDINGS:
    case CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES:
    case CUDNN_ATTR_CONVOLUTION_DILATIONS:
    case CUDNN_ATTR_ENGINE_GLOBAL_INDEX:
    case CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS: return CUDNN_TYPE_INT64;
    case CUDNN_ATTR_TENSOR_IS_VIRTUAL:
    case CUDNN_ATTR_TENSOR_IS_BY_VALUE: return CUDNN_TYPE_BOOLEAN;
    case CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS:
    case CUDNN_ATTR_VARIANT_PACK_WORKSPACE: return CUDNN_TYPE_VOID_PTR;
    case CUDNN_ATTR_POINTWISE_MODE: return CUDNN_TYPE_POINTWISE_MODE;
    case CUDNN_ATTR_REDUCTION_OPERATOR: return CUDNN_TYPE_REDUCTION_OPERATOR_TYPE;
    case CUDNN_ATTR_CONVOLUTION_CONV_MODE: return CUDNN_TYPE_CONVOLUTION_MODE;
    case CUDNN_ATTR_ENGINEHEUR_MODE: return CUDNN_TYPE_HEUR_MODE;
    case CUDNN_ATTR_OPERATION_NORM_FWD_MODE:
    case CUDNN_ATTR_OPERATION_NORM_BWD_MODE: return CUDNN_TYPE_NORM_MODE;
    case CUDNN_ATTR_OPERATION_NORM_FWD_PHASE: return CUDNN_TYPE_NORM_FWD_PHASE;
    case CUDNN_ATTR_EXECUTION_PLAN_HANDLE: return CUDNN_TYPE_HANDLE;
    case CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA:
    case CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA:
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_ALPHA:
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_BETA:
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_ALPHA:
    case CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_BETA: return -1; /* float or double */
    default: return -2; /* a descriptor, or an attribute the tests do not set */
    }
}

static bool type_ok(cudnnBackendAttributeName_t name, cudnnBackendAttributeType_t type)
{
    int want = expected_type(name);
    if (want == -1) return type == CUDNN_TYPE_FLOAT || type == CUDNN_TYPE_DOUBLE;
    if (want == -2) return true;
    return (int)type == want;
}

cudnnStatus_t cudnnBackendCreateDescriptor(cudnnBackendDescriptorType_t descriptorType,
                                           cudnnBackendDescriptor_t *descriptor)
{
    if (!descriptor) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    if ((int)descriptorType < 0 || descriptorType > CUDNN_BACKEND_OPERATION_SDPA_BWD_DESCRIPTOR)
        return CUDNN_STATUS_BAD_PARAM;
    sim_desc *d = calloc(1, sizeof *d);
    if (!d) return CUDNN_STATUS_ALLOC_FAILED;
    d->magic = DESC_MAGIC;
    d->type = descriptorType;
    d->refs = 1;
    *descriptor = d;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendDestroyDescriptor(cudnnBackendDescriptor_t descriptor)
{
    sim_desc *d = desc_of(descriptor);
    if (!descriptor) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    if (!d) return CUDNN_STATUS_BAD_PARAM;
    d->destroyed = true;
    release(d);
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendSetAttribute(cudnnBackendDescriptor_t descriptor,
                                       cudnnBackendAttributeName_t attributeName,
                                       cudnnBackendAttributeType_t attributeType,
                                       int64_t elementCount, const void *arrayOfElements)
{
    sim_desc *d = desc_of(descriptor);
    if (!descriptor || (elementCount > 0 && !arrayOfElements))
        return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    if (!d || d->finalized || elementCount < 0 || elementCount > 1024 ||
        !type_ok(attributeName, attributeType))
        return CUDNN_STATUS_BAD_PARAM;
    size_t bytes = (size_t)elementCount * type_size(attributeType);
    void *copy = malloc(bytes ? bytes : 1);
    if (!copy) return CUDNN_STATUS_ALLOC_FAILED;
    if (bytes) memcpy(copy, arrayOfElements, bytes);
    struct attr *a = find_attr(d, attributeName);
    if (!a) {
        if (d->n_attrs == MAX_ATTRS) {
            free(copy);
            return CUDNN_STATUS_NOT_SUPPORTED;
        }
        a = &d->attrs[d->n_attrs++];
    } else {
        hold_refs(a, -1);
        free(a->data);
    }
    *a = (struct attr){attributeName, attributeType, elementCount, copy};
    hold_refs(a, +1);
    return CUDNN_STATUS_SUCCESS;
}

/* The descriptor an attribute refers to, or NULL. */
static sim_desc *ref(sim_desc *d, cudnnBackendAttributeName_t name)
{
    struct attr *a = find_attr(d, name);
    if (!a || a->type != CUDNN_TYPE_BACKEND_DESCRIPTOR || a->count < 1) return NULL;
    return raw_of(*(void **)a->data);
}

static bool has(sim_desc *d, cudnnBackendAttributeName_t name)
{
    return find_attr(d, name) != NULL;
}

static bool finalized_ref(sim_desc *d, cudnnBackendAttributeName_t name)
{
    sim_desc *r = ref(d, name);
    return r && r->finalized;
}

static bool tensor_ok(sim_desc *d)
{
    struct attr *dims = find_attr(d, CUDNN_ATTR_TENSOR_DIMENSIONS);
    struct attr *strides = find_attr(d, CUDNN_ATTR_TENSOR_STRIDES);
    if (!dims || !strides || dims->count != strides->count || dims->count < 1 ||
        dims->count > CUDNN_DIM_MAX || !has(d, CUDNN_ATTR_TENSOR_DATA_TYPE) ||
        !has(d, CUDNN_ATTR_TENSOR_UNIQUE_ID))
        return false;
    for (int64_t i = 0; i < dims->count; i++)
        if (((int64_t *)dims->data)[i] <= 0) return false;
    return true;
}

/* Each operation's required tensors (finalized) and descriptors. */
static bool operation_ok(sim_desc *d)
{
    static const struct {
        cudnnBackendDescriptorType_t type;
        cudnnBackendAttributeName_t required[4];
    } table[] = {
        {CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
          CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC}},
        {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_DATA_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX, CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_W,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DY,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_CONV_DESC}},
        {CUDNN_BACKEND_OPERATION_CONVOLUTION_BACKWARD_FILTER_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_X,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DY,
          CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_CONV_DESC}},
        {CUDNN_BACKEND_OPERATION_MATMUL_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_MATMUL_ADESC, CUDNN_ATTR_OPERATION_MATMUL_BDESC,
          CUDNN_ATTR_OPERATION_MATMUL_CDESC, CUDNN_ATTR_OPERATION_MATMUL_DESC}},
        {CUDNN_BACKEND_OPERATION_POINTWISE_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR, CUDNN_ATTR_OPERATION_POINTWISE_XDESC}},
        {CUDNN_BACKEND_OPERATION_REDUCTION_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_REDUCTION_XDESC, CUDNN_ATTR_OPERATION_REDUCTION_YDESC,
          CUDNN_ATTR_OPERATION_REDUCTION_DESC}},
        {CUDNN_BACKEND_OPERATION_NORM_FORWARD_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_NORM_FWD_XDESC, CUDNN_ATTR_OPERATION_NORM_FWD_YDESC}},
        {CUDNN_BACKEND_OPERATION_NORM_BACKWARD_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_NORM_BWD_XDESC, CUDNN_ATTR_OPERATION_NORM_BWD_DYDESC,
          CUDNN_ATTR_OPERATION_NORM_BWD_DXDESC}},
        {CUDNN_BACKEND_OPERATION_SDPA_FWD_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC, CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC,
          CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC, CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC}},
        {CUDNN_BACKEND_OPERATION_RESHAPE_DESCRIPTOR,
         {CUDNN_ATTR_OPERATION_RESHAPE_XDESC, CUDNN_ATTR_OPERATION_RESHAPE_YDESC}},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (table[i].type != d->type) continue;
        for (int r = 0; r < 4 && table[i].required[r]; r++)
            if (!finalized_ref(d, table[i].required[r])) return false;
        return true;
    }
    return true; /* other operations: not checked */
}

static bool is_operation(cudnnBackendDescriptorType_t t)
{
    return t >= CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR &&
           t != CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR &&
           t != CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR && t != CUDNN_BACKEND_TENSOR_DESCRIPTOR &&
           t != CUDNN_BACKEND_MATMUL_DESCRIPTOR && t != CUDNN_BACKEND_REDUCTION_DESCRIPTOR &&
           t != CUDNN_BACKEND_RESAMPLE_DESCRIPTOR && t != CUDNN_BACKEND_RNG_DESCRIPTOR &&
           t != CUDNN_BACKEND_KERNEL_CACHE_DESCRIPTOR && t != CUDNN_BACKEND_DEVICEPROP_DESCRIPTOR;
}

static bool graph_ok(sim_desc *d)
{
    struct attr *ops = find_attr(d, CUDNN_ATTR_OPERATIONGRAPH_OPS);
    if (!ops || ops->type != CUDNN_TYPE_BACKEND_DESCRIPTOR || ops->count < 1) return false;
    for (int64_t i = 0; i < ops->count; i++) {
        sim_desc *op = raw_of(((void **)ops->data)[i]);
        if (!op || !op->finalized || !is_operation(op->type)) return false;
    }
    return true;
}

static bool variant_pack_ok(sim_desc *d)
{
    struct attr *ptrs = find_attr(d, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS);
    struct attr *uids = find_attr(d, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
    return ptrs && uids && ptrs->count == uids->count;
}

static bool plan_ok(sim_desc *d)
{
    struct attr *h = find_attr(d, CUDNN_ATTR_EXECUTION_PLAN_HANDLE);
    cudaStream_t s;
    return finalized_ref(d, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG) && h &&
           sim_cudnn_handle_stream(*(cudnnHandle_t *)h->data, &s);
}

cudnnStatus_t cudnnBackendFinalize(cudnnBackendDescriptor_t descriptor)
{
    sim_desc *d = desc_of(descriptor);
    if (!descriptor) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    if (!d || d->finalized) return CUDNN_STATUS_BAD_PARAM;
    bool ok = true;
    switch (d->type) {
    case CUDNN_BACKEND_TENSOR_DESCRIPTOR: ok = tensor_ok(d); break;
    case CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR:
        ok =
            has(d, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS) && has(d, CUDNN_ATTR_CONVOLUTION_COMP_TYPE);
        break;
    case CUDNN_BACKEND_POINTWISE_DESCRIPTOR: ok = has(d, CUDNN_ATTR_POINTWISE_MODE); break;
    case CUDNN_BACKEND_REDUCTION_DESCRIPTOR: ok = has(d, CUDNN_ATTR_REDUCTION_OPERATOR); break;
    case CUDNN_BACKEND_MATMUL_DESCRIPTOR: ok = has(d, CUDNN_ATTR_MATMUL_COMP_TYPE); break;
    case CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR: ok = graph_ok(d); break;
    case CUDNN_BACKEND_ENGINE_DESCRIPTOR:
        ok = finalized_ref(d, CUDNN_ATTR_ENGINE_OPERATION_GRAPH);
        break;
    case CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR:
        ok = finalized_ref(d, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH) &&
             has(d, CUDNN_ATTR_ENGINEHEUR_MODE);
        break;
    case CUDNN_BACKEND_ENGINECFG_DESCRIPTOR:
        ok = finalized_ref(d, CUDNN_ATTR_ENGINECFG_ENGINE);
        break;
    case CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR: ok = plan_ok(d); break;
    case CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR: ok = variant_pack_ok(d); break;
    default: ok = !is_operation(d->type) || operation_ok(d); break;
    }
    if (ok && is_operation(d->type)) ok = operation_ok(d);
    if (!ok) return CUDNN_STATUS_BAD_PARAM;
    d->finalized = true;
    return CUDNN_STATUS_SUCCESS;
}

/* Heuristics' one result: an engine of the heuristics' graph, finalized. */
static cudnnStatus_t fill_engine_config(sim_desc *heur, sim_desc *cfg)
{
    if (!cfg || cfg->type != CUDNN_BACKEND_ENGINECFG_DESCRIPTOR || cfg->finalized)
        return CUDNN_STATUS_BAD_PARAM;
    cudnnBackendDescriptor_t engine;
    sim_desc *graph = ref(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH);
    int64_t zero = 0;
    cudnnStatus_t st = cudnnBackendCreateDescriptor(CUDNN_BACKEND_ENGINE_DESCRIPTOR, &engine);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendSetAttribute(engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH,
                                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &graph);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendSetAttribute(engine, CUDNN_ATTR_ENGINE_GLOBAL_INDEX, CUDNN_TYPE_INT64, 1,
                                      &zero);
    if (st == CUDNN_STATUS_SUCCESS) st = cudnnBackendFinalize(engine);
    if (st == CUDNN_STATUS_SUCCESS)
        st = cudnnBackendSetAttribute(cfg, CUDNN_ATTR_ENGINECFG_ENGINE,
                                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &engine);
    cudnnBackendDestroyDescriptor(engine); /* the configuration holds it */
    return st == CUDNN_STATUS_SUCCESS ? cudnnBackendFinalize(cfg) : st;
}

cudnnStatus_t cudnnBackendGetAttribute(cudnnBackendDescriptor_t const descriptor,
                                       cudnnBackendAttributeName_t attributeName,
                                       cudnnBackendAttributeType_t attributeType,
                                       int64_t requestedElementCount, int64_t *elementCount,
                                       void *arrayOfElements)
{
    sim_desc *d = desc_of(descriptor);
    if (!descriptor) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    if (!d || !d->finalized || requestedElementCount < 0) return CUDNN_STATUS_BAD_PARAM;
    if (attributeName == CUDNN_ATTR_ENGINEHEUR_RESULTS) {
        if (attributeType != CUDNN_TYPE_BACKEND_DESCRIPTOR || !elementCount)
            return CUDNN_STATUS_BAD_PARAM;
        *elementCount = requestedElementCount < 1 ? requestedElementCount : 1;
        if (*elementCount == 1)
            return fill_engine_config(d, desc_of(((void **)arrayOfElements)[0]));
        return CUDNN_STATUS_SUCCESS;
    }
    if (attributeName == CUDNN_ATTR_EXECUTION_PLAN_WORKSPACE_SIZE ||
        attributeName == CUDNN_ATTR_ENGINECFG_WORKSPACE_SIZE) {
        if (attributeType != CUDNN_TYPE_INT64 || requestedElementCount < 1 || !arrayOfElements)
            return CUDNN_STATUS_BAD_PARAM;
        *(int64_t *)arrayOfElements = 0; /* the sim's engines need no workspace */
        if (elementCount) *elementCount = 1;
        return CUDNN_STATUS_SUCCESS;
    }
    struct attr *a = find_attr(d, attributeName);
    if (!a || a->type != attributeType || a->type == CUDNN_TYPE_BACKEND_DESCRIPTOR)
        return CUDNN_STATUS_NOT_SUPPORTED; /* the sim does not copy descriptors out */
    int64_t n = a->count < requestedElementCount ? a->count : requestedElementCount;
    if (n > 0 && !arrayOfElements) return CUDNN_STATUS_BAD_PARAM_NULL_POINTER;
    memcpy(arrayOfElements, a->data, (size_t)n * type_size(a->type));
    if (elementCount) *elementCount = a->count;
    return CUDNN_STATUS_SUCCESS;
}

/* The plan's operation graph: plan -> engine config -> engine -> graph. */
static sim_desc *plan_graph(sim_desc *plan)
{
    sim_desc *cfg = ref(plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG);
    sim_desc *engine = cfg ? ref(cfg, CUDNN_ATTR_ENGINECFG_ENGINE) : NULL;
    return engine ? ref(engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH) : NULL;
}

static bool bound(sim_desc *pack, int64_t uid)
{
    struct attr *uids = find_attr(pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS);
    struct attr *ptrs = find_attr(pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS);
    for (int64_t i = 0; i < uids->count; i++)
        if (((int64_t *)uids->data)[i] == uid) return ((void **)ptrs->data)[i] != NULL;
    return false;
}

/* Every non-virtual, not-by-value tensor the graph's operations refer to is bound. */
static bool pack_binds_graph(sim_desc *graph, sim_desc *pack)
{
    struct attr *ops = find_attr(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS);
    for (int64_t i = 0; i < ops->count; i++) {
        sim_desc *op = raw_of(((void **)ops->data)[i]);
        for (int a = 0; a < op->n_attrs; a++) {
            if (op->attrs[a].type != CUDNN_TYPE_BACKEND_DESCRIPTOR) continue;
            for (int64_t e = 0; e < op->attrs[a].count; e++) {
                sim_desc *t = raw_of(((void **)op->attrs[a].data)[e]);
                if (!t || t->type != CUDNN_BACKEND_TENSOR_DESCRIPTOR) continue;
                struct attr *v = find_attr(t, CUDNN_ATTR_TENSOR_IS_VIRTUAL);
                struct attr *bv = find_attr(t, CUDNN_ATTR_TENSOR_IS_BY_VALUE);
                struct attr *uid = find_attr(t, CUDNN_ATTR_TENSOR_UNIQUE_ID);
                if ((v && *(bool *)v->data) || (bv && *(bool *)bv->data)) continue;
                if (!bound(pack, *(int64_t *)uid->data)) return false;
            }
        }
    }
    return true;
}

/* The plan's graph, if the plan and the pack are ready to run together. */
static sim_desc *runnable(cudnnBackendDescriptor_t plan, cudnnBackendDescriptor_t pack)
{
    sim_desc *p = desc_of(plan), *v = desc_of(pack);
    if (!p || !v || !p->finalized || !v->finalized ||
        p->type != CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR ||
        v->type != CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR)
        return NULL;
    sim_desc *graph = plan_graph(p);
    return graph && pack_binds_graph(graph, v) ? graph : NULL;
}

static int64_t graph_ops(sim_desc *graph)
{
    return find_attr(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS)->count;
}

cudnnStatus_t cudnnBackendExecute(cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
                                  cudnnBackendDescriptor_t variantPack)
{
    cudaStream_t stream;
    if (!sim_cudnn_handle_stream(handle, &stream)) return CUDNN_STATUS_BAD_PARAM;
    sim_desc *graph = runnable(executionPlan, variantPack);
    if (!graph) return CUDNN_STATUS_BAD_PARAM;
    for (int64_t i = 0; i < graph_ops(graph); i++)
        if (nnspy_sim_launch(stream, 0, 0) != cudaSuccess) return CUDNN_STATUS_EXECUTION_FAILED;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cudnnBackendPopulateCudaGraph(cudnnHandle_t handle,
                                            cudnnBackendDescriptor_t executionPlan,
                                            cudnnBackendDescriptor_t variantPack, cudaGraph_t graph)
{
    cudaStream_t stream;
    if (!sim_cudnn_handle_stream(handle, &stream) || !graph) return CUDNN_STATUS_BAD_PARAM;
    sim_desc *g = runnable(executionPlan, variantPack);
    if (!g) return CUDNN_STATUS_BAD_PARAM;
    for (int64_t i = 0; i < graph_ops(g); i++)
        if (nnspy_sim_graph_add_kernel(graph, 0, 0) != cudaSuccess) return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

/* The graph's kernels stay as populated; only the buffers they use change. */
cudnnStatus_t cudnnBackendUpdateCudaGraph(cudnnHandle_t handle,
                                          cudnnBackendDescriptor_t executionPlan,
                                          cudnnBackendDescriptor_t variantPack, cudaGraph_t graph)
{
    cudaStream_t stream;
    if (!sim_cudnn_handle_stream(handle, &stream) || !graph)
        return CUDNN_STATUS_BAD_PARAM;
    return runnable(executionPlan, variantPack) ? CUDNN_STATUS_SUCCESS : CUDNN_STATUS_BAD_PARAM;
}
