/*
 * html.c: the HTML report (html.h). One file that a browser shows offline: CSS in
 * a <style>, charts as inline SVG drawn here, no script, no URL.
 *
 * Page order: header (devices, processes, conventions), totals of every trace,
 * then one section per trace: frames summary, MACs and GPU time per layer,
 * latency histogram, roofline, hardware requirements.
 *
 * Everything that comes from a trace (names, shapes, paths, arguments) goes
 * through esc(): a trace is outside input, and may hold markup or bytes that are
 * not UTF-8. Numbers are exact integers in tables; a rounded number is marked
 * with "≈" (or is a mean, and says so).
 */
#include "html.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BARS    300  /* bars per chart: beyond this a page is unreadable anyway */
#define MAX_POINTS  5000 /* roofline points (each is ~200 bytes of SVG) */
#define LABEL_CHARS 52   /* bar label: "#index op shape", cut to fit its column */

/* Chart geometry, in SVG pixels (the page is laid out for ~1150 px). */
#define CHART_W 1100
#define BAR_X   380 /* bars start after the label column (52 monospace chars) */
#define BAR_W   590
#define ROW_H   18
#define BARS_TOP 44

/* ------------------------------------------------------------------ devices */

/*
 * Published dense 16-bit tensor-core peaks and memory bandwidths (SXM forms where
 * there are several), matched by substring of the device name, more specific
 * names first ("L40S" before "L4"). The simulated device's numbers are its time
 * model's (tests/sim/README.md).
 */
static const struct gpu {
    const char *match;
    double tflops, tbps;
} gpus[] = {
    {"nnspy simulated device", 100.0, 2.0},
    {"H200", 989.0, 4.8},
    {"H100", 989.0, 3.35},
    {"A100", 312.0, 2.04},
    {"L40S", 362.0, 0.864},
    {"L4", 121.0, 0.3},
    {"V100", 125.0, 0.9},
    {"T4", 65.0, 0.32},
};
#define N_GPUS   (sizeof gpus / sizeof gpus[0])
#define H100_ROW 2 /* the stand-in for a device the table does not know */

/* Whether `token` appears in `name` as a whole word ("L4" is not in "L40S"). */
static bool name_has_token(const char *name, const char *token)
{
    size_t n = strlen(token);
    for (const char *p = strstr(name, token); p; p = strstr(p + 1, token)) {
        bool starts = p == name || !isalnum((unsigned char)p[-1]);
        bool ends = !isalnum((unsigned char)p[n]);
        if (starts && ends) return true;
    }
    return false;
}

static const struct gpu *gpu_of(const char *name)
{
    for (size_t i = 0; i < N_GPUS; i++)
        if (name && name_has_token(name, gpus[i].match)) return &gpus[i];
    return NULL;
}

/* ------------------------------------------------------------------ escaping */

/*
 * Length of the UTF-8 sequence at p and its code point, or 0 when it is not
 * well-formed UTF-8 (overlong forms, surrogates and values past U+10FFFF included).
 */
static size_t utf8_decode(const unsigned char *p, uint32_t *cp)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (p[0] < 0x80) return *cp = p[0], 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) len = 2, *cp = p[0] & 0x1F;
    else if (p[0] >= 0xE0 && p[0] <= 0xEF) len = 3, *cp = p[0] & 0x0F;
    else if (p[0] >= 0xF0 && p[0] <= 0xF4) len = 4, *cp = p[0] & 0x07;
    else return 0;
    if (p[0] == 0xE0) lo = 0xA0;      /* overlong */
    if (p[0] == 0xED) hi = 0x9F;      /* surrogates */
    if (p[0] == 0xF0) lo = 0x90;      /* overlong */
    if (p[0] == 0xF4) hi = 0x8F;      /* past U+10FFFF */
    for (size_t i = 1; i < len; i++) {
        unsigned char b = p[i]; /* a NUL stops here: it is no continuation byte */
        if (b < (i == 1 ? lo : 0x80) || b > (i == 1 ? hi : 0xBF)) return 0;
        *cp = (*cp << 6) | (b & 0x3F);
    }
    return len;
}

/*
 * Characters HTML forbids in text (controls, noncharacters) become U+FFFD too, and
 * so do bidirectional overrides: a trace string must not reorder the page around it.
 */
static bool html_allowed(uint32_t cp)
{
    if (cp == '\t' || cp == '\n') return true;
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return false;
    if ((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) return false;
    return true;
}

/* Number of characters esc() would write for s (code points, bad bytes one each). */
static size_t esc_chars(const char *s)
{
    size_t n = 0;
    uint32_t cp;
    for (const unsigned char *p = (const unsigned char *)s; *p; n++) {
        size_t len = utf8_decode(p, &cp);
        p += len ? len : 1;
    }
    return n;
}

/*
 * Writes s as HTML text or attribute value: & < > " ' as entities, bytes that are
 * not UTF-8 and forbidden characters as U+FFFD. At most max characters: a longer
 * string is cut to max - 1 and ends with "…".
 */
static void esc_max(FILE *o, const char *s, size_t max)
{
    if (!s || max == 0) return;
    size_t keep = esc_chars(s) > max ? max - 1 : (size_t)-1;
    uint32_t cp;
    for (const unsigned char *p = (const unsigned char *)s; *p && keep; keep--) {
        size_t len = utf8_decode(p, &cp);
        if (len == 0 || !html_allowed(cp)) fputs("&#xFFFD;", o);
        else if (cp == '&') fputs("&amp;", o);
        else if (cp == '<') fputs("&lt;", o);
        else if (cp == '>') fputs("&gt;", o);
        else if (cp == '"') fputs("&quot;", o);
        else if (cp == '\'') fputs("&#39;", o);
        else fwrite(p, 1, len, o);
        p += len ? len : 1;
    }
    if (keep == 0 && max > 0) fputs("\xE2\x80\xA6", o); /* … */
}

static void esc(FILE *o, const char *s)
{
    esc_max(o, s, (size_t)-1);
}

/* ------------------------------------------------------------------ numbers */

/* 1234567 -> "1,234,567": exact. */
static const char *grouped(uint64_t v, char buf[32])
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), out = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0) buf[out++] = ',';
        buf[out++] = digits[i];
    }
    buf[out] = '\0';
    return buf;
}

/*
 * v in decimal units with 3 significant digits: 1234567 -> "≈1.23 M",
 * 2500000 -> "2.5 M" (no "≈": nothing was rounded away).
 */
static const char *si(double v, char buf[40])
{
    static const char *const units[] = {"", " k", " M", " G", " T", " P", " E"};
    if (!isfinite(v)) return snprintf(buf, 40, "?"), buf;
    double s = v, scale = 1;
    int u = 0;
    char num[24];
    for (;;) {
        snprintf(num, sizeof num, "%.3g", s);
        if (fabs(strtod(num, NULL)) < 1000 || u == 6) break;
        s /= 1000, scale *= 1000, u++;
    }
    double back = strtod(num, NULL) * scale;
    bool exact = back == v || fabs(back - v) <= 1e-12 * fabs(v);
    snprintf(buf, 40, "%s%s%s", exact ? "" : "\xE2\x89\x88", num, units[u]);
    return buf;
}

/* A "nice" tick step (1, 2, 2.5 or 5 × 10^k) giving about `target` steps over span. */
static double nice_step(double span, int target)
{
    double raw = span / target, mag = pow(10, floor(log10(raw))), r = raw / mag;
    return (r <= 1 ? 1 : r <= 2 ? 2 : r <= 2.5 ? 2.5 : r <= 5 ? 5 : 10) * mag;
}

