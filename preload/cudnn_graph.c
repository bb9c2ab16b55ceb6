/*
 * cudnn_graph.c: cuDNN's graph (backend) API, which PyTorch 2.x, ONNX Runtime and
 * the cuDNN frontend use for convolutions, matmuls, normalisation and attention.
 *
 * Descriptor calls pass straight through; when they succeed, nnspy shadows what
 * was set (cudnn_graph_shadow.c), so that the cost of an operation graph is known
 * once it is finalized. cudnnBackendExecute is the counted call: it runs an
 * execution plan, and its cost is the plan's graph's, its parameters the variant
 * pack's pointers for the graph's weight tensors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>

#include <cudnn.h>

#include "core.h"
#include "cuda_graphs.h"
#include "cudnn_graph_shadow.h"
#include "cudnn_shared.h"
#include "timing.h"

/* Descriptor calls made inside NVIDIA's libraries (depth > 0) are theirs, not the
 * program's: only the outermost are shadowed. */
#define SHADOW_AROUND(call, on_success)                                                            \
    do {                                                                                           \
        bool outer_ = nn_enter();                                                                  \
        cudnnStatus_t st_ = (call);                                                                \
        if (outer_ && st_ == CUDNN_STATUS_SUCCESS) {                                               \
            int saved_ = errno;                                                                    \
            on_success;                                                                            \
            errno = saved_;                                                                        \
        }                                                                                          \
        nn_leave();                                                                                \
        return st_;                                                                                \
    } while (0)

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendCreateDescriptor,
        (cudnnBackendDescriptorType_t descriptorType, cudnnBackendDescriptor_t *descriptor),
        (descriptorType, descriptor))
{
    NN_REAL_OR_RETURN(cudnnBackendCreateDescriptor, CUDNN_STATUS_NOT_INITIALIZED);
    SHADOW_AROUND(real(descriptorType, descriptor),
                  nn_graph_note_create(*descriptor, descriptorType));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendDestroyDescriptor,
        (cudnnBackendDescriptor_t descriptor), (descriptor))
{
    NN_REAL_OR_RETURN(cudnnBackendDestroyDescriptor, CUDNN_STATUS_NOT_INITIALIZED);
    /* Forgotten before the real call: once it returns, another thread may be given
     * the same address for a new descriptor. */
    if (nn_active()) {
        int saved = errno;
        nn_graph_note_destroy(descriptor);
        errno = saved;
    }
    return real(descriptor);
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendSetAttribute,
        (cudnnBackendDescriptor_t descriptor, cudnnBackendAttributeName_t attributeName,
         cudnnBackendAttributeType_t attributeType, int64_t elementCount,
         const void *arrayOfElements),
        (descriptor, attributeName, attributeType, elementCount, arrayOfElements))
{
    NN_REAL_OR_RETURN(cudnnBackendSetAttribute, CUDNN_STATUS_NOT_INITIALIZED);
    SHADOW_AROUND(
        real(descriptor, attributeName, attributeType, elementCount, arrayOfElements),
        nn_graph_note_set(descriptor, attributeName, attributeType, elementCount, arrayOfElements));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendGetAttribute,
        (cudnnBackendDescriptor_t const descriptor, cudnnBackendAttributeName_t attributeName,
         cudnnBackendAttributeType_t attributeType, int64_t requestedElementCount,
         int64_t *elementCount, void *arrayOfElements),
        (descriptor, attributeName, attributeType, requestedElementCount, elementCount,
         arrayOfElements))
{
    NN_REAL_OR_RETURN(cudnnBackendGetAttribute, CUDNN_STATUS_NOT_INITIALIZED);
    SHADOW_AROUND(real(descriptor, attributeName, attributeType, requestedElementCount,
                       elementCount, arrayOfElements),
                  nn_graph_note_get(descriptor, attributeName, attributeType,
                                    elementCount && *elementCount < requestedElementCount
                                        ? *elementCount
                                        : requestedElementCount,
                                    arrayOfElements));
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendFinalize, (cudnnBackendDescriptor_t descriptor),
        (descriptor))
{
    NN_REAL_OR_RETURN(cudnnBackendFinalize, CUDNN_STATUS_NOT_INITIALIZED);
    SHADOW_AROUND(real(descriptor), nn_graph_note_finalize(descriptor));
}

/* ------------------------------------------------------------ execution */

