/* frame_marks.h: frames the program marks (markers, syncs, NVTX ranges). */
#ifndef NNSPY_PRELOAD_FRAME_MARKS_H
#define NNSPY_PRELOAD_FRAME_MARKS_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>

#include "core.h"

typedef struct nn_marked_frame {
    int64_t host_begin_ns, host_end_ns;
} nn_marked_frame;

/* At exit: writes the frame still open (if any) to the trace, flagged open. */
void nn_frame_marks_at_exit(void);

/* A host synchronisation happened (sync mode). */
void nn_frame_sync_point(void);

/*
 * The body of a host-synchronisation wrapper (cudart.c, cuda_driver.c): the real
 * call, then a frame end in sync mode. One made inside an intercepted call (a
 * library waiting for itself) is not the program's and does not count.
 */
#define NN_SYNC_WRAPPER_BODY(NAME, MISSING, ...)                                                   \
    NN_REAL_OR_RETURN(NAME, MISSING);                                                              \
    bool outer = nn_enter();                                                                       \
    __typeof__(real(__VA_ARGS__)) st = real(__VA_ARGS__);                                          \
    int saved = errno;                                                                             \
    if (outer) nn_frame_sync_point();                                                              \
    nn_leave();                                                                                    \
    errno = saved;                                                                                 \
    return st

/* An NVTX range was pushed or popped (nvtx mode). */
void nn_frame_range_push(const char *name);
void nn_frame_range_pop(const char *name);

#define NN_MAX_MARKED_FRAMES (1u << 16)

/* The frames marked so far (the first NN_MAX_MARKED_FRAMES are stored); returns
 * how many there were. */
uint32_t nn_marked_frames(const nn_marked_frame **frames);

#endif