static double bytes_of(const nn_trace_op *op)
{
    return (double)op->bytes_read + (double)op->bytes_written;
}

static bool op_usable(const nn_trace_op *op)
{
    return (op->flags & NN_TOP_SUCCEEDED) && (op->flags & NN_TOP_COST_KNOWN);
}

static bool op_timed(const nn_trace_op *op)
{
    return op->gpu_start_ns != NN_UNTIMED && op->gpu_end_ns != NN_UNTIMED &&
           op->gpu_end_ns >= op->gpu_start_ns;
}

/* A timed call's GPU time; in double, as a hostile trace's difference may not fit. */
static double op_ns(const nn_trace_op *op)
{
    return (double)op->gpu_end_ns - (double)op->gpu_start_ns;
}

/* ------------------------------------------------------------------ one trace's view */

/* One bar of the per-layer charts: a position of the frame, or one call. */
struct layer {
    const nn_trace_op *op; /* names the bar (auto: the first steady frame's call) */
    size_t index;          /* position in the frame, or call number */
    bool usable;           /* succeeded with a known cost (in some frame) */
    bool macs_exact;       /* every frame has the same MACs, exact_macs */
    uint64_t exact_macs;   /* kept apart: a double is exact only up to 2^53 */
    double macs, flops, bytes; /* means over the frames */
    double gpu_ns;         /* mean GPU time over the frames where it was timed; -1: never */
    size_t frames, timed;  /* frames it was counted in, and timed in */
    const char *site;      /* its call site's name, NULL when unknown */
};

struct view {
    const nn_trace *t;
    nn_html_frames f;       /* zero (mode NULL) when the caller gave none */
    size_t number;          /* the trace's place on the page: unique element ids */
    bool per_frame;         /* auto frames usable: layers are positions of a frame */
    struct layer *layers;
    size_t n_layers;
    const struct gpu *gpu;  /* the device's row of the table, or NULL */
    double peak_tflops, bw_tbps;
    bool peak_assumed, bw_assumed; /* the H100 row stands in */
};

/* Whether the caller's auto frames fit in the trace (they come from elsewhere). */
static bool auto_frames_fit(const nn_trace *t, const nn_html_frames *f)
{
    return f->mode && strcmp(f->mode, "auto") == 0 && f->period > 0 && f->count > 0 &&
           f->steady_start <= t->n_ops &&
           f->period <= (t->n_ops - f->steady_start) / f->count; /* period × count fits */
}

/* Position j of the frame: means over the steady frames. */
static struct layer layer_at_position(const nn_trace *t, const nn_html_frames *f, size_t j)
{
    struct layer l = {.op = &t->ops[f->steady_start + j], .index = j, .gpu_ns = -1,
                      .macs_exact = true};
    double time_sum = 0;
    for (size_t k = 0; k < f->count; k++) {
        const nn_trace_op *op = &t->ops[f->steady_start + k * f->period + j];
        if (!op_usable(op)) continue;
        if (l.frames == 0) l.exact_macs = op->macs;
        else if (op->macs != l.exact_macs) l.macs_exact = false;
        l.frames++;
        l.macs += (double)op->macs, l.flops += (double)op->flops, l.bytes += bytes_of(op);
        if (op_timed(op)) time_sum += op_ns(op), l.timed++;
    }
    l.usable = l.frames > 0;
    if (l.frames) l.macs /= (double)l.frames, l.flops /= (double)l.frames, l.bytes /= (double)l.frames;
    if (l.timed) l.gpu_ns = time_sum / (double)l.timed;
    return l;
}

static struct layer layer_of_call(const nn_trace_op *op)
{
    struct layer l = {.op = op, .index = (size_t)op->call, .gpu_ns = -1, .macs_exact = true};
    l.usable = op_usable(op);
    if (!l.usable) return l;
    l.frames = 1;
    l.exact_macs = op->macs;
    l.macs = (double)op->macs, l.flops = (double)op->flops, l.bytes = bytes_of(op);
    if (op_timed(op)) l.gpu_ns = op_ns(op), l.timed = 1;
    return l;
}

/*
 * Auto mode: one layer per position of the frame. Otherwise one per call, for the
 * first MAX_POINTS calls only: no chart draws more, and the bound reads the calls.
 */
static int collect_layers(struct view *v)
{
    v->per_frame = auto_frames_fit(v->t, &v->f);
    v->n_layers = v->per_frame ? v->f.period
                  : v->t->n_ops < MAX_POINTS ? v->t->n_ops : MAX_POINTS;
    v->layers = calloc(v->n_layers ? v->n_layers : 1, sizeof *v->layers);
    if (!v->layers) return -1;
    for (size_t i = 0; i < v->n_layers; i++) {
        v->layers[i] = v->per_frame ? layer_at_position(v->t, &v->f, i)
                                    : layer_of_call(&v->t->ops[i]);
        v->layers[i].site = nn_trace_site_name(v->t, v->layers[i].op);
    }
    return 0;
}

/* The roofs: the trace's own peak, else the table's row, else the H100's (said). */
static void choose_roofs(struct view *v)
{
    const struct gpu *stand_in = &gpus[H100_ROW];
    double given = v->t->peak_tflops;
    v->gpu = gpu_of(v->t->device_name);
    v->peak_assumed = !(isfinite(given) && given > 0) && !v->gpu;
    v->peak_tflops = isfinite(given) && given > 0 ? given : v->gpu ? v->gpu->tflops
                                                                    : stand_in->tflops;
    v->bw_assumed = !v->gpu;
    v->bw_tbps = v->gpu ? v->gpu->tbps : stand_in->tbps;
}

/* "#3 conv_fwd conv_forward at alexnet.c:445" (the shape when the site is unknown),
 * as one raw string, for esc_max to cut. */
static void layer_label(const struct layer *l, char *buf, size_t size)
{
    snprintf(buf, size, "#%zu %s %s", l->index, l->op->op ? l->op->op : "?",
             l->site ? l->site : l->op->shape ? l->op->shape : "");
}

/* The full label, for a tooltip: nothing cut. */
static void layer_title(FILE *o, const struct layer *l)
{
    fprintf(o, "#%zu ", l->index);
    esc(o, l->op->op);
    fputc(' ', o);
    esc(o, l->op->shape);
    fputs(" (", o);
    esc(o, l->op->dtype);
    fputs(", ", o);
    esc(o, l->op->function);
    fputc(')', o);
    if (l->site) {
        fputs(" from ", o);
        esc(o, l->site);
    }
}

/* ------------------------------------------------------------------ page head */

static const char css[] =
    "body{font:14px/1.45 'DejaVu Sans',Arial,sans-serif;color:#222;margin:24px auto;"
    "max-width:1180px;padding:0 16px}\n"
    "h1{font-size:24px;margin:0 0 8px}h2{font-size:19px;margin:28px 0 8px;"
    "border-bottom:2px solid #ccc}h3{font-size:16px;margin:20px 0 6px}\n"
    "table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ccc;"
    "padding:3px 7px;text-align:left;vertical-align:top}td.n{text-align:right;"
    "font-family:'DejaVu Sans Mono',monospace;white-space:nowrap}th{background:#f0f0f0}\n"
    ".sim{background:#fff3cd;border:2px solid #d39e00;padding:8px 12px;font-weight:bold}\n"
    ".warn{background:#fde2e2;border:1px solid #d33;padding:6px 10px}\n"
    ".note{color:#555;font-size:13px}.small{color:#666;font-size:12px}\n"
    "tr.this td{background:#eef5ff}\n"
    "svg.chart{display:block;margin:6px 0;background:#fff;border:1px solid #ddd}\n"
    "svg text{font:11px 'DejaVu Sans Mono',monospace;fill:#222}\n"
    "svg text.title{font:bold 12px 'DejaVu Sans',sans-serif}\n"
    "svg .grid{stroke:#e4e4e4}svg .axis{stroke:#444}\n"
    "svg .bar{fill:#4c78a8}svg .bar.time{fill:#f58518}svg .bar.hist{fill:#54a24b}\n"
    "svg text.nobar{fill:#a33}svg .stat{stroke:#c00;stroke-dasharray:4 3}\n"
    "svg .roof{fill:none;stroke:#333;stroke-width:2}\n"
    "svg .k-conv{fill:#4c78a8}svg .k-gemm{fill:#e45756}svg .k-other{fill:#72b7b2}\n"
    "svg circle.mark{fill-opacity:.8;stroke:#222;stroke-width:.5}\n";