/* Fills op from what one execution of the plan costs and reads. */
static void describe_execution(nn_op *op, const nn_graph_execution *ex)
{
    const nn_graph_cost *g = &ex->cost;
    op->op = g->op ? g->op : "graph";
    op->dtype = g->dtype;
    op->tune_key = g->id;
    op->tune_variant = ex->plan_serial;
    if (!g->known) return; /* some operation of the graph could not be counted */
    op->cost_known = true;
    op->cost = g->cost;
    op->params_incomplete = g->params_incomplete;
    memcpy(op->shape, g->shape, sizeof op->shape);
    for (int i = 0; i < g->n_params; i++)
        if (ex->param_ptrs[i])
            nn_op_add_param(op, ex->param_ptrs[i], g->params[i].elements, g->params[i].dtype,
                            g->params[i].buffer ? NN_PARAM_BUFFER : g->params[i].rule);
    /* Every output the graph writes to memory is an activation from now on. */
    for (int i = 0, more = 0; i < g->n_outputs; i++) {
        if (!ex->output_ptrs[i]) continue;
        if (!op->output) {
            op->output = ex->output_ptrs[i];
            op->output_bytes = g->outputs[i].bytes;
        } else if (more < NN_MAX_MORE_OUTPUTS) {
            op->more_outputs[more] = ex->output_ptrs[i];
            op->more_output_bytes[more++] = g->outputs[i].bytes;
        }
    }
}

static nn_op execution_op(const void *plan, const void *pack, bool succeeded)
{
    nn_op op = {
        .api = NN_API_CUDNN, .call = "cudnnBackendExecute", .op = "graph", .succeeded = succeeded};
    nn_graph_execution ex;
    if (succeeded && nn_graph_lookup_execution(plan, pack, &ex)) describe_execution(&op, &ex);
    return op;
}

NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendExecute,
        (cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
         cudnnBackendDescriptor_t variantPack),
        (handle, executionPlan, variantPack))
{
    NN_REAL_OR_RETURN(cudnnBackendExecute, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    nn_timing_mark tm = {.ctx = -1};
    void *stream = outer ? nn_cudnn_handle_stream(copy, handle) : NULL;
    if (outer) nn_timing_start(&tm, stream);
    cudnnStatus_t st = real(handle, executionPlan, variantPack);
    if (outer) {
        int saved = errno;
        nn_op op = execution_op(executionPlan, variantPack, st == CUDNN_STATUS_SUCCESS);
        nn_timing_finish(&tm, stream, op.succeeded, nn_record_on_stream(&op, stream));
        errno = saved;
    }
    nn_leave();
    return st;
}

/*
 * cuDNN adds the plan's work to a CUDA graph the program launches later: no work
 * runs now. The operation belongs to that graph (cuda_graphs.c) and is counted at
 * each of its launches.
 */
NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendPopulateCudaGraph,
        (cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
         cudnnBackendDescriptor_t variantPack, cudaGraph_t graph),
        (handle, executionPlan, variantPack, graph))
{
    NN_REAL_OR_RETURN(cudnnBackendPopulateCudaGraph, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    cudnnStatus_t st = real(handle, executionPlan, variantPack, graph);
    if (outer && st == CUDNN_STATUS_SUCCESS) {
        int saved = errno;
        nn_op op = execution_op(executionPlan, variantPack, true);
        op.call = "cudnnBackendPopulateCudaGraph";
        nn_cuda_graph_add_op(graph, &op);
        errno = saved;
    }
    nn_leave();
    return st;
}

/* The graph's cuDNN nodes now read and write the new variant pack's buffers: the
 * plan's calls in the graph take the new pack's parameters and outputs. */
NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnBackendUpdateCudaGraph,
        (cudnnHandle_t handle, cudnnBackendDescriptor_t executionPlan,
         cudnnBackendDescriptor_t variantPack, cudaGraph_t graph),
        (handle, executionPlan, variantPack, graph))
{
    NN_REAL_OR_RETURN(cudnnBackendUpdateCudaGraph, CUDNN_STATUS_NOT_INITIALIZED);
    bool outer = nn_enter();
    cudnnStatus_t st = real(handle, executionPlan, variantPack, graph);
    if (outer && st == CUDNN_STATUS_SUCCESS) {
        int saved = errno;
        nn_op op = execution_op(executionPlan, variantPack, true);
        op.call = "cudnnBackendPopulateCudaGraph";
        nn_cuda_graph_update_op(graph, &op);
        errno = saved;
    }
    nn_leave();
    return st;
}
