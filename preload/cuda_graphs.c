/*
 * cuda_graphs.c: CUDA Graphs. A cuDNN or cuBLAS call made while its stream is
 * being captured runs nothing: its work becomes part of the captured graph, and
 * runs at each launch of that graph, with no library call at all (PyTorch's
 * CUDAGraph, torch.compile's "reduce-overhead"). So nnspy keeps such calls with
 * the capture, hands them to the graph at cudaStreamEndCapture, to each executable
 * graph instantiated from it, and records them again at each cudaGraphLaunch,
 * after a cudaGraphLaunch row that carries the launch's GPU time as one unit.
 *
 * Both the runtime API (PyTorch) and the driver API (XLA) are followed, with
 * captures into a graph the program made and child graph nodes (XLA's command
 * buffers). Graphs built kernel node by kernel node, cloned, or updated in place
 * with cudaGraphExecUpdate are not, except for the nodes cudnnBackendPopulateCudaGraph
 * adds.
 */
#define _GNU_SOURCE
#include "cuda_graphs.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cuda.h>
#include <cuda_runtime_api.h>

#include "addrmap.h"
#include "sites.h"
#include "timing.h"

#define MAX_CAPTURES      64
#define MAX_OPS_PER_GRAPH (1u << 16)
#define MAX_GRAPHS        (1u << 14) /* graphs and executable graphs, live */

/* The operations of a graph, shared (counted references) by the graph and the
 * executable graphs made from it; never changed once shared. */
typedef struct op_list {
    int refs;
    nn_op *ops;
    uint32_t n, cap;
} op_list;

struct capture {
    void *stream;
    op_list *ops;
};

static pthread_mutex_t graphs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct capture captures[MAX_CAPTURES];
static int active_captures; /* read without the lock on the hot path */
static nn_addrmap graphs = {.max_slots = 2 * MAX_GRAPHS}; /* cudaGraph_t -> op_list */
static nn_addrmap execs = {.max_slots = 2 * MAX_GRAPHS};  /* cudaGraphExec_t -> op_list */

__attribute__((constructor)) static void protect_graphs_lock(void)
{
    nn_fork_protect(&graphs_lock, NULL);
}

/* ------------------------------------------------------------ op lists (under the lock) */

static op_list *list_new(void)
{
    op_list *l = calloc(1, sizeof *l);
    if (l) l->refs = 1;
    return l;
}

static op_list *list_ref(op_list *l)
{
    if (l) l->refs++;
    return l;
}

static void list_release(op_list *l)
{
    if (l && --l->refs == 0) {
        free(l->ops);
        free(l);
    }
}

static void list_append(op_list *l, const nn_op *op)
{
    if (l->n == l->cap) {
        uint32_t cap = l->cap ? 2 * l->cap : 32;
        nn_op *grown = cap <= MAX_OPS_PER_GRAPH ? realloc(l->ops, cap * sizeof *grown) : NULL;
        if (!grown) {
            nn_warn_once("a CUDA graph holds more than %u intercepted calls, or memory ran out: "
                         "the rest are not counted at its launches",
                         MAX_OPS_PER_GRAPH);
            return;
        }
        l->ops = grown;
        l->cap = cap;
    }
    l->ops[l->n++] = *op;
}

static op_list *map_get(nn_addrmap *m, const void *key)
{
    nn_addrmap_slot *s = key ? nn_addrmap_find(m, (uintptr_t)key) : NULL;
    return s ? (op_list *)(uintptr_t)s->value : NULL;
}

/* Binds key to l, handing the map the caller's reference to l, and drops what key
 * was bound to; false when the map is full (the reference is still the caller's). */
static bool map_adopt(nn_addrmap *m, const void *key, op_list *l)
{
    nn_addrmap_slot *s = key ? nn_addrmap_insert(m, (uintptr_t)key) : NULL;
    if (!s) {
        if (key)
            nn_warn_once("more than %u live CUDA graphs: launches of the others count nothing",
                         MAX_GRAPHS);
        return false;
    }
    op_list *old = (op_list *)(uintptr_t)s->value;
    s->value = (uint64_t)(uintptr_t)l;
    list_release(old);
    return true;
}

