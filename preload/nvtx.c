/*
 * nvtx.c: the program's NVTX ranges, for NNSPY_FRAME=nvtx:NAME (frame_marks.c).
 *
 * How NVTX finds nnspy. NVTX v3 is header-only: every object that includes the
 * headers (a C program, PyTorch's _C module, ...) has its own hidden copy of the
 * NVTX state and loader; the older libnvToolsExt.so.1 has the same loader. At the
 * first NVTX call each copy looks for one tool, in this order:
 *   1. NVTX_INJECTION64_PATH: dlopen(that path), dlsym "InitializeInjectionNvtx2";
 *   2. the weak symbol InitializeInjectionNvtx2_fnptr, for tools linked statically.
 * The headers declare that weak symbol under `#pragma GCC visibility push(hidden)`,
 * so every object binds to its own (null) copy at link time: a definition exported
 * by a preloaded library is never seen. (The "pre-injected" dlsym(RTLD_DEFAULT)
 * lookup the headers describe is compiled out.) nnspy therefore uses way 1: when
 * NNSPY_FRAME=nvtx:NAME and NVTX_INJECTION64_PATH is unset, its constructor sets
 * NVTX_INJECTION64_PATH=libnnspy.so. That name has no slash, so dlopen first
 * matches it against the sonames of the objects already loaded, and finds the
 * preloaded nnspy itself (whatever the path it was preloaded from, and whatever
 * the program's working directory is by then). A child process that inherits
 * the variable without nnspy preloaded normally finds no libnnspy.so on its
 * library path, and NVTX stays a no-op there, as without a tool.
 *
 * If NVTX_INJECTION64_PATH is already set to another library (Nsight Systems or
 * another NVTX tool is attached), NVTX hands its ranges to that tool, not to
 * nnspy: nnspy leaves the variable alone and says once that nvtx frames cannot be
 * seen. NVTX supports one tool per process; nnspy never competes with the one
 * the user attached. In the other frame modes nnspy does not attach to NVTX at
 * all (NVTX calls stay the no-ops they are without a tool).
 *
 * InitializeInjectionNvtx2 installs nnspy's handlers in the calling NVTX copy's
 * callback tables (NVTX_ETID_CALLBACKS): the core range calls (push/pop and
 * start/end, A, W and Ex forms) and their domain forms, plus domain creation and
 * string registration, which the domain forms and registered messages need. It
 * is called once per NVTX copy in the process; all copies share nnspy's state.
 *
 * Push/pop ranges nest per thread and per domain. Each thread keeps a fixed stack
 * of (domain, is-a-frame-range) entries, MAX_DEPTH deep: a pop ends the topmost
 * range of its own domain, so that libraries with their own domains may
 * interleave. Pushes past MAX_DEPTH are only counted, and the pops that follow
 * consume that count first. Start/end ranges may end on another thread: the id
 * nnspy returns from a start carries in its low bit whether the range is a frame
 * range, so no table of open ranges is needed. Domain and registered-string
 * handles are likewise plain tagged numbers, never dereferenced: nothing on these
 * paths allocates, locks (except frame_marks.c's lock, taken only for a range of
 * the frame name) or reads more of a message than the frame name's length + 1.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define NVTX_NO_IMPL /* types and callback ids only: nnspy is the tool, not a client */
#include <nvtx3/nvToolsExt.h>

#include "core.h"
#include "frame_marks.h"

/* The value nnspy gives NVTX_INJECTION64_PATH: libnnspy.so's soname (Makefile). */
#define SELF_SONAME "libnnspy.so"
#define INJECTION_VAR "NVTX_INJECTION64_PATH"

#define MAX_DEPTH 64

/* ------------------------------------------------------------ frame names */

static const char *frame_name(void)
{
    return nn_config_get()->frame_range;
}

static bool ascii_is_frame(const char *s)
{
    return s && strcmp(s, frame_name()) == 0;
}

/* A wide string (UTF-32 on Linux) compared with the frame name in UTF-8, one
 * character at a time: never reads past the first character that differs. */
