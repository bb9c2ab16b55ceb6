/*
 * summary.h: what `nnspy report` shows of one trace, computed from it: the frames
 * (report/frames.c, exactly as the preload's exit report computes them) and the
 * whole run's GPU busy time. Pure: reads the trace, writes nothing.
 */
#ifndef NNSPY_REPORT_SUMMARY_H
#define NNSPY_REPORT_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frames.h"
#include "trace.h"

typedef enum {
    NN_SUM_FRAMES_AUTO,
    NN_SUM_FRAMES_MARKER,
    NN_SUM_FRAMES_SYNC,
    NN_SUM_FRAMES_NVTX,
} nn_sum_frame_mode;

typedef struct nn_trace_summary {
    const nn_trace *t;
    nn_frame_op *fops; /* nn_trace_frame_ops(t): one per op, same order */
    size_t n_fops;     /* the ops frames are found among: calls < NN_FRAMES_MAX_CALLS */
    nn_sum_frame_mode mode;
    char mode_full[80];       /* "auto", "marker", "sync", "nvtx:NAME" */
    nn_frames_summary frames; /* .mode: "auto", "marker", "sync", "nvtx" (the JSON's) */
    uint32_t frames_begun;    /* given modes: frames begun (the highest number seen;
                                 sync: one more, the frame open at the end) */
    nn_frame *list;           /* the frames measured (auto: the steady ones; given
                                 modes: those with calls), in order */
    size_t n_list;
    size_t list_first_number; /* given modes: unused; auto: 1 + warm-up frames */
    uint64_t timed_ops;
    int64_t gpu_busy_ns;               /* union of every timed call's GPU interval */
    int64_t gpu_first_ns, gpu_last_ns; /* the earliest start and latest end (timed) */
} nn_trace_summary;

/*
 * Summarizes t. frames: NULL for the mode the trace was recorded with, else
 * "auto", "marker", "sync", "nvtx" or "nvtx:NAME". Auto can always be computed; a
 * marked mode only from a trace recorded in that mode (the calls carry its frame
 * numbers, the FRAME records its frames). Returns 0, or -1 with a message (out of
 * memory, or a mode this trace cannot give).
 */
int nn_trace_summarize(const nn_trace *t, const char *frames, nn_trace_summary *s, char *err,
                       size_t errlen);
void nn_trace_summary_free(nn_trace_summary *s);

/* Frame number k (from 0) of s->list: its op indices, and its GPU interval when
 * timed (false otherwise). */
bool nn_summary_frame_interval(const nn_trace_summary *s, size_t k, int64_t *start, int64_t *end);

#endif
