/*
 * cudart.c: the simulated CUDA runtime (libcudart.so.13). Test equipment: see README.md.
 *
 * Device memory is host memory; copies and memsets are memcpy/memset. The device is a
 * virtual clock per stream: each kernel starts when its stream is ready and lasts the
 * modelled time of nnspy_sim_kernel_ns(). Events read the clocks. Synchronising calls
 * return at once and move the calling thread's virtual host time forward to the work
 * they waited for, so a later launch cannot start before it, as on a real device.
 *
 * Implicit synchronisation is that of the legacy default stream: work on stream 0
 * waits for all blocking streams, and work on a blocking stream waits for stream 0;
 * streams created with cudaStreamNonBlocking wait for nothing but themselves.
 *
 * One mutex guards the clocks and the registries of live streams, events and
 * allocations (the registries let bad handles fail cleanly instead of crashing).
 *
 * As the real runtime does, the first API call loads the driver, libcuda.so.1 (the
 * sim's, tests/sim/cuda.c), with dlopen at run time: the driver links against this
 * library, never the other way round. The driver API works on this library's streams
 * and events (a CUstream is a cudaStream_t, a CUevent a cudaEvent_t) through the
 * nnspy_sim_* helpers below.
 */
#define _GNU_SOURCE
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"

#define SIM_DEVICE_NAME "nnspy simulated device"
#define SIM_ALIGN 256u
#define SIM_TOTAL_MEM ((size_t)80 << 30)
#define SIM_CLOCK_KHZ 1980000        /* SM clock (cudaDevAttrClockRate) */
#define SIM_MEMORY_CLOCK_KHZ 2619000 /* cudaDevAttrMemoryClockRate */

struct CUstream_st {
    unsigned flags;
    int priority;
    uint32_t id;       /* nnspy_sim_stream_id */
    uint64_t clock_ns; /* when all work enqueued so far completes */
    struct CUgraph_st *capture; /* the graph being captured, or NULL */
    struct CUstream_st *next;
};

/* A CUDA graph, as captured: its kernels in order (the sim runs them one after
 * another on the launch stream). An executable graph is a copy. */
#define GRAPH_MAGIC 0x48505247u /* "GRPH" */
#define EXEC_MAGIC  0x43455847u /* "GXEC" */
struct sim_kernel {
    uint64_t flops, bytes;
};
struct CUgraph_st {
    uint32_t magic;
    struct sim_kernel *kernels;
    size_t n, cap;
};
struct CUgraphExec_st {
    uint32_t magic;
    struct sim_kernel *kernels;
    size_t n;
};

struct CUevent_st {
    unsigned flags;
    int recorded;
    uint64_t time_ns;
    struct CUevent_st *next;
};

struct sim_alloc {
    void *ptr;
    size_t size;
    int host; /* cudaMallocHost / cudaHostAlloc rather than cudaMalloc */
    struct sim_alloc *next;
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct CUstream_st g_legacy_stream = {.id = 1};     /* stream 0 and cudaStreamLegacy */
static struct CUstream_st g_per_thread_stream = {.id = 2}; /* cudaStreamPerThread (one for all threads) */
static struct CUstream_st *g_streams;
static uint32_t g_next_stream_id = 3;
static struct CUevent_st *g_events;
static struct sim_alloc *g_allocs;
static size_t g_allocated;
static uint64_t g_kernels;
static __thread uint64_t t_host_ns;
static __thread cudaError_t t_last_error;
static __thread unsigned t_device_flags;

/* ------------------------------------------------- runtime start, the driver */

/*
 * The first API call (any but the error and version functions) starts the runtime:
 * it loads libcuda.so.1 as the real runtime does, dlopen("libcuda.so.1",
 * RTLD_NOW | RTLD_GLOBAL), and from then on the sim driver counts as initialised (the
 * real runtime calls cuInit). Other threads making a first call meanwhile wait for
 * it; a call made on the loading thread itself (from inside dlopen) does not.
 *
 * A library found by that name that is not the sim's (a real driver: its dependencies
 * do not include this library) is closed again, and the sim's is taken from this
 * library's own directory. Without either the runtime works on, with no driver.
 */
static pthread_mutex_t g_start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_start_cond = PTHREAD_COND_INITIALIZER;
static int g_start_state; /* 0: not started, 1: loading the driver, 2: started; atomic */
static __thread int t_starting;
static void *g_driver; /* kept open for the life of the process */

/* Runtime calls on this thread that use the primary context (see runtime_context). */
static __thread uint64_t t_context_uses;

static void load_driver(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_GLOBAL);
    /* dlsym on a handle searches its dependencies: the sim driver links this library. */
    if (h && !dlsym(h, "nnspy_sim_device_name")) {
        dlclose(h);
        h = NULL;
    }
    if (!h) {
        Dl_info self;
        char path[PATH_MAX];
        const char *slash;
        if (dladdr((void *)load_driver, &self) && self.dli_fname &&
            (slash = strrchr(self.dli_fname, '/')) != NULL &&
            snprintf(path, sizeof path, "%.*s/libcuda.so.1", (int)(slash - self.dli_fname),
                     self.dli_fname) < (int)sizeof path)
            h = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
    }
    g_driver = h;
}

static void runtime_start(void)
{
    if (__atomic_load_n(&g_start_state, __ATOMIC_ACQUIRE) == 2 || t_starting)
        return;
    pthread_mutex_lock(&g_start_lock);
    if (__atomic_load_n(&g_start_state, __ATOMIC_ACQUIRE) == 0) {
        __atomic_store_n(&g_start_state, 1, __ATOMIC_RELEASE);
        pthread_mutex_unlock(&g_start_lock);
        t_starting = 1;
        load_driver();
        t_starting = 0;
        pthread_mutex_lock(&g_start_lock);
        __atomic_store_n(&g_start_state, 2, __ATOMIC_RELEASE);
        pthread_cond_broadcast(&g_start_cond);
    } else {
        while (__atomic_load_n(&g_start_state, __ATOMIC_ACQUIRE) != 2)
            pthread_cond_wait(&g_start_cond, &g_start_lock);
    }
    pthread_mutex_unlock(&g_start_lock);
}

/*
 * A call that needs the device context (memory, copies, streams, events,
 * synchronisation, kernels): as in the real runtime, it makes the primary context
 * current on the calling thread when no context is. The sim driver keeps the
 * threads' context stacks and reads this count to know when the runtime has bound.
 */
static void runtime_context(void)
{
    runtime_start();
    t_context_uses++;
}

