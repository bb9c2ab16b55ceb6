/*
 * test_diff.c: `nnspy diff`'s comparison core, checks, output and option parsing, on
 * traces built in memory (no trace file, no reader: diff.c is included without
 * its file loader). Every expected number is derived by hand in the comments.
 */
#define NN_DIFF_NO_READER
#include "diff.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

/* ---------------------------------------------------------------- builders */

#define F_OK (NN_TOP_SUCCEEDED | NN_TOP_COST_KNOWN)

/* Strings of the ops built here live as long as the test: a small arena. */
static char *arena_strs[16384];
static size_t arena_n;

static const char *str(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    assert_true(arena_n < sizeof arena_strs / sizeof arena_strs[0]);
    char *s = strdup(buf);
    assert_non_null(s);
    arena_strs[arena_n++] = s;
    return s;
}

static int free_arena(void **state)
{
    (void)state;
    for (size_t i = 0; i < arena_n; i++) free(arena_strs[i]);
    arena_n = 0;
    return 0;
}

static nn_trace_op op(uint32_t api, const char *name, const char *shape, uint64_t macs,
                      uint64_t flops, uint64_t params, uint64_t sig)
{
    static const char *const functions[] = {"cudnnFn", "cublasFn", "cublasLtFn"};
    return (nn_trace_op){.api = api,
                         .function = functions[api],
                         .op = name,
                         .shape = shape,
                         .dtype = "f32",
                         .flags = F_OK,
                         .macs = macs,
                         .flops = flops,
                         .params_read = params,
                         .signature = sig,
                         .gpu_start_ns = NN_UNTIMED,
                         .gpu_end_ns = NN_UNTIMED};
}

/* A trace of ops[0 .. n) (numbered in order), totals summed; params as given. */
static nn_trace trace(const char *path, nn_trace_op *ops, size_t n, uint64_t params)
{
    nn_trace t = {.path = (char *)path,
                  .pid = 100,
                  .rank = -1,
                  .ops = ops,
                  .n_ops = n,
                  .complete = true,
                  .frame_mode = "auto",
                  .device_name = "sim"};
    for (size_t i = 0; i < n; i++) {
        ops[i].call = i;
        t.totals.calls++;
        t.totals.macs += ops[i].macs;
        t.totals.flops += ops[i].flops;
    }
    t.totals.params = params;
    return t;
}

/*
 * torchvision's AlexNet at batch 1, 224x224, with K filters in conv2: its 27 calls
 * as nnspy records them (shapes as the preload writes them). MACs = K x Hout x
 * Wout x C x kh x kw; FLOPs = 2 MACs for convolutions and GEMMs, 1 per output for
 * bias adds and ReLUs, 8 per output for the 3x3 max pools, 1 for the 1x1 average.
 */
static size_t alexnet(nn_trace_op *o, int k, uint64_t *params)
{
    struct {
        int c, h, out, ks, oh;
        bool pool;
    } conv[5] = {{3, 224, 64, 11, 55, true},
                 {64, 27, k, 5, 27, true},
                 {k, 13, 384, 3, 13, false},
                 {384, 13, 256, 3, 13, false},
                 {256, 13, 256, 3, 13, true}};
    size_t n = 0;
    uint64_t sig = 1;
    *params = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t y = (uint64_t)conv[i].out * conv[i].oh * conv[i].oh;
        uint64_t w = (uint64_t)conv[i].out * conv[i].c * conv[i].ks * conv[i].ks;
        uint64_t macs = y * conv[i].c * conv[i].ks * conv[i].ks;
        o[n++] = op(0, "conv_fwd",
                    str("1x%dx%dx%d * %dx%dx%dx%d -> 1x%dx%dx%d", conv[i].c, conv[i].h, conv[i].h,
                        conv[i].out, conv[i].c, conv[i].ks, conv[i].ks, conv[i].out, conv[i].oh,
                        conv[i].oh),
                    macs, 2 * macs, w, sig++);
        o[n++] = op(0, "add_tensor",
                    str("1x%dx1x1 + 1x%dx%dx%d", conv[i].out, conv[i].out, conv[i].oh, conv[i].oh),
                    0, y, (uint64_t)conv[i].out, sig++);
        o[n++] = op(0, "activation",
                    str("1x%dx%dx%d -> 1x%dx%dx%d relu", conv[i].out, conv[i].oh, conv[i].oh,
                        conv[i].out, conv[i].oh, conv[i].oh),
                    0, y, 0, sig++);
        *params += w + (uint64_t)conv[i].out;
        if (conv[i].pool) {
            int ph = (conv[i].oh - 3) / 2 + 1;
            o[n++] = op(0, "pool_fwd",
                        str("1x%dx%dx%d -> 1x%dx%dx%d max", conv[i].out, conv[i].oh, conv[i].oh,
                            conv[i].out, ph, ph),
                        0, 8ull * conv[i].out * ph * ph, 0, sig++);
        }
    }
    o[n++] = op(0, "pool_fwd", "1x256x6x6 -> 1x256x6x6 avg", 0, 9216, 0, sig++);
    int fc[4] = {9216, 4096, 4096, 1000};
    for (int i = 0; i < 3; i++) {
        uint64_t macs = (uint64_t)fc[i] * fc[i + 1];
        o[n++] = op(1, "gemm", str("TN %dx%d * %dx1 -> %dx1", fc[i + 1], fc[i], fc[i], fc[i + 1]),
                    macs, 2 * macs, macs, sig++);
        o[n++] = op(0, "add_tensor", str("1x%dx1x1 + 1x%dx1x1", fc[i + 1], fc[i + 1]), 0,
                    (uint64_t)fc[i + 1], (uint64_t)fc[i + 1], sig++);
        if (i < 2)
            o[n++] = op(0, "activation", str("1x%dx1x1 -> 1x%dx1x1 relu", fc[i + 1], fc[i + 1]), 0,
                        (uint64_t)fc[i + 1], 0, sig++);
        *params += macs + (uint64_t)fc[i + 1];
    }
    return n;
}

