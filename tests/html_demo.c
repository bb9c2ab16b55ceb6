/*
 * html_demo.c: writes an HTML report (report/html.c) for traces built in memory,
 * so the page can be looked at and checked (tests/check_html.py) without a trace
 * reader or a GPU.
 *
 *   gcc -std=gnu11 -Ireport -Icounters tests/html_demo.c report/html.c report/frames.c -lm
 *   ./a.out page.html
 *
 * Three processes:
 *  0. the simulated device, auto frames: a small CNN (conv, conv, fully connected,
 *     with their activations and pools) at batch 8 in fp16, after a warm-up, for
 *     16 frames. GPU times follow the simulator's model (tests/sim/README.md) with
 *     a few gaps between kernels so that frame latencies differ.
 *  1. an H100, marker frames, timing off: no timed frame. Its strings carry markup
 *     and bytes that are not UTF-8, as a hostile trace could.
 *  2. a device nnspy does not know, trace cut short (no END record), frames not
 *     computed: the roofline falls back to the H100's roofs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frames.h"
#include "html.h"
#include "trace.h"

#define ELEM 2 /* fp16 */
#define MAX_OPS 256

struct builder {
    nn_trace t;
    nn_trace_op ops[MAX_OPS];
    char shapes[MAX_OPS][96];
    int64_t gpu_clock, host_clock;
    bool timed;
};

/* The simulator's kernel time: 2 µs launch + the slower of 100 TFLOP/s and 2 TB/s. */
static int64_t sim_kernel_ns(uint64_t flops, uint64_t bytes)
{
    uint64_t c = flops / 100000, m = bytes / 2000;
    return 2000 + (int64_t)(c > m ? c : m);
}

static nn_trace_op *add(struct builder *b, const char *op, const char *function, uint32_t api,
                        uint64_t macs, uint64_t flops, uint64_t rd, uint64_t wr, uint64_t params,
                        uint64_t sig)
{
    nn_trace_op *o = &b->ops[b->t.n_ops];
    *o = (nn_trace_op){.call = b->t.n_ops, .api = api, .function = function, .op = op,
                       .shape = b->shapes[b->t.n_ops], .dtype = "f16",
                       .flags = NN_TOP_SUCCEEDED | NN_TOP_COST_KNOWN, .macs = macs,
                       .flops = flops, .bytes_read = rd, .bytes_written = wr,
                       .params_read = params, .signature = sig, .host_ns = b->host_clock,
                       .gpu_start_ns = NN_UNTIMED, .gpu_end_ns = NN_UNTIMED};
    b->host_clock += 9000;
    if (b->timed) {
        o->gpu_start_ns = b->gpu_clock;
        o->gpu_end_ns = b->gpu_clock + sim_kernel_ns(flops, rd + wr);
        b->gpu_clock = o->gpu_end_ns;
    }
    b->t.n_ops++;
    return o;
}

/* NCHW convolution, square kernel r, no groups (README's MAC formula). */
static void conv(struct builder *b, uint64_t n, uint64_t c, uint64_t h, uint64_t k, uint64_t r,
                 uint64_t stride, uint64_t pad, uint64_t sig)
{
    uint64_t oh = (h + 2 * pad - r) / stride + 1, macs = n * k * oh * oh * c * r * r;
    snprintf(b->shapes[b->t.n_ops], sizeof b->shapes[0],
             "%llux%llux%llux%llu * %llux%llux%llux%llu -> %llux%llux%llux%llu",
             (unsigned long long)n, (unsigned long long)c, (unsigned long long)h,
             (unsigned long long)h, (unsigned long long)k, (unsigned long long)c,
             (unsigned long long)r, (unsigned long long)r, (unsigned long long)n,
             (unsigned long long)k, (unsigned long long)oh, (unsigned long long)oh);
    nn_trace_op *o = add(b, "conv_fwd", "cudnnConvolutionForward", 0, macs, 2 * macs,
                         (n * c * h * h + k * c * r * r) * ELEM, n * k * oh * oh * ELEM,
                         k * c * r * r, sig);
    o->workspace_bytes = 1u << 22;
}

/* Elementwise op on `elems` outputs read from `in` elements: `per` FLOPs each. */
static void eltwise(struct builder *b, const char *op, const char *function, uint64_t in,
                    uint64_t elems, uint64_t per, const char *shape, uint64_t sig)
{
    snprintf(b->shapes[b->t.n_ops], sizeof b->shapes[0], "%s", shape);
    add(b, op, function, 0, 0, per * elems, in * ELEM, elems * ELEM, 0, sig);
}

/* Y = W·X on column-major cuBLAS: W (m×k) is the weight. */
static void gemm(struct builder *b, uint64_t m, uint64_t n, uint64_t k, uint64_t sig)
{
    snprintf(b->shapes[b->t.n_ops], sizeof b->shapes[0], "NN %llux%llu * %llux%llu -> %llux%llu",
             (unsigned long long)m, (unsigned long long)k, (unsigned long long)k,
             (unsigned long long)n, (unsigned long long)m, (unsigned long long)n);
    add(b, "gemm", "cublasGemmEx", 1, m * n * k, 2 * m * n * k, (m * k + k * n) * ELEM,
        m * n * ELEM, m * k, sig);
}

