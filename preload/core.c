/*
 * core.c: the preload's life (load, exit) and the per-thread reentrancy guard.
 */
#define _GNU_SOURCE
#include "core.h"
#include "nnspy.h"

#include <stdlib.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

static nn_config config = {.print_table = true, .max_listed_ops = NN_DEFAULT_MAX_LISTED_OPS};
static bool config_loaded;
/* The process nnspy's state belongs to: a vfork child shares that state, but is
 * not that process. */
static pid_t owner;

static const char *read_environment(const char *name)
{
    return getenv(name);
}

static void load_config(void)
{
    /* In a secure-execution (setuid, setgid, capabilities) process nnspy stays inert:
     * it must not let the environment of an unprivileged user steer a privileged one. */
    if (getauxval(AT_SECURE)) {
        config.disabled = true;
        return;
    }
    nn_config_parse(&config, read_environment);
}

const nn_config *nn_config_get(void)
{
    return &config;
}

static void note_owner(void)
{
    owner = getpid();
}

/* Runs when the preload is loaded, before the program's main, and before nnspy's
 * other constructors (priority 101), which may read the configuration. */
__attribute__((constructor(101))) static void nn_load(void)
{
    note_owner();
    nn_fork_protect(NULL, note_owner);
    nn_note_stderr();
    load_config();
    __atomic_store_n(&config_loaded, true, __ATOMIC_RELEASE);
}

int64_t nn_monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

bool nn_active(void)
{
    return __atomic_load_n(&config_loaded, __ATOMIC_ACQUIRE) && !config.disabled;
}

bool nn_in_owner_process(void)
{
    return getpid() == owner;
}

/* Runs at exit (after the program's own atexit handlers). */
__attribute__((destructor)) static void nn_unload(void)
{
    if (!config.disabled && nn_in_owner_process()) nn_report_write(NN_REPORT_EXIT);
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