/* ----------------------------------------------------------------- options */

/* parse(&o, "diff", ARGS...): the argument count is the list's own */
#define ARGV(...)     ((char *[]){__VA_ARGS__, NULL})
#define ARGC(...)     ((int)(sizeof ARGV(__VA_ARGS__) / sizeof(char *)) - 1)
#define parse(o, ...) nn_diff_parse_options(ARGC(__VA_ARGS__), ARGV(__VA_ARGS__), o)

static void options_accepted(void **state)
{
    (void)state;
    nn_diff_options o;
    assert_int_equal(parse(&o, "diff", "a.nns", "b"), NN_DIFF_PARSE_OK);
    assert_string_equal(o.a, "a.nns");
    assert_string_equal(o.b, "b");
    assert_int_equal(o.format, NN_DIFF_FORMAT_TABLE);
    assert_false(o.fail_set[NN_DIFF_MACS] || o.fail_set[NN_DIFF_PARAMS] ||
                 o.fail_set[NN_DIFF_LATENCY]);

    assert_int_equal(parse(&o, "diff", "--fail-macs", "5", "--fail-params=2.5%", "A",
                           "--fail-latency", "0", "--format", "json", "B"),
                     NN_DIFF_PARSE_OK);
    assert_true(o.fail_set[NN_DIFF_MACS] && o.fail_pct[NN_DIFF_MACS] == 5.0);
    assert_true(o.fail_set[NN_DIFF_PARAMS] && o.fail_pct[NN_DIFF_PARAMS] == 2.5);
    assert_true(o.fail_set[NN_DIFF_LATENCY] && o.fail_pct[NN_DIFF_LATENCY] == 0.0);
    assert_int_equal(o.format, NN_DIFF_FORMAT_JSON);
    assert_string_equal(o.a, "A");
    assert_string_equal(o.b, "B");

    /* after --, a name may start with a dash; "-" alone is a name */
    assert_int_equal(parse(&o, "diff", "--format=table", "--", "-a", "-"), NN_DIFF_PARSE_OK);
    assert_string_equal(o.a, "-a");
    assert_string_equal(o.b, "-");
    assert_int_equal(parse(&o, "diff", "a", "b", "--help"), NN_DIFF_PARSE_HELP);
    assert_int_equal(parse(&o, "diff", "-h"), NN_DIFF_PARSE_HELP);
}

static void options_rejected(void **state)
{
    (void)state;
    nn_diff_options o;
    assert_int_equal(parse(&o, "diff"), NN_DIFF_PARSE_ERROR);
    assert_non_null(strstr(o.error, "no runs"));
    assert_int_equal(parse(&o, "diff", "a"), NN_DIFF_PARSE_ERROR);
    assert_non_null(strstr(o.error, "only one"));
    assert_int_equal(parse(&o, "diff", "a", "b", "c"), NN_DIFF_PARSE_ERROR);
    assert_string_equal(o.culprit, "c");
    assert_int_equal(parse(&o, "diff", "--bogus", "a", "b"), NN_DIFF_PARSE_ERROR);
    assert_string_equal(o.culprit, "--bogus");
    assert_int_equal(parse(&o, "diff", "a", "b", "--fail-macs"), NN_DIFF_PARSE_ERROR);
    assert_string_equal(o.culprit, "--fail-macs");
    assert_int_equal(parse(&o, "diff", "a", "b", "--format"), NN_DIFF_PARSE_ERROR);
    char *bad_pct[] = {"",    "x", "-1",   "nan", "inf",  "1e3",
                       "5%%", "%", "1.5x", " 5",  "0x10", "1e999"};
    for (size_t i = 0; i < sizeof bad_pct / sizeof bad_pct[0]; i++) {
        assert_int_equal(parse(&o, "diff", "--fail-params", bad_pct[i], "a", "b"),
                         NN_DIFF_PARSE_ERROR);
        assert_string_equal(o.culprit, bad_pct[i]);
        assert_non_null(strstr(o.error, "--fail-params"));
    }
    assert_int_equal(parse(&o, "diff", "--format", "xml", "a", "b"), NN_DIFF_PARSE_ERROR);
    assert_string_equal(o.culprit, "xml");
    assert_int_equal(parse(&o, "diff", "--fail-macs=", "a", "b"), NN_DIFF_PARSE_ERROR);
    assert_int_equal(parse(&o, "diff", "", "b"), NN_DIFF_PARSE_ERROR);
    /* a prefix of an option is not that option */
    assert_int_equal(parse(&o, "diff", "--fail-mac", "1", "a", "b"), NN_DIFF_PARSE_ERROR);
}

