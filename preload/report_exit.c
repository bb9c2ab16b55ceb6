/*
 * report_exit.c: what nnspy prints when the program exits: the per-operation
 * table and totals on stderr, and the JSON summary (schema nnspy.report/1) where
 * NNSPY_JSON asks. Nothing is printed by a process that made no intercepted call.
 *
 * The JSON is written by hand rather than with a JSON library: the preload keeps
 * the host process free of extra shared-library dependencies (a second copy of a
 * library the program itself uses would be a hazard), and every string written is
 * escaped by json_string below.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "device.h"
#include "record.h"

static const char *const api_names[] = {"cudnn", "cublas", "cublasLt"};

#define CONVENTION                                                                          \
    "1 MAC = 1 multiply + 1 add = 2 FLOPs; FLOPs = 2 x MACs + elementwise FLOPs; "          \
    "params counted once per device buffer"

/* 1234567 -> "1,234,567" */
static const char *grouped(uint64_t v, char buf[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

/* 1234567 -> "1.23 M" (decimal units, as MACs and FLOPs are quoted) */
static const char *scaled(uint64_t v, char buf[32])
{
    static const char *const units[] = {"", " K", " M", " G", " T", " P", " E"};
    double x = (double)v;
    int u = 0;
    while (x >= 1000.0 && u < 6) x /= 1000.0, u++;
    snprintf(buf, 32, u ? "%.2f%s" : "%.0f%s", x, units[u]);
    return buf;
}

static void print_header(int fd, const nn_totals *t, const nn_device_info *dev)
{
    if (dev->simulated)
        dprintf(fd, "nnspy: SIMULATED DEVICE (%s): test equipment, not a GPU; counts are real, "
                    "times are modelled\n", dev->name);
    char a[32], b[32];
    dprintf(fd, "nnspy report: %s calls (%s failed) on device \"%s\"\n", grouped(t->calls, a),
            grouped(t->failed_calls, b), dev->name);
    dprintf(fd, "convention: %s\n", CONVENTION);
}

static void print_op(int fd, const nn_listed_op *op)
{
    char p[32], m[32], f[32], rw[32];
    if (!op->succeeded) {
        dprintf(fd, "%6llu  %-8s  %-15s  call failed (%s)\n", (unsigned long long)op->index,
                api_names[op->api], op->op, op->call);
        return;
    }
    if (!op->cost_known) {
        dprintf(fd, "%6llu  %-8s  %-15s  cost unknown (%s)\n", (unsigned long long)op->index,
                api_names[op->api], op->op, op->call);
        return;
    }
    uint64_t bytes = op->cost.bytes_read + op->cost.bytes_written;
    dprintf(fd, "%6llu  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s%s\n",
            (unsigned long long)op->index, api_names[op->api], op->op, op->shape,
            nn_dtype_name(op->dtype), grouped(op->params, p), grouped(op->cost.macs, m),
            grouped(op->cost.flops, f), grouped(bytes, rw), op->cost.overflow ? "  OVERFLOW" : "");
}

static void print_table(int fd, const nn_totals *t)
{
    dprintf(fd, "%6s  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s\n", "#", "api", "op",
            "shape (input * weight -> output)", "dtype", "params", "MACs", "FLOPs",
            "bytes r+w");
    uint64_t n = nn_listed_count();
    for (uint64_t i = 0; i < n; i++) print_op(fd, nn_listed_at(i));
    if (t->ops_not_listed)
        dprintf(fd, "... %llu more calls are in the totals but not listed (NNSPY_MAX_OPS)\n",
                (unsigned long long)t->ops_not_listed);
}

static void print_totals(int fd, const nn_totals *t)
{
    char a[32], b[32], c[32], d[32];
    dprintf(fd, "totals:\n");
    dprintf(fd, "  params         %s (%s), %s bytes%s\n", grouped(t->params, a), scaled(t->params, b),
            grouped(t->param_bytes, c), t->params_incomplete ? " (incomplete)" : "");
    dprintf(fd, "  MACs           %s (%s)\n", grouped(t->cost.macs, a), scaled(t->cost.macs, b));
    dprintf(fd, "  FLOPs          %s (%s)\n", grouped(t->cost.flops, a), scaled(t->cost.flops, b));
    dprintf(fd, "  memory read    %s bytes (%sB)\n", grouped(t->cost.bytes_read, a),
            scaled(t->cost.bytes_read, b));
    dprintf(fd, "  memory written %s bytes (%sB)\n", grouped(t->cost.bytes_written, c),
            scaled(t->cost.bytes_written, d));
    if (t->unknown_cost_calls)
        dprintf(fd, "  %llu successful calls of unknown cost are not in these totals\n",
                (unsigned long long)t->unknown_cost_calls);
    if (t->cost.overflow) dprintf(fd, "  some values exceeded 64 bits and are saturated\n");
}

/* A JSON string literal of s: quotes, backslashes and control bytes escaped. */
static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

static void json_op(FILE *f, const nn_listed_op *op, bool last)
{
    fprintf(f, "    {\"index\": %llu, \"api\": ", (unsigned long long)op->index);
    json_string(f, api_names[op->api]);
    fprintf(f, ", \"call\": ");
    json_string(f, op->call);
    fprintf(f, ", \"op\": ");
    json_string(f, op->op);
    fprintf(f, ", \"dtype\": ");
    json_string(f, nn_dtype_name(op->dtype));
    fprintf(f, ", \"shape\": ");
    json_string(f, op->shape);
    fprintf(f, ", \"succeeded\": %s, \"cost_known\": %s, \"macs\": %llu, \"flops\": %llu, "
               "\"params\": %llu, \"bytes_read\": %llu, \"bytes_written\": %llu, "
               "\"overflow\": %s}%s\n",
            op->succeeded ? "true" : "false", op->cost_known ? "true" : "false",
            (unsigned long long)op->cost.macs, (unsigned long long)op->cost.flops,
            (unsigned long long)op->params, (unsigned long long)op->cost.bytes_read,
            (unsigned long long)op->cost.bytes_written, op->cost.overflow ? "true" : "false",
            last ? "" : ",");
}

static void json_write(FILE *f, const nn_totals *t, const nn_device_info *dev)
{
    fprintf(f, "{\n  \"schema\": \"nnspy.report/1\",\n  \"convention\": ");
    json_string(f, CONVENTION);
    fprintf(f, ",\n  \"device\": {\"name\": ");
    json_string(f, dev->name);
    fprintf(f, ", \"simulated\": %s},\n", dev->simulated ? "true" : "false");
    fprintf(f, "  \"totals\": {\"calls\": %llu, \"failed_calls\": %llu, "
               "\"unknown_cost_calls\": %llu, \"macs\": %llu, \"flops\": %llu, "
               "\"params\": %llu, \"param_bytes\": %llu, \"bytes_read\": %llu, "
               "\"bytes_written\": %llu, \"overflow\": %s, \"params_incomplete\": %s},\n",
            (unsigned long long)t->calls, (unsigned long long)t->failed_calls,
            (unsigned long long)t->unknown_cost_calls, (unsigned long long)t->cost.macs,
            (unsigned long long)t->cost.flops, (unsigned long long)t->params,
            (unsigned long long)t->param_bytes, (unsigned long long)t->cost.bytes_read,
            (unsigned long long)t->cost.bytes_written, t->cost.overflow ? "true" : "false",
            t->params_incomplete ? "true" : "false");
    fprintf(f, "  \"ops_not_listed\": %llu,\n  \"ops\": [\n", (unsigned long long)t->ops_not_listed);
    uint64_t n = nn_listed_count();
    for (uint64_t i = 0; i < n; i++) json_op(f, nn_listed_at(i), i + 1 == n);
    fprintf(f, "  ]\n}\n");
}

/* Written to a temporary name and renamed, so that a reader never sees half a file.
 * O_NOFOLLOW: a link planted at the temporary name is not followed. */
static void write_json_file(const char *path, const nn_totals *t, const nn_device_info *dev)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        nn_warn("cannot write the JSON summary to %s: %s", path, strerror(errno));
        if (fd >= 0) close(fd);
        return;
    }
    json_write(f, t, dev);
    bool ok = !ferror(f);
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        nn_warn("cannot write the JSON summary to %s: %s", path, strerror(errno));
        unlink(tmp);
    }
}

void nn_report_write(void)
{
    static int written;
    if (__atomic_exchange_n(&written, 1, __ATOMIC_ACQ_REL)) return;
    int saved = errno;
    if (!nn_snapshot_lock()) {
        nn_warn("another thread held nnspy's state at exit: no report");
        errno = saved;
        return;
    }
    nn_totals t = nn_totals_get();
    if (t.calls > 0) {
        const nn_config *cfg = nn_config_get();
        const nn_device_info *dev = nn_device_get();
        if (cfg->print_table) {
            print_header(STDERR_FILENO, &t, dev);
            print_table(STDERR_FILENO, &t);
            print_totals(STDERR_FILENO, &t);
        }
        if (cfg->json_path[0]) write_json_file(cfg->json_path, &t, dev);
    }
    nn_snapshot_unlock();
    errno = saved;
}
