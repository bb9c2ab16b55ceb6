/*
 * pyframes.c: the Python lines behind an intercepted call, when the program is
 * CPython (sites.h).
 *
 * nnspy does not link libpython: the few functions of CPython's C API it needs are
 * looked up in the process once, and Python frames are read only when all of them
 * are there and only while the calling thread holds the GIL (may_read_frames).
 * A call made with the GIL released (ctypes.CDLL, PyTorch's dispatch) gets a
 * native site only: reading another thread's frames without the GIL would race
 * with the interpreter.
 *
 * Frames whose file starts with one of NNSPY_PYTHON_SKIP's prefixes (the framework's
 * own package) are passed over to reach the innermost user frame. What nnspy learns
 * of a code object (its file, its name, whether it is skipped) is kept in a bounded
 * table that holds a reference to the code object, so that its address is never
 * reused for another one while it serves as a key.
 */
#define _GNU_SOURCE
#include "sites.h"

#include "core.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CODES     8192
#define CODE_SLOTS    (MAX_CODES * 2)
#define MAX_PREFIXES  16
#define MAX_WALK      64 /* frames passed over at most to find a user frame */

typedef struct PyObj PyObj; /* PyObject, PyFrameObject and PyCodeObject alike */

static struct {
    int (*initialized)(void);
    int (*gil_check)(void);
    PyObj *(*current_tstate)(void); /* the thread state holding the GIL, or NULL */
    PyObj *(*this_tstate)(void);    /* this thread's, whether it holds the GIL or not */
    PyObj *(*err_occurred)(void);
    PyObj *(*current_frame)(void); /* borrowed */
    PyObj *(*frame_code)(PyObj *); /* new reference */
    PyObj *(*frame_back)(PyObj *); /* new reference */
    int (*frame_line)(PyObj *);
    PyObj *(*get_attr)(PyObj *, const char *);
    const char *(*utf8)(PyObj *);
    void (*incref)(PyObj *), (*decref)(PyObj *);
    void (*err_clear)(void);
} py;
static int py_state; /* 0: not looked up yet, 1: CPython, -1: not CPython */

static int n_prefixes;
static char prefixes[MAX_PREFIXES][256];

/* code object -> what nnspy knows of it; entries are never removed */
struct code_info {
    uintptr_t code;
    bool skip;
    const char *file, *function;
};
static struct code_info codes[CODE_SLOTS];
static uint32_t n_codes;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

#define THREAD_CACHE 32
static __thread const struct code_info *thread_cache[THREAD_CACHE];

/* ------------------------------------------------------------ finding CPython */

#define FIND(field, name) (py.field = (__typeof__(py.field))nn_real_dlsym(RTLD_DEFAULT, name))

static bool find_cpython(void)
{
    /* PyEval_GetFrame first: most processes are not Python, and stop there. */
    if (!FIND(current_frame, "PyEval_GetFrame")) return false;
    if (!FIND(current_tstate, "PyThreadState_GetUnchecked")) /* its name before 3.13 */
        FIND(current_tstate, "_PyThreadState_UncheckedGet");
    return py.current_tstate && FIND(initialized, "Py_IsInitialized") &&
           FIND(gil_check, "PyGILState_Check") &&
           FIND(this_tstate, "PyGILState_GetThisThreadState") &&
           FIND(err_occurred, "PyErr_Occurred") &&
           FIND(frame_code, "PyFrame_GetCode") && FIND(frame_back, "PyFrame_GetBack") &&
           FIND(frame_line, "PyFrame_GetLineNumber") && FIND(get_attr, "PyObject_GetAttrString") &&
           FIND(utf8, "PyUnicode_AsUTF8") && FIND(incref, "Py_IncRef") &&
           FIND(decref, "Py_DecRef") && FIND(err_clear, "PyErr_Clear");
}

static void parse_prefixes(const char *v)
{
    while (v && *v && n_prefixes < MAX_PREFIXES) {
        const char *end = strchrnul(v, ':');
        size_t n = (size_t)(end - v);
        if (n > 0 && n < sizeof prefixes[0]) {
            memcpy(prefixes[n_prefixes], v, n);
            prefixes[n_prefixes++][n] = '\0';
        }
        v = *end ? end + 1 : end;
    }
}

static bool python_ready(void)
{
    int s = __atomic_load_n(&py_state, __ATOMIC_ACQUIRE);
    if (NN_UNLIKELY(s == 0)) {
        pthread_mutex_lock(&lock);
        if (py_state == 0) {
            bool found = find_cpython();
            if (found) parse_prefixes(getenv("NNSPY_PYTHON_SKIP"));
            __atomic_store_n(&py_state, found ? 1 : -1, __ATOMIC_RELEASE);
        }
        s = py_state;
        pthread_mutex_unlock(&lock);
    }
    return s > 0;
}

