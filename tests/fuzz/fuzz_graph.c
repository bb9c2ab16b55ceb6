/*
 * fuzz_graph: libFuzzer target for the shadow of cuDNN graph descriptors
 * (preload/cudnn_graph_shadow.c, cudnn_graph_cost.c). The input is a program of
 * descriptor calls on a small pool of descriptor addresses: create (any type), set
 * (any attribute, type, count and elements; descriptors from the pool), get,
 * finalize, destroy and execution lookups, in any order: what a program may make
 * the real library accept. Any crash, sanitizer report or broken invariant (a leak
 * of shadows once all are destroyed, more parameters than the bound) is a finding.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cudnn_graph_shadow.h"

/* The preload's core, as the shadow uses it. */
void nn_warn(const char *fmt, ...)
{
    (void)fmt;
}

void nn_fork_protect(pthread_mutex_t *m, void (*child_hook)(void))
{
    (void)m;
    (void)child_hook;
}

#define POOL 12
static char pool[POOL];

static const uint8_t *in;
static size_t left;

static uint8_t next_u8(void)
{
    if (!left) return 0;
    left--;
    return *in++;
}

static void next_bytes(void *out, size_t n)
{
    size_t k = n < left ? n : left;
    memcpy(out, in, k);
    memset((char *)out + k, 0, n - k);
    in += k;
    left -= k;
}

static const void *next_desc(void)
{
    uint8_t b = next_u8();
    return b == 255 ? NULL : &pool[b % POOL];
}

/* The attributes the shadow reads, and any other value. */
static cudnnBackendAttributeName_t next_attribute(void)
{
    static const cudnnBackendAttributeName_t known[] = {
        CUDNN_ATTR_TENSOR_DATA_TYPE,
        CUDNN_ATTR_TENSOR_DIMENSIONS,
        CUDNN_ATTR_TENSOR_STRIDES,
        CUDNN_ATTR_TENSOR_UNIQUE_ID,
        CUDNN_ATTR_TENSOR_IS_VIRTUAL,
        CUDNN_ATTR_TENSOR_IS_BY_VALUE,
        CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS,
        CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS,
        CUDNN_ATTR_CONVOLUTION_POST_PADDINGS,
        CUDNN_ATTR_POINTWISE_MODE,
        CUDNN_ATTR_REDUCTION_OPERATOR,
        CUDNN_ATTR_OPERATIONGRAPH_OPS,
        CUDNN_ATTR_ENGINE_OPERATION_GRAPH,
        CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH,
        CUDNN_ATTR_ENGINECFG_ENGINE,
        CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
        CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS,
        CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS,
        CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X,
        CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W,
        CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y,
        CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
        CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA,
        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_DATA_DX,
        CUDNN_ATTR_OPERATION_CONVOLUTION_BWD_FILTER_DW,
        CUDNN_ATTR_OPERATION_MATMUL_ADESC,
        CUDNN_ATTR_OPERATION_MATMUL_BDESC,
        CUDNN_ATTR_OPERATION_MATMUL_CDESC,
        CUDNN_ATTR_OPERATION_POINTWISE_PW_DESCRIPTOR,
        CUDNN_ATTR_OPERATION_POINTWISE_XDESC,
        CUDNN_ATTR_OPERATION_POINTWISE_BDESC,
        CUDNN_ATTR_OPERATION_POINTWISE_YDESC,
        CUDNN_ATTR_OPERATION_POINTWISE_DXDESC,
        CUDNN_ATTR_OPERATION_REDUCTION_XDESC,
        CUDNN_ATTR_OPERATION_REDUCTION_YDESC,
        CUDNN_ATTR_OPERATION_REDUCTION_DESC,
        CUDNN_ATTR_OPERATION_NORM_FWD_MODE,
        CUDNN_ATTR_OPERATION_NORM_FWD_PHASE,
        CUDNN_ATTR_OPERATION_NORM_FWD_XDESC,
        CUDNN_ATTR_OPERATION_NORM_FWD_SCALE_DESC,
        CUDNN_ATTR_OPERATION_NORM_FWD_MEAN_DESC,
        CUDNN_ATTR_OPERATION_NORM_FWD_YDESC,
        CUDNN_ATTR_OPERATION_NORM_BWD_MODE,
        CUDNN_ATTR_OPERATION_NORM_BWD_XDESC,
        CUDNN_ATTR_OPERATION_NORM_BWD_DXDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_QDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_KDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_VDESC,
        CUDNN_ATTR_OPERATION_SDPA_FWD_ODESC,
        CUDNN_ATTR_OPERATION_SDPA_BWD_DQDESC,
        CUDNN_ATTR_OPERATION_RESHAPE_XDESC,
        CUDNN_ATTR_OPERATION_RESHAPE_YDESC,
        CUDNN_ATTR_OPERATION_CONCAT_INPUT_DESCS,
        CUDNN_ATTR_OPERATION_CONCAT_OUTPUT_DESC,
    };
    uint8_t b = next_u8();
    if (b < 2 * (sizeof known / sizeof known[0])) return known[b / 2];
    int32_t any;
    next_bytes(&any, sizeof any);
    return (cudnnBackendAttributeName_t)any;
}