int nnspy_sim_runtime_started(void)
{
    return __atomic_load_n(&g_start_state, __ATOMIC_ACQUIRE) != 0;
}

uint64_t nnspy_sim_runtime_context_uses(void)
{
    return t_context_uses;
}

void nnspy_sim_runtime_use(void)
{
    runtime_context();
}

/* ------------------------------------------------------------------ errors */

static cudaError_t record_error(cudaError_t e)
{
    if (e != cudaSuccess && e != cudaErrorNotReady)
        t_last_error = e;
    return e;
}

static const struct {
    cudaError_t code;
    const char *name, *text;
} k_errors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInitializationError, "cudaErrorInitializationError", "initialization error"},
    {cudaErrorCudartUnloading, "cudaErrorCudartUnloading", "driver shutting down"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration",
     "invalid configuration argument"},
    {cudaErrorInvalidPitchValue, "cudaErrorInvalidPitchValue", "invalid pitch argument"},
    {cudaErrorInvalidSymbol, "cudaErrorInvalidSymbol", "invalid device symbol"},
    {cudaErrorInvalidDevicePointer, "cudaErrorInvalidDevicePointer",
     "invalid device pointer"},
    {cudaErrorInvalidMemcpyDirection, "cudaErrorInvalidMemcpyDirection",
     "invalid copy direction for memcpy"},
    {cudaErrorInsufficientDriver, "cudaErrorInsufficientDriver",
     "CUDA driver version is insufficient for CUDA runtime version"},
    {cudaErrorNoDevice, "cudaErrorNoDevice", "no CUDA-capable device is detected"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
    {cudaErrorInvalidResourceHandle, "cudaErrorInvalidResourceHandle",
     "invalid resource handle"},
    {cudaErrorNotReady, "cudaErrorNotReady", "device not ready"},
    {cudaErrorIllegalAddress, "cudaErrorIllegalAddress",
     "an illegal memory access was encountered"},
    {cudaErrorLaunchFailure, "cudaErrorLaunchFailure", "unspecified launch failure"},
    {cudaErrorNotSupported, "cudaErrorNotSupported", "operation not supported"},
    {cudaErrorStreamCaptureUnsupported, "cudaErrorStreamCaptureUnsupported",
     "operation not permitted when stream is capturing"},
    {cudaErrorUnknown, "cudaErrorUnknown", "unknown error"},
};

const char *cudaGetErrorName(cudaError_t error)
{
    for (size_t i = 0; i < sizeof k_errors / sizeof k_errors[0]; i++)
        if (k_errors[i].code == error)
            return k_errors[i].name;
    return "unrecognized error code";
}

const char *cudaGetErrorString(cudaError_t error)
{
    for (size_t i = 0; i < sizeof k_errors / sizeof k_errors[0]; i++)
        if (k_errors[i].code == error)
            return k_errors[i].text;
    return "unrecognized error code";
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = t_last_error;
    t_last_error = cudaSuccess;
    return e;
}

cudaError_t cudaPeekAtLastError(void)
{
    return t_last_error;
}

/* ------------------------------------------------------------ virtual clock */

static uint64_t max_u64(uint64_t a, uint64_t b)
{
    return a > b ? a : b;
}

/* The stream behind a handle, NULL if it is not live. Lock held. */
static struct CUstream_st *find_stream(cudaStream_t s)
{
    if (s == NULL || s == cudaStreamLegacy)
        return &g_legacy_stream;
    if (s == cudaStreamPerThread)
        return &g_per_thread_stream;
    for (struct CUstream_st *p = g_streams; p; p = p->next)
        if (p == s)
            return p;
    return NULL;
}

static int is_blocking(const struct CUstream_st *s)
{
    return !(s->flags & cudaStreamNonBlocking);
}

/* When new work on s may start: after s, the calling thread, and the implicit
 * synchronisation of the legacy default stream. Lock held. */
static uint64_t ready_time(const struct CUstream_st *s)
{
    uint64_t t = max_u64(s->clock_ns, t_host_ns);
    if (s == &g_legacy_stream) {
        t = max_u64(t, g_per_thread_stream.clock_ns);
        for (const struct CUstream_st *p = g_streams; p; p = p->next)
            if (is_blocking(p))
                t = max_u64(t, p->clock_ns);
    } else if (is_blocking(s)) {
        t = max_u64(t, g_legacy_stream.clock_ns);
    }
    return t;
}

/* Latest completion time over every stream. Lock held. */
static uint64_t device_time(void)
{
    uint64_t t = max_u64(g_legacy_stream.clock_ns, g_per_thread_stream.clock_ns);
    for (const struct CUstream_st *p = g_streams; p; p = p->next)
        t = max_u64(t, p->clock_ns);
    return t;
}

/* Switches read once when the library loads: NNSPY_SIM_MATH, NNSPY_SIM_TRACE. */
static int g_math, g_trace;

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

__attribute__((constructor)) static void read_switches(void)
{
    g_math = env_flag("NNSPY_SIM_MATH");
    g_trace = env_flag("NNSPY_SIM_TRACE");
}

static uint64_t kernel_ns(uint64_t flops, uint64_t bytes)
{
    uint64_t compute = flops / 100000u; /* 100 TFLOP/s = 1e5 FLOP per ns */
    uint64_t memory = bytes / 2000u;    /* 2 TB/s = 2000 bytes per ns */
    return sim_add(2000u, max_u64(compute, memory));
}

uint64_t nnspy_sim_kernel_ns(uint64_t flops, uint64_t bytes)
{
    return kernel_ns(flops, bytes);
}

/* The sim libcupti's hook (nnspy_sim_set_work_hook); read and written atomically. */
static nnspy_sim_work_hook g_work_hook;

void nnspy_sim_set_work_hook(nnspy_sim_work_hook hook)
{
    __atomic_store_n(&g_work_hook, hook, __ATOMIC_RELEASE);
}

/* Hands enqueued work to the hook, if one is set. Lock not held. */
static void report_work(const struct nnspy_sim_work *w)
{
    nnspy_sim_work_hook hook = __atomic_load_n(&g_work_hook, __ATOMIC_ACQUIRE);
    if (hook)
        hook(w);
}

/* Runs one kernel on s, the stream behind `handle` (lock held); returns its end. The
 * work's stream, times and model inputs are written to *w. */
