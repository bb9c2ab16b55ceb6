/*
 * diff.c: `nnspy diff`, two runs compared from their traces (diff.h says what is
 * compared and how). Allocates: a command, not for signal handlers.
 *
 * Built with NN_DIFF_NO_READER, the file leaves out what needs the trace reader
 * (nn_diff_main and the file and directory loader): the unit test includes it so,
 * and drives nn_diff_run with traces built in memory.
 */
#define _GNU_SOURCE
#include "diff.h"

#include <dirent.h>
#include <errno.h>
#include <math.h> /* isfinite: a macro, no libm */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define S(x) ((x) ? (x) : "")

#ifndef NN_FRAMES_MAX_CALLS /* frames.h's: frames are found among the first calls only */
#define NN_FRAMES_MAX_CALLS (1u << 20)
#endif

static const char *const metric_option[NN_DIFF_N_METRICS] = {
    [NN_DIFF_MACS] = "--fail-macs",
    [NN_DIFF_PARAMS] = "--fail-params",
    [NN_DIFF_LATENCY] = "--fail-latency",
};
static const char *const metric_label[NN_DIFF_N_METRICS] = {
    [NN_DIFF_MACS] = "MACs",
    [NN_DIFF_PARAMS] = "parameters",
    [NN_DIFF_LATENCY] = "p50 frame latency",
};

const char *nn_diff_option_name(nn_diff_metric m)
{
    return (unsigned)m < NN_DIFF_N_METRICS ? metric_option[m] : "?";
}

#define DIFF_USAGE                                                                                 \
    "usage: nnspy diff [--fail-macs PCT] [--fail-params PCT] [--fail-latency PCT]\n"               \
    "                  [--format table|json] A B\n"

const char nn_diff_usage[] = DIFF_USAGE;

const char nn_diff_help[] =
    DIFF_USAGE "\n"
               "Compares run B with run A. A and B are .nns traces, or directories whose traces\n"
               "(*.nns, *.nns.N) are merged: every process of one run.\n"
               "\n"
               "operations  one frame of each trace (its last steady frame), or all its calls\n"
               "            when the run does not repeat; matched in order by api and op, with\n"
               "            their shapes: changed (shape, data type or cost), added (B only),\n"
               "            removed (A only), each with its MACs, FLOPs and parameter difference\n"
               "totals      calls, MACs, FLOPs, parameters, bytes: B - A and (B - A) / A\n"
               "latency     frame latency p50, p90, p99, when both runs are timed\n"
               "\n"
               "options:\n"
               "  --fail-macs PCT     fail (exit 3) when B's total MACs exceed A's by more than\n"
               "                      PCT percent\n"
               "  --fail-params PCT   the same for total parameters\n"
               "  --fail-latency PCT  the same for p50 frame latency; also fails when a run has\n"
               "                      no timed frame\n"
               "  --format table|json the report's form on stdout (default table; JSON schema\n"
               "                      nnspy.diff/1)\n"
               "  -h, --help          this text\n"
               "\n"
               "exit status: 0 compared, every check passed; 1 a trace could not be read;\n"
               "2 usage error; 3 a --fail-* check failed (one line on stderr says which).\n";

/* ================================================================== options */

/* A percentage: a finite number >= 0, with an optional trailing '%'. */
static bool parse_pct(const char *text, double *out)
{
    if (!text || !*text) return false;
    /* strtod takes "inf", "nan", hex and leading blanks: only plain decimals here */
    for (const char *p = text; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == '.' || (*p == '%' && p[1] == '\0' && p > text)))
            return false;
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno == ERANGE || !isfinite(v) || v < 0) return false;
    if (*end == '%') end++;
    if (*end != '\0') return false;
    *out = v;
    return true;
}

nn_diff_parse_result nn_diff_parse_options(int argc, char *const *argv, nn_diff_options *o)
{
    *o = (nn_diff_options){.format = NN_DIFF_FORMAT_TABLE};
    int positional = 0;
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!arg) break;
        if (!options_done && arg[0] == '-' && arg[1] != '\0') {
            if (!strcmp(arg, "--")) {
                options_done = true;
                continue;
            }
            if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) return NN_DIFF_PARSE_HELP;
            /* --name VALUE or --name=VALUE */
            const char *eq = strchr(arg, '=');
            size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
            static const char *const names[] = {"--fail-macs", "--fail-params", "--fail-latency",
                                                "--format"};
            static const char *const no_value[] = {"--fail-macs needs a value: a percentage",
                                                   "--fail-params needs a value: a percentage",
                                                   "--fail-latency needs a value: a percentage",
                                                   "--format needs a value: table or json"};
            static const char *const bad_value[] = {
                "--fail-macs takes a percentage >= 0 (10, 2.5)",
                "--fail-params takes a percentage >= 0 (10, 2.5)",
                "--fail-latency takes a percentage >= 0 (10, 2.5)", "--format is table or json"};
            int which = -1;
            for (int k = 0; k < 4; k++)
                if (strlen(names[k]) == name_len && !strncmp(arg, names[k], name_len)) which = k;
            if (which < 0) {
                o->error = "unknown option";
                o->culprit = arg;
                return NN_DIFF_PARSE_ERROR;
            }
            const char *value = eq ? eq + 1 : NULL;
            if (!value) {
                if (i + 1 >= argc || !argv[i + 1]) {
                    o->error = no_value[which];
                    o->culprit = arg;
                    return NN_DIFF_PARSE_ERROR;
                }
                value = argv[++i];
            }
            if (which == 3) {
                if (!strcmp(value, "table"))
                    o->format = NN_DIFF_FORMAT_TABLE;
                else if (!strcmp(value, "json"))
                    o->format = NN_DIFF_FORMAT_JSON;
                else {
                    o->error = bad_value[which];
                    o->culprit = value;
                    return NN_DIFF_PARSE_ERROR;
                }
                continue;
            }
            double pct;
            if (!parse_pct(value, &pct)) {
                o->error = bad_value[which];
                o->culprit = value;
                return NN_DIFF_PARSE_ERROR;
            }
            o->fail_set[which] = true;
            o->fail_pct[which] = pct;
            continue;
        }
        if (positional == 0)
            o->a = arg;
        else if (positional == 1)
            o->b = arg;
        else {
            o->error = "too many arguments: give two runs, A and B";
            o->culprit = arg;
            return NN_DIFF_PARSE_ERROR;
        }
        positional++;
    }
    if (positional < 2) {
        o->error = positional == 0 ? "no runs given: give two, A and B (traces or directories)"
                                   : "only one run given: give two, A and B";
        return NN_DIFF_PARSE_ERROR;
    }
    if (!*o->a || !*o->b) {
        o->error = "a run's name is empty";
        return NN_DIFF_PARSE_ERROR;
    }
    return NN_DIFF_PARSE_OK;
}

/* =============================================================== comparison */

static uint64_t add_sat(uint64_t x, uint64_t y, bool *overflow)
{
    uint64_t r;
    if (__builtin_add_overflow(x, y, &r)) {
        *overflow = true;
        return UINT64_MAX;
    }
    return r;
}

