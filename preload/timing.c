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

/* Nanoseconds from the context's anchor to e (both complete). */
static bool since_anchor(struct context *c, CUevent e, int64_t *ns)
{
    float ms = 0;
    if (drv.event_elapsed(&ms, c->anchor, e) != CUDA_SUCCESS) return false;
    double v = (double)ms * 1e6;
    *ns = c->anchor_ns + (int64_t)(v < 0 ? v - 0.5 : v + 0.5);
    return true;
}

/* Under lock: reads back the oldest queued calls whose events have completed. */
static void resolve_ready(size_t at_most)
{
    while (pending_len > 0 && at_most-- > 0) {
        struct pending *p = &pending[pending_head];
        if (drv.event_query(p->end) != CUDA_SUCCESS) return; /* not yet, or an error */
        struct context *c = &contexts[p->ctx];
        int64_t start = 0, end = 0;
        bool read = since_anchor(c, p->begin, &start) && since_anchor(c, p->end, &end);
        if (read) nn_record_gpu_time(p->call, start, end), timed++;
        give_event(c, p->begin);
        if (read && end - c->anchor_ns >= REANCHOR_NS) {
            /* The completed end event becomes the anchor: readings stay short. */
            give_event(c, c->anchor);
            c->anchor = p->end;
            c->anchor_ns = end;
        } else {
            give_event(c, p->end);
        }
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

bool nn_timing_start(nn_timing_mark *m, void *stream)
{
    m->ctx = -1;
    nn_timing_mode how = mode();
    if (how == NN_TIMING_OFF) return false;
    if (how == NN_TIMING_CUPTI) {
        m->ticket = nn_cupti_push();
        m->ctx = NN_TIMING_BY_CUPTI;
        return true;
    }
    pthread_mutex_lock(&lock);
    int slot = available() ? current_context() : -1;
    if (slot >= 0 && pending_len == PENDING_SLOTS) resolve_ready(64);
    if (slot >= 0 && pending_len < PENDING_SLOTS) {
        struct context *c = &contexts[slot];
        if (!c->anchored) {
            c->anchor = take_event(c);
            c->anchored = c->anchor && drv.event_record(c->anchor, (CUstream)stream) == CUDA_SUCCESS;
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
    return m->ctx >= 0;
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

void nn_timing_drain(bool may_wait)
{
    if (may_wait) nn_cupti_flush(); /* CUPTI's buffers come back through its callbacks */
    pthread_mutex_lock(&lock);
    if (state > 0) {
        /* Up to 2 s for the GPU to finish what was queued (never in a signal
         * handler: then only what is complete already). */
        for (int i = 0; i < (may_wait ? 2000 : 1) && pending_len > 0; i++) {
            resolve_ready(pending_len);
            if (pending_len == 0 || !may_wait) break;
            struct timespec ms = {0, 1000000};
            nanosleep(&ms, NULL);
        }
    }
    pthread_mutex_unlock(&lock);
}

nn_timing_status nn_timing_status_get(void)
{
    nn_timing_mode how = nn_config_get()->timing_mode;
    bool cupti = how == NN_TIMING_CUPTI && nn_cupti_active();
    nn_timing_status s = {.mode = cupti ? "cupti" : how == NN_TIMING_OFF ? "off" : "events"};
    if (cupti) {
        nn_cupti_kernels(&s.attributed_kernels, &s.other_kernels, &s.other_ns);
        s.available = true;
        return s;
    }
    pthread_mutex_lock(&lock);
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