static uint64_t run_kernel(struct CUstream_st *s, cudaStream_t handle, uint64_t flops,
                           uint64_t bytes, struct nnspy_sim_work *w)
{
    uint64_t start = ready_time(s);
    s->clock_ns = sim_add(start, kernel_ns(flops, bytes));
    g_kernels++;
    w->stream = handle;
    w->stream_id = s->id;
    w->start_ns = start;
    w->end_ns = s->clock_ns;
    w->flops = flops;
    w->bytes = bytes;
    if (g_trace)
        fprintf(stderr, "nnspy-sim: kernel stream=%p flops=%llu bytes=%llu start=%llu end=%llu\n",
                (void *)handle, (unsigned long long)flops, (unsigned long long)bytes,
                (unsigned long long)start, (unsigned long long)s->clock_ns);
    return s->clock_ns;
}

/* Adds a kernel to a graph (lock held, or the graph not yet shared). */
static cudaError_t graph_append(struct CUgraph_st *g, uint64_t flops, uint64_t bytes)
{
    if (g->n == g->cap) {
        size_t cap = g->cap ? 2 * g->cap : 16;
        struct sim_kernel *k = realloc(g->kernels, cap * sizeof *k);
        if (!k)
            return cudaErrorMemoryAllocation;
        g->kernels = k;
        g->cap = cap;
    }
    g->kernels[g->n++] = (struct sim_kernel){flops, bytes};
    return cudaSuccess;
}

cudaError_t nnspy_sim_graph_add_kernel(cudaGraph_t graph, uint64_t flops, uint64_t bytes)
{
    if (!graph || graph->magic != GRAPH_MAGIC)
        return cudaErrorInvalidValue;
    pthread_mutex_lock(&g_lock);
    cudaError_t e = graph_append(graph, flops, bytes);
    pthread_mutex_unlock(&g_lock);
    return e;
}

int nnspy_sim_stream_capturing(cudaStream_t stream)
{
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    int capturing = s && s->capture;
    pthread_mutex_unlock(&g_lock);
    return capturing;
}

cudaError_t nnspy_sim_launch(cudaStream_t stream, uint64_t flops, uint64_t bytes)
{
    runtime_context();
    cudaError_t e = cudaSuccess;
    struct nnspy_sim_work w = {.kind = NNSPY_SIM_WORK_KERNEL};
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    int captured = s && s->capture;
    if (captured)
        e = graph_append(s->capture, flops, bytes);
    else if (s)
        run_kernel(s, stream, flops, bytes, &w);
    else
        e = cudaErrorInvalidResourceHandle;
    pthread_mutex_unlock(&g_lock);
    if (e == cudaSuccess && !captured)
        report_work(&w);
    return e;
}

uint32_t nnspy_sim_stream_id(cudaStream_t stream)
{
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    uint32_t id = s ? s->id : 0;
    pthread_mutex_unlock(&g_lock);
    return id;
}

uint64_t nnspy_sim_stream_time_ns(cudaStream_t stream)
{
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    uint64_t t = s ? s->clock_ns : UINT64_MAX;
    pthread_mutex_unlock(&g_lock);
    return t;
}

uint64_t nnspy_sim_host_time_ns(void)
{
    return t_host_ns;
}

uint64_t nnspy_sim_kernel_count(void)
{
    pthread_mutex_lock(&g_lock);
    uint64_t n = g_kernels;
    pthread_mutex_unlock(&g_lock);
    return n;
}

int nnspy_sim_math_enabled(void)
{
    return g_math;
}

const char *nnspy_sim_device_name(void)
{
    return SIM_DEVICE_NAME;
}

/* --------------------------------------------------------- device, versions */

static void fill_properties(struct cudaDeviceProp *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", SIM_DEVICE_NAME);
    memcpy(p->uuid.bytes, "nnspy-sim-device", sizeof p->uuid.bytes);
    p->totalGlobalMem = SIM_TOTAL_MEM;
    p->sharedMemPerBlock = 48 << 10;
    p->regsPerBlock = 65536;
    p->warpSize = 32;
    p->memPitch = (size_t)2147483647;
    p->maxThreadsPerBlock = 1024;
    p->maxThreadsDim[0] = p->maxThreadsDim[1] = 1024;
    p->maxThreadsDim[2] = 64;
    p->maxGridSize[0] = 2147483647;
    p->maxGridSize[1] = p->maxGridSize[2] = 65535;
    p->totalConstMem = 64 << 10;
    p->major = 9;
    p->minor = 0;
    p->textureAlignment = 512;
    p->texturePitchAlignment = 32;
    p->multiProcessorCount = 132;
    p->canMapHostMemory = 1;
    p->concurrentKernels = 1;
    p->pciBusID = 1;
    p->asyncEngineCount = 2;
    p->unifiedAddressing = 1;
    p->memoryBusWidth = 5120;
    p->l2CacheSize = 50 << 20;
    p->maxThreadsPerMultiProcessor = 2048;
    p->streamPrioritiesSupported = 1;
    p->globalL1CacheSupported = p->localL1CacheSupported = 1;
    p->sharedMemPerMultiprocessor = 228 << 10;
    p->regsPerMultiprocessor = 65536;
    p->managedMemory = 1;
    p->sharedMemPerBlockOptin = 227 << 10;
    p->maxBlocksPerMultiProcessor = 32;
    p->memoryPoolsSupported = 1;
    p->hostNumaId = -1;
}

cudaError_t cudaGetDeviceCount(int *count)
{
    runtime_start();
    if (!count)
        return record_error(cudaErrorInvalidValue);
    *count = 1;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    runtime_start();
    if (!device)
        return record_error(cudaErrorInvalidValue);
    *device = 0;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    runtime_context();
    return record_error(device == 0 ? cudaSuccess : cudaErrorInvalidDevice);
}