/* One operation of a side's compared sequence, with its keys hashed. */
typedef struct item {
    const nn_trace_op *op;
    size_t trace, position;
    uint64_t full, loose; /* hashes of (api, op, function, shape, dtype) and (api, op) */
} item;

static uint64_t fnv_str(uint64_t h, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)S(s); *p; p++)
        h = (h ^ *p) * 0x100000001b3ull;
    return (h ^ 0xff) * 0x100000001b3ull; /* a separator: ("ab", "c") != ("a", "bc") */
}

static void hash_item(item *it)
{
    const nn_trace_op *o = it->op;
    uint64_t h = (0xcbf29ce484222325ull ^ o->api) * 0x100000001b3ull;
    h = fnv_str(h, o->op);
    it->loose = h;
    h = fnv_str(h, o->function);
    h = fnv_str(h, o->shape);
    it->full = fnv_str(h, o->dtype);
}

static bool same_key(const item *x, const item *y, bool loose)
{
    if (loose ? x->loose != y->loose : x->full != y->full) return false;
    const nn_trace_op *p = x->op, *q = y->op;
    if (p->api != q->api || strcmp(S(p->op), S(q->op))) return false;
    return loose || (!strcmp(S(p->function), S(q->function)) && !strcmp(S(p->shape), S(q->shape)) &&
                     !strcmp(S(p->dtype), S(q->dtype)));
}

#define OUTCOME_FLAGS (NN_TOP_SUCCEEDED | NN_TOP_COST_KNOWN | NN_TOP_OVERFLOW)

static bool identical(const item *x, const item *y)
{
    const nn_trace_op *p = x->op, *q = y->op;
    return same_key(x, y, false) && p->macs == q->macs && p->flops == q->flops &&
           p->params_read == q->params_read &&
           (p->flags & OUTCOME_FLAGS) == (q->flags & OUTCOME_FLAGS);
}

/* The frame finder's view of a trace's operations. */
static nn_frame_op *frame_ops_of(const nn_trace *t)
{
    nn_frame_op *f = malloc((t->n_ops ? t->n_ops : 1) * sizeof *f);
    if (!f) return NULL;
    for (size_t i = 0; i < t->n_ops; i++) {
        const nn_trace_op *o = &t->ops[i];
        f[i] = (nn_frame_op){.signature = o->signature,
                             .macs = o->macs,
                             .flops = o->flops,
                             .gpu_start_ns = o->gpu_start_ns,
                             .gpu_end_ns = o->gpu_end_ns,
                             .host_ns = o->host_ns,
                             .given_frame = o->given_frame,
                             .in_graph_launch = (o->flags & NN_TOP_IN_GRAPH_LAUNCH) != 0,
                             .autotune = o->tune_search,
                             .tune_key = o->tune_key,
                             .tune_variant = o->tune_variant};
    }
    nn_frames_mark_autotuning(f, t->n_ops);
    return f;
}

static bool auto_mode(const nn_trace *t)
{
    return !t->frame_mode || !*t->frame_mode || !strcmp(t->frame_mode, "auto");
}

/* A growing list of frames (every frame of a side, for its latency). */
typedef struct frame_list {
    nn_frame *v;
    size_t n, cap;
} frame_list;

static int frames_push(frame_list *l, nn_frame f)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        nn_frame *v = realloc(l->v, cap * sizeof *v);
        if (!v) return -1;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = f;
    return 0;
}

/*
 * One trace's frames: those measured for latency go to *frames; [*first, + *count)
 * is what is compared: its last frame when it has one, else every call.
 */
static int trace_frames(const nn_trace *t, frame_list *frames, size_t *first, size_t *count,
                        bool *found)
{
    *first = 0;
    *count = t->n_ops;
    *found = false;
    if (t->n_ops == 0) return 0;
    nn_frame_op *ops = frame_ops_of(t);
    if (!ops) return -1;
    /* Frames are found among the first NN_FRAMES_MAX_CALLS calls, as the preload and
     * `nnspy report` find them. */
    size_t n = 0;
    while (n < t->n_ops && t->ops[n].call < NN_FRAMES_MAX_CALLS) n++;
    int rc = 0;
    if (auto_mode(t)) {
        size_t period, start = nn_frames_auto(ops, n, &period);
        size_t n_frames = period ? (n - start) / period : 0;
        for (size_t k = 0; k < n_frames && rc == 0; k++)
            rc = frames_push(frames, nn_frame_measure(ops, start + k * period, period));
        if (n_frames >= 2) {
            *found = true;
            *first = start + (n_frames - 1) * period;
            *count = period;
        }
    } else {
        size_t n_frames = nn_frames_given(ops, n, NULL, 0);
        nn_frame *given = malloc((n_frames ? n_frames : 1) * sizeof *given);
        if (!given)
            rc = -1;
        else {
            nn_frames_given(ops, n, given, n_frames);
            for (size_t k = 0; k < n_frames && rc == 0; k++) rc = frames_push(frames, given[k]);
            if (n_frames >= 1) {
                *found = true;
                *first = given[n_frames - 1].first;
                *count = given[n_frames - 1].count;
            }
            free(given);
        }
    }
    free(ops);
    return rc;
}

static void add_totals(nn_trace_totals *sum, const nn_trace_totals *t)
{
    bool o = sum->overflow || t->overflow;
    sum->calls = add_sat(sum->calls, t->calls, &o);
    sum->failed_calls = add_sat(sum->failed_calls, t->failed_calls, &o);
    sum->unknown_cost_calls = add_sat(sum->unknown_cost_calls, t->unknown_cost_calls, &o);
    sum->macs = add_sat(sum->macs, t->macs, &o);
    sum->flops = add_sat(sum->flops, t->flops, &o);
    sum->params = add_sat(sum->params, t->params, &o);
    sum->param_bytes = add_sat(sum->param_bytes, t->param_bytes, &o);
    sum->bytes_read = add_sat(sum->bytes_read, t->bytes_read, &o);
    sum->bytes_written = add_sat(sum->bytes_written, t->bytes_written, &o);
    sum->overflow = o;
    sum->params_incomplete |= t->params_incomplete;
    sum->bytes_incomplete |= t->bytes_incomplete;
}

