/*
 * cupti.c: the simulated CUPTI (libcupti.so.13). Test equipment: see README.md.
 *
 * The part of CUPTI a profiler needs to timestamp every kernel: the one-subscriber
 * rule of cuptiSubscribe, and the activity API (buffers requested from and handed back
 * to the tool, CONCURRENT_KERNEL / KERNEL, MEMCPY, MEMSET and EXTERNAL_CORRELATION
 * records, a per-thread stack of external correlation ids per kind). Records have the
 * layout of the toolkit's cupti_activity.h (CUpti_ActivityKernel10, CUpti_ActivityMemcpy6,
 * CUpti_ActivityMemset4, CUpti_ActivityExternalCorrelation), so a tool compiled
 * against the real headers reads them.
 *
 * The device work comes from the sim runtime (libcudart.so.13, which this library
 * links against): when this library is loaded it installs a hook
 * (nnspy_sim_set_work_hook) that the runtime calls for every kernel, copy and memset,
 * on the launching thread, with the times of the virtual device clock. Work done
 * before the load, or while its kind is disabled, leaves no record.
 *
 * Exported functions never call each other: a profiler would see nested calls.
 */
#define _GNU_SOURCE
#include "sim.h"

#include <cupti.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIM_CONTEXT_ID 1 /* the primary context, the only one */
#define SIM_DEVICE_ID 0
#define SIM_KERNEL_NAME "nnspy_sim_kernel"

_Static_assert((int)NNSPY_SIM_MEMORY_PAGEABLE == (int)CUPTI_ACTIVITY_MEMORY_KIND_PAGEABLE &&
                   (int)NNSPY_SIM_MEMORY_PINNED == (int)CUPTI_ACTIVITY_MEMORY_KIND_PINNED &&
                   (int)NNSPY_SIM_MEMORY_DEVICE == (int)CUPTI_ACTIVITY_MEMORY_KIND_DEVICE,
               "memory kinds");
/* Records follow each other in a buffer: each a multiple of the 8-byte alignment. */
_Static_assert(_Alignof(CUpti_ActivityKernel10) == 8 && sizeof(CUpti_ActivityKernel10) % 8 == 0 &&
                   _Alignof(CUpti_ActivityMemcpy6) == 8 && sizeof(CUpti_ActivityMemcpy6) % 8 == 0 &&
                   _Alignof(CUpti_ActivityMemset4) == 8 && sizeof(CUpti_ActivityMemset4) % 8 == 0 &&
                   _Alignof(CUpti_ActivityExternalCorrelation) == 8 &&
                   sizeof(CUpti_ActivityExternalCorrelation) % 8 == 0,
               "record alignment");

/* ------------------------------------------------------------------ results */