/* --------------------------------------------------------------- comparison */

static void identical_runs(void **state)
{
    (void)state;
    nn_trace_op a[32], b[32];
    uint64_t pa, pb;
    size_t n = alexnet(a, 192, &pa);
    assert_int_equal(n, 27);
    alexnet(b, 192, &pb);
    nn_trace ta = trace("a.nns", a, n, pa), tb = trace("b.nns", b, n, pb);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    assert_int_equal(d->same, 27);
    assert_int_equal(d->changed + d->added + d->removed, 0);
    assert_int_equal(d->method, NN_DIFF_BY_LCS); /* one pass: no repeating frame */
    assert_false(d->a.frames_found);
    assert_int_equal(d->a.compared, 27);
    nn_diff_free(d);
}

static void alexnet_conv2_filters(void **state)
{
    (void)state;
    nn_trace_op a[32], b[32];
    uint64_t pa, pb;
    size_t na = alexnet(a, 192, &pa), nb = alexnet(b, 128, &pb);
    /* the published totals at K = 192 */
    assert_int_equal(pa, 61100840);
    nn_trace ta = trace("a.nns", a, na, pa), tb = trace("b.nns", b, nb, pb);
    assert_int_equal(ta.totals.macs, 714188480);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    /* conv2, its bias add, ReLU and pool; conv3 (its input channels): 5 changed */
    assert_int_equal(d->changed, 5);
    assert_int_equal(d->same, 22);
    assert_int_equal(d->added + d->removed, 0);
    const char *ops[5] = {"conv_fwd", "add_tensor", "activation", "pool_fwd", "conv_fwd"};
    /* conv2: -64 x 27 x 27 x 64 x 25 = -74,649,600 MACs, -64 x 64 x 25 weights
     * bias add and ReLU: -64 x 27 x 27 = -46,656 FLOPs each; the bias -64 params
     * pool2: -64 x 13 x 13 x 8 = -86,528 FLOPs
     * conv3: -384 x 13 x 13 x 64 x 9 = -37,380,096 MACs, -384 x 64 x 9 = -221,184 */
    int64_t dmacs[5] = {-74649600, 0, 0, 0, -37380096};
    int64_t dflops[5] = {-149299200, -46656, -46656, -86528, -74760192};
    int64_t dparams[5] = {-102400, -64, 0, 0, -221184};
    size_t k = 0;
    for (size_t i = 0; i < d->n_entries; i++) {
        const nn_diff_entry *e = &d->entries[i];
        if (e->kind != NN_DIFF_CHANGED) continue;
        assert_true(k < 5);
        assert_string_equal(e->a.op->op, ops[k]);
        assert_int_equal(e->a.position, e->b.position);
        assert_int_equal((int64_t)(e->b.op->macs - e->a.op->macs), dmacs[k]);
        assert_int_equal((int64_t)(e->b.op->flops - e->a.op->flops), dflops[k]);
        assert_int_equal((int64_t)(e->b.op->params_read - e->a.op->params_read), dparams[k]);
        k++;
    }
    assert_int_equal(k, 5);
    assert_string_equal(d->entries[4].a.op->shape, "1x64x27x27 * 192x64x5x5 -> 1x192x27x27");
    assert_string_equal(d->entries[4].b.op->shape, "1x64x27x27 * 128x64x5x5 -> 1x128x27x27");
    /* totals: -74,649,600 - 37,380,096 = -112,029,696 MACs; params: conv2 -64 x 1,601
     * = -102,464, conv3 -221,184: -323,648 */
    assert_int_equal(d->b.totals.macs, 602158784);
    assert_int_equal(d->a.totals.macs - d->b.totals.macs, 112029696);
    assert_int_equal(d->a.totals.params - d->b.totals.params, 323648);
    double pct;
    assert_true(nn_diff_relative_pct(d->a.totals.macs, d->b.totals.macs, &pct));
    assert_true(fabs(pct - (-112029696.0 / 714188480.0 * 100)) < 1e-9);

    /* B over A the other way: 128 -> 192 raises MACs by 112,029,696 / 602,158,784
     * = 18.60%: --fail-macs 18 fails, 19 passes; params +323,648 / 60,777,192 = 0.53% */
    nn_diff *up = nn_diff_compute(&tb, 1, &ta, 1);
    assert_non_null(up);
    nn_diff_options o = {0};
    nn_diff_check c[NN_DIFF_N_METRICS];
    o.fail_set[NN_DIFF_MACS] = true;
    o.fail_pct[NN_DIFF_MACS] = 18;
    o.fail_set[NN_DIFF_PARAMS] = true;
    o.fail_pct[NN_DIFF_PARAMS] = 0.5;
    assert_int_equal(nn_diff_checks(up, &o, c), 2);
    assert_true(c[0].failed && c[0].metric == NN_DIFF_MACS);
    assert_true(fabs(c[0].change_pct - 112029696.0 / 602158784.0 * 100) < 1e-9);
    assert_true(c[1].failed && c[1].metric == NN_DIFF_PARAMS);
    o.fail_pct[NN_DIFF_MACS] = 19;
    o.fail_pct[NN_DIFF_PARAMS] = 0.6;
    nn_diff_checks(up, &o, c);
    assert_false(c[0].failed || c[1].failed);
    /* a decrease never fails, even at 0% */
    o.fail_pct[NN_DIFF_MACS] = 0;
    o.fail_pct[NN_DIFF_PARAMS] = 0;
    nn_diff_checks(d, &o, c);
    assert_false(c[0].failed || c[1].failed);
    nn_diff_free(up);
    nn_diff_free(d);
}