cudaError_t cudaSetDeviceFlags(unsigned int flags)
{
    runtime_start();
    t_device_flags = flags;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceFlags(unsigned int *flags)
{
    runtime_start();
    if (!flags)
        return record_error(cudaErrorInvalidValue);
    *flags = t_device_flags;
    return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    runtime_start();
    if (!prop)
        return record_error(cudaErrorInvalidValue);
    if (device != 0)
        return record_error(cudaErrorInvalidDevice);
    fill_properties(prop);
    return cudaSuccess;
}

static int attribute_value(const struct cudaDeviceProp *p, enum cudaDeviceAttr attr)
{
    switch (attr) {
    case cudaDevAttrMaxThreadsPerBlock: return p->maxThreadsPerBlock;
    case cudaDevAttrMaxSharedMemoryPerBlock: return (int)p->sharedMemPerBlock;
    case cudaDevAttrWarpSize: return p->warpSize;
    case cudaDevAttrMaxRegistersPerBlock: return p->regsPerBlock;
    case cudaDevAttrMultiProcessorCount: return p->multiProcessorCount;
    case cudaDevAttrConcurrentKernels: return p->concurrentKernels;
    case cudaDevAttrGlobalMemoryBusWidth: return p->memoryBusWidth;
    case cudaDevAttrL2CacheSize: return p->l2CacheSize;
    case cudaDevAttrMaxThreadsPerMultiProcessor: return p->maxThreadsPerMultiProcessor;
    case cudaDevAttrUnifiedAddressing: return p->unifiedAddressing;
    case cudaDevAttrComputeCapabilityMajor: return p->major;
    case cudaDevAttrComputeCapabilityMinor: return p->minor;
    case cudaDevAttrMaxSharedMemoryPerMultiprocessor: return (int)p->sharedMemPerMultiprocessor;
    case cudaDevAttrMaxSharedMemoryPerBlockOptin: return (int)p->sharedMemPerBlockOptin;
    case cudaDevAttrMemoryPoolsSupported: return p->memoryPoolsSupported;
    case cudaDevAttrMaxBlockDimX: return p->maxThreadsDim[0];
    case cudaDevAttrMaxBlockDimY: return p->maxThreadsDim[1];
    case cudaDevAttrMaxBlockDimZ: return p->maxThreadsDim[2];
    case cudaDevAttrMaxGridDimX: return p->maxGridSize[0];
    case cudaDevAttrMaxGridDimY: return p->maxGridSize[1];
    case cudaDevAttrMaxGridDimZ: return p->maxGridSize[2];
    case cudaDevAttrTotalConstantMemory: return (int)p->totalConstMem;
    case cudaDevAttrClockRate: return SIM_CLOCK_KHZ; /* not in CUDA 13's cudaDeviceProp */
    case cudaDevAttrMemoryClockRate: return SIM_MEMORY_CLOCK_KHZ;
    case cudaDevAttrAsyncEngineCount: return p->asyncEngineCount;
    case cudaDevAttrPciBusId: return p->pciBusID;
    case cudaDevAttrCanMapHostMemory: return p->canMapHostMemory;
    case cudaDevAttrManagedMemory: return p->managedMemory;
    case cudaDevAttrStreamPrioritiesSupported: return p->streamPrioritiesSupported;
    case cudaDevAttrMaxRegistersPerMultiprocessor: return p->regsPerMultiprocessor;
    case cudaDevAttrMaxBlocksPerMultiprocessor: return p->maxBlocksPerMultiProcessor;
    default: return 0;
    }
}

cudaError_t cudaDeviceGetAttribute(int *value, enum cudaDeviceAttr attr, int device)
{
    runtime_start();
    struct cudaDeviceProp p;
    if (!value)
        return record_error(cudaErrorInvalidValue);
    if (device != 0)
        return record_error(cudaErrorInvalidDevice);
    fill_properties(&p);
    *value = attribute_value(&p, attr);
    return cudaSuccess;
}

cudaError_t cudaDeviceGetStreamPriorityRange(int *leastPriority, int *greatestPriority)
{
    runtime_start();
    if (leastPriority)
        *leastPriority = 0;
    if (greatestPriority)
        *greatestPriority = -5;
    return cudaSuccess;
}

cudaError_t cudaRuntimeGetVersion(int *runtimeVersion)
{
    if (!runtimeVersion)
        return record_error(cudaErrorInvalidValue);
    *runtimeVersion = CUDART_VERSION;
    return cudaSuccess;
}

cudaError_t cudaDriverGetVersion(int *driverVersion)
{
    if (!driverVersion)
        return record_error(cudaErrorInvalidValue);
    *driverVersion = CUDART_VERSION;
    return cudaSuccess;
}

/* Waits (virtually) for everything on the device. */
static void device_synchronize(void)
{
    pthread_mutex_lock(&g_lock);
    t_host_ns = max_u64(t_host_ns, device_time());
    pthread_mutex_unlock(&g_lock);
}

cudaError_t cudaDeviceSynchronize(void)
{
    runtime_context();
    device_synchronize();
    return cudaSuccess;
}

/* The simulated context has nothing to tear down: a reset only synchronises. */
cudaError_t cudaDeviceReset(void)
{
    runtime_context();
    device_synchronize();
    return cudaSuccess;
}

/* ------------------------------------------------------------------ memory */

static size_t round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

/*
 * Freed device blocks are kept (up to REUSE_SLOTS) and handed out again, most
 * recently freed first, to a later allocation of the same rounded size, as a real
 * device allocator does: the same address then serves another tensor, which is
 * what a profiler that tells weights from activations by address must survive.
 */
#define REUSE_SLOTS 64
static struct {
    void *ptr;
    size_t rounded;
} g_reuse[REUSE_SLOTS];
static int g_reuse_len;

/* Under g_lock. */
static void *take_reusable(size_t rounded)
{
    for (int i = g_reuse_len - 1; i >= 0; i--) {
        if (g_reuse[i].rounded != rounded) continue;
        void *p = g_reuse[i].ptr;
        g_reuse[i] = g_reuse[--g_reuse_len];
        return p;
    }
    return NULL;
}

/* Under g_lock; false when the block is to be freed for real. */
static int keep_reusable(void *ptr, size_t rounded)
{
    if (g_reuse_len == REUSE_SLOTS) return 0;
    g_reuse[g_reuse_len].ptr = ptr;
    g_reuse[g_reuse_len++].rounded = rounded;
    return 1;
}

static cudaError_t allocate(void **ptr, size_t size, int host)
{
    struct sim_alloc *a;
    if (!ptr)
        return cudaErrorInvalidValue;
    *ptr = NULL;
    if (size == 0)
        return cudaSuccess;
    if (size > SIM_TOTAL_MEM)
        return cudaErrorMemoryAllocation;
    a = malloc(sizeof *a);
    if (!a)
        return cudaErrorMemoryAllocation;
    pthread_mutex_lock(&g_lock);
    a->ptr = host ? NULL : take_reusable(round_up(size, SIM_ALIGN));
    pthread_mutex_unlock(&g_lock);
    if (!a->ptr)
        a->ptr = aligned_alloc(SIM_ALIGN, round_up(size, SIM_ALIGN));
    if (!a->ptr) {
        free(a);
        return cudaErrorMemoryAllocation;
    }
    a->size = size;
    a->host = host;
    pthread_mutex_lock(&g_lock);
    a->next = g_allocs;
    g_allocs = a;
    g_allocated += size;
    pthread_mutex_unlock(&g_lock);
    *ptr = a->ptr;
    return cudaSuccess;
}

/* Frees an allocation of the given kind; cudaErrorInvalidValue if ptr is not one. */
static cudaError_t release(void *ptr, int host)
{
    struct sim_alloc *found = NULL;
    if (!ptr)
        return cudaSuccess;
    pthread_mutex_lock(&g_lock);
    for (struct sim_alloc **pp = &g_allocs; *pp; pp = &(*pp)->next) {
        if ((*pp)->ptr == ptr && (*pp)->host == host) {
            found = *pp;
            *pp = found->next;
            g_allocated -= found->size;
            break;
        }
    }
    /* cudaFree waits for the device, as the real one does. */
    t_host_ns = max_u64(t_host_ns, device_time());
    int kept = found && !host && keep_reusable(found->ptr, round_up(found->size, SIM_ALIGN));
    pthread_mutex_unlock(&g_lock);
    if (!found)
        return cudaErrorInvalidValue;
    if (!kept)
        free(found->ptr);
    free(found);
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    runtime_context();
    return record_error(allocate(devPtr, size, 0));
}

cudaError_t cudaFree(void *devPtr)
{
    runtime_context();
    return record_error(release(devPtr, 0));
}

cudaError_t cudaMallocHost(void **ptr, size_t size)
{
    runtime_context();
    return record_error(allocate(ptr, size, 1));
}

cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
    runtime_context();
    if (flags & ~(unsigned)(cudaHostAllocPortable | cudaHostAllocMapped |
                            cudaHostAllocWriteCombined))
        return record_error(cudaErrorInvalidValue);
    return record_error(allocate(pHost, size, 1));
}

