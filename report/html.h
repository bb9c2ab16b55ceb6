/*
 * html.h: `nnspy report --format html`: one self-contained HTML page (inline CSS,
 * inline SVG charts drawn here, no script, no network) for one or more traces.
 *
 * The caller reads the traces (trace.h) and splits each into frames with
 * report/frames.c; this module only draws. Every string taken from a trace is
 * escaped: traces are outside input.
 */
#ifndef NNSPY_REPORT_HTML_H
#define NNSPY_REPORT_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frames.h"
#include "trace.h"

/*
 * One trace's frames, as the caller computed them with report/frames.c over
 * nn_trace_frame_ops(trace) (one frame op per trace op, same order). Indices are
 * into trace->ops.
 */
typedef struct nn_html_frames {
    const char *mode;      /* "auto", "marker", "sync", "nvtx:NAME"; NULL: not computed */
    size_t count;          /* frames (auto: steady-state frames) */
    size_t warmup;         /* auto: warm-up frames before the steady state */
    size_t period;         /* auto: calls per frame (0: none found) */
    size_t steady_start;   /* auto: index of the first call of the steady state */
    const int64_t *latency_ns; /* GPU latency of each frame, in frame order;
                                  NN_UNTIMED for a frame that is not timed */
    size_t n_latency;      /* entries in latency_ns (may be 0, latency_ns NULL) */
    nn_latency_stats latency; /* nn_latency_stats_of; count 0: no timed frame */
    bool have_fps;
    double fps;            /* frames per second of host time */
    bool have_tflops;
    double achieved_tflops; /* FLOPs over GPU busy time, TFLOP/s */
} nn_html_frames;

/*
 * Writes the page for traces[0 .. n_traces) to out. frames[i] describes
 * traces[i]; frames may be NULL (no frames for any trace). In auto mode the
 * per-layer charts show one frame's calls (steady_start .. steady_start + period - 1,
 * means over the steady frames); otherwise one bar per call.
 * Returns 0, or -1 when out could not be written or memory ran out.
 */
int nn_html_write(FILE *out, const nn_trace *const *traces, size_t n_traces,
                  const nn_html_frames *frames);

#endif
