/*
 * core.h: what every intercepted API family of the preload shares: configuration,
 * the per-thread reentrancy guard, finding the real functions, and recording
 * operations. Everything here runs inside the profiled process, so it follows the
 * design's safety rules: same arguments and return value to the program, nothing on
 * stdout, errno preserved, failures inside nnspy turn off only the failing part.
 */
#ifndef NNSPY_PRELOAD_CORE_H
#define NNSPY_PRELOAD_CORE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

#define NN_EXPORT      __attribute__((visibility("default")))
#define NN_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ------------------------------------------------------------ configuration */

/* How the run is split into frames (NNSPY_FRAME). */
typedef enum nn_frame_mode {
    NN_FRAME_AUTO,   /* the smallest period of the calls' signatures */
    NN_FRAME_MARKER, /* nnspy_frame_begin / nnspy_frame_end */
    NN_FRAME_SYNC,   /* each host synchronisation ends a frame */
    NN_FRAME_NVTX,   /* each NVTX range named frame_range */
} nn_frame_mode;

/* How GPU time is taken (NNSPY_TIMING). */
typedef enum nn_timing_mode {
    NN_TIMING_EVENTS, /* driver events around each call (default) */
    NN_TIMING_CUPTI,  /* CUPTI activity records of every kernel */
    NN_TIMING_OFF,    /* no GPU time */
} nn_timing_mode;

typedef struct nn_config {
    bool disabled;           /* NNSPY_DISABLE=1, or a secure-execution process */
    bool print_table;        /* NNSPY_REPORT=table (default) or none */
    char json_template[512]; /* NNSPY_JSON as given (%p: the pid); empty: no JSON */
    char output_template[512]; /* NNSPY_OUTPUT, the trace's name; empty: no trace */
    uint64_t max_listed_ops; /* NNSPY_MAX_OPS: operations kept for the per-op table */
    nn_frame_mode frame_mode; /* NNSPY_FRAME */
    nn_timing_mode timing_mode; /* NNSPY_TIMING */
    char frame_range[128];    /* the NVTX range name of nvtx:NAME */
} nn_config;

#define NN_DEFAULT_MAX_LISTED_OPS 100000ULL
#define NN_MAX_LISTED_OPS_LIMIT   (1ULL << 32)

/* Read once, at load time; never changes afterwards. */
const nn_config *nn_config_get(void);

/* CLOCK_MONOTONIC in nanoseconds: the host times of calls and frames. */
int64_t nn_monotonic_ns(void);

/* nnspy has read its configuration and is not disabled. */
bool nn_active(void);

/* False in a vfork child, which shares nnspy's state with its parent. */
bool nn_in_owner_process(void);

/* Notes which file stderr is at load; nnspy prints only while fd 2 is still it
 * (a daemon may close stderr and reuse fd 2 for a file or socket of its own). */
void nn_note_stderr(void);
bool nn_stderr_is_original(void);

/* Fills c from the variables that get() returns (getenv, or a fuzzer's input). */
void nn_config_parse(nn_config *c, const char *(*get)(const char *name));

/* template with each %p replaced by pid; false when it does not fit in len. */
bool nn_expand_path(const char *template, long pid, char *out, size_t len);

/* One message on stderr, prefixed "nnspy: ". Use nn_warn_once for repeatable paths. */
void nn_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define nn_warn_once(...)                                                                          \
    do {                                                                                           \
        static int warned_;                                                                        \
        if (!__atomic_exchange_n(&warned_, 1, __ATOMIC_RELAXED)) nn_warn(__VA_ARGS__);             \
    } while (0)

/* ------------------------------------------------------------ reentrancy guard */

/*
 * Count only the outermost call on each thread: NVIDIA's libraries call each other
 * (cuBLAS calls cuBLASLt, cuDNN's front library calls its sub-libraries).
 * Every wrapper calls nn_enter before the real function and nn_leave after it;
 * nn_enter returns true when this call is the outermost one on its thread and
 * nnspy is enabled, i.e. when the call is to be recorded.
 */
bool nn_enter(void);
void nn_leave(void);

/* ------------------------------------------------------------ real functions */

/* A family of NVIDIA libraries, recognised by the file name of a loaded object. */
typedef enum nn_family {
    NN_FAMILY_CUDNN,
    NN_FAMILY_CUBLAS,
    NN_FAMILY_CUBLASLT,
    NN_FAMILY_CUDART,      /* only to recognise the simulated device */
    NN_FAMILY_CUDA_DRIVER, /* only to name the device */
    NN_FAMILY_COUNT_
} nn_family;

