/*
 * core.c: configuration, messages and the reentrancy guard of the preload.
 */
#define _GNU_SOURCE
#include "core.h"
#include "nnspy.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

static nn_config config = {.print_table = true, .max_listed_ops = 100000};
static bool config_loaded;

void nn_warn(const char *fmt, ...)
{
    /* One write(2) per message, so that lines of several threads never interleave,
     * and no stdio buffer of the program's is touched. */
    char line[512];
    int saved_errno = errno;
    int n = snprintf(line, sizeof line, "nnspy: ");
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n - 1, fmt, ap);
    va_end(ap);
    if (m < 0) m = 0;
    size_t len = strnlen(line, sizeof line - 2);
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void)w;
    errno = saved_errno;
}

/* NNSPY_DISABLE: "1" turns nnspy off, "0" or empty leaves it on. */
static void load_disable(void)
{
    const char *v = getenv("NNSPY_DISABLE");
    if (!v || !*v || strcmp(v, "0") == 0) return;
    if (strcmp(v, "1") != 0)
        nn_warn("NNSPY_DISABLE=\"%s\" is not 0 or 1; taking it as 1 (disabled)", v);
    config.disabled = true;
}

static void load_report_mode(void)
{
    const char *v = getenv("NNSPY_REPORT");
    if (!v || !*v || strcmp(v, "table") == 0) return;
    if (strcmp(v, "none") == 0) {
        config.print_table = false;
        return;
    }
    nn_warn("NNSPY_REPORT=\"%s\" is not \"table\" or \"none\"; using \"table\"", v);
}

static void load_max_ops(void)
{
    const char *v = getenv("NNSPY_MAX_OPS");
    if (!v || !*v) return;
    char *end;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (errno || *end || v[0] == '-' || n > (1ULL << 32)) {
        nn_warn("NNSPY_MAX_OPS=\"%s\" is not a number from 0 to 4294967296; using %llu", v,
                (unsigned long long)config.max_listed_ops);
        return;
    }
    config.max_listed_ops = n;
}

/* NNSPY_JSON, with every %p replaced by the pid so that processes don't collide. */
static void load_json_path(void)
{
    const char *v = getenv("NNSPY_JSON");
    if (!v || !*v) return;
    size_t out = 0;
    bool too_long = false;
    for (const char *p = v; *p && !too_long; p++) {
        char piece[32] = {p[0], 0};
        if (p[0] == '%' && p[1] == 'p') {
            snprintf(piece, sizeof piece, "%ld", (long)getpid());
            p++;
        }
        size_t len = strlen(piece);
        too_long = out + len >= sizeof config.json_path;
        if (!too_long) memcpy(config.json_path + out, piece, len), out += len;
    }
    config.json_path[too_long ? 0 : out] = '\0';
    if (too_long) nn_warn("NNSPY_JSON is longer than %zu bytes; no JSON will be written",
                          sizeof config.json_path - 1);
}

static void load_config(void)
{
    /* In a secure-execution (setuid, setgid, capabilities) process nnspy stays inert:
     * it must not let the environment of an unprivileged user steer a privileged one. */
    if (getauxval(AT_SECURE)) {
        config.disabled = true;
        return;
    }
    load_disable();
    if (config.disabled) return;
    load_report_mode();
    load_max_ops();
    load_json_path();
}

const nn_config *nn_config_get(void)
{
    return &config;
}

/* Runs when the preload is loaded, before the program's main. */
__attribute__((constructor)) static void nn_load(void)
{
    load_config();
    __atomic_store_n(&config_loaded, true, __ATOMIC_RELEASE);
}

/* Runs at exit (after the program's own atexit handlers). */
__attribute__((destructor)) static void nn_unload(void)
{
    if (!config.disabled) nn_report_write();
}

static __thread unsigned depth;

bool nn_enter(void)
{
    if (depth++ != 0) return false;
    if (NN_UNLIKELY(!__atomic_load_n(&config_loaded, __ATOMIC_ACQUIRE))) return false;
    return !config.disabled;
}

void nn_leave(void)
{
    depth--;
}

NN_EXPORT const char *nnspy_version(void)
{
    return NNSPY_VERSION;
}