/* Summarises one side and builds its compared sequence (*seq, *n). */
static int build_side(const nn_trace *t, size_t nt, nn_diff_side *side, item **seq, size_t *n)
{
    *side = (nn_diff_side){.traces = nt, .complete = true, .frame_mode = "auto", .device = ""};
    *seq = NULL;
    *n = 0;
    frame_list frames = {0};
    size_t *first = calloc(nt ? nt : 1, sizeof *first), *count = calloc(nt ? nt : 1, sizeof *count);
    int rc = first && count ? 0 : -1;
    bool any_ops = false, all_found = true;
    size_t total = 0;
    for (size_t i = 0; i < nt && rc == 0; i++) {
        bool found;
        rc = trace_frames(&t[i], &frames, &first[i], &count[i], &found);
        if (t[i].n_ops) {
            any_ops = true;
            all_found &= found;
        }
        total += count[i];
        side->ops += t[i].n_ops;
        add_totals(&side->totals, &t[i].totals);
        side->complete &= t[i].complete;
        side->dropped_records += t[i].dropped_records;
        side->simulated |= t[i].simulated;
        const char *mode = auto_mode(&t[i]) ? "auto" : t[i].frame_mode;
        if (i == 0) {
            side->frame_mode = mode;
            side->device = S(t[i].device_name);
        } else if (strcmp(side->frame_mode, mode)) {
            side->frame_mode = "mixed";
        }
    }
    side->frames_found = any_ops && all_found;
    if (rc == 0) {
        int64_t *scratch = malloc((frames.n ? frames.n : 1) * sizeof *scratch);
        if (!scratch)
            rc = -1;
        else
            side->latency = nn_latency_stats_of(frames.v, frames.n, scratch);
        free(scratch);
        side->frames = frames.n;
    }
    if (rc == 0) {
        *seq = malloc((total ? total : 1) * sizeof **seq);
        if (!*seq) rc = -1;
    }
    if (rc == 0) {
        bool ignored = false;
        for (size_t i = 0; i < nt; i++)
            for (size_t k = 0; k < count[i]; k++) {
                item *it = &(*seq)[*n];
                *it = (item){.op = &t[i].ops[first[i] + k], .trace = i, .position = *n};
                hash_item(it);
                side->compared_macs = add_sat(side->compared_macs, it->op->macs, &ignored);
                side->compared_flops = add_sat(side->compared_flops, it->op->flops, &ignored);
                (*n)++;
            }
        side->compared = *n;
    }
    free(frames.v);
    free(first);
    free(count);
    return rc;
}

/* ---------------------------------------------------------------- alignment */

typedef struct builder {
    nn_diff *d;
    size_t cap;
    bool failed, capped;
} builder;

static void emit(builder *bd, nn_diff_kind kind, const item *a, const item *b)
{
    nn_diff *d = bd->d;
    if (bd->failed) return;
    if (d->n_entries == bd->cap) {
        size_t cap = bd->cap ? 2 * bd->cap : 64;
        nn_diff_entry *v = realloc(d->entries, cap * sizeof *v);
        if (!v) {
            bd->failed = true;
            return;
        }
        d->entries = v;
        bd->cap = cap;
    }
    nn_diff_entry *e = &d->entries[d->n_entries++];
    *e = (nn_diff_entry){.kind = kind};
    if (a) e->a = (nn_diff_ref){.op = a->op, .trace = a->trace, .position = a->position};
    if (b) e->b = (nn_diff_ref){.op = b->op, .trace = b->trace, .position = b->position};
    switch (kind) {
    case NN_DIFF_SAME: d->same++; break;
    case NN_DIFF_CHANGED: d->changed++; break;
    case NN_DIFF_ADDED: d->added++; break;
    case NN_DIFF_REMOVED: d->removed++; break;
    }
}

static void emit_pair(builder *bd, const item *a, const item *b)
{
    emit(bd, identical(a, b) ? NN_DIFF_SAME : NN_DIFF_CHANGED, a, b);
}

/* Position by position: the same (api, op) is a pair, anything else removed and added. */
static void by_position(builder *bd, const item *a, size_t na, const item *b, size_t nb)
{
    size_t i = 0;
    for (; i < na && i < nb; i++) {
        if (same_key(&a[i], &b[i], true)) {
            emit_pair(bd, &a[i], &b[i]);
        } else {
            emit(bd, NN_DIFF_REMOVED, &a[i], NULL);
            emit(bd, NN_DIFF_ADDED, NULL, &b[i]);
        }
    }
    for (size_t k = i; k < na; k++) emit(bd, NN_DIFF_REMOVED, &a[k], NULL);
    for (size_t k = i; k < nb; k++) emit(bd, NN_DIFF_ADDED, NULL, &b[k]);
}

static bool fits_lcs(size_t na, size_t nb)
{
    return na == 0 || nb <= NN_DIFF_LCS_MAX_CELLS / na;
}

/*
 * A longest common subsequence of a[0 .. na) and b[0 .. nb) under same_key(loose):
 * writes its pairs, ascending, to pa[] and pb[] (min(na, nb) slots each) and
 * returns how many, or SIZE_MAX when out of memory. The table holds one choice per
 * cell; lengths are kept for two rows only.
 */
static size_t lcs(const item *a, size_t na, const item *b, size_t nb, bool loose, size_t *pa,
                  size_t *pb)
{
    if (na == 0 || nb == 0) return 0;
    unsigned char *dir = malloc(na * nb);
    uint32_t *next = calloc(nb + 1, sizeof *next), *cur = calloc(nb + 1, sizeof *cur);
    size_t pairs = SIZE_MAX;
    if (dir && next && cur) {
        for (size_t i = na; i-- > 0;) {
            cur[nb] = 0;
            for (size_t j = nb; j-- > 0;) {
                unsigned char *c = &dir[i * nb + j];
                if (same_key(&a[i], &b[j], loose)) {
                    cur[j] = next[j + 1] + 1;
                    *c = 0;
                } else if (next[j] >= cur[j + 1]) {
                    cur[j] = next[j]; /* skip a[i]: removals come before additions */
                    *c = 1;
                } else {
                    cur[j] = cur[j + 1];
                    *c = 2;
                }
            }
            uint32_t *t = next;
            next = cur;
            cur = t;
        }
        pairs = 0;
        size_t i = 0, j = 0;
        while (i < na && j < nb) {
            unsigned char c = dir[i * nb + j];
            if (c == 0) {
                pa[pairs] = i++;
                pb[pairs++] = j++;
            } else if (c == 1) {
                i++;
            } else {
                j++;
            }
        }
    }
    free(dir);
    free(next);
    free(cur);
    return pairs;
}

/* A gap between two common calls: pairs by (api, op) are changes, the rest removed
 * or added, in order. */
static void align_gap(builder *bd, const item *a, size_t na, const item *b, size_t nb)
{
    if (na == 0 || nb == 0 || !fits_lcs(na, nb)) {
        if (na && nb) bd->capped = true;
        by_position(bd, a, na, b, nb);
        return;
    }
    size_t m = na < nb ? na : nb;
    size_t *pa = malloc(m * sizeof *pa), *pb = malloc(m * sizeof *pb);
    size_t pairs = pa && pb ? lcs(a, na, b, nb, true, pa, pb) : SIZE_MAX;
    if (pairs == SIZE_MAX) {
        bd->failed = true;
    } else {
        size_t i = 0, j = 0;
        for (size_t k = 0; k <= pairs; k++) {
            size_t ia = k < pairs ? pa[k] : na, jb = k < pairs ? pb[k] : nb;
            for (; i < ia; i++) emit(bd, NN_DIFF_REMOVED, &a[i], NULL);
            for (; j < jb; j++) emit(bd, NN_DIFF_ADDED, NULL, &b[j]);
            if (k < pairs) emit_pair(bd, &a[i++], &b[j++]);
        }
    }
    free(pa);
    free(pb);
}

