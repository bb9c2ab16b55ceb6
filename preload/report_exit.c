/*
 * report_exit.c: what nnspy prints when the program exits: the per-operation
 * table and totals on stderr, and the JSON summary (schema nnspy.report/1) where
 * NNSPY_JSON asks. Nothing is printed by a process that made no intercepted call.
 *
 * The report is written when the process exits, just before it execs another
 * program, and when SIGINT, SIGTERM or SIGABRT would end it (see process.c), so it
 * is formatted without malloc or stdio (output.c). The JSON is written by hand
 * rather than with a JSON library: the preload keeps the host process free of
 * extra shared-library dependencies (a second copy of a library the program itself
 * uses would be a hazard), and every string is escaped by nn_out_json_string.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "device.h"
#include "frame_marks.h"
#include "frames_summary.h"
#include "numfmt.h"
#include "output.h"
#include "timing.h"
#include "trace_writer.h"
#include "record.h"

static const char *const api_names[] = {"cudnn", "cublas", "cublasLt", "cuda"};

/* Everything one report shows, gathered before it is printed. */
struct report {
    nn_totals totals;
    const nn_device_info *dev;
    nn_timing_status timing;
    nn_frames_summary frames;
};

static void print_header(nn_out *fd, const nn_totals *t, const nn_device_info *dev)
{
    if (dev->simulated)
        nn_out_printf(fd,
                      "nnspy: SIMULATED DEVICE (%s): test equipment, not a GPU; counts are real, "
                      "times are modelled\n",
                      dev->name);
    char a[32], b[32];
    nn_out_printf(fd, "nnspy report: %s calls (%s failed) on device \"%s\"\n", nn_fmt_grouped(t->calls, a),
                  nn_fmt_grouped(t->failed_calls, b), dev->name);
    nn_out_printf(fd, "convention: %s\n", NN_COUNT_CONVENTION);
}

static bool op_timed(const nn_listed_op *op)
{
    return op->gpu_start_ns != NN_UNTIMED && op->gpu_end_ns != NN_UNTIMED;
}

/* "12.345" microseconds, or "-" when untimed; TFLOP/s likewise. */
static const char *gpu_us(const nn_listed_op *op, char buf[32])
{
    if (!op_timed(op)) return "-";
    int64_t ns = op->gpu_end_ns - op->gpu_start_ns;
    snprintf(buf, 32, "%lld.%03lld", (long long)(ns / 1000), (long long)(ns % 1000));
    return buf;
}

static const char *op_tflops(const nn_listed_op *op, char buf[32])
{
    int64_t ns = op_timed(op) ? op->gpu_end_ns - op->gpu_start_ns : 0;
    if (ns <= 0) return "-";
    uint64_t milli = op->cost.flops / (uint64_t)ns; /* FLOP/ns = GFLOP/s: in thousandths of TFLOP/s */
    snprintf(buf, 32, "%llu.%03llu", (unsigned long long)(milli / 1000),
             (unsigned long long)(milli % 1000));
    return buf;
}

static void print_op(nn_out *fd, const nn_listed_op *op)
{
    char p[32], m[32], f[32], rw[32], us[32], tf[32];
    if (!op->succeeded) {
        nn_out_printf(fd, "%6llu  %-8s  %-15s  call failed (%s)\n", (unsigned long long)op->index,
                      api_names[op->api], op->op, op->call);
        return;
    }
    if (!op->cost_known) {
        nn_out_printf(fd, "%6llu  %-8s  %-15s  cost unknown (%s)\n", (unsigned long long)op->index,
                      api_names[op->api], op->op, op->call);
        return;
    }
    uint64_t bytes = op->cost.bytes_read + op->cost.bytes_written;
    nn_out_printf(fd, "%6llu  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s  %11s  %8s%s\n",
                  (unsigned long long)op->index, api_names[op->api], op->op, op->shape,
                  nn_dtype_name(op->dtype), nn_fmt_grouped(op->params, p), nn_fmt_grouped(op->cost.macs, m),
                  nn_fmt_grouped(op->cost.flops, f), nn_fmt_grouped(bytes, rw), gpu_us(op, us), op_tflops(op, tf),
                  op->cost.overflow        ? "  OVERFLOW"
                  : op->cost.unknown_dtype ? "  (unknown dtype: bytes low)"
                                           : "");
}