static bool wide_is_frame(const wchar_t *w)
{
    if (!w) return false;
    const unsigned char *want = (const unsigned char *)frame_name();
    for (;; w++) {
        uint32_t c = (uint32_t)*w;
        unsigned char u[4];
        int n;
        if (c == 0) return *want == 0;
        if (c < 0x80) {
            u[0] = (unsigned char)c;
            n = 1;
        } else if (c < 0x800) {
            u[0] = (unsigned char)(0xC0 | c >> 6);
            u[1] = (unsigned char)(0x80 | (c & 0x3F));
            n = 2;
        } else if (c < 0x10000) {
            if (c >= 0xD800 && c <= 0xDFFF) return false; /* a lone surrogate */
            u[0] = (unsigned char)(0xE0 | c >> 12);
            u[1] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
            u[2] = (unsigned char)(0x80 | (c & 0x3F));
            n = 3;
        } else if (c <= 0x10FFFF) {
            u[0] = (unsigned char)(0xF0 | c >> 18);
            u[1] = (unsigned char)(0x80 | (c >> 12 & 0x3F));
            u[2] = (unsigned char)(0x80 | (c >> 6 & 0x3F));
            u[3] = (unsigned char)(0x80 | (c & 0x3F));
            n = 4;
        } else {
            return false; /* not a character */
        }
        for (int i = 0; i < n; i++)
            if (*want++ != u[i]) return false; /* also stops at the name's end */
    }
}

/* ------------------------------------------------------------ handles */

/*
 * Domain and registered-string handles are numbers nnspy hands out, never
 * pointers: (n << 2) | HANDLE_TAG, plus HANDLE_FRAME for a registered string equal
 * to the frame name. A real pointer (aligned) never carries the tag.
 */
#define HANDLE_TAG   ((uintptr_t)2)
#define HANDLE_FRAME ((uintptr_t)1)

static uint64_t next_number = 1;

static uint64_t new_number(void)
{
    return __atomic_fetch_add(&next_number, 1, __ATOMIC_RELAXED);
}

static uintptr_t new_handle(bool frame)
{
    return (uintptr_t)new_number() << 2 | HANDLE_TAG | (frame ? HANDLE_FRAME : 0);
}

static bool registered_is_frame(nvtxStringHandle_t h)
{
    uintptr_t v = (uintptr_t)h;
    return (v & (HANDLE_TAG | HANDLE_FRAME)) == (HANDLE_TAG | HANDLE_FRAME);
}

static bool attributes_are_frame(const nvtxEventAttributes_t *a)
{
    if (!a || a->size < offsetof(nvtxEventAttributes_t, message) + sizeof a->message) return false;
    switch (a->messageType) {
    case NVTX_MESSAGE_TYPE_ASCII: return ascii_is_frame(a->message.ascii);
    case NVTX_MESSAGE_TYPE_UNICODE: return wide_is_frame(a->message.unicode);
    case NVTX_MESSAGE_TYPE_REGISTERED: return registered_is_frame(a->message.registered);
    default: return false;
    }
}

/* ------------------------------------------------------------ push / pop */

typedef struct range_stack {
    uint32_t depth;                /* entries in use */
    uint32_t overflow;             /* pushes past MAX_DEPTH, not kept */
    uint64_t frame_bits;           /* bit i: entry i is a frame range */
    const void *domain[MAX_DEPTH]; /* entry i's domain (NULL: the default domain) */
} range_stack;

static __thread range_stack ranges;

static int level_of(const range_stack *s, const void *domain)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->depth; i++) n += s->domain[i] == domain;
    uint64_t level = (uint64_t)n + s->overflow;
    return level > INT_MAX ? INT_MAX : (int)level;
}

/* Returns the 0-based level of the range started, in its domain. */
static int range_push(const void *domain, bool frame)
{
    range_stack *s = &ranges;
    int level = level_of(s, domain);
    if (s->depth == MAX_DEPTH) {
        if (s->overflow < UINT32_MAX) s->overflow++;
        return level; /* too deep: ignored, and the matching pop too */
    }
    uint64_t bit = 1ULL << s->depth;
    s->frame_bits = frame ? s->frame_bits | bit : s->frame_bits & ~bit;
    s->domain[s->depth++] = domain;
    if (frame) nn_frame_range_push(frame_name());
    return level;
}

/* Returns the level of the range ended (the level left open, 0-based), or -1
 * when this thread has no open range in that domain. */
