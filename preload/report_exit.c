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
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "device.h"
#include "output.h"
#include "record.h"

static const char *const api_names[] = {"cudnn", "cublas", "cublasLt"};

#define CONVENTION                                                                                 \
    "1 MAC = 1 multiply + 1 add = 2 FLOPs; FLOPs = 2 x MACs + elementwise FLOPs; "                 \
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

/* 1234567 -> "1.23 M" (decimal units, as MACs and FLOPs are quoted). Integer
 * arithmetic only: this may run in a signal handler. */
static const char *scaled(uint64_t v, char buf[32])
{
    static const char *const units[] = {"", " K", " M", " G", " T", " P", " E"};
    uint64_t unit = 1;
    int u = 0;
    while (v / unit >= 1000 && u < 6) unit *= 1000, u++;
    if (u == 0) {
        snprintf(buf, 32, "%llu", (unsigned long long)v);
        return buf;
    }
    uint64_t step = unit / 100, rounded = v; /* in hundredths of the unit, rounded */
    if (rounded <= UINT64_MAX - step / 2) rounded += step / 2;
    uint64_t hundredths = rounded / step;
    snprintf(buf, 32, "%llu.%02llu%s", (unsigned long long)(hundredths / 100),
             (unsigned long long)(hundredths % 100), units[u]);
    return buf;
}

static void print_header(nn_out *fd, const nn_totals *t, const nn_device_info *dev)
{
    if (dev->simulated)
        nn_out_printf(fd,
                      "nnspy: SIMULATED DEVICE (%s): test equipment, not a GPU; counts are real, "
                      "times are modelled\n",
                      dev->name);
    char a[32], b[32];
    nn_out_printf(fd, "nnspy report: %s calls (%s failed) on device \"%s\"\n", grouped(t->calls, a),
                  grouped(t->failed_calls, b), dev->name);
    nn_out_printf(fd, "convention: %s\n", CONVENTION);
}

static void print_op(nn_out *fd, const nn_listed_op *op)
{
    char p[32], m[32], f[32], rw[32];
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
    nn_out_printf(fd, "%6llu  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s%s\n",
                  (unsigned long long)op->index, api_names[op->api], op->op, op->shape,
                  nn_dtype_name(op->dtype), grouped(op->params, p), grouped(op->cost.macs, m),
                  grouped(op->cost.flops, f), grouped(bytes, rw),
                  op->cost.overflow        ? "  OVERFLOW"
                  : op->cost.unknown_dtype ? "  (unknown dtype: bytes low)"
                                           : "");
}

static void print_table(nn_out *fd, const nn_totals *t)
{
    nn_out_printf(fd, "%6s  %-8s  %-15s  %-52s  %-7s  %12s  %15s  %15s  %14s\n", "#", "api", "op",
                  "shape (input * weight -> output)", "dtype", "params", "MACs", "FLOPs",
                  "bytes r+w");
    uint64_t n = nn_listed_count();
    for (uint64_t i = 0; i < n; i++) print_op(fd, nn_listed_at(i));
    if (t->ops_not_listed)
        nn_out_printf(fd, "... %llu more calls are in the totals but not listed (NNSPY_MAX_OPS)\n",
                      (unsigned long long)t->ops_not_listed);
}