/*
 * The real `name` of `family`: RTLD_NEXT first, then the loaded objects of that
 * family (libraries loaded into a local scope, as Python extension modules do).
 * The object it is found in is pinned (RTLD_NODELETE), so that a cached pointer
 * stays valid when the program unloads and reloads the library.
 * Returns NULL when no loaded object defines it.
 */
void *nn_lookup(nn_family family, const char *name);
const char *nn_family_file(nn_family family);
/* Whether a file is one of the libraries of the stack nnspy intercepts. */
bool nn_is_intercepted_stack_file(const char *path);
/* The real dlsym, bootstrapped with dlvsym: nnspy never calls the public one. */
void *nn_real_dlsym(void *handle, const char *name);

/*
 * A copy of a library family loaded in the process. Copy 0 is the one the
 * program's own calls reach through the global scope (found with nn_lookup);
 * copies 1.. are the distinct objects that dlsym(handle, ...) lookups landed in,
 * e.g. two copies of cuDNN loaded by two plugins. Each wrapper exists once per
 * copy, so that it calls (and reads descriptors with) its own copy's functions.
 */
#define NN_COPIES 4
typedef struct nn_copy {
    nn_family family;
    int index;
    void *handle; /* the pinned object of copies 1..; NULL for copy 0 */
} nn_copy;

const nn_copy *nn_primary(nn_family family);
/*
 * The copy a direct call (through nnspy's exported symbol) must go to: the one the
 * calling object itself would have reached, found once per call site. A plugin
 * linked to libcudnn.so.8 in a process whose global scope has libcudnn.so.9 keeps
 * calling its own cuDNN 8. `name` is the wrapped function's.
 */
const nn_copy *nn_copy_for_caller(nn_family family, const void *caller, const char *name);
const nn_copy *nn_copy_at(nn_family family, int index);
/* `name` in that copy (cached by the caller), or NULL. */
void *nn_copy_lookup(const nn_copy *copy, const char *name);
/* The copy (1..) for the object loaded at `base` from `path`; -1 when all are taken. */
int nn_copy_for_object(nn_family family, const char *path, const void *base);

/* What the dlsym override needs to know of each wrapper: its per-copy entry points. */
typedef struct nn_wrapper_entry {
    const char *name;
    nn_family family;
    void *per_copy[NN_COPIES];
} nn_wrapper_entry;

#define NN_STRIP(...) __VA_ARGS__

/* The return address of the wrapper's caller, in nn_caller_pc (sites.h) for the length
 * of the call, and `caller_` for CALL: the site of the outermost call. The previous
 * value comes back afterwards, because NVIDIA's libraries call wrapped functions
 * inside the program's call, which is recorded after they return. */
extern __thread const void *nn_caller_pc;
#define NN_CALLER_SCOPE(RET, CALL)                                                                 \
    const void *caller_ = __builtin_return_address(0);                                             \
    const void *outer_caller_ = nn_caller_pc;                                                      \
    nn_caller_pc = caller_;                                                                        \
    RET ret_ = CALL;                                                                               \
    nn_caller_pc = outer_caller_;                                                                  \
    return ret_

/*
 * Defines the wrapper of NAME: the exported function (the copy its caller would
 * reach), one static entry point per copy reached through dlsym, and their
 * registration for the dlsym override. The body
 * that follows is NAME's implementation, with `copy` in scope:
 *
 *   NN_WRAP(NN_FAMILY_CUDNN, cudnnStatus_t, cudnnAddTensor, (cudnnHandle_t h, ...), (h, ...))
 *   { ... }
 */