static void write_head(FILE *o)
{
    fprintf(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<title>nnspy report</title>\n<style>\n%s</style>\n</head>\n<body>\n",
            css);
}

/* ------------------------------------------------------------------ header */

/* A clear banner for each trace from the simulated device: its times are a model. */
static void write_sim_banner(FILE *o, const nn_trace *t)
{
    if (!t->simulated) return;
    fprintf(o, "<p class=\"sim\">SIMULATED DEVICE (pid %ld, &quot;", t->pid);
    esc(o, t->device_name);
    fputs("&quot;): test equipment, not a GPU. The counts are real; the GPU times come "
          "from the simulator's model (2 &micro;s + max(FLOPs / 100 TFLOP/s, bytes / 2 TB/s) "
          "per kernel), not from hardware.</p>\n",
          o);
}

static void write_start_time(FILE *o, int64_t ns)
{
    time_t s = (time_t)(ns / 1000000000);
    struct tm tm;
    char buf[40];
    if (ns > 0 && gmtime_r(&s, &tm) && strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
        fputs(buf, o);
    else
        fputs("?", o);
}

static void write_command_line(FILE *o, const nn_trace *t)
{
    esc_max(o, t->exe, 200);
    for (size_t i = 0; i < t->n_args && i < 64; i++) { /* a long command line is cut */
        fputc(' ', o);
        esc_max(o, t->args[i], 120);
    }
    if (t->n_args > 64) fprintf(o, " &hellip; (%zu arguments)", t->n_args);
}

static void write_process_row(FILE *o, const nn_trace *t, size_t i)
{
    fprintf(o, "<tr><td class=\"n\"><a href=\"#p%zu\">%zu</a></td><td class=\"n\">%ld</td>"
               "<td class=\"n\">",
            i, i, t->pid);
    if (t->rank >= 0) fprintf(o, "%ld", t->rank);
    else fputs("&ndash;", o);
    fputs("</td><td>", o);
    esc(o, t->device_name);
    if (t->simulated) fputs(" <b>(SIMULATED)</b>", o);
    fputs("</td><td>", o);
    esc(o, t->host);
    fputs("</td><td>", o);
    write_start_time(o, t->start_time_ns);
    fputs("</td><td>", o);
    esc(o, t->frame_mode);
    fputs(" / ", o);
    esc(o, t->timing_mode);
    fputs("</td><td>", o);
    write_command_line(o, t);
    fputs("<br><span class=\"small\">trace ", o);
    esc(o, t->path);
    fputs(", nnspy ", o);
    esc(o, t->nnspy_version);
    fputs("</span></td><td>", o);
    fputs(t->complete ? "complete" : "<b>INCOMPLETE</b> (no END record: the process "
                                     "crashed or was killed)",
          o);
    fputs("</td></tr>\n", o);
}

static void write_conventions(FILE *o)
{
    fputs("<h2>Conventions</h2>\n<ul>\n"
          "<li><b>1 MAC = 1 multiply + 1 add = 2 FLOPs.</b> FLOPs = 2 &times; MACs + "
          "elementwise FLOPs (bias, activation, pooling). MACs and FLOPs are always shown "
          "side by side; a MAC count is never called &quot;FLOPs&quot;.</li>\n"
          "<li>Units are decimal: k = 10<sup>3</sup>, M = 10<sup>6</sup>, G = 10<sup>9</sup>, "
          "T = 10<sup>12</sup>, P = 10<sup>15</sup>. Memory: MB = 10<sup>6</sup> bytes, "
          "MiB = 2<sup>20</sup> bytes. Times: ms = 10<sup>-3</sup> s, &micro;s = "
          "10<sup>-6</sup> s.</li>\n"
          "<li>Tables give exact integers. A number marked &asymp; is rounded to 3 "
          "significant digits; a mean says so.</li>\n"
          "<li>Parameters: distinct weight buffers, counted once however often they are "
          "read. Bytes: every tensor an operation must read or write.</li>\n"
          "<li>Peaks are dense 16-bit tensor-core peaks, whatever the data type.</li>\n"
          "</ul>\n",
          o);
}

static void write_header(FILE *o, const nn_trace *const *traces, size_t n)
{
    fputs("<section id=\"header\">\n<h1>nnspy report</h1>\n", o);
    for (size_t i = 0; i < n; i++) write_sim_banner(o, traces[i]);
    fprintf(o, "<p>%zu process%s.</p>\n<table>\n<tr><th>#</th><th>pid</th><th>rank</th>"
               "<th>device</th><th>host</th><th>started</th><th>frames / timing</th>"
               "<th>program</th><th>status</th></tr>\n",
            n, n == 1 ? "" : "es");
    for (size_t i = 0; i < n; i++) write_process_row(o, traces[i], i);
    fputs("</table>\n", o);
    write_conventions(o);
    fputs("</section>\n", o);
}

/* ------------------------------------------------------------------ totals */

/* An exact count, with its rounded value underneath when that reads easier. */
static void cell_count(FILE *o, uint64_t v, bool known)
{
    char g[32], s[40];
    if (!known) {
        fputs("<td class=\"n\">unknown</td>", o);
        return;
    }
    fprintf(o, "<td class=\"n\">%s", grouped(v, g));
    if (v >= 10000) fprintf(o, "<br><span class=\"small\">%s</span>", si((double)v, s));
    fputs("</td>", o);
}

static void write_totals_row(FILE *o, const char *name, const nn_trace_totals *x, bool params_known)
{
    fprintf(o, "<tr><td>%s</td>", name);
    cell_count(o, x->calls, true);
    cell_count(o, x->failed_calls, true);
    cell_count(o, x->macs, true);
    cell_count(o, x->flops, true);
    cell_count(o, x->params, params_known);
    cell_count(o, x->param_bytes, params_known);
    cell_count(o, x->bytes_read, true);
    cell_count(o, x->bytes_written, true);
    fputs("<td>", o);
    if (x->unknown_cost_calls)
        fprintf(o, "%llu call%s of unknown cost. ", (unsigned long long)x->unknown_cost_calls,
                x->unknown_cost_calls == 1 ? "" : "s");
    if (x->overflow) fputs("<b>Overflow</b>: a count passed 2<sup>64</sup>. ", o);
    if (x->params_incomplete) fputs("Parameters incomplete (a table was full). ", o);
    if (x->bytes_incomplete) fputs("Bytes low (a data type of unknown size). ", o);
    if (!params_known) fputs("No END record: totals recomputed from the calls. ", o);
    fputs("</td></tr>\n", o);
}

/* Sums the traces' totals, flagging overflow rather than wrapping. */
static void add_totals(nn_trace_totals *sum, const nn_trace_totals *x)
{
    uint64_t *d[] = {&sum->calls, &sum->failed_calls, &sum->unknown_cost_calls, &sum->macs,
                     &sum->flops, &sum->params, &sum->param_bytes, &sum->bytes_read,
                     &sum->bytes_written};
    const uint64_t s[] = {x->calls, x->failed_calls, x->unknown_cost_calls, x->macs, x->flops,
                          x->params, x->param_bytes, x->bytes_read, x->bytes_written};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (__builtin_add_overflow(*d[i], s[i], d[i])) *d[i] = UINT64_MAX, sum->overflow = true;
    sum->overflow |= x->overflow;
    sum->params_incomplete |= x->params_incomplete;
    sum->bytes_incomplete |= x->bytes_incomplete;
}

static void write_totals(FILE *o, const nn_trace *const *traces, size_t n)
{
    fputs("<section id=\"totals\">\n<h2>Totals</h2>\n<table>\n<tr><th>process</th>"
          "<th>calls</th><th>failed</th><th>MACs</th><th>FLOPs</th><th>params</th>"
          "<th>param bytes</th><th>bytes read</th><th>bytes written</th><th>notes</th></tr>\n",
          o);
    nn_trace_totals sum = {0};
    bool all_complete = true;
    for (size_t i = 0; i < n; i++) {
        char name[48];
        snprintf(name, sizeof name, "#%zu pid %ld", i, traces[i]->pid);
        write_totals_row(o, name, &traces[i]->totals, traces[i]->complete);
        add_totals(&sum, &traces[i]->totals);
        all_complete &= traces[i]->complete;
    }
    if (n > 1) write_totals_row(o, "<b>all</b>", &sum, all_complete);
    fputs("</table>\n<p class=\"note\">Failed calls are counted in <i>failed</i>, not in the "
          "work. Parameters are per process (each process's weights counted once).</p>\n"
          "</section>\n",
          o);
}

/* ------------------------------------------------------------------ bar charts */

enum bar_kind { BARS_MACS, BARS_TIME };

/* One row of a horizontal bar chart: a bar, or a note where there is none. */
struct row {
    const struct layer *l;
    double value;
    const char *note; /* "call failed": no bar */
};

static void svg_open(FILE *o, int w, int h, const char *label)
{
    fprintf(o, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
               "role=\"img\" aria-label=\"%s\">\n",
            w, h, w, h, label);
}

/* Value at a bar's end: MACs in decimal units, GPU time in microseconds. */
static const char *bar_value(enum bar_kind kind, double v, char buf[40])
{
    if (kind == BARS_MACS) return si(v, buf);
    snprintf(buf, 40, "%.3f \xC2\xB5s", v / 1e3);
    return buf;
}

static void bar_tooltip(FILE *o, enum bar_kind kind, const struct row *r, bool per_frame)
{
    char g[32], s[40];
    fputs("<title>", o);
    layer_title(o, r->l);
    if (kind == BARS_MACS && r->l->macs_exact)
        fprintf(o, ": %s MACs, %s FLOPs", grouped(r->l->exact_macs, g), si(r->l->flops, s));
    else if (kind == BARS_MACS)
        fprintf(o, ": mean %s MACs over %zu frames", si(r->value, s), r->l->frames);
    else
        fprintf(o, ": %s%.3f \xC2\xB5s over %zu timed frame%s", per_frame ? "mean " : "",
                r->value / 1e3, r->l->timed, r->l->timed == 1 ? "" : "s");
    fputs("</title>", o);
}

/* Vertical grid lines with their values along the top. */
static void bar_axis(FILE *o, enum bar_kind kind, double axis_max, double step, int h)
{
    char buf[40];
    for (int i = 0; (double)i * step <= axis_max * (1 + 1e-9); i++) {
        double v = (double)i * step, x = BAR_X + v / axis_max * BAR_W;
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x,
                BARS_TOP - 4, x, h - 6);
        if (kind == BARS_MACS) si(v, buf);
        else snprintf(buf, sizeof buf, "%g", v / 1e3);
        fprintf(o, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n", x,
                BARS_TOP - 8, buf);
    }
    fprintf(o, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n", BAR_X,
            BARS_TOP - 4, BAR_X, h - 6);
}

