/*
 * numfmt.h: numbers as nnspy prints them, shared by the preload's exit report and
 * `nnspy report` (so that both print the same text). No allocation, integer
 * arithmetic only: the preload may print from a signal handler.
 */
#ifndef NNSPY_NUMFMT_H
#define NNSPY_NUMFMT_H

#include <stddef.h>
#include <stdint.h>

#include "frames.h"

/* 1234567 -> "1,234,567"; buf holds 32 bytes. */
const char *nn_fmt_grouped(uint64_t v, char buf[32]);
/* 1234567 -> "1.23 M" (decimal units, rounded to hundredths); buf holds 32 bytes. */
const char *nn_fmt_scaled(uint64_t v, char buf[32]);

/* The autotuning line of a report ("" when there was none) and its JSON member
 * (`, "autotune": {...}`, for the frames object). */
void nn_fmt_autotune_line(const nn_autotune_totals *t, char *buf, size_t len);
void nn_fmt_autotune_json(const nn_autotune_totals *t, char *buf, size_t len);

/* The counting convention both reports state in their header (and `nnspy report` in JSON). */
#define NN_COUNT_CONVENTION                                                                        \
    "1 MAC = 1 multiply + 1 add = 2 FLOPs; FLOPs = 2 x MACs + elementwise FLOPs; "                 \
    "params counted once per device buffer"

#endif