cudaError_t cudaFreeHost(void *ptr)
{
    runtime_context();
    return record_error(release(ptr, 1));
}

cudaError_t cudaMallocAsync(void **devPtr, size_t size, cudaStream_t hStream)
{
    runtime_context();
    pthread_mutex_lock(&g_lock);
    int ok = find_stream(hStream) != NULL;
    pthread_mutex_unlock(&g_lock);
    if (!ok)
        return record_error(cudaErrorInvalidResourceHandle);
    return record_error(allocate(devPtr, size, 0));
}

cudaError_t cudaFreeAsync(void *devPtr, cudaStream_t hStream)
{
    runtime_context();
    (void)hStream;
    return record_error(release(devPtr, 0));
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total)
{
    runtime_context();
    if (!free_bytes || !total)
        return record_error(cudaErrorInvalidValue);
    pthread_mutex_lock(&g_lock);
    *total = SIM_TOTAL_MEM;
    *free_bytes = SIM_TOTAL_MEM - g_allocated;
    pthread_mutex_unlock(&g_lock);
    return cudaSuccess;
}

cudaError_t cudaPointerGetAttributes(struct cudaPointerAttributes *attributes, const void *ptr)
{
    runtime_context();
    if (!attributes)
        return record_error(cudaErrorInvalidValue);
    memset(attributes, 0, sizeof *attributes);
    attributes->type = cudaMemoryTypeUnregistered;
    attributes->device = -2; /* what the real runtime reports for unregistered memory */
    pthread_mutex_lock(&g_lock);
    for (struct sim_alloc *a = g_allocs; a; a = a->next) {
        const char *base = a->ptr;
        if ((const char *)ptr >= base && (const char *)ptr < base + a->size) {
            attributes->type = a->host ? cudaMemoryTypeHost : cudaMemoryTypeDevice;
            attributes->device = 0;
            attributes->devicePointer = (void *)ptr;
            attributes->hostPointer = a->host ? (void *)ptr : NULL;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return cudaSuccess;
}

/* Where p lives: an allocation of the runtime's, else device memory when the copy's
 * direction says so, pageable host memory otherwise. Lock held. */
static enum nnspy_sim_memory_kind memory_kind(const void *p, int device_side)
{
    for (const struct sim_alloc *a = g_allocs; a; a = a->next) {
        const char *base = a->ptr;
        if ((const char *)p >= base && (const char *)p < base + a->size)
            return a->host ? NNSPY_SIM_MEMORY_PINNED : NNSPY_SIM_MEMORY_DEVICE;
    }
    return device_side ? NNSPY_SIM_MEMORY_DEVICE : NNSPY_SIM_MEMORY_PAGEABLE;
}

/* Enqueues a copy-engine "kernel" of `bytes` moved bytes on stream s; *w (kind, count,
 * async already set) receives its times, and the memory kinds of dst and src (a
 * memset has no src: NULL) as the direction `kind` implies. */
static cudaError_t enqueue_transfer(cudaStream_t stream, uint64_t bytes, int wait,
                                    const void *dst, const void *src, enum cudaMemcpyKind kind,
                                    struct nnspy_sim_work *w)
{
    cudaError_t e = cudaSuccess;
    int src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    int dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    if (!s) {
        e = cudaErrorInvalidResourceHandle;
    } else {
        uint64_t end = run_kernel(s, stream, 0, bytes, w);
        if (wait)
            t_host_ns = max_u64(t_host_ns, end);
        w->dst = memory_kind(dst, dst_device);
        if (src)
            w->src = memory_kind(src, src_device);
    }
    pthread_mutex_unlock(&g_lock);
    return e;
}

static cudaError_t copy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                        cudaStream_t stream, int wait)
{
    struct nnspy_sim_work w = {.kind = NNSPY_SIM_WORK_MEMCPY, .count = count, .async = !wait};
    if ((unsigned)kind > (unsigned)cudaMemcpyDefault)
        return cudaErrorInvalidMemcpyDirection;
    if (count == 0)
        return cudaSuccess;
    if (!dst || !src)
        return cudaErrorInvalidValue;
    cudaError_t e = enqueue_transfer(stream, sim_mul(count, 2), wait, dst, src, kind, &w);
    if (e == cudaSuccess) {
        memmove(dst, src, count);
        report_work(&w);
    }
    return e;
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    runtime_context();
    return record_error(copy(dst, src, count, kind, NULL, 1));
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    runtime_context();
    return record_error(copy(dst, src, count, kind, stream, 0));
}

static cudaError_t fill(void *devPtr, int value, size_t count, cudaStream_t stream, int async)
{
    struct nnspy_sim_work w = {.kind = NNSPY_SIM_WORK_MEMSET, .count = count, .async = async,
                               .value = value};
    if (count == 0)
        return cudaSuccess;
    if (!devPtr)
        return cudaErrorInvalidValue;
    cudaError_t e = enqueue_transfer(stream, count, 0, devPtr, NULL, cudaMemcpyHostToDevice, &w);
    if (e == cudaSuccess) {
        memset(devPtr, value, count);
        report_work(&w);
    }
    return e;
}

cudaError_t cudaMemset(void *devPtr, int value, size_t count)
{
    runtime_context();
    return record_error(fill(devPtr, value, count, NULL, 0));
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    runtime_context();
    return record_error(fill(devPtr, value, count, stream, 1));
}

/* ----------------------------------------------------------------- streams */

/* Exported functions never call each other: a profiler would see nested calls. */
static cudaError_t stream_create(cudaStream_t *pStream, unsigned int flags, int priority)
{
    struct CUstream_st *s;
    if (!pStream || (flags & ~(unsigned)cudaStreamNonBlocking))
        return record_error(cudaErrorInvalidValue);
    s = calloc(1, sizeof *s);
    if (!s)
        return record_error(cudaErrorMemoryAllocation);
    s->flags = flags;
    s->priority = priority > 0 ? 0 : priority < -5 ? -5 : priority; /* clamped, as documented */
    pthread_mutex_lock(&g_lock);
    s->clock_ns = t_host_ns;
    s->id = g_next_stream_id++;
    s->next = g_streams;
    g_streams = s;
    pthread_mutex_unlock(&g_lock);
    *pStream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithPriority(cudaStream_t *pStream, unsigned int flags, int priority)
{
    runtime_context();
    return stream_create(pStream, flags, priority);
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    runtime_context();
    return stream_create(pStream, flags, 0);
}

cudaError_t cudaStreamCreate(cudaStream_t *pStream)
{
    runtime_context();
    return stream_create(pStream, cudaStreamDefault, 0);
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    runtime_context();
    struct CUstream_st *found = NULL;
    pthread_mutex_lock(&g_lock);
    for (struct CUstream_st **pp = &g_streams; *pp; pp = &(*pp)->next) {
        if (*pp == stream) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (!found)
        return record_error(cudaErrorInvalidResourceHandle);
    free(found);
    return cudaSuccess;
}

/* Runs f on the live stream behind `stream` with the lock held. */
static cudaError_t with_stream(cudaStream_t stream, void (*f)(struct CUstream_st *, void *),
                               void *arg)
{
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    if (s)
        f(s, arg);
    pthread_mutex_unlock(&g_lock);
    return record_error(s ? cudaSuccess : cudaErrorInvalidResourceHandle);
}

static void wait_for_stream(struct CUstream_st *s, void *arg)
{
    (void)arg;
    t_host_ns = max_u64(t_host_ns, s->clock_ns);
}

static void do_nothing(struct CUstream_st *s, void *arg)
{
    (void)s;
    (void)arg;
}

static void read_flags(struct CUstream_st *s, void *arg)
{
    *(unsigned *)arg = s->flags;
}

static void read_priority(struct CUstream_st *s, void *arg)
{
    *(int *)arg = s->priority;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    runtime_context();
    return with_stream(stream, wait_for_stream, NULL);
}

/* Work "completes" as soon as it is enqueued: a query always finds it done. */
cudaError_t cudaStreamQuery(cudaStream_t stream)
{
    runtime_context();
    return with_stream(stream, do_nothing, NULL);
}

cudaError_t cudaStreamGetFlags(cudaStream_t hStream, unsigned int *flags)
{
    runtime_context();
    if (!flags)
        return record_error(cudaErrorInvalidValue);
    return with_stream(hStream, read_flags, flags);
}

cudaError_t cudaStreamGetPriority(cudaStream_t hStream, int *priority)
{
    runtime_context();
    if (!priority)
        return record_error(cudaErrorInvalidValue);
    return with_stream(hStream, read_priority, priority);
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, enum cudaStreamCaptureStatus *pCaptureStatus)
{
    runtime_context();
    if (!pCaptureStatus)
        return record_error(cudaErrorInvalidValue);
    int capturing = nnspy_sim_stream_capturing(stream);
    *pCaptureStatus = capturing ? cudaStreamCaptureStatusActive : cudaStreamCaptureStatusNone;
    return with_stream(stream, do_nothing, NULL);
}

/* ------------------------------------------------------------- CUDA graphs */

/* Capture on a stream other than the legacy default one; the sim's capture has one
 * mode (what the mode would forbid meanwhile is not checked). */
/* Captures the stream's work into `into` (an existing graph), or into a new graph. */
static cudaError_t begin_capture(cudaStream_t stream, struct CUgraph_st *into, int mode)
{
    runtime_context();
    if (mode != cudaStreamCaptureModeGlobal && mode != cudaStreamCaptureModeThreadLocal &&
        mode != cudaStreamCaptureModeRelaxed)
        return cudaErrorInvalidValue;
    if (into && into->magic != GRAPH_MAGIC)
        return cudaErrorInvalidValue;
    if (stream == NULL || stream == cudaStreamLegacy)
        return cudaErrorStreamCaptureUnsupported;
    struct CUgraph_st *g = into ? NULL : calloc(1, sizeof *g);
    if (!into && !g)
        return cudaErrorMemoryAllocation;
    if (g)
        g->magic = GRAPH_MAGIC;
    cudaError_t e = cudaSuccess;
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    if (!s)
        e = cudaErrorInvalidResourceHandle;
    else if (s->capture)
        e = cudaErrorIllegalState;
    else
        s->capture = into ? into : g, g = NULL;
    pthread_mutex_unlock(&g_lock);
    free(g);
    return e;
}

cudaError_t nnspy_sim_begin_capture(cudaStream_t stream, int mode)
{
    return begin_capture(stream, NULL, mode);
}

cudaError_t nnspy_sim_begin_capture_to_graph(cudaStream_t stream, cudaGraph_t graph, int mode)
{
    return graph ? begin_capture(stream, graph, mode) : cudaErrorInvalidValue;
}

cudaError_t cudaStreamBeginCaptureToGraph(cudaStream_t stream, cudaGraph_t graph,
                                          const cudaGraphNode_t *dependencies,
                                          const cudaGraphEdgeData *dependencyData,
                                          size_t numDependencies, enum cudaStreamCaptureMode mode)
{
    (void)dependencies;
    (void)dependencyData;
    if (numDependencies)
        return record_error(cudaErrorNotSupported); /* the sim's graphs are sequences */
    return record_error(nnspy_sim_begin_capture_to_graph(stream, graph, (int)mode));
}

cudaError_t nnspy_sim_graph_create(cudaGraph_t *pGraph)
{
    runtime_context();
    if (!pGraph)
        return cudaErrorInvalidValue;
    struct CUgraph_st *g = calloc(1, sizeof *g);
    if (!g)
        return cudaErrorMemoryAllocation;
    g->magic = GRAPH_MAGIC;
    *pGraph = g;
    return cudaSuccess;
}

cudaError_t cudaGraphCreate(cudaGraph_t *pGraph, unsigned int flags)
{
    return record_error(flags ? cudaErrorInvalidValue : nnspy_sim_graph_create(pGraph));
}

/* A child graph node: the child's kernels, copied, run after the parent's. */
static struct CUgraphNode_st {
    int unused;
} g_child_node;

cudaError_t nnspy_sim_graph_add_child(cudaGraphNode_t *pNode, cudaGraph_t graph,
                                      cudaGraph_t child)
{
    runtime_context();
    if (!pNode || !graph || graph->magic != GRAPH_MAGIC || !child ||
        child->magic != GRAPH_MAGIC || graph == child)
        return cudaErrorInvalidValue;
    cudaError_t e = cudaSuccess;
    pthread_mutex_lock(&g_lock);
    size_t n = child->n;
    for (size_t i = 0; i < n && e == cudaSuccess; i++)
        e = graph_append(graph, child->kernels[i].flops, child->kernels[i].bytes);
    pthread_mutex_unlock(&g_lock);
    if (e == cudaSuccess)
        *pNode = &g_child_node;
    return e;
}

cudaError_t cudaGraphAddChildGraphNode(cudaGraphNode_t *pGraphNode, cudaGraph_t graph,
                                       const cudaGraphNode_t *pDependencies,
                                       size_t numDependencies, cudaGraph_t childGraph)
{
    (void)pDependencies;
    (void)numDependencies; /* the sim's graphs are sequences: the child runs last */
    return record_error(nnspy_sim_graph_add_child(pGraphNode, graph, childGraph));
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, enum cudaStreamCaptureMode mode)
{
    return record_error(nnspy_sim_begin_capture(stream, (int)mode));
}

cudaError_t nnspy_sim_end_capture(cudaStream_t stream, cudaGraph_t *pGraph)
{
    runtime_context();
    if (!pGraph)
        return cudaErrorInvalidValue;
    cudaError_t e = cudaSuccess;
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    if (!s)
        e = cudaErrorInvalidResourceHandle;
    else if (!s->capture)
        e = cudaErrorIllegalState;
    else
        *pGraph = s->capture, s->capture = NULL;
    pthread_mutex_unlock(&g_lock);
    return e;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t *pGraph)
{
    return record_error(nnspy_sim_end_capture(stream, pGraph));
}

cudaError_t nnspy_sim_graph_instantiate(cudaGraphExec_t *pExec, cudaGraph_t graph)
{
    runtime_context();
    if (!pExec || !graph || graph->magic != GRAPH_MAGIC)
        return cudaErrorInvalidValue;
    struct CUgraphExec_st *x = calloc(1, sizeof *x);
    if (!x)
        return cudaErrorMemoryAllocation;
    pthread_mutex_lock(&g_lock);
    x->kernels = graph->n ? malloc(graph->n * sizeof *x->kernels) : NULL;
    if (x->kernels) {
        memcpy(x->kernels, graph->kernels, graph->n * sizeof *x->kernels);
        x->n = graph->n;
    }
    pthread_mutex_unlock(&g_lock);
    if (graph->n && !x->kernels) {
        free(x);
        return cudaErrorMemoryAllocation;
    }
    x->magic = EXEC_MAGIC;
    *pExec = x;
    return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t *pGraphExec, cudaGraph_t graph,
                                 unsigned long long flags)
{
    (void)flags;
    return record_error(nnspy_sim_graph_instantiate(pGraphExec, graph));
}

cudaError_t cudaGraphInstantiateWithFlags(cudaGraphExec_t *pGraphExec, cudaGraph_t graph,
                                          unsigned long long flags)
{
    (void)flags;
    return record_error(nnspy_sim_graph_instantiate(pGraphExec, graph));
}

/* Runs the graph's kernels one after another on the stream. */
cudaError_t nnspy_sim_graph_launch(cudaGraphExec_t graphExec, cudaStream_t stream)
{
    runtime_context();
    if (!graphExec || graphExec->magic != EXEC_MAGIC)
        return cudaErrorInvalidValue;
    if (nnspy_sim_stream_check(stream) != cudaSuccess)
        return cudaErrorInvalidResourceHandle;
    for (size_t i = 0; i < graphExec->n; i++) {
        cudaError_t e = nnspy_sim_launch(stream, graphExec->kernels[i].flops,
                                         graphExec->kernels[i].bytes);
        if (e != cudaSuccess)
            return e;
    }
    return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t graphExec, cudaStream_t stream)
{
    return record_error(nnspy_sim_graph_launch(graphExec, stream));
}

cudaError_t nnspy_sim_graph_destroy(cudaGraph_t graph)
{
    runtime_context();
    if (!graph || graph->magic != GRAPH_MAGIC)
        return cudaErrorInvalidValue;
    graph->magic = 0;
    free(graph->kernels);
    free(graph);
    return cudaSuccess;
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph)
{
    return record_error(nnspy_sim_graph_destroy(graph));
}

cudaError_t nnspy_sim_graph_exec_destroy(cudaGraphExec_t graphExec)
{
    runtime_context();
    if (!graphExec || graphExec->magic != EXEC_MAGIC)
        return cudaErrorInvalidValue;
    graphExec->magic = 0;
    free(graphExec->kernels);
    free(graphExec);
    return cudaSuccess;
}

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t graphExec)
{
    return record_error(nnspy_sim_graph_exec_destroy(graphExec));
}

/* The host function runs at once, on the calling thread: its stream work is done. */
cudaError_t cudaLaunchHostFunc(cudaStream_t stream, cudaHostFn_t fn, void *userData)
{
    runtime_context();
    if (!fn)
        return record_error(cudaErrorInvalidValue);
    cudaError_t e = with_stream(stream, do_nothing, NULL);
    if (e == cudaSuccess)
        fn(userData);
    return e;
}

/* ------------------------------------------------------------------ events */

/*
 * The event functions proper return their status without touching the last error:
 * the runtime's entry points record it, the driver's (through the nnspy_sim_event_*
 * helpers further down) do not. Lock not held.
 */

static struct CUevent_st *find_event(cudaEvent_t e)
{
    for (struct CUevent_st *p = g_events; p; p = p->next)
        if (p == e)
            return p;
    return NULL;
}

static cudaError_t event_create(cudaEvent_t *event, unsigned int flags)
{
    const unsigned known = cudaEventBlockingSync | cudaEventDisableTiming | cudaEventInterprocess;
    struct CUevent_st *e;
    if (!event || (flags & ~known) ||
        ((flags & cudaEventInterprocess) && !(flags & cudaEventDisableTiming)))
        return cudaErrorInvalidValue;
    e = calloc(1, sizeof *e);
    if (!e)
        return cudaErrorMemoryAllocation;
    e->flags = flags;
    pthread_mutex_lock(&g_lock);
    e->next = g_events;
    g_events = e;
    pthread_mutex_unlock(&g_lock);
    *event = e;
    return cudaSuccess;
}

static cudaError_t event_destroy(cudaEvent_t event)
{
    struct CUevent_st *found = NULL;
    pthread_mutex_lock(&g_lock);
    for (struct CUevent_st **pp = &g_events; *pp; pp = &(*pp)->next) {
        if (*pp == event) {
            found = *pp;
            *pp = found->next;
            break;
        }
    }
    pthread_mutex_unlock(&g_lock);
    if (!found)
        return cudaErrorInvalidResourceHandle;
    free(found);
    return cudaSuccess;
}

/* The event completes when the work enqueued before it on the stream does. */
static cudaError_t event_record(cudaEvent_t event, cudaStream_t stream, unsigned int flags)
{
    cudaError_t err = cudaSuccess;
    if (flags & ~(unsigned)cudaEventRecordExternal)
        return cudaErrorInvalidValue;
    pthread_mutex_lock(&g_lock);
    struct CUevent_st *e = find_event(event);
    struct CUstream_st *s = find_stream(stream);
    if (!e || !s) {
        err = cudaErrorInvalidResourceHandle;
    } else {
        s->clock_ns = ready_time(s);
        e->time_ns = s->clock_ns;
        e->recorded = 1;
    }
    pthread_mutex_unlock(&g_lock);
    return err;
}

/* Recorded work is complete as soon as it is enqueued: always "complete". */
static cudaError_t event_query(cudaEvent_t event)
{
    pthread_mutex_lock(&g_lock);
    int ok = find_event(event) != NULL;
    pthread_mutex_unlock(&g_lock);
    return ok ? cudaSuccess : cudaErrorInvalidResourceHandle;
}

static cudaError_t event_synchronize(cudaEvent_t event)
{
    pthread_mutex_lock(&g_lock);
    struct CUevent_st *e = find_event(event);
    if (e && e->recorded)
        t_host_ns = max_u64(t_host_ns, e->time_ns);
    pthread_mutex_unlock(&g_lock);
    return e ? cudaSuccess : cudaErrorInvalidResourceHandle;
}

static cudaError_t event_elapsed(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    cudaError_t err = cudaSuccess;
    if (!ms)
        return cudaErrorInvalidValue;
    pthread_mutex_lock(&g_lock);
    struct CUevent_st *a = find_event(start), *b = find_event(end);
    if (!a || !b || !a->recorded || !b->recorded ||
        ((a->flags | b->flags) & cudaEventDisableTiming))
        err = cudaErrorInvalidResourceHandle;
    else
        *ms = (float)(((double)b->time_ns - (double)a->time_ns) / 1e6);
    pthread_mutex_unlock(&g_lock);
    return err;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    runtime_context();
    return record_error(event_create(event, flags));
}

cudaError_t cudaEventCreate(cudaEvent_t *event)
{
    runtime_context();
    return record_error(event_create(event, cudaEventDefault));
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    runtime_context();
    return record_error(event_destroy(event));
}

cudaError_t cudaEventRecordWithFlags(cudaEvent_t event, cudaStream_t stream, unsigned int flags)
{
    runtime_context();
    return record_error(event_record(event, stream, flags));
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    runtime_context();
    return record_error(event_record(event, stream, cudaEventRecordDefault));
}

cudaError_t cudaEventQuery(cudaEvent_t event)
{
    runtime_context();
    return record_error(event_query(event));
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    runtime_context();
    return record_error(event_synchronize(event));
}

cudaError_t cudaEventElapsedTime(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    runtime_context();
    return record_error(event_elapsed(ms, start, end));
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    runtime_context();
    cudaError_t err = cudaSuccess;
    (void)flags;
    pthread_mutex_lock(&g_lock);
    struct CUevent_st *e = find_event(event);
    struct CUstream_st *s = find_stream(stream);
    if (!e || !s)
        err = cudaErrorInvalidResourceHandle;
    else if (e->recorded)
        s->clock_ns = max_u64(s->clock_ns, e->time_ns);
    pthread_mutex_unlock(&g_lock);
    return record_error(err);
}

/* ------------------------------------------------- for the sim driver (cuda.c) */

/* The driver's stream and event calls, on the runtime's own objects. They leave the
 * last error alone and do not count as runtime calls. */

cudaError_t nnspy_sim_stream_check(cudaStream_t stream)
{
    pthread_mutex_lock(&g_lock);
    int ok = find_stream(stream) != NULL;
    pthread_mutex_unlock(&g_lock);
    return ok ? cudaSuccess : cudaErrorInvalidResourceHandle;
}

cudaError_t nnspy_sim_stream_synchronize(cudaStream_t stream)
{
    pthread_mutex_lock(&g_lock);
    struct CUstream_st *s = find_stream(stream);
    if (s)
        t_host_ns = max_u64(t_host_ns, s->clock_ns);
    pthread_mutex_unlock(&g_lock);
    return s ? cudaSuccess : cudaErrorInvalidResourceHandle;
}

cudaError_t nnspy_sim_event_create(cudaEvent_t *event, unsigned int flags)
{
    return event_create(event, flags);
}

cudaError_t nnspy_sim_event_record(cudaEvent_t event, cudaStream_t stream, unsigned int flags)
{
    return event_record(event, stream, flags);
}

cudaError_t nnspy_sim_event_query(cudaEvent_t event)
{
    return event_query(event);
}

cudaError_t nnspy_sim_event_synchronize(cudaEvent_t event)
{
    return event_synchronize(event);
}

cudaError_t nnspy_sim_event_elapsed(float *ms, cudaEvent_t start, cudaEvent_t end)
{
    return event_elapsed(ms, start, end);
}

cudaError_t nnspy_sim_event_destroy(cudaEvent_t event)
{
    return event_destroy(event);
}

int nnspy_sim_device_attribute(int attr)
{
    struct cudaDeviceProp p;
    fill_properties(&p);
    return attribute_value(&p, (enum cudaDeviceAttr)attr);
}
