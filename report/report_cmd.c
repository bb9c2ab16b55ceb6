/*
 * report_cmd.c: `nnspy report`: the report of one or more `.nns` traces, made
 * again from the traces alone, as a table, JSON (the schema nnspy.report/1 of the
 * preload's NNSPY_JSON file, every number computed the same way), CSV (one row per
 * call) or a Chrome trace (chrome://tracing, Perfetto).
 *
 * The table and JSON reproduce the preload's exit report (preload/report_exit.c):
 * the same formats, the same integer arithmetic, the frames from report/frames.c.
 */
#define _GNU_SOURCE
#include "report_cmd.h"
#include "layers.h"
#include "symbolize.h"

#include "numfmt.h"

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef NNSPY_HTML
#include "html.h"
#endif

#define USAGE                                                                                      \
    "usage: nnspy report [--format table|json|csv|chrome|html] [--frames MODE] [-o FILE]\n"        \
    "                    [--debug-dir DIRS] TRACE|DIR...\n"

const char nn_report_usage[] = USAGE;

const char nn_report_help[] =
    USAGE "\n"
          "Makes the report of a run again from its traces (.nns files, NNSPY_OUTPUT):\n"
          "each call's shape, data type, parameters, MACs, FLOPs, bytes and GPU time, the\n"
          "totals, and the frames (latency, FPS, achieved TFLOP/s). A DIR stands for every\n"
          "*.nns (and *.nns.N) file in it. Several traces (the processes of one job) give\n"
          "their merged totals, one row per process, and the slowest rank.\n"
          "\n"
          "options:\n"
          "  --format table   the table of the exit report (default)\n"
          "           json    the schema nnspy.report/1 of NNSPY_JSON, plus \"traces\"\n"
          "           csv     one row per call (RFC 4180), a header line naming the units\n"
          "           chrome  Chrome trace events (chrome://tracing, ui.perfetto.dev): one\n"
          "                   event per timed call, frames on a track of their own\n"
          "           html    one self-contained page with charts\n"
          "  --frames MODE    auto (the repeating period of the calls; from any trace), or\n"
          "                   marker, sync, nvtx[:NAME] (from a trace recorded in that mode);\n"
          "                   default: the mode the trace was recorded with\n"
          "  -o, --output FILE  write to FILE instead of standard output\n"
          "  --debug-dir DIRS   where to look for moved programs and libraries, and for\n"
          "                   debug files, by build-id (colon-separated; then\n"
          "                   NNSPY_DEBUG_PATH, then /usr/lib/debug)\n"
          "  -h, --help       this text\n"
          "\n"
          "Units: 1 MAC = 1 multiply + 1 add = 2 FLOPs; K, M, G, T are 10^3, 10^6, 10^9,\n"
          "10^12 (MB = 10^6 bytes); GPU times in microseconds (us) or milliseconds (ms).\n"
          "Exit status: 0; 1 when a trace cannot be read or the output cannot be written;\n"
          "2 for a usage error.\n";

static const char *const api_names[] = {"cudnn", "cublas", "cublasLt", "cuda"};

#define UNITS                                                                                      \
    "K, M, G, T, P = 10^3, 10^6, 10^9, 10^12, 10^15 (decimal: MB = 10^6 bytes); GPU us = "         \
    "microseconds of GPU time; TFLOP/s = 10^12 FLOPs per second"

/* ------------------------------------------------------------ numbers */

static bool op_timed(const nn_trace_op *op)
{
    return op->gpu_start_ns != NN_UNTIMED && op->gpu_end_ns != NN_UNTIMED;
}

