/*
 * sites.h: call sites, the places in the program's own code that intercepted calls
 * come from (sites.c), and the Python frames behind them (pyframes.c).
 *
 * The exported wrapper notes its return address (NN_WRAP, core.h); nn_record asks
 * for the site of the call it records. A site is found once per distinct return
 * address (and, under CPython, per innermost user Python line): its stack is read
 * then with libunwind, and kept as module + address so that `nnspy report` can
 * symbolize it later, on any machine, by build-id.
 */
#ifndef NNSPY_PRELOAD_SITES_H
#define NNSPY_PRELOAD_SITES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NN_SITE_MAX_NATIVE   32 /* frames kept per site (NNSPY_STACK_DEPTH at most) */
#define NN_SITE_MAX_PYTHON   8  /* Python frames kept per site */
#define NN_BUILD_ID_MAX      64
#define NN_MAX_MODULES       1024
#define NN_MAX_SITES         65536

/* Site flags (also the SITE record's flags, docs/trace-format.md). */
#define NN_SITE_UNREADABLE 1u /* the stack could not be read down to a frame of interest */
#define NN_SITE_NO_MODULE  2u /* the first frame of interest lies in no loaded object (JIT) */

/* A loaded object, as the trace names it: where it was and what it was. */
typedef struct nn_module {
    char path[512];
    unsigned char build_id[NN_BUILD_ID_MAX];
    uint32_t build_id_len; /* 0: the object has no build-id note */
    uintptr_t bias;        /* load bias (dlpi_addr): address - bias = ELF address */
} nn_module;

/* One native frame: the ELF address of the call instruction in its module
 * (return address - 1 - load bias), or the raw address when module is 0. */
typedef struct nn_site_native {
    uint32_t module; /* module id (1..), 0: no loaded object holds it */
    uint64_t address;
} nn_site_native;

typedef struct nn_site_python {
    const char *file, *function; /* owned by pyframes.c, never freed */
    uint32_t line;
} nn_site_python;

/* A site, immutable once published. Frames run from the innermost of interest
 * outwards. */
typedef struct nn_site {
    uint32_t id;
    uint32_t flags;
    uint32_t n_native, n_python;
    nn_site_native native[NN_SITE_MAX_NATIVE];
    nn_site_python python[NN_SITE_MAX_PYTHON];
} nn_site;

/* The return address of the outermost intercepted call of this thread, set by the
 * exported wrappers (NN_WRAP) for the length of the call. */
extern __thread const void *nn_caller_pc;

/* The site of the call this thread is recording (0: attribution off or failed).
 * Not for signal handlers: a new site is unwound and allocated. */
uint32_t nn_site_current(void);

/* A published site (NULL for 0 or an unknown id). */
const nn_site *nn_site_get(uint32_t id);
/* A module of a published site. */
const nn_module *nn_module_get(uint32_t id);

/* ------------------------------------------------------------ Python (pyframes.c) */

/* The innermost user Python frame of this thread, when it runs CPython and holds
 * the GIL: `code` identifies the frame's code (0: no Python frame), `line` its
 * line. Cheap: one walk of the frames, names read once per code object. */
typedef struct nn_py_key {
    uintptr_t code;
    uint32_t line;
} nn_py_key;
nn_py_key nn_py_innermost(void);

/* Up to max user Python frames, innermost first, for a new site (same conditions
 * as nn_py_innermost). */
uint32_t nn_py_frames(nn_site_python *out, uint32_t max);

#endif
