/*
 * core.h: what every intercepted API family of the preload shares: configuration,
 * the per-thread reentrancy guard, finding the real functions, and recording
 * operations. Everything here runs inside the profiled process, so it follows the
 * design's safety rules: same arguments and return value to the program, nothing on
 * stdout, errno preserved, failures inside nnspy turn off only the failing part.
 */
#ifndef NNSPY_PRELOAD_CORE_H
#define NNSPY_PRELOAD_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "counters.h"

#define NN_EXPORT __attribute__((visibility("default")))
#define NN_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* ------------------------------------------------------------ configuration */

typedef struct nn_config {
    bool disabled;       /* NNSPY_DISABLE=1, or a secure-execution process */
    bool print_table;    /* NNSPY_REPORT=table (default) or none */
    char json_path[512]; /* NNSPY_JSON, %p expanded to the pid; empty: no JSON */
    uint64_t max_listed_ops; /* NNSPY_MAX_OPS: operations kept for the per-op table */
} nn_config;

/* Read once, at load time; never changes afterwards. */
const nn_config *nn_config_get(void);

/* One message on stderr, prefixed "nnspy: ". Use nn_warn_once for repeatable paths. */
void nn_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define nn_warn_once(...)                                                     \
    do {                                                                      \
        static int warned_;                                                   \
        if (!__atomic_exchange_n(&warned_, 1, __ATOMIC_RELAXED)) nn_warn(__VA_ARGS__); \
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
 * Returns NULL when no loaded object defines it.
 */
void *nn_lookup(nn_family family, const char *name);
const char *nn_family_file(nn_family family);

/*
 * Declares `real_NAME`, the real NAME of `family`, resolved on first use and cached.
 * When it cannot be found the wrapper says so once and returns an error status:
 * the program called a function of a library that is not loaded.
 */
#define NN_REAL(family, name)                                                          static __typeof__(&name) real_##name;                                              if (NN_UNLIKELY(!__atomic_load_n(&real_##name, __ATOMIC_ACQUIRE))) {                    __typeof__(&name) fn_ = (__typeof__(&name))nn_lookup(family, #name);                if (!fn_)                                                                              nn_warn_once("cannot find the real " #name " in any loaded %s*",                                nn_family_file(family));                                          __atomic_store_n(&real_##name, fn_, __ATOMIC_RELEASE);                         }

/* ------------------------------------------------------------ recording */

typedef enum nn_api { NN_API_CUDNN, NN_API_CUBLAS, NN_API_CUBLASLT } nn_api;

/* A device buffer an operation reads as weights. */
typedef struct nn_param_ref {
    const void *addr;
    uint64_t elements;
    nn_dtype dtype;
} nn_param_ref;

#define NN_MAX_PARAMS_PER_OP 4
#define NN_SHAPE_LEN 120

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
    /* The buffer this call wrote, so that a later GEMM knows it is an activation. */
    const void *output;
    uint64_t output_bytes;
    char shape[NN_SHAPE_LEN]; /* "1x3x224x224 -> 1x64x55x55", empty when unknown */
} nn_op;

/* Records one call (thread-safe). Parameters are counted once per address. */
void nn_record(const nn_op *op);

/* Records a call that the real library rejected (no cost read). */
void nn_record_failure(nn_api api, const char *call, const char *op);

/* True when [addr] lies in a buffer written by an earlier recorded operation. */
bool nn_is_activation(const void *addr);

/* Adds a parameter buffer to op (ignored past NN_MAX_PARAMS_PER_OP). */
void nn_op_add_param(nn_op *op, const void *addr, uint64_t elements, nn_dtype dtype);

/* Appends "AxBxC" (dims joined by 'x') to buf at *pos, bounded by len. */
void nn_shape_append(char *buf, size_t len, size_t *pos, const uint64_t *dims, int n);
void nn_shape_append_text(char *buf, size_t len, size_t *pos, const char *text);

/* ------------------------------------------------------------ the device */

/* Called on the first recorded call: notes which device the program runs on. */
void nn_device_note(void);

/* ------------------------------------------------------------ exit report */

/* Writes the table (stderr) and the JSON summary, once; called at exit. */
void nn_report_write(void);

#endif
