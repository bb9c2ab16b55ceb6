/*
 * cuda.c: the simulated CUDA driver (libcuda.so.1). Test equipment: see README.md.
 *
 * A small part of the driver API: initialisation, the device, the primary context
 * and the calling thread's context stack, and the stream and event calls a profiler
 * needs to time work on a stream. Streams and events are the sim runtime's own (a
 * CUstream is a cudaStream_t, a CUevent a cudaEvent_t, as with the real libraries),
 * reached through the nnspy_sim_* helpers of libcudart.so.13, which this library
 * links against; the runtime loads this library with dlopen at its first call, as
 * the real runtime loads the driver.
 *
 * Initialisation: cuInit(0), or the runtime's first call (the real runtime calls
 * cuInit). Before either, every function but cuInit and cuDriverGetVersion returns
 * CUDA_ERROR_NOT_INITIALIZED.
 *
 * Contexts: the one device has one context, the primary context, and no other can be
 * created. Each thread has a stack of current contexts; every entry is the primary
 * context, so the stack is a depth. A runtime call that uses the device on a thread
 * whose stack is empty makes the primary context current there, as the real runtime
 * does: the driver learns of it from the runtime's per-thread count of such calls.
 *
 * Exported functions never call each other: the plain and _v2 (or _ptsz) names of
 * one function share a static implementation.
 */
#define _GNU_SOURCE
#include "sim.h" /* the runtime's header as programs see it, before the define below */

/* As the driver itself is built: cuda.h then declares the plain names (cuEventDestroy,
 * cuCtxPushCurrent...) besides the _v2 and _ptsz ones it maps them to for programs. */
#define __CUDA_API_VERSION_INTERNAL 1
#include <cuda.h>

#include <pthread.h>
#include <stdint.h>
#include <string.h>

/* The runtime's and the driver's device attributes share their numbers. */
_Static_assert((int)CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT == (int)cudaDevAttrMultiProcessorCount,
               "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_CLOCK_RATE == (int)cudaDevAttrClockRate, "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR ==
                   (int)cudaDevAttrComputeCapabilityMajor,
               "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR ==
                   (int)cudaDevAttrComputeCapabilityMinor,
               "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_MEMORY_CLOCK_RATE == (int)cudaDevAttrMemoryClockRate,
               "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_GLOBAL_MEMORY_BUS_WIDTH ==
                   (int)cudaDevAttrGlobalMemoryBusWidth,
               "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN ==
                   (int)cudaDevAttrMaxSharedMemoryPerBlockOptin,
               "attribute numbers");
_Static_assert((int)CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR ==
                   (int)cudaDevAttrMaxBlocksPerMultiprocessor,
               "attribute numbers");
_Static_assert(CU_EVENT_BLOCKING_SYNC == cudaEventBlockingSync &&
                   CU_EVENT_DISABLE_TIMING == cudaEventDisableTiming &&
                   CU_EVENT_INTERPROCESS == cudaEventInterprocess &&
                   CU_EVENT_RECORD_EXTERNAL == cudaEventRecordExternal,
               "event flags");

/* ------------------------------------------------------------ initialisation */

static int g_init; /* cuInit(0) was called */

static int initialised(void)
{
    return __atomic_load_n(&g_init, __ATOMIC_ACQUIRE) || nnspy_sim_runtime_started();
}

#define NEED_INIT()                                                                            \
    do {                                                                                       \
        if (!initialised())                                                                    \
            return CUDA_ERROR_NOT_INITIALIZED;                                                 \
    } while (0)

CUresult cuInit(unsigned int Flags)
{
    if (Flags != 0)
        return CUDA_ERROR_INVALID_VALUE;
    __atomic_store_n(&g_init, 1, __ATOMIC_RELEASE);
    return CUDA_SUCCESS;
}

/* The one call that works before cuInit, as in the real driver. */
CUresult cuDriverGetVersion(int *driverVersion)
{
    if (!driverVersion)
        return CUDA_ERROR_INVALID_VALUE;
    *driverVersion = CUDA_VERSION;
    return CUDA_SUCCESS;
}

/* -------------------------------------------------------------------- device */

