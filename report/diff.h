/*
 * diff.h: `nnspy diff`, two runs compared from their traces.
 *
 *   nnspy diff [--fail-macs PCT] [--fail-params PCT] [--fail-latency PCT]
 *              [--format table|json] A B
 *
 * A and B are `.nns` traces, or directories whose traces are merged (one side = every
 * process of one run). The comparison core (nn_diff_compute) is a pure function of
 * the traces in memory; option parsing (nn_diff_parse_options) is pure too (no
 * global state, argv untouched: fuzzable); nn_diff_run drives both with any trace
 * loader; nn_diff_main is the CLI with the `.nns` reader (report/trace.h).
 *
 * What is compared:
 *  - operations: one frame of each trace (its last steady frame, report/frames.c:
 *    the last period of the repeating state in auto mode, the last marked frame
 *    in marker, sync and nvtx modes), or all its calls when it has no frame (a run
 *    that does not repeat; frames are found among the first NN_FRAMES_MAX_CALLS
 *    calls, as the preload and `nnspy report` find them). A side's sequence is its
 *    traces' sequences, in order
 *    of rank, pid and path. When every trace of both sides has a frame and the two
 *    sequences are as long, they are compared position by position; otherwise
 *    with a longest common subsequence on (api, op, function, shape, dtype), and in
 *    each gap between two common calls a second one on (api, op): calls matched
 *    there are "changed" (their shape, data type or cost differ), the others
 *    "removed" (A only) or "added" (B only). The longest common subsequence is
 *    taken on at most NN_DIFF_LCS_MAX_CELLS (calls of A x calls of B, after the
 *    common head and tail are set aside); beyond that the gap is compared position
 *    by position, and the result says so.
 *  - totals (whole runs, from each trace's END record or, for a trace without
 *    one, as the reader recomputes them; summed over a side's traces): calls, failed calls, MACs,
 * FLOPs, parameters, parameter bytes, bytes read and written, absolute (B - A) and relative ((B -
 * A) / A).
 *  - frame latency p50, p90, p99 (nearest rank over every frame of every trace of
 *    a side, as the exit report measures them), when both sides are timed.
 *
 * Checks: --fail-macs, --fail-params and --fail-latency PCT fail when B's total
 * MACs, total parameters or p50 frame latency is more than PCT percent above A's
 * ((B - A) / A x 100 > PCT; any increase from 0 fails). --fail-latency also fails
 * when either side has no timed frame: such a check cannot pass.
 *
 * Table on stdout by default; --format json writes schema "nnspy.diff/1": "a" and
 * "b" (each side: traces, frames, latency), "operations" (method: position, lcs or
 * lcs+position; counts), "changes" (each changed, added or removed call: its op,
 * both sides' shape, dtype and cost, and "delta": B - A MACs, FLOPs, params),
 * "totals" ({a, b, delta, relative_pct} per total; integers exact), "frame_macs",
 * "latency_ms" ({p50, p90, p99} each {a, b, delta, relative_pct}, or null),
 * "checks" and "failed". Warnings and failed checks go to stderr.
 *
 * Exit statuses: 0 compared (and every check passed); 1 a trace could not be read
 * (the reader's message), or no memory, or the output could not be written;
 * 2 usage error; 3 a --fail-* check failed (one line on stderr for each).
 */
#ifndef NNSPY_DIFF_H
#define NNSPY_DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "frames.h"
#include "trace.h"

enum {
    NN_DIFF_EXIT_OK = 0,
    NN_DIFF_EXIT_UNREADABLE = 1,
    NN_DIFF_EXIT_USAGE = 2,
    NN_DIFF_EXIT_CHECK_FAILED = 3,
};

/* The largest longest-common-subsequence table (one byte per cell): 32 MiB. */
#define NN_DIFF_LCS_MAX_CELLS ((size_t)1 << 25)

/* ------------------------------------------------------------------ options */

typedef enum { NN_DIFF_MACS, NN_DIFF_PARAMS, NN_DIFF_LATENCY, NN_DIFF_N_METRICS } nn_diff_metric;

typedef enum { NN_DIFF_FORMAT_TABLE, NN_DIFF_FORMAT_JSON } nn_diff_format;

typedef struct nn_diff_options {
    bool fail_set[NN_DIFF_N_METRICS];
    double fail_pct[NN_DIFF_N_METRICS]; /* finite, >= 0 */
    nn_diff_format format;
    const char *a, *b;   /* the two traces or directories (argv's strings) */
    const char *error;   /* why parsing failed, for the message */
    const char *culprit; /* the argument at fault, or NULL */
} nn_diff_options;

typedef enum { NN_DIFF_PARSE_OK, NN_DIFF_PARSE_HELP, NN_DIFF_PARSE_ERROR } nn_diff_parse_result;

/* Parses diff's argv (argv[0] is "diff"). Quiet: the caller prints. */
nn_diff_parse_result nn_diff_parse_options(int argc, char *const *argv, nn_diff_options *o);

/* The option's name for a metric: "--fail-macs", ... */
const char *nn_diff_option_name(nn_diff_metric m);

extern const char nn_diff_usage[]; /* the usage lines */
extern const char nn_diff_help[];  /* usage and what each option means */

/* --------------------------------------------------------------- comparison */

typedef enum { NN_DIFF_SAME, NN_DIFF_CHANGED, NN_DIFF_ADDED, NN_DIFF_REMOVED } nn_diff_kind;