static void align(builder *bd, const item *a, size_t na, const item *b, size_t nb)
{
    size_t head = 0, tail = 0;
    while (head < na && head < nb && same_key(&a[head], &b[head], false)) head++;
    while (tail < na - head && tail < nb - head &&
           same_key(&a[na - 1 - tail], &b[nb - 1 - tail], false))
        tail++;
    for (size_t k = 0; k < head; k++) emit_pair(bd, &a[k], &b[k]);
    const item *ma = a + head, *mb = b + head;
    size_t mna = na - head - tail, mnb = nb - head - tail;
    if (mna && mnb && fits_lcs(mna, mnb)) {
        size_t m = mna < mnb ? mna : mnb;
        size_t *pa = malloc(m * sizeof *pa), *pb = malloc(m * sizeof *pb);
        size_t pairs = pa && pb ? lcs(ma, mna, mb, mnb, false, pa, pb) : SIZE_MAX;
        if (pairs == SIZE_MAX) {
            bd->failed = true;
        } else {
            size_t i = 0, j = 0;
            for (size_t k = 0; k <= pairs; k++) {
                size_t ia = k < pairs ? pa[k] : mna, jb = k < pairs ? pb[k] : mnb;
                align_gap(bd, ma + i, ia - i, mb + j, jb - j);
                i = ia;
                j = jb;
                if (k < pairs) emit_pair(bd, &ma[i++], &mb[j++]);
            }
        }
        free(pa);
        free(pb);
    } else {
        align_gap(bd, ma, mna, mb, mnb);
    }
    for (size_t k = tail; k-- > 0;) emit_pair(bd, &a[na - 1 - k], &b[nb - 1 - k]);
}

nn_diff *nn_diff_compute(const nn_trace *a, size_t na, const nn_trace *b, size_t nb)
{
    nn_diff *d = calloc(1, sizeof *d);
    if (!d) return NULL;
    item *sa = NULL, *sb = NULL;
    size_t la = 0, lb = 0;
    builder bd = {.d = d};
    if (build_side(a, na, &d->a, &sa, &la) != 0 || build_side(b, nb, &d->b, &sb, &lb) != 0) {
        bd.failed = true;
    } else if (d->a.frames_found && d->b.frames_found && la == lb) {
        d->method = NN_DIFF_BY_POSITION;
        by_position(&bd, sa, la, sb, lb);
    } else {
        align(&bd, sa, la, sb, lb);
        d->method = bd.capped ? NN_DIFF_BY_LCS_CAPPED : NN_DIFF_BY_LCS;
    }
    free(sa);
    free(sb);
    if (bd.failed) {
        nn_diff_free(d);
        return NULL;
    }
    return d;
}

void nn_diff_free(nn_diff *d)
{
    if (!d) return;
    free(d->entries);
    free(d);
}

static int compare_traces(const void *x, const void *y)
{
    const nn_trace *p = x, *q = y;
    /* rank first (a trace without one after those with one), then pid, then path */
    if ((p->rank < 0) != (q->rank < 0)) return p->rank < 0 ? 1 : -1;
    if (p->rank != q->rank) return p->rank < q->rank ? -1 : 1;
    if (p->pid != q->pid) return p->pid < q->pid ? -1 : 1;
    return strcmp(S(p->path), S(q->path));
}

void nn_diff_sort_traces(nn_trace *t, size_t n)
{
    if (n > 1) qsort(t, n, sizeof *t, compare_traces);
}

bool nn_diff_relative_pct(uint64_t a, uint64_t b, double *pct)
{
    if (a == 0) {
        *pct = 0;
        return b == 0;
    }
    long double diff = b >= a ? (long double)(b - a) : -(long double)(a - b);
    *pct = (double)(diff / (long double)a * 100.0L);
    return true;
}

/* =================================================================== checks */

size_t nn_diff_checks(const nn_diff *d, const nn_diff_options *o, nn_diff_check *out)
{
    size_t n = 0;
    for (int m = 0; m < NN_DIFF_N_METRICS; m++) {
        if (!o->fail_set[m]) continue;
        nn_diff_check c = {.metric = (nn_diff_metric)m, .threshold_pct = o->fail_pct[m]};
        if (m == NN_DIFF_LATENCY) {
            c.a_missing = d->a.latency.count == 0;
            c.b_missing = d->b.latency.count == 0;
            c.evaluated = !c.a_missing && !c.b_missing;
            if (c.evaluated) {
                c.a = d->a.latency.p50_ms;
                c.b = d->b.latency.p50_ms;
                /* compared in whole nanoseconds, as measured: exact at the threshold */
                long long a_ns = (long long)(c.a * 1e6 + 0.5), b_ns = (long long)(c.b * 1e6 + 0.5);
                if (a_ns <= 0) {
                    c.from_zero = b_ns > 0;
                    c.failed = c.from_zero;
                } else {
                    c.change_pct = (double)(b_ns - a_ns) / (double)a_ns * 100.0;
                    c.failed = (long double)(b_ns - a_ns) * 100.0L >
                               (long double)c.threshold_pct * (long double)a_ns;
                }
            } else {
                c.failed = true; /* a check that cannot be made does not pass */
            }
        } else if (m == NN_DIFF_PARAMS &&
                   (d->a.totals.params_incomplete || d->b.totals.params_incomplete)) {
            /* a trace without END does not know its parameters: cannot be checked */
            c.a_missing = d->a.totals.params_incomplete;
            c.b_missing = d->b.totals.params_incomplete;
            c.failed = true; /* a check that cannot be made does not pass */
        } else {
            uint64_t va = m == NN_DIFF_MACS ? d->a.totals.macs : d->a.totals.params;
            uint64_t vb = m == NN_DIFF_MACS ? d->b.totals.macs : d->b.totals.params;
            c.evaluated = true;
            c.a = (double)va;
            c.b = (double)vb;
            c.from_zero = !nn_diff_relative_pct(va, vb, &c.change_pct);
            /* exact: (B - A) x 100 > PCT x A */
            c.failed =
                vb > va && (c.from_zero || (long double)(vb - va) * 100.0L >
                                               (long double)c.threshold_pct * (long double)va);
        }
        out[n++] = c;
    }
    return n;
}

static void fmt_u64(char *buf, size_t len, uint64_t v)
{
    char digits[32];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n && o + 1 < len; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o + 2 < len) buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
}