/* The names the toolkit's cuptiGetResultString gives (it knows no 36 and 37). */
static const struct {
    int code;
    const char *name;
} k_results[] = {
    {0, "CUPTI_SUCCESS"},
    {1, "CUPTI_ERROR_INVALID_PARAMETER"},
    {2, "CUPTI_ERROR_INVALID_DEVICE"},
    {3, "CUPTI_ERROR_INVALID_CONTEXT"},
    {4, "CUPTI_ERROR_INVALID_EVENT_DOMAIN_ID"},
    {5, "CUPTI_ERROR_INVALID_EVENT_ID"},
    {6, "CUPTI_ERROR_INVALID_EVENT_NAME"},
    {7, "CUPTI_ERROR_INVALID_OPERATION"},
    {8, "CUPTI_ERROR_OUT_OF_MEMORY"},
    {9, "CUPTI_ERROR_HARDWARE"},
    {10, "CUPTI_ERROR_PARAMETER_SIZE_NOT_SUFFICIENT"},
    {11, "CUPTI_ERROR_API_NOT_IMPLEMENTED"},
    {12, "CUPTI_ERROR_MAX_LIMIT_REACHED"},
    {13, "CUPTI_ERROR_NOT_READY"},
    {14, "CUPTI_ERROR_NOT_COMPATIBLE"},
    {15, "CUPTI_ERROR_NOT_INITIALIZED"},
    {16, "CUPTI_ERROR_INVALID_METRIC_ID"},
    {17, "CUPTI_ERROR_INVALID_METRIC_NAME"},
    {18, "CUPTI_ERROR_QUEUE_EMPTY"},
    {19, "CUPTI_ERROR_INVALID_HANDLE"},
    {20, "CUPTI_ERROR_INVALID_STREAM"},
    {21, "CUPTI_ERROR_INVALID_KIND"},
    {22, "CUPTI_ERROR_INVALID_EVENT_VALUE"},
    {23, "CUPTI_ERROR_DISABLED"},
    {24, "CUPTI_ERROR_INVALID_MODULE"},
    {25, "CUPTI_ERROR_INVALID_METRIC_VALUE"},
    {26, "CUPTI_ERROR_HARDWARE_BUSY"},
    {27, "CUPTI_ERROR_NOT_SUPPORTED"},
    {28, "CUPTI_ERROR_UM_PROFILING_NOT_SUPPORTED"},
    {29, "CUPTI_ERROR_UM_PROFILING_NOT_SUPPORTED_ON_DEVICE"},
    {30, "CUPTI_ERROR_UM_PROFILING_NOT_SUPPORTED_ON_NON_P2P_DEVICES"},
    {31, "CUPTI_ERROR_UM_PROFILING_NOT_SUPPORTED_WITH_MPS"},
    {32, "CUPTI_ERROR_CDP_TRACING_NOT_SUPPORTED"},
    {33, "CUPTI_ERROR_VIRTUALIZED_DEVICE_NOT_SUPPORTED"},
    {34, "CUPTI_ERROR_CUDA_COMPILER_NOT_COMPATIBLE"},
    {35, "CUPTI_ERROR_INSUFFICIENT_PRIVILEGES"},
    {38, "CUPTI_ERROR_LEGACY_PROFILER_NOT_SUPPORTED"},
    {39, "CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED"},
    {40, "CUPTI_ERROR_VIRTUALIZED_DEVICE_INSUFFICIENT_PRIVILEGES"},
    {41, "CUPTI_ERROR_CONFIDENTIAL_COMPUTING_NOT_SUPPORTED"},
    {42, "CUPTI_ERROR_CMP_DEVICE_NOT_SUPPORTED"},
    {43, "CUPTI_ERROR_MIG_DEVICE_NOT_SUPPORTED"},
    {44, "CUPTI_ERROR_SLI_DEVICE_NOT_SUPPORTED"},
    {45, "CUPTI_ERROR_WSL_DEVICE_NOT_SUPPORTED"},
    {46, "CUPTI_ERROR_INVALID_CHIP_NAME"},
    {999, "CUPTI_ERROR_UNKNOWN"},
    {1000, "CUPTI_ERROR_CANT_OPEN_FILE"},
    {1001, "CUPTI_ERROR_FROM_DBMS"},
    {1002, "CUPTI_ERROR_OPENED_FOR_WRITE"},
    {1003, "CUPTI_ERROR_OPENED_FOR_READ"},
    {1004, "CUPTI_ERROR_TRUNCATED_PDM"},
};

CUptiResult cuptiGetResultString(CUptiResult result, const char **str)
{
    if (!str)
        return CUPTI_ERROR_INVALID_PARAMETER;
    for (size_t i = 0; i < sizeof k_results / sizeof k_results[0]; i++) {
        if (k_results[i].code == (int)result) {
            *str = k_results[i].name;
            return CUPTI_SUCCESS;
        }
    }
    return CUPTI_ERROR_INVALID_PARAMETER;
}

CUptiResult cuptiGetVersion(uint32_t *version)
{
    if (!version)
        return CUPTI_ERROR_INVALID_PARAMETER;
    *version = CUPTI_API_VERSION;
    return CUPTI_SUCCESS;
}

/* The calling thread's "now" on the virtual device clock: its virtual host time. A
 * kernel launched after a reading starts no earlier; after a synchronisation the
 * reading is no earlier than the end of the work waited for. */
CUptiResult cuptiGetTimestamp(uint64_t *timestamp)
{
    if (!timestamp)
        return CUPTI_ERROR_INVALID_PARAMETER;
    *timestamp = nnspy_sim_host_time_ns();
    return CUPTI_SUCCESS;
}

/* ------------------------------------------------------------- subscribers */

/*
 * One subscriber at a time, as the real CUPTI allows. NNSPY_SIM_CUPTI_BUSY (read when
 * the library loads) stands for another tool (Nsight Systems, a framework's profiler)
 * that subscribed first and never leaves: every cuptiSubscribe then fails. The sim
 * has no callback domains: the subscriber's callback is never called.
 */
