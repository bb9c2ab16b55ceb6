/*
 * record.h: reading back what record.c keeps, for the exit report.
 */
#ifndef NNSPY_PRELOAD_RECORD_H
#define NNSPY_PRELOAD_RECORD_H

#include "core.h"
#include "frames.h"

#define NN_MAX_HISTORY (1u << 20)

typedef struct nn_totals {
    uint64_t calls;
    uint64_t failed_calls;       /* the real library returned an error */
    uint64_t unknown_cost_calls; /* succeeded, but the descriptors could not be read */
    uint64_t ops_not_listed;     /* past NNSPY_MAX_OPS: in the totals, not in the table */
    nn_cost cost;
    uint64_t params; /* elements of distinct parameter buffers */
    uint64_t param_bytes;
    uint64_t buffers; /* elements of distinct buffers (NN_PARAM_BUFFER), apart from params */
    uint64_t buffer_bytes;
    bool params_incomplete;
} nn_totals;

/* One operation as kept for the per-operation table. */
typedef struct nn_listed_op {
    uint64_t index;
    nn_api api;
    const char *call;
    const char *op;
    nn_dtype dtype;
    bool succeeded;
    bool cost_known;
    nn_cost cost;
    uint64_t params; /* parameter elements this call read (counted again per call) */
    int64_t gpu_start_ns, gpu_end_ns; /* NN_UNTIMED until (unless) read back */
    char shape[NN_SHAPE_LEN];
} nn_listed_op;

/* Hold the state still while reading it; false if it could not be had in time.
 * From a signal handler the wait is short: the interrupted thread may hold it. */
bool nn_snapshot_lock(bool from_signal);
void nn_snapshot_unlock(void);
nn_totals nn_totals_get(void);
uint64_t nn_listed_count(void);
const nn_listed_op *nn_listed_at(uint64_t i);

/* Every call in order (up to NN_MAX_HISTORY), for frames, copied into a new
 * array (free() it; NULL when empty or out of memory). With the snapshot lock held. */
nn_frame_op *nn_history_copy(size_t *n);

#endif
