/*
 * trace.h: a `.nns` trace (docs/trace-format.md) read into memory, for the nnspy
 * CLI. The reader (trace_read.c) checks everything it reads: a truncated, corrupt
 * or hostile file gives an error naming the byte offset, never a crash.
 */
#ifndef NNSPY_TRACE_H
#define NNSPY_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "frames.h"

#define NN_TRACE_MAGIC   "NNSPYTRC"
#define NN_TRACE_VERSION 1

enum nn_trace_record_type {
    NN_TREC_STRING = 1,
    NN_TREC_OP = 2,
    NN_TREC_GPU_TIME = 3,
    NN_TREC_FRAME = 4,
    NN_TREC_END = 5,
};

#define NN_TOP_SUCCEEDED        1u
#define NN_TOP_COST_KNOWN       2u
#define NN_TOP_OVERFLOW         4u
#define NN_TOP_BYTES_INCOMPLETE 8u
#define NN_TREC_MAX_PAYLOAD     (1u << 20)
#define NN_TOP_PAYLOAD          104u

typedef struct nn_trace_op {
    uint64_t call;
    uint32_t api;           /* 0 cudnn, 1 cublas, 2 cublasLt */
    const char *function;   /* "cudnnConvolutionForward" */
    const char *op;         /* "conv_fwd" */
    const char *shape;      /* "" when not described */
    const char *dtype;
    uint32_t flags;         /* NN_TOP_* */
    uint32_t given_frame;
    uint64_t macs, flops, bytes_read, bytes_written, params_read, signature;
    int64_t host_ns;
    uint64_t workspace_bytes;
    int64_t gpu_start_ns, gpu_end_ns; /* NN_UNTIMED when no GPU_TIME record */
} nn_trace_op;

typedef struct nn_trace_frame {
    uint32_t id;
    bool open_at_exit; /* still open when the process exited (FRAME flag 1) */
    int64_t host_begin_ns, host_end_ns;
} nn_trace_frame;

typedef struct nn_trace_totals {
    uint64_t calls, failed_calls, unknown_cost_calls, macs, flops, params, param_bytes,
        bytes_read, bytes_written;
    uint64_t buffers, buffer_bytes; /* not parameters (running statistics); 0 in older traces */
    bool overflow, params_incomplete, bytes_incomplete;
} nn_trace_totals;

typedef struct nn_trace {
    char *path;
    /* header */
    char *nnspy_version, *host, *exe, **args;
    size_t n_args;
    long pid;
    long rank; /* -1 when none */
    int64_t start_time_ns, start_monotonic_ns;
    char *device_name;
    bool simulated;
    double peak_tflops; /* 0 when unknown */
    char *frame_mode, *timing_mode;
    /* records */
    nn_trace_op *ops;
    size_t n_ops;
    nn_trace_frame *frames;
    size_t n_frames;
    /* END record: present when the process ended normally */
    bool complete;
    nn_trace_totals totals; /* from END; else recomputed from the ops (params unknown) */
    bool timing_available;
    char *timing_reason;
    uint64_t other_kernels;
    int64_t other_ns;
    uint64_t dropped_records;
    /* Added by the reader (after the fields above, which others rely on): */
    char *timing_used; /* END's timing.mode: the mode that timed the run ("events" after
                          a CUPTI fallback); else timing_mode */
    uint64_t timed_calls, timing_dropped_calls, attributed_kernels; /* END's timing */
    uint64_t gpu_times_unmatched; /* GPU_TIME records of a call with no OP (dropped) */
    uint64_t unknown_records;     /* records of unknown types, skipped */
    size_t truncated_at;          /* >0: the file ends inside the record at this offset */
    size_t bytes_after_end;       /* >0: bytes after the END record, ignored */
    size_t size;                  /* bytes read */
    char *strings;                /* the texts the ops point into */
} nn_trace;

/* Times (host and GPU) beyond +-2^62 ns are rejected, so that no difference or
 * sum of two of them overflows. */
#define NN_TRACE_TIME_LIMIT ((int64_t)1 << 62)

/*
 * Reads `path` into *t. Returns 0, or -1 with a message naming the byte offset in
 * err (errlen bytes). On error *t is left empty (nothing to free).
 */
int nn_trace_read(const char *path, nn_trace *t, char *err, size_t errlen);
/* The same from memory (the fuzzer's entry): `name` is used in messages. */
int nn_trace_parse(const unsigned char *data, size_t size, const char *name, nn_trace *t,
                   char *err, size_t errlen);
void nn_trace_free(nn_trace *t);

/* The ops as the frame finder wants them (report/frames.h); free() the result. */
nn_frame_op *nn_trace_frame_ops(const nn_trace *t);

#endif
