/*
 * process.c: keeping the report when the process ends in ways that skip exit
 * handlers: a signal whose default action kills it, or an exec that replaces it.
 *
 * Signals: at the first recorded call (not at load: CPython, for one, installs its
 * SIGINT handler only where it finds the default one) nnspy installs a handler
 * for SIGINT, SIGTERM and SIGABRT, but only where the program left the default
 * action. The handler writes the report, restores the default and re-raises, so
 * the signal's effect (death, exit status, core dump) is unchanged. A handler the
 * program installs, before or after, is the program's and is never touched.
 *
 * exec: the report is written (JSON; the table waits for the real end) just
 * before the image is replaced; if exec fails, the program goes on and the report
 * is written again at its end.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "core.h"

static const int report_signals[] = {SIGINT, SIGTERM, SIGABRT};

static void report_and_die(int sig)
{
    int saved = errno;
    nn_report_write(NN_REPORT_SIGNAL);
    /* SA_RESETHAND restored the default action; the signal is blocked while this
     * handler runs and is delivered again, with its default effect, on return. */
    raise(sig);
    errno = saved;
}

static void install_signal_handlers(void)
{
    for (size_t i = 0; i < sizeof report_signals / sizeof report_signals[0]; i++) {
        struct sigaction old,
            ours = {.sa_handler = report_and_die, .sa_flags = SA_RESETHAND | SA_RESTART};
        sigemptyset(&ours.sa_mask);
        if (sigaction(report_signals[i], NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
            old.sa_handler == SIG_DFL)
            sigaction(report_signals[i], &ours, NULL);
    }
}

void nn_process_note_first_call(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, install_signal_handlers);
}

/* ------------------------------------------------------------ exec */

static void before_exec(void)
{
    /* A vfork child (Python's subprocess) execs with its parent's state: the
     * report is the parent's to write, at the parent's end. */
    if (nn_active() && nn_in_owner_process()) nn_report_write(NN_REPORT_EXEC);
}

#define REAL_LIBC(name)                                                                            \
    static __typeof__(&name) cached_##name;                                                        \
    __typeof__(&name) real_##name = __atomic_load_n(&cached_##name, __ATOMIC_ACQUIRE);             \
    if (!real_##name) {                                                                            \
        real_##name = (__typeof__(&name))nn_real_dlsym(RTLD_NEXT, #name);                          \
        __atomic_store_n(&cached_##name, real_##name, __ATOMIC_RELEASE);                           \
    }                                                                                              \
    if (!real_##name) {                                                                            \
        errno = ENOSYS;                                                                            \
        return -1;                                                                                 \
    }

NN_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    REAL_LIBC(execve);
    before_exec();
    return real_execve(path, argv, envp);
}

NN_EXPORT int execv(const char *path, char *const argv[])
{
    REAL_LIBC(execv);
    before_exec();
    return real_execv(path, argv);
}

NN_EXPORT int execvp(const char *file, char *const argv[])
{
    REAL_LIBC(execvp);
    before_exec();
    return real_execvp(file, argv);
}

NN_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    REAL_LIBC(execvpe);
    before_exec();
    return real_execvpe(file, argv, envp);
}

NN_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    REAL_LIBC(fexecve);
    before_exec();
    return real_fexecve(fd, argv, envp);
}

/* The execl family takes its arguments as a list: gathered into an array (on the
 * stack, as glibc does) and passed to the array form. */
#define GATHER_ARGS(first, ap, argv)                                                               \
    size_t argc_ = 1;                                                                              \
    va_start(ap, first);                                                                           \
    while (va_arg(ap, char *)) argc_++;                                                            \
    va_end(ap);                                                                                    \
    char *argv[argc_ + 1];                                                                         \
    argv[0] = (char *)first;                                                                       \
    va_start(ap, first);                                                                           \
    for (size_t i_ = 1; i_ <= argc_; i_++) argv[i_] = va_arg(ap, char *);

NN_EXPORT int execl(const char *path, const char *arg, ...)
{
    va_list ap;
    GATHER_ARGS(arg, ap, argv);
    va_end(ap);
    return execv(path, argv);
}

NN_EXPORT int execlp(const char *file, const char *arg, ...)
{
    va_list ap;
    GATHER_ARGS(arg, ap, argv);
    va_end(ap);
    return execvp(file, argv);
}

NN_EXPORT int execle(const char *path, const char *arg, ...)
{
    va_list ap;
    GATHER_ARGS(arg, ap, argv);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    return execve(path, argv, envp);
}
