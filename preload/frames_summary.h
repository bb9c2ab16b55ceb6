/* frames_summary.h: this run's frames, for the exit report (frames_summary.c). */
#ifndef NNSPY_PRELOAD_FRAMES_SUMMARY_H
#define NNSPY_PRELOAD_FRAMES_SUMMARY_H

#include "core.h"
#include "frames.h"

typedef struct nn_frames_summary {
    bool computed;    /* false: not computed (the process ended by a signal) */
    const char *mode; /* auto, marker, sync, nvtx */
    size_t count;     /* frames (auto: steady-state frames) */
    size_t warmup;    /* auto: warm-up frames before the steady state */
    size_t period;    /* auto: calls per frame (0 when none found) */
    size_t steady_start; /* auto: the first call of the steady state */
    uint64_t macs_per_frame, flops_per_frame; /* means over the frames */
    nn_latency_stats latency;                  /* count 0: no timed frame */
    bool have_fps, have_tflops;
    double fps;             /* frames per second of host time */
    bool have_host_interval;
    double host_interval_ms; /* mean host time between consecutive frame starts */
    double achieved_tflops; /* FLOPs over GPU busy time */
    double *position_ms;    /* auto: mean GPU time of each call of the period; -1 untimed */
} nn_frames_summary;

nn_frames_summary nn_frames_summarize(const nn_frame_op *ops, size_t n, const nn_config *cfg);
void nn_frames_summary_free(nn_frames_summary *s);

#endif