void nn_diff_check_message(const nn_diff_check *c, char *buf, size_t len)
{
    const char *opt = nn_diff_option_name(c->metric);
    const char *what = (unsigned)c->metric < NN_DIFF_N_METRICS ? metric_label[c->metric] : "?";
    if (!c->evaluated) {
        snprintf(buf, len, "%s %g%%: cannot be checked: %s no timed frame", opt, c->threshold_pct,
                 c->a_missing && c->b_missing ? "A and B have"
                 : c->a_missing               ? "A has"
                                              : "B has");
        return;
    }
    char va[40], vb[40];
    if (c->metric == NN_DIFF_LATENCY) {
        snprintf(va, sizeof va, "%.6f ms", c->a);
        snprintf(vb, sizeof vb, "%.6f ms", c->b);
    } else {
        fmt_u64(va, sizeof va, (uint64_t)c->a);
        fmt_u64(vb, sizeof vb, (uint64_t)c->b);
    }
    if (c->from_zero)
        snprintf(buf, len, "%s %g%%: %s rose from 0 (A) to %s (B)", opt, c->threshold_pct, what,
                 vb);
    else
        snprintf(buf, len, "%s %g%%: %s %s %.2f%% (A %s, B %s)%s", opt, c->threshold_pct, what,
                 c->change_pct >= 0 ? "rose" : "fell",
                 c->change_pct >= 0 ? c->change_pct : -c->change_pct, va, vb,
                 c->failed ? ", more than the threshold" : ", within the threshold");
}

/* =================================================================== output */

static void fmt_delta(char *buf, size_t len, uint64_t a, uint64_t b, bool commas)
{
    char mag[32]; /* 20 digits and 6 commas at most */
    uint64_t d = b >= a ? b - a : a - b;
    if (commas)
        fmt_u64(mag, sizeof mag, d);
    else
        snprintf(mag, sizeof mag, "%llu", (unsigned long long)d);
    /* JSON has no '+': the sign is written only in the table */
    snprintf(buf, len, "%s%s", b < a ? "-" : (commas && b > a ? "+" : ""), mag);
}

static void fmt_rel(char *buf, size_t len, uint64_t a, uint64_t b)
{
    double pct;
    if (!nn_diff_relative_pct(a, b, &pct))
        snprintf(buf, len, "new");
    else if (pct == 0)
        snprintf(buf, len, "0.00%%");
    else
        snprintf(buf, len, "%+.2f%%", pct);
}

static const char *api_name(uint32_t api)
{
    static const char *const names[] = {"cudnn", "cublas", "cublasLt", "cuda"};
    return api < 3 ? names[api] : "?";
}

static const char *kind_name(nn_diff_kind k)
{
    static const char *const names[] = {"same", "changed", "added", "removed"};
    return names[k];
}

static const char *method_name(nn_diff_method m)
{
    switch (m) {
    case NN_DIFF_BY_POSITION: return "position";
    case NN_DIFF_BY_LCS: return "lcs";
    case NN_DIFF_BY_LCS_CAPPED: return "lcs+position";
    }
    return "?";
}

/* ---------------------------------------------------------------- the table */

#define TABLE_MAX_CHANGES 200

static void side_line(FILE *out, const char *label, const char *name, const nn_diff_side *s,
                      const nn_trace *t, size_t nt)
{
    char calls[40];
    fmt_u64(calls, sizeof calls, s->ops);
    fprintf(out, "  %s: %s (%zu trace%s", label, name ? name : (nt ? S(t[0].path) : "?"), nt,
            nt == 1 ? "" : "s");
    fprintf(out, ", %s calls", calls);
    if (*s->device) fprintf(out, ", %s", s->device);
    if (s->simulated && !strstr(s->device, "simulated")) fprintf(out, ", simulated device");
    fprintf(out, ")\n");
    if (s->frames_found)
        fprintf(out, "     compared: one %s frame per trace, %zu calls\n", s->frame_mode,
                s->compared);
    else
        fprintf(out, "     compared: every call (%zu; the run has no repeating frame)\n",
                s->compared);
    if (!s->complete)
        fprintf(out, "     note: a trace has no END record (its process did not end normally):\n"
                     "     its totals are recomputed from its calls\n");
    if (s->dropped_records)
        fprintf(out, "     note: %llu records were dropped while tracing\n",
                (unsigned long long)s->dropped_records);
    if (s->totals.overflow) fprintf(out, "     note: a total overflowed 64 bits\n");
    if (s->totals.params_incomplete) fprintf(out, "     note: parameters are not fully known\n");
}

static void op_line(FILE *out, const char *label, const nn_diff_ref *r, size_t traces,
                    bool show_function)
{
    const nn_trace_op *o = r->op;
    fprintf(out, "        %s ", label);
    if (traces > 1) fprintf(out, "trace %zu ", r->trace);
    fprintf(out, "call %llu: %s %s", (unsigned long long)o->call,
            *S(o->shape) ? o->shape : "(shape not described)", S(o->dtype));
    if (show_function) fprintf(out, " [%s]", S(o->function));
    if (!(o->flags & NN_TOP_SUCCEEDED))
        fprintf(out, " (call failed)");
    else if (!(o->flags & NN_TOP_COST_KNOWN))
        fprintf(out, " (cost unknown)");
    fputc('\n', out);
}

static void totals_row(FILE *out, const char *what, uint64_t a, uint64_t b)
{
    char va[40], vb[40], vd[40], vr[40];
    fmt_u64(va, sizeof va, a);
    fmt_u64(vb, sizeof vb, b);
    fmt_delta(vd, sizeof vd, a, b, true);
    fmt_rel(vr, sizeof vr, a, b);
    fprintf(out, "  %-14s %20s %20s %20s %9s\n", what, va, vb, vd, vr);
}

static void latency_row(FILE *out, const char *what, double a, double b)
{
    char vr[40];
    if (a > 0)
        snprintf(vr, sizeof vr, "%+.2f%%", (b - a) / a * 100.0);
    else
        snprintf(vr, sizeof vr, "%s", b > 0 ? "new" : "0.00%");
    fprintf(out, "  %-14s %20.6f %20.6f %+20.6f %9s\n", what, a, b, b - a, vr);
}