/* [a b c d] -> [a x b d]: c removed, x added (different ops: no pair) */
static void added_and_removed(void **state)
{
    (void)state;
    nn_trace_op a[4] = {op(0, "conv_fwd", "s1", 10, 20, 5, 1),
                        op(0, "add_tensor", "s2", 0, 3, 0, 2),
                        op(0, "activation", "s3", 0, 4, 0, 3), op(1, "gemm", "s4", 7, 14, 7, 4)};
    nn_trace_op b[4] = {op(0, "conv_fwd", "s1", 10, 20, 5, 1), op(0, "pool_fwd", "sx", 0, 9, 0, 5),
                        op(0, "add_tensor", "s2", 0, 3, 0, 2), op(1, "gemm", "s4", 7, 14, 7, 4)};
    nn_trace ta = trace("a", a, 4, 12), tb = trace("b", b, 4, 12);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    assert_int_equal(d->same, 3);
    assert_int_equal(d->added, 1);
    assert_int_equal(d->removed, 1);
    assert_int_equal(d->changed, 0);
    assert_int_equal(d->n_entries, 5);
    /* in order: a, (x added), b, (c removed), d */
    assert_int_equal(d->entries[0].kind, NN_DIFF_SAME);
    assert_int_equal(d->entries[1].kind, NN_DIFF_ADDED);
    assert_string_equal(d->entries[1].b.op->op, "pool_fwd");
    assert_null(d->entries[1].a.op);
    assert_int_equal(d->entries[1].b.position, 1);
    assert_int_equal(d->entries[2].kind, NN_DIFF_SAME);
    assert_int_equal(d->entries[3].kind, NN_DIFF_REMOVED);
    assert_string_equal(d->entries[3].a.op->op, "activation");
    assert_int_equal(d->entries[4].kind, NN_DIFF_SAME);
    nn_diff_free(d);
}

/* The exact shape wins over the first op of the same kind; the rest pair by op. */
static void shapes_matched_first(void **state)
{
    (void)state;
    /* A [gemm s1, gemm s2, conv c] vs B [gemm s2, conv c']: gemm s2 is common,
     * gemm s1 removed; conv c -> c' changed (same op, other shape) */
    nn_trace_op a[3] = {op(1, "gemm", "s1", 10, 20, 10, 1), op(1, "gemm", "s2", 20, 40, 20, 2),
                        op(0, "conv_fwd", "c", 5, 10, 1, 3)};
    nn_trace_op b[2] = {op(1, "gemm", "s2", 20, 40, 20, 2), op(0, "conv_fwd", "c2", 8, 16, 2, 3)};
    nn_trace ta = trace("a", a, 3, 31), tb = trace("b", b, 2, 22);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    assert_int_equal(d->n_entries, 3);
    assert_int_equal(d->entries[0].kind, NN_DIFF_REMOVED);
    assert_string_equal(d->entries[0].a.op->shape, "s1");
    assert_int_equal(d->entries[1].kind, NN_DIFF_SAME);
    assert_int_equal(d->entries[2].kind, NN_DIFF_CHANGED);
    assert_string_equal(d->entries[2].b.op->shape, "c2");
    /* the same shape with another cost, or a call that now fails, is a change */
    nn_trace_op c[2] = {op(1, "gemm", "s2", 21, 42, 20, 2), op(0, "conv_fwd", "c2", 8, 16, 2, 3)};
    c[1].flags = 0;
    nn_trace tc = trace("c", c, 2, 22);
    nn_diff *d2 = nn_diff_compute(&tb, 1, &tc, 1);
    assert_non_null(d2);
    assert_int_equal(d2->changed, 2);
    nn_diff_free(d2);
    nn_diff_free(d);
}

