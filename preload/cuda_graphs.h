/*
 * cuda_graphs.h: operations captured into CUDA graphs and counted at each launch
 * (cuda_graphs.c).
 */
#ifndef NNSPY_PRELOAD_CUDA_GRAPHS_H
#define NNSPY_PRELOAD_CUDA_GRAPHS_H

#include <stdint.h>

#include "core.h"

/* What nn_record_on_stream returns for an operation kept for a graph: no call number. */
#define NN_CALL_CAPTURED UINT64_MAX

/*
 * Records op now, or, when its stream is being captured into a CUDA graph, keeps it
 * for that graph: it is then recorded at each launch of the graph, not now. Returns
 * the call number, or NN_CALL_CAPTURED.
 */
uint64_t nn_record_on_stream(const nn_op *op, void *stream);

/* Adds op to a graph the program built (cudnnBackendPopulateCudaGraph). `graph` is a
 * cudaGraph_t. */
void nn_cuda_graph_add_op(void *graph, const nn_op *op);

/* Replaces, in `graph`, the calls of op's plan (same tune_key and tune_variant) added
 * by nn_cuda_graph_add_op with op (cudnnBackendUpdateCudaGraph: a new variant pack). */
void nn_cuda_graph_update_op(void *graph, const nn_op *op);

#endif