static int range_pop(const void *domain)
{
    range_stack *s = &ranges;
    if (s->overflow) {
        s->overflow--;
        return level_of(s, domain);
    }
    uint32_t i = s->depth;
    while (i > 0 && s->domain[i - 1] != domain) i--;
    if (i == 0) return -1; /* a pop without a push */
    i--;
    bool frame = s->frame_bits >> i & 1;
    memmove(&s->domain[i], &s->domain[i + 1], (s->depth - 1 - i) * sizeof s->domain[0]);
    uint64_t below = s->frame_bits & ((1ULL << i) - 1);
    uint64_t above = i + 1 < 64 ? s->frame_bits >> (i + 1) << i : 0;
    s->frame_bits = below | above;
    s->depth--;
    if (frame) nn_frame_range_pop(frame_name());
    return level_of(s, domain);
}

/* ------------------------------------------------------------ start / end */

/* The id's low bit says whether the range is a frame range. */
static nvtxRangeId_t range_start(bool frame)
{
    nvtxRangeId_t id = new_number() << 1 | (frame ? 1 : 0);
    if (frame) nn_frame_range_push(frame_name());
    return id;
}

static void range_end(nvtxRangeId_t id)
{
    if (id & 1) nn_frame_range_pop(frame_name());
}

/* ------------------------------------------------------------ the handlers */

static int push_a(const char *message)
{
    return range_push(NULL, ascii_is_frame(message));
}

static int push_w(const wchar_t *message)
{
    return range_push(NULL, wide_is_frame(message));
}

static int push_ex(const nvtxEventAttributes_t *a)
{
    return range_push(NULL, attributes_are_frame(a));
}

static int pop(void)
{
    return range_pop(NULL);
}

static nvtxRangeId_t start_a(const char *message)
{
    return range_start(ascii_is_frame(message));
}

static nvtxRangeId_t start_w(const wchar_t *message)
{
    return range_start(wide_is_frame(message));
}

static nvtxRangeId_t start_ex(const nvtxEventAttributes_t *a)
{
    return range_start(attributes_are_frame(a));
}

static void end(nvtxRangeId_t id)
{
    range_end(id);
}

static int domain_push_ex(nvtxDomainHandle_t domain, const nvtxEventAttributes_t *a)
{
    return range_push(domain, attributes_are_frame(a));
}

static int domain_pop(nvtxDomainHandle_t domain)
{
    return range_pop(domain);
}

static nvtxRangeId_t domain_start_ex(nvtxDomainHandle_t domain, const nvtxEventAttributes_t *a)
{
    (void)domain;
    return range_start(attributes_are_frame(a));
}

static void domain_end(nvtxDomainHandle_t domain, nvtxRangeId_t id)
{
    (void)domain;
    range_end(id);
}

static nvtxDomainHandle_t domain_create_a(const char *name)
{
    (void)name;
    return (nvtxDomainHandle_t)new_handle(false);
}

static nvtxDomainHandle_t domain_create_w(const wchar_t *name)
{
    (void)name;
    return (nvtxDomainHandle_t)new_handle(false);
}

static nvtxStringHandle_t register_string_a(nvtxDomainHandle_t domain, const char *s)
{
    (void)domain;
    return (nvtxStringHandle_t)new_handle(ascii_is_frame(s));
}

static nvtxStringHandle_t register_string_w(nvtxDomainHandle_t domain, const wchar_t *s)
{
    (void)domain;
    return (nvtxStringHandle_t)new_handle(wide_is_frame(s));
}

/* ------------------------------------------------------------ attaching */

typedef struct handler {
    unsigned id;
    NvtxFunctionPointer fn;
} handler;

#define HANDLER(ID, FN) {(ID), (NvtxFunctionPointer)(FN)}

static const handler core_handlers[] = {
    HANDLER(NVTX_CBID_CORE_RangeStartEx, start_ex), HANDLER(NVTX_CBID_CORE_RangeStartA, start_a),
    HANDLER(NVTX_CBID_CORE_RangeStartW, start_w),   HANDLER(NVTX_CBID_CORE_RangeEnd, end),
    HANDLER(NVTX_CBID_CORE_RangePushEx, push_ex),   HANDLER(NVTX_CBID_CORE_RangePushA, push_a),
    HANDLER(NVTX_CBID_CORE_RangePushW, push_w),     HANDLER(NVTX_CBID_CORE_RangePop, pop),
};