static void bar_row(FILE *o, enum bar_kind kind, const struct row *r, int y, double axis_max,
                    bool per_frame)
{
    char label[512], val[40];
    layer_label(r->l, label, sizeof label);
    fprintf(o, "<text x=\"6\" y=\"%d\">", y + 13);
    esc_max(o, label, LABEL_CHARS);
    fputs("<title>", o);
    layer_title(o, r->l);
    fputs("</title></text>", o);
    if (r->note) {
        fprintf(o, "<text class=\"nobar\" x=\"%d\" y=\"%d\">%s</text>\n", BAR_X + 4, y + 13, r->note);
        return;
    }
    double w = r->value / axis_max * BAR_W;
    fprintf(o, "<rect class=\"mark bar%s\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\">",
            kind == BARS_TIME ? " time" : "", BAR_X, y + 3, w, ROW_H - 6);
    bar_tooltip(o, kind, r, per_frame);
    fprintf(o, "</rect><text x=\"%.1f\" y=\"%d\">%s</text>\n", BAR_X + w + 4, y + 13,
            bar_value(kind, r->value, val));
}

/* One horizontal bar per row, labelled "#index op shape" (cut; full in the tooltip). */
static void bar_chart(FILE *o, enum bar_kind kind, const struct row *rows, size_t n,
                      const char *axis_title, bool per_frame)
{
    double max = 0;
    for (size_t i = 0; i < n; i++)
        if (!rows[i].note && rows[i].value > max) max = rows[i].value;
    if (!(max > 0)) max = 1; /* all zero: an axis still needs a span */
    double step = nice_step(max, 5), axis_max = ceil(max / step) * step;
    int h = BARS_TOP + (int)n * ROW_H + 10;
    svg_open(o, CHART_W, h, axis_title);
    fprintf(o, "<text class=\"title\" x=\"6\" y=\"16\">%s</text>\n", axis_title);
    bar_axis(o, kind, axis_max, step, h);
    for (size_t i = 0; i < n; i++)
        bar_row(o, kind, &rows[i], BARS_TOP + (int)i * ROW_H, axis_max, per_frame);
    fputs("</svg>\n", o);
}

/* "each call of one frame" or "each call": what a bar of this trace stands for. */
static void write_layers_scope(FILE *o, const struct view *v, size_t shown)
{
    if (v->per_frame)
        fprintf(o, "<p class=\"note\">One bar per call of one frame (calls %zu to %zu of the "
                   "trace, %zu per frame), mean over the %zu steady frames.",
                v->f.steady_start, v->f.steady_start + v->f.period - 1, v->f.period, v->f.count);
    else
        fputs("<p class=\"note\">One bar per call, in call order (no automatic frames).", o);
    size_t total = v->per_frame ? v->n_layers : v->t->n_ops;
    if (shown < total) fprintf(o, " <b>Only the first %zu of %zu are drawn.</b>", shown, total);
    fputs(" Hover a bar for the full shape.</p>\n", o);
}

