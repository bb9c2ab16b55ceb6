/*
 * numfmt.c: numbers as nnspy prints them (numfmt.h).
 */
#include "numfmt.h"

#include <stdio.h>

/* 1234567 -> "1,234,567" */
const char *nn_fmt_grouped(uint64_t v, char buf[32])
{
    /* Digits by hand, not snprintf: nnspy report writes a few per call, millions of
     * calls. */
    char digits[24];
    int n = 0;
    do digits[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    for (int i = 0; i < n / 2; i++) {
        char c = digits[i];
        digits[i] = digits[n - 1 - i];
        digits[n - 1 - i] = c;
    }
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

/* Decimal units, rounded to hundredths of the unit. */
const char *nn_fmt_scaled(uint64_t v, char buf[32])
{
    static const char *const units[] = {"", " K", " M", " G", " T", " P", " E"};
    uint64_t unit = 1;
    int u = 0;
    while (v / unit >= 1000 && u < 6) unit *= 1000, u++;
    if (u == 0) {
        snprintf(buf, 32, "%llu", (unsigned long long)v);
        return buf;
    }
    uint64_t step = unit / 100, rounded = v;
    if (rounded <= UINT64_MAX - step / 2) rounded += step / 2;
    uint64_t hundredths = rounded / step;
    snprintf(buf, 32, "%llu.%02llu%s", (unsigned long long)(hundredths / 100),
             (unsigned long long)(hundredths % 100), units[u]);
    return buf;
}

void nn_fmt_autotune_line(const nn_autotune_totals *t, char *buf, size_t len)
{
    char c[32], m[32], f[32];
    if (!t->calls) {
        snprintf(buf, len, "%s", "");
        return;
    }
    snprintf(buf, len, "autotuning (counted in the totals, in no frame): %s calls, %s MACs, %s FLOPs\n",
             nn_fmt_grouped(t->calls, c), nn_fmt_grouped(t->macs, m), nn_fmt_grouped(t->flops, f));
}

void nn_fmt_autotune_json(const nn_autotune_totals *t, char *buf, size_t len)
{
    snprintf(buf, len, ", \"autotune\": {\"calls\": %llu, \"macs\": %llu, \"flops\": %llu}",
             (unsigned long long)t->calls, (unsigned long long)t->macs,
             (unsigned long long)t->flops);
}