int nn_diff_write_table(FILE *out, const nn_diff *d, const nn_trace *a, size_t na,
                        const nn_trace *b, size_t nb, const char *a_name, const char *b_name,
                        const nn_diff_check *checks, size_t n_checks)
{
    fprintf(out, "nnspy diff: B compared with A\n");
    side_line(out, "A", a_name, &d->a, a, na);
    side_line(out, "B", b_name, &d->b, b, nb);
    fprintf(out, "\noperations: %zu changed, %zu added, %zu removed, %zu unchanged", d->changed,
            d->added, d->removed, d->same);
    if (d->method == NN_DIFF_BY_POSITION)
        fprintf(out, " (one frame each, position by position)\n");
    else if (d->method == NN_DIFF_BY_LCS)
        fprintf(out, " (in order, longest common subsequence)\n");
    else
        fprintf(out, " (in order; a stretch too long for a longest common subsequence was\n"
                     "compared position by position)\n");
    size_t listed = 0, differing = d->changed + d->added + d->removed;
    if (differing)
        fprintf(out, "      %-9s %-22s %18s %18s %14s\n", "api", "op", "MACs", "FLOPs", "params");
    for (size_t i = 0; i < d->n_entries && listed < TABLE_MAX_CHANGES; i++) {
        const nn_diff_entry *e = &d->entries[i];
        if (e->kind == NN_DIFF_SAME) continue;
        listed++;
        const nn_trace_op *any = e->a.op ? e->a.op : e->b.op;
        uint64_t zero = 0;
        const uint64_t *am = e->a.op ? &e->a.op->macs : &zero,
                       *bm = e->b.op ? &e->b.op->macs : &zero;
        const uint64_t *af = e->a.op ? &e->a.op->flops : &zero,
                       *bf = e->b.op ? &e->b.op->flops : &zero;
        const uint64_t *ap = e->a.op ? &e->a.op->params_read : &zero,
                       *bp = e->b.op ? &e->b.op->params_read : &zero;
        char dm[40], df[40], dp[40];
        fmt_delta(dm, sizeof dm, *am, *bm, true);
        fmt_delta(df, sizeof df, *af, *bf, true);
        fmt_delta(dp, sizeof dp, *ap, *bp, true);
        char mark = e->kind == NN_DIFF_CHANGED ? '~' : e->kind == NN_DIFF_ADDED ? '+' : '-';
        fprintf(out, "  %c   %-9s %-22s %18s %18s %14s\n", mark, api_name(any->api), S(any->op), dm,
                df, dp);
        bool show_function =
            e->a.op && e->b.op && strcmp(S(e->a.op->function), S(e->b.op->function));
        if (e->a.op) op_line(out, "A", &e->a, na, show_function);
        if (e->b.op) op_line(out, "B", &e->b, nb, show_function);
    }
    if (differing > listed)
        fprintf(out, "  ... and %zu more (every one in --format json)\n", differing - listed);

    fprintf(out, "\n%-16s %20s %20s %20s %9s\n", "totals", "A", "B", "B - A", "change");
    totals_row(out, "calls", d->a.totals.calls, d->b.totals.calls);
    totals_row(out, "failed calls", d->a.totals.failed_calls, d->b.totals.failed_calls);
    totals_row(out, "MACs", d->a.totals.macs, d->b.totals.macs);
    totals_row(out, "FLOPs", d->a.totals.flops, d->b.totals.flops);
    totals_row(out, "params", d->a.totals.params, d->b.totals.params);
    totals_row(out, "param bytes", d->a.totals.param_bytes, d->b.totals.param_bytes);
    totals_row(out, "bytes read", d->a.totals.bytes_read, d->b.totals.bytes_read);
    totals_row(out, "bytes written", d->a.totals.bytes_written, d->b.totals.bytes_written);
    if (d->a.frames_found && d->b.frames_found) {
        fprintf(out, "  per compared frame:\n");
        totals_row(out, "MACs", d->a.compared_macs, d->b.compared_macs);
        totals_row(out, "FLOPs", d->a.compared_flops, d->b.compared_flops);
    }

    if (d->a.latency.count && d->b.latency.count) {
        char ha[40], hb[40];
        snprintf(ha, sizeof ha, "A (%zu frame%s)", d->a.latency.count,
                 d->a.latency.count == 1 ? "" : "s");
        snprintf(hb, sizeof hb, "B (%zu frame%s)", d->b.latency.count,
                 d->b.latency.count == 1 ? "" : "s");
        fprintf(out, "\n%-16s %20s %20s %20s %9s\n", "frame latency ms", ha, hb, "B - A", "change");
        latency_row(out, "p50", d->a.latency.p50_ms, d->b.latency.p50_ms);
        latency_row(out, "p90", d->a.latency.p90_ms, d->b.latency.p90_ms);
        latency_row(out, "p99", d->a.latency.p99_ms, d->b.latency.p99_ms);
    } else {
        fprintf(out, "\nframe latency: not compared (%s no timed frame)\n",
                !d->a.latency.count && !d->b.latency.count ? "A and B have"
                : !d->a.latency.count                      ? "A has"
                                                           : "B has");
    }
    if (n_checks) {
        fprintf(out, "\nchecks:\n");
        for (size_t i = 0; i < n_checks; i++) {
            char msg[256];
            nn_diff_check_message(&checks[i], msg, sizeof msg);
            fprintf(out, "  %s  %s\n", checks[i].failed ? "FAILED" : "passed", msg);
        }
    }
    return ferror(out) ? -1 : 0;
}

/* ----------------------------------------------------------------- the JSON */

static void json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (const unsigned char *p = (const unsigned char *)S(s); *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(out, "\\%c", *p);
        else if (*p == '\n')
            fputs("\\n", out);
        else if (*p == '\t')
            fputs("\\t", out);
        else if (*p < 0x20 || *p == 0x7f)
            fprintf(out, "\\u%04x", *p);
        else
            fputc(*p, out);
    }
    fputc('"', out);
}

/* A number with 6 decimals (exact nanoseconds in ms), or round-trip precision. */
static void json_num(FILE *out, double v, bool exact)
{
    if (!isfinite(v))
        fputs("null", out);
    else if (exact)
        fprintf(out, "%.17g", v);
    else
        fprintf(out, "%.6f", v);
}

/* {"a": A, "b": B, "delta": B - A, "relative_pct": (B - A) / A x 100 or null} */
static void json_count(FILE *out, uint64_t a, uint64_t b)
{
    char dl[40];
    double pct;
    fmt_delta(dl, sizeof dl, a, b, false);
    fprintf(out,
            "{\"a\": %llu, \"b\": %llu, \"delta\": %s, \"relative_pct\": ", (unsigned long long)a,
            (unsigned long long)b, dl);
    if (nn_diff_relative_pct(a, b, &pct))
        json_num(out, pct, false);
    else
        fputs("null", out);
    fputc('}', out);
}

static void json_ms(FILE *out, double a, double b)
{
    fputs("{\"a\": ", out);
    json_num(out, a, false);
    fputs(", \"b\": ", out);
    json_num(out, b, false);
    fputs(", \"delta\": ", out);
    json_num(out, b - a, false);
    fputs(", \"relative_pct\": ", out);
    if (a > 0)
        json_num(out, (b - a) / a * 100.0, false);
    else
        fputs(b > 0 ? "null" : "0", out);
    fputc('}', out);
}

static void json_latency(FILE *out, const nn_latency_stats *l)
{
    if (!l->count) {
        fputs("null", out);
        return;
    }
    fprintf(out,
            "{\"frames\": %zu, \"mean\": %.6f, \"p50\": %.6f, \"p90\": %.6f, \"p99\": %.6f, "
            "\"min\": %.6f, \"max\": %.6f}",
            l->count, l->mean_ms, l->p50_ms, l->p90_ms, l->p99_ms, l->min_ms, l->max_ms);
}

