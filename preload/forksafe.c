/*
 * forksafe.c: nnspy's mutexes across fork. A child inherits a mutex in whatever
 * state another thread of the parent left it; so every mutex of nnspy is taken
 * before fork by the forking thread and released by it in the parent and in the
 * child (where it is the only thread), which then cannot deadlock on it. They are taken in the order they were registered, which
 * must follow the order in which nnspy nests them (outer first):
 *   timing.c, cupti.c, frame_marks.c  (constructor priority 110)
 *   record.c                          (120)
 *   sites.c                           (125, a leaf: never held with another)
 *   trace.c                           (130)
 *   the leaf locks, never held while another is taken (default priority).
 */
#include <pthread.h>

#include "core.h"

/* Room for every registration with a margin (11 locks and 9 hooks today, more
 * than the 8 this once was: locks past it went unprotected without a word). One
 * past it is a bug in nnspy, said on stderr at load. */
#define MAX_LOCKS 24
static pthread_mutex_t *locks[MAX_LOCKS];
static int n_locks;
static void (*child_hooks[MAX_LOCKS])(void);
static int n_child_hooks;

void nn_fork_protect(pthread_mutex_t *m, void (*child_hook)(void))
{
    /* Called from constructors, before any thread of the program can fork. */
    if ((m && n_locks == MAX_LOCKS) || (child_hook && n_child_hooks == MAX_LOCKS))
        nn_warn("internal: more than %d fork-protected locks or hooks; raise MAX_LOCKS",
                MAX_LOCKS);
    if (m && n_locks < MAX_LOCKS) locks[n_locks++] = m;
    if (child_hook && n_child_hooks < MAX_LOCKS) child_hooks[n_child_hooks++] = child_hook;
}

static void before_fork(void)
{
    for (int i = 0; i < n_locks; i++) pthread_mutex_lock(locks[i]);
}

static void after_fork_parent(void)
{
    for (int i = n_locks - 1; i >= 0; i--) pthread_mutex_unlock(locks[i]);
}

/* The child's only thread is the one that forked, which holds every lock (taken in
 * before_fork): the hooks reset the child's state under them, then it lets go. */
static void after_fork_child(void)
{
    for (int i = 0; i < n_child_hooks; i++) child_hooks[i]();
    for (int i = n_locks - 1; i >= 0; i--) pthread_mutex_unlock(locks[i]);
}

/* The handlers read the list when a fork happens, so the order in which the
 * constructors run does not matter. */
__attribute__((constructor)) static void fork_init(void)
{
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
}
