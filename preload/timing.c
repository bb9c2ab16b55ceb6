/*
 * timing.c: the GPU time of each intercepted call, from CUDA driver events
 * recorded on the call's own stream just before and just after it.
 *
 * Nothing waits on the program's streams: events are queued and read back later,
 * when cuEventQuery says they have completed (at later calls, and at exit with a
 * bounded wait). The driver API is used, not the runtime's, so that programs that
 * link the runtime statically are timed too.
 *
 * Times are kept per CUDA context on one timeline: nanoseconds since an anchor
 * event. cuEventElapsedTime returns float milliseconds, whose precision falls as
 * the span grows, so the anchor moves forward (to a completed event) every
 * millisecond of GPU time: each reading stays exact to the nanosecond.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cuda.h>

#include "core.h"
#include "cupti_timing.h"
#include "timing.h"

#define MAX_CONTEXTS   8
#define PENDING_SLOTS  16384
#define POOL_MAX       (2 * PENDING_SLOTS)
#define REANCHOR_NS    1000000

static struct {
    CUresult (*ctx_current)(CUcontext *);
    CUresult (*event_create)(CUevent *, unsigned);
    CUresult (*event_record)(CUevent, CUstream);
    CUresult (*event_query)(CUevent);
    CUresult (*event_elapsed)(float *, CUevent, CUevent);
    CUresult (*event_destroy)(CUevent);
    CUresult (*is_capturing)(CUstream, CUstreamCaptureStatus *); /* optional */
} drv;

struct context {
    CUcontext ctx;
    CUevent anchor;    /* completed or queued before every pending event */
    int64_t anchor_ns; /* the anchor's time on this context's timeline */
    bool anchored;
    CUevent *pool; /* free events of this context */
    size_t pool_len, pool_cap;
};

