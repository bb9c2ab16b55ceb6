/*
 * cupti.c: NNSPY_TIMING=cupti. The CUPTI activity API timestamps every kernel the
 * GPU runs, the framework's own kernels included. Each intercepted call pushes an
 * external correlation id (a ticket) around the real call, so that CUPTI tags the
 * kernels it launches; a kernel whose ticket maps to a call extends that call's
 * GPU interval, and the others are counted as "other GPU work".
 *
 * When another tool already holds CUPTI (Nsight Systems, the PyTorch profiler:
 * cuptiSubscribe refuses a second subscriber), nnspy falls back to events and
 * says so. CUPTI delivers its records in buffers, from its own thread or from
 * cuptiActivityFlushAll; everything here is under one lock, taken before
 * record.c's (never the other way round).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <cupti.h>

#include "core.h"
#include "cupti_timing.h"

#define BUFFER_BYTES (1u << 20)
#define MAP_SLOTS    (1u << 16) /* tickets and correlation ids in flight */

static struct {
    CUptiResult (*subscribe)(CUpti_SubscriberHandle *, CUpti_CallbackFunc, void *);
    CUptiResult (*unsubscribe)(CUpti_SubscriberHandle);
    CUptiResult (*register_callbacks)(CUpti_BuffersCallbackRequestFunc,
                                      CUpti_BuffersCallbackCompleteFunc);
    CUptiResult (*enable)(CUpti_ActivityKind);
    CUptiResult (*push)(CUpti_ExternalCorrelationKind, uint64_t);
    CUptiResult (*pop)(CUpti_ExternalCorrelationKind, uint64_t *);
    CUptiResult (*flush)(uint32_t);
    CUptiResult (*next_record)(uint8_t *, size_t, CUpti_Activity **);
} api;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state; /* 0: not tried, 1: active, -1: not used */
static uint64_t next_ticket = 1;
/* ticket -> call number, and CUPTI correlation id -> ticket: rings indexed by the
 * id modulo MAP_SLOTS, each slot remembering its id */
static struct {
    uint64_t ticket, call;
} calls[MAP_SLOTS];
static struct {
    uint32_t correlation;
    uint64_t ticket;
} tickets[MAP_SLOTS];
static uint64_t attributed_kernels, other_kernels;
static int64_t other_ns;

/* ------------------------------------------------------------ buffers */

static void CUPTIAPI buffer_requested(uint8_t **buffer, size_t *size, size_t *max_records)
{
    *buffer = aligned_alloc(8, BUFFER_BYTES);
    *size = *buffer ? BUFFER_BYTES : 0;
    *max_records = 0; /* as many as fit */
}

static bool call_of_correlation(uint32_t correlation, uint64_t *call)
{
    uint64_t ticket = tickets[correlation % MAP_SLOTS].correlation == correlation
                          ? tickets[correlation % MAP_SLOTS].ticket
                          : 0;
    if (!ticket || calls[ticket % MAP_SLOTS].ticket != ticket) return false;
    *call = calls[ticket % MAP_SLOTS].call;
    return true;
}

static void take_record(const CUpti_Activity *r, bool kernels)
{
    if (!kernels && r->kind == CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION) {
        const CUpti_ActivityExternalCorrelation *e = (const void *)r;
        if (e->externalKind != CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0) return;
        tickets[e->correlationId % MAP_SLOTS].correlation = e->correlationId;
        tickets[e->correlationId % MAP_SLOTS].ticket = e->externalId;
    } else if (kernels && (r->kind == CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL ||
                           r->kind == CUPTI_ACTIVITY_KIND_KERNEL)) {
        const CUpti_ActivityKernel10 *k = (const void *)r;
        uint64_t call;
        if (call_of_correlation(k->correlationId, &call)) {
            nn_record_gpu_time(call, (int64_t)k->start, (int64_t)k->end);
            attributed_kernels++;
        } else {
            other_kernels++;
            other_ns += (int64_t)(k->end - k->start);
        }
    }
}

/* External correlations first, then kernels: a kernel's tag may come after it in
 * the buffer. */
static void CUPTIAPI buffer_completed(CUcontext ctx, uint32_t stream, uint8_t *buffer, size_t size,
                                      size_t valid)
{
    (void)ctx, (void)stream, (void)size;
    pthread_mutex_lock(&lock);
    for (int pass = 0; pass < 2; pass++) {
        CUpti_Activity *r = NULL;
        while (api.next_record(buffer, valid, &r) == CUPTI_SUCCESS) take_record(r, pass == 1);
    }
    pthread_mutex_unlock(&lock);
    free(buffer);
}

/* ------------------------------------------------------------ set-up */

static void *open_cupti(void)
{
    static const char *const names[] = {"libcupti.so.13", "libcupti.so",
                                        "/usr/local/cuda/lib64/libcupti.so.13",
                                        "/usr/local/cuda/extras/CUPTI/lib64/libcupti.so.13"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h) return h;
    }
    return NULL;
}