static const handler core2_handlers[] = {
    HANDLER(NVTX_CBID_CORE2_DomainRangeStartEx, domain_start_ex),
    HANDLER(NVTX_CBID_CORE2_DomainRangeEnd, domain_end),
    HANDLER(NVTX_CBID_CORE2_DomainRangePushEx, domain_push_ex),
    HANDLER(NVTX_CBID_CORE2_DomainRangePop, domain_pop),
    HANDLER(NVTX_CBID_CORE2_DomainRegisterStringA, register_string_a),
    HANDLER(NVTX_CBID_CORE2_DomainRegisterStringW, register_string_w),
    HANDLER(NVTX_CBID_CORE2_DomainCreateA, domain_create_a),
    HANDLER(NVTX_CBID_CORE2_DomainCreateW, domain_create_w),
};

/* Installs handlers in one module's table; returns how many were installed. */
static int install(const NvtxExportTableCallbacks *cb, NvtxCallbackModule module,
                   const handler *h, size_t n)
{
    NvtxFunctionTable table = NULL;
    unsigned int size = 0;
    if (!cb->GetModuleFunctionTable(module, &table, &size) || !table) return 0;
    int installed = 0;
    for (size_t i = 0; i < n; i++) {
        /* size counts the table's entries, index 0 (invalid) included */
        if (h[i].id >= size || !table[h[i].id]) continue;
        *table[h[i].id] = h[i].fn;
        installed++;
    }
    return installed;
}

static bool attach_to_nvtx(void)
{
    return nn_active() && nn_config_get()->frame_mode == NN_FRAME_NVTX;
}

/*
 * Called by each NVTX copy at its first call, with that copy's export table.
 * Returns non-zero (success) even when it attaches nothing, so that NVTX makes
 * its calls no-ops rather than look further or report an error.
 */
NN_EXPORT int InitializeInjectionNvtx2(NvtxGetExportTableFunc_t get_export_table)
{
    if (!get_export_table || !attach_to_nvtx()) return 1;
    const NvtxExportTableVersionInfo *version =
        (const NvtxExportTableVersionInfo *)get_export_table(NVTX_ETID_VERSIONINFO);
    if (version && version->struct_size >= sizeof *version && version->SetInjectionNvtxVersion)
        version->SetInjectionNvtxVersion(NVTX_VERSION);
    const NvtxExportTableCallbacks *cb =
        (const NvtxExportTableCallbacks *)get_export_table(NVTX_ETID_CALLBACKS);
    if (!cb || cb->struct_size < sizeof *cb || !cb->GetModuleFunctionTable) {
        nn_warn_once("this NVTX has no callback table: its ranges cannot make frames");
        return 1;
    }
    install(cb, NVTX_CB_MODULE_CORE, core_handlers, sizeof core_handlers / sizeof core_handlers[0]);
    install(cb, NVTX_CB_MODULE_CORE2, core2_handlers,
            sizeof core2_handlers / sizeof core2_handlers[0]);
    return 1;
}

/* The static-injection hook the map exports. NVTX's own weak copy of this symbol
 * is hidden in each client object (see the top of this file), so this definition
 * is not what attaches nnspy; it serves an NVTX built without that visibility. */
NN_EXPORT NvtxInitializeInjectionNvtxFunc_t InitializeInjectionNvtx2_fnptr =
    InitializeInjectionNvtx2;

/* Whether an NVTX_INJECTION64_PATH value names nnspy (set by nnspy in a parent
 * process, or by hand). */
static bool names_nnspy(const char *v)
{
    const char *base = strrchr(v, '/');
    return strcmp(base ? base + 1 : v, SELF_SONAME) == 0;
}

/* After core.c's constructor (101), which reads the configuration. Runs while
 * the process has one thread, before the program's first NVTX call. */
__attribute__((constructor(210))) static void nvtx_attach(void)
{
    if (!attach_to_nvtx()) return;
    const char *v = getenv(INJECTION_VAR);
    if (v && *v) {
        /* Another tool (Nsight) is attached: NVTX serves it, and nnspy keeps out. */
        if (!names_nnspy(v))
            nn_warn("NVTX_INJECTION64_PATH is set (%.200s): NVTX ranges go to that tool, so "
                    "NNSPY_FRAME=nvtx:%s finds no frame",
                    v, frame_name());
        return;
    }
    if (setenv(INJECTION_VAR, SELF_SONAME, 1) != 0)
        nn_warn("cannot set NVTX_INJECTION64_PATH: NNSPY_FRAME=nvtx finds no frame");
}
