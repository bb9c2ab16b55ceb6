/*
 * fuzz_trace: libFuzzer target for the `.nns` trace reader (report/trace_read.c).
 * Any bytes: an error naming an offset, or a trace whose invariants hold, which
 * is then summarized (frames) and written in every format of `nnspy report`.
 * Seeds: tests/fuzz/seeds-fuzz_trace (python3 tests/make_trace.py --fuzz-seeds DIR;
 * sites.trace: a version 2 trace with call sites, written by libnnspy.so).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_cmd.h"
#include "summary.h"
#include "trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w"))) abort();
    nn_trace t;
    char err[512];
    if (nn_trace_parse(data, size, "f.nns", &t, err, sizeof err) != 0) {
        if (strncmp(err, "f.nns: offset ", 14) != 0) abort();
        if (t.ops || t.path) abort(); /* left empty */
        return 0;
    }
    for (size_t i = 1; i < t.n_ops; i++)
        if (t.ops[i - 1].call >= t.ops[i].call) abort();
    for (size_t i = 1; i < t.n_frames; i++)
        if (t.frames[i - 1].id >= t.frames[i].id) abort();
    if (!t.complete && t.totals.calls != t.n_ops) abort();
    for (size_t i = 0; i < t.n_ops; i++) /* every site named is defined */
        if (t.ops[i].site && !nn_trace_site_of(&t, t.ops[i].site)) abort();
    for (size_t i = 1; i < t.n_sites; i++)
        if (t.sites[i - 1].id >= t.sites[i].id) abort();
    if (t.complete && t.totals.calls < t.n_ops) abort();
    static const char *const modes[] = {NULL, "auto"};
    for (int m = 0; m < 2; m++) {
        nn_trace_summary s;
        if (nn_trace_summarize(&t, modes[m], &s, err, sizeof err) != 0) continue;
        if (s.frames.latency.count > s.n_list) abort();
        for (int f = REPORT_TABLE; f <= REPORT_CHROME; f++)
            if (nn_report_write(sink, (report_format)f, &s, 1) != 0) abort();
        nn_trace_summary_free(&s);
    }
    nn_trace_free(&t);
    return 0;
}