/* One inference of the small CNN at batch 8: 8 calls. */
static void frame(struct builder *b, int jitter)
{
    conv(b, 8, 3, 224, 64, 7, 2, 3, 101);
    b->gpu_clock += jitter * 400; /* a late launch: the frame's latency grows */
    eltwise(b, "activation", "cudnnActivationForward", 8 * 64 * 112 * 112, 8 * 64 * 112 * 112, 1,
            "8x64x112x112 relu", 102);
    eltwise(b, "pool_fwd", "cudnnPoolingForward", 8 * 64 * 112 * 112, 8 * 64 * 56 * 56, 8,
            "8x64x112x112 max 3x3 /2 -> 8x64x56x56", 103);
    conv(b, 8, 64, 56, 128, 3, 1, 1, 104);
    eltwise(b, "activation", "cudnnActivationForward", 8 * 128 * 56 * 56, 8 * 128 * 56 * 56, 1,
            "8x128x56x56 relu", 105);
    eltwise(b, "pool_fwd", "cudnnPoolingForward", 8 * 128 * 56 * 56, 8 * 128, 56 * 56,
            "8x128x56x56 avg 56x56 -> 8x128x1x1", 106);
    gemm(b, 1000, 8, 128, 107);
    b->gpu_clock += (jitter % 3) * 250;
    eltwise(b, "add_tensor", "cudnnAddTensor", 1000 + 8000, 8000, 1, "1x1000x1x1 + 8x1000x1x1",
            108);
    b->host_clock += 150000 + jitter * 5000; /* the program's own work between frames */
}

static void header(nn_trace *t, long pid, long rank, const char *device, double peak, bool sim)
{
    static char *args[] = {"--batch", "8", "--model", "small_cnn.onnx"};
    t->path = "/tmp/run.nns";
    t->nnspy_version = "0.5.0";
    t->host = "node-07";
    t->exe = "/opt/app/infer";
    t->args = args;
    t->n_args = 4;
    t->pid = pid;
    t->rank = rank;
    t->start_time_ns = 1717243200000000000LL;
    t->device_name = (char *)device;
    t->simulated = sim;
    t->peak_tflops = peak;
    t->frame_mode = "auto";
    t->timing_mode = "events";
    t->complete = true;
    t->timing_available = true;
}

/* Totals as the END record would give them: parameters counted once (one frame's). */
static void totals(nn_trace *t, size_t first_frame_call, size_t period)
{
    nn_trace_totals *x = &t->totals;
    for (size_t i = 0; i < t->n_ops; i++) {
        const nn_trace_op *o = &t->ops[i];
        x->calls++;
        if (!(o->flags & NN_TOP_SUCCEEDED)) { x->failed_calls++; continue; }
        if (!(o->flags & NN_TOP_COST_KNOWN)) { x->unknown_cost_calls++; continue; }
        x->macs += o->macs, x->flops += o->flops;
        x->bytes_read += o->bytes_read, x->bytes_written += o->bytes_written;
    }
    for (size_t i = first_frame_call; i < first_frame_call + period; i++)
        x->params += t->ops[i].params_read;
    x->param_bytes = x->params * ELEM;
}

static nn_frame_op *frame_ops(const nn_trace *t)
{
    nn_frame_op *f = calloc(t->n_ops ? t->n_ops : 1, sizeof *f);
    for (size_t i = 0; f && i < t->n_ops; i++)
        f[i] = (nn_frame_op){.signature = t->ops[i].signature,
                             .macs = t->ops[i].macs,
                             .flops = t->ops[i].flops,
                             .gpu_start_ns = t->ops[i].gpu_start_ns,
                             .gpu_end_ns = t->ops[i].gpu_end_ns,
                             .host_ns = t->ops[i].host_ns,
                             .given_frame = t->ops[i].given_frame};
    return f;
}

/* As the exit report measures frames (preload/frames_summary.c). */
static void measure(nn_html_frames *h, const nn_frame *fr, size_t n, int64_t *lat)
{
    uint64_t flops = 0;
    int64_t busy = 0;
    for (size_t k = 0; k < n; k++) {
        lat[k] = fr[k].timed ? fr[k].latency_ns : NN_UNTIMED;
        if (fr[k].timed) busy += fr[k].busy_ns, flops += fr[k].flops;
    }
    int64_t *scratch = malloc((n ? n : 1) * sizeof *scratch);
    h->latency = nn_latency_stats_of(fr, n, scratch);
    free(scratch);
    h->latency_ns = lat;
    h->n_latency = n;
    h->have_tflops = busy > 0;
    h->achieved_tflops = busy > 0 ? (double)flops / (double)busy / 1e3 : 0;
    int64_t span = n ? fr[n - 1].host_end_ns - fr[0].host_start_ns : 0;
    h->have_fps = span > 0;
    h->fps = span > 0 ? (double)n / ((double)span / 1e9) : 0;
}

