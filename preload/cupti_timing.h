/* cupti_timing.h: NNSPY_TIMING=cupti (cupti.c), used by timing.c. */
#ifndef NNSPY_PRELOAD_CUPTI_TIMING_H
#define NNSPY_PRELOAD_CUPTI_TIMING_H

#include <stdbool.h>
#include <stdint.h>

/* Starts CUPTI on first use; false when it cannot be had (then: events). */
bool nn_cupti_active(void);
/* Whether CUPTI is running (never starts it). */
bool nn_cupti_started(void);
/* Around one intercepted call: a ticket (0: untagged), then the call's number. */
uint64_t nn_cupti_push(void);
void nn_cupti_pop(uint64_t ticket, uint64_t call);
/* Delivers every record CUPTI holds (at the end). */
void nn_cupti_flush(void);
/* Kernels attributed to intercepted calls; those of no call and their GPU time. */
void nn_cupti_kernels(uint64_t *attributed, uint64_t *kernels, int64_t *ns);

#endif