static void CUPTIAPI ignore_callback(void *data, CUpti_CallbackDomain d, CUpti_CallbackId id,
                                     const void *info)
{
    (void)data, (void)d, (void)id, (void)info;
}

/* Under lock. */
static bool start_cupti(void)
{
    void *h = open_cupti();
    if (!h) {
        nn_warn("NNSPY_TIMING=cupti: libcupti cannot be loaded; timing with events instead");
        return false;
    }
#define SYM(field, name) api.field = (__typeof__(api.field))nn_real_dlsym(h, name)
    SYM(subscribe, "cuptiSubscribe");
    SYM(unsubscribe, "cuptiUnsubscribe");
    SYM(register_callbacks, "cuptiActivityRegisterCallbacks");
    SYM(enable, "cuptiActivityEnable");
    SYM(push, "cuptiActivityPushExternalCorrelationId");
    SYM(pop, "cuptiActivityPopExternalCorrelationId");
    SYM(flush, "cuptiActivityFlushAll");
    SYM(next_record, "cuptiActivityGetNextRecord");
#undef SYM
    if (!api.subscribe || !api.register_callbacks || !api.enable || !api.push || !api.pop ||
        !api.flush || !api.next_record) {
        nn_warn("NNSPY_TIMING=cupti: libcupti lacks the activity API; timing with events instead");
        return false;
    }
    /* One subscriber at a time: a refusal means another tool holds CUPTI. */
    static CUpti_SubscriberHandle subscriber;
    CUptiResult r = api.subscribe(&subscriber, ignore_callback, NULL);
    if (r != CUPTI_SUCCESS) {
        nn_warn("NNSPY_TIMING=cupti: %s; timing with events instead",
                r == CUPTI_ERROR_MULTIPLE_SUBSCRIBERS_NOT_SUPPORTED
                    ? "CUPTI is held by another tool (Nsight, the PyTorch profiler)"
                    : "CUPTI refused a subscriber");
        return false;
    }
    /* CUPTI writes an external correlation record before an API record, so the
     * driver and runtime API kinds are enabled too (their records are ignored). */
    if (api.register_callbacks(buffer_requested, buffer_completed) == CUPTI_SUCCESS &&
        api.enable(CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL) == CUPTI_SUCCESS &&
        api.enable(CUPTI_ACTIVITY_KIND_EXTERNAL_CORRELATION) == CUPTI_SUCCESS &&
        api.enable(CUPTI_ACTIVITY_KIND_DRIVER) == CUPTI_SUCCESS &&
        api.enable(CUPTI_ACTIVITY_KIND_RUNTIME) == CUPTI_SUCCESS)
        return true;
    nn_warn("NNSPY_TIMING=cupti: CUPTI refused the activity kinds; timing with events instead");
    if (api.unsubscribe) api.unsubscribe(subscriber);
    return false;
}

bool nn_cupti_started(void)
{
    return __atomic_load_n(&state, __ATOMIC_ACQUIRE) > 0;
}

bool nn_cupti_active(void)
{
    int s = __atomic_load_n(&state, __ATOMIC_ACQUIRE);
    if (s) return s > 0;
    pthread_mutex_lock(&lock);
    if (!state) __atomic_store_n(&state, start_cupti() ? 1 : -1, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&lock);
    return state > 0;
}

/* ------------------------------------------------------------ around each call */

uint64_t nn_cupti_push(void)
{
    uint64_t ticket = __atomic_fetch_add(&next_ticket, 1, __ATOMIC_RELAXED);
    return api.push(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, ticket) == CUPTI_SUCCESS ? ticket
                                                                                        : 0;
}

void nn_cupti_pop(uint64_t ticket, uint64_t call)
{
    uint64_t popped = 0;
    api.pop(CUPTI_EXTERNAL_CORRELATION_KIND_CUSTOM0, &popped);
    pthread_mutex_lock(&lock);
    calls[ticket % MAP_SLOTS].ticket = ticket;
    calls[ticket % MAP_SLOTS].call = call;
    pthread_mutex_unlock(&lock);
}

void nn_cupti_flush(void)
{
    if (__atomic_load_n(&state, __ATOMIC_ACQUIRE) > 0) api.flush(CUPTI_ACTIVITY_FLAG_FLUSH_FORCED);
}

void nn_cupti_kernels(uint64_t *attributed, uint64_t *kernels, int64_t *ns)
{
    pthread_mutex_lock(&lock);
    *attributed = attributed_kernels;
    *kernels = other_kernels;
    *ns = other_ns;
    pthread_mutex_unlock(&lock);
}

/* CUPTI does not survive fork: a child times with events. */
static void no_cupti_after_fork(void)
{
    state = -1;
}

__attribute__((constructor(110))) static void cupti_init(void)
{
    nn_fork_protect(&lock, no_cupti_after_fork);
}
