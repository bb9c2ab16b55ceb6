/*
 * layers.h: a trace's operations grouped by call site into layers (layers.c), as
 * `nnspy report` shows them: a layer is named by the place in the program that
 * makes its calls.
 */
#ifndef NNSPY_REPORT_LAYERS_H
#define NNSPY_REPORT_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace.h"

typedef struct nn_layer {
    const nn_trace_site *site;
    uint64_t first_call, calls;
    uint64_t macs, flops; /* of its calls that succeeded at known cost */
    int64_t gpu_ns;       /* the sum of its timed calls' GPU time */
    uint64_t timed;       /* how many of its calls were timed */
    bool overflow;
} nn_layer;

/* t's ops grouped by site, in the order of each site's first call; ops without a
 * site are left out. Returns the array (*n layers; free() it), or NULL with *n = 0
 * when there are none or no memory. */
nn_layer *nn_trace_layers(const nn_trace *t, size_t *n);

/* The layers section of the table (nothing when the trace has no sites). */
void nn_layers_table(FILE *f, const nn_trace *t);
/* `"layers": [...],` with indent `in` (nothing when the trace has no sites). */
void nn_layers_json(FILE *f, const char *in, const nn_trace *t);

#endif
