/*
 * frames_summary.c: the frames of this run, as the exit report shows them: found
 * automatically or marked by the program (NNSPY_FRAME), then measured
 * (report/frames.c). Runs at exit or before exec, not in a signal handler: it
 * allocates.
 */
#include "frames_summary.h"

#include <stdlib.h>

#include "frame_marks.h"

static const char *const mode_names[] = {
    [NN_FRAME_AUTO] = "auto", [NN_FRAME_MARKER] = "marker",
    [NN_FRAME_SYNC] = "sync", [NN_FRAME_NVTX] = "nvtx",
};

/* Throughput and latency over frames[0 .. n), spanning host time [begin, end]. */
static void measure_all(nn_frames_summary *s, const nn_frame *frames, size_t n,
                        int64_t host_begin, int64_t host_end)
{
    uint64_t macs = 0, flops = 0, timed_flops = 0;
    int64_t busy = 0;
    for (size_t i = 0; i < n; i++) {
        macs += frames[i].macs;
        flops += frames[i].flops;
        if (frames[i].timed) busy += frames[i].busy_ns, timed_flops += frames[i].flops;
    }
    if (s->count) {
        s->macs_per_frame = macs / s->count;
        s->flops_per_frame = flops / s->count;
    }
    int64_t *scratch = malloc((n ? n : 1) * sizeof *scratch);
    if (scratch) s->latency = nn_latency_stats_of(frames, n, scratch);
    free(scratch);
    if (busy > 0) {
        s->have_tflops = true;
        s->achieved_tflops = (double)timed_flops / (double)busy / 1e3;
    }
    if (n >= 2 && frames[n - 1].host_start_ns > frames[0].host_start_ns) {
        s->have_host_interval = true;
        s->host_interval_ms =
            (double)(frames[n - 1].host_start_ns - frames[0].host_start_ns) / (double)(n - 1) / 1e6;
    }
    if (s->count >= 1 && host_end > host_begin) {
        s->have_fps = true;
        s->fps = (double)s->count / ((double)(host_end - host_begin) / 1e9);
    }
}

/* Mean GPU time of each position of the period over the steady frames. */
static void position_times(nn_frames_summary *s, const nn_frame_op *ops)
{
    s->position_ms = calloc(s->period, sizeof *s->position_ms);
    if (!s->position_ms) return;
    for (size_t j = 0; j < s->period; j++) {
        double sum = 0;
        size_t timed = 0;
        for (size_t k = 0; k < s->count; k++) {
            const nn_frame_op *o = &ops[s->steady_start + k * s->period + j];
            if (o->gpu_start_ns == NN_UNTIMED || o->gpu_end_ns == NN_UNTIMED) continue;
            sum += (double)(o->gpu_end_ns - o->gpu_start_ns);
            timed++;
        }
        s->position_ms[j] = timed ? sum / (double)timed / 1e6 : -1;
    }
}

static void summarize_auto(nn_frames_summary *s, const nn_frame_op *ops, size_t n)
{
    s->steady_start = nn_frames_auto(ops, n, &s->period);
    if (s->period == 0) return;
    s->count = (n - s->steady_start) / s->period;
    s->warmup = (s->steady_start + s->period - 1) / s->period;
    nn_frame *frames = malloc((s->count ? s->count : 1) * sizeof *frames);
    if (!frames) return;
    for (size_t k = 0; k < s->count; k++)
        frames[k] = nn_frame_measure(ops, s->steady_start + k * s->period, s->period);
    if (s->count)
        measure_all(s, frames, s->count, frames[0].host_start_ns,
                    frames[s->count - 1].host_end_ns);
    free(frames);
    position_times(s, ops);
}

/* Whether any call belongs to frame number id. */
static bool has_calls(const nn_frame_op *ops, size_t n, uint32_t id)
{
    for (size_t i = n; i-- > 0;)
        if (ops[i].given_frame == id) return true;
    return false;
}

static void summarize_given(nn_frames_summary *s, const nn_frame_op *ops, size_t n, bool sync)
{
    const nn_marked_frame *marked;
    uint32_t count = nn_marked_frames(&marked);
    /* In sync mode the last synchronisation opens a frame that the program never
     * uses when it ends there: not a frame. (An empty marked frame is one.) */
    if (sync && count > 0 && !has_calls(ops, n, count)) count--;
    s->count = count;
    size_t with_ops = nn_frames_given(ops, n, NULL, 0);
    nn_frame *frames = malloc((with_ops ? with_ops : 1) * sizeof *frames);
    if (!frames) return;
    nn_frames_given(ops, n, frames, with_ops);
    /* The host span: from the first frame's start to the last one's end (a frame
     * still open at the end ends with the last call). */
    int64_t begin = count ? marked[0].host_begin_ns : 0;
    uint32_t last = count < NN_MAX_MARKED_FRAMES ? count : NN_MAX_MARKED_FRAMES;
    int64_t end = count ? marked[last - 1].host_end_ns : 0;
    if (n && ops[n - 1].host_ns > end) end = ops[n - 1].host_ns;
    measure_all(s, frames, with_ops, begin, end);
    free(frames);
}

nn_frames_summary nn_frames_summarize(const nn_frame_op *ops, size_t n, const nn_config *cfg)
{
    nn_frames_summary s = {.computed = true, .mode = mode_names[cfg->frame_mode]};
    if (cfg->frame_mode == NN_FRAME_AUTO) summarize_auto(&s, ops, n);
    else summarize_given(&s, ops, n, cfg->frame_mode == NN_FRAME_SYNC);
    return s;
}

void nn_frames_summary_free(nn_frames_summary *s)
{
    free(s->position_ms);
    s->position_ms = NULL;
}