static void write_macs_chart(FILE *o, const struct view *v)
{
    size_t n = v->n_layers < MAX_BARS ? v->n_layers : MAX_BARS;
    fprintf(o, "<section class=\"layers-macs\" id=\"p%zu-macs\">\n<h3>MACs per layer</h3>\n",
            v->number);
    write_layers_scope(o, v, n);
    struct row *rows = calloc(n ? n : 1, sizeof *rows);
    size_t bars = 0;
    for (size_t i = 0; rows && i < n; i++) {
        const struct layer *l = &v->layers[i];
        rows[i] = (struct row){.l = l, .value = l->macs};
        if (!l->usable) /* the row stays, so the indices read on */
            rows[i].note = l->op->flags & NN_TOP_SUCCEEDED ? "cost unknown" : "call failed";
        else
            bars++;
    }
    if (bars) bar_chart(o, BARS_MACS, rows, n, "MACs (1 MAC = 2 FLOPs)", v->per_frame);
    else if (!rows) fputs("<p class=\"warn\">Out of memory: chart left out.</p>\n", o);
    else fputs("<p>No call with a known cost.</p>\n", o);
    free(rows);
    fputs("</section>\n", o);
}

static void write_time_chart(FILE *o, const struct view *v)
{
    size_t limit = v->n_layers < MAX_BARS ? v->n_layers : MAX_BARS, n = 0;
    fprintf(o, "<section class=\"layers-time\" id=\"p%zu-time\">\n<h3>GPU time per layer</h3>\n",
            v->number);
    write_layers_scope(o, v, limit);
    struct row *rows = calloc(limit ? limit : 1, sizeof *rows);
    for (size_t i = 0; rows && i < limit; i++) /* untimed calls have no bar: left out */
        if (v->layers[i].gpu_ns >= 0) rows[n++] = (struct row){&v->layers[i], v->layers[i].gpu_ns, NULL};
    if (n)
        bar_chart(o, BARS_TIME, rows, n,
                  v->per_frame ? "mean GPU time per call, \xC2\xB5s (untimed calls left out)"
                               : "GPU time per call, \xC2\xB5s (untimed calls left out)",
                  v->per_frame);
    else if (!rows)
        fputs("<p class=\"warn\">Out of memory: chart left out.</p>\n", o);
    else
        fputs("<p>No timed calls: the trace has no GPU time for these calls.</p>\n", o);
    free(rows);
    fputs("</section>\n", o);
}

/* ------------------------------------------------------------------ latency */

#define HIST_X0 70
#define HIST_Y0 58
#define HIST_PW 1000
#define HIST_PH 230

/* Bins spanning [lo, lo + nb × width): the last one takes the maximum too. */
static void hist_fill(const nn_html_frames *f, double lo, double width, size_t nb, size_t *bins)
{
    for (size_t i = 0; i < f->n_latency; i++) {
        if (f->latency_ns[i] == NN_UNTIMED) continue;
        double b = ((double)f->latency_ns[i] - lo) / width;
        size_t k = b <= 0 ? 0 : b >= (double)nb ? nb - 1 : (size_t)b;
        bins[k]++;
    }
}

static double hist_x(double ms, double lo_ms, double hi_ms)
{
    return HIST_X0 + (ms - lo_ms) / (hi_ms - lo_ms) * HIST_PW;
}

/* The count axis: whole frames, a nice step, the top at a whole step. */
static double hist_ystep(size_t max_count)
{
    return max_count <= 5 ? 1 : ceil(nice_step((double)max_count, 4));
}

static double hist_ymax(size_t max_count)
{
    double step = hist_ystep(max_count);
    return ceil((double)max_count / step) * step;
}

static void hist_axes(FILE *o, double lo_ms, double hi_ms, size_t max_count)
{
    double ystep = hist_ystep(max_count), ymax = hist_ymax(max_count);
    for (double c = 0; c <= ymax; c += ystep) {
        double y = HIST_Y0 + HIST_PH - c / ymax * HIST_PH;
        fprintf(o, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f</text>\n",
                HIST_X0, y, HIST_X0 + HIST_PW, y, HIST_X0 - 6, y + 4, c);
    }
    double xstep = nice_step(hi_ms - lo_ms, 6);
    for (double t = ceil(lo_ms / xstep) * xstep; t <= hi_ms + xstep * 1e-9; t += xstep) {
        double x = hist_x(t, lo_ms, hi_ms);
        fprintf(o, "<line class=\"axis\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.6g</text>\n",
                x, HIST_Y0 + HIST_PH, x, HIST_Y0 + HIST_PH + 5, x, HIST_Y0 + HIST_PH + 18, t);
    }
    fprintf(o, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
               "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">GPU latency per frame, ms</text>"
               "<text x=\"14\" y=\"%d\" transform=\"rotate(-90 14 %d)\" "
               "text-anchor=\"middle\">frames</text>\n",
            HIST_X0, HIST_Y0 + HIST_PH, HIST_X0 + HIST_PW, HIST_Y0 + HIST_PH,
            HIST_X0 + HIST_PW / 2, HIST_Y0 + HIST_PH + 36, HIST_Y0 + HIST_PH / 2,
            HIST_Y0 + HIST_PH / 2);
}

/* Dashed lines at p50 and p99, so the tail is visible at a glance. */
static void hist_stats(FILE *o, const nn_latency_stats *s, double lo_ms, double hi_ms)
{
    const struct { const char *name; double ms; } marks[] = {{"p50", s->p50_ms}, {"p99", s->p99_ms}};
    for (int i = 0; i < 2; i++) {
        double x = hist_x(marks[i].ms, lo_ms, hi_ms);
        bool left = x > HIST_X0 + HIST_PW / 2; /* the label goes where there is room */
        fprintf(o, "<line class=\"stat\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"%s\">%s %.6f ms</text>\n",
                x, HIST_Y0 - 18 + 14 * i, x, HIST_Y0 + HIST_PH, x + (left ? -4 : 4),
                HIST_Y0 - 20 + 14 * i, left ? "end" : "start", marks[i].name, marks[i].ms);
    }
}

/* Bins over [lo, hi] ns (doubles: a hostile trace's span may not fit in int64). */
static void hist_chart(FILE *o, const nn_html_frames *f, size_t timed, double lo, double hi)
{
    size_t nb = (size_t)ceil(sqrt((double)timed)); /* a common rule: √n bins, at most 40 */
    if (nb > 40) nb = 40;
    if (!(hi > lo)) { /* all equal: 5 bins around the value, which falls in the middle one */
        double w = fmax(fabs(lo) / 100, 100);
        nb = 5, lo -= 2.5 * w, hi = lo + 5 * w;
    }
    size_t bins[40] = {0}, max_count = 0;
    double width = (hi - lo) / (double)nb, lo_ms = lo / 1e6, hi_ms = hi / 1e6;
    hist_fill(f, lo, width, nb, bins);
    for (size_t k = 0; k < nb; k++) if (bins[k] > max_count) max_count = bins[k];
    svg_open(o, CHART_W, HIST_Y0 + HIST_PH + 46, "latency histogram");
    fprintf(o, "<text class=\"title\" x=\"6\" y=\"16\">%zu timed frame%s in %zu bins of "
               "%.6f ms</text>\n", timed, timed == 1 ? "" : "s", nb, width / 1e6);
    hist_axes(o, lo_ms, hi_ms, max_count);
    double ymax = hist_ymax(max_count);
    for (size_t k = 0; k < nb; k++) {
        if (!bins[k]) continue;
        double x = HIST_X0 + (double)k * HIST_PW / (double)nb, h = (double)bins[k] / ymax * HIST_PH;
        fprintf(o, "<rect class=\"mark bar hist\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                   "height=\"%.1f\"><title>%zu frames from %.6f to %.6f ms</title></rect>\n",
                x + 1, HIST_Y0 + HIST_PH - h, (double)HIST_PW / (double)nb - 2, h, bins[k],
                (lo + (double)k * width) / 1e6, (lo + (double)(k + 1) * width) / 1e6);
    }
    hist_stats(o, &f->latency, lo_ms, hi_ms);
    fputs("</svg>\n", o);
}