static void json_side(FILE *out, const char *name, const nn_diff_side *s, const nn_trace *t,
                      size_t nt)
{
    fputs("{\"argument\": ", out);
    if (name)
        json_str(out, name);
    else
        fputs("null", out);
    fputs(", \"traces\": [", out);
    for (size_t i = 0; i < nt; i++) {
        if (i) fputs(", ", out);
        fputs("{\"path\": ", out);
        json_str(out, t[i].path);
        fprintf(out, ", \"pid\": %ld, \"rank\": ", t[i].pid);
        if (t[i].rank >= 0)
            fprintf(out, "%ld", t[i].rank);
        else
            fputs("null", out);
        fprintf(out, ", \"calls\": %zu, \"complete\": %s}", t[i].n_ops,
                t[i].complete ? "true" : "false");
    }
    fprintf(out, "], \"device\": ");
    json_str(out, s->device);
    fprintf(out,
            ", \"simulated\": %s, \"calls\": %llu, \"complete\": %s, \"dropped_records\": %llu, "
            "\"frame_mode\": ",
            s->simulated ? "true" : "false", (unsigned long long)s->ops,
            s->complete ? "true" : "false", (unsigned long long)s->dropped_records);
    json_str(out, s->frame_mode);
    fprintf(out,
            ", \"frames_found\": %s, \"compared_calls\": %zu, \"compared_macs\": %llu, "
            "\"compared_flops\": %llu, \"overflow\": %s, \"params_incomplete\": %s, "
            "\"latency_ms\": ",
            s->frames_found ? "true" : "false", s->compared, (unsigned long long)s->compared_macs,
            (unsigned long long)s->compared_flops, s->totals.overflow ? "true" : "false",
            s->totals.params_incomplete ? "true" : "false");
    json_latency(out, &s->latency);
    fputc('}', out);
}

static void json_op(FILE *out, const nn_diff_ref *r)
{
    if (!r->op) {
        fputs("null", out);
        return;
    }
    const nn_trace_op *o = r->op;
    fprintf(out, "{\"trace\": %zu, \"position\": %zu, \"call\": %llu, \"function\": ", r->trace,
            r->position, (unsigned long long)o->call);
    json_str(out, o->function);
    fputs(", \"shape\": ", out);
    json_str(out, o->shape);
    fputs(", \"dtype\": ", out);
    json_str(out, o->dtype);
    fprintf(out,
            ", \"succeeded\": %s, \"cost_known\": %s, \"macs\": %llu, \"flops\": %llu, "
            "\"params\": %llu}",
            o->flags & NN_TOP_SUCCEEDED ? "true" : "false",
            o->flags & NN_TOP_COST_KNOWN ? "true" : "false", (unsigned long long)o->macs,
            (unsigned long long)o->flops, (unsigned long long)o->params_read);
}

int nn_diff_write_json(FILE *out, const nn_diff *d, const nn_trace *a, size_t na, const nn_trace *b,
                       size_t nb, const char *a_name, const char *b_name,
                       const nn_diff_check *checks, size_t n_checks)
{
    fputs("{\"schema\": \"nnspy.diff/1\",\n\"a\": ", out);
    json_side(out, a_name, &d->a, a, na);
    fputs(",\n\"b\": ", out);
    json_side(out, b_name, &d->b, b, nb);
    fprintf(out,
            ",\n\"operations\": {\"method\": \"%s\", \"unchanged\": %zu, \"changed\": %zu, "
            "\"added\": %zu, \"removed\": %zu},\n\"changes\": [",
            method_name(d->method), d->same, d->changed, d->added, d->removed);
    bool first = true;
    for (size_t i = 0; i < d->n_entries; i++) {
        const nn_diff_entry *e = &d->entries[i];
        if (e->kind == NN_DIFF_SAME) continue;
        const nn_trace_op *any = e->a.op ? e->a.op : e->b.op;
        fprintf(out, "%s\n  {\"change\": \"%s\", \"api\": \"%s\", \"op\": ", first ? "" : ",",
                kind_name(e->kind), api_name(any->api));
        first = false;
        json_str(out, any->op);
        fputs(", \"a\": ", out);
        json_op(out, &e->a);
        fputs(", \"b\": ", out);
        json_op(out, &e->b);
        char m[40], f[40], p[40];
        uint64_t am = e->a.op ? e->a.op->macs : 0, bm = e->b.op ? e->b.op->macs : 0;
        uint64_t af = e->a.op ? e->a.op->flops : 0, bf = e->b.op ? e->b.op->flops : 0;
        uint64_t ap = e->a.op ? e->a.op->params_read : 0, bp = e->b.op ? e->b.op->params_read : 0;
        fmt_delta(m, sizeof m, am, bm, false);
        fmt_delta(f, sizeof f, af, bf, false);
        fmt_delta(p, sizeof p, ap, bp, false);
        fprintf(out, ", \"delta\": {\"macs\": %s, \"flops\": %s, \"params\": %s}}", m, f, p);
    }
    fputs(first ? "],\n\"totals\": {" : "\n],\n\"totals\": {", out);
    const nn_trace_totals *ta = &d->a.totals, *tb = &d->b.totals;
    struct {
        const char *name;
        uint64_t a, b;
    } rows[] = {
        {"calls", ta->calls, tb->calls},
        {"failed_calls", ta->failed_calls, tb->failed_calls},
        {"unknown_cost_calls", ta->unknown_cost_calls, tb->unknown_cost_calls},
        {"macs", ta->macs, tb->macs},
        {"flops", ta->flops, tb->flops},
        {"params", ta->params, tb->params},
        {"param_bytes", ta->param_bytes, tb->param_bytes},
        {"bytes_read", ta->bytes_read, tb->bytes_read},
        {"bytes_written", ta->bytes_written, tb->bytes_written},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        fprintf(out, "%s\n  \"%s\": ", i ? "," : "", rows[i].name);
        json_count(out, rows[i].a, rows[i].b);
    }
    fputs("},\n\"frame_macs\": ", out);
    if (d->a.frames_found && d->b.frames_found)
        json_count(out, d->a.compared_macs, d->b.compared_macs);
    else
        fputs("null", out);
    fputs(",\n\"latency_ms\": ", out);
    if (d->a.latency.count && d->b.latency.count) {
        fputs("{\"p50\": ", out);
        json_ms(out, d->a.latency.p50_ms, d->b.latency.p50_ms);
        fputs(", \"p90\": ", out);
        json_ms(out, d->a.latency.p90_ms, d->b.latency.p90_ms);
        fputs(", \"p99\": ", out);
        json_ms(out, d->a.latency.p99_ms, d->b.latency.p99_ms);
        fputc('}', out);
    } else {
        fputs("null", out);
    }
    fputs(",\n\"checks\": [", out);
    bool any_failed = false;
    for (size_t i = 0; i < n_checks; i++) {
        const nn_diff_check *c = &checks[i];
        char msg[256];
        nn_diff_check_message(c, msg, sizeof msg);
        fprintf(out, "%s{\"option\": \"%s\", \"threshold_pct\": ", i ? ", " : "",
                nn_diff_option_name(c->metric));
        json_num(out, c->threshold_pct, true);
        fputs(", \"change_pct\": ", out);
        if (c->evaluated && !c->from_zero)
            json_num(out, c->change_pct, false);
        else
            fputs("null", out);
        fprintf(out, ", \"evaluated\": %s, \"failed\": %s, \"message\": ",
                c->evaluated ? "true" : "false", c->failed ? "true" : "false");
        json_str(out, msg);
        fputc('}', out);
        any_failed |= c->failed;
    }
    fprintf(out, "],\n\"failed\": %s}\n", any_failed ? "true" : "false");
    return ferror(out) ? -1 : 0;
}

