/*
 * ranges.c: a sorted, disjoint set of address ranges.
 */
#include "ranges.h"

#include <stdlib.h>
#include <string.h>

/* Index of the last range starting at or before a, or -1. */
static int64_t floor_index(const nn_ranges *s, uintptr_t a)
{
    int64_t lo = 0, hi = (int64_t)s->len - 1, found = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (s->r[mid].start <= a)
            found = mid, lo = mid + 1;
        else
            hi = mid - 1;
    }
    return found;
}

static bool insert_at(nn_ranges *s, uint64_t i, struct nn_range r)
{
    if (s->len == s->cap) {
        uint64_t cap = s->cap ? s->cap * 2 : 256;
        struct nn_range *t = cap <= s->max_ranges ? realloc(s->r, cap * sizeof *t) : NULL;
        if (!t) return false;
        s->r = t;
        s->cap = cap;
    }
    memmove(&s->r[i + 1], &s->r[i], (s->len - i) * sizeof *s->r);
    s->r[i] = r;
    s->len++;
    return true;
}

static void remove_span(nn_ranges *s, uint64_t from, uint64_t to)
{
    memmove(&s->r[from], &s->r[to], (s->len - to) * sizeof *s->r);
    s->len -= to - from;
}

bool nn_ranges_add(nn_ranges *s, uintptr_t start, uintptr_t end)
{
    if (start >= end) return true;
    int64_t f = floor_index(s, start);
    uint64_t i;
    if (f >= 0 && s->r[f].end >= start) {
        i = (uint64_t)f;
        if (s->r[i].end < end) s->r[i].end = end;
    } else {
        i = (uint64_t)(f + 1);
        if (!insert_at(s, i, (struct nn_range){start, end})) return false;
    }
    /* Swallow the ranges the grown one now reaches. */
    uint64_t j = i + 1;
    while (j < s->len && s->r[j].start <= s->r[i].end) {
        if (s->r[j].end > s->r[i].end) s->r[i].end = s->r[j].end;
        j++;
    }
    remove_span(s, i + 1, j);
    return true;
}

void nn_ranges_remove(nn_ranges *s, uintptr_t start, uintptr_t end)
{
    if (start >= end) return;
    int64_t f = floor_index(s, start);
    uint64_t k = f < 0 ? 0 : (uint64_t)f;
    while (k < s->len && s->r[k].start < end) {
        struct nn_range r = s->r[k];
        if (r.end <= start) {
            k++;
        } else if (r.start < start && r.end > end) {
            /* Straddles the hole: two pieces (if there is no room for the second,
             * the whole range stays: better an activation kept than lost). */
            if (!insert_at(s, k + 1, (struct nn_range){end, r.end})) return;
            s->r[k].end = start;
            return;
        } else if (r.start < start) {
            s->r[k++].end = start;
        } else if (r.end > end) {
            s->r[k].start = end;
            return;
        } else {
            remove_span(s, k, k + 1);
        }
    }
}

bool nn_ranges_contains(const nn_ranges *s, uintptr_t a)
{
    int64_t i = floor_index(s, a);
    return i >= 0 && a < s->r[i].end;
}

void nn_ranges_clear(nn_ranges *s)
{
    free(s->r);
    s->r = NULL;
    s->len = s->cap = 0;
}
