/*
 * frames.c: frames from a run's operations, and their latency statistics.
 * Allocates scratch memory: not for signal handlers.
 */
#include "frames.h"

#include <stdlib.h>

/*
 * The steady state is the longest stretch at the END of the run that repeats with
 * one period at least twice (the program's last frames are its steadiest). On the
 * reversed signature sequence that stretch is a prefix, and the prefix function
 * (as in Knuth-Morris-Pratt) gives each prefix's smallest period in O(n).
 */
/* The steady state comes after autotuning: frames are looked for after its last call. */
static size_t after_autotuning(const nn_frame_op *ops, size_t n)
{
    size_t first = 0;
    for (size_t i = 0; i < n; i++)
        if (ops[i].autotune) first = i + 1;
    return first;
}

static size_t smallest_period(const nn_frame_op *ops, size_t n, size_t *period);

size_t nn_frames_auto(const nn_frame_op *ops, size_t n, size_t *period)
{
    size_t first = after_autotuning(ops, n);
    return first + smallest_period(ops + first, n - first, period);
}

/* nn_frames_auto's search, on ops that hold no autotuning. */
static size_t smallest_period(const nn_frame_op *ops, size_t n, size_t *period)
{
    *period = n; /* no repetition: the whole run is one frame */
    if (n < 2) return 0;
    size_t *pi = malloc(n * sizeof *pi);
    if (!pi) return 0;
    /* pi[i]: length of the longest proper prefix of r[0..i] that is also its suffix,
     * where r[i] = ops[n - 1 - i].signature. */
    pi[0] = 0;
    for (size_t i = 1; i < n; i++) {
        size_t k = pi[i - 1];
        while (k > 0 && ops[n - 1 - i].signature != ops[n - 1 - k].signature) k = pi[k - 1];
        if (ops[n - 1 - i].signature == ops[n - 1 - k].signature) k++;
        pi[i] = k;
    }
    size_t start = 0;
    for (size_t len = n; len >= 2; len--) {
        size_t p = len - pi[len - 1];
        if (len >= 2 * p) {
            *period = p;
            start = n - (len / p) * p; /* whole periods only: a partial one is warm-up */
            break;
        }
    }
    free(pi);
    return start;
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Length of the union of the intervals [s[2i], s[2i+1]), sorted here by start. */
static int64_t union_length(int64_t *s, size_t k)
{
    qsort(s, k, 2 * sizeof *s, compare_i64); /* pairs sort by their start */
    int64_t total = 0, cur_start = s[0], cur_end = s[1];
    for (size_t i = 1; i < k; i++) {
        if (s[2 * i] > cur_end) {
            total += cur_end - cur_start;
            cur_start = s[2 * i];
        }
        if (s[2 * i + 1] > cur_end) cur_end = s[2 * i + 1];
    }
    return total + (cur_end - cur_start);
}

nn_frame nn_frame_measure(const nn_frame_op *ops, size_t first, size_t count)
{
    nn_frame f = {.first = first, .count = count, .timed = count > 0};
    if (count == 0) return f;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    int64_t *iv = malloc(2 * count * sizeof *iv);
    f.timed = iv != NULL;
    f.host_start_ns = ops[first].host_ns;
    f.host_end_ns = ops[first + count - 1].host_ns;
    size_t n_iv = 0;
    for (size_t i = 0; i < count; i++) {
        const nn_frame_op *o = &ops[first + i];
        if (o->autotune) continue; /* not model work */
        f.macs += o->macs;
        f.flops += o->flops;
        if (o->in_graph_launch && o->gpu_start_ns == NN_UNTIMED) continue; /* in its launch's time */
        if (o->gpu_start_ns == NN_UNTIMED || o->gpu_end_ns == NN_UNTIMED) f.timed = false;
        if (!f.timed) continue;
        if (o->gpu_start_ns < lo) lo = o->gpu_start_ns;
        if (o->gpu_end_ns > hi) hi = o->gpu_end_ns;
        iv[2 * n_iv] = o->gpu_start_ns;
        iv[2 * n_iv + 1] = o->gpu_end_ns;
        n_iv++;
    }
    f.timed = f.timed && n_iv > 0;
    if (f.timed) {
        f.latency_ns = hi - lo;
        f.busy_ns = union_length(iv, n_iv);
    }
    free(iv);
    return f;
}

/* Whether ops[first .. end) are all autotuning: such a marked frame is no frame. */
static bool all_autotuning(const nn_frame_op *ops, size_t first, size_t end)
{
    for (size_t i = first; i < end; i++)
        if (!ops[i].autotune) return false;
    return true;
}

/* Marked frames that hold autotuning only (counted as runs, as nn_frames_given). */
static size_t autotuning_frames(const nn_frame_op *ops, size_t n)
{
    size_t frames = 0;
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && ops[j].given_frame == ops[i].given_frame; j++) {}
        frames += ops[i].given_frame != 0 && all_autotuning(ops, i, j);
    }
    return frames;
}

size_t nn_frames_given(const nn_frame_op *ops, size_t n, nn_frame *out, size_t max)
{
    size_t frames = 0, i = 0;
    while (i < n) {
        uint32_t id = ops[i].given_frame;
        size_t j = i + 1;
        while (j < n && ops[j].given_frame == id) j++;
        if (id != 0 && !all_autotuning(ops, i, j)) {
            if (frames < max) out[frames] = nn_frame_measure(ops, i, j - i);
            frames++;
        }
        i = j;
    }
    return frames;
}