static const char *gpu_us(const nn_trace_op *op, char buf[32])
{
    if (!op_timed(op)) return "-";
    int64_t ns = op->gpu_end_ns - op->gpu_start_ns;
    snprintf(buf, 32, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
    return buf;
}

/* FLOP/ns = GFLOP/s: thousandths of TFLOP/s, in integers (as the preload). */
static const char *op_tflops(const nn_trace_op *op, char buf[32])
{
    int64_t ns = op_timed(op) ? op->gpu_end_ns - op->gpu_start_ns : 0;
    if (ns <= 0) return "-";
    uint64_t milli = op->flops / (uint64_t)ns;
    snprintf(buf, 32, "%llu.%03llu", (unsigned long long)(milli / 1000),
             (unsigned long long)(milli % 1000));
    return buf;
}

/* ns as a decimal of unit 10^digits ns, exactly: ms (6) or us (3). */
static void fixed_ns(FILE *f, int64_t ns, int digits)
{
    uint64_t unit = digits == 6 ? 1000000 : 1000;
    const char *sign = ns < 0 ? "-" : "";
    uint64_t v = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    fprintf(f, "%s%llu.%0*llu", sign, (unsigned long long)(v / unit), digits,
            (unsigned long long)(v % unit));
}

static void json_ns_as_ms(FILE *f, int64_t ns)
{
    if (ns == NN_UNTIMED)
        fputs("null", f);
    else
        fixed_ns(f, ns, 6);
}

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *yes(bool b)
{
    return b ? "true" : "false";
}

static void accumulate(uint64_t *acc, uint64_t v, bool *overflow)
{
    if (__builtin_add_overflow(*acc, v, acc)) {
        *acc = UINT64_MAX;
        *overflow = true;
    }
}

/* What the trace's totals leave out of its listing: calls with no OP record. */
static uint64_t not_listed(const nn_trace *t)
{
    return t->totals.calls > t->n_ops ? t->totals.calls - t->n_ops : 0;
}

/* "rank 3 (pid 1234, host h)" or "pid 1234 (host h)" */
static const char *who(const nn_trace *t, char *buf, size_t len)
{
    if (t->rank >= 0)
        snprintf(buf, len, "rank %ld (pid %ld, host %s)", t->rank, t->pid, t->host);
    else
        snprintf(buf, len, "pid %ld (host %s)", t->pid, t->host);
    return buf;
}

/* ------------------------------------------------------------ table */

static void print_notes(FILE *f, const nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    char w[400];
    fprintf(f, "trace: %s: %s, %s", t->path, who(t, w, sizeof w), t->exe[0] ? t->exe : "?");
    if (t->nnspy_version[0]) fprintf(f, " (nnspy %s)", t->nnspy_version);
    fputc('\n', f);
    if (!t->complete)
        fprintf(f,
                "INCOMPLETE TRACE: no END record (the process crashed, was killed, or is still "
                "running): totals recomputed from the %zu calls recorded, parameters unknown\n",
                t->n_ops);
    if (t->dropped_records)
        fprintf(f,
                "the writer dropped %llu records (it could not keep up): totals are exact, the "
                "listing and frames miss some calls\n",
                (unsigned long long)t->dropped_records);
    if (t->gpu_times_unmatched)
        fprintf(f, "%llu GPU times belong to calls not in the trace (dropped records)\n",
                (unsigned long long)t->gpu_times_unmatched);
}

static void print_header(FILE *f, const nn_trace *t, const nn_trace_totals *tot)
{
    if (t->simulated)
        fprintf(f,
                "nnspy: SIMULATED DEVICE (%s): test equipment, not a GPU; counts are real, "
                "times are modelled\n",
                t->device_name);
    char a[32], b[32];
    fprintf(f, "nnspy report: %s calls (%s failed) on device \"%s\"\n", nn_fmt_grouped(tot->calls, a),
            nn_fmt_grouped(tot->failed_calls, b), t->device_name);
    fprintf(f, "convention: %s\n", NN_COUNT_CONVENTION);
    fprintf(f, "units: %s\n", UNITS);
}

static void print_op(FILE *f, const nn_trace_op *op)
{
    char p[32], m[32], fl[32], rw[32], us[32], tf[32];
    const char *api = api_names[op->api];
    if (!(op->flags & NN_TOP_SUCCEEDED)) {
        fprintf(f, "%6llu  %-8s  %-15s  call failed (%s)\n", (unsigned long long)op->call, api,
                op->op, op->function);
        return;
    }
    if (!(op->flags & NN_TOP_COST_KNOWN)) {
        fprintf(f, "%6llu  %-8s  %-15s  cost unknown (%s)\n", (unsigned long long)op->call, api,
                op->op, op->function);
        return;
    }
    uint64_t bytes = op->bytes_read + op->bytes_written;
    if (bytes < op->bytes_read) bytes = UINT64_MAX;
    fprintf(f, "%6llu  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s  %11s  %8s%s\n",
            (unsigned long long)op->call, api, op->op, op->shape, op->dtype,
            nn_fmt_grouped(op->params_read, p), nn_fmt_grouped(op->macs, m), nn_fmt_grouped(op->flops, fl),
            nn_fmt_grouped(bytes, rw), gpu_us(op, us), op_tflops(op, tf),
            (op->flags & NN_TOP_OVERFLOW)           ? "  OVERFLOW"
            : (op->flags & NN_TOP_BYTES_INCOMPLETE) ? "  (unknown dtype: bytes low)"
                                                    : "");
}

static void print_calls(FILE *f, const nn_trace *t)
{
    fprintf(f, "%6s  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s  %11s  %8s\n", "#", "api",
            "op", "shape (input * weight -> output)", "dtype", "params", "MACs", "FLOPs",
            "bytes r+w", "GPU us", "TFLOP/s");
    for (size_t i = 0; i < t->n_ops; i++) print_op(f, &t->ops[i]);
    if (not_listed(t))
        fprintf(f, "... %llu more calls are in the totals but not in the trace (dropped records)\n",
                (unsigned long long)not_listed(t));
}

static void print_totals(FILE *f, const nn_trace_totals *t, bool params_known)
{
    char a[32], b[32], c[32], d[32];
    fprintf(f, "totals:\n");
    if (params_known)
        fprintf(f, "  params         %s (%s), %s bytes%s\n", nn_fmt_grouped(t->params, a),
                nn_fmt_scaled(t->params, b), nn_fmt_grouped(t->param_bytes, c),
                t->params_incomplete ? " (incomplete)" : "");
    if (params_known && t->buffers)
        fprintf(f, "  buffers        %s (%s), %s bytes (running statistics: not parameters)\n",
                nn_fmt_grouped(t->buffers, a), nn_fmt_scaled(t->buffers, b),
                nn_fmt_grouped(t->buffer_bytes, c));
    if (!params_known)
        fprintf(f, "  params         unknown (the trace has no END record)\n");
    fprintf(f, "  MACs           %s (%s)\n", nn_fmt_grouped(t->macs, a), nn_fmt_scaled(t->macs, b));
    fprintf(f, "  FLOPs          %s (%s)\n", nn_fmt_grouped(t->flops, a), nn_fmt_scaled(t->flops, b));
    fprintf(f, "  memory read    %s bytes (%sB)\n", nn_fmt_grouped(t->bytes_read, a),
            nn_fmt_scaled(t->bytes_read, b));
    fprintf(f, "  memory written %s bytes (%sB)\n", nn_fmt_grouped(t->bytes_written, c),
            nn_fmt_scaled(t->bytes_written, d));
    if (t->unknown_cost_calls)
        fprintf(f, "  %llu successful calls of unknown cost are not in these totals\n",
                (unsigned long long)t->unknown_cost_calls);
    if (t->overflow) fprintf(f, "  some values exceeded 64 bits and are saturated\n");
    if (t->bytes_incomplete)
        fprintf(f, "  some tensors have a data type of unknown size: bytes are a lower bound\n");
}

static void print_frame_ops(FILE *f, const nn_trace_summary *s)
{
    const nn_frames_summary *fs = &s->frames;
    if (!fs->position_ms || fs->period == 0) return;
    double frame_ms = 0;
    for (size_t j = 0; j < fs->period; j++)
        if (fs->position_ms[j] > 0) frame_ms += fs->position_ms[j];
    fprintf(f, "one frame (mean over %zu frames):\n%6s  %-8s  %-15s  %-52s  %11s  %6s\n", fs->count,
            "#", "api", "op", "shape", "GPU us", "share");
    for (size_t j = 0; j < fs->period; j++) {
        size_t i = fs->steady_start + j;
        if (i >= s->t->n_ops) break;
        const nn_trace_op *op = &s->t->ops[i];
        double ms = fs->position_ms[j];
        char us[32] = "-", share[32] = "-";
        if (ms >= 0) {
            snprintf(us, sizeof us, "%.3f", ms * 1e3);
            if (frame_ms > 0) snprintf(share, sizeof share, "%.1f%%", 100.0 * ms / frame_ms);
        }
        fprintf(f, "%6zu  %-8s  %-15s  %-52s  %11s  %6s\n", j, api_names[op->api], op->op,
                op->shape, us, share);
    }
}

static void print_frames(FILE *f, const nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    const nn_frames_summary *fs = &s->frames;
    if (!t->timing_available)
        fprintf(f, "GPU timing: unavailable (%s)\n",
                t->timing_reason && t->timing_reason[0] ? t->timing_reason
                : t->complete                           ? "no reason given"
                                                        : "no call of the trace was timed");
    else if (t->other_kernels)
        fprintf(f, "other GPU work (kernels of no intercepted call): %llu kernels, %.6f ms\n",
                (unsigned long long)t->other_kernels, (double)t->other_ns / 1e6);
    char a[32], b[32];
    fprintf(f, "frames (%s): %zu", s->mode_full, fs->count);
    if (fs->warmup) fprintf(f, " after %zu warm-up", fs->warmup);
    if (fs->period) fprintf(f, ", %zu calls each", fs->period);
    fprintf(f, "; per frame %s MACs, %s FLOPs\n", nn_fmt_grouped(fs->macs_per_frame, a),
            nn_fmt_grouped(fs->flops_per_frame, b));
    char tune[160];
    nn_fmt_autotune_line(&fs->autotune, tune, sizeof tune);
    fputs(tune, f);
    if (fs->latency.count)
        fprintf(f,
                "  GPU latency ms: mean %.6f  p50 %.6f  p90 %.6f  p99 %.6f  min %.6f  max %.6f "
                "(%zu frames)\n",
                fs->latency.mean_ms, fs->latency.p50_ms, fs->latency.p90_ms, fs->latency.p99_ms,
                fs->latency.min_ms, fs->latency.max_ms, fs->latency.count);
    if (fs->have_fps) fprintf(f, "  FPS %.2f (frames per second of the program's time)\n", fs->fps);
    if (fs->have_host_interval)
        fprintf(f, "  host time between frame starts: %.6f ms (mean)\n", fs->host_interval_ms);
    if (fs->have_tflops && t->peak_tflops > 0)
        fprintf(f,
                "  achieved %.3f TFLOP/s (FLOPs over GPU busy time), %.2f%% of the device's "
                "%.0f TFLOP/s dense 16-bit tensor peak\n",
                fs->achieved_tflops, 100.0 * fs->achieved_tflops / t->peak_tflops, t->peak_tflops);
    else if (fs->have_tflops)
        fprintf(f, "  achieved %.3f TFLOP/s (FLOPs over GPU busy time; device peak unknown)\n",
                fs->achieved_tflops);
    print_frame_ops(f, s);
}

static void table_one(FILE *f, const nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    print_notes(f, s);
    print_header(f, t, &t->totals);
    print_calls(f, t);
    print_totals(f, &t->totals, t->complete);
    nn_layers_table(f, t);
    print_frames(f, s);
}

/* ------------------------------------------------------------ several traces */

static nn_trace_totals merged_totals(const nn_trace_summary *s, size_t n)
{
    nn_trace_totals m = {0};
    for (size_t i = 0; i < n; i++) {
        const nn_trace_totals *t = &s[i].t->totals;
        accumulate(&m.calls, t->calls, &m.overflow);
        accumulate(&m.failed_calls, t->failed_calls, &m.overflow);
        accumulate(&m.unknown_cost_calls, t->unknown_cost_calls, &m.overflow);
        accumulate(&m.macs, t->macs, &m.overflow);
        accumulate(&m.flops, t->flops, &m.overflow);
        accumulate(&m.params, t->params, &m.overflow);
        accumulate(&m.param_bytes, t->param_bytes, &m.overflow);
        accumulate(&m.buffers, t->buffers, &m.overflow);
        accumulate(&m.buffer_bytes, t->buffer_bytes, &m.overflow);
        accumulate(&m.bytes_read, t->bytes_read, &m.overflow);
        accumulate(&m.bytes_written, t->bytes_written, &m.overflow);
        m.overflow |= t->overflow;
        m.params_incomplete |= t->params_incomplete;
        m.bytes_incomplete |= t->bytes_incomplete;
    }
    return m;
}

/* The trace with the highest mean frame latency; -1 when none is timed. */
static long slowest(const nn_trace_summary *s, size_t n)
{
    long best = -1;
    for (size_t i = 0; i < n; i++)
        if (s[i].frames.latency.count &&
            (best < 0 || s[i].frames.latency.mean_ms > s[best].frames.latency.mean_ms))
            best = (long)i;
    return best;
}

static bool all_complete(const nn_trace_summary *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i].t->complete) return false;
    return true;
}