#define SIM_NAME_MAX 64 /* CUPTI_OLD_SUBSCRIBER_NAME_MIN_LEN */
#define SIM_BUSY_NAME "CUPTI for NNSPY_SIM_CUPTI_BUSY"

struct CUpti_Subscriber_st {
    CUpti_CallbackFunc callback;
    void *userdata;
    char name[SIM_NAME_MAX]; /* "CUPTI for <subscriberName>" */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER; /* all the state below */
static struct CUpti_Subscriber_st *g_subscriber;
static int g_busy;

static CUptiResult subscribe(CUpti_SubscriberHandle *subscriber, CUpti_CallbackFunc callback,
                             void *userdata, CUpti_SubscriberParams *params)
{
    CUptiResult r = CUPTI_SUCCESS;
    if (!subscriber)
        return CUPTI_ERROR_INVALID_PARAMETER;
    if (params && params->structSize < CUpti_SubscriberParams_STRUCT_SIZE)
        return CUPTI_ERROR_INVALID_PARAMETER;
    pthread_mutex_lock(&g_lock);
    if (g_busy || g_subscriber) {
        r = CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED;
        if (params && params->oldSubscriberName && params->oldSubscriberSize > 0) {
            const char *old = g_busy ? SIM_BUSY_NAME : g_subscriber->name;
            size_t n = strlen(old);
            if (n >= params->oldSubscriberSize)
                n = params->oldSubscriberSize - 1;
            memcpy(params->oldSubscriberName, old, n);
            params->oldSubscriberName[n] = '\0';
        }
    } else {
        struct CUpti_Subscriber_st *s = calloc(1, sizeof *s);
        if (!s) {
            r = CUPTI_ERROR_OUT_OF_MEMORY;
        } else {
            const char *name = params ? params->subscriberName : NULL;
            s->callback = callback;
            s->userdata = userdata;
            if (name)
                snprintf(s->name, sizeof s->name, "CUPTI for %.53s", name);
            else
                snprintf(s->name, sizeof s->name, "CUPTI");
            g_subscriber = s;
            *subscriber = s;
        }
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

CUptiResult cuptiSubscribe(CUpti_SubscriberHandle *subscriber, CUpti_CallbackFunc callback,
                           void *userdata)
{
    return subscribe(subscriber, callback, userdata, NULL);
}

CUptiResult cuptiSubscribe_v2(CUpti_SubscriberHandle *subscriber, CUpti_CallbackFunc callback,
                              void *userdata, CUpti_SubscriberParams *pParams)
{
    return subscribe(subscriber, callback, userdata, pParams);
}

CUptiResult cuptiUnsubscribe(CUpti_SubscriberHandle subscriber)
{
    CUptiResult r = CUPTI_ERROR_INVALID_PARAMETER;
    pthread_mutex_lock(&g_lock);
    if (subscriber && subscriber == g_subscriber) {
        free(g_subscriber);
        g_subscriber = NULL;
        r = CUPTI_SUCCESS;
    }
    pthread_mutex_unlock(&g_lock);
    return r;
}

/* ------------------------------------------------------- activity: buffers */

static int g_enabled[CUPTI_ACTIVITY_KIND_COUNT]; /* atomic */
static CUpti_BuffersCallbackRequestFunc g_requested;
static CUpti_BuffersCallbackCompleteFunc g_completed;
static struct {
    uint8_t *p;
    size_t size, used, max_records, records;
} g_buf; /* the buffer being filled; p NULL when there is none */
static size_t g_dropped;
static uint32_t g_correlation; /* atomic: the last correlation id given */

/* Set while the tool's bufferRequested runs on this thread (with g_lock held): work it
 * launches is dropped rather than recorded. */
static __thread int t_requesting;

static int enabled(CUpti_ActivityKind kind)
{
    return __atomic_load_n(&g_enabled[kind], __ATOMIC_ACQUIRE);
}

/* Buffers to hand back through bufferCompleted once g_lock is released. */
#define SIM_MAX_DONE 8
struct done {
    int n;
    struct {
        CUpti_BuffersCallbackCompleteFunc fn;
        uint8_t *p;
        size_t size, valid;
    } b[SIM_MAX_DONE];
};

/* Takes the buffer being filled off for delivery. Lock held. */
static void retire(struct done *d)
{
    if (g_buf.p && g_completed && d->n < SIM_MAX_DONE) {
        d->b[d->n].fn = g_completed;
        d->b[d->n].p = g_buf.p;
        d->b[d->n].size = g_buf.size;
        d->b[d->n].valid = g_buf.used;
        d->n++;
    }
    memset(&g_buf, 0, sizeof g_buf);
}

static void deliver(const struct done *d)
{
    for (int i = 0; i < d->n; i++)
        d->b[i].fn(NULL, 0, d->b[i].p, d->b[i].size, d->b[i].valid);
}

/* Appends one record, asking the tool for a buffer if none is being filled; dropped
 * (and counted) when the tool gives none large enough. Lock held. */
static void put(struct done *d, const void *record, size_t size)
{
    if (g_buf.p && g_buf.size - g_buf.used < size)
        retire(d);
    if (!g_buf.p) {
        uint8_t *p = NULL;
        size_t bytes = 0, max_records = 0;
        if (!g_requested) {
            g_dropped++;
            return;
        }
        t_requesting = 1;
        g_requested(&p, &bytes, &max_records);
        t_requesting = 0;
        if (!p) {
            g_dropped++;
            return;
        }
        g_buf.p = p;
        g_buf.size = bytes;
        g_buf.max_records = max_records;
        if (bytes < size) { /* too small for one record: handed back empty */
            retire(d);
            g_dropped++;
            return;
        }
    }
    memcpy(g_buf.p + g_buf.used, record, size);
    g_buf.used += size;
    g_buf.records++;
    if (g_buf.max_records && g_buf.records >= g_buf.max_records)
        retire(d);
}

CUptiResult cuptiActivityRegisterCallbacks(CUpti_BuffersCallbackRequestFunc funcBufferRequested,
                                           CUpti_BuffersCallbackCompleteFunc funcBufferCompleted)
{
    if (!funcBufferRequested || !funcBufferCompleted)
        return CUPTI_ERROR_INVALID_PARAMETER;
    pthread_mutex_lock(&g_lock);
    g_requested = funcBufferRequested;
    g_completed = funcBufferCompleted;
    pthread_mutex_unlock(&g_lock);
    return CUPTI_SUCCESS;
}

/* Every record in the sim is complete when written: a flush, forced or not, hands
 * back the buffer being filled if it holds any. */
static CUptiResult flush_all(void)
{
    struct done d = {0};
    pthread_mutex_lock(&g_lock);
    if (!g_completed) {
        pthread_mutex_unlock(&g_lock);
        return CUPTI_ERROR_INVALID_OPERATION;
    }
    if (g_buf.p && g_buf.used)
        retire(&d);
    pthread_mutex_unlock(&g_lock);
    deliver(&d);
    return CUPTI_SUCCESS;
}

CUptiResult cuptiActivityFlushAll(uint32_t flag)
{
    (void)flag;
    return flush_all();
}

/* Deprecated: context and stream are ignored, as in the real library. */
CUptiResult cuptiActivityFlush(CUcontext context, uint32_t streamId, uint32_t flag)
{
    (void)context;
    (void)streamId;
    (void)flag;
    return flush_all();
}

CUptiResult cuptiActivityGetNumDroppedRecords(CUcontext context, uint32_t streamId, size_t *dropped)
{
    (void)context;
    (void)streamId;
    if (!dropped)
        return CUPTI_ERROR_INVALID_PARAMETER;
    pthread_mutex_lock(&g_lock);
    *dropped = g_dropped;
    g_dropped = 0;
    pthread_mutex_unlock(&g_lock);
    return CUPTI_SUCCESS;
}

/* Size of a record of `kind` as this library writes it; 0 for kinds it never writes. */
static size_t record_size(CUpti_ActivityKind kind)
{
    switch (kind) {
    case CUPTI_ACTIVITY_KIND_KERNEL:
    case CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL:
        return sizeof(CUpti_ActivityKernel10);
    case CUPTI_ACTIVITY_KIND_MEMCPY:
        return sizeof(CUpti_ActivityMemcpy6);
    case CUPTI_ACTIVITY_KIND_MEMSET:
        return sizeof(CUpti_ActivityMemset4);
    case CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION:
        return sizeof(CUpti_ActivityExternalCorrelation);
    default:
        return 0;
    }
}

CUptiResult cuptiActivityGetNextRecord(uint8_t *buffer, size_t validBufferSizeBytes,
                                       CUpti_Activity **record)
{
    size_t offset = 0, size;
    CUpti_ActivityKind kind;
    if (!buffer || !record)
        return CUPTI_ERROR_INVALID_PARAMETER;
    if (*record) {
        const uint8_t *cur = (const uint8_t *)*record;
        if (cur < buffer || (size_t)(cur - buffer) >= validBufferSizeBytes)
            return CUPTI_ERROR_INVALID_PARAMETER;
        memcpy(&kind, cur, sizeof kind);
        size = record_size(kind);
        if (!size)
            return CUPTI_ERROR_INVALID_KIND;
        offset = (size_t)(cur - buffer) + size;
    }
    if (offset >= validBufferSizeBytes)
        return CUPTI_ERROR_MAX_LIMIT_REACHED;
    if (validBufferSizeBytes - offset < sizeof kind)
        return CUPTI_ERROR_INVALID_KIND;
    memcpy(&kind, buffer + offset, sizeof kind);
    size = record_size(kind);
    if (!size || validBufferSizeBytes - offset < size)
        return CUPTI_ERROR_INVALID_KIND; /* unknown or incomplete */
    *record = (CUpti_Activity *)(void *)(buffer + offset);
    return CUPTI_SUCCESS;
}

/* ---------------------------------------------- activity: kinds, correlation */

static CUptiResult set_kind(CUpti_ActivityKind kind, int on)
{
    if ((int)kind <= (int)CUPTI_ACTIVITY_KIND_INVALID || (int)kind >= (int)CUPTI_ACTIVITY_KIND_COUNT)
        return CUPTI_ERROR_INVALID_KIND;
    __atomic_store_n(&g_enabled[kind], on, __ATOMIC_RELEASE);
    return CUPTI_SUCCESS;
}

CUptiResult cuptiActivityEnable(CUpti_ActivityKind kind)
{
    return set_kind(kind, 1);
}

CUptiResult cuptiActivityDisable(CUpti_ActivityKind kind)
{
    return set_kind(kind, 0);
}

/*
 * The calling thread's external correlation ids: one stack per kind. The arrays are
 * freed when the thread exits (a key destructor), so a tool's worker threads leak
 * nothing.
 */
struct ext_stack {
    uint64_t *ids;
    size_t n, cap;
};

static __thread struct ext_stack t_ext[CUPTI_EXTERNAL_CORRELATION_KIND_SIZE];
static pthread_key_t g_ext_key;
static int g_ext_key_ok;

static void free_stacks(void *arg)
{
    struct ext_stack *stacks = arg;
    for (int k = 0; k < CUPTI_EXTERNAL_CORRELATION_KIND_SIZE; k++) {
        free(stacks[k].ids);
        memset(&stacks[k], 0, sizeof stacks[k]);
    }
}

static int valid_external_kind(CUpti_ExternalCorrelationKind kind)
{
    return (int)kind > (int)CUPTI_EXTERNAL_CORRELATION_KIND_INVALID &&
           (int)kind < (int)CUPTI_EXTERNAL_CORRELATION_KIND_SIZE;
}

CUptiResult cuptiActivityPushExternalCorrelationId(CUpti_ExternalCorrelationKind kind, uint64_t id)
{
    if (!valid_external_kind(kind))
        return CUPTI_ERROR_INVALID_PARAMETER;
    struct ext_stack *s = &t_ext[kind];
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 8;
        uint64_t *ids = realloc(s->ids, cap * sizeof *ids);
        if (!ids)
            return CUPTI_ERROR_OUT_OF_MEMORY;
        if (!s->ids && g_ext_key_ok)
            pthread_setspecific(g_ext_key, t_ext);
        s->ids = ids;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return CUPTI_SUCCESS;
}

CUptiResult cuptiActivityPopExternalCorrelationId(CUpti_ExternalCorrelationKind kind, uint64_t *lastId)
{
    if (!valid_external_kind(kind))
        return CUPTI_ERROR_INVALID_PARAMETER;
    struct ext_stack *s = &t_ext[kind];
    if (s->n == 0)
        return CUPTI_ERROR_QUEUE_EMPTY;
    s->n--;
    if (lastId)
        *lastId = s->ids[s->n];
    return CUPTI_SUCCESS;
}

/* ----------------------------------------------------------- the work hook */

static uint8_t copy_kind(const struct nnspy_sim_work *w)
{
    int from_device = w->src == NNSPY_SIM_MEMORY_DEVICE, to_device = w->dst == NNSPY_SIM_MEMORY_DEVICE;
    if (from_device)
        return to_device ? CUPTI_ACTIVITY_MEMCPY_KIND_DTOD : CUPTI_ACTIVITY_MEMCPY_KIND_DTOH;
    return to_device ? CUPTI_ACTIVITY_MEMCPY_KIND_HTOD : CUPTI_ACTIVITY_MEMCPY_KIND_HTOH;
}

/* Called by the sim runtime on the launching thread for each kernel, copy and memset. */
static void on_work(const struct nnspy_sim_work *w)
{
    uint32_t correlation = __atomic_add_fetch(&g_correlation, 1, __ATOMIC_RELAXED);
    CUpti_ActivityKind kind = CUPTI_ACTIVITY_KIND_INVALID;
    union {
        CUpti_ActivityKernel10 kernel;
        CUpti_ActivityMemcpy6 memcpy;
        CUpti_ActivityMemset4 memset;
    } r;
    size_t size;
    CUpti_ActivityExternalCorrelation ext[CUPTI_EXTERNAL_CORRELATION_KIND_SIZE];
    int n_ext = 0;
    struct done d = {0};

    switch (w->kind) {
    case NNSPY_SIM_WORK_KERNEL:
        /* KERNEL (serialising on a real device) wins when both kinds are enabled */
        if (enabled(CUPTI_ACTIVITY_KIND_KERNEL))
            kind = CUPTI_ACTIVITY_KIND_KERNEL;
        else if (enabled(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL))
            kind = CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL;
        break;
    case NNSPY_SIM_WORK_MEMCPY:
        if (enabled(CUPTI_ACTIVITY_KIND_MEMCPY))
            kind = CUPTI_ACTIVITY_KIND_MEMCPY;
        break;
    case NNSPY_SIM_WORK_MEMSET:
        if (enabled(CUPTI_ACTIVITY_KIND_MEMSET))
            kind = CUPTI_ACTIVITY_KIND_MEMSET;
        break;
    }
    if (kind == CUPTI_ACTIVITY_KIND_INVALID)
        return;
    if (t_requesting) { /* launched by the tool's bufferRequested: g_lock is held */
        g_dropped++;
        return;
    }

    memset(&r, 0, sizeof r);
    if (kind == CUPTI_ACTIVITY_KIND_MEMCPY) {
        r.memcpy.kind = kind;
        r.memcpy.copyKind = copy_kind(w);
        r.memcpy.srcKind = (uint8_t)w->src;
        r.memcpy.dstKind = (uint8_t)w->dst;
        r.memcpy.flags = w->async ? CUPTI_ACTIVITY_FLAG_MEMCPY_ASYNC : 0;
        r.memcpy.bytes = w->count;
        r.memcpy.start = w->start_ns;
        r.memcpy.end = w->end_ns;
        r.memcpy.deviceId = SIM_DEVICE_ID;
        r.memcpy.contextId = SIM_CONTEXT_ID;
        r.memcpy.streamId = w->stream_id;
        r.memcpy.correlationId = correlation;
        r.memcpy.runtimeCorrelationId = correlation;
        r.memcpy.copyCount = 1;
        size = sizeof r.memcpy;
    } else if (kind == CUPTI_ACTIVITY_KIND_MEMSET) {
        r.memset.kind = kind;
        r.memset.value = (uint32_t)w->value;
        r.memset.bytes = w->count;
        r.memset.start = w->start_ns;
        r.memset.end = w->end_ns;
        r.memset.deviceId = SIM_DEVICE_ID;
        r.memset.contextId = SIM_CONTEXT_ID;
        r.memset.streamId = w->stream_id;
        r.memset.correlationId = correlation;
        r.memset.flags = w->async ? CUPTI_ACTIVITY_FLAG_MEMSET_ASYNC : 0;
        r.memset.memoryKind = (uint16_t)w->dst;
        size = sizeof r.memset;
    } else {
        r.kernel.kind = kind;
        r.kernel.start = w->start_ns;
        r.kernel.end = w->end_ns;
        r.kernel.completed = w->end_ns; /* no child kernels */
        r.kernel.deviceId = SIM_DEVICE_ID;
        r.kernel.contextId = SIM_CONTEXT_ID;
        r.kernel.streamId = w->stream_id;
        r.kernel.correlationId = correlation;
        r.kernel.gridId = correlation;
        r.kernel.name = SIM_KERNEL_NAME;
        r.kernel.launchType = CUPTI_ACTIVITY_LAUNCH_TYPE_REGULAR;
        size = sizeof r.kernel;
    }

    /* Each kind with an id pushed on this thread: one record, before the work's own. */
    if (enabled(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION)) {
        for (int x = CUPTI_EXTERNAL_CORRELATION_KIND_INVALID + 1;
             x < CUPTI_EXTERNAL_CORRELATION_KIND_SIZE; x++) {
            if (!t_ext[x].n)
                continue;
            memset(&ext[n_ext], 0, sizeof ext[n_ext]);
            ext[n_ext].kind = CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION;
            ext[n_ext].externalKind = (CUpti_ExternalCorrelationKind)x;
            ext[n_ext].externalId = t_ext[x].ids[t_ext[x].n - 1];
            ext[n_ext].correlationId = correlation;
            n_ext++;
        }
    }
    _Static_assert(CUPTI_EXTERNAL_CORRELATION_KIND_SIZE + 1 <= SIM_MAX_DONE,
                   "each record may complete a buffer");

    pthread_mutex_lock(&g_lock);
    for (int i = 0; i < n_ext; i++)
        put(&d, &ext[i], sizeof ext[i]);
    put(&d, &r, size);
    pthread_mutex_unlock(&g_lock);
    deliver(&d);
}

/* --------------------------------------------------- stream ids, finalize */

/* The stream ids of the records: the sim runtime's (1 the legacy default stream, 2
 * cudaStreamPerThread, 3... created streams). The one context is the primary one, so
 * any non-NULL context is accepted. */
static CUptiResult stream_id(CUstream stream, int per_thread, uint32_t *streamId)
{
    if (!streamId)
        return CUPTI_ERROR_INVALID_PARAMETER;
    cudaStream_t s = (cudaStream_t)stream;
    if (s == NULL && per_thread)
        s = cudaStreamPerThread;
    uint32_t id = nnspy_sim_stream_id(s);
    if (!id)
        return CUPTI_ERROR_INVALID_STREAM;
    *streamId = id;
    return CUPTI_SUCCESS;
}

CUptiResult cuptiGetStreamId(CUcontext context, CUstream stream, uint32_t *streamId)
{
    (void)context;
    return stream_id(stream, 0, streamId);
}

CUptiResult cuptiGetStreamIdEx(CUcontext context, CUstream stream, uint8_t perThreadStream,
                               uint32_t *streamId)
{
    (void)context;
    return stream_id(stream, perThreadStream != 0, streamId);
}

/*
 * Detaches: every activity kind disabled, the buffer being filled handed back (even
 * empty, so that the tool can free it), the buffer callbacks and the subscriber
 * forgotten. The tool is expected to flush first, as with the real library.
 */
CUptiResult cuptiFinalize(void)
{
    struct done d = {0};
    for (int k = 0; k < CUPTI_ACTIVITY_KIND_COUNT; k++)
        __atomic_store_n(&g_enabled[k], 0, __ATOMIC_RELEASE);
    pthread_mutex_lock(&g_lock);
    retire(&d);
    g_requested = NULL;
    g_completed = NULL;
    free(g_subscriber);
    g_subscriber = NULL;
    pthread_mutex_unlock(&g_lock);
    deliver(&d);
    return CUPTI_SUCCESS;
}

/* --------------------------------------------------------- load and unload */

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

__attribute__((constructor)) static void cupti_load(void)
{
    g_busy = env_flag("NNSPY_SIM_CUPTI_BUSY");
    g_ext_key_ok = pthread_key_create(&g_ext_key, free_stacks) == 0;
    nnspy_sim_set_work_hook(on_work);
}

/* dlclose (or exit): the runtime must not call into an unmapped library. */
__attribute__((destructor)) static void cupti_unload(void)
{
    nnspy_sim_set_work_hook(NULL);
    pthread_mutex_lock(&g_lock);
    free(g_subscriber);
    g_subscriber = NULL;
    pthread_mutex_unlock(&g_lock);
    if (g_ext_key_ok)
        pthread_key_delete(g_ext_key);
}