CUresult cuDeviceGetCount(int *count)
{
    NEED_INIT();
    if (!count)
        return CUDA_ERROR_INVALID_VALUE;
    *count = 1;
    return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *device, int ordinal)
{
    NEED_INIT();
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    if (ordinal != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    *device = 0;
    return CUDA_SUCCESS;
}

/* Shortened to len bytes, terminator included. */
CUresult cuDeviceGetName(char *name, int len, CUdevice dev)
{
    NEED_INIT();
    if (!name || len <= 0)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    const char *n = nnspy_sim_device_name();
    size_t k = strlen(n);
    if (k > (size_t)len - 1)
        k = (size_t)len - 1;
    memcpy(name, n, k);
    name[k] = '\0';
    return CUDA_SUCCESS;
}

/* The runtime's values (cudaDeviceGetAttribute); 0 for attributes the sim does not
 * model, CUDA_ERROR_INVALID_VALUE for numbers outside the enumeration. */
CUresult cuDeviceGetAttribute(int *pi, CUdevice_attribute attrib, CUdevice dev)
{
    NEED_INIT();
    if (!pi)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    if ((int)attrib <= 0 || (int)attrib >= (int)CU_DEVICE_ATTRIBUTE_MAX)
        return CUDA_ERROR_INVALID_VALUE;
    *pi = nnspy_sim_device_attribute((int)attrib);
    return CUDA_SUCCESS;
}

/* ------------------------------------------------------------------- context */

struct CUctx_st {
    int unused;
};

static struct CUctx_st g_primary; /* the primary context of device 0 */

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static int g_refs;                /* retains of the primary context */
static int g_runtime_ref;         /* the runtime's retain has been counted */

/* The calling thread's context stack: its depth (every entry is the primary context),
 * and the runtime's count of context-using calls on this thread seen so far. */
static __thread unsigned long t_depth;
static __thread uint64_t t_runtime_uses;

/* A runtime call since the last look binds the primary context if none is current. */
static void follow_runtime(void)
{
    uint64_t n = nnspy_sim_runtime_context_uses();
    if (n != t_runtime_uses) {
        t_runtime_uses = n;
        if (t_depth == 0)
            t_depth = 1;
    }
}

static CUcontext current(void)
{
    follow_runtime();
    return t_depth ? &g_primary : NULL;
}

/* Under g_lock: the started runtime holds one reference, as the real one does. */
static void count_runtime_ref(void)
{
    if (!g_runtime_ref && nnspy_sim_runtime_started()) {
        g_runtime_ref = 1;
        g_refs++;
    }
}

/* Retaining does not make the context current (nor push it). */
CUresult cuDevicePrimaryCtxRetain(CUcontext *pctx, CUdevice dev)
{
    NEED_INIT();
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    pthread_mutex_lock(&g_lock);
    count_runtime_ref();
    g_refs++;
    pthread_mutex_unlock(&g_lock);
    *pctx = &g_primary;
    return CUDA_SUCCESS;
}

/* A release without a retain is CUDA_ERROR_INVALID_CONTEXT. Dropping the last
 * reference resets a context that has no state: its handle stays the same. */
static CUresult primary_release(CUdevice dev)
{
    NEED_INIT();
    if (dev != 0)
        return CUDA_ERROR_INVALID_DEVICE;
    CUresult r = CUDA_SUCCESS;
    pthread_mutex_lock(&g_lock);
    count_runtime_ref();
    if (g_refs == 0)
        r = CUDA_ERROR_INVALID_CONTEXT;
    else
        g_refs--;
    pthread_mutex_unlock(&g_lock);
    return r;
}

CUresult cuDevicePrimaryCtxRelease(CUdevice dev)
{
    return primary_release(dev);
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice dev)
{
    return primary_release(dev);
}

CUresult cuCtxGetCurrent(CUcontext *pctx)
{
    NEED_INIT();
    if (!pctx)
        return CUDA_ERROR_INVALID_VALUE;
    *pctx = current();
    return CUDA_SUCCESS;
}

/* Replaces the top of the stack (pushes onto an empty one); NULL pops it. */
CUresult cuCtxSetCurrent(CUcontext ctx)
{
    NEED_INIT();
    follow_runtime();
    if (!ctx) {
        if (t_depth)
            t_depth--;
        return CUDA_SUCCESS;
    }
    if (ctx != &g_primary)
        return CUDA_ERROR_INVALID_CONTEXT;
    if (!t_depth)
        t_depth = 1;
    return CUDA_SUCCESS;
}

static CUresult ctx_push(CUcontext ctx)
{
    NEED_INIT();
    follow_runtime();
    if (ctx != &g_primary)
        return CUDA_ERROR_INVALID_CONTEXT;
    t_depth++;
    return CUDA_SUCCESS;
}

CUresult cuCtxPushCurrent(CUcontext ctx)
{
    return ctx_push(ctx);
}

CUresult cuCtxPushCurrent_v2(CUcontext ctx)
{
    return ctx_push(ctx);
}

/* pctx may be NULL: the popped context is then not returned. */
static CUresult ctx_pop(CUcontext *pctx)
{
    NEED_INIT();
    follow_runtime();
    if (!t_depth)
        return CUDA_ERROR_INVALID_CONTEXT;
    t_depth--;
    if (pctx)
        *pctx = &g_primary;
    return CUDA_SUCCESS;
}

CUresult cuCtxPopCurrent(CUcontext *pctx)
{
    return ctx_pop(pctx);
}

CUresult cuCtxPopCurrent_v2(CUcontext *pctx)
{
    return ctx_pop(pctx);
}

CUresult cuCtxGetDevice(CUdevice *device)
{
    NEED_INIT();
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    if (!current())
        return CUDA_ERROR_INVALID_CONTEXT;
    *device = 0;
    return CUDA_SUCCESS;
}

/* ctx NULL means the current context. */
CUresult cuCtxGetDevice_v2(CUdevice *device, CUcontext ctx)
{
    NEED_INIT();
    if (!device)
        return CUDA_ERROR_INVALID_VALUE;
    if (!ctx)
        ctx = current();
    if (ctx != &g_primary)
        return CUDA_ERROR_INVALID_CONTEXT;
    *device = 0;
    return CUDA_SUCCESS;
}

/* -------------------------------------------------------------------- streams */

static CUresult from_runtime(cudaError_t e)
{
    switch (e) {
    case cudaSuccess: return CUDA_SUCCESS;
    case cudaErrorInvalidValue: return CUDA_ERROR_INVALID_VALUE;
    case cudaErrorMemoryAllocation: return CUDA_ERROR_OUT_OF_MEMORY;
    case cudaErrorInvalidResourceHandle: return CUDA_ERROR_INVALID_HANDLE;
    case cudaErrorNotReady: return CUDA_ERROR_NOT_READY;
    case cudaErrorIllegalState: return CUDA_ERROR_ILLEGAL_STATE;
    case cudaErrorStreamCaptureUnsupported: return CUDA_ERROR_STREAM_CAPTURE_UNSUPPORTED;
    default: return CUDA_ERROR_UNKNOWN;
    }
}

/* The _ptsz entry points read the NULL stream as the per-thread default stream. */
static CUstream per_thread(CUstream s)
{
    return s ? s : CU_STREAM_PER_THREAD;
}

/*
 * A stream the driver may use: a special handle (NULL, CU_STREAM_LEGACY,
 * CU_STREAM_PER_THREAD, the runtime's 0, cudaStreamLegacy, cudaStreamPerThread)
 * stands for the current context's stream, so it needs a current context; any other
 * handle must be a live stream (all of them belong to the primary context).
 */
static CUresult usable_stream(CUstream s)
{
    if (s == NULL || s == CU_STREAM_LEGACY || s == CU_STREAM_PER_THREAD)
        return current() ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
    return from_runtime(nnspy_sim_stream_check((cudaStream_t)s));
}

static CUresult stream_get_ctx(CUstream s, CUcontext *pctx, CUgreenCtx *pgreen, int v2)
{
    NEED_INIT();
    if (!pctx || (v2 && !pgreen))
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = usable_stream(s);
    if (r != CUDA_SUCCESS)
        return r;
    *pctx = &g_primary;
    if (v2)
        *pgreen = NULL; /* the sim has no green contexts */
    return CUDA_SUCCESS;
}

CUresult cuStreamGetCtx(CUstream hStream, CUcontext *pctx)
{
    return stream_get_ctx(hStream, pctx, NULL, 0);
}

CUresult cuStreamGetCtx_ptsz(CUstream hStream, CUcontext *pctx)
{
    return stream_get_ctx(per_thread(hStream), pctx, NULL, 0);
}

CUresult cuStreamGetCtx_v2(CUstream hStream, CUcontext *pCtx, CUgreenCtx *pGreenCtx)
{
    return stream_get_ctx(hStream, pCtx, pGreenCtx, 1);
}

CUresult cuStreamGetCtx_v2_ptsz(CUstream hStream, CUcontext *pCtx, CUgreenCtx *pGreenCtx)
{
    return stream_get_ctx(per_thread(hStream), pCtx, pGreenCtx, 1);
}

/* Work is complete as soon as it is enqueued: never CUDA_ERROR_NOT_READY. */
static CUresult stream_query(CUstream s)
{
    NEED_INIT();
    return usable_stream(s);
}

CUresult cuStreamQuery(CUstream hStream)
{
    return stream_query(hStream);
}

/* Whether the stream is being captured into a graph (by the runtime's capture). */
CUresult cuStreamIsCapturing(CUstream hStream, CUstreamCaptureStatus *captureStatus)
{
    NEED_INIT();
    if (!captureStatus)
        return CUDA_ERROR_INVALID_VALUE;
    CUresult r = usable_stream(hStream);
    if (r == CUDA_SUCCESS)
        *captureStatus = nnspy_sim_stream_capturing((cudaStream_t)hStream)
                             ? CU_STREAM_CAPTURE_STATUS_ACTIVE
                             : CU_STREAM_CAPTURE_STATUS_NONE;
    return r;
}

CUresult cuStreamQuery_ptsz(CUstream hStream)
{
    return stream_query(per_thread(hStream));
}

/* Moves the calling thread's virtual host time to the stream's clock. */
static CUresult stream_synchronize(CUstream s)
{
    NEED_INIT();
    CUresult r = usable_stream(s);
    if (r != CUDA_SUCCESS)
        return r;
    return from_runtime(nnspy_sim_stream_synchronize((cudaStream_t)s));
}

CUresult cuStreamSynchronize(CUstream hStream)
{
    return stream_synchronize(hStream);
}

CUresult cuStreamSynchronize_ptsz(CUstream hStream)
{
    return stream_synchronize(per_thread(hStream));
}

/* --------------------------------------------------------------------- events */

/* Flags: CU_EVENT_DEFAULT, BLOCKING_SYNC, DISABLE_TIMING, INTERPROCESS (only with
 * DISABLE_TIMING); the event belongs to the current context. */
CUresult cuEventCreate(CUevent *phEvent, unsigned int Flags)
{
    NEED_INIT();
    if (!current())
        return CUDA_ERROR_INVALID_CONTEXT;
    return from_runtime(nnspy_sim_event_create((cudaEvent_t *)phEvent, Flags));
}

/* Captures the stream's clock: the time at which the work enqueued on it so far
 * completes (after the implicit synchronisation of the legacy default stream). */
static CUresult event_record(CUevent e, CUstream s, unsigned int flags)
{
    NEED_INIT();
    CUresult r = usable_stream(s);
    if (r != CUDA_SUCCESS)
        return r;
    return from_runtime(nnspy_sim_event_record((cudaEvent_t)e, (cudaStream_t)s, flags));
}

CUresult cuEventRecord(CUevent hEvent, CUstream hStream)
{
    return event_record(hEvent, hStream, CU_EVENT_RECORD_DEFAULT);
}

CUresult cuEventRecord_ptsz(CUevent hEvent, CUstream hStream)
{
    return event_record(hEvent, per_thread(hStream), CU_EVENT_RECORD_DEFAULT);
}

CUresult cuEventRecordWithFlags(CUevent hEvent, CUstream hStream, unsigned int flags)
{
    return event_record(hEvent, hStream, flags);
}

CUresult cuEventRecordWithFlags_ptsz(CUevent hEvent, CUstream hStream, unsigned int flags)
{
    return event_record(hEvent, per_thread(hStream), flags);
}

/* CUDA_SUCCESS for every live event: recorded work is complete at once. */
CUresult cuEventQuery(CUevent hEvent)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_event_query((cudaEvent_t)hEvent));
}