/* Binds key to l too (one more reference to it). */
static void map_put(nn_addrmap *m, const void *key, op_list *l)
{
    if (!map_adopt(m, key, list_ref(l))) list_release(l);
}

static void map_drop(nn_addrmap *m, const void *key)
{
    op_list *l = map_get(m, key);
    if (!l) return;
    nn_addrmap_erase(m, (uintptr_t)key);
    list_release(l);
}

/* Under the lock: the call list of `graph` that may be added to, made if it has
 * none; a list shared with executable graphs already made stays as they saw it, and
 * the graph gets a copy of its own. NULL when there is no room. */
static op_list *writable_list(void *graph)
{
    op_list *l = map_get(&graphs, graph);
    if (!l && (l = list_new()) && !map_adopt(&graphs, graph, l)) {
        list_release(l);
        l = NULL;
    }
    if (l && l->refs > 1) {
        op_list *copy = list_new();
        for (uint32_t i = 0; copy && i < l->n; i++) list_append(copy, &l->ops[i]);
        if (copy && !map_adopt(&graphs, graph, copy)) {
            list_release(copy);
            copy = NULL;
        }
        l = copy;
    }
    return l;
}

/* Under the lock: appends the calls of `from` to graph's. */
static void append_calls(void *graph, const op_list *from)
{
    op_list *l = from && from->n ? writable_list(graph) : NULL;
    /* A graph added to itself as a child: the calls as they were before. */
    uint32_t n = from ? from->n : 0;
    for (uint32_t i = 0; l && i < n; i++) list_append(l, &from->ops[i]);
}

/* ------------------------------------------------------------ captures */

static struct capture *capture_of(void *stream)
{
    for (int i = 0; i < MAX_CAPTURES; i++)
        if (captures[i].ops && captures[i].stream == stream) return &captures[i];
    return NULL;
}