static void table_many(FILE *f, const nn_trace_summary *s, size_t n)
{
    fprintf(f, "nnspy report: %zu traces (one per process), merged\n", n);
    fprintf(f, "convention: %s\n", NN_COUNT_CONVENTION);
    fprintf(f, "units: %s\n", UNITS);
    fprintf(f, "%4s  %6s  %8s  %-16s  %12s  %18s  %12s  %7s  %11s  %11s  %-10s  %s\n", "#", "rank",
            "pid", "host", "calls", "MACs", "GPU busy ms", "frames", "p50 ms", "mean ms", "trace",
            "path");
    for (size_t i = 0; i < n; i++) {
        const nn_trace *t = s[i].t;
        const nn_latency_stats *l = &s[i].frames.latency;
        char rank[24] = "-", c[32], m[32], busy[32] = "-", p50[32] = "-", mean[32] = "-";
        if (t->rank >= 0) snprintf(rank, sizeof rank, "%ld", t->rank);
        if (s[i].timed_ops) snprintf(busy, sizeof busy, "%.6f", (double)s[i].gpu_busy_ns / 1e6);
        if (l->count) {
            snprintf(p50, sizeof p50, "%.6f", l->p50_ms);
            snprintf(mean, sizeof mean, "%.6f", l->mean_ms);
        }
        fprintf(f, "%4zu  %6s  %8ld  %-16s  %12s  %18s  %12s  %7zu  %11s  %11s  %-10s  %s\n", i,
                rank, t->pid, t->host, nn_fmt_grouped(t->totals.calls, c), nn_fmt_grouped(t->totals.macs, m),
                busy, s[i].frames.count, p50, mean, t->complete ? "complete" : "INCOMPLETE",
                t->path);
    }
    nn_trace_totals m = merged_totals(s, n);
    fprintf(f, "merged over the %zu traces (sums; params: each process's distinct buffers):\n", n);
    char a[32], b[32];
    fprintf(f, "  calls          %s (%s failed)\n", nn_fmt_grouped(m.calls, a),
            nn_fmt_grouped(m.failed_calls, b));
    print_totals(f, &m, all_complete(s, n));
    long w = slowest(s, n);
    if (w >= 0) {
        char buf[400];
        fprintf(f, "slowest: %s, mean frame latency %.6f ms (p50 %.6f ms) in %s\n",
                who(s[w].t, buf, sizeof buf), s[w].frames.latency.mean_ms,
                s[w].frames.latency.p50_ms, s[w].t->path);
    } else {
        fprintf(f, "slowest: unknown (no trace has a timed frame)\n");
    }
    for (size_t i = 0; i < n; i++)
        if (!s[i].t->complete)
            fprintf(f,
                    "INCOMPLETE TRACE: %s has no END record: its totals are recomputed from "
                    "its calls, parameters unknown\n",
                    s[i].t->path);
    fprintf(f, "(nnspy report FILE shows one trace's calls and frames)\n");
}