static size_t element_size(cudnnBackendAttributeType_t t)
{
    switch (t) {
    case CUDNN_TYPE_INT64: return 8;
    case CUDNN_TYPE_DOUBLE: return 8;
    case CUDNN_TYPE_BOOLEAN: return sizeof(bool);
    case CUDNN_TYPE_VOID_PTR:
    case CUDNN_TYPE_BACKEND_DESCRIPTOR: return sizeof(void *);
    default: return 4;
    }
}

static void do_set(bool as_get)
{
    static const cudnnBackendAttributeType_t types[] = {
        CUDNN_TYPE_INT64,
        CUDNN_TYPE_BACKEND_DESCRIPTOR,
        CUDNN_TYPE_DATA_TYPE,
        CUDNN_TYPE_BOOLEAN,
        CUDNN_TYPE_FLOAT,
        CUDNN_TYPE_DOUBLE,
        CUDNN_TYPE_VOID_PTR,
        CUDNN_TYPE_POINTWISE_MODE,
        CUDNN_TYPE_REDUCTION_OPERATOR_TYPE,
        CUDNN_TYPE_NORM_MODE,
        CUDNN_TYPE_NORM_FWD_PHASE,
    };
    const void *desc = next_desc();
    cudnnBackendAttributeName_t name =
        as_get ? (cudnnBackendAttributeName_t)(next_u8() % 2 ? CUDNN_ATTR_ENGINEHEUR_RESULTS
                                                             : CUDNN_ATTR_ENGINECFG_ENGINE)
               : next_attribute();
    cudnnBackendAttributeType_t type = types[next_u8() % (sizeof types / sizeof types[0])];
    int64_t count = next_u8() % 80 - 4; /* negative counts too: the shadow must refuse them */
    size_t n = count > 0 ? (size_t)count : 0;
    unsigned char *elements = calloc(n ? n : 1, 8);
    if (!elements) return;
    if (type == CUDNN_TYPE_BACKEND_DESCRIPTOR) {
        const void **descs = (const void **)elements;
        for (size_t i = 0; i < n; i++) descs[i] = next_desc();
    } else {
        next_bytes(elements, n * element_size(type));
    }
    if (as_get)
        nn_graph_note_get(desc, name, type, count, elements);
    else
        nn_graph_note_set(desc, name, type, count, elements);
    free(elements);
}

static void check_lookup(void)
{
    nn_graph_execution ex;
    const void *plan = next_desc(), *pack = next_desc();
    if (!nn_graph_lookup_execution(plan, pack, &ex)) return;
    if (ex.cost.n_params > NN_GRAPH_MAX_PARAMS || ex.cost.n_outputs > NN_GRAPH_MAX_OUTPUTS ||
        !ex.cost.op || strnlen(ex.cost.shape, NN_SHAPE_LEN) == NN_SHAPE_LEN)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in = data;
    left = size;
    while (left) {
        switch (next_u8() % 7) {
        case 0:
            nn_graph_note_create(next_desc(), (cudnnBackendDescriptorType_t)(next_u8() % 45));
            break;
        case 1:
        case 2: do_set(false); break;
        case 3: do_set(true); break;
        case 4: nn_graph_note_finalize(next_desc()); break;
        case 5: nn_graph_note_destroy(next_desc()); break;
        case 6: check_lookup(); break;
        }
    }
    for (int i = 0; i < POOL; i++) nn_graph_note_destroy(&pool[i]);
    if (nn_graph_live_shadows() != 0) abort(); /* every shadow freed with its descriptor */
    return 0;
}