typedef enum {
    NN_DIFF_BY_POSITION,   /* one frame each, as long: position by position */
    NN_DIFF_BY_LCS,        /* longest common subsequence */
    NN_DIFF_BY_LCS_CAPPED, /* the same, but a gap too large for it went by position */
} nn_diff_method;

/* One operation of one side's compared sequence. */
typedef struct nn_diff_ref {
    const nn_trace_op *op; /* NULL: none on this side (added or removed) */
    size_t trace;          /* index of its trace in the side's list */
    size_t position;       /* its index in the side's compared sequence */
} nn_diff_ref;

typedef struct nn_diff_entry {
    nn_diff_kind kind;
    nn_diff_ref a, b;
} nn_diff_entry;

typedef struct nn_diff_side {
    size_t traces;
    uint64_t ops;    /* operations in the traces (all calls recorded) */
    size_t compared; /* operations compared: one frame per trace, or all */
    uint64_t compared_macs, compared_flops;
    bool frames_found;        /* every trace has a frame (not just one whole run) */
    const char *frame_mode;   /* the first trace's ("auto" when absent); "mixed" */
    size_t frames;            /* frames measured for latency */
    nn_latency_stats latency; /* count 0: no timed frame */
    nn_trace_totals totals;   /* summed over the traces */
    bool complete;            /* every trace ended with an END record */
    uint64_t dropped_records;
    const char *device; /* the first trace's device name ("" when unknown) */
    bool simulated;     /* some trace ran on the simulated device */
} nn_diff_side;

typedef struct nn_diff {
    nn_diff_side a, b;
    nn_diff_method method;
    nn_diff_entry *entries; /* both sequences, in order, unchanged operations included */
    size_t n_entries;
    size_t same, changed, added, removed;
} nn_diff;

/*
 * Compares side A (a[0 .. na)) with side B (b[0 .. nb)); each list in the order
 * given (nn_diff_sort_traces puts it in rank, pid, path order). Pure: reads the
 * traces only, and the result points into them (keep them until nn_diff_free).
 * Returns NULL when out of memory.
 */
nn_diff *nn_diff_compute(const nn_trace *a, size_t na, const nn_trace *b, size_t nb);
void nn_diff_free(nn_diff *d);

/* Orders a side's traces by rank (none last), pid, then path. */
void nn_diff_sort_traces(nn_trace *t, size_t n);

/* Relative change of B over A in percent; false when A is 0 and B is not. */
bool nn_diff_relative_pct(uint64_t a, uint64_t b, double *pct);

/* ------------------------------------------------------------------- checks */

typedef struct nn_diff_check {
    nn_diff_metric metric;
    double threshold_pct;
    bool a_missing, b_missing; /* the value is not known on that side (latency untimed) */
    bool evaluated;            /* known on both sides */
    bool from_zero;            /* A was 0 and B is not: an unbounded increase */
    double change_pct;         /* B over A, valid when evaluated and not from_zero */
    double a, b;               /* the values compared (latency in ms) */
    bool failed;
} nn_diff_check;

/* Evaluates every check o asks for into out[] (NN_DIFF_N_METRICS slots); returns
 * how many. */
size_t nn_diff_checks(const nn_diff *d, const nn_diff_options *o, nn_diff_check *out);

/* The one line saying why a failed check failed (no newline). */
void nn_diff_check_message(const nn_diff_check *c, char *buf, size_t len);

/* ------------------------------------------------------------------- output */

/* Both return 0, or -1 when the stream reports a write error. a_name and b_name
 * are what the user gave (or NULL). paths: the traces' paths are taken from them. */
int nn_diff_write_table(FILE *out, const nn_diff *d, const nn_trace *a, size_t na,
                        const nn_trace *b, size_t nb, const char *a_name, const char *b_name,
                        const nn_diff_check *checks, size_t n_checks);
int nn_diff_write_json(FILE *out, const nn_diff *d, const nn_trace *a, size_t na, const nn_trace *b,
                       size_t nb, const char *a_name, const char *b_name,
                       const nn_diff_check *checks, size_t n_checks);

/* ---------------------------------------------------------------------- CLI */

/*
 * Loads one side: a trace or a directory of traces. Returns 0 with *traces (n of
 * them, at least one), or -1 with a message in err.
 */
typedef int (*nn_diff_load_fn)(void *ctx, const char *arg, nn_trace **traces, size_t *n, char *err,
                               size_t errlen);
typedef void (*nn_diff_unload_fn)(void *ctx, nn_trace *traces, size_t n);

/* `nnspy diff` with any loader, writing to out and errs; returns the exit status. */
int nn_diff_run(int argc, char *const *argv, nn_diff_load_fn load, nn_diff_unload_fn unload,
                void *ctx, FILE *out, FILE *errs);

/* `nnspy diff` (argv[0] is "diff"): reads traces with nn_trace_read (a directory:
 * every *.nns and *.nns.N file in it), prints on stdout, messages on stderr. */
int nn_diff_main(int argc, char **argv);

/* Reads `arg` (a trace, or a directory of traces) with nn_trace_read. */
int nn_diff_load_traces(void *ctx, const char *arg, nn_trace **traces, size_t *n, char *err,
                        size_t errlen);
void nn_diff_unload_traces(void *ctx, nn_trace *traces, size_t n);

#endif