/* warm-up + 3 frames [a b c] vs 3 frames [a b' c]: one frame each, by position */
static void one_frame_by_position(void **state)
{
    (void)state;
    nn_trace_op a[10], b[9];
    a[0] = op(1, "gemm", "warmup", 1, 2, 1, 99);
    for (int f = 0; f < 3; f++) {
        a[1 + 3 * f] = op(0, "conv_fwd", "x", 100, 200, 10, 1);
        a[2 + 3 * f] = op(1, "gemm", "g", 50, 100, 50, 2);
        a[3 + 3 * f] = op(0, "activation", "r", 0, 7, 0, 3);
        b[3 * f] = op(0, "conv_fwd", "x", 100, 200, 10, 1);
        b[1 + 3 * f] = op(1, "gemm", "g2", 60, 120, 60, 2);
        b[2 + 3 * f] = op(0, "activation", "r", 0, 7, 0, 3);
    }
    nn_trace ta = trace("a", a, 10, 61), tb = trace("b", b, 9, 71);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    assert_true(d->a.frames_found && d->b.frames_found);
    assert_int_equal(d->method, NN_DIFF_BY_POSITION);
    assert_int_equal(d->a.compared, 3);
    assert_int_equal(d->b.compared, 3);
    assert_int_equal(d->a.frames, 3); /* the warm-up call is no frame */
    assert_int_equal(d->changed, 1);
    assert_int_equal(d->same, 2);
    /* the last frame is compared: A's calls 7, 8, 9 */
    assert_int_equal(d->entries[1].a.op->call, 8);
    assert_int_equal(d->entries[1].b.op->call, 7);
    assert_int_equal(d->a.compared_macs, 150);
    assert_int_equal(d->b.compared_macs, 160);
    /* totals are the whole runs': 1 + 3 x 150 = 451, 3 x 160 = 480 */
    assert_int_equal(d->a.totals.macs, 451);
    assert_int_equal(d->b.totals.macs, 480);

    /* frames of another length: a longest common subsequence, d added */
    nn_trace_op c[12];
    for (int f = 0; f < 3; f++) {
        c[4 * f] = op(0, "conv_fwd", "x", 100, 200, 10, 1);
        c[4 * f + 1] = op(1, "gemm", "g", 50, 100, 50, 2);
        c[4 * f + 2] = op(0, "activation", "r", 0, 7, 0, 3);
        c[4 * f + 3] = op(0, "pool_fwd", "p", 0, 9, 0, 4);
    }
    nn_trace tc = trace("c", c, 12, 61);
    nn_diff *d2 = nn_diff_compute(&ta, 1, &tc, 1);
    assert_non_null(d2);
    assert_int_equal(d2->method, NN_DIFF_BY_LCS);
    assert_int_equal(d2->same, 3);
    assert_int_equal(d2->added, 1);
    assert_int_equal(d2->entries[3].kind, NN_DIFF_ADDED);

    /* a side without a frame (one pass) is compared whole, against the other's frame */
    nn_trace tone = trace("one", b, 3, 71);
    nn_diff *d3 = nn_diff_compute(&ta, 1, &tone, 1);
    assert_non_null(d3);
    assert_false(d3->b.frames_found);
    assert_int_equal(d3->method, NN_DIFF_BY_LCS);
    assert_int_equal(d3->changed, 1);
    assert_int_equal(d3->same, 2);
    nn_diff_free(d3);
    nn_diff_free(d2);
    nn_diff_free(d);
}

/* marker frames: the last marked frame is compared; latency over every frame */
static void given_frames(void **state)
{
    (void)state;
    nn_trace_op a[5] = {op(1, "gemm", "g", 8, 16, 8, 1), op(1, "gemm", "g", 8, 16, 8, 1),
                        op(1, "gemm", "h", 9, 18, 9, 2), op(1, "gemm", "g", 8, 16, 8, 1),
                        op(0, "conv_fwd", "c", 3, 6, 1, 3)};
    uint32_t frame[5] = {0, 1, 1, 2, 2};
    for (int i = 0; i < 5; i++) {
        a[i].given_frame = frame[i];
        a[i].gpu_start_ns = 1000 * i;
        a[i].gpu_end_ns = 1000 * i + 500;
    }
    nn_trace ta = trace("a", a, 5, 0);
    ta.frame_mode = "marker";
    nn_diff *d = nn_diff_compute(&ta, 1, &ta, 1);
    assert_non_null(d);
    assert_true(d->a.frames_found);
    assert_string_equal(d->a.frame_mode, "marker");
    assert_int_equal(d->a.compared, 2); /* frame 2: calls 3 and 4 */
    assert_int_equal(d->entries[0].a.op->call, 3);
    assert_int_equal(d->a.frames, 2);
    /* each frame spans 1,000 + 500 ns */
    assert_int_equal(d->a.latency.count, 2);
    assert_true(d->a.latency.p50_ms == 0.0015);
    nn_diff_free(d);
}

/* 4 frames of 2 calls, latencies 10, 20, 30, 40 us (A) and 11, 22, 33, 44 us (B) */
static void timed(nn_trace_op *o, int scale_pct)
{
    int64_t t = 0;
    for (int f = 0; f < 4; f++) {
        int64_t lat = (int64_t)(f + 1) * 10000 * scale_pct / 100;
        o[2 * f] = op(1, "gemm", "g", 8, 16, 8, 1);
        o[2 * f + 1] = op(0, "activation", "r", 0, 4, 0, 2);
        o[2 * f].gpu_start_ns = t;
        o[2 * f].gpu_end_ns = t + lat / 2;
        o[2 * f + 1].gpu_start_ns = t + lat / 2;
        o[2 * f + 1].gpu_end_ns = t + lat;
        t += lat + 1000;
    }
}

