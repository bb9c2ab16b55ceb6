/*
 * frame_marks.c: frames the program marks itself, for NNSPY_FRAME=marker, sync and
 * nvtx:NAME. Each mode moves a frame number: the calls made while it is non-zero
 * belong to that frame. Every frame's host begin and end times are kept (up to
 * MAX_MARKED; past that they are counted only), so that a frame with no
 * intercepted call in it still counts.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "frame_marks.h"
#include "nnspy.h"
#include "trace_writer.h"

#define MAX_MARKED NN_MAX_MARKED_FRAMES

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint32_t current;   /* the open frame's number; 0: none */
static uint32_t n_frames;  /* frames begun so far */
static nn_marked_frame marked[MAX_MARKED];


uint32_t nn_current_given_frame(void)
{
    return __atomic_load_n(&current, __ATOMIC_RELAXED);
}

/* Under lock. */
static void close_frame(int64_t t)
{
    if (current && current <= MAX_MARKED) marked[current - 1].host_end_ns = t;
    if (current)
        nn_trace_write_frame(current, current <= MAX_MARKED ? marked[current - 1].host_begin_ns : t,
                             t, false);
    __atomic_store_n(&current, 0, __ATOMIC_RELAXED);
}

/* Under lock. */
static void open_frame(int64_t t)
{
    n_frames++;
    if (n_frames <= MAX_MARKED) marked[n_frames - 1] = (nn_marked_frame){t, t};
    __atomic_store_n(&current, n_frames, __ATOMIC_RELAXED);
}

static bool mode_is(nn_frame_mode m)
{
    return nn_active() && nn_config_get()->frame_mode == m;
}

/* ------------------------------------------------------------ marker */

NN_EXPORT void nnspy_frame_begin(void)
{
    if (!mode_is(NN_FRAME_MARKER)) return;
    pthread_mutex_lock(&lock);
    int64_t t = nn_monotonic_ns();
    close_frame(t); /* a begin without an end closes the frame before */
    open_frame(t);
    pthread_mutex_unlock(&lock);
}

NN_EXPORT void nnspy_frame_end(void)
{
    if (!mode_is(NN_FRAME_MARKER)) return;
    pthread_mutex_lock(&lock);
    close_frame(nn_monotonic_ns());
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------ sync */

/* A host synchronisation ends the frame; the next one starts with it. */
void nn_frame_sync_point(void)
{
    if (!mode_is(NN_FRAME_SYNC)) return;
    pthread_mutex_lock(&lock);
    int64_t t = nn_monotonic_ns();
    close_frame(t);
    open_frame(t);
    pthread_mutex_unlock(&lock);
}

/* The first frame of sync mode starts with the program. */
__attribute__((constructor(200))) static void sync_first_frame(void)
{
    /* The configuration is read by core.c's constructor, which runs first (101). */
    if (mode_is(NN_FRAME_SYNC)) open_frame(nn_monotonic_ns());
}

/* ------------------------------------------------------------ nvtx */

void nn_frame_range_push(const char *name)
{
    const nn_config *c = nn_config_get();
    if (!mode_is(NN_FRAME_NVTX) || !name || strcmp(name, c->frame_range) != 0) return;
    pthread_mutex_lock(&lock);
    int64_t t = nn_monotonic_ns();
    close_frame(t);
    open_frame(t);
    pthread_mutex_unlock(&lock);
}

void nn_frame_range_pop(const char *name)
{
    const nn_config *c = nn_config_get();
    if (!mode_is(NN_FRAME_NVTX) || !name || strcmp(name, c->frame_range) != 0) return;
    pthread_mutex_lock(&lock);
    close_frame(nn_monotonic_ns());
    pthread_mutex_unlock(&lock);
}

/* At exit: the frame still open, if any, goes to the trace with its flag. */
void nn_frame_marks_at_exit(void)
{
    pthread_mutex_lock(&lock);
    uint32_t id = current;
    if (id)
        nn_trace_write_frame(id, id <= MAX_MARKED ? marked[id - 1].host_begin_ns : nn_monotonic_ns(),
                             nn_monotonic_ns(), true);
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------ reading back */

uint32_t nn_marked_frames(const nn_marked_frame **frames)
{
    *frames = marked;
    return __atomic_load_n(&n_frames, __ATOMIC_RELAXED);
}

/* A forked child's frames are its own. */
static void forget_after_fork(void)
{
    current = 0;
    n_frames = 0;
    if (mode_is(NN_FRAME_SYNC)) open_frame(nn_monotonic_ns()); /* as at the program's start */
}

__attribute__((constructor(110))) static void frame_marks_init(void)
{
    nn_fork_protect(&lock, forget_after_fork);
}