static void print_totals(nn_out *fd, const nn_totals *t)
{
    char a[32], b[32], c[32], d[32];
    nn_out_printf(fd, "totals:\n");
    nn_out_printf(fd, "  params         %s (%s), %s bytes%s\n", grouped(t->params, a),
                  scaled(t->params, b), grouped(t->param_bytes, c),
                  t->params_incomplete ? " (incomplete)" : "");
    nn_out_printf(fd, "  MACs           %s (%s)\n", grouped(t->cost.macs, a),
                  scaled(t->cost.macs, b));
    nn_out_printf(fd, "  FLOPs          %s (%s)\n", grouped(t->cost.flops, a),
                  scaled(t->cost.flops, b));
    nn_out_printf(fd, "  memory read    %s bytes (%sB)\n", grouped(t->cost.bytes_read, a),
                  scaled(t->cost.bytes_read, b));
    nn_out_printf(fd, "  memory written %s bytes (%sB)\n", grouped(t->cost.bytes_written, c),
                  scaled(t->cost.bytes_written, d));
    if (t->unknown_cost_calls)
        nn_out_printf(fd, "  %llu successful calls of unknown cost are not in these totals\n",
                      (unsigned long long)t->unknown_cost_calls);
    if (t->cost.overflow) nn_out_printf(fd, "  some values exceeded 64 bits and are saturated\n");
    if (t->cost.unknown_dtype)
        nn_out_printf(fd,
                      "  some tensors have a data type of unknown size: bytes are a lower bound\n");
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
                  "\"overflow\": %s, \"bytes_incomplete\": %s}%s\n",
                  op->succeeded ? "true" : "false", op->cost_known ? "true" : "false",
                  (unsigned long long)op->cost.macs, (unsigned long long)op->cost.flops,
                  (unsigned long long)op->params, (unsigned long long)op->cost.bytes_read,
                  (unsigned long long)op->cost.bytes_written, op->cost.overflow ? "true" : "false",
                  op->cost.unknown_dtype ? "true" : "false", last ? "" : ",");
}

static void json_write(nn_out *f, const nn_totals *t, const nn_device_info *dev)
{
    nn_out_printf(f, "{\n  \"schema\": \"nnspy.report/1\",\n  \"convention\": ");
    nn_out_json_string(f, CONVENTION);
    nn_out_printf(f, ",\n  \"device\": {\"name\": ");
    nn_out_json_string(f, dev->name);
    nn_out_printf(f, ", \"simulated\": %s},\n", dev->simulated ? "true" : "false");
    nn_out_printf(f,
                  "  \"totals\": {\"calls\": %llu, \"failed_calls\": %llu, "
                  "\"unknown_cost_calls\": %llu, \"macs\": %llu, \"flops\": %llu, "
                  "\"params\": %llu, \"param_bytes\": %llu, \"bytes_read\": %llu, "
                  "\"bytes_written\": %llu, \"overflow\": %s, \"params_incomplete\": %s, "
                  "\"bytes_incomplete\": %s},\n",
                  (unsigned long long)t->calls, (unsigned long long)t->failed_calls,
                  (unsigned long long)t->unknown_cost_calls, (unsigned long long)t->cost.macs,
                  (unsigned long long)t->cost.flops, (unsigned long long)t->params,
                  (unsigned long long)t->param_bytes, (unsigned long long)t->cost.bytes_read,
                  (unsigned long long)t->cost.bytes_written, t->cost.overflow ? "true" : "false",
                  t->params_incomplete ? "true" : "false",
                  t->cost.unknown_dtype ? "true" : "false");
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
static void write_json_file(const char *path, const nn_totals *t, const nn_device_info *dev)
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
    json_write(&out, t, dev);
    bool ok = nn_out_flush(&out);
    ok &= close(fd) == 0;
    if (!ok || !install_json(tmp, path)) {
        nn_warn("cannot write the JSON summary to %s: %s", path, strerrorname_np(errno));
        unlink(tmp);
    }
}

static void print_report(const nn_totals *t, const nn_device_info *dev)
{
    static nn_out out;
    nn_out_init(&out, STDERR_FILENO);
    print_header(&out, t, dev);
    print_table(&out, t);
    print_totals(&out, t);
    nn_out_flush(&out);
}

void nn_report_write(nn_report_moment moment)
{
    int saved = errno;
    if (!nn_snapshot_lock(moment == NN_REPORT_SIGNAL)) {
        nn_warn("another thread held nnspy's state: no report written");
        errno = saved;
        return;
    }
    nn_totals t = nn_totals_get();
    if (t.calls > 0) {
        const nn_config *cfg = nn_config_get();
        const nn_device_info *dev = nn_device_get();
        /* Before an exec the table would be printed twice if the exec fails, so it
         * waits for the end; the JSON file is simply written again. */
        if (cfg->print_table && moment != NN_REPORT_EXEC && nn_stderr_is_original())
            print_report(&t, dev);
        char path[sizeof claimed_path - 8];
        if (cfg->json_template[0] &&
            nn_expand_path(cfg->json_template, (long)getpid(), path, sizeof path))
            write_json_file(path, &t, dev);
    }
    nn_snapshot_unlock();
    errno = saved;
}
