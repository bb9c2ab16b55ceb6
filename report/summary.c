/*
 * summary.c: one trace's frames and GPU busy time, for `nnspy report`. The
 * frames are found and measured by report/frames.c exactly as the preload's exit
 * report does (preload/frames_summary.c), so that both give the same numbers.
 */
#define _GNU_SOURCE
#include "summary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_mode(const char *m, nn_sum_frame_mode *kind, const char **nvtx_name)
{
    *nvtx_name = NULL;
    if (!strcmp(m, "auto"))
        *kind = NN_SUM_FRAMES_AUTO;
    else if (!strcmp(m, "marker"))
        *kind = NN_SUM_FRAMES_MARKER;
    else if (!strcmp(m, "sync"))
        *kind = NN_SUM_FRAMES_SYNC;
    else if (!strcmp(m, "nvtx"))
        *kind = NN_SUM_FRAMES_NVTX;
    else if (!strncmp(m, "nvtx:", 5) && m[5])
        *kind = NN_SUM_FRAMES_NVTX, *nvtx_name = m + 5;
    else
        return -1;
    return 0;
}

static const char *const json_names[] = {"auto", "marker", "sync", "nvtx"};

/* The host span of marked frame id: its FRAME record; a frame with none (still
 * open when the trace ended) begins and ends with its first call. */
static nn_frame_span span_of(const void *ctx, uint32_t id)
{
    const nn_trace_summary *s = ctx;
    const nn_trace *t = s->t;
    size_t lo = 0, hi = t->n_frames;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->frames[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < t->n_frames && t->frames[lo].id == id)
        return (nn_frame_span){t->frames[lo].host_begin_ns, t->frames[lo].host_end_ns};
    for (size_t i = 0; i < t->n_ops; i++)
        if (t->ops[i].given_frame == id)
            return (nn_frame_span){t->ops[i].host_ns, t->ops[i].host_ns};
    if (t->n_ops == 0) return (nn_frame_span){0, 0};
    int64_t h = id == 1 ? t->ops[0].host_ns : t->ops[t->n_ops - 1].host_ns;
    return (nn_frame_span){h, h};
}

static int compare_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The union of every timed call's GPU interval. */
static int gpu_busy(nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    s->gpu_first_ns = s->gpu_last_ns = NN_UNTIMED;
    int64_t *iv = malloc((t->n_ops ? t->n_ops : 1) * 2 * sizeof *iv);
    if (!iv) return -1;
    size_t k = 0;
    for (size_t i = 0; i < t->n_ops; i++) {
        const nn_trace_op *o = &t->ops[i];
        if (o->gpu_start_ns == NN_UNTIMED || o->gpu_end_ns == NN_UNTIMED) continue;
        iv[2 * k] = o->gpu_start_ns;
        iv[2 * k + 1] = o->gpu_end_ns;
        k++;
    }
    s->timed_ops = k;
    if (k) {
        qsort(iv, k, 2 * sizeof *iv, compare_i64); /* pairs sort by their start */
        int64_t total = 0, cur_start = iv[0], cur_end = iv[1], last = iv[1];
        for (size_t i = 1; i < k; i++) {
            if (iv[2 * i] > cur_end) {
                total += cur_end - cur_start;
                cur_start = iv[2 * i];
            }
            if (iv[2 * i + 1] > cur_end) cur_end = iv[2 * i + 1];
            if (iv[2 * i + 1] > last) last = iv[2 * i + 1];
        }
        s->gpu_busy_ns = total + (cur_end - cur_start);
        s->gpu_first_ns = iv[0];
        s->gpu_last_ns = last;
    }
    free(iv);
    return 0;
}