static void print_table(nn_out *fd, const nn_totals *t)
{
    nn_out_printf(fd, "%6s  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s  %11s  %8s\n", "#", "api",
                  "op", "shape (input * weight -> output)", "dtype", "params", "MACs", "FLOPs",
                  "bytes r+w", "GPU us", "TFLOP/s");
    uint64_t n = nn_listed_count();
    for (uint64_t i = 0; i < n; i++) print_op(fd, nn_listed_at(i));
    if (t->ops_not_listed)
        nn_out_printf(fd, "... %llu more calls are in the totals but not listed (NNSPY_MAX_OPS)\n",
                      (unsigned long long)t->ops_not_listed);
}

/* One frame's calls (auto mode): mean GPU time of each and its share of the frame. */
static void print_frame_ops(nn_out *fd, const nn_frames_summary *fs)
{
    if (!fs->position_ms || fs->period == 0) return;
    double frame_ms = 0;
    for (size_t j = 0; j < fs->period; j++)
        if (fs->position_ms[j] > 0) frame_ms += fs->position_ms[j];
    nn_out_printf(fd, "one frame (mean over %zu frames):\n%6s  %-8s  %-15s  %-52s  %11s  %6s\n",
                  fs->count, "#", "api", "op", "shape", "GPU us", "share");
    for (size_t j = 0; j < fs->period; j++) {
        uint64_t call = fs->steady_start + j;
        if (call >= nn_listed_count()) break; /* past NNSPY_MAX_OPS: not described */
        const nn_listed_op *op = nn_listed_at(call);
        double ms = fs->position_ms[j];
        char us[32] = "-", share[32] = "-";
        if (ms >= 0) {
            snprintf(us, sizeof us, "%.3f", ms * 1e3);
            if (frame_ms > 0) snprintf(share, sizeof share, "%.1f%%", 100.0 * ms / frame_ms);
        }
        nn_out_printf(fd, "%6zu  %-8s  %-15s  %-52s  %11s  %6s\n", j, api_names[op->api], op->op,
                      op->shape, us, share);
    }
}

static void print_frames(nn_out *fd, const struct report *r)
{
    const nn_frames_summary *fs = &r->frames;
    if (!r->timing.available)
        nn_out_printf(fd, "GPU timing: unavailable (%s)\n", r->timing.reason);
    else if (r->timing.other_kernels)
        nn_out_printf(fd, "other GPU work (kernels of no intercepted call): %llu kernels, %.6f ms\n",
                      (unsigned long long)r->timing.other_kernels, (double)r->timing.other_ns / 1e6);
    if (!fs->computed) {
        nn_out_printf(fd, "frames: not computed (the process was ended by a signal)\n");
        return;
    }
    char a[32], b[32];
    nn_out_printf(fd, "frames (%s): %zu", fs->mode, fs->count);
    if (fs->warmup) nn_out_printf(fd, " after %zu warm-up", fs->warmup);
    if (fs->period) nn_out_printf(fd, ", %zu calls each", fs->period);
    nn_out_printf(fd, "; per frame %s MACs, %s FLOPs\n", nn_fmt_grouped(fs->macs_per_frame, a),
                  nn_fmt_grouped(fs->flops_per_frame, b));
    char tune[160];
    nn_fmt_autotune_line(&fs->autotune, tune, sizeof tune);
    nn_out_printf(fd, "%s", tune);
    if (fs->latency.count)
        nn_out_printf(fd,
                      "  GPU latency ms: mean %.6f  p50 %.6f  p90 %.6f  p99 %.6f  min %.6f  "
                      "max %.6f (%zu frames)\n",
                      fs->latency.mean_ms, fs->latency.p50_ms, fs->latency.p90_ms,
                      fs->latency.p99_ms, fs->latency.min_ms, fs->latency.max_ms, fs->latency.count);
    if (fs->have_fps) nn_out_printf(fd, "  FPS %.2f (frames per second of the program's time)\n", fs->fps);
    if (fs->have_host_interval)
        nn_out_printf(fd, "  host time between frame starts: %.6f ms (mean)\n", fs->host_interval_ms);
    if (fs->have_tflops && r->dev->peak_tflops > 0)
        nn_out_printf(fd,
                      "  achieved %.3f TFLOP/s (FLOPs over GPU busy time), %.2f%% of the device's "
                      "%.0f TFLOP/s dense 16-bit tensor peak\n",
                      fs->achieved_tflops, 100.0 * fs->achieved_tflops / r->dev->peak_tflops,
                      r->dev->peak_tflops);
    else if (fs->have_tflops)
        nn_out_printf(fd, "  achieved %.3f TFLOP/s (FLOPs over GPU busy time; device peak unknown)\n",
                      fs->achieved_tflops);
    print_frame_ops(fd, fs);
}

