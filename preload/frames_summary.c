/*
 * frames_summary.c: the frames of this run, as the exit report shows them: found
 * automatically or marked by the program (NNSPY_FRAME), then measured and
 * summarized by report/frames.c (which `nnspy report` shares, so that a report
 * made again from the trace has the same numbers). Runs at exit or before exec,
 * not in a signal handler: it allocates.
 */
#include "frames_summary.h"

#include "frame_marks.h"
#include "record.h"

/* `nnspy report` finds frames among as many calls as the preload keeps. */
_Static_assert(NN_FRAMES_MAX_CALLS == NN_MAX_HISTORY, "report/frames.h and record.h disagree");

static const char *const mode_names[] = {
    [NN_FRAME_AUTO] = "auto", [NN_FRAME_MARKER] = "marker",
    [NN_FRAME_SYNC] = "sync", [NN_FRAME_NVTX] = "nvtx",
};

/* Frame id's host times; only the first NN_MAX_MARKED_FRAMES are stored, and a
 * later one stands for the last stored. */
static nn_frame_span marked_span(const void *ctx, uint32_t id)
{
    const nn_marked_frame *marked = ctx;
    uint32_t i = id < NN_MAX_MARKED_FRAMES ? id : NN_MAX_MARKED_FRAMES;
    return (nn_frame_span){marked[i - 1].host_begin_ns, marked[i - 1].host_end_ns};
}

nn_frames_summary nn_frames_summarize(const nn_frame_op *ops, size_t n, const nn_config *cfg)
{
    nn_frames_summary s = {.computed = true, .mode = mode_names[cfg->frame_mode]};
    if (cfg->frame_mode == NN_FRAME_AUTO) {
        nn_frames_summarize_auto(&s, ops, n);
    } else {
        const nn_marked_frame *marked;
        uint32_t count = nn_marked_frames(&marked);
        nn_frames_summarize_given(&s, ops, n, count, marked_span, marked,
                                  cfg->frame_mode == NN_FRAME_SYNC);
    }
    return s;
}