/* ------------------------------------------------------------ JSON */

static void json_trace_row(FILE *f, const nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    const nn_latency_stats *l = &s->frames.latency;
    fprintf(f, "{\"path\": ");
    json_string(f, t->path);
    fprintf(f, ", \"pid\": %ld, \"rank\": ", t->pid);
    if (t->rank >= 0)
        fprintf(f, "%ld", t->rank);
    else
        fputs("null", f);
    fprintf(f, ", \"host\": ");
    json_string(f, t->host);
    fprintf(f,
            ", \"complete\": %s, \"dropped_records\": %llu, \"calls\": %llu, \"macs\": %llu, "
            "\"flops\": %llu, \"gpu_busy_ms\": ",
            yes(t->complete), (unsigned long long)t->dropped_records,
            (unsigned long long)t->totals.calls, (unsigned long long)t->totals.macs,
            (unsigned long long)t->totals.flops);
    json_ns_as_ms(f, s->timed_ops ? s->gpu_busy_ns : NN_UNTIMED);
    fprintf(f, ", \"frames_mode\": ");
    json_string(f, s->mode_full);
    fprintf(f, ", \"frames\": %zu, ", s->frames.count);
    if (l->count)
        fprintf(f, "\"latency_p50_ms\": %.9g, \"latency_mean_ms\": %.9g}", l->p50_ms, l->mean_ms);
    else
        fprintf(f, "\"latency_p50_ms\": null, \"latency_mean_ms\": null}");
}

static void json_totals(FILE *f, const char *in, const nn_trace_totals *t)
{
    fprintf(f,
            "%s\"totals\": {\"calls\": %llu, \"failed_calls\": %llu, "
            "\"unknown_cost_calls\": %llu, \"macs\": %llu, \"flops\": %llu, "
            "\"params\": %llu, \"param_bytes\": %llu, \"buffers\": %llu, "
            "\"buffer_bytes\": %llu, \"bytes_read\": %llu, "
            "\"bytes_written\": %llu, \"overflow\": %s, \"params_incomplete\": %s, "
            "\"bytes_incomplete\": %s},\n",
            in, (unsigned long long)t->calls, (unsigned long long)t->failed_calls,
            (unsigned long long)t->unknown_cost_calls, (unsigned long long)t->macs,
            (unsigned long long)t->flops, (unsigned long long)t->params,
            (unsigned long long)t->param_bytes, (unsigned long long)t->buffers,
            (unsigned long long)t->buffer_bytes, (unsigned long long)t->bytes_read,
            (unsigned long long)t->bytes_written, yes(t->overflow), yes(t->params_incomplete),
            yes(t->bytes_incomplete));
}

static void json_op(FILE *f, const char *in, const nn_trace *tr, const nn_trace_op *op, bool last)
{
    fprintf(f, "%s  {\"index\": %llu, \"api\": ", in, (unsigned long long)op->call);
    json_string(f, api_names[op->api]);
    fprintf(f, ", \"call\": ");
    json_string(f, op->function);
    fprintf(f, ", \"op\": ");
    json_string(f, op->op);
    fprintf(f, ", \"dtype\": ");
    json_string(f, op->dtype);
    fprintf(f, ", \"shape\": ");
    json_string(f, op->shape);
    fprintf(f,
            ", \"succeeded\": %s, \"cost_known\": %s, \"macs\": %llu, \"flops\": %llu, "
            "\"params\": %llu, \"bytes_read\": %llu, \"bytes_written\": %llu, "
            "\"overflow\": %s, \"bytes_incomplete\": %s, \"gpu_time_ms\": ",
            yes(op->flags & NN_TOP_SUCCEEDED), yes(op->flags & NN_TOP_COST_KNOWN),
            (unsigned long long)op->macs, (unsigned long long)op->flops,
            (unsigned long long)op->params_read, (unsigned long long)op->bytes_read,
            (unsigned long long)op->bytes_written, yes(op->flags & NN_TOP_OVERFLOW),
            yes(op->flags & NN_TOP_BYTES_INCOMPLETE));
    json_ns_as_ms(f, op_timed(op) ? op->gpu_end_ns - op->gpu_start_ns : NN_UNTIMED);
    char tf[32];
    const char *t = op_tflops(op, tf);
    fprintf(f, ", \"achieved_tflops\": %s, \"workspace_bytes\": %llu, \"frame\": %u, \"site\": ",
            t[0] == '-' ? "null" : t, (unsigned long long)op->workspace_bytes, op->given_frame);
    const char *site = nn_trace_site_name(tr, op);
    if (site) json_string(f, site);
    else fputs("null", f);
    fprintf(f, "}%s\n", last ? "" : ",");
}