static void capture_begin(void *stream)
{
    pthread_mutex_lock(&graphs_lock);
    struct capture *c = capture_of(stream);
    for (int i = 0; !c && i < MAX_CAPTURES; i++)
        if (!captures[i].ops) c = &captures[i];
    if (c && !c->ops) {
        c->stream = stream;
        c->ops = list_new();
        if (c->ops) __atomic_add_fetch(&active_captures, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&graphs_lock);
    if (!c)
        nn_warn_once("more than %d streams captured at once: calls in the others are counted "
                     "when captured, not when launched",
                     MAX_CAPTURES);
}

/* Ends the capture of stream; its calls go to `graph` (NULL: the capture failed),
 * after any it already holds (a capture into an existing graph). */
static void capture_end(void *stream, void *graph)
{
    pthread_mutex_lock(&graphs_lock);
    struct capture *c = capture_of(stream);
    if (c) {
        if (graph && map_get(&graphs, graph))
            append_calls(graph, c->ops);
        else if (graph)
            map_put(&graphs, graph, c->ops);
        list_release(c->ops);
        *c = (struct capture){0};
        __atomic_sub_fetch(&active_captures, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&graphs_lock);
}

uint64_t nn_record_on_stream(const nn_op *op, void *stream)
{
    if (__atomic_load_n(&active_captures, __ATOMIC_ACQUIRE) == 0) return nn_record(op);
    nn_op kept = *op;
    if (!kept.site) kept.site = nn_site_current(); /* outside the lock: it may read the stack */
    pthread_mutex_lock(&graphs_lock);
    struct capture *c = capture_of(stream);
    if (c) list_append(c->ops, &kept);
    pthread_mutex_unlock(&graphs_lock);
    /* A stream that joined a capture through an event is not known here: its calls
     * are recorded as they are made. */
    return c ? NN_CALL_CAPTURED : nn_record(op);
}

void nn_cuda_graph_add_op(void *graph, const nn_op *op)
{
    nn_op kept = *op;
    if (!kept.site) kept.site = nn_site_current();
    pthread_mutex_lock(&graphs_lock);
    op_list *l = writable_list(graph);
    if (l) list_append(l, &kept);
    pthread_mutex_unlock(&graphs_lock);
}

void nn_cuda_graph_update_op(void *graph, const nn_op *op)
{
    pthread_mutex_lock(&graphs_lock);
    op_list *l = map_get(&graphs, graph) ? writable_list(graph) : NULL;
    for (uint32_t i = 0; l && i < l->n; i++) {
        nn_op *old = &l->ops[i];
        if (old->call != op->call || old->tune_key != op->tune_key ||
            old->tune_variant != op->tune_variant)
            continue;
        uint32_t site = old->site; /* where it was populated */
        *old = *op;
        old->site = site;
    }
    pthread_mutex_unlock(&graphs_lock);
}

/* A child graph node: the child's calls (as they are now: the node is a copy) run
 * at each launch of the parent too. */
static void note_child_added(bool succeeded, void *graph, const void *child)
{
    if (!succeeded || !nn_active()) return;
    int saved = errno;
    pthread_mutex_lock(&graphs_lock);
    op_list *calls = list_ref(map_get(&graphs, child));
    append_calls(graph, calls);
    list_release(calls);
    pthread_mutex_unlock(&graphs_lock);
    errno = saved;
}

/* ------------------------------------------------------------ launches */

/* A copy of the executable graph's operations (free() it), or NULL. */
static nn_op *launch_ops(const void *exec, uint32_t *n)
{
    nn_op *ops = NULL;
    *n = 0;
    pthread_mutex_lock(&graphs_lock);
    const op_list *l = map_get(&execs, exec);
    if (l && l->n && (ops = malloc(l->n * sizeof *ops))) {
        memcpy(ops, l->ops, l->n * sizeof *ops);
        *n = l->n;
    }
    pthread_mutex_unlock(&graphs_lock);
    return ops;
}

/* The row a launch adds: no work of its own, the whole graph's GPU time. */
static nn_op launch_row(bool succeeded, uint32_t n_ops)
{
    nn_op op = {.api = NN_API_CUDA,
                .call = "cudaGraphLaunch",
                .op = "graph_launch",
                .succeeded = succeeded,
                .cost_known = true};
    if (nn_listing_open()) {
        char text[48];
        size_t pos = 0;
        snprintf(text, sizeof text, "%u captured calls", n_ops);
        nn_shape_append_text(op.shape, sizeof op.shape, &pos, text);
    }
    return op;
}

/* ------------------------------------------------------------ shared by both APIs */

static void note_capture_begun(bool succeeded, void *stream)
{
    int saved = errno;
    if (succeeded) capture_begin(stream);
    errno = saved;
}

/* A failed capture (invalidated) ends it too. */
static void note_capture_ended(bool succeeded, void *stream, void *const *graph)
{
    int saved = errno;
    capture_end(stream, succeeded && graph ? *graph : NULL);
    errno = saved;
}

static void note_instantiated(bool succeeded, void *const *exec, const void *graph)
{
    if (!succeeded || !exec || !nn_active()) return;
    int saved = errno;
    pthread_mutex_lock(&graphs_lock);
    op_list *l = map_get(&graphs, graph);
    if (l)
        map_put(&execs, *exec, l);
    else
        map_drop(&execs, *exec); /* a graph with nothing of ours; the address may be reused */
    pthread_mutex_unlock(&graphs_lock);
    errno = saved;
}

/* Forgotten before the real destroy: once it returns, the address may be reused. */
static void forget(nn_addrmap *m, const void *key)
{
    if (!nn_active()) return;
    int saved = errno;
    pthread_mutex_lock(&graphs_lock);
    map_drop(m, key);
    pthread_mutex_unlock(&graphs_lock);
    errno = saved;
}

/* A launch of an executable graph that holds calls of ours: timed as one unit. */
typedef struct launch {
    nn_op *ops; /* NULL: nothing of ours in it, or not the outermost call */
    uint32_t n;
    nn_timing_mark tm;
} launch;

static void launch_begin(launch *l, bool outer, const void *exec, void *stream)
{
    *l = (launch){.tm = {.ctx = -1}};
    l->ops = outer ? launch_ops(exec, &l->n) : NULL;
    if (l->ops) nn_timing_start(&l->tm, stream);
}

/* The launch's row, then each call it replays, untimed (the row has the time). */
static void launch_end(launch *l, void *stream, bool succeeded)
{
    if (!l->ops) return;
    int saved = errno;
    nn_op row = launch_row(succeeded, l->n);
    nn_timing_finish(&l->tm, stream, row.succeeded, nn_record_on_stream(&row, stream));
    for (uint32_t i = 0; row.succeeded && i < l->n; i++) {
        l->ops[i].in_graph_launch = true;
        nn_record_on_stream(&l->ops[i], stream);
    }
    free(l->ops);
    errno = saved;
}

/* ------------------------------------------------------------ the runtime API */

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaStreamBeginCapture,
        (cudaStream_t stream, enum cudaStreamCaptureMode mode), (stream, mode))
{
    NN_REAL_OR_RETURN(cudaStreamBeginCapture, cudaErrorInitializationError);
    bool outer = nn_enter();
    cudaError_t st = real(stream, mode);
    if (outer) note_capture_begun(st == cudaSuccess, stream);
    nn_leave();
    return st;
}

/* Capture into a graph the program made (XLA's command buffers trace this way). */
NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaStreamBeginCaptureToGraph,
        (cudaStream_t stream, cudaGraph_t graph, const cudaGraphNode_t *dependencies,
         const cudaGraphEdgeData *dependencyData, size_t numDependencies,
         enum cudaStreamCaptureMode mode),
        (stream, graph, dependencies, dependencyData, numDependencies, mode))
{
    NN_REAL_OR_RETURN(cudaStreamBeginCaptureToGraph, cudaErrorInitializationError);
    bool outer = nn_enter();
    cudaError_t st = real(stream, graph, dependencies, dependencyData, numDependencies, mode);
    if (outer) note_capture_begun(st == cudaSuccess, stream);
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaGraphAddChildGraphNode,
        (cudaGraphNode_t * pGraphNode, cudaGraph_t graph, const cudaGraphNode_t *pDependencies,
         size_t numDependencies, cudaGraph_t childGraph),
        (pGraphNode, graph, pDependencies, numDependencies, childGraph))
{
    NN_REAL_OR_RETURN(cudaGraphAddChildGraphNode, cudaErrorInitializationError);
    cudaError_t st = real(pGraphNode, graph, pDependencies, numDependencies, childGraph);
    note_child_added(st == cudaSuccess, graph, childGraph);
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaStreamEndCapture,
        (cudaStream_t stream, cudaGraph_t *graph), (stream, graph))
{
    NN_REAL_OR_RETURN(cudaStreamEndCapture, cudaErrorInitializationError);
    bool outer = nn_enter();
    cudaError_t st = real(stream, graph);
    if (outer) note_capture_ended(st == cudaSuccess, stream, (void *const *)graph);
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaGraphInstantiate,
        (cudaGraphExec_t * pGraphExec, cudaGraph_t graph, unsigned long long flags),
        (pGraphExec, graph, flags))
{
    NN_REAL_OR_RETURN(cudaGraphInstantiate, cudaErrorInitializationError);
    cudaError_t st = real(pGraphExec, graph, flags);
    note_instantiated(st == cudaSuccess, (void *const *)pGraphExec, graph);
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaGraphInstantiateWithFlags,
        (cudaGraphExec_t * pGraphExec, cudaGraph_t graph, unsigned long long flags),
        (pGraphExec, graph, flags))
{
    NN_REAL_OR_RETURN(cudaGraphInstantiateWithFlags, cudaErrorInitializationError);
    cudaError_t st = real(pGraphExec, graph, flags);
    note_instantiated(st == cudaSuccess, (void *const *)pGraphExec, graph);
    return st;
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaGraphDestroy, (cudaGraph_t graph), (graph))
{
    NN_REAL_OR_RETURN(cudaGraphDestroy, cudaErrorInitializationError);
    forget(&graphs, graph);
    return real(graph);
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaGraphExecDestroy, (cudaGraphExec_t exec), (exec))
{
    NN_REAL_OR_RETURN(cudaGraphExecDestroy, cudaErrorInitializationError);
    forget(&execs, exec);
    return real(exec);
}

