/*
 * ranges.h: a set of address ranges [start, end), kept sorted and disjoint
 * (touching or overlapping ranges merge). Records which device memory earlier
 * operations wrote. Not thread-safe: used under record.c's lock. Bounded: past
 * max_ranges an add fails and the caller says so.
 */
#ifndef NNSPY_PRELOAD_RANGES_H
#define NNSPY_PRELOAD_RANGES_H

#include <stdbool.h>
#include <stdint.h>

struct nn_range {
    uintptr_t start, end;
};

typedef struct nn_ranges {
    struct nn_range *r;
    uint64_t len, cap, max_ranges;
} nn_ranges;

/* Adds [start, end); false when the set is full (nothing added). */
bool nn_ranges_add(nn_ranges *s, uintptr_t start, uintptr_t end);
/* Removes [start, end) from the set, splitting a range that straddles it. */
void nn_ranges_remove(nn_ranges *s, uintptr_t start, uintptr_t end);
bool nn_ranges_contains(const nn_ranges *s, uintptr_t a);
void nn_ranges_clear(nn_ranges *s);

#endif