static void latency_and_its_check(void **state)
{
    (void)state;
    nn_trace_op a[8], b[8];
    timed(a, 100);
    timed(b, 110);
    nn_trace ta = trace("a", a, 8, 8), tb = trace("b", b, 8, 8);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    /* nearest rank of 4: p50 = 2nd = 20 us, p90 = p99 = 4th = 40 us */
    assert_int_equal(d->a.latency.count, 4);
    assert_true(d->a.latency.p50_ms == 0.020);
    assert_true(d->a.latency.p90_ms == 0.040);
    assert_true(d->b.latency.p50_ms == 0.022);
    assert_true(d->b.latency.p99_ms == 0.044);
    /* p50 +10% exactly: 10 passes (not more than 10), 9.99 fails */
    nn_diff_options o = {0};
    nn_diff_check c[NN_DIFF_N_METRICS];
    o.fail_set[NN_DIFF_LATENCY] = true;
    o.fail_pct[NN_DIFF_LATENCY] = 10;
    assert_int_equal(nn_diff_checks(d, &o, c), 1);
    assert_true(c[0].evaluated);
    assert_false(c[0].failed);
    o.fail_pct[NN_DIFF_LATENCY] = 9.99;
    nn_diff_checks(d, &o, c);
    assert_true(c[0].failed);
    char msg[256];
    nn_diff_check_message(&c[0], msg, sizeof msg);
    assert_non_null(strstr(msg, "--fail-latency 9.99%: p50 frame latency rose 10.00%"));

    /* untimed B: the check cannot pass */
    nn_trace_op u[8];
    timed(u, 100);
    u[3].gpu_end_ns = NN_UNTIMED;
    u[1].gpu_start_ns = NN_UNTIMED;
    u[5].gpu_start_ns = NN_UNTIMED;
    u[7].gpu_start_ns = NN_UNTIMED;
    nn_trace tu = trace("u", u, 8, 8);
    nn_diff *du = nn_diff_compute(&ta, 1, &tu, 1);
    assert_non_null(du);
    assert_int_equal(du->b.latency.count, 0);
    nn_diff_checks(du, &o, c);
    assert_false(c[0].evaluated);
    assert_true(c[0].failed && c[0].b_missing && !c[0].a_missing);
    nn_diff_check_message(&c[0], msg, sizeof msg);
    assert_non_null(strstr(msg, "cannot be checked: B has no timed frame"));
    nn_diff_free(du);
    nn_diff_free(d);
}

static void relative_and_checks_from_zero(void **state)
{
    (void)state;
    double pct;
    assert_true(nn_diff_relative_pct(100, 120, &pct) && pct == 20.0);
    assert_true(nn_diff_relative_pct(100, 50, &pct) && pct == -50.0);
    assert_true(nn_diff_relative_pct(0, 0, &pct) && pct == 0.0);
    assert_false(nn_diff_relative_pct(0, 5, &pct));
    assert_true(nn_diff_relative_pct(UINT64_MAX, 0, &pct) && pct == -100.0);

    nn_trace_op a[1] = {op(0, "activation", "r", 0, 4, 0, 1)};
    nn_trace_op b[1] = {op(1, "gemm", "g", 100, 200, 100, 1)};
    nn_trace ta = trace("a", a, 1, 0), tb = trace("b", b, 1, 100);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    assert_int_equal(d->added, 1);
    assert_int_equal(d->removed, 1);
    nn_diff_options o = {0};
    nn_diff_check c[NN_DIFF_N_METRICS];
    o.fail_set[NN_DIFF_MACS] = true;
    o.fail_pct[NN_DIFF_MACS] = 1000;
    assert_int_equal(nn_diff_checks(d, &o, c), 1);
    assert_true(c[0].failed && c[0].from_zero);
    char msg[256];
    nn_diff_check_message(&c[0], msg, sizeof msg);
    assert_string_equal(msg, "--fail-macs 1000%: MACs rose from 0 (A) to 100 (B)");
    nn_diff_free(d);
}

/* Two processes per side: sorted by rank, pid, path; totals summed; sequences joined. */
static void merged_sides(void **state)
{
    (void)state;
    nn_trace_op w[4][4];
    nn_trace t[4];
    for (int i = 0; i < 4; i++) {
        /* signatures all distinct: no worker repeats, each is compared whole */
        for (int k = 0; k <= i; k++) w[i][k] = op(1, "gemm", "8x4x16", 512, 1024, 128, (uint64_t)k);
        t[i] = trace(str("w%d.nns", i), w[i], (size_t)i + 1, 128);
        t[i].pid = 400 - i; /* the last worker has the smallest pid */
    }
    nn_diff_sort_traces(t, 4);
    assert_int_equal(t[0].pid, 397);
    assert_int_equal(t[0].n_ops, 4);
    nn_diff *d = nn_diff_compute(t, 2, t + 2, 2);
    assert_non_null(d);
    assert_int_equal(d->a.traces, 2);
    /* A: 4 + 3 = 7 GEMMs; B: 2 + 1 = 3; 7 x 512 = 3,584 and 3 x 512 = 1,536 MACs */
    assert_int_equal(d->a.totals.calls, 7);
    assert_int_equal(d->a.totals.macs, 3584);
    assert_int_equal(d->b.totals.macs, 1536);
    assert_int_equal(d->a.totals.params, 256);
    assert_int_equal(d->same, 3);
    assert_int_equal(d->removed, 4);
    /* all four on one side: 10 GEMMs, 5,120 MACs */
    nn_diff *all = nn_diff_compute(t, 4, t, 4);
    assert_non_null(all);
    assert_int_equal(all->a.totals.calls, 10);
    assert_int_equal(all->a.totals.macs, 5120);
    assert_int_equal(all->same, 10);
    /* ranks come first */
    t[3].rank = 0;
    nn_diff_sort_traces(t, 4);
    assert_int_equal(t[0].rank, 0);
    nn_diff_free(all);
    nn_diff_free(d);
}

