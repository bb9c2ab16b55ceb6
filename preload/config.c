/*
 * config.c: nnspy's messages and its configuration, read from the environment.
 * Every value is validated; a bad one is named in one warning and the default kept.
 */
#define _GNU_SOURCE
#include "core.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static dev_t stderr_dev;
static ino_t stderr_ino;
static bool stderr_known;

void nn_note_stderr(void)
{
    struct stat st;
    stderr_known = fstat(STDERR_FILENO, &st) == 0;
    stderr_dev = st.st_dev;
    stderr_ino = st.st_ino;
}

bool nn_stderr_is_original(void)
{
    struct stat st;
    return stderr_known && fstat(STDERR_FILENO, &st) == 0 && st.st_dev == stderr_dev &&
           st.st_ino == stderr_ino;
}

void nn_warn(const char *fmt, ...)
{
    if (!nn_stderr_is_original()) return;
    /* One write(2) per message, so that lines of several threads never interleave,
     * and no stdio buffer of the program's is touched. */
    char line[512];
    int saved_errno = errno;
    int n = snprintf(line, sizeof line, "nnspy: ");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    size_t len = strnlen(line, sizeof line - 2);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    errno = saved_errno;
}

/* NNSPY_DISABLE: "1" turns nnspy off, "0" or empty leaves it on. */
static void parse_disable(nn_config *c, const char *v)
{
    if (!v || !*v || strcmp(v, "0") == 0) return;
    if (strcmp(v, "1") != 0)
        nn_warn("NNSPY_DISABLE=\"%.64s\" is not 0 or 1; taking it as 1 (disabled)", v);
    c->disabled = true;
}

static void parse_report_mode(nn_config *c, const char *v)
{
    if (!v || !*v || strcmp(v, "table") == 0) return;
    if (strcmp(v, "none") == 0) {
        c->print_table = false;
        return;
    }
    nn_warn("NNSPY_REPORT=\"%.64s\" is not \"table\" or \"none\"; using \"table\"", v);
}

static void parse_max_ops(nn_config *c, const char *v)
{
    if (!v || !*v) return;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || v[0] < '0' || v[0] > '9' || n > NN_MAX_LISTED_OPS_LIMIT) {
        nn_warn("NNSPY_MAX_OPS=\"%.64s\" is not a number from 0 to %llu; using %llu", v,
                (unsigned long long)NN_MAX_LISTED_OPS_LIMIT, (unsigned long long)c->max_listed_ops);
        return;
    }
    c->max_listed_ops = n;
}

/* NNSPY_JSON: kept as given; %p is expanded when the file is written, so that a
 * forked child names its own pid. */
static void parse_json_path(nn_config *c, const char *v)
{
    c->json_template[0] = '\0';
    if (!v || !*v) return;
    char expanded[sizeof c->json_template];
    if (strlen(v) >= sizeof c->json_template ||
        !nn_expand_path(v, 4194304, expanded, sizeof expanded)) {
        nn_warn("NNSPY_JSON is longer than %zu bytes; no JSON will be written",
                sizeof c->json_template - 16);
        return;
    }
    memcpy(c->json_template, v, strlen(v) + 1);
}

bool nn_expand_path(const char *template, long pid, char *out, size_t len)
{
    size_t used = 0;
    for (const char *p = template; *p; p++) {
        char piece[24] = {p[0], 0};
        if (p[0] == '%' && p[1] == 'p') {
            snprintf(piece, sizeof piece, "%ld", pid);
            p++;
        }
        size_t n = strlen(piece);
        if (used + n >= len) return false;
        memcpy(out + used, piece, n);
        used += n;
    }
    out[used] = '\0';
    return true;
}

/* NNSPY_OUTPUT: the trace's name (%p %r %h %e expanded by trace.c); "off": none. */
static void parse_output(nn_config *c, const char *v)
{
    static const char fallback[] = "nnspy-%e-%p.nns";
    if (v && strcmp(v, "off") == 0) {
        c->output_template[0] = '\0';
        return;
    }
    if (v && *v && strlen(v) < sizeof c->output_template - 64) {
        memcpy(c->output_template, v, strlen(v) + 1);
        return;
    }
    if (v && *v)
        nn_warn("NNSPY_OUTPUT is longer than %zu bytes; using %s", sizeof c->output_template - 65,
                fallback);
    memcpy(c->output_template, fallback, sizeof fallback);
}

/* NNSPY_FRAME: auto (default), marker, sync or nvtx:NAME. */
static void parse_frame_mode(nn_config *c, const char *v)
{
    if (!v || !*v || strcmp(v, "auto") == 0) return;
    if (strcmp(v, "marker") == 0) c->frame_mode = NN_FRAME_MARKER;
    else if (strcmp(v, "sync") == 0) c->frame_mode = NN_FRAME_SYNC;
    else if (strncmp(v, "nvtx:", 5) == 0 && v[5] && strlen(v + 5) < sizeof c->frame_range) {
        c->frame_mode = NN_FRAME_NVTX;
        memcpy(c->frame_range, v + 5, strlen(v + 5) + 1);
    } else {
        nn_warn("NNSPY_FRAME=\"%.64s\" is not auto, marker, sync or nvtx:NAME (NAME under "
                "128 bytes); using auto", v);
    }
}

/* NNSPY_TIMING: events (default), cupti or off. */
static void parse_timing_mode(nn_config *c, const char *v)
{
    if (!v || !*v || strcmp(v, "events") == 0) return;
    if (strcmp(v, "cupti") == 0) c->timing_mode = NN_TIMING_CUPTI;
    else if (strcmp(v, "off") == 0) c->timing_mode = NN_TIMING_OFF;
    else nn_warn("NNSPY_TIMING=\"%.64s\" is not events, cupti or off; using events", v);
}

void nn_config_parse(nn_config *c, const char *(*get)(const char *name))
{
    *c = (nn_config){.print_table = true, .max_listed_ops = NN_DEFAULT_MAX_LISTED_OPS};
    parse_disable(c, get("NNSPY_DISABLE"));
    if (c->disabled) return;
    parse_report_mode(c, get("NNSPY_REPORT"));
    parse_max_ops(c, get("NNSPY_MAX_OPS"));
    parse_json_path(c, get("NNSPY_JSON"));
    parse_frame_mode(c, get("NNSPY_FRAME"));
    parse_timing_mode(c, get("NNSPY_TIMING"));
    parse_output(c, get("NNSPY_OUTPUT"));
}
