/*
 * timing.h: GPU time per intercepted call (timing.c).
 */
#ifndef NNSPY_PRELOAD_TIMING_H
#define NNSPY_PRELOAD_TIMING_H

#include <stdbool.h>
#include <stdint.h>

/* The events around one call; CUevents, kept as void * to keep cuda.h out. */
typedef struct nn_timing_mark {
    void *begin, *end;
    int ctx;         /* -1: this call is not timed; NN_TIMING_BY_CUPTI: tagged for CUPTI */
    uint64_t ticket; /* CUPTI's external correlation id */
} nn_timing_mark;

#define NN_TIMING_BY_CUPTI (-2)

/* Before the real call: records the begin event on `stream` (a CUstream or
 * cudaStream_t); m->ctx says whether the call is timed. */
void nn_timing_start(nn_timing_mark *m, void *stream);

/* After the real call: records the end event and queues the pair for call number
 * `call` (from nn_record); `ran` is false when the call failed (no work queued). */
void nn_timing_finish(nn_timing_mark *m, void *stream, bool ran, uint64_t call);

/* Reads back every queued time, waiting up to 2 s for the GPU (not in a signal
 * handler). */
void nn_timing_drain(void);

typedef struct nn_timing_status {
    bool available;
    const char *mode; /* "events", "cupti", "off" */
    uint64_t timed_calls, dropped;
    uint64_t attributed_kernels; /* cupti: kernels of intercepted calls */
    uint64_t other_kernels;      /* cupti: kernels of no intercepted call */
    int64_t other_ns;       /* and their GPU time */
    char reason[128];       /* why not available */
} nn_timing_status;

/* from_signal: in a signal handler (no waiting on locks, no CUPTI). */
nn_timing_status nn_timing_status_get(bool from_signal);

#endif