NN_WRAP(NN_FAMILY_CUDART, cudaError_t, cudaGraphLaunch, (cudaGraphExec_t exec, cudaStream_t stream),
        (exec, stream))
{
    NN_REAL_OR_RETURN(cudaGraphLaunch, cudaErrorInitializationError);
    launch l;
    launch_begin(&l, nn_enter(), exec, stream);
    cudaError_t st = real(exec, stream);
    launch_end(&l, stream, st == cudaSuccess);
    nn_leave();
    return st;
}

/* ------------------------------------------------------------ the driver API */

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuStreamBeginCapture_v2,
        (CUstream hStream, CUstreamCaptureMode mode), (hStream, mode))
{
    NN_REAL_OR_RETURN(cuStreamBeginCapture_v2, CUDA_ERROR_NOT_INITIALIZED);
    bool outer = nn_enter();
    CUresult st = real(hStream, mode);
    if (outer) note_capture_begun(st == CUDA_SUCCESS, hStream);
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuStreamBeginCaptureToGraph,
        (CUstream hStream, CUgraph hGraph, const CUgraphNode *dependencies,
         const CUgraphEdgeData *dependencyData, size_t numDependencies, CUstreamCaptureMode mode),
        (hStream, hGraph, dependencies, dependencyData, numDependencies, mode))
{
    NN_REAL_OR_RETURN(cuStreamBeginCaptureToGraph, CUDA_ERROR_NOT_INITIALIZED);
    bool outer = nn_enter();
    CUresult st = real(hStream, hGraph, dependencies, dependencyData, numDependencies, mode);
    if (outer) note_capture_begun(st == CUDA_SUCCESS, hStream);
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuGraphAddChildGraphNode,
        (CUgraphNode * phGraphNode, CUgraph hGraph, const CUgraphNode *dependencies,
         size_t numDependencies, CUgraph childGraph),
        (phGraphNode, hGraph, dependencies, numDependencies, childGraph))
{
    NN_REAL_OR_RETURN(cuGraphAddChildGraphNode, CUDA_ERROR_NOT_INITIALIZED);
    CUresult st = real(phGraphNode, hGraph, dependencies, numDependencies, childGraph);
    note_child_added(st == CUDA_SUCCESS, hGraph, childGraph);
    return st;
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuStreamEndCapture, (CUstream hStream, CUgraph *phGraph),
        (hStream, phGraph))
{
    NN_REAL_OR_RETURN(cuStreamEndCapture, CUDA_ERROR_NOT_INITIALIZED);
    bool outer = nn_enter();
    CUresult st = real(hStream, phGraph);
    if (outer) note_capture_ended(st == CUDA_SUCCESS, hStream, (void *const *)phGraph);
    nn_leave();
    return st;
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuGraphInstantiateWithFlags,
        (CUgraphExec * phGraphExec, CUgraph hGraph, unsigned long long flags),
        (phGraphExec, hGraph, flags))
{
    NN_REAL_OR_RETURN(cuGraphInstantiateWithFlags, CUDA_ERROR_NOT_INITIALIZED);
    CUresult st = real(phGraphExec, hGraph, flags);
    note_instantiated(st == CUDA_SUCCESS, (void *const *)phGraphExec, hGraph);
    return st;
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuGraphDestroy, (CUgraph hGraph), (hGraph))
{
    NN_REAL_OR_RETURN(cuGraphDestroy, CUDA_ERROR_NOT_INITIALIZED);
    forget(&graphs, hGraph);
    return real(hGraph);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuGraphExecDestroy, (CUgraphExec hGraphExec), (hGraphExec))
{
    NN_REAL_OR_RETURN(cuGraphExecDestroy, CUDA_ERROR_NOT_INITIALIZED);
    forget(&execs, hGraphExec);
    return real(hGraphExec);
}

NN_WRAP(NN_FAMILY_CUDA_DRIVER, CUresult, cuGraphLaunch, (CUgraphExec hGraphExec, CUstream hStream),
        (hGraphExec, hStream))
{
    NN_REAL_OR_RETURN(cuGraphLaunch, CUDA_ERROR_NOT_INITIALIZED);
    launch l;
    launch_begin(&l, nn_enter(), hGraphExec, hStream);
    CUresult st = real(hGraphExec, hStream);
    launch_end(&l, hStream, st == CUDA_SUCCESS);
    nn_leave();
    return st;
}