int nn_trace_summarize(const nn_trace *t, const char *frames, nn_trace_summary *s, char *err,
                       size_t errlen)
{
    *s = (nn_trace_summary){.t = t};
    nn_sum_frame_mode recorded, want;
    const char *recorded_name, *want_name;
    bool recorded_known =
        parse_mode(t->frame_mode ? t->frame_mode : "auto", &recorded, &recorded_name) == 0;
    if (!frames && !recorded_known) {
        snprintf(err, errlen,
                 "%s: frame mode \"%s\" recorded in the trace is not one this nnspy knows; "
                 "--frames auto computes frames from any trace",
                 t->path, t->frame_mode);
        return -1;
    }
    if (parse_mode(frames ? frames : t->frame_mode, &want, &want_name) != 0) {
        snprintf(err, errlen, "--frames is auto, marker, sync, nvtx or nvtx:NAME, not \"%s\"",
                 frames);
        return -1;
    }
    if (want != NN_SUM_FRAMES_AUTO &&
        (!recorded_known || recorded != want ||
         (want_name && (!recorded_name || strcmp(want_name, recorded_name) != 0)))) {
        snprintf(err, errlen,
                 "%s: --frames %s: this trace was recorded with NNSPY_FRAME=%s, so it has no "
                 "%s frames (their FRAME records and the calls' frame numbers are written only "
                 "in that mode); --frames auto can be computed from any trace",
                 t->path, frames, t->frame_mode, frames);
        return -1;
    }
    s->mode = want;
    if (want == NN_SUM_FRAMES_NVTX)
        snprintf(s->mode_full, sizeof s->mode_full, "nvtx:%.70s",
                 want_name       ? want_name
                 : recorded_name ? recorded_name
                                 : "");
    else
        snprintf(s->mode_full, sizeof s->mode_full, "%s", json_names[want]);
    s->frames = (nn_frames_summary){.computed = true, .mode = json_names[want]};

    s->fops = nn_trace_frame_ops(t);
    if (!s->fops || gpu_busy(s) != 0) goto oom;
    /* Frames are found among the first NN_FRAMES_MAX_CALLS calls, as the preload does. */
    while (s->n_fops < t->n_ops && t->ops[s->n_fops].call < NN_FRAMES_MAX_CALLS) s->n_fops++;
    nn_frames_mark_autotuning(s->fops, s->n_fops);

    if (want == NN_SUM_FRAMES_AUTO) {
        nn_frames_summarize_auto(&s->frames, s->fops, s->n_fops);
        const nn_frames_summary *f = &s->frames;
        if (f->period && f->count) {
            s->list = malloc(f->count * sizeof *s->list);
            if (!s->list) goto oom;
            for (size_t k = 0; k < f->count; k++)
                s->list[k] = nn_frame_measure(s->fops, f->steady_start + k * f->period, f->period);
            s->n_list = f->count;
        }
        s->list_first_number = f->warmup + 1;
    } else {
        bool open_written = false;
        for (size_t i = 0; i < t->n_frames; i++) {
            if (t->frames[i].id > s->frames_begun) s->frames_begun = t->frames[i].id;
            open_written |= t->frames[i].open_at_exit;
        }
        /* FRAME records are written when frames end (docs/trace-format.md), and the
         * frame open at exit with flag 1. Without that record (the process did not
         * exit normally), in sync mode one more frame than ended was open: each
         * synchronisation ends one frame and begins the next. */
        if (want == NN_SUM_FRAMES_SYNC && !open_written && s->frames_begun < UINT32_MAX)
            s->frames_begun++;
        for (size_t i = 0; i < t->n_ops; i++)
            if (t->ops[i].given_frame > s->frames_begun) s->frames_begun = t->ops[i].given_frame;
        nn_frames_summarize_given(&s->frames, s->fops, s->n_fops, s->frames_begun, span_of, s,
                                  want == NN_SUM_FRAMES_SYNC);
        size_t n = nn_frames_given(s->fops, s->n_fops, NULL, 0);
        s->list = malloc((n ? n : 1) * sizeof *s->list);
        if (!s->list) goto oom;
        s->n_list = nn_frames_given(s->fops, s->n_fops, s->list, n);
    }
    return 0;
oom:
    snprintf(err, errlen, "%s: out of memory", t->path);
    nn_trace_summary_free(s);
    return -1;
}

void nn_trace_summary_free(nn_trace_summary *s)
{
    free(s->fops);
    free(s->list);
    nn_frames_summary_free(&s->frames);
    *s = (nn_trace_summary){0};
}

bool nn_summary_frame_interval(const nn_trace_summary *s, size_t k, int64_t *start, int64_t *end)
{
    const nn_frame *f = &s->list[k];
    if (!f->timed || f->count == 0) return false;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = f->first; i < f->first + f->count; i++) {
        /* A timed frame's untimed calls are those a timed unit stands for (a CUDA
         * graph launch) or autotuning: not part of its interval. */
        if (s->fops[i].gpu_start_ns == NN_UNTIMED || s->fops[i].gpu_end_ns == NN_UNTIMED) continue;
        if (s->fops[i].gpu_start_ns < lo) lo = s->fops[i].gpu_start_ns;
        if (s->fops[i].gpu_end_ns > hi) hi = s->fops[i].gpu_end_ns;
    }
    if (lo > hi) return false;
    *start = lo;
    *end = hi;
    return true;
}