/* Moves the calling thread's virtual host time to the event's. */
CUresult cuEventSynchronize(CUevent hEvent)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_event_synchronize((cudaEvent_t)hEvent));
}

/* (end - start) ns / 1e6 as a float; CUDA_ERROR_INVALID_HANDLE if either event is
 * not live, was never recorded, or was created with CU_EVENT_DISABLE_TIMING. */
static CUresult event_elapsed(float *ms, CUevent start, CUevent end)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_event_elapsed(ms, (cudaEvent_t)start, (cudaEvent_t)end));
}

CUresult cuEventElapsedTime(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
    return event_elapsed(pMilliseconds, hStart, hEnd);
}

CUresult cuEventElapsedTime_v2(float *pMilliseconds, CUevent hStart, CUevent hEnd)
{
    return event_elapsed(pMilliseconds, hStart, hEnd);
}

static CUresult event_destroy(CUevent e)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_event_destroy((cudaEvent_t)e));
}

CUresult cuEventDestroy(CUevent hEvent)
{
    return event_destroy(hEvent);
}

CUresult cuEventDestroy_v2(CUevent hEvent)
{
    return event_destroy(hEvent);
}

/* ----------------------------------------------------------------- CUDA graphs */

/* The runtime's capture and graphs (a CUgraph is a cudaGraph_t, a CUgraphExec a
 * cudaGraphExec_t), as XLA reaches them through the driver. */