/* ====================================================================== CLI */

int nn_diff_run(int argc, char *const *argv, nn_diff_load_fn load, nn_diff_unload_fn unload,
                void *ctx, FILE *out, FILE *errs)
{
    nn_diff_options o;
    switch (nn_diff_parse_options(argc, argv, &o)) {
    case NN_DIFF_PARSE_HELP: fputs(nn_diff_help, out); return NN_DIFF_EXIT_OK;
    case NN_DIFF_PARSE_ERROR:
        fprintf(errs, "nnspy diff: %s%s%s\n%sTry 'nnspy diff --help'.\n", o.error,
                o.culprit ? ": " : "", o.culprit ? o.culprit : "", nn_diff_usage);
        return NN_DIFF_EXIT_USAGE;
    case NN_DIFF_PARSE_OK: break;
    }
    char err[1024] = "";
    nn_trace *ta = NULL, *tb = NULL;
    size_t na = 0, nb = 0;
    if (load(ctx, o.a, &ta, &na, err, sizeof err) != 0) {
        fprintf(errs, "nnspy diff: %s\n", *err ? err : o.a);
        return NN_DIFF_EXIT_UNREADABLE;
    }
    err[0] = '\0';
    if (load(ctx, o.b, &tb, &nb, err, sizeof err) != 0) {
        fprintf(errs, "nnspy diff: %s\n", *err ? err : o.b);
        unload(ctx, ta, na);
        return NN_DIFF_EXIT_UNREADABLE;
    }
    nn_diff_sort_traces(ta, na);
    nn_diff_sort_traces(tb, nb);
    for (int side = 0; side < 2; side++)
        for (size_t i = 0; i < (side ? nb : na); i++) {
            const nn_trace *t = side ? &tb[i] : &ta[i];
            if (!t->complete)
                fprintf(errs,
                        "nnspy diff: warning: %s is incomplete (no END record: the process "
                        "did not end normally); its totals are recomputed from its calls\n",
                        S(t->path));
        }
    int rc = NN_DIFF_EXIT_OK;
    nn_diff *d = nn_diff_compute(ta, na, tb, nb);
    if (!d) {
        fprintf(errs, "nnspy diff: out of memory\n");
        rc = NN_DIFF_EXIT_UNREADABLE;
    } else {
        nn_diff_check checks[NN_DIFF_N_METRICS];
        size_t n_checks = nn_diff_checks(d, &o, checks);
        int w = o.format == NN_DIFF_FORMAT_JSON
                    ? nn_diff_write_json(out, d, ta, na, tb, nb, o.a, o.b, checks, n_checks)
                    : nn_diff_write_table(out, d, ta, na, tb, nb, o.a, o.b, checks, n_checks);
        if (fflush(out) != 0 || w != 0) {
            fprintf(errs, "nnspy diff: cannot write the report: %s\n", strerror(errno));
            rc = NN_DIFF_EXIT_UNREADABLE;
        }
        for (size_t i = 0; i < n_checks; i++) {
            if (!checks[i].failed) continue;
            char msg[256];
            nn_diff_check_message(&checks[i], msg, sizeof msg);
            fprintf(errs, "nnspy diff: check failed: %s\n", msg);
            if (rc == NN_DIFF_EXIT_OK) rc = NN_DIFF_EXIT_CHECK_FAILED;
        }
        nn_diff_free(d);
    }
    unload(ctx, ta, na);
    unload(ctx, tb, nb);
    return rc;
}

#ifndef NN_DIFF_NO_READER

/* A trace's name in a directory: *.nns, or *.nns.N (a second image of one pid). */
static bool trace_name(const char *name)
{
    if (name[0] == '.') return false; /* hidden: a writer's temporary name */
    const char *p = strstr(name, ".nns");
    while (p) {
        const char *rest = p + 4;
        if (*rest == '\0') return true;
        if (*rest == '.' && rest[1]) {
            const char *q = rest + 1;
            while (*q >= '0' && *q <= '9') q++;
            if (*q == '\0') return true;
        }
        p = strstr(p + 1, ".nns");
    }
    return false;
}

static int compare_names(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

void nn_diff_unload_traces(void *ctx, nn_trace *traces, size_t n)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) nn_trace_free(&traces[i]);
    free(traces);
}

/* Every trace file in dir, sorted by name; *names and each name to free(). */
static int list_dir(const char *dir, char ***names, size_t *n, char *err, size_t errlen)
{
    *names = NULL;
    *n = 0;
    DIR *dp = opendir(dir);
    if (!dp) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    size_t cap = 0;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(dp)) != NULL) {
        if (!trace_name(de->d_name)) continue;
        size_t len = strlen(dir) + strlen(de->d_name) + 2;
        char *path = malloc(len);
        struct stat st;
        if (!path) {
            rc = -1;
            break;
        }
        snprintf(path, len, "%s/%s", dir, de->d_name);
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 16;
            char **v = realloc(*names, cap * sizeof *v);
            if (!v) {
                free(path);
                rc = -1;
                break;
            }
            *names = v;
        }
        (*names)[(*n)++] = path;
    }
    closedir(dp);
    if (rc != 0)
        snprintf(err, errlen, "%s: out of memory", dir);
    else if (*n == 0) {
        snprintf(err, errlen, "%s: no trace in this directory (*.nns)", dir);
        rc = -1;
    } else {
        qsort(*names, *n, sizeof **names, compare_names);
    }
    if (rc != 0) {
        for (size_t i = 0; i < *n; i++) free((*names)[i]);
        free(*names);
        *names = NULL;
        *n = 0;
    }
    return rc;
}

int nn_diff_load_traces(void *ctx, const char *arg, nn_trace **traces, size_t *n, char *err,
                        size_t errlen)
{
    (void)ctx;
    *traces = NULL;
    *n = 0;
    struct stat st;
    if (stat(arg, &st) != 0) {
        snprintf(err, errlen, "%s: %s", arg, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t count = 1;
    char *single[1] = {(char *)arg};
    if (S_ISDIR(st.st_mode)) {
        if (list_dir(arg, &names, &count, err, errlen) != 0) return -1;
    }
    char *const *paths = names ? names : single;
    nn_trace *t = calloc(count, sizeof *t);
    int rc = t ? 0 : -1;
    if (!t) snprintf(err, errlen, "%s: out of memory", arg);
    size_t loaded = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        if (nn_trace_read(paths[i], &t[i], err, errlen) != 0)
            rc = -1;
        else
            loaded++;
    }
    if (names) {
        for (size_t i = 0; i < count; i++) free(names[i]);
        free(names);
    }
    if (rc != 0) {
        if (t) nn_diff_unload_traces(ctx, t, loaded);
        return -1;
    }
    *traces = t;
    *n = count;
    return 0;
}

int nn_diff_main(int argc, char **argv)
{
    return nn_diff_run(argc, argv, nn_diff_load_traces, nn_diff_unload_traces, NULL, stdout,
                       stderr);
}

#endif /* NN_DIFF_NO_READER */