/*
 * Whether this thread may read Python frames now: the interpreter runs, this thread
 * holds the GIL, and no exception is pending (nnspy's own calls could disturb it).
 * PyGILState_Check alone answers 1 before the interpreter starts and when its check
 * is disabled (subinterpreters), so the thread state holding the GIL is compared
 * with this thread's too.
 */
static bool may_read_frames(void)
{
    if (!python_ready() || !py.initialized() || !py.gil_check()) return false;
    PyObj *holder = py.current_tstate();
    return holder && holder == py.this_tstate() && !py.err_occurred();
}

/* ------------------------------------------------------------ code objects */

/* A string attribute of a code object, copied (NULL when it has none). */
static char *code_text(PyObj *code, const char *attr)
{
    PyObj *o = py.get_attr(code, attr);
    const char *s = o ? py.utf8(o) : NULL;
    char *copy = s ? strdup(s) : NULL;
    if (o) py.decref(o);
    if (!s) py.err_clear();
    return copy;
}

static bool has_skipped_prefix(const char *file)
{
    for (int i = 0; i < n_prefixes; i++)
        if (strncmp(file, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

/* Under lock, with the GIL: the entry of code, made the first time. */
static const struct code_info *code_entry(PyObj *code)
{
    size_t j = ((uintptr_t)code >> 4) * 0x9e3779b97f4a7c15ULL % CODE_SLOTS;
    while (codes[j].code && codes[j].code != (uintptr_t)code) j = (j + 1) % CODE_SLOTS;
    if (codes[j].code) return &codes[j];
    if (n_codes == MAX_CODES) return NULL;
    char *file = code_text(code, "co_filename"), *function = code_text(code, "co_name");
    if (!file || !function) {
        free(file), free(function);
        return NULL;
    }
    py.incref(code); /* kept alive: its address stays this code object's */
    codes[j] = (struct code_info){(uintptr_t)code, has_skipped_prefix(file), file, function};
    n_codes++;
    return &codes[j];
}

static const struct code_info *code_info(PyObj *code)
{
    const struct code_info **c = &thread_cache[((uintptr_t)code >> 4) % THREAD_CACHE];
    if (*c && (*c)->code == (uintptr_t)code) return *c;
    pthread_mutex_lock(&lock);
    const struct code_info *e = code_entry(code);
    pthread_mutex_unlock(&lock);
    if (e) *c = e;
    return e;
}

/* ------------------------------------------------------------ frames */

/*
 * Walks from the innermost frame outwards and calls found(ctx, info, frame) on each
 * user frame (not under a skipped prefix) until it returns false. With the GIL.
 */
static void walk_user_frames(bool (*found)(void *, const struct code_info *, PyObj *), void *ctx)
{
    PyObj *frame = py.current_frame(), *owned = NULL;
    for (int i = 0; frame && i < MAX_WALK; i++) {
        PyObj *code = py.frame_code(frame);
        const struct code_info *info = code ? code_info(code) : NULL;
        if (code) py.decref(code);
        bool more = !info || info->skip || found(ctx, info, frame);
        PyObj *back = more ? py.frame_back(frame) : NULL;
        if (owned) py.decref(owned);
        frame = owned = back;
        if (!more) break;
    }
    if (owned) py.decref(owned);
    /* Reading frames may allocate (and fail): no exception of nnspy's is left behind. */
    if (py.err_occurred()) py.err_clear();
}

static bool take_innermost(void *ctx, const struct code_info *info, PyObj *frame)
{
    nn_py_key *k = ctx;
    k->code = info->code;
    int line = py.frame_line(frame);
    k->line = line > 0 ? (uint32_t)line : 0;
    return false;
}

nn_py_key nn_py_innermost(void)
{
    nn_py_key k = {0, 0};
    if (may_read_frames()) walk_user_frames(take_innermost, &k);
    return k;
}

struct collect {
    nn_site_python *out;
    uint32_t n, max;
};

static bool collect_frame(void *ctx, const struct code_info *info, PyObj *frame)
{
    struct collect *c = ctx;
    int line = py.frame_line(frame);
    c->out[c->n++] = (nn_site_python){info->file, info->function, line > 0 ? (uint32_t)line : 0};
    return c->n < c->max;
}

uint32_t nn_py_frames(nn_site_python *out, uint32_t max)
{
    struct collect c = {out, 0, max};
    if (max && may_read_frames()) walk_user_frames(collect_frame, &c);
    return c.n;
}

__attribute__((constructor)) static void pyframes_init(void)
{
    nn_fork_protect(&lock, NULL);
}