static void print_totals(nn_out *fd, const nn_totals *t)
{
    char a[32], b[32], c[32], d[32];
    nn_out_printf(fd, "totals:\n");
    nn_out_printf(fd, "  params         %s (%s), %s bytes%s\n", nn_fmt_grouped(t->params, a),
                  nn_fmt_scaled(t->params, b), nn_fmt_grouped(t->param_bytes, c),
                  t->params_incomplete ? " (incomplete)" : "");
    if (t->buffers)
        nn_out_printf(fd, "  buffers        %s (%s), %s bytes (running statistics: not parameters)\n",
                      nn_fmt_grouped(t->buffers, a), nn_fmt_scaled(t->buffers, b),
                      nn_fmt_grouped(t->buffer_bytes, c));
    nn_out_printf(fd, "  MACs           %s (%s)\n", nn_fmt_grouped(t->cost.macs, a),
                  nn_fmt_scaled(t->cost.macs, b));
    nn_out_printf(fd, "  FLOPs          %s (%s)\n", nn_fmt_grouped(t->cost.flops, a),
                  nn_fmt_scaled(t->cost.flops, b));
    nn_out_printf(fd, "  memory read    %s bytes (%sB)\n", nn_fmt_grouped(t->cost.bytes_read, a),
                  nn_fmt_scaled(t->cost.bytes_read, b));
    nn_out_printf(fd, "  memory written %s bytes (%sB)\n", nn_fmt_grouped(t->cost.bytes_written, c),
                  nn_fmt_scaled(t->cost.bytes_written, d));
    if (t->unknown_cost_calls)
        nn_out_printf(fd, "  %llu successful calls of unknown cost are not in these totals\n",
                      (unsigned long long)t->unknown_cost_calls);
    if (t->cost.overflow) nn_out_printf(fd, "  some values exceeded 64 bits and are saturated\n");
    if (t->cost.unknown_dtype)
        nn_out_printf(fd,
                      "  some tensors have a data type of unknown size: bytes are a lower bound\n");
}

/* Milliseconds with every nanosecond (exact: integer arithmetic), or null. */
static void json_ns_as_ms(nn_out *f, int64_t ns)
{
    if (ns == NN_UNTIMED) {
        nn_out_printf(f, "null");
        return;
    }
    const char *sign = ns < 0 ? "-" : "";
    uint64_t v = ns < 0 ? (uint64_t)(-(ns + 1)) + 1 : (uint64_t)ns;
    nn_out_printf(f, "%s%llu.%06llu", sign, (unsigned long long)(v / 1000000),
                  (unsigned long long)(v % 1000000));
}