static void write_latency_stats(FILE *o, const nn_latency_stats *s)
{
    fprintf(o, "<table><tr><th>frames</th><th>mean</th><th>p50</th><th>p90</th><th>p99</th>"
               "<th>min</th><th>max</th></tr>\n<tr><td class=\"n\">%zu</td><td class=\"n\">"
               "%.6f ms</td><td class=\"n\">%.6f ms</td><td class=\"n\">%.6f ms</td>"
               "<td class=\"n\">%.6f ms</td><td class=\"n\">%.6f ms</td><td class=\"n\">"
               "%.6f ms</td></tr></table>\n<p class=\"note\">GPU latency of a frame: its first "
               "call's GPU start to its last call's GPU end. Percentiles by nearest rank; the "
               "mean is rounded to the nanosecond.</p>\n",
            s->count, s->mean_ms, s->p50_ms, s->p90_ms, s->p99_ms, s->min_ms, s->max_ms);
}

static void write_latency(FILE *o, const struct view *v)
{
    const nn_html_frames *f = &v->f;
    size_t timed = 0;
    int64_t lo = INT64_MAX, hi = INT64_MIN;
    for (size_t i = 0; f->latency_ns && i < f->n_latency; i++) {
        if (f->latency_ns[i] == NN_UNTIMED) continue;
        timed++;
        if (f->latency_ns[i] < lo) lo = f->latency_ns[i];
        if (f->latency_ns[i] > hi) hi = f->latency_ns[i];
    }
    fprintf(o, "<section class=\"latency\" id=\"p%zu-latency\">\n<h3>Latency per frame</h3>\n",
            v->number);
    if (f->latency.count) write_latency_stats(o, &f->latency);
    if (timed) hist_chart(o, f, timed, (double)lo, (double)hi);
    else fputs("<p>No timed frames.</p>\n", o);
    fputs("</section>\n", o);
}

/* ------------------------------------------------------------------ roofline */

#define ROOF_X0 90
#define ROOF_Y0 40
#define ROOF_PW 880
#define ROOF_PH 400

struct point {
    double x, y; /* FLOP per byte, FLOP/s */
    const struct layer *l;
};

/* A log-scale axis over whole decades [lo, hi]. */
struct log_axis {
    int lo, hi;
};

/* Whole decades around [min, max], with `room` (a factor) above max for labels. */
static struct log_axis log_axis_of(double min, double max, double room)
{
    /* clamped before the conversion: a hostile trace's extremes stay drawable */
    double lo = fmax(floor(log10(min / 1.5)), -30), hi = fmin(ceil(log10(max * room)), 30);
    struct log_axis a = {(int)fmin(lo, 29), (int)fmax(hi, -29)};
    if (a.hi <= a.lo) a.hi = a.lo + 1;
    return a;
}

static double roof_px(const struct log_axis *a, double x)
{
    return ROOF_X0 + (log10(x) - a->lo) / (a->hi - a->lo) * ROOF_PW;
}

static double roof_py(const struct log_axis *a, double y)
{
    return ROOF_Y0 + ROOF_PH - (log10(y) - a->lo) / (a->hi - a->lo) * ROOF_PH;
}

static const char *kind_class(const char *op)
{
    if (op && strncmp(op, "conv", 4) == 0) return "k-conv";
    if (op && strcmp(op, "gemm") == 0) return "k-gemm";
    return "k-other";
}

/* Points of the timed calls with work and traffic: both axes are logarithmic. */
static size_t roof_points(const struct view *v, struct point *pts)
{
    size_t n = 0;
    for (size_t i = 0; i < v->n_layers && n < MAX_POINTS; i++) {
        const struct layer *l = &v->layers[i];
        if (!l->usable || l->gpu_ns <= 0 || l->flops <= 0 || l->bytes <= 0) continue;
        pts[n++] = (struct point){l->flops / l->bytes, l->flops / l->gpu_ns * 1e9, l};
    }
    return n;
}

static void roof_grid(FILE *o, const struct log_axis *ax, const struct log_axis *ay)
{
    char buf[40];
    int xs = (ax->hi - ax->lo + 11) / 12, ys = (ay->hi - ay->lo + 9) / 10; /* label density */
    for (int d = ax->lo; d <= ax->hi; d += xs) {
        double x = roof_px(ax, pow(10, d));
        fprintf(o, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>"
                   "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                x, ROOF_Y0, x, ROOF_Y0 + ROOF_PH, x, ROOF_Y0 + ROOF_PH + 16, si(pow(10, d), buf));
    }
    for (int d = ay->lo; d <= ay->hi; d += ys) {
        double y = roof_py(ay, pow(10, d));
        fprintf(o, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>"
                   "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                ROOF_X0, y, ROOF_X0 + ROOF_PW, y, ROOF_X0 - 6, y + 4, si(pow(10, d), buf));
    }
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" "
               "stroke=\"#444\"/>\n<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">arithmetic "
               "intensity, FLOPs / (bytes read + written)</text>\n<text x=\"16\" y=\"%d\" "
               "transform=\"rotate(-90 16 %d)\" text-anchor=\"middle\">achieved FLOP/s "
               "(T = 10^12)</text>\n",
            ROOF_X0, ROOF_Y0, ROOF_PW, ROOF_PH, ROOF_X0 + ROOF_PW / 2, ROOF_Y0 + ROOF_PH + 36,
            ROOF_Y0 + ROOF_PH / 2, ROOF_Y0 + ROOF_PH / 2);
}

/* min(peak, bandwidth × intensity), clipped to the plot. */
static void roof_line(FILE *o, const struct view *v, const struct log_axis *ax,
                      const struct log_axis *ay)
{
    double peak = v->peak_tflops * 1e12, bw = v->bw_tbps * 1e12, ridge = peak / bw;
    double x0 = pow(10, ax->lo), x1 = pow(10, ax->hi), y_floor = pow(10, ay->lo);
    if (bw * x0 < y_floor) x0 = y_floor / bw; /* the slope enters at the bottom edge */
    if (x0 > ridge) x0 = ridge;
    fprintf(o, "<path class=\"roof\" d=\"M%.1f %.1f L%.1f %.1f L%.1f %.1f\"/>\n",
            roof_px(ax, x0), roof_py(ay, fmin(peak, bw * x0)), roof_px(ax, ridge),
            roof_py(ay, peak), roof_px(ax, x1), roof_py(ay, peak));
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">peak %.4g TFLOP/s%s</text>\n",
            roof_px(ax, x1) - 6, roof_py(ay, peak) - 6, v->peak_tflops,
            v->peak_assumed ? " (H100, assumed)" : "");
    /* the bandwidth label runs along the slope, just after it enters the plot */
    double angle = -atan2((double)ROOF_PH / (ay->hi - ay->lo), (double)ROOF_PW / (ax->hi - ax->lo)) *
                   180 / M_PI;
    double lx = roof_px(ax, x0) + 14, ly = roof_py(ay, fmin(peak, bw * x0)) + 14 * tan(angle * M_PI / 180) - 6;
    fprintf(o, "<text x=\"%.1f\" y=\"%.1f\" transform=\"rotate(%.2f %.1f %.1f)\">memory %.4g "
               "TB/s%s</text>\n",
            lx, ly, angle, lx, ly, v->bw_tbps, v->bw_assumed ? " (H100, assumed)" : "");
}

