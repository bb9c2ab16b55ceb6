/*
 * nnspy: the command line. `nnspy run` starts a program with libnnspy.so
 * preloaded; the preload prints its report on the program's stderr when the
 * program exits, and writes the JSON summary where --json says.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "nnspy.h"
#include "diff.h"
#include "report_cmd.h"

#define USAGE_HEAD                                                                                 \
    "usage: nnspy run [--sim] [--json FILE] [--frames MODE] [--timing MODE] [--]\n"                \
    "                 PROGRAM [ARGS...]\n"                                                          \
    "       nnspy report [--format table|json|csv|chrome|html] [--frames MODE] [-o FILE]\n"        \
    "                    [--debug-dir DIRS] TRACE|DIR...\n"                                        \
    "       nnspy diff [--fail-macs PCT] [--fail-params PCT] [--fail-latency PCT]\n"              \
    "                  [--format table|json] A B\n"                                              \
    "       nnspy --help | --version\n"

static const char usage_text[] =
    USAGE_HEAD "\n"
               "Runs PROGRAM with libnnspy.so preloaded (after any LD_PRELOAD already set).\n"
               "When PROGRAM exits, nnspy prints on stderr each cuDNN / cuBLAS / cuBLASLt\n"
               "operation it called (shape, data type, parameters, MACs, FLOPs, bytes, GPU\n"
               "time), the totals, and the frames (latency, FPS, TFLOP/s). PROGRAM keeps its\n"
               "own stdin, stdout and stderr and signal dispositions; SIGTERM and SIGHUP sent\n"
               "to nnspy are passed on to it. nnspy exits with PROGRAM's exit status, or dies\n"
               "of the signal that killed PROGRAM.\n"
               "\n"
               "options:\n"
               "  --sim        run on nnspy's simulated device (test stand-ins for libcudart,\n"
               "               libcudnn, libcublas, libcublasLt): no GPU needed, no math done\n"
               "  --json FILE  also write the JSON summary (schema nnspy.report/1) to FILE,\n"
               "               replacing an old FILE; %p in FILE becomes the process id. A\n"
               "               second process (or exec'd image) writing the same name\n"
               "               gets FILE.1, FILE.2, ...: no report overwrites another\n"
               "  --frames MODE  how the run is split into frames: auto (default: the\n"
    "               repeating period of the calls), marker (nnspy_frame_begin/end),\n"
    "               sync (each host synchronisation ends one), nvtx:NAME (each NVTX\n"
    "               range NAME); sets NNSPY_FRAME\n"
    "  --timing MODE  events (default: driver events around each call), cupti\n"
    "               (every kernel, through CUPTI), off; sets NNSPY_TIMING\n"
    "  -h, --help   this text\n"
               "  --version    nnspy's version\n"
               "\n"
               "nnspy report makes the report again from the .nns traces a run wrote\n"
               "(NNSPY_OUTPUT), as a table, JSON, CSV, a Chrome trace or HTML; several\n"
               "traces (the processes of a job) are merged. See 'nnspy report --help'.\n"
               "\n"
               "nnspy diff compares two runs (traces or directories of them): calls added,\n"
               "removed or changed in one frame, and the differences in MACs, FLOPs,\n"
               "parameters and latency percentiles. Exit status 3 when a --fail-* threshold\n"
               "(B's increase over A, in percent) is passed, for CI gates; 1 when a trace\n"
               "cannot be read; 2 on a usage error.\n"
               "\n"
               "environment read by libnnspy.so:\n"
               "  NNSPY_JSON=FILE       as --json\n"
               "  NNSPY_REPORT=table|none  print the table at exit (default) or not\n"
               "  NNSPY_MAX_OPS=N       operations listed in the table (default 100000);\n"
               "                        the totals always count every call\n"
               "  NNSPY_OUTPUT=NAME|off the trace file (default nnspy-%e-%p.nns; %p pid, %r rank,\n"
    "                        %h host, %e executable); off: none\n"
    "  NNSPY_FRAME=MODE      as --frames\n"
    "  NNSPY_TIMING=MODE     as --timing\n"
    "  NNSPY_DISABLE=1       make libnnspy.so inert\n";

/* The directory that holds this executable (and libnnspy.so beside it). */
static int own_dir(char *out, size_t len)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n < 0) return -1;
    exe[n] = '\0';
    return snprintf(out, len, "%s", dirname(exe)) < (int)len ? 0 : -1;
}

/* Sets NAME to "first:old" (or "first" when unset); prepend=false gives "old:first". */
static int env_join(const char *name, const char *item, bool prepend)
{
    const char *old = getenv(name);
    if (!old || !*old) return setenv(name, item, 1);
    size_t len = strlen(old) + strlen(item) + 2;
    char *joined = malloc(len);
    if (!joined) return -1;
    snprintf(joined, len, "%s:%s", prepend ? item : old, prepend ? old : item);
    int rc = setenv(name, joined, 1);
    free(joined);
    return rc;
}

static bool path_join(char *out, size_t len, const char *dir, const char *name)
{
    int n = snprintf(out, len, "%s/%s", dir, name);
    return n > 0 && (size_t)n < len;
}