static void json_timing_frames(FILE *f, const char *in, const nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    fprintf(f, "%s\"timing\": {\"mode\": ", in);
    json_string(f, t->timing_used ? t->timing_used : "");
    fprintf(f,
            ", \"available\": %s, \"timed_calls\": %llu, \"dropped_calls\": %llu, "
            "\"attributed_kernels\": %llu, \"other_kernels\": %llu, \"other_gpu_ms\": ",
            yes(t->timing_available), (unsigned long long)t->timed_calls,
            (unsigned long long)t->timing_dropped_calls, (unsigned long long)t->attributed_kernels,
            (unsigned long long)t->other_kernels);
    json_ns_as_ms(f, t->other_ns);
    fprintf(f, ", \"reason\": ");
    if (t->timing_available)
        fputs("null},\n", f);
    else {
        json_string(f, t->timing_reason ? t->timing_reason
                       : t->complete    ? ""
                                        : "no call of the trace was timed");
        fputs("},\n", f);
    }
    const nn_frames_summary *fs = &s->frames;
    fprintf(f,
            "%s\"frames\": {\"mode\": \"%s\", \"count\": %zu, \"warmup\": %zu, "
            "\"calls_per_frame\": %zu, \"macs_per_frame\": %llu, \"flops_per_frame\": %llu, "
            "\"params\": %llu, \"latency_ms\": ",
            in, fs->mode, fs->count, fs->warmup, fs->period, (unsigned long long)fs->macs_per_frame,
            (unsigned long long)fs->flops_per_frame, (unsigned long long)t->totals.params);
    const nn_latency_stats *l = &fs->latency;
    if (l->count)
        fprintf(f,
                "{\"mean\": %.9g, \"p50\": %.9g, \"p90\": %.9g, \"p99\": %.9g, \"min\": %.9g, "
                "\"max\": %.9g, \"frames\": %zu}",
                l->mean_ms, l->p50_ms, l->p90_ms, l->p99_ms, l->min_ms, l->max_ms, l->count);
    else
        fputs("null", f);
    if (fs->have_host_interval)
        fprintf(f, ", \"host_interval_ms\": %.9g", fs->host_interval_ms);
    else
        fputs(", \"host_interval_ms\": null", f);
    if (fs->have_fps)
        fprintf(f, ", \"fps\": %.9g", fs->fps);
    else
        fputs(", \"fps\": null", f);
    if (fs->have_tflops)
        fprintf(f, ", \"achieved_tflops\": %.9g", fs->achieved_tflops);
    else
        fputs(", \"achieved_tflops\": null", f);
    if (t->peak_tflops > 0)
        fprintf(f, ", \"peak_tflops\": %.9g", t->peak_tflops);
    else
        fputs(", \"peak_tflops\": null", f);
    char tune[160];
    nn_fmt_autotune_json(&fs->autotune, tune, sizeof tune);
    fprintf(f, "%s},\n", tune);
}

/* One trace's report, the preload's schema; `in` indents it. */
static void json_one(FILE *f, const char *in, const nn_trace_summary *s)
{
    const nn_trace *t = s->t;
    fprintf(f, "{\n%s  \"schema\": \"nnspy.report/1\",\n%s  \"convention\": ", in, in);
    json_string(f, NN_COUNT_CONVENTION);
    fprintf(f, ",\n%s  \"device\": {\"name\": ", in);
    json_string(f, t->device_name);
    fprintf(f, ", \"simulated\": %s},\n%s  \"traces\": [", yes(t->simulated), in);
    json_trace_row(f, s);
    fprintf(f, "],\n");
    char in2[64];
    snprintf(in2, sizeof in2, "%s  ", in);
    json_totals(f, in2, &t->totals);
    json_timing_frames(f, in2, s);
    nn_layers_json(f, in2, t);
    fprintf(f, "%s\"ops_not_listed\": %llu,\n%s\"ops\": [\n", in2,
            (unsigned long long)not_listed(t), in2);
    for (size_t i = 0; i < t->n_ops; i++) json_op(f, in2, t, &t->ops[i], i + 1 == t->n_ops);
    fprintf(f, "%s]\n%s}", in2, in);
}