/* Too many differing calls for the LCS table: compared by position, and said so. */
static void lcs_too_large(void **state)
{
    (void)state;
    enum { N = 6000 }; /* 36,000,000 cells > 2^25 */
    nn_trace_op *a = calloc(N, sizeof *a), *b = calloc(N + 1, sizeof *b);
    assert_non_null(a);
    assert_non_null(b);
    char *names = malloc((size_t)N * 16);
    assert_non_null(names);
    for (int i = 0; i < N; i++) {
        snprintf(names + 16 * i, 16, "s%d", i);
        a[i] = op(1, "gemm", names + 16 * i, 1, 2, 1, (uint64_t)i);
        b[i] = op(1, "gemm", names + 16 * ((i + 1) % N), 1, 2, 1, (uint64_t)i + N);
    }
    b[N] = op(0, "activation", "r", 0, 1, 0, 3);
    nn_trace ta = trace("a", a, N, 0), tb = trace("b", b, N + 1, 0);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    /* head and tail share nothing, so the whole middle is 6,000 x 6,001 */
    assert_int_equal(d->method, NN_DIFF_BY_LCS_CAPPED);
    assert_int_equal(d->changed, N);
    assert_int_equal(d->added, 1);
    nn_diff_free(d);

    /* within the cap (2,000 x 2,001): the rotation is found, one removed, one added */
    nn_trace tc = trace("c", a, 2000, 0), td = trace("d", b, 2000, 0);
    d = nn_diff_compute(&tc, 1, &td, 1);
    assert_non_null(d);
    assert_int_equal(d->method, NN_DIFF_BY_LCS);
    /* a = s0..s1999, b = s1..s2000: s1..s1999 common, s0 removed, s2000 added */
    assert_int_equal(d->same, 1999);
    assert_int_equal(d->changed, 0);
    assert_int_equal(d->removed, 1);
    assert_int_equal(d->added, 1);
    assert_int_equal(d->entries[0].kind, NN_DIFF_REMOVED);
    assert_int_equal(d->entries[2000].kind, NN_DIFF_ADDED);
    nn_diff_free(d);
    free(names);
    free(a);
    free(b);
}

/* ----------------------------------------------------------------- the CLI */

typedef struct fake_runs {
    const char *name[3];
    nn_trace *traces[3];
    size_t n[3];
} fake_runs;

static int fake_load(void *ctx, const char *arg, nn_trace **traces, size_t *n, char *err,
                     size_t errlen)
{
    fake_runs *f = ctx;
    for (int i = 0; i < 3; i++)
        if (f->name[i] && !strcmp(f->name[i], arg)) {
            /* a copy, as a loader allocates */
            *traces = malloc(f->n[i] * sizeof **traces);
            assert_non_null(*traces);
            memcpy(*traces, f->traces[i], f->n[i] * sizeof **traces);
            *n = f->n[i];
            return 0;
        }
    snprintf(err, errlen, "%s: at byte 0: not an nnspy trace (bad magic)", arg);
    return -1;
}

static void fake_unload(void *ctx, nn_trace *traces, size_t n)
{
    (void)ctx;
    (void)n;
    free(traces);
}

typedef struct captured {
    char *out, *err;
    int rc;
} captured;

static captured run_argv(fake_runs *f, int argc, char **argv)
{
    captured c = {0};
    size_t lo, le;
    FILE *out = open_memstream(&c.out, &lo), *err = open_memstream(&c.err, &le);
    assert_non_null(out);
    assert_non_null(err);
    c.rc = nn_diff_run(argc, argv, fake_load, fake_unload, f, out, err);
    fclose(out);
    fclose(err);
    return c;
}
#define run_cli(f, ...) run_argv(f, ARGC(__VA_ARGS__), ARGV(__VA_ARGS__))

static void release(captured *c)
{
    free(c->out);
    free(c->err);
}