static void auto_frames(const nn_trace *t, nn_html_frames *h, int64_t *lat)
{
    nn_frame_op *ops = frame_ops(t);
    nn_frame fr[64];
    *h = (nn_html_frames){.mode = "auto"};
    h->steady_start = nn_frames_auto(ops, t->n_ops, &h->period);
    h->count = h->period ? (t->n_ops - h->steady_start) / h->period : 0;
    h->warmup = h->period ? (h->steady_start + h->period - 1) / h->period : 0;
    for (size_t k = 0; k < h->count && k < 64; k++)
        fr[k] = nn_frame_measure(ops, h->steady_start + k * h->period, h->period);
    measure(h, fr, h->count < 64 ? h->count : 64, lat);
    free(ops);
}

static void given_frames(const nn_trace *t, nn_html_frames *h, int64_t *lat)
{
    nn_frame_op *ops = frame_ops(t);
    nn_frame fr[64];
    *h = (nn_html_frames){.mode = "marker"};
    h->count = nn_frames_given(ops, t->n_ops, fr, 64);
    measure(h, fr, h->count < 64 ? h->count : 64, lat);
    free(ops);
}

/* 0: the simulated device, timed, auto frames after a warm-up. */
static void build_sim(struct builder *b)
{
    header(&b->t, 4242, 0, "nnspy simulated device", 100.0, true);
    b->timed = true;
    b->t.ops = b->ops;
    /* warm-up: an algorithm search and a failed call */
    conv(b, 8, 3, 224, 64, 7, 2, 3, 900);
    gemm(b, 1000, 8, 128, 901);
    b->ops[b->t.n_ops - 1].flags = 0; /* call failed */
    for (int k = 0; k < 16; k++) frame(b, (k * 7) % 5 + (k == 11 ? 6 : 0));
}

/* 1: an H100, marker frames, no timing; strings a hostile trace could carry. */
static void build_h100(struct builder *b)
{
    static char *evil_args[] = {"--name=<script>alert('x')</script>", "caf\xC3\xA9 \xFF\xFE bad",
                                "a&b \"quoted\""};
    header(&b->t, 5151, 1, "NVIDIA H100 80GB HBM3 <b>&amp;</b>", 989.0, false);
    b->t.exe = "/opt/app/<img src=http://evil.example/x.png>";
    b->t.args = evil_args;
    b->t.n_args = 3;
    b->t.frame_mode = "marker";
    b->t.timing_mode = "off";
    b->t.timing_available = false;
    b->t.timing_reason = "NNSPY_TIMING=off";
    b->t.ops = b->ops;
    for (uint32_t k = 1; k <= 3; k++) {
        size_t first = b->t.n_ops;
        frame(b, 0);
        for (size_t i = first; i < b->t.n_ops; i++) b->ops[i].given_frame = k;
    }
    snprintf(b->shapes[3], sizeof b->shapes[0], "<i>8x64x56x56</i> & \"x\" \x01\x7f\xC2\x85 "
             "\xE2\x80\xAE" "reversed");
    b->ops[5].flags = NN_TOP_SUCCEEDED; /* cost unknown */
}

/* 2: an unknown device, trace cut short, no frames computed. */
static void build_unknown(struct builder *b)
{
    header(&b->t, 6060, -1, "Acme Tensor X1", 0, false);
    b->timed = true;
    b->t.ops = b->ops;
    b->t.complete = false;
    b->t.dropped_records = 12;
    for (int k = 0; k < 3; k++) frame(b, k);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s OUT.html\n", argv[0]);
        return 2;
    }
    static struct builder b[3];
    static int64_t lat[3][64];
    nn_html_frames fr[3];
    build_sim(&b[0]);
    build_h100(&b[1]);
    build_unknown(&b[2]);
    auto_frames(&b[0].t, &fr[0], lat[0]);
    totals(&b[0].t, fr[0].steady_start, fr[0].period);
    given_frames(&b[1].t, &fr[1], lat[1]);
    totals(&b[1].t, 0, 8);
    fr[2] = (nn_html_frames){0}; /* frames not computed */
    totals(&b[2].t, 0, 8);
    b[2].t.totals.params = 0;
    const nn_trace *traces[3] = {&b[0].t, &b[1].t, &b[2].t};
    FILE *out = fopen(argv[1], "w");
    if (!out) {
        perror(argv[1]);
        return 1;
    }
    int rc = nn_html_write(out, traces, 3, fr);
    if (fclose(out) != 0) rc = -1;
    if (rc != 0) fprintf(stderr, "html_demo: writing %s failed\n", argv[1]);
    return rc == 0 ? 0 : 1;
}