static void json_many(FILE *f, const nn_trace_summary *s, size_t n)
{
    fprintf(f, "{\n  \"schema\": \"nnspy.report/1\",\n  \"convention\": ");
    json_string(f, NN_COUNT_CONVENTION);
    bool same = true, simulated = false;
    for (size_t i = 0; i < n; i++) {
        same &= strcmp(s[i].t->device_name, s[0].t->device_name) == 0;
        simulated |= s[i].t->simulated;
    }
    fprintf(f, ",\n  \"merged\": true,\n  \"device\": {\"name\": ");
    json_string(f, same ? s[0].t->device_name : "(several)");
    fprintf(f, ", \"simulated\": %s},\n  \"traces\": [\n", yes(simulated));
    for (size_t i = 0; i < n; i++) {
        fputs("    ", f);
        json_trace_row(f, &s[i]);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("  ],\n", f);
    nn_trace_totals m = merged_totals(s, n);
    json_totals(f, "  ", &m);
    long w = slowest(s, n);
    fputs("  \"slowest\": ", f);
    if (w >= 0) {
        const nn_trace *t = s[w].t;
        fprintf(f, "{\"index\": %ld, \"path\": ", w);
        json_string(f, t->path);
        fprintf(f, ", \"pid\": %ld, \"rank\": ", t->pid);
        if (t->rank >= 0)
            fprintf(f, "%ld", t->rank);
        else
            fputs("null", f);
        fprintf(f, ", \"host\": ");
        json_string(f, t->host);
        fprintf(f, ", \"latency_mean_ms\": %.9g, \"latency_p50_ms\": %.9g},\n",
                s[w].frames.latency.mean_ms, s[w].frames.latency.p50_ms);
    } else {
        fputs("null,\n", f);
    }
    fputs("  \"reports\": [\n", f);
    for (size_t i = 0; i < n; i++) {
        fputs("    ", f);
        json_one(f, "    ", &s[i]);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("  ]\n}\n", f);
}

/* ------------------------------------------------------------ CSV */

/* RFC 4180: quoted when it holds a comma, a quote or a line break; quotes doubled. */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static void csv(FILE *f, const nn_trace_summary *s, size_t n)
{
    fputs("trace,pid,rank,call,api,function,op,shape,dtype,succeeded,cost_known,params,macs,"
          "flops,bytes_read,bytes_written,workspace_bytes,overflow,bytes_incomplete,frame,"
          "host_ns,gpu_start_ns,gpu_end_ns,gpu_time_us,achieved_tflops,site\r\n",
          f);
    for (size_t k = 0; k < n; k++) {
        const nn_trace *t = s[k].t;
        for (size_t i = 0; i < t->n_ops; i++) {
            const nn_trace_op *o = &t->ops[i];
            csv_field(f, t->path);
            fprintf(f, ",%ld,", t->pid);
            if (t->rank >= 0) fprintf(f, "%ld", t->rank);
            fprintf(f, ",%llu,%s,", (unsigned long long)o->call, api_names[o->api]);
            csv_field(f, o->function);
            fputc(',', f);
            csv_field(f, o->op);
            fputc(',', f);
            csv_field(f, o->shape);
            fputc(',', f);
            csv_field(f, o->dtype);
            fprintf(f, ",%d,%d,%llu,%llu,%llu,%llu,%llu,%llu,%d,%d,%u,%lld,",
                    !!(o->flags & NN_TOP_SUCCEEDED), !!(o->flags & NN_TOP_COST_KNOWN),
                    (unsigned long long)o->params_read, (unsigned long long)o->macs,
                    (unsigned long long)o->flops, (unsigned long long)o->bytes_read,
                    (unsigned long long)o->bytes_written, (unsigned long long)o->workspace_bytes,
                    !!(o->flags & NN_TOP_OVERFLOW), !!(o->flags & NN_TOP_BYTES_INCOMPLETE),
                    o->given_frame, (long long)o->host_ns);
            if (op_timed(o)) {
                char us[32], tf[32];
                const char *tfs = op_tflops(o, tf);
                fprintf(f, "%lld,%lld,%s,%s", (long long)o->gpu_start_ns, (long long)o->gpu_end_ns,
                        gpu_us(o, us), tfs[0] == '-' ? "" : tfs);
            } else {
                fputs(",,,", f);
            }
            fputc(',', f);
            const char *site = nn_trace_site_name(t, o);
            if (site) csv_field(f, site);
            fputs("\r\n", f);
        }
    }
}

/* ------------------------------------------------------------ Chrome trace */

/* A process id for the viewer: the trace's pid unless two traces share it. */
static long chrome_pid(const nn_trace_summary *s, size_t n, size_t k)
{
    for (size_t i = 0; i < n; i++)
        if (i != k && s[i].t->pid == s[k].t->pid) return (long)k + 1;
    return s[k].t->pid;
}

#define FRAMES_TID 10

static void chrome(FILE *f, const nn_trace_summary *s, size_t n)
{
    fputs("{\"displayTimeUnit\": \"ns\", \"otherData\": {\"generator\": \"nnspy report\", "
          "\"clock\": \"GPU time of each process's device timeline, microseconds\"},\n"
          "\"traceEvents\": [\n",
          f);
    bool first = true;
#define SEP() (fputs(first ? "" : ",\n", f), first = false)
    for (size_t k = 0; k < n; k++) {
        const nn_trace *t = s[k].t;
        long pid = chrome_pid(s, n, k);
        char name[400];
        who(t, name, sizeof name);
        SEP();
        fprintf(f,
                "{\"name\": \"process_name\", \"ph\": \"M\", \"pid\": %ld, \"tid\": 0, "
                "\"args\": {\"name\": ",
                pid);
        json_string(f, name);
        fputs("}}", f);
        SEP();
        fprintf(f,
                "{\"name\": \"process_sort_index\", \"ph\": \"M\", \"pid\": %ld, \"tid\": 0, "
                "\"args\": {\"sort_index\": %ld}}",
                pid, t->rank >= 0 ? t->rank : (long)k);
        for (int api = 0; api < 3; api++) {
            SEP();
            fprintf(f,
                    "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": %ld, \"tid\": %d, "
                    "\"args\": {\"name\": \"%s\"}}",
                    pid, api + 1, api_names[api]);
        }
        SEP();
        fprintf(f,
                "{\"name\": \"thread_name\", \"ph\": \"M\", \"pid\": %ld, \"tid\": %d, "
                "\"args\": {\"name\": \"frames (%s)\"}}",
                pid, FRAMES_TID, s[k].frames.mode);
        for (size_t i = 0; i < t->n_ops; i++) {
            const nn_trace_op *o = &t->ops[i];
            if (!op_timed(o)) continue;
            SEP();
            fputs("{\"name\": ", f);
            json_string(f, o->op[0] ? o->op : o->function);
            fprintf(f, ", \"cat\": \"%s\", \"ph\": \"X\", \"ts\": ", api_names[o->api]);
            fixed_ns(f, o->gpu_start_ns, 3);
            fputs(", \"dur\": ", f);
            fixed_ns(f, o->gpu_end_ns - o->gpu_start_ns, 3);
            fprintf(f,
                    ", \"pid\": %ld, \"tid\": %u, \"args\": {\"call\": %llu, \"function\": ", pid,
                    o->api + 1, (unsigned long long)o->call);
            json_string(f, o->function);
            fputs(", \"shape\": ", f);
            json_string(f, o->shape);
            fputs(", \"dtype\": ", f);
            json_string(f, o->dtype);
            fprintf(f,
                    ", \"macs\": %llu, \"flops\": %llu, \"bytes_read\": %llu, "
                    "\"bytes_written\": %llu, \"params\": %llu}}",
                    (unsigned long long)o->macs, (unsigned long long)o->flops,
                    (unsigned long long)o->bytes_read, (unsigned long long)o->bytes_written,
                    (unsigned long long)o->params_read);
        }
        for (size_t j = 0; j < s[k].n_list; j++) {
            int64_t start, end;
            if (!nn_summary_frame_interval(&s[k], j, &start, &end)) continue;
            const nn_frame *fr = &s[k].list[j];
            uint64_t number = s[k].mode == NN_SUM_FRAMES_AUTO ? s[k].list_first_number + j
                                                              : s[k].fops[fr->first].given_frame;
            SEP();
            fprintf(f, "{\"name\": \"frame %llu\", \"cat\": \"frame\", \"ph\": \"X\", \"ts\": ",
                    (unsigned long long)number);
            fixed_ns(f, start, 3);
            fputs(", \"dur\": ", f);
            fixed_ns(f, end - start, 3);
            fprintf(f,
                    ", \"pid\": %ld, \"tid\": %d, \"args\": {\"calls\": %zu, \"macs\": %llu, "
                    "\"flops\": %llu, \"latency_ms\": ",
                    pid, FRAMES_TID, fr->count, (unsigned long long)fr->macs,
                    (unsigned long long)fr->flops);
            json_ns_as_ms(f, fr->latency_ns);
            fputs(", \"busy_ms\": ", f);
            json_ns_as_ms(f, fr->busy_ns);
            fputs("}}", f);
        }
    }
#undef SEP
    fputs("\n]}\n", f);
}

/* ------------------------------------------------------------ HTML */

#ifdef NNSPY_HTML
static int html(FILE *f, const nn_trace_summary *s, size_t n)
{
    const nn_trace **traces = malloc(n * sizeof *traces);
    nn_html_frames *frames = calloc(n, sizeof *frames);
    int64_t **lat = calloc(n, sizeof *lat);
    int rc = -1;
    if (!traces || !frames || !lat) goto out;
    for (size_t k = 0; k < n; k++) {
        traces[k] = s[k].t;
        lat[k] = malloc((s[k].n_list ? s[k].n_list : 1) * sizeof **lat);
        if (!lat[k]) goto out;
        for (size_t j = 0; j < s[k].n_list; j++)
            lat[k][j] = s[k].list[j].timed ? s[k].list[j].latency_ns : NN_UNTIMED;
        const nn_frames_summary *fs = &s[k].frames;
        frames[k] = (nn_html_frames){
            .mode = s[k].mode_full,
            .count = fs->count,
            .warmup = fs->warmup,
            .period = fs->period,
            .steady_start = fs->steady_start,
            .latency_ns = lat[k],
            .n_latency = s[k].n_list,
            .latency = fs->latency,
            .have_fps = fs->have_fps,
            .fps = fs->fps,
            .have_tflops = fs->have_tflops,
            .achieved_tflops = fs->achieved_tflops,
        };
    }
    rc = nn_html_write(f, traces, n, frames);
out:
    for (size_t k = 0; lat && k < n; k++) free(lat[k]);
    free(lat);
    free(frames);
    free(traces);
    return rc;
}
#endif

/* ------------------------------------------------------------ driving */

int nn_report_write(FILE *out, report_format format, const nn_trace_summary *s, size_t n)
{
    switch (format) {
    case REPORT_TABLE:
        if (n == 1)
            table_one(out, s);
        else
            table_many(out, s, n);
        break;
    case REPORT_JSON:
        if (n == 1) {
            json_one(out, "", s);
            fputc('\n', out);
        } else {
            json_many(out, s, n);
        }
        break;
    case REPORT_CSV: csv(out, s, n); break;
    case REPORT_CHROME: chrome(out, s, n); break;
    case REPORT_HTML:
#ifdef NNSPY_HTML
        if (html(out, s, n) != 0) return -1;
        break;
#else
        errno = ENOSYS;
        return -1;
#endif
    }
    return ferror(out) ? -1 : 0;
}

static int compare_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* *.nns, or *.nns.N (the writer's next free names) */
static bool trace_name(const char *name)
{
    const char *dot = strstr(name, ".nns");
    while (dot) {
        const char *rest = dot + 4;
        if (!*rest && dot != name) return true;
        if (*rest == '.' && rest[1] && strspn(rest + 1, "0123456789") == strlen(rest + 1) &&
            dot != name)
            return true;
        dot = strstr(dot + 1, ".nns");
    }
    return false;
}

/* Appends the trace files of directory dir to *paths. */
static int list_dir(const char *dir, char ***paths, size_t *n, size_t *cap, char *err,
                    size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    size_t before = *n;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL && rc == 0) {
        if (!trace_name(e->d_name)) continue;
        char *p;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) {
            rc = -1;
            break;
        }
        struct stat st;
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(p);
            continue;
        }
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 16;
            char **grown = realloc(*paths, c * sizeof *grown);
            if (!grown) {
                free(p);
                rc = -1;
                break;
            }
            *paths = grown, *cap = c;
        }
        (*paths)[(*n)++] = p;
    }
    closedir(d);
    if (rc != 0) {
        snprintf(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    if (*n == before) {
        snprintf(err, errlen, "%s: no trace (*.nns) in this directory", dir);
        return -1;
    }
    qsort(*paths + before, *n - before, sizeof **paths, compare_str);
    return 0;
}

int nn_report_load(char *const *args, size_t n_args, nn_trace **traces, size_t *n, char *err,
                   size_t errlen)
{
    char **paths = NULL;
    size_t n_paths = 0, cap = 0;
    int rc = 0;
    *traces = NULL;
    *n = 0;
    for (size_t i = 0; i < n_args && rc == 0; i++) {
        struct stat st;
        if (stat(args[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            rc = list_dir(args[i], &paths, &n_paths, &cap, err, errlen);
            continue;
        }
        if (n_paths == cap) {
            size_t c = cap ? 2 * cap : 16;
            char **grown = realloc(paths, c * sizeof *grown);
            if (!grown) {
                snprintf(err, errlen, "out of memory");
                rc = -1;
                break;
            }
            paths = grown, cap = c;
        }
        if (!(paths[n_paths] = strdup(args[i]))) {
            snprintf(err, errlen, "out of memory");
            rc = -1;
            break;
        }
        n_paths++;
    }
    nn_trace *t = rc == 0 ? calloc(n_paths ? n_paths : 1, sizeof *t) : NULL;
    if (rc == 0 && !t) {
        snprintf(err, errlen, "out of memory");
        rc = -1;
    }
    size_t loaded = 0;
    for (size_t i = 0; i < n_paths && rc == 0; i++) {
        if (nn_trace_read(paths[i], &t[i], err, errlen) != 0)
            rc = -1;
        else
            loaded++;
    }
    for (size_t i = 0; i < n_paths; i++) free(paths[i]);
    free(paths);
    if (rc != 0) {
        for (size_t i = 0; i < loaded; i++) nn_trace_free(&t[i]);
        free(t);
        return -1;
    }
    *traces = t;
    *n = n_paths;
    return 0;
}

static void warn_about(const nn_trace *t)
{
    if (!t->complete)
        fprintf(stderr,
                "nnspy report: %s: incomplete trace (no END record: the process crashed, was "
                "killed, exec'd another program, or is still running); totals recomputed from "
                "its %zu calls, parameters unknown\n",
                t->path, t->n_ops);
    if (t->truncated_at)
        fprintf(stderr,
                "nnspy report: %s: offset %zu: the file ends inside a record (cut short while "
                "being written); the records before it are read\n",
                t->path, t->truncated_at);
    if (t->bytes_after_end)
        fprintf(stderr, "nnspy report: %s: %zu bytes after the END record ignored\n", t->path,
                t->bytes_after_end);
    if (t->dropped_records)
        fprintf(stderr,
                "nnspy report: %s: %llu records were dropped while tracing: some calls are "
                "missing from the listing and the frames\n",
                t->path, (unsigned long long)t->dropped_records);
    if (t->unknown_records)
        fprintf(stderr, "nnspy report: %s: %llu records of unknown types skipped\n", t->path,
                (unsigned long long)t->unknown_records);
}

int nn_report_main(int argc, char **argv)
{
    report_options o;
    switch (parse_report_options(argc, argv, &o)) {
    case RUN_PARSE_HELP: fputs(nn_report_help, stdout); return 0;
    case RUN_PARSE_ERROR:
        fprintf(stderr, "nnspy report: %s%s%s\n%sTry 'nnspy report --help'.\n", o.error,
                o.culprit ? ": " : "", o.culprit ? o.culprit : "", USAGE);
        return 2;
    case RUN_PARSE_OK: break;
    }
#ifndef NNSPY_HTML
    if (o.format == REPORT_HTML) {
        fprintf(stderr, "nnspy report: --format html: this nnspy was built without it\n");
        return 2;
    }
#endif
    char err[1024];
    nn_trace *traces;
    size_t n;
    if (nn_report_load(o.inputs, (size_t)o.n_inputs, &traces, &n, err, sizeof err) != 0) {
        fprintf(stderr, "nnspy report: %s\n", err);
        return 1;
    }
    /* --debug-dir first, then NNSPY_DEBUG_PATH: where moved modules and debug files are */
    const char *env_dirs = getenv("NNSPY_DEBUG_PATH");
    char debug_dirs[4096];
    snprintf(debug_dirs, sizeof debug_dirs, "%s%s%s", o.debug_dir ? o.debug_dir : "",
             o.debug_dir && env_dirs ? ":" : "", env_dirs ? env_dirs : "");
    nn_symbolize(traces, n, debug_dirs);
    int status = 0;
    nn_trace_summary *s = calloc(n, sizeof *s);
    size_t summarized = 0;
    if (!s) {
        fprintf(stderr, "nnspy report: out of memory\n");
        status = 1;
    }
    for (size_t i = 0; i < n && status == 0; i++) {
        warn_about(&traces[i]);
        if (nn_trace_summarize(&traces[i], o.frames, &s[i], err, sizeof err) != 0) {
            fprintf(stderr, "nnspy report: %s\n", err);
            status = 1;
        } else {
            summarized++;
        }
    }
    if (status == 0) {
        FILE *out = o.output ? fopen(o.output, "w") : stdout;
        if (!out) {
            fprintf(stderr, "nnspy report: cannot write %s: %s\n", o.output, strerror(errno));
            status = 1;
        } else {
            int rc = nn_report_write(out, o.format, s, n);
            rc |= o.output ? fclose(out) : fflush(out);
            if (rc != 0) {
                fprintf(stderr, "nnspy report: cannot write %s: %s\n",
                        o.output ? o.output : "the report", strerror(errno));
                status = 1;
            }
        }
    }
    for (size_t i = 0; i < summarized; i++) nn_trace_summary_free(&s[i]);
    free(s);
    for (size_t i = 0; i < n; i++) nn_trace_free(&traces[i]);
    free(traces);
    return status;
}