#define NN_WRAP(FAMILY, RET, NAME, PARAMS, ARGS)                                                   \
    static RET NAME##_impl(const nn_copy *copy, NN_STRIP PARAMS);                                  \
    NN_EXPORT RET NAME PARAMS                                                                      \
    {                                                                                              \
        NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_for_caller(FAMILY, caller_, #NAME),               \
                                         NN_STRIP ARGS));                                          \
    }                                                                                              \
    static RET NAME##_copy1 PARAMS                                                                 \
    {                                                                                              \
        NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_at(FAMILY, 1), NN_STRIP ARGS));                   \
    }                                                                                              \
    static RET NAME##_copy2 PARAMS                                                                 \
    {                                                                                              \
        NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_at(FAMILY, 2), NN_STRIP ARGS));                   \
    }                                                                                              \
    static RET NAME##_copy3 PARAMS                                                                 \
    {                                                                                              \
        NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_at(FAMILY, 3), NN_STRIP ARGS));                   \
    }                                                                                              \
    static const nn_wrapper_entry NAME##_entry                                                     \
        __attribute__((used, section("nnspy_wrappers"), aligned(sizeof(void *)))) = {              \
            #NAME,                                                                                 \
            FAMILY,                                                                                \
            {(void *)NAME, (void *)NAME##_copy1, (void *)NAME##_copy2, (void *)NAME##_copy3}};     \
    static RET NAME##_impl(const nn_copy *copy, NN_STRIP PARAMS)

/* NN_WRAP for a function without parameters. */
#define NN_WRAP0(FAMILY, RET, NAME)                                                                \
    static RET NAME##_impl(const nn_copy *copy);                                                   \
    NN_EXPORT RET NAME(void)                                                                       \
    {                                                                                              \
        NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_for_caller(FAMILY, caller_, #NAME)));             \
    }                                                                                              \
    static RET NAME##_copy1(void) { NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_at(FAMILY, 1))); }    \
    static RET NAME##_copy2(void) { NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_at(FAMILY, 2))); }    \
    static RET NAME##_copy3(void) { NN_CALLER_SCOPE(RET, NAME##_impl(nn_copy_at(FAMILY, 3))); }    \
    static const nn_wrapper_entry NAME##_entry                                                     \
        __attribute__((used, section("nnspy_wrappers"), aligned(sizeof(void *)))) = {              \
            #NAME,                                                                                 \
            FAMILY,                                                                                \
            {(void *)NAME, (void *)NAME##_copy1, (void *)NAME##_copy2, (void *)NAME##_copy3}};     \
    static RET NAME##_impl(const nn_copy *copy)

/*
 * Declares `real`, the real NAME in this wrapper's `copy`, resolved on first use
 * and cached per copy. When it cannot be found the wrapper says so once and
 * returns `missing`: the program called a function of a library not loaded.
 */
#define NN_REAL_OR_RETURN(NAME, missing)                                                           \
    static __typeof__(&NAME) real_per_copy_[NN_COPIES];                                            \
    __typeof__(&NAME) real = __atomic_load_n(&real_per_copy_[copy->index], __ATOMIC_ACQUIRE);      \
    if (NN_UNLIKELY(!real)) {                                                                      \
        real = (__typeof__(&NAME))nn_copy_lookup(copy, #NAME);                                     \
        if (!real) {                                                                               \
            nn_warn_once("cannot find the real " #NAME " in any loaded %s*",                       \
                         nn_family_file(copy->family));                                            \
            return missing;                                                                        \
        }                                                                                          \
        __atomic_store_n(&real_per_copy_[copy->index], real, __ATOMIC_RELEASE);                    \
    }

/* ------------------------------------------------------------ recording */

typedef enum nn_api {
    NN_API_CUDNN,
    NN_API_CUBLAS,
    NN_API_CUBLASLT,
    NN_API_CUDA, /* the CUDA runtime: a CUDA graph launch */
} nn_api;

/*
 * How a buffer an operation reads is decided to be a parameter (README, the
 * parameter rule). Decided in nn_record, under the one lock, against the buffers
 * earlier operations wrote.
 */
typedef enum nn_param_rule {
    NN_PARAM_ALWAYS,            /* a filter: weights by definition */
    NN_PARAM_UNLESS_ACTIVATION, /* a bias: unless an earlier operation wrote it */
    NN_PARAM_WEIGHT_OPERAND,    /* a GEMM operand: the first such candidate of the call
                                   that no earlier operation wrote, if any */
    NN_PARAM_BUFFER,            /* state the model keeps but does not learn (batch norm's
                                   running mean and variance): counted once per address
                                   in a total of its own, never as parameters */
} nn_param_rule;

/* A device buffer an operation may read as weights. */
typedef struct nn_param_ref {
    const void *addr;
    uint64_t elements;
    nn_dtype dtype;
    nn_param_rule rule;
} nn_param_ref;

#define NN_MAX_PARAMS_PER_OP 8
#define NN_MAX_MORE_OUTPUTS  3
#define NN_SHAPE_LEN         120

/* One intercepted call, as the wrappers describe it. */
typedef struct nn_op {
    nn_api api;
    const char *call; /* the intercepted function's name, a string literal */
    const char *op;   /* conv_fwd, gemm, add_tensor, ... a string literal */
    nn_dtype dtype;
    bool succeeded;  /* the real call returned success */
    bool cost_known; /* the descriptors could be read */
    nn_cost cost;
    nn_param_ref params[NN_MAX_PARAMS_PER_OP];
    int n_params;
    uint64_t workspace_bytes; /* the workspace the program gave the call */
    /* The buffer this call wrote, so that a later GEMM knows it is an activation;
     * a cuDNN graph may write a few more. */
    const void *output;
    uint64_t output_bytes;
    const void *more_outputs[NN_MAX_MORE_OUTPUTS];
    uint64_t more_output_bytes[NN_MAX_MORE_OUTPUTS];
    char shape[NN_SHAPE_LEN]; /* "1x3x224x224 -> 1x64x55x55", empty when unknown */
    bool in_graph_launch; /* replayed by a CUDA graph launch, whose row carries the GPU time */
    /* Autotuning (report/frames.c, nn_frames_mark_autotuning): an explicit search
     * (cudnnFind*), or one of several plans (tune_variant) run for one graph
     * (tune_key, 0: none) before the program settles on one. */
    bool autotune;
    uint32_t tune_key, tune_variant;
    uint32_t site; /* 0: the current call's site (sites.h); else the site it was captured at */
    bool params_incomplete; /* more parameter buffers than the op could hold */
} nn_op;

/* Records one call (thread-safe) and returns its number (calls are numbered from
 * 0 in the order they are recorded). Parameters are counted once per address. */
uint64_t nn_record(const nn_op *op);

/* Whether any call has been recorded (in this process). */
bool nn_recorded_any(void);

/* The GPU interval of call number `call`, on its device's timeline (timing.c). */
void nn_record_gpu_time(uint64_t call, int64_t start_ns, int64_t end_ns);

/* The frame the program is in now, for the given-frame modes (frame_marks.c):
 * 0 outside any frame. */
uint32_t nn_current_given_frame(void);

/* Device memory coming and going (cudaMalloc, cudaFree), see record.c. */
void nn_note_allocation(const void *ptr, uint64_t size);
void nn_note_free(const void *ptr);

/* Adds a possible parameter buffer to op (ignored past NN_MAX_PARAMS_PER_OP). */
void nn_op_add_param(nn_op *op, const void *addr, uint64_t elements, nn_dtype dtype,
                     nn_param_rule rule);

/*
 * Adds a GEMM operand (rows x cols per product) as a weight candidate, unless it
 * has a matrix of its own for each product of a batch (non-zero batch stride):
 * a weight shared by the batch is broadcast. Add A before B: A is the weight when
 * both qualify (PyTorch, TensorFlow and JAX compute Y = X W as Y^T = W^T X^T).
 */
void nn_op_add_gemm_operand(nn_op *op, const void *p, uint64_t rows, uint64_t cols, nn_dtype dtype,
                            uint64_t batch, int64_t batch_stride);

/* Whether a call's shape text is wanted: calls are still being listed for the table
 * (NNSPY_MAX_OPS), or a trace is written (every call of a trace has its shape).
 * Otherwise it is not worth formatting. */
bool nn_listing_open(void);

/* Appends "AxBxC" (dims joined by 'x') to buf at *pos, bounded by len (the text is
 * cut there, always terminated). Written by hand, without snprintf: a traced call's
 * shape is formatted at every call. */
void nn_shape_append(char *buf, size_t len, size_t *pos, const uint64_t *dims, int n);
void nn_shape_append_text(char *buf, size_t len, size_t *pos, const char *text);
void nn_shape_append_u64(char *buf, size_t len, size_t *pos, uint64_t v);
/* A GEMM's shape: "[batch] TN mxk * kxn -> mxn" (the batch only above 1; T or N for
 * the transposes of A and B); returns the length written. */
size_t nn_shape_gemm(char *buf, size_t len, uint64_t batch, bool trans_a, bool trans_b, uint64_t m,
                     uint64_t n, uint64_t k);

/* ------------------------------------------------------------ the device */

/* Called on the first recorded call: notes which device the program runs on. */
void nn_device_note(void);

/* Called on every recorded call: the first one sets up the signal handlers. */
void nn_process_note_first_call(void);

/* Makes a mutex of nnspy (if m is not NULL) safe across fork: taken before, released
 * in the child; child_hook, if any, runs in the child afterwards. Call from a
 * constructor. */
void nn_fork_protect(pthread_mutex_t *m, void (*child_hook)(void));

/* ------------------------------------------------------------ exit report */

typedef enum nn_report_moment {
    NN_REPORT_EXIT,   /* the process exits normally */
    NN_REPORT_EXEC,   /* the process image is about to be replaced: JSON only */
    NN_REPORT_SIGNAL, /* a signal is about to end the process */
} nn_report_moment;

/* Writes the table (stderr) and the JSON summary of everything recorded so far. */
void nn_report_write(nn_report_moment moment);

#endif
