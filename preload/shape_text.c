/*
 * shape_text.c: the shape column's text ("1x3x224x224 -> 1x64x55x55"), bounded by
 * the buffer: a shape too long for it is cut, never overflows. No snprintf: every
 * traced call formats its shape.
 */
#include "core.h"

void nn_shape_append_text(char *buf, size_t len, size_t *pos, const char *text)
{
    for (; *text && *pos + 1 < len; text++) buf[(*pos)++] = *text;
    buf[*pos] = '\0';
}

void nn_shape_append_u64(char *buf, size_t len, size_t *pos, uint64_t v)
{
    char digits[20]; /* least significant first */
    int n = 0;
    do digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n > 0 && *pos + 1 < len) buf[(*pos)++] = digits[--n];
    buf[*pos] = '\0';
}

void nn_shape_append(char *buf, size_t len, size_t *pos, const uint64_t *dims, int n)
{
    for (int i = 0; i < n; i++) {
        if (i) nn_shape_append_text(buf, len, pos, "x");
        nn_shape_append_u64(buf, len, pos, dims[i]);
    }
}

size_t nn_shape_gemm(char *buf, size_t len, uint64_t batch, bool trans_a, bool trans_b, uint64_t m,
                     uint64_t n, uint64_t k)
{
    size_t pos = 0;
    buf[0] = '\0';
    if (batch > 1) {
        nn_shape_append_text(buf, len, &pos, "[");
        nn_shape_append_u64(buf, len, &pos, batch);
        nn_shape_append_text(buf, len, &pos, "] ");
    }
    nn_shape_append_text(buf, len, &pos, trans_a ? "T" : "N");
    nn_shape_append_text(buf, len, &pos, trans_b ? "T " : "N ");
    const uint64_t a[] = {m, k}, b[] = {k, n}, c[] = {m, n};
    nn_shape_append(buf, len, &pos, a, 2);
    nn_shape_append_text(buf, len, &pos, " * ");
    nn_shape_append(buf, len, &pos, b, 2);
    nn_shape_append_text(buf, len, &pos, " -> ");
    nn_shape_append(buf, len, &pos, c, 2);
    return pos;
}