static void json_op(nn_out *f, const nn_listed_op *op, bool last)
{
    nn_out_printf(f, "    {\"index\": %llu, \"api\": ", (unsigned long long)op->index);
    nn_out_json_string(f, api_names[op->api]);
    nn_out_printf(f, ", \"call\": ");
    nn_out_json_string(f, op->call);
    nn_out_printf(f, ", \"op\": ");
    nn_out_json_string(f, op->op);
    nn_out_printf(f, ", \"dtype\": ");
    nn_out_json_string(f, nn_dtype_name(op->dtype));
    nn_out_printf(f, ", \"shape\": ");
    nn_out_json_string(f, op->shape);
    nn_out_printf(f,
                  ", \"succeeded\": %s, \"cost_known\": %s, \"macs\": %llu, \"flops\": %llu, "
                  "\"params\": %llu, \"bytes_read\": %llu, \"bytes_written\": %llu, "
                  "\"overflow\": %s, \"bytes_incomplete\": %s, \"gpu_time_ms\": ",
                  op->succeeded ? "true" : "false", op->cost_known ? "true" : "false",
                  (unsigned long long)op->cost.macs, (unsigned long long)op->cost.flops,
                  (unsigned long long)op->params, (unsigned long long)op->cost.bytes_read,
                  (unsigned long long)op->cost.bytes_written, op->cost.overflow ? "true" : "false",
                  op->cost.unknown_dtype ? "true" : "false");
    json_ns_as_ms(f, op_timed(op) ? op->gpu_end_ns - op->gpu_start_ns : NN_UNTIMED);
    char tf[32];
    const char *t = op_tflops(op, tf);
    nn_out_printf(f, ", \"achieved_tflops\": %s}%s\n", t[0] == '-' ? "null" : t, last ? "" : ",");
}

/* The frames block (names kept from the timing issue's schema). */
/* "totals": {...} (no newline after it). */
static void json_totals(nn_out *f, const nn_totals *t)
{
    nn_out_printf(f,
                  "\"totals\": {\"calls\": %llu, \"failed_calls\": %llu, "
                  "\"unknown_cost_calls\": %llu, \"macs\": %llu, \"flops\": %llu, "
                  "\"params\": %llu, \"param_bytes\": %llu, \"buffers\": %llu, "
                  "\"buffer_bytes\": %llu, \"bytes_read\": %llu, "
                  "\"bytes_written\": %llu, \"overflow\": %s, \"params_incomplete\": %s, "
                  "\"bytes_incomplete\": %s}",
                  (unsigned long long)t->calls, (unsigned long long)t->failed_calls,
                  (unsigned long long)t->unknown_cost_calls, (unsigned long long)t->cost.macs,
                  (unsigned long long)t->cost.flops, (unsigned long long)t->params,
                  (unsigned long long)t->param_bytes, (unsigned long long)t->buffers,
                  (unsigned long long)t->buffer_bytes, (unsigned long long)t->cost.bytes_read,
                  (unsigned long long)t->cost.bytes_written, t->cost.overflow ? "true" : "false",
                  t->params_incomplete ? "true" : "false",
                  t->cost.unknown_dtype ? "true" : "false");
}

/* "timing": {...} (no newline after it). */
static void json_timing(nn_out *f, const struct report *r)
{
    nn_out_printf(f, "\"timing\": {\"mode\": \"%s\", \"available\": %s, \"timed_calls\": %llu, "
                     "\"dropped_calls\": %llu, \"attributed_kernels\": %llu, "
                     "\"other_kernels\": %llu, \"other_gpu_ms\": ",
                  r->timing.mode, r->timing.available ? "true" : "false",
                  (unsigned long long)r->timing.timed_calls, (unsigned long long)r->timing.dropped,
                  (unsigned long long)r->timing.attributed_kernels,
                  (unsigned long long)r->timing.other_kernels);
    json_ns_as_ms(f, r->timing.other_ns);
    nn_out_printf(f, ", \"reason\": ");
    if (r->timing.available) nn_out_printf(f, "null}");
    else nn_out_json_string(f, r->timing.reason), nn_out_printf(f, "}");
}

