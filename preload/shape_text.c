/*
 * shape_text.c: the shape column's text ("1x3x224x224 -> 1x64x55x55"), bounded by
 * the buffer: a shape too long for it is cut, never overflows.
 */
#include <stdio.h>

#include "core.h"

void nn_shape_append_text(char *buf, size_t len, size_t *pos, const char *text)
{
    int n = snprintf(buf + *pos, len - *pos, "%s", text);
    if (n > 0) *pos = *pos + (size_t)n < len ? *pos + (size_t)n : len - 1;
}

void nn_shape_append(char *buf, size_t len, size_t *pos, const uint64_t *dims, int n)
{
    for (int i = 0; i < n; i++) {
        char d[24];
        snprintf(d, sizeof d, i ? "x%llu" : "%llu", (unsigned long long)dims[i]);
        nn_shape_append_text(buf, len, pos, d);
    }
}
