/*
 * dlopen_host: loads a plugin the way Python loads an extension module, with
 * dlopen(RTLD_NOW | RTLD_LOCAL), and calls its `int plugin_run(int iters)`.
 * This file itself references no cuDNN symbol, so every cuDNN call comes from
 * inside the locally scoped plugin.
 *
 *   dlopen_host PLUGIN.so ITERS [ROUNDS]
 *
 * With ROUNDS, the plugin is loaded, run and unloaded (dlclose) ROUNDS times, as a
 * program that loads a model's backend on demand does: cuDNN comes and goes with it.
 *
 * (Named dlopen_host, not plugin_host: the Makefile builds every tests/e2e/plugin_*.c
 * as a shared object, and this one must be a program.)
 *
 * Prints "plugin_run(ITERS) = 0" on success and exits 0; exits 1 when the plugin
 * cannot be loaded or fails, 2 on bad arguments.
 */
#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*plugin_run_fn)(int iters);

static int parse_iters(const char *text, int *iters)
{
    char *end;
    long v = strtol(text, &end, 10);
    if (end == text || *end != '\0' || v < 0 || v > INT_MAX)
        return -1;
    *iters = (int)v;
    return 0;
}

/* Loads the plugin, runs it, and unloads it when `unload` is set. */
static int load_and_run(const char *path, int iters, int unload)
{
    void *plugin = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!plugin) {
        fprintf(stderr, "dlopen_host: dlopen(%s) failed: %s\n", path, dlerror());
        return 1;
    }
    /* dlsym returns void *; POSIX guarantees it converts to a function pointer. */
    plugin_run_fn run;
    *(void **)&run = dlsym(plugin, "plugin_run");
    if (!run) {
        fprintf(stderr, "dlopen_host: no plugin_run in %s: %s\n", path, dlerror());
        return 1;
    }
    int rc = run(iters);
    printf("plugin_run(%d) = %d\n", iters, rc);
    /* Without ROUNDS the plugin (and cuDNN) stay loaded until exit, as Python
     * extension modules do. */
    if (unload && dlclose(plugin) != 0) {
        fprintf(stderr, "dlopen_host: dlclose failed: %s\n", dlerror());
        return 1;
    }
    return rc == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    int iters, rounds = 1;
    if (argc < 3 || argc > 4 || parse_iters(argv[2], &iters) ||
        (argc == 4 && parse_iters(argv[3], &rounds))) {
        fprintf(stderr, "usage: dlopen_host PLUGIN.so ITERS [ROUNDS]\n");
        return 2;
    }
    for (int i = 0; i < rounds; i++)
        if (load_and_run(argv[1], iters, argc == 4) != 0) return 1;
    return 0;
}