static void roof_marks(FILE *o, const struct point *pts, size_t n, const struct log_axis *ax,
                       const struct log_axis *ay, bool per_frame)
{
    for (size_t i = 0; i < n; i++) {
        char a[40];
        fprintf(o, "<circle class=\"mark %s\" cx=\"%.1f\" cy=\"%.1f\" r=\"5\"><title>",
                kind_class(pts[i].l->op->op), roof_px(ax, pts[i].x), roof_py(ay, pts[i].y));
        layer_title(o, pts[i].l);
        fprintf(o, ": %.3g FLOP/B, %sFLOP/s%s</title></circle>\n", pts[i].x, si(pts[i].y, a),
                per_frame ? " (mean over frames)" : "");
    }
    static const char *const legend[][2] = {{"k-conv", "convolution"}, {"k-gemm", "GEMM"},
                                            {"k-other", "other"}};
    for (int i = 0; i < 3; i++)
        fprintf(o, "<circle class=\"%s\" cx=\"%d\" cy=\"%d\" r=\"5\"/><text x=\"%d\" y=\"%d\">"
                   "%s</text>\n",
                legend[i][0], ROOF_X0 + ROOF_PW + 20, ROOF_Y0 + 10 + 20 * i, ROOF_X0 + ROOF_PW + 30,
                ROOF_Y0 + 14 + 20 * i, legend[i][1]);
}

static void roof_chart(FILE *o, const struct view *v, const struct point *pts, size_t n)
{
    double peak = v->peak_tflops * 1e12, ridge = peak / (v->bw_tbps * 1e12);
    double xmin = ridge, xmax = ridge, ymin = peak, ymax = peak;
    for (size_t i = 0; i < n; i++) {
        xmin = fmin(xmin, pts[i].x), xmax = fmax(xmax, pts[i].x);
        ymin = fmin(ymin, pts[i].y), ymax = fmax(ymax, pts[i].y);
    }
    struct log_axis ax = log_axis_of(xmin, xmax, 3), ay = log_axis_of(ymin, ymax, 2);
    svg_open(o, CHART_W, ROOF_Y0 + ROOF_PH + 50, "roofline");
    fprintf(o, "<text class=\"title\" x=\"6\" y=\"16\">Roofline: %zu timed call%s</text>\n", n,
            n == 1 ? "" : "s");
    roof_grid(o, &ax, &ay);
    roof_line(o, v, &ax, &ay);
    roof_marks(o, pts, n, &ax, &ay, v->per_frame);
    fputs("</svg>\n", o);
}

static void write_roofline(FILE *o, const struct view *v)
{
    fprintf(o, "<section class=\"roofline\" id=\"p%zu-roofline\">\n<h3>Roofline</h3>\n"
               "<p class=\"note\">One point per timed call%s: x = FLOPs per byte moved, y = "
               "FLOPs over its GPU time. The roof is min(peak compute, memory bandwidth "
               "&times; intensity): ",
            v->number, v->per_frame ? " of one frame (means over the steady frames)" : "");
    if (v->peak_assumed) fputs("<b>the device is not in nnspy's table, so the H100's peak "
                               "(989 TFLOP/s) and bandwidth (3.35 TB/s) stand in</b>.", o);
    else fprintf(o, "%.4g TFLOP/s%s and %.4g TB/s%s.", v->peak_tflops,
                 v->t->peak_tflops > 0 ? " (from the trace)" : " (nnspy's table)", v->bw_tbps,
                 v->bw_assumed ? " (<b>the H100's: the device is not in nnspy's table</b>)"
                               : " (nnspy's table)");
    fprintf(o, " The ridge is at %.3g FLOP/byte: a call left of it is bound by memory, right of "
               "it by compute. Calls without FLOPs or bytes are not drawn (a log scale has no "
               "zero).</p>\n",
            v->peak_tflops / v->bw_tbps);
    struct point *pts = malloc(MAX_POINTS * sizeof *pts);
    size_t n = pts ? roof_points(v, pts) : 0;
    if (n) roof_chart(o, v, pts, n);
    else fputs(pts ? "<p>No timed calls: nothing to place under the roof.</p>\n"
                   : "<p class=\"warn\">Out of memory: chart left out.</p>\n",
               o);
    if (v->n_layers == MAX_POINTS && (!v->per_frame || n == MAX_POINTS))
        fprintf(o, "<p class=\"note\">Only the first %d calls are considered.</p>\n", MAX_POINTS);
    free(pts);
    fputs("</section>\n", o);
}

/* ------------------------------------------------------------------ hardware */

/* Bytes, exact, then in MB (10^6) and MiB (2^20), rounded. */
static void cell_bytes(FILE *o, uint64_t b)
{
    char g[32];
    fprintf(o, "<td class=\"n\">%s</td><td class=\"n\">%.3f</td><td class=\"n\">%.3f</td>",
            grouped(b, g), (double)b / 1e6, (double)b / 1048576.0);
}

static uint64_t max_workspace(const nn_trace *t)
{
    uint64_t m = 0;
    for (size_t i = 0; i < t->n_ops; i++)
        if (t->ops[i].workspace_bytes > m) m = t->ops[i].workspace_bytes;
    return m;
}

/* params × bytes per element, rounded up to whole bytes (fp4 packs two per byte). */
static uint64_t param_memory(uint64_t params, unsigned eighths_per_elem)
{
    if (params / 8 > UINT64_MAX / 8 / eighths_per_elem) return UINT64_MAX; /* saturate */
    uint64_t whole = params / 8 * eighths_per_elem, rest = params % 8 * eighths_per_elem;
    return whole + (rest + 7) / 8;
}

static void write_memory(FILE *o, const struct view *v)
{
    static const struct { const char *name; unsigned eighths; } types[] = {
        {"fp32", 32}, {"fp16 / bf16", 16}, {"fp8 / int8", 8}, {"fp4", 4}};
    uint64_t ws = max_workspace(v->t), params = v->t->totals.params;
    char g[32], pb[32];
    fputs("<h4>Memory for the weights</h4>\n", o);
    if (!v->t->complete) {
        fprintf(o, "<p>The parameter count is unknown (no END record), so is their memory. "
                   "Largest workspace given to one call: %s bytes (%.3f MB, %.3f MiB).</p>\n",
                grouped(ws, g), (double)ws / 1e6, (double)ws / 1048576.0);
        return;
    }
    fprintf(o, "<table><tr><th>data type</th><th>parameters (%s) &times; size, bytes</th>"
               "<th>MB</th><th>MiB</th><th>+ largest workspace, bytes</th><th>MB</th>"
               "<th>MiB</th></tr>\n",
            grouped(params, g));
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        uint64_t b = param_memory(params, types[i].eighths), sum = b + ws;
        if (sum < b) sum = UINT64_MAX; /* saturate: a hostile trace's numbers */
        fprintf(o, "<tr><td>%s (%g B)</td>", types[i].name, types[i].eighths / 8.0);
        cell_bytes(o, b);
        cell_bytes(o, sum);
        fputs("</tr>\n", o);
    }
    fprintf(o, "</table>\n<p class=\"note\">Largest workspace given to one call: %s bytes. "
               "As recorded (the model's own data types), the parameters take %s bytes. "
               "Activations are not included.</p>\n",
            grouped(ws, g), grouped(v->t->totals.param_bytes, pb));
}

/* Lower bound of one call on one GPU: it cannot beat either roof. */
static double bound_ns(const struct gpu *g, double flops, double bytes)
{
    return fmax(flops / (g->tflops * 1e3), bytes / (g->tbps * 1e3)); /* TFLOP/s = 1e3 FLOP/ns */
}

/*
 * Roofline bound on one frame's GPU time: the sum over its calls. Auto: one frame
 * of mean calls. Given frames: the calls in frames, over the frame count. No
 * frames: the whole run.
 */