static void cli_exit_statuses(void **state)
{
    (void)state;
    nn_trace_op a[32], b[32];
    uint64_t pa, pb;
    size_t na = alexnet(a, 192, &pa), nb = alexnet(b, 128, &pb);
    nn_trace ta = trace("run192/1.nns", a, na, pa), tb = trace("run128/2.nns", b, nb, pb);
    fake_runs f = {.name = {"A", "B"}, .traces = {&ta, &tb}, .n = {1, 1}};

    captured c = run_cli(&f, "diff", "A", "B");
    assert_int_equal(c.rc, NN_DIFF_EXIT_OK);
    assert_non_null(strstr(c.out, "operations: 5 changed, 0 added, 0 removed, 22 unchanged"));
    assert_non_null(strstr(c.out, "-74,649,600"));
    assert_non_null(strstr(c.out, "-112,029,696"));
    assert_non_null(strstr(c.out, "-323,648"));
    assert_non_null(strstr(c.out, "B call 4: 1x64x27x27 * 128x64x5x5 -> 1x128x27x27 f32"));
    assert_string_equal(c.err, "");
    release(&c);

    c = run_cli(&f, "diff", "--format", "json", "A", "B");
    assert_int_equal(c.rc, NN_DIFF_EXIT_OK);
    assert_non_null(strstr(c.out, "\"schema\": \"nnspy.diff/1\""));
    assert_non_null(strstr(c.out, "\"macs\": {\"a\": 714188480, \"b\": 602158784, "
                                  "\"delta\": -112029696, \"relative_pct\": -15.686"));
    assert_non_null(strstr(c.out, "\"params\": {\"a\": 61100840, \"b\": 60777192, "
                                  "\"delta\": -323648"));
    assert_non_null(strstr(c.out, "\"delta\": {\"macs\": -74649600, \"flops\": -149299200, "
                                  "\"params\": -102400}"));
    assert_non_null(strstr(c.out, "\"failed\": false}\n"));
    release(&c);

    /* B over A: 128 -> 192 filters is +18.60% MACs */
    c = run_cli(&f, "diff", "--fail-macs", "10", "B", "A");
    assert_int_equal(c.rc, NN_DIFF_EXIT_CHECK_FAILED);
    assert_string_equal(c.err, "nnspy diff: check failed: --fail-macs 10%: MACs rose 18.60% "
                               "(A 602,158,784, B 714,188,480), more than the threshold\n");
    release(&c);
    c = run_cli(&f, "diff", "--fail-macs", "20", "B", "A");
    assert_int_equal(c.rc, NN_DIFF_EXIT_OK);
    release(&c);
    c = run_cli(&f, "diff", "--fail-macs", "10", "--format", "json", "A", "B");
    assert_int_equal(c.rc, NN_DIFF_EXIT_OK);
    assert_non_null(strstr(c.out, "\"option\": \"--fail-macs\", \"threshold_pct\": 10, "
                                  "\"change_pct\": -15.686"));
    release(&c);
    /* untimed traces: --fail-latency cannot pass */
    c = run_cli(&f, "diff", "--fail-latency", "50", "A", "A");
    assert_int_equal(c.rc, NN_DIFF_EXIT_CHECK_FAILED);
    assert_non_null(
        strstr(c.err, "--fail-latency 50%: cannot be checked: A and B have no timed frame"));
    release(&c);

    c = run_cli(&f, "diff", "A", "missing.nns");
    assert_int_equal(c.rc, NN_DIFF_EXIT_UNREADABLE);
    assert_string_equal(c.err,
                        "nnspy diff: missing.nns: at byte 0: not an nnspy trace (bad magic)\n");
    assert_string_equal(c.out, "");
    release(&c);

    c = run_cli(&f, "diff", "--fail-macs", "ten", "A");
    assert_int_equal(c.rc, NN_DIFF_EXIT_USAGE);
    assert_non_null(strstr(c.err, "nnspy diff: --fail-macs takes a percentage >= 0 (10, 2.5): ten\n"
                                  "usage: nnspy diff"));
    release(&c);
    c = run_cli(&f, "diff", "--help");
    assert_int_equal(c.rc, NN_DIFF_EXIT_OK);
    assert_non_null(strstr(c.out, "exit status"));
    release(&c);
}

static void json_strings_escaped(void **state)
{
    (void)state;
    nn_trace_op a[1] = {op(0, "conv_fwd", "a\"b\\c\n\x01", 1, 2, 1, 1)};
    nn_trace_op b[1] = {op(0, "conv_fwd", "x", 1, 2, 1, 1)};
    nn_trace ta = trace("a\"1", a, 1, 1), tb = trace("b", b, 1, 1);
    nn_diff *d = nn_diff_compute(&ta, 1, &tb, 1);
    assert_non_null(d);
    char *text;
    size_t len;
    FILE *out = open_memstream(&text, &len);
    assert_int_equal(nn_diff_write_json(out, d, &ta, 1, &tb, 1, NULL, "b", NULL, 0), 0);
    fclose(out);
    assert_non_null(strstr(text, "\"shape\": \"a\\\"b\\\\c\\n\\u0001\""));
    assert_non_null(strstr(text, "\"path\": \"a\\\"1\""));
    assert_non_null(strstr(text, "\"argument\": null"));
    free(text);
    nn_diff_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_accepted),
        cmocka_unit_test(options_rejected),
        cmocka_unit_test_teardown(identical_runs, free_arena),
        cmocka_unit_test_teardown(alexnet_conv2_filters, free_arena),
        cmocka_unit_test(added_and_removed),
        cmocka_unit_test(shapes_matched_first),
        cmocka_unit_test(one_frame_by_position),
        cmocka_unit_test(given_frames),
        cmocka_unit_test(latency_and_its_check),
        cmocka_unit_test(relative_and_checks_from_zero),
        cmocka_unit_test_teardown(merged_sides, free_arena),
        cmocka_unit_test(lcs_too_large),
        cmocka_unit_test_teardown(cli_exit_statuses, free_arena),
        cmocka_unit_test(json_strings_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