static void json_frames(nn_out *f, const struct report *r)
{
    const nn_frames_summary *fs = &r->frames;
    nn_out_printf(f, "  ");
    json_timing(f, r);
    nn_out_printf(f, ",\n");
    if (!fs->computed) {
        nn_out_printf(f, "  \"frames\": null,\n");
        return;
    }
    nn_out_printf(f,
                  "  \"frames\": {\"mode\": \"%s\", \"count\": %zu, \"warmup\": %zu, "
                  "\"calls_per_frame\": %zu, \"macs_per_frame\": %llu, \"flops_per_frame\": %llu, "
                  "\"params\": %llu, \"latency_ms\": ",
                  fs->mode, fs->count, fs->warmup, fs->period,
                  (unsigned long long)fs->macs_per_frame, (unsigned long long)fs->flops_per_frame,
                  (unsigned long long)r->totals.params);
    const nn_latency_stats *l = &fs->latency;
    if (l->count)
        nn_out_printf(f,
                      "{\"mean\": %.9g, \"p50\": %.9g, \"p90\": %.9g, \"p99\": %.9g, "
                      "\"min\": %.9g, \"max\": %.9g, \"frames\": %zu}",
                      l->mean_ms, l->p50_ms, l->p90_ms, l->p99_ms, l->min_ms, l->max_ms, l->count);
    else
        nn_out_printf(f, "null");
    if (fs->have_host_interval) nn_out_printf(f, ", \"host_interval_ms\": %.9g", fs->host_interval_ms);
    else nn_out_printf(f, ", \"host_interval_ms\": null");
    if (fs->have_fps) nn_out_printf(f, ", \"fps\": %.9g", fs->fps);
    else nn_out_printf(f, ", \"fps\": null");
    if (fs->have_tflops) nn_out_printf(f, ", \"achieved_tflops\": %.9g", fs->achieved_tflops);
    else nn_out_printf(f, ", \"achieved_tflops\": null");
    if (r->dev->peak_tflops > 0) nn_out_printf(f, ", \"peak_tflops\": %.9g", r->dev->peak_tflops);
    else nn_out_printf(f, ", \"peak_tflops\": null");
    char tune[160];
    nn_fmt_autotune_json(&fs->autotune, tune, sizeof tune);
    nn_out_printf(f, "%s},\n", tune);
}

static void json_write(nn_out *f, const struct report *r)
{
    const nn_totals *t = &r->totals;
    const nn_device_info *dev = r->dev;
    nn_out_printf(f, "{\n  \"schema\": \"nnspy.report/1\",\n  \"convention\": ");
    nn_out_json_string(f, NN_COUNT_CONVENTION);
    nn_out_printf(f, ",\n  \"device\": {\"name\": ");
    nn_out_json_string(f, dev->name);
    nn_out_printf(f, ", \"simulated\": %s},\n", dev->simulated ? "true" : "false");
    nn_out_printf(f, "  ");
    json_totals(f, t);
    nn_out_printf(f, ",\n");
    json_frames(f, r);
    nn_out_printf(f, "  \"ops_not_listed\": %llu,\n  \"ops\": [\n",
                  (unsigned long long)t->ops_not_listed);
    uint64_t n = nn_listed_count();
    for (uint64_t i = 0; i < n; i++) json_op(f, nn_listed_at(i), i + 1 == n);
    nn_out_printf(f, "  ]\n}\n");
}

/*
 * The file this process image writes its JSON to. An existing file is never
 * overwritten: the first free name of PATH, PATH.1, PATH.2, ... is claimed with
 * link(2), which fails rather than replace a file, so that a program that execs
 * itself, or a rerun with the same pid, keeps every report. Later writes of the
 * same image (exec failed, then exit) replace the image's own file.
 */
static char claimed_path[sizeof((nn_config *)0)->json_template + 32];

/* A forked child writes files of its own. */
static void forget_claim(void)
{
    claimed_path[0] = '\0';
}

__attribute__((constructor)) static void report_init(void)
{
    nn_fork_protect(NULL, forget_claim);
}

/* Moves tmp to name unless name exists (EEXIST then): link(2) where the file
 * system has hard links, else rename with RENAME_NOREPLACE. */
static bool place_without_replacing(const char *tmp, const char *name)
{
    if (link(tmp, name) == 0) {
        unlink(tmp);
        return true;
    }
    if (errno == EEXIST) return false;
    return renameat2(AT_FDCWD, tmp, AT_FDCWD, name, RENAME_NOREPLACE) == 0;
}

static bool install_json(const char *tmp, const char *path)
{
    if (claimed_path[0]) return rename(tmp, claimed_path) == 0;
    for (int n = 0; n < 1000; n++) {
        char candidate[sizeof claimed_path];
        if (n == 0)
            snprintf(candidate, sizeof candidate, "%s", path);
        else
            snprintf(candidate, sizeof candidate, "%s.%d", path, n);
        if (place_without_replacing(tmp, candidate)) {
            memcpy(claimed_path, candidate, sizeof candidate);
            return true;
        }
        if (errno != EEXIST) return false;
    }
    errno = EEXIST;
    return false;
}