static double frame_bound_ns(const struct view *v, const struct gpu *g, size_t *frames)
{
    double sum = 0;
    *frames = 0;
    if (v->per_frame) {
        for (size_t i = 0; i < v->n_layers; i++)
            if (v->layers[i].usable) sum += bound_ns(g, v->layers[i].flops, v->layers[i].bytes);
        return *frames = 1, sum;
    }
    uint32_t last = 0;
    for (size_t i = 0; i < v->t->n_ops; i++) { /* frames with calls, as nn_frames_given */
        uint32_t id = v->t->ops[i].given_frame;
        if (id && id != last) ++*frames;
        last = id;
    }
    bool given = v->f.mode && strcmp(v->f.mode, "auto") != 0 && *frames > 0;
    if (!given) *frames = 0; /* no frames: the whole run */
    for (size_t i = 0; i < v->t->n_ops; i++) {
        const nn_trace_op *op = &v->t->ops[i];
        if (op_usable(op) && (!given || op->given_frame))
            sum += bound_ns(g, (double)op->flops, bytes_of(op));
    }
    return given ? sum / (double)*frames : sum;
}

/* One GPU's bound; with frames, also the frame rate it caps. */
static void write_bound_row(FILE *o, const struct view *v, const struct gpu *g)
{
    size_t frames;
    double ns = frame_bound_ns(v, g, &frames);
    fprintf(o, "<tr%s><td>%s%s</td><td class=\"n\">%g</td><td class=\"n\">%g</td>"
               "<td class=\"n\">%.6f</td>",
            g == v->gpu ? " class=\"this\"" : "", g->match,
            g == v->gpu ? " (this device)" : "", g->tflops, g->tbps, ns / 1e6);
    if (frames && ns > 0) fprintf(o, "<td class=\"n\">%.1f</td>", 1e9 / ns);
    else if (frames) fputs("<td class=\"n\">&ndash;</td>", o);
    fputs("</tr>\n", o);
}

static void write_bounds(FILE *o, const struct view *v)
{
    size_t frames;
    frame_bound_ns(v, &gpus[0], &frames);
    fputs("<h4>Roofline lower bound on frame latency</h4>\n<p class=\"note\">", o);
    if (v->per_frame)
        fprintf(o, "Over one frame's %zu calls (mean FLOPs and bytes over the steady frames)",
                v->f.period);
    else if (frames)
        fprintf(o, "Over the calls in frames, divided by the %zu frames", frames);
    else
        fputs("<b>No frames: over the whole run</b>", o);
    fputs(": the sum of max(FLOPs / peak, bytes / bandwidth) for each call. No GPU can do "
          "better; launch gaps, low occupancy and data types slower than 16-bit make "
          "real latency higher.", o);
    if (v->f.latency.count)
        fprintf(o, " Measured here: mean %.6f ms over %zu frames.", v->f.latency.mean_ms,
                v->f.latency.count);
    fprintf(o, "</p>\n<table><tr><th>GPU</th><th>peak TFLOP/s (dense 16-bit)</th>"
               "<th>memory TB/s</th><th>%s</th></tr>\n",
            frames ? "bound, ms per frame</th><th>at most frames/s" : "bound, ms for the run");
    for (size_t i = 0; i < N_GPUS; i++) write_bound_row(o, v, &gpus[i]);
    fputs("</table>\n", o);
}

static void write_hardware(FILE *o, const struct view *v)
{
    fprintf(o, "<section class=\"hardware\" id=\"p%zu-hardware\">\n<h3>Hardware "
               "requirements</h3>\n",
            v->number);
    write_memory(o, v);
    write_bounds(o, v);
    fputs("</section>\n", o);
}

/* ------------------------------------------------------------------ one process */

static void write_frames_summary(FILE *o, const struct view *v)
{
    const nn_html_frames *f = &v->f;
    fputs("<p>", o);
    if (!f->mode) {
        fputs("Frames: not computed.", o);
    } else {
        fputs("Frames (", o);
        esc(o, f->mode);
        fprintf(o, "): %zu", f->count);
        if (f->warmup) fprintf(o, " after %zu warm-up", f->warmup);
        if (f->period) fprintf(o, ", %zu calls each", f->period);
        fputc('.', o);
    }
    if (f->have_fps) fprintf(o, " FPS %.2f (frames per second of host time).", f->fps);
    if (f->have_tflops)
        fprintf(o, " Achieved %.3f TFLOP/s (FLOPs over GPU busy time), %.2f%% of %s%.4g TFLOP/s.",
                f->achieved_tflops, 100.0 * f->achieved_tflops / v->peak_tflops,
                v->peak_assumed ? "the H100's (assumed) " : "", v->peak_tflops);
    fputs("</p>\n", o);
}

static void write_timing_summary(FILE *o, const nn_trace *t)
{
    if (!t->complete)
        fputs("<p class=\"warn\">This trace has no END record: the process crashed or was "
              "killed. Every call before the end of the file is shown.</p>\n",
              o);
    if (t->dropped_records)
        fprintf(o, "<p class=\"warn\">%llu records were dropped (the writer could not keep "
                   "up): calls, times or frames are missing.</p>\n",
                (unsigned long long)t->dropped_records);
    fputs("<p>GPU timing (", o);
    esc(o, t->timing_mode);
    fputs("): ", o);
    if (t->timing_available) {
        fputs("available.", o);
    } else {
        fputs("unavailable (", o);
        esc(o, t->timing_reason ? t->timing_reason : "no reason given");
        fputs(").", o);
    }
    if (t->other_kernels)
        fprintf(o, " Other GPU work (kernels of no intercepted call): %llu kernels, %.6f ms.",
                (unsigned long long)t->other_kernels, (double)t->other_ns / 1e6);
    fputs("</p>\n", o);
}

static int write_process(FILE *o, const nn_trace *t, const nn_html_frames *f, size_t number)
{
    struct view v = {.t = t, .number = number};
    if (f) v.f = *f;
    choose_roofs(&v);
    fprintf(o, "<section class=\"process\" id=\"p%zu\">\n<h2>Process #%zu: pid %ld", number,
            number, t->pid);
    if (t->rank >= 0) fprintf(o, ", rank %ld", t->rank);
    fputs(" &mdash; ", o);
    esc(o, t->device_name);
    fputs(t->simulated ? " <span class=\"sim\">SIMULATED</span></h2>\n" : "</h2>\n", o);
    write_timing_summary(o, t);
    write_frames_summary(o, &v);
    if (collect_layers(&v) != 0) {
        fputs("<p class=\"warn\">Out of memory: this process's charts are left out.</p>\n"
              "</section>\n", o);
        return -1;
    }
    write_macs_chart(o, &v);
    write_time_chart(o, &v);
    write_latency(o, &v);
    write_roofline(o, &v);
    write_hardware(o, &v);
    free(v.layers);
    fputs("</section>\n", o);
    return 0;
}

int nn_html_write(FILE *out, const nn_trace *const *traces, size_t n_traces,
                  const nn_html_frames *frames)
{
    int rc = 0;
    write_head(out);
    write_header(out, traces, n_traces);
    write_totals(out, traces, n_traces);
    for (size_t i = 0; i < n_traces; i++)
        if (write_process(out, traces[i], frames ? &frames[i] : NULL, i) != 0) rc = -1;
    fputs("<p class=\"small\">Written by nnspy report. Self-contained: no script, no "
          "network.</p>\n</body>\n</html>\n",
          out);
    if (fflush(out) != 0 || ferror(out)) rc = -1;
    return rc;
}