struct pending {
    CUevent begin, end;
    int ctx;
    uint64_t call;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int state; /* 0: not tried, 1: available, -1: unavailable */
static struct context contexts[MAX_CONTEXTS];
static int n_contexts;
static struct pending pending[PENDING_SLOTS];
static size_t pending_head, pending_len;
static uint64_t dropped; /* calls left untimed because the queue was full */
static uint64_t timed;   /* calls whose GPU time was read back */

/* ------------------------------------------------------------ set-up */

/* The driver is the one the program's runtime loaded (libcuda.so.1). */
static bool load_driver(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    if (!h) return false;
    dlclose(h);
#define DRV(field, name) drv.field = (__typeof__(drv.field))nn_lookup(NN_FAMILY_CUDA_DRIVER, name)
    DRV(ctx_current, "cuCtxGetCurrent");
    DRV(event_create, "cuEventCreate");
    DRV(event_record, "cuEventRecord");
    DRV(event_query, "cuEventQuery");
    DRV(event_elapsed, "cuEventElapsedTime_v2");
    DRV(event_destroy, "cuEventDestroy_v2");
    DRV(is_capturing, "cuStreamIsCapturing");
#undef DRV
    if (!drv.event_elapsed)
        drv.event_elapsed = (__typeof__(drv.event_elapsed))nn_lookup(NN_FAMILY_CUDA_DRIVER,
                                                                     "cuEventElapsedTime");
    return drv.ctx_current && drv.event_create && drv.event_record && drv.event_query &&
           drv.event_elapsed && drv.event_destroy;
}

static char unavailable_reason[128];

/* Under lock. */
static bool available(void)
{
    if (state == 0) {
        state = load_driver() ? 1 : -1;
        if (state < 0) {
            snprintf(unavailable_reason, sizeof unavailable_reason,
                     "no CUDA driver (libcuda.so.1) loaded in the process");
            nn_warn("GPU timing unavailable: %s; counting goes on", unavailable_reason);
        }
    }
    return state > 0;
}

/* Under lock: whether the stream is being captured into a CUDA graph. Events
 * recorded there would join the graph (and only complete when it is launched),
 * so such calls are not timed. */
static bool capturing(void *stream)
{
    CUstreamCaptureStatus status = CU_STREAM_CAPTURE_STATUS_NONE;
    return drv.is_capturing && drv.is_capturing((CUstream)stream, &status) == CUDA_SUCCESS &&
           status != CU_STREAM_CAPTURE_STATUS_NONE;
}

/* Under lock: the slot of the calling thread's current context, or -1. */
static int current_context(void)
{
    CUcontext ctx = NULL;
    if (drv.ctx_current(&ctx) != CUDA_SUCCESS || !ctx) return -1;
    for (int i = 0; i < n_contexts; i++)
        if (contexts[i].ctx == ctx) return i;
    if (n_contexts == MAX_CONTEXTS) {
        nn_warn_once("more than %d CUDA contexts: calls in the others are not timed",
                     MAX_CONTEXTS);
        return -1;
    }
    contexts[n_contexts] = (struct context){.ctx = ctx};
    return n_contexts++;
}

static CUevent take_event(struct context *c)
{
    if (c->pool_len) return c->pool[--c->pool_len];
    CUevent e = NULL;
    return drv.event_create(&e, CU_EVENT_DEFAULT) == CUDA_SUCCESS ? e : NULL;
}

static void give_event(struct context *c, CUevent e)
{
    if (!e) return;
    if (c->pool_len == c->pool_cap && c->pool_cap < POOL_MAX) {
        size_t cap = c->pool_cap ? c->pool_cap * 2 : 64;
        CUevent *p = realloc(c->pool, cap * sizeof *p);
        if (p) c->pool = p, c->pool_cap = cap;
    }
    if (c->pool_len < c->pool_cap) c->pool[c->pool_len++] = e;
    else drv.event_destroy(e);
}

/* ------------------------------------------------------------ reading back */

/* Nanoseconds from event a to event b (both complete), rounded. */
static bool elapsed_ns(CUevent a, CUevent b, int64_t *ns)
{
    float ms = 0;
    if (drv.event_elapsed(&ms, a, b) != CUDA_SUCCESS) return false;
    double v = (double)ms * 1e6;
    *ns = (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
    return true;
}

/*
 * Under lock: the call's GPU interval. Its start is read from the anchor, which is
 * kept within a millisecond of the starts it measures (it moves to this call's
 * begin event beyond that), and its duration from its own two events: both short
 * spans, exact to the nanosecond in float milliseconds.
 */
static bool read_interval(struct context *c, struct pending *p, int64_t *start, int64_t *end)
{
    int64_t offset, duration;
    if (!elapsed_ns(c->anchor, p->begin, &offset) || !elapsed_ns(p->begin, p->end, &duration))
        return false;
    *start = c->anchor_ns + offset;
    *end = *start + duration;
    if (offset >= REANCHOR_NS || offset <= -REANCHOR_NS) {
        give_event(c, c->anchor);
        c->anchor = p->begin;
        c->anchor_ns = *start;
        p->begin = NULL; /* now the anchor: not back to the pool */
    }
    return true;
}

/* Under lock: reads back the oldest queued calls whose events have completed.
 * Only CUDA_ERROR_NOT_READY means "later": any other error (a context destroyed, a
 * sticky error) drops the entry, so that one bad event never stalls the rest. */
static void resolve_ready(size_t at_most)
{
    while (pending_len > 0 && at_most-- > 0) {
        struct pending *p = &pending[pending_head];
        CUresult q = drv.event_query(p->end);
        if (q == CUDA_ERROR_NOT_READY) return;
        struct context *c = &contexts[p->ctx];
        int64_t start = 0, end = 0;
        if (q == CUDA_SUCCESS && read_interval(c, p, &start, &end))
            nn_record_gpu_time(p->call, start, end), timed++;
        else
            dropped++;
        give_event(c, p->begin);
        give_event(c, p->end);
        pending_head = (pending_head + 1) % PENDING_SLOTS;
        pending_len--;
    }
}

/* ------------------------------------------------------------ the wrappers' side */

/* Which clock this run uses: CUPTI when asked for and available, else events. */
static nn_timing_mode mode(void)
{
    nn_timing_mode m = nn_config_get()->timing_mode;
    return m == NN_TIMING_CUPTI && !nn_cupti_active() ? NN_TIMING_EVENTS : m;
}

void nn_timing_start(nn_timing_mark *m, void *stream)
{
    m->ctx = -1;
    nn_timing_mode how = mode();
    if (how == NN_TIMING_OFF) return;
    if (how == NN_TIMING_CUPTI) {
        m->ticket = nn_cupti_push();
        m->ctx = NN_TIMING_BY_CUPTI;
        return;
    }
    pthread_mutex_lock(&lock);
    int slot = available() && !capturing(stream) ? current_context() : -1;
    if (slot >= 0 && pending_len == PENDING_SLOTS) resolve_ready(64);
    if (slot >= 0 && pending_len < PENDING_SLOTS) {
        struct context *c = &contexts[slot];
        if (!c->anchored) {
            c->anchor = take_event(c);
            c->anchored = c->anchor && drv.event_record(c->anchor, (CUstream)stream) == CUDA_SUCCESS;
            if (!c->anchored) give_event(c, c->anchor), c->anchor = NULL;
        }
        m->begin = c->anchored ? take_event(c) : NULL;
        m->end = m->begin ? take_event(c) : NULL;
        if (m->end && drv.event_record(m->begin, (CUstream)stream) == CUDA_SUCCESS) {
            m->ctx = slot;
        } else {
            give_event(c, m->begin);
            give_event(c, m->end);
        }
    } else if (slot >= 0) {
        dropped++;
    }
    pthread_mutex_unlock(&lock);
}

void nn_timing_finish(nn_timing_mark *m, void *stream, bool ran, uint64_t call)
{
    if (m->ctx == NN_TIMING_BY_CUPTI) {
        nn_cupti_pop(m->ticket, call);
        return;
    }
    if (m->ctx < 0) return;
    pthread_mutex_lock(&lock);
    struct context *c = &contexts[m->ctx];
    /* The end event goes on the same stream, after the call's work. */
    if (ran && drv.event_record(m->end, (CUstream)stream) == CUDA_SUCCESS &&
        pending_len < PENDING_SLOTS) {
        pending[(pending_head + pending_len) % PENDING_SLOTS] =
            (struct pending){m->begin, m->end, m->ctx, call};
        pending_len++;
    } else {
        give_event(c, m->begin);
        give_event(c, m->end);
    }
    resolve_ready(4);
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------ at the end */

void nn_timing_drain(void)
{
    nn_cupti_flush(); /* CUPTI's buffers come back through its callbacks */
    pthread_mutex_lock(&lock);
    /* Up to 2 s for the GPU to finish what was queued. */
    for (int i = 0; state > 0 && pending_len > 0 && i < 2000; i++) {
        resolve_ready(pending_len);
        if (pending_len == 0) break;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    pthread_mutex_unlock(&lock);
}

nn_timing_status nn_timing_status_get(bool from_signal)
{
    nn_timing_mode how = nn_config_get()->timing_mode;
    bool cupti = how == NN_TIMING_CUPTI && nn_cupti_started();
    nn_timing_status s = {.mode = cupti ? "cupti" : how == NN_TIMING_OFF ? "off" : "events"};
    if (cupti) {
        if (!from_signal) nn_cupti_kernels(&s.attributed_kernels, &s.other_kernels, &s.other_ns);
        s.available = true;
        return s;
    }
    /* In a signal handler the interrupted thread may hold the lock: no waiting. */
    if (from_signal ? pthread_mutex_trylock(&lock) != 0 : pthread_mutex_lock(&lock) != 0) {
        snprintf(s.reason, sizeof s.reason, "not read (the process was ended by a signal)");
        return s;
    }
    s.available = timed > 0;
    s.timed_calls = timed;
    s.dropped = dropped;
    const char *why = how == NN_TIMING_OFF ? "NNSPY_TIMING=off"
                      : state < 0            ? unavailable_reason
                      : n_contexts == 0 ? "no CUDA context was current at the intercepted calls"
                                        : "no GPU time could be read back";
    snprintf(s.reason, sizeof s.reason, "%s", s.available ? "" : why);
    pthread_mutex_unlock(&lock);
    return s;
}

/* A forked child has none of its parent's CUDA contexts or events: it forgets
 * them (they are not destroyed: they are not the child's) and starts over. */
static void forget_after_fork(void)
{
    state = 0;
    n_contexts = 0;
    memset(contexts, 0, sizeof contexts);
    pending_head = pending_len = 0;
    dropped = timed = 0;
}

__attribute__((constructor(110))) static void timing_init(void)
{
    nn_fork_protect(&lock, forget_after_fork);
}