/* Nearest rank: the smallest value with at least p% of the values at or below it. */
static double percentile_ms(const int64_t *sorted, size_t n, unsigned p)
{
    size_t rank = (p * n + 99) / 100; /* ceil(p/100 * n), at least 1 for p > 0 */
    if (rank < 1) rank = 1;
    return (double)sorted[rank - 1] / 1e6;
}

nn_latency_stats nn_latency_stats_of(const nn_frame *frames, size_t n, int64_t *scratch)
{
    nn_latency_stats s = {0};
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        if (!frames[i].timed) continue;
        scratch[s.count++] = frames[i].latency_ns;
        sum += (double)frames[i].latency_ns;
    }
    if (s.count == 0) return s;
    qsort(scratch, s.count, sizeof *scratch, compare_i64);
    s.mean_ms = sum / (double)s.count / 1e6;
    s.min_ms = (double)scratch[0] / 1e6;
    s.max_ms = (double)scratch[s.count - 1] / 1e6;
    s.p50_ms = percentile_ms(scratch, s.count, 50);
    s.p90_ms = percentile_ms(scratch, s.count, 90);
    s.p99_ms = percentile_ms(scratch, s.count, 99);
    return s;
}

/* ------------------------------------------------------------ summaries */

/* a + b for non-negative GPU times, saturated: a hostile trace cannot overflow it. */
static int64_t add_ns(int64_t a, int64_t b)
{
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Throughput and latency over frames[0 .. n), spanning host time [begin, end]. */
static void measure_all(nn_frames_summary *s, const nn_frame *frames, size_t n,
                        int64_t host_begin, int64_t host_end)
{
    uint64_t macs = 0, flops = 0, timed_flops = 0;
    int64_t busy = 0;
    for (size_t i = 0; i < n; i++) {
        macs += frames[i].macs;
        flops += frames[i].flops;
        if (frames[i].timed) busy = add_ns(busy, frames[i].busy_ns), timed_flops += frames[i].flops;
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

void nn_frames_summarize_auto(nn_frames_summary *s, const nn_frame_op *ops, size_t n)
{
    s->autotune = nn_frames_autotune_totals(ops, n);
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

void nn_frames_summarize_given(nn_frames_summary *s, const nn_frame_op *ops, size_t n,
                               uint32_t count, nn_frame_span_fn span, const void *ctx, bool sync)
{
    s->autotune = nn_frames_autotune_totals(ops, n);
    /* In sync mode the last synchronisation opens a frame that the program never
     * uses when it ends there: not a frame. (An empty marked frame is one.) */
    if (sync && count > 0 && !has_calls(ops, n, count)) count--;
    size_t tuning = autotuning_frames(ops, n);
    s->count = count > tuning ? count - tuning : 0;
    size_t with_ops = nn_frames_given(ops, n, NULL, 0);
    nn_frame *frames = malloc((with_ops ? with_ops : 1) * sizeof *frames);
    if (!frames) return;
    nn_frames_given(ops, n, frames, with_ops);
    /* The host span: from the first frame's start to the last one's end (a frame
     * still open at the end ends with the last call). */
    int64_t begin = count ? span(ctx, 1).host_begin_ns : 0;
    int64_t end = count ? span(ctx, count).host_end_ns : 0;
    if (n && ops[n - 1].host_ns > end) end = ops[n - 1].host_ns;
    measure_all(s, frames, with_ops, begin, end);
    free(frames);
}

void nn_frames_summary_free(nn_frames_summary *s)
{
    free(s->position_ms);
    s->position_ms = NULL;
}

/* ------------------------------------------------------------ autotuning */

typedef struct tuned_run {
    uint32_t key, variant;
    size_t index;
} tuned_run;

static int by_key_then_index(const void *a, const void *b)
{
    const tuned_run *x = a, *y = b;
    if (x->key != y->key) return x->key < y->key ? -1 : 1;
    return x->index < y->index ? -1 : x->index > y->index;
}

/* Marks the runs of one key, runs[0 .. n) in call order. */
static void mark_key(nn_frame_op *ops, const tuned_run *runs, size_t n)
{
    uint32_t settled = runs[n - 1].variant;
    size_t last_other = n; /* none */
    for (size_t i = 0; i < n; i++)
        if (runs[i].variant != settled) last_other = i;
    for (size_t i = 0; last_other < n && i <= last_other; i++) ops[runs[i].index].autotune = true;
}

size_t nn_frames_mark_autotuning(nn_frame_op *ops, size_t n)
{
    size_t keyed = 0, marked = 0;
    for (size_t i = 0; i < n; i++) keyed += ops[i].tune_key != 0;
    tuned_run *runs = keyed ? malloc(keyed * sizeof *runs) : NULL;
    if (runs) {
        size_t k = 0;
        for (size_t i = 0; i < n; i++)
            if (ops[i].tune_key) runs[k++] = (tuned_run){ops[i].tune_key, ops[i].tune_variant, i};
        qsort(runs, keyed, sizeof *runs, by_key_then_index);
        for (size_t first = 0, last; first < keyed; first = last) {
            for (last = first + 1; last < keyed && runs[last].key == runs[first].key; last++) {}
            mark_key(ops, runs + first, last - first);
        }
        free(runs);
    }
    for (size_t i = 0; i < n; i++) marked += ops[i].autotune;
    return marked;
}

nn_autotune_totals nn_frames_autotune_totals(const nn_frame_op *ops, size_t n)
{
    nn_autotune_totals t = {0};
    for (size_t i = 0; i < n; i++) {
        if (!ops[i].autotune) continue;
        t.calls++;
        t.macs += ops[i].macs;
        t.flops += ops[i].flops;
    }
    return t;
}
