/* frames_summary.h: this run's frames, for the exit report (frames_summary.c). */
#ifndef NNSPY_PRELOAD_FRAMES_SUMMARY_H
#define NNSPY_PRELOAD_FRAMES_SUMMARY_H

#include "core.h"
#include "frames.h" /* nn_frames_summary, nn_frames_summary_free (report/frames.c) */

nn_frames_summary nn_frames_summarize(const nn_frame_op *ops, size_t n, const nn_config *cfg);

#endif