static bool is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int setup_environment(const run_options *o)
{
    char dir[PATH_MAX], lib[PATH_MAX], simdir[PATH_MAX];
    if (own_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "nnspy: cannot find my own executable's directory\n");
        return -1;
    }
    if (!path_join(lib, sizeof lib, dir, "libnnspy.so") || !is_file(lib)) {
        fprintf(stderr, "nnspy: %s is missing (it is built next to nnspy by `make`)\n", lib);
        return -1;
    }
    /* The program's own preloads come first: they may need to (a sanitizer's runtime). */
    if (env_join("LD_PRELOAD", lib, false) != 0) return -1;
    if (o->sim) {
        if (!path_join(simdir, sizeof simdir, dir, "sim") ||
            !path_join(lib, sizeof lib, simdir, "libcudnn.so.9") || !is_file(lib)) {
            fprintf(stderr, "nnspy: --sim: the simulated device is not built (%s missing)\n", lib);
            return -1;
        }
        if (env_join("LD_LIBRARY_PATH", simdir, true) != 0) return -1;
    }
    /* The file is this run's: an old one goes (libnnspy.so never overwrites one). */
    const char *json = o->json;
    if ((o->frames && setenv("NNSPY_FRAME", o->frames, 1) != 0) ||
        (o->timing && setenv("NNSPY_TIMING", o->timing, 1) != 0))
        return -1;
    if (json && ((unlink(json) != 0 && errno != ENOENT) || setenv("NNSPY_JSON", json, 1) != 0)) {
        fprintf(stderr, "nnspy: cannot use %s for the JSON summary: %s\n", json, strerror(errno));
        return -1;
    }
    return 0;
}

static volatile pid_t child_pid;

/* SIGTERM and SIGHUP sent to nnspy are meant for the program: passed on. */
static void forward_signal(int sig)
{
    if (child_pid > 0) kill(child_pid, sig);
}

/* Ends nnspy the way the program ended: by the same signal, so that the shell (or
 * job manager) sees what it would have seen; 128 + N if that does not end us. */
static int die_like(int sig)
{
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core); /* the program already dumped core, if it did */
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    return 128 + sig;
}

/* Runs argv, waits for it, and returns (or dies of) what ended it. */
static int run_and_wait(char **argv)
{
    /* Like system(): the terminal's ^C and ^\ reach the program's whole process
     * group; nnspy itself waits. The child gets back the dispositions nnspy was
     * started with (SIG_IGN under nohup stays SIG_IGN). */
    struct sigaction ignore = {.sa_handler = SIG_IGN}, forward = {.sa_handler = forward_signal};
    struct sigaction old_int, old_quit, old_term, old_hup;
    sigemptyset(&ignore.sa_mask);
    sigemptyset(&forward.sa_mask);
    sigaction(SIGINT, &ignore, &old_int);
    sigaction(SIGQUIT, &ignore, &old_quit);
    sigaction(SIGTERM, &forward, &old_term);
    sigaction(SIGHUP, &forward, &old_hup);
    /* SIGTERM and SIGHUP stay blocked until child_pid is stored: one arriving
     * while fork returns (the child may already run) is then passed on, not lost. */
    sigset_t forwarded, old_mask;
    sigemptyset(&forwarded);
    sigaddset(&forwarded, SIGTERM);
    sigaddset(&forwarded, SIGHUP);
    sigprocmask(SIG_BLOCK, &forwarded, &old_mask);
    pid_t pid = fork();
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        fprintf(stderr, "nnspy: fork: %s\n", strerror(errno));
        return 126;
    }
    if (pid == 0) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        sigprocmask(SIG_SETMASK, &old_mask, NULL);
        execvp(argv[0], argv);
        fprintf(stderr, "nnspy: cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(errno == ENOENT ? 127 : 126);
    }
    child_pid = pid;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return 126;
    if (WIFSIGNALED(status)) return die_like(WTERMSIG(status));
    return WEXITSTATUS(status);
}

static int cmd_run(int argc, char **argv)
{
    run_options o;
    switch (parse_run_options(argc, argv, &o)) {
    case RUN_PARSE_HELP: fputs(usage_text, stdout); return 0;
    case RUN_PARSE_ERROR:
        fprintf(stderr, "nnspy run: %s%s%s\n%sTry 'nnspy --help'.\n", o.error,
                o.culprit ? ": " : "", o.culprit ? o.culprit : "", USAGE_HEAD);
        return 2;
    case RUN_PARSE_OK: break;
    }
    if (setup_environment(&o) != 0) return 126;
    return run_and_wait(o.program);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage_text, stderr);
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(usage_text, stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("nnspy %s\n", NNSPY_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "run")) return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "report")) return nn_report_main(argc - 1, argv + 1);
    if (!strcmp(argv[1], "diff")) return nn_diff_main(argc - 1, argv + 1);
    fprintf(stderr, "nnspy: unknown command \"%s\"\n%sTry 'nnspy --help'.\n", argv[1], USAGE_HEAD);
    return 2;
}