/* Written to a temporary name first, so that a reader never sees half a file.
 * O_NOFOLLOW: a link planted at the temporary name is not followed. */
static void write_json_file(const char *path, const struct report *r)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        nn_warn("cannot write the JSON summary to %s: %s", path, strerrorname_np(errno));
        return;
    }
    static nn_out out; /* 16 KiB: not on the stack of a signal handler */
    nn_out_init(&out, fd);
    json_write(&out, r);
    bool ok = nn_out_flush(&out);
    ok &= close(fd) == 0;
    if (!ok || !install_json(tmp, path)) {
        nn_warn("cannot write the JSON summary to %s: %s", path, strerrorname_np(errno));
        unlink(tmp);
    }
}

static void print_report(const struct report *r)
{
    static nn_out out;
    nn_out_init(&out, STDERR_FILENO);
    print_header(&out, &r->totals, r->dev);
    print_table(&out, &r->totals);
    print_totals(&out, &r->totals);
    print_frames(&out, r);
    nn_out_flush(&out);
}

/* The trace: completed by its END record at exit and when a signal ends the
 * process; only written out before an exec (which may fail, and the program go on). */
static void end_trace(nn_report_moment moment, const struct report *r)
{
    if (moment == NN_REPORT_EXEC) {
        nn_trace_flush(false);
        return;
    }
    static nn_out end; /* no malloc: this may be a signal handler */
    nn_out_init_memory(&end);
    nn_out_printf(&end, "{");
    json_totals(&end, &r->totals);
    nn_out_printf(&end, ", ");
    json_timing(&end, r);
    nn_out_printf(&end, ", \"dropped_records\": %llu}", (unsigned long long)nn_trace_dropped());
    if (nn_out_flush(&end)) nn_trace_finish(end.buf, end.used, moment == NN_REPORT_SIGNAL);
}

void nn_report_write(nn_report_moment moment)
{
    int saved = errno;
    /* GPU times first (they are delivered under the state lock), then the state. */
    if (!nn_recorded_any()) return; /* nothing intercepted: nothing to say, nothing to load */
    /* In a signal handler nothing that may wait: the interrupted thread may hold a
     * lock or be inside the driver. */
    if (moment != NN_REPORT_SIGNAL) nn_timing_drain();
    /* Before the state lock: the frame marks' lock comes first in nnspy's lock order
     * (forksafe.c). */
    if (moment == NN_REPORT_EXIT) nn_frame_marks_at_exit();
    struct report r = {.timing = nn_timing_status_get(moment == NN_REPORT_SIGNAL),
                       .dev = nn_device_get()};
    if (!nn_snapshot_lock(moment == NN_REPORT_SIGNAL)) {
        nn_warn("another thread held nnspy's state: no report written");
        errno = saved;
        return;
    }
    r.totals = nn_totals_get();
    const nn_config *cfg = nn_config_get();
    if (r.totals.calls > 0 && moment != NN_REPORT_SIGNAL) {
        /* Frames need memory: not in a signal handler. */
        size_t n;
        nn_frame_op *ops = nn_history_copy(&n);
        if (ops) nn_frames_mark_autotuning(ops, n);
        r.frames = nn_frames_summarize(ops, n, cfg);
        free(ops);
    }
    if (r.totals.calls > 0) {
        /* Before an exec the table would be printed twice if the exec fails, so it
         * waits for the end; the JSON file is simply written again. */
        if (cfg->print_table && moment != NN_REPORT_EXEC && nn_stderr_is_original())
            print_report(&r);
        char path[sizeof claimed_path - 8];
        if (cfg->json_template[0] &&
            nn_expand_path(cfg->json_template, (long)getpid(), path, sizeof path))
            write_json_file(path, &r);
    }
    end_trace(moment, &r);
    nn_frames_summary_free(&r.frames);
    nn_snapshot_unlock();
    errno = saved;
}
