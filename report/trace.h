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
/* Version 2: calls packed (KIND, PACKED), call sites (MODULE, SITE), autotuning in
 * the OP payload. Version 1 is still read. */
#define NN_TRACE_VERSION 2

enum nn_trace_record_type {
    NN_TREC_STRING = 1,
    NN_TREC_OP = 2,
    NN_TREC_GPU_TIME = 3,
    NN_TREC_FRAME = 4,
    NN_TREC_END = 5,
    NN_TREC_KIND = 6,   /* version 2: what calls of one kind share, once */
    NN_TREC_PACKED = 7, /* version 2: calls and GPU times, a few bytes each */
    NN_TREC_MODULE = 8, /* version 2: a loaded object that call sites lie in */
    NN_TREC_SITE = 9,   /* version 2: a call site */
};

/* PACKED entries: the low 2 bits of an entry's first varint. */
#define NN_TPACK_CALL     0u
#define NN_TPACK_GPU_TIME 1u
#define NN_TPACK_MAX      (64u << 10) /* payload bytes of one PACKED record, at most */
#define NN_TKIND_PAYLOAD  (4u + NN_TOP_PAYLOAD) /* u32 id, then an OP payload */

#define NN_TOP_SUCCEEDED        1u
#define NN_TOP_COST_KNOWN       2u
#define NN_TOP_OVERFLOW         4u
#define NN_TOP_BYTES_INCOMPLETE 8u
#define NN_TOP_IN_GRAPH_LAUNCH  16u /* replayed by a CUDA graph launch, timed as one unit */
#define NN_TREC_MAX_PAYLOAD     (1u << 20)
#define NN_TOP_PAYLOAD          120u /* version 2; version 1's OP payload has the first 104 */
#define NN_TOP_PAYLOAD_V1       104u
#define NN_TOP_TUNE_SEARCH      1u /* OP tune flag: an explicit search (cudnnFind*) */

typedef struct nn_trace_op {
    uint64_t call;
    uint32_t api;           /* 0 cudnn, 1 cublas, 2 cublasLt, 3 cuda */
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
    uint32_t tune_key, tune_variant;  /* 0 when none (and in version 1) */
    bool tune_search;                 /* an explicit autotuning search (cudnnFind*) */
    uint32_t site;                    /* its call site's id (0: none; version 1: none) */
} nn_trace_op;

/* A loaded object a site's frames lie in (MODULE record). */
typedef struct nn_trace_module {
    uint32_t id;
    char *path;
    unsigned char build_id[64];
    uint32_t build_id_len; /* 0: none */
} nn_trace_module;

/* A native frame: the ELF address of the call in its module (module 0: the raw
 * address of code in no loaded object). */
typedef struct nn_trace_native {
    uint32_t module;
    uint64_t address;
} nn_trace_native;

typedef struct nn_trace_python {
    const char *file, *function;
    uint32_t line;
} nn_trace_python;

#define NN_TSITE_UNREADABLE 1u /* the stack could not be read down to a frame of interest */
#define NN_TSITE_NO_MODULE  2u /* the first frame of interest lies in no loaded object */

/* A call site (SITE record), innermost frame first. */
typedef struct nn_trace_site {
    uint32_t id, flags;
    uint32_t n_native, n_python;
    nn_trace_native *native;
    nn_trace_python *python;
    /* Set by nn_symbolize (symbolize.h); NULL until then. */
    char *name;              /* "conv_forward at alexnet.c:445", "sym+0x1c (libfoo.so)", ... */
    char *function, *file;   /* of the first frame, when known (else NULL) */
    uint32_t line;           /* 0: unknown */
} nn_trace_site;

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
    /* Call sites (version 2), sorted by id: */
    nn_trace_module *modules;
    size_t n_modules;
    nn_trace_site *sites;
    size_t n_sites;
} nn_trace;

/* The site of id in t (NULL for 0 or an id it does not define): binary search of
 * the sites sorted by id. Inline, so that the HTML writer needs no reader. */
static inline const nn_trace_site *nn_trace_site_of(const nn_trace *t, uint32_t id)
{
    size_t lo = 0, hi = id ? t->n_sites : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->sites[mid].id == id) return &t->sites[mid];
        if (t->sites[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* The name of op's site: NULL when it has none or it is not symbolized. */
static inline const char *nn_trace_site_name(const nn_trace *t, const nn_trace_op *op)
{
    const nn_trace_site *s = nn_trace_site_of(t, op->site);
    return s ? s->name : NULL;
}

const nn_trace_module *nn_trace_module_of(const nn_trace *t, uint32_t id);

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