CUresult cuStreamBeginCapture_v2(CUstream hStream, CUstreamCaptureMode mode)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_begin_capture((cudaStream_t)hStream, (int)mode));
}

CUresult cuStreamEndCapture(CUstream hStream, CUgraph *phGraph)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_end_capture((cudaStream_t)hStream, (cudaGraph_t *)phGraph));
}

CUresult cuGraphInstantiateWithFlags(CUgraphExec *phGraphExec, CUgraph hGraph,
                                     unsigned long long flags)
{
    NEED_INIT();
    (void)flags;
    return from_runtime(
        nnspy_sim_graph_instantiate((cudaGraphExec_t *)phGraphExec, (cudaGraph_t)hGraph));
}

CUresult cuGraphLaunch(CUgraphExec hGraphExec, CUstream hStream)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_graph_launch((cudaGraphExec_t)hGraphExec, (cudaStream_t)hStream));
}

CUresult cuGraphDestroy(CUgraph hGraph)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_graph_destroy((cudaGraph_t)hGraph));
}

CUresult cuGraphExecDestroy(CUgraphExec hGraphExec)
{
    NEED_INIT();
    return from_runtime(nnspy_sim_graph_exec_destroy((cudaGraphExec_t)hGraphExec));
}

CUresult cuGraphCreate(CUgraph *phGraph, unsigned int flags)
{
    NEED_INIT();
    if (flags)
        return CUDA_ERROR_INVALID_VALUE;
    return from_runtime(nnspy_sim_graph_create((cudaGraph_t *)phGraph));
}

/* The sim's graphs are sequences: no dependencies, the captured work goes last. */
CUresult cuStreamBeginCaptureToGraph(CUstream hStream, CUgraph hGraph,
                                     const CUgraphNode *dependencies,
                                     const CUgraphEdgeData *dependencyData,
                                     size_t numDependencies, CUstreamCaptureMode mode)
{
    NEED_INIT();
    (void)dependencies;
    (void)dependencyData;
    if (numDependencies)
        return CUDA_ERROR_NOT_SUPPORTED;
    return from_runtime(
        nnspy_sim_begin_capture_to_graph((cudaStream_t)hStream, (cudaGraph_t)hGraph, (int)mode));
}

CUresult cuGraphAddChildGraphNode(CUgraphNode *phGraphNode, CUgraph hGraph,
                                  const CUgraphNode *dependencies, size_t numDependencies,
                                  CUgraph childGraph)
{
    NEED_INIT();
    (void)dependencies;
    (void)numDependencies;
    return from_runtime(nnspy_sim_graph_add_child((cudaGraphNode_t *)phGraphNode,
                                                  (cudaGraph_t)hGraph, (cudaGraph_t)childGraph));
}
