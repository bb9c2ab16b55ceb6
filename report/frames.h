/*
 * frames.h: splitting a run's operations into frames (one inference or training
 * step each) and measuring them. Pure C, no CUDA: the preload's exit report uses
 * it on the calls it kept, and so can anything that reads them back later.
 *
 * Conventions (README, "Frames"):
 *  - auto: the smallest period of the sequence of structural signatures (operation
 *    kind plus parameter buffers, not activation shapes), found at the end of the
 *    run and extended backwards as far as it holds; what comes before is warm-up.
 *  - marker / sync / nvtx: frame numbers given by the caller, one per operation
 *    (0: outside any frame).
 *  - latency: first operation's GPU start to last operation's GPU end; busy: the
 *    union of the operations' GPU intervals; host start: when the frame's first
 *    operation was called.
 */
#ifndef NNSPY_FRAMES_H
#define NNSPY_FRAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_UNTIMED INT64_MIN

/* One recorded call, in call order. */
typedef struct nn_frame_op {
    uint64_t signature; /* kind + parameter buffers */
    uint64_t macs, flops;
    int64_t gpu_start_ns, gpu_end_ns; /* NN_UNTIMED when no GPU time is known */
    int64_t host_ns;                  /* when the call was made (monotonic clock) */
    uint32_t given_frame;             /* marker, sync or nvtx frame number; 0: none */
    bool in_graph_launch; /* replayed by a CUDA graph launch: the launch's row has the time */
    bool autotune;        /* autotuning, not model work: in no frame's cost */
    uint32_t tune_key, tune_variant; /* see nn_frames_mark_autotuning */
} nn_frame_op;

typedef struct nn_frame {
    size_t first, count; /* the frame's operations: ops[first .. first + count) */
    uint64_t macs, flops;
    bool timed;         /* every operation has a GPU time */
    int64_t latency_ns; /* valid when timed */
    int64_t busy_ns;
    int64_t host_start_ns, host_end_ns; /* first and last call of the frame */
} nn_frame;

/*
 * Automatic frames: sets *period (operations per frame, 0 when the run does not
 * repeat) and returns the index of the first operation of the steady state; the
 * operations before it are warm-up, autotuning among them (the steady state starts
 * after the last autotuning call). Frames are [start + k * period, + period).
 */
size_t nn_frames_auto(const nn_frame_op *ops, size_t n, size_t *period);

/* Measures the frame ops[first .. first + count). */
nn_frame nn_frame_measure(const nn_frame_op *ops, size_t first, size_t count);

/*
 * Frames from given frame numbers: consecutive operations with the same non-zero
 * number form one frame (unless all of them are autotuning: no frame). Writes at most max frames (in order) and returns how many
 * there are.
 */
size_t nn_frames_given(const nn_frame_op *ops, size_t n, nn_frame *out, size_t max);

typedef struct nn_latency_stats {
    size_t count;
    double mean_ms, p50_ms, p90_ms, p99_ms, min_ms, max_ms;
} nn_latency_stats;

/*
 * Latency statistics over the timed frames (percentiles by the nearest-rank
 * method: the smallest value with at least p% of the values at or below it).
 * `scratch` holds n int64 values. count is 0 when no frame is timed.
 */
nn_latency_stats nn_latency_stats_of(const nn_frame *frames, size_t n, int64_t *scratch);

/* What autotuning cost, shown apart from the model's work. */
typedef struct nn_autotune_totals {
    uint64_t calls, macs, flops;
} nn_autotune_totals;

/*
 * The frames of a run as a report shows them: the preload's exit report and
 * `nnspy report` (from a trace) both summarize with these, so that their numbers
 * agree exactly.
 */
typedef struct nn_frames_summary {
    bool computed;    /* false: not computed (the process ended by a signal) */
    const char *mode; /* auto, marker, sync, nvtx (set by the caller) */
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
    nn_autotune_totals autotune; /* calls marked autotuning: in no frame */
} nn_frames_summary;

/* Frames are found among the first this many calls (the preload keeps no more). */
#define NN_FRAMES_MAX_CALLS (1u << 20)

/* Automatic frames of ops[0 .. n) into *s (which the caller zeroed and named). */
void nn_frames_summarize_auto(nn_frames_summary *s, const nn_frame_op *ops, size_t n);

/* When the program's marked frame number id (from 1) began and ended on the host;
 * a frame still open ends when it began. */
typedef struct nn_frame_span {
    int64_t host_begin_ns, host_end_ns;
} nn_frame_span;
typedef nn_frame_span (*nn_frame_span_fn)(const void *ctx, uint32_t id);

/*
 * Marked frames (marker, sync, nvtx): `count` frames were begun; the ops carry
 * their numbers. span(ctx, id) gives frame id's host span (asked for the first
 * and the last frame only). In sync mode a last frame with no call is dropped.
 */
void nn_frames_summarize_given(nn_frames_summary *s, const nn_frame_op *ops, size_t n,
                               uint32_t count, nn_frame_span_fn span, const void *ctx, bool sync);

void nn_frames_summary_free(nn_frames_summary *s);

/*
 * Marks the benchmark runs of autotuning, which only the whole run reveals: a
 * framework that autotunes (PyTorch's cudnn.benchmark) runs several plans of one
 * graph (same tune_key, different tune_variant) before it settles on one. Every run
 * of a key up to the last run of a plan other than the one it settled on (the plan
 * of its last run) is autotuning. Explicit searches (cudnnFind*) come marked.
 * Returns how many operations are autotuning.
 */
size_t nn_frames_mark_autotuning(nn_frame_op *ops, size_t n);

nn_autotune_totals nn_frames_autotune_totals(const nn_frame_op *ops, size_t n);

#endif
