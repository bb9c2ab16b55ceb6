/*
 * test_trace_read.c: the `.nns` reader (report/trace_read.c) on traces built here
 * byte by byte (docs/trace-format.md): a valid one read field by field, the same
 * file cut at every offset, and one corruption per check the reader makes. Then
 * the frames `nnspy report` computes from traces, and its output formats.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "numfmt.h"
#include "report_cmd.h"
#include "summary.h"
#include "trace.h"

/* ------------------------------------------------------------ building traces */

typedef struct buf {
    unsigned char *d;
    size_t n, cap;
} buf;

static void put(buf *b, const void *p, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->d = realloc(b->d, b->cap);
        assert_non_null(b->d);
    }
    memcpy(b->d + b->n, p, n);
    b->n += n;
}

static void put16(buf *b, uint16_t v)
{
    unsigned char x[2] = {v & 0xff, v >> 8};
    put(b, x, 2);
}

static void put32(buf *b, uint32_t v)
{
    for (int i = 0; i < 4; i++) put(b, &(unsigned char){(unsigned char)(v >> (8 * i))}, 1);
}

static void put64(buf *b, uint64_t v)
{
    put32(b, (uint32_t)v);
    put32(b, (uint32_t)(v >> 32));
}

static void header(buf *b, const char *json)
{
    put(b, "NNSPYTRC", 8);
    put32(b, 1);
    put32(b, (uint32_t)strlen(json));
    put(b, json, strlen(json));
}

static void record_head(buf *b, uint16_t type, uint32_t len)
{
    put16(b, type);
    put16(b, 0);
    put32(b, len);
}

static void string_rec(buf *b, uint32_t id, const char *s)
{
    record_head(b, NN_TREC_STRING, 4 + (uint32_t)strlen(s));
    put32(b, id);
    put(b, s, strlen(s));
}

typedef struct op_spec {
    uint64_t call;
    uint32_t api, function, op, shape, dtype, flags, frame;
    uint64_t macs, flops, bytes_read, bytes_written, params, signature;
    int64_t host_ns;
    uint64_t workspace;
    uint32_t site; /* version 2: the call site's id (0: none) */
    uint32_t tune_key, tune_variant, tune_flags; /* version 2: autotuning */
} op_spec;

/* An OP payload of `size` bytes: version 1's 104, or version 2's 120. */
static void op_payload(buf *b, op_spec o, uint32_t size)
{
    put64(b, o.call);
    put32(b, o.api);
    put32(b, o.function);
    put32(b, o.op);
    put32(b, o.shape);
    put32(b, o.dtype);
    put32(b, o.flags);
    put32(b, o.frame);
    put32(b, o.site);
    put64(b, o.macs);
    put64(b, o.flops);
    put64(b, o.bytes_read);
    put64(b, o.bytes_written);
    put64(b, o.params);
    put64(b, o.signature);
    put64(b, (uint64_t)o.host_ns);
    put64(b, o.workspace);
    if (size < NN_TOP_PAYLOAD) return;
    put32(b, o.tune_key);
    put32(b, o.tune_variant);
    put32(b, o.tune_flags);
    put32(b, 0);
}

/* An OP record, of the version of the trace being built (its header's). */
static void op_rec(buf *b, op_spec o)
{
    uint32_t size = b->n > 8 && b->d[8] == 1 ? NN_TOP_PAYLOAD_V1 : NN_TOP_PAYLOAD;
    record_head(b, NN_TREC_OP, size);
    op_payload(b, o, size);
}

static void gpu_rec(buf *b, uint64_t call, int64_t start, int64_t end)
{
    record_head(b, NN_TREC_GPU_TIME, 24);
    put64(b, call);
    put64(b, (uint64_t)start);
    put64(b, (uint64_t)end);
}

static void frame_rec(buf *b, uint32_t id, int64_t begin, int64_t end)
{
    record_head(b, NN_TREC_FRAME, 24);
    put32(b, id);
    put32(b, 0);
    put64(b, (uint64_t)begin);
    put64(b, (uint64_t)end);
}

static void end_rec(buf *b, const char *json)
{
    record_head(b, NN_TREC_END, (uint32_t)strlen(json));
    put(b, json, strlen(json));
}

#define OK_FLAGS (NN_TOP_SUCCEEDED | NN_TOP_COST_KNOWN)
#define HEADER_JSON(mode)                                                                          \
    "{\"nnspy_version\": \"0.1.0\", \"pid\": 77, \"rank\": 3, \"host\": \"node1\", "               \
    "\"exe\": \"/bin/app\", \"args\": [\"app\", \"-x\"], \"start_time_ns\": 1700000000000000000, " \
    "\"start_monotonic_ns\": 5000, \"device\": {\"name\": \"H200\", \"simulated\": false, "        \
    "\"peak_tflops\": 989.5}, \"frame_mode\": \"" mode "\", \"timing_mode\": \"events\", "         \
    "\"future_key\": [1, 2]}"

static const char end_json[] =
    "{\"totals\": {\"calls\": 5, \"failed_calls\": 1, \"unknown_cost_calls\": 0, "
    "\"macs\": 18446744073709551615, \"flops\": 3000, \"params\": 1234, \"param_bytes\": 4936, "
    "\"bytes_read\": 100, \"bytes_written\": 50, \"overflow\": true, "
    "\"params_incomplete\": false, \"bytes_incomplete\": false}, "
    "\"timing\": {\"mode\": \"events\", \"available\": true, \"timed_calls\": 3, "
    "\"dropped_calls\": 0, \"attributed_kernels\": 0, \"other_kernels\": 2, "
    "\"other_gpu_ms\": 0.016001, \"reason\": null}, \"dropped_records\": 0}";

/* Offsets of interest in the valid trace, filled by valid_trace(). */
static size_t off_first_record, off_end;

/*
 * Marker mode: 5 calls (the third failed), frames 1 and 2 (frame 2 empty),
 * call 1 timed by two GPU_TIME records (CUPTI: two kernels), a record of an
 * unknown type, and END.
 */
static buf valid_trace(void)
{
    buf b = {0};
    header(&b, HEADER_JSON("marker"));
    off_first_record = b.n;
    string_rec(&b, 1, "cudnnConvolutionForward");
    string_rec(&b, 2, "conv_fwd");
    string_rec(&b, 3, "1x3x8x8 * 4x3x3x3 -> 1x4x6x6");
    string_rec(&b, 4, "f32");
    string_rec(&b, 7, "gemm"); /* ids need not be consecutive */
    op_rec(&b, (op_spec){.call = 0,
                         .api = 0,
                         .function = 1,
                         .op = 2,
                         .shape = 3,
                         .dtype = 4,
                         .flags = OK_FLAGS,
                         .frame = 1,
                         .macs = 100,
                         .flops = 200,
                         .bytes_read = 10,
                         .bytes_written = 5,
                         .params = 108,
                         .signature = 11,
                         .host_ns = 1000,
                         .workspace = 4096});
    op_rec(&b, (op_spec){.call = 1,
                         .api = 1,
                         .function = 7,
                         .op = 7,
                         .dtype = 4,
                         .flags = OK_FLAGS,
                         .frame = 1,
                         .macs = 400,
                         .flops = 800,
                         .signature = 12,
                         .host_ns = 2000});
    gpu_rec(&b, 0, 100, 300);
    gpu_rec(&b, 1, 400, 500);
    gpu_rec(&b, 1, 300, 450); /* a second kernel: the call spans [300, 500) */
    frame_rec(&b, 1, 900, 2500);
    record_head(&b, 99, 3); /* unknown type: skipped */
    put(&b, "abc", 3);
    frame_rec(&b, 2, 2600, 2700); /* empty */
    op_rec(&b, (op_spec){.call = 2,
                         .api = 2,
                         .function = 7,
                         .op = 7,
                         .dtype = 4,
                         .flags = 0,
                         .macs = 999,
                         .flops = 999,
                         .signature = 13,
                         .host_ns = 3000});
    op_rec(&b, (op_spec){.call = 3,
                         .api = 0,
                         .function = 1,
                         .op = 2,
                         .dtype = 4,
                         .flags = OK_FLAGS,
                         .frame = 3,
                         .macs = 100,
                         .flops = 200,
                         .signature = 11,
                         .host_ns = 4000});
    gpu_rec(&b, 3, 1000, 1300);
    frame_rec(&b, 3, 3500, 4500);
    op_rec(&b, (op_spec){.call = 4,
                         .api = 0,
                         .function = 1,
                         .op = 2,
                         .dtype = 4,
                         .flags = OK_FLAGS | NN_TOP_OVERFLOW,
                         .macs = UINT64_MAX,
                         .flops = 1800,
                         .signature = 14,
                         .host_ns = 5000});
    off_end = b.n;
    end_rec(&b, end_json);
    return b;
}

static int parse(const buf *b, size_t len, nn_trace *t, char *err, size_t errlen)
{
    return nn_trace_parse(b->d, len, "t.nns", t, err, errlen);
}

/* Parses b (which must fail) and checks the message names `offset` and `what`. */
static void expect_error(const buf *b, size_t offset, const char *what)
{
    nn_trace t;
    char err[512], want[64];
    int rc = parse(b, b->n, &t, err, sizeof err);
    if (rc == 0) fail_msg("parsed, expected \"%s\"", what);
    snprintf(want, sizeof want, "t.nns: offset %zu: ", offset);
    if (strncmp(err, want, strlen(want)) != 0 || !strstr(err, what))
        fail_msg("got \"%s\", expected \"%s...%s\"", err, want, what);
    /* left empty: nothing to free, freeing again is harmless */
    assert_null(t.ops);
    nn_trace_free(&t);
}

/* ------------------------------------------------------------ the valid trace */

static void reads_every_field(void **state)
{
    (void)state;
    buf b = valid_trace();
    nn_trace t;
    char err[512];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_string_equal(t.path, "t.nns");
    assert_string_equal(t.nnspy_version, "0.1.0");
    assert_int_equal(t.pid, 77);
    assert_int_equal(t.rank, 3);
    assert_string_equal(t.host, "node1");
    assert_string_equal(t.exe, "/bin/app");
    assert_int_equal(t.n_args, 2);
    assert_string_equal(t.args[1], "-x");
    assert_true(t.start_time_ns == 1700000000000000000LL);
    assert_int_equal(t.start_monotonic_ns, 5000);
    assert_string_equal(t.device_name, "H200");
    assert_false(t.simulated);
    assert_true(t.peak_tflops == 989.5);
    assert_string_equal(t.frame_mode, "marker");
    assert_string_equal(t.timing_mode, "events");
    assert_int_equal(t.n_ops, 5);
    const nn_trace_op *o = &t.ops[0];
    assert_int_equal(o->call, 0);
    assert_int_equal(o->api, 0);
    assert_string_equal(o->function, "cudnnConvolutionForward");
    assert_string_equal(o->op, "conv_fwd");
    assert_string_equal(o->shape, "1x3x8x8 * 4x3x3x3 -> 1x4x6x6");
    assert_string_equal(o->dtype, "f32");
    assert_int_equal(o->flags, OK_FLAGS);
    assert_int_equal(o->given_frame, 1);
    assert_int_equal(o->macs, 100);
    assert_int_equal(o->flops, 200);
    assert_int_equal(o->bytes_read, 10);
    assert_int_equal(o->bytes_written, 5);
    assert_int_equal(o->params_read, 108);
    assert_int_equal(o->signature, 11);
    assert_int_equal(o->host_ns, 1000);
    assert_int_equal(o->workspace_bytes, 4096);
    assert_int_equal(o->gpu_start_ns, 100);
    assert_int_equal(o->gpu_end_ns, 300);
    assert_string_equal(t.ops[1].shape, ""); /* id 0: not described */
    assert_string_equal(t.ops[1].op, "gemm");
    assert_int_equal(t.ops[1].gpu_start_ns, 300); /* spans both kernels */
    assert_int_equal(t.ops[1].gpu_end_ns, 500);
    assert_true(t.ops[2].gpu_start_ns == NN_UNTIMED && t.ops[2].gpu_end_ns == NN_UNTIMED);
    assert_true(t.ops[4].macs == UINT64_MAX);
    assert_int_equal(t.n_frames, 3);
    assert_int_equal(t.frames[1].id, 2);
    assert_int_equal(t.frames[1].host_begin_ns, 2600);
    assert_int_equal(t.frames[1].host_end_ns, 2700);
    assert_true(t.complete);
    assert_int_equal(t.totals.calls, 5);
    assert_int_equal(t.totals.failed_calls, 1);
    assert_true(t.totals.macs == UINT64_MAX); /* beyond jansson's integers: read exactly */
    assert_int_equal(t.totals.flops, 3000);
    assert_int_equal(t.totals.params, 1234);
    assert_int_equal(t.totals.param_bytes, 4936);
    assert_int_equal(t.totals.bytes_read, 100);
    assert_int_equal(t.totals.bytes_written, 50);
    assert_true(t.totals.overflow);
    assert_false(t.totals.params_incomplete);
    assert_true(t.timing_available);
    assert_null(t.timing_reason);
    assert_string_equal(t.timing_used, "events");
    assert_int_equal(t.timed_calls, 3);
    assert_int_equal(t.other_kernels, 2);
    assert_int_equal(t.other_ns, 16001);
    assert_int_equal(t.dropped_records, 0);
    assert_int_equal(t.unknown_records, 1);
    assert_int_equal(t.gpu_times_unmatched, 0);
    nn_trace_free(&t);
    nn_trace_free(&t); /* emptied: a second free does nothing */
    free(b.d);
}

static void frame_ops_follow_the_preload(void **state)
{
    (void)state;
    buf b = valid_trace();
    nn_trace t;
    char err[512];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    nn_frame_op *f = nn_trace_frame_ops(&t);
    assert_non_null(f);
    assert_int_equal(f[0].signature, 11);
    assert_int_equal(f[0].macs, 100);
    assert_int_equal(f[0].flops, 200);
    assert_int_equal(f[0].gpu_start_ns, 100);
    assert_int_equal(f[0].host_ns, 1000);
    assert_int_equal(f[0].given_frame, 1);
    assert_int_equal(f[2].macs, 0); /* a failed call counts nothing */
    assert_int_equal(f[2].flops, 0);
    assert_true(f[2].gpu_start_ns == NN_UNTIMED);
    free(f);
    nn_trace_free(&t);
    free(b.d);
}

/* Cut at every length: an error naming an offset, or an incomplete trace (when
 * the cut falls between two records); never a crash, never "complete". */
static void truncated_at_every_offset(void **state)
{
    (void)state;
    buf b = valid_trace();
    size_t incomplete = 0;
    for (size_t len = 0; len < b.n; len++) {
        unsigned char *copy = malloc(len ? len : 1); /* exact size: ASan sees overreads */
        memcpy(copy, b.d, len);
        nn_trace t;
        char err[512];
        int rc = nn_trace_parse(copy, len, "cut.nns", &t, err, sizeof err);
        if (rc == 0) {
            /* past the header, a cut is read up to the last complete record */
            assert_false(t.complete);
            assert_true(len >= off_first_record);
            /* the totals are those of the calls that are there */
            assert_int_equal(t.totals.calls, t.n_ops);
            assert_true(t.totals.params_incomplete);
            if (t.truncated_at == 0) incomplete++; /* cut at a record boundary */
            nn_trace_free(&t);
        } else {
            assert_true(len < off_first_record); /* only a cut header is an error */
            assert_non_null(strstr(err, "cut.nns: offset "));
        }
        free(copy);
    }
    assert_int_equal(incomplete, 19); /* each of the 19 record boundaries before END */
    free(b.d);
}

static void incomplete_totals_recomputed(void **state)
{
    (void)state;
    buf b = valid_trace();
    nn_trace t;
    char err[512];
    assert_int_equal(parse(&b, off_end, &t, err, sizeof err), 0); /* without END */
    assert_false(t.complete);
    assert_int_equal(t.totals.calls, 5);
    assert_int_equal(t.totals.failed_calls, 1);
    /* 100 + 400 + 100 + (2^64 - 1): saturated */
    assert_true(t.totals.macs == UINT64_MAX);
    assert_true(t.totals.overflow);
    assert_int_equal(t.totals.flops, 200 + 800 + 200 + 1800);
    assert_int_equal(t.totals.bytes_read, 10);
    assert_int_equal(t.totals.bytes_written, 5);
    assert_int_equal(t.totals.params, 0);
    assert_true(t.totals.params_incomplete);
    assert_int_equal(t.timed_calls, 3);
    assert_true(t.timing_available);
    assert_string_equal(t.timing_used, "events");
    nn_trace_free(&t);
    free(b.d);
}

/* ------------------------------------------------------------ corruptions */

static buf minimal(const char *json)
{
    buf b = {0};
    header(&b, json ? json : HEADER_JSON("auto"));
    return b;
}

static void bad_magic_and_version(void **state)
{
    (void)state;
    buf b = valid_trace();
    b.d[3] = 'x';
    expect_error(&b, 0, "not an nnspy trace");
    b.d[3] = 'P';
    b.d[8] = 3; /* versions 1 and 2 are read */
    expect_error(&b, 8, "trace format version 3");
    free(b.d);
    buf e = {0};
    put(&e, "NNSP", 4);
    expect_error(&e, 4, "ends inside its 16-byte header");
    free(e.d);
    nn_trace t;
    char err[256];
    assert_int_equal(nn_trace_parse((const unsigned char *)"", 0, "empty", &t, err, sizeof err),
                     -1);
    assert_string_equal(err, "empty: offset 0: empty file (not an nnspy trace)");
}

static void oversize_lengths(void **state)
{
    (void)state;
    buf b = {0};
    put(&b, "NNSPYTRC", 8);
    put32(&b, 1);
    put32(&b, (1u << 20) + 1);
    expect_error(&b, 12, "over the 1 MiB limit");
    free(b.d);
    b = (buf){0};
    put(&b, "NNSPYTRC", 8);
    put32(&b, 1);
    put32(&b, 100); /* but only 2 bytes follow */
    put(&b, "{}", 2);
    expect_error(&b, 16, "runs past the end of the file (truncated?)");
    free(b.d);
    b = minimal(NULL);
    size_t at = b.n;
    record_head(&b, NN_TREC_STRING, (1u << 20) + 1);
    expect_error(&b, at + 4, "record payload of 1048577 bytes is over the 1 MiB limit");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    record_head(&b, NN_TREC_OP, 104);
    put(&b, "short", 5);
    /* a record cut short (a process killed mid-write): read up to it, flagged */
    nn_trace cut;
    char cut_err[512];
    assert_int_equal(parse(&b, b.n, &cut, cut_err, sizeof cut_err), 0);
    assert_int_equal(cut.truncated_at, at);
    assert_false(cut.complete);
    nn_trace_free(&cut);
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    record_head(&b, NN_TREC_OP, 100);
    for (int i = 0; i < 25; i++) put32(&b, 0);
    expect_error(&b, at + 4, "payload of 100 bytes, not 104");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    put(&b, "\x02\x00\x00", 3); /* a record header cut short: read up to it, flagged */
    assert_int_equal(parse(&b, b.n, &cut, cut_err, sizeof cut_err), 0);
    assert_int_equal(cut.truncated_at, at);
    nn_trace_free(&cut);
    free(b.d);
}

static void strings_checked(void **state)
{
    (void)state;
    buf b = minimal(NULL);
    string_rec(&b, 1, "conv_fwd");
    size_t at = b.n;
    op_rec(&b, (op_spec){.function = 1, .op = 1, .dtype = 2, .flags = OK_FLAGS});
    expect_error(&b, at + 8 + 24, "data type: string id 2 used before it is defined");
    free(b.d);
    /* defined after its use is too late */
    b = minimal(NULL);
    at = b.n;
    op_rec(&b, (op_spec){.function = 5, .flags = OK_FLAGS});
    string_rec(&b, 5, "late");
    expect_error(&b, at + 8 + 12, "function: string id 5 used before it is defined");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    string_rec(&b, 0, "zero");
    expect_error(&b, at + 8, "STRING with id 0");
    free(b.d);
    b = minimal(NULL);
    string_rec(&b, 9, "a");
    at = b.n;
    string_rec(&b, 9, "b");
    expect_error(&b, at + 8, "string id 9 defined twice");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    record_head(&b, NN_TREC_STRING, 7);
    put32(&b, 1);
    put(&b, "a\0b", 3);
    expect_error(&b, at + 13, "NUL byte inside string 1");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    string_rec(&b, 1, "ok\xc3(");
    expect_error(&b, at + 14, "string 1 is not valid UTF-8");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    record_head(&b, NN_TREC_STRING, 2);
    put16(&b, 0);
    expect_error(&b, at + 4, "STRING payload of 2 bytes");
    free(b.d);
}

static void records_checked(void **state)
{
    (void)state;
    buf b = minimal(NULL);
    size_t at = b.n;
    op_rec(&b, (op_spec){.api = 4, .flags = OK_FLAGS});
    expect_error(&b, at + 16, "OP api 4 is not");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    op_rec(&b, (op_spec){.host_ns = INT64_MIN});
    expect_error(&b, at + 8 + 88, "host time");
    free(b.d);
    b = minimal(NULL);
    op_rec(&b, (op_spec){.call = 7});
    at = b.n;
    gpu_rec(&b, 7, 500, 400);
    expect_error(&b, at + 16, "ends (400 ns) before it starts (500 ns)");
    free(b.d);
    b = minimal(NULL);
    op_rec(&b, (op_spec){.call = 7});
    at = b.n;
    gpu_rec(&b, 7, INT64_MIN, 0);
    expect_error(&b, at + 16, "time out of range");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    frame_rec(&b, 0, 1, 2);
    expect_error(&b, at + 8, "FRAME number 0");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    frame_rec(&b, 1, 5, 2);
    expect_error(&b, at + 16, "FRAME 1 ends");
    free(b.d);
    b = minimal(NULL);
    frame_rec(&b, 2, 1, 2);
    size_t first = b.n;
    frame_rec(&b, 1, 1, 2);
    at = b.n;
    frame_rec(&b, 1, 3, 4);
    char what[80];
    snprintf(what, sizeof what, "frame 1 has a second FRAME record (the first at offset %zu)",
             first);
    expect_error(&b, at + 8, what);
    free(b.d);
    b = minimal(NULL);
    op_rec(&b, (op_spec){.call = 4});
    op_rec(&b, (op_spec){.call = 2});
    at = b.n;
    op_rec(&b, (op_spec){.call = 4});
    expect_error(&b, at + 8, "call 4 has a second OP record");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    end_rec(&b, "{\"totals\": {}}");
    size_t after_end = b.n;
    op_rec(&b, (op_spec){.call = 0});
    /* records after END (a late call of another thread) are ignored, and said */
    nn_trace late;
    char late_err[512];
    assert_int_equal(parse(&b, b.n, &late, late_err, sizeof late_err), 0);
    assert_true(late.complete);
    assert_int_equal(late.bytes_after_end, b.n - after_end);
    assert_int_equal(late.n_ops, 0);
    nn_trace_free(&late);
    (void)at;
    free(b.d);
    b = minimal(NULL);
    op_rec(&b, (op_spec){.call = 0});
    op_rec(&b, (op_spec){.call = 1});
    at = b.n;
    end_rec(&b, "{\"totals\": {\"calls\": 1}}");
    expect_error(&b, at + 8, "END counts 1 calls, but the trace has 2 OP records");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    end_rec(&b, "{\"totals\": {\"macs\": -1}}");
    expect_error(&b, at + 8, "\"macs\" is not an integer from 0 to 2^64 - 1");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    end_rec(&b, "{\"totals\": {\"macs\": 18446744073709551616}}"); /* 2^64 */
    expect_error(&b, at + 8, "\"macs\" is not an integer");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    end_rec(&b, "{\"timing\": {}}");
    expect_error(&b, at + 8, "END: no \"totals\" object");
    free(b.d);
    b = minimal(NULL);
    at = b.n;
    end_rec(&b, "{\"totals\": {}} x");
    expect_error(&b, at + 8 + 16, "END JSON: end of file expected"); /* where jansson stopped */
    free(b.d);
}

static void header_json_checked(void **state)
{
    (void)state;
    buf b = minimal("[1, 2]");
    expect_error(&b, 16, "header JSON is not an object");
    free(b.d);
    b = minimal("{\"pid\": \"12\"}");
    expect_error(&b, 16, "header: \"pid\" is not an integer");
    free(b.d);
    b = minimal("{\"pid\": 1, \"pid\": 2}");
    expect_error(&b, 16 + 16, "header JSON: duplicate object key");
    free(b.d);
    b = minimal("{\"device\": {\"peak_tflops\": \"fast\"}}");
    expect_error(&b, 16, "peak_tflops");
    free(b.d);
    b = minimal("{\"args\": [\"a\", 3]}");
    expect_error(&b, 16, "\"args\"[1] is not a string");
    free(b.d);
    b = minimal("{\"host\": \"a");
    expect_error(&b, 16 + 11, "header JSON: premature end of input"); /* at its end */
    free(b.d);
    /* the smallest header: defaults */
    b = minimal("{}");
    nn_trace t;
    char err[256];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_int_equal(t.rank, -1);
    assert_string_equal(t.frame_mode, "auto");
    assert_string_equal(t.device_name, "");
    assert_false(t.complete);
    assert_int_equal(t.n_ops, 0);
    nn_trace_free(&t);
    free(b.d);
}

static void out_of_order_calls_sorted(void **state)
{
    (void)state;
    buf b = minimal(NULL);
    op_rec(&b, (op_spec){.call = 2, .host_ns = 30});
    op_rec(&b, (op_spec){.call = 0, .host_ns = 10});
    gpu_rec(&b, 0, 5, 6);
    gpu_rec(&b, 99, 5, 6); /* a call with no OP (its record dropped): counted, skipped */
    op_rec(&b, (op_spec){.call = 1, .host_ns = 20});
    nn_trace t;
    char err[256];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_int_equal(t.ops[0].call, 0);
    assert_int_equal(t.ops[1].call, 1);
    assert_int_equal(t.ops[2].call, 2);
    assert_int_equal(t.ops[0].gpu_end_ns, 6);
    assert_int_equal(t.gpu_times_unmatched, 1);
    nn_trace_free(&t);
    free(b.d);
}

static void read_from_files(void **state)
{
    (void)state;
    nn_trace t;
    char err[512];
    assert_int_equal(nn_trace_read("/nonexistent/x.nns", &t, err, sizeof err), -1);
    assert_string_equal(err, "/nonexistent/x.nns: No such file or directory");
    assert_int_equal(nn_trace_read("/tmp", &t, err, sizeof err), -1);
    assert_string_equal(err, "/tmp: not a regular file");
    char path[] = "/tmp/nnspy-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    buf b = valid_trace();
    assert_int_equal(write(fd, b.d, b.n), (ssize_t)b.n);
    close(fd);
    assert_int_equal(nn_trace_read(path, &t, err, sizeof err), 0);
    assert_string_equal(t.path, path);
    assert_int_equal(t.n_ops, 5);
    assert_int_equal(t.size, b.n);
    nn_trace_free(&t);
    unlink(path);
    free(b.d);
}

/* ------------------------------------------------------------ frames and output */

static void marked_frames_from_the_trace(void **state)
{
    (void)state;
    buf b = valid_trace();
    nn_trace t;
    nn_trace_summary s;
    char err[512];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_int_equal(nn_trace_summarize(&t, NULL, &s, err, sizeof err), 0);
    assert_string_equal(s.frames.mode, "marker");
    /* frames 1 (calls 0, 1), 2 (empty, still a frame), 3 (call 3) */
    assert_int_equal(s.frames.count, 3);
    assert_int_equal(s.n_list, 2);
    assert_int_equal(s.frames.macs_per_frame, (100 + 400 + 100) / 3);
    /* latency: frame 1 [100, 500) = 400 ns, frame 3 300 ns */
    assert_int_equal(s.frames.latency.count, 2);
    assert_true(s.frames.latency.max_ms == 400 / 1e6);
    assert_true(s.frames.latency.min_ms == 300 / 1e6);
    /* FPS: 3 frames over host 900 (frame 1 begins) .. 5000 (the last call, after
     * frame 3's end at 4500) */
    assert_true(s.frames.have_fps);
    assert_true(s.frames.fps == 3 / (4100 / 1e9));
    /* GPU busy over the run: [100, 500) and [1000, 1300) */
    assert_int_equal(s.gpu_busy_ns, 700);
    nn_trace_summary_free(&s);
    /* auto can always be computed; another marked mode cannot */
    assert_int_equal(nn_trace_summarize(&t, "auto", &s, err, sizeof err), 0);
    assert_string_equal(s.frames.mode, "auto");
    nn_trace_summary_free(&s);
    assert_int_equal(nn_trace_summarize(&t, "sync", &s, err, sizeof err), -1);
    assert_non_null(strstr(err, "recorded with NNSPY_FRAME=marker"));
    nn_trace_free(&t);
    free(b.d);
}

static void sync_drops_a_trailing_empty_frame(void **state)
{
    (void)state;
    buf b = minimal(HEADER_JSON("sync"));
    string_rec(&b, 1, "gemm");
    for (uint32_t k = 1; k <= 3; k++) {
        frame_rec(&b, k, 1000 * k - 1000, 1000 * k);
        op_rec(&b, (op_spec){.call = k - 1,
                             .function = 1,
                             .op = 1,
                             .dtype = 1,
                             .flags = OK_FLAGS,
                             .frame = k,
                             .macs = 10,
                             .flops = 20,
                             .host_ns = 1000 * k - 500});
    }
    /* Frame 4, opened by the last synchronisation and never used, has no FRAME
     * record: frames are written when they end. */
    nn_trace t;
    nn_trace_summary s;
    char err[512];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_int_equal(nn_trace_summarize(&t, NULL, &s, err, sizeof err), 0);
    assert_int_equal(s.frames.count, 3);
    assert_true(s.frames.fps == 3 / (3000 / 1e9));
    assert_int_equal(s.frames_begun, 4);
    nn_trace_summary_free(&s);
    assert_int_equal(nn_trace_summarize(&t, "marker", &s, err, sizeof err), -1);
    assert_int_equal(nn_trace_summarize(&t, "nvtx:step", &s, err, sizeof err), -1);
    nn_trace_free(&t);
    /* Two synchronisations in a row: an empty frame that ended is a frame. */
    frame_rec(&b, 4, 3000, 3100);
    op_rec(&b, (op_spec){.call = 3,
                         .function = 1,
                         .op = 1,
                         .dtype = 1,
                         .flags = OK_FLAGS,
                         .frame = 5,
                         .macs = 10,
                         .flops = 20,
                         .host_ns = 3200});
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_int_equal(nn_trace_summarize(&t, NULL, &s, err, sizeof err), 0);
    /* frames 1-3 with a call, 4 empty, 5 with a call (open at the end, its end the
     * last call) */
    assert_int_equal(s.frames.count, 5);
    assert_true(s.frames.fps == 5 / (3200 / 1e9));
    nn_trace_summary_free(&s);
    nn_trace_free(&t);
    free(b.d);
}

static char *write_to_memory(report_format fmt, const nn_trace_summary *s, size_t n)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    assert_non_null(f);
    assert_int_equal(nn_report_write(f, fmt, s, n), 0);
    fclose(f);
    return text;
}

static void every_format_is_well_formed(void **state)
{
    (void)state;
    buf b = valid_trace();
    nn_trace t[2];
    nn_trace_summary s[2];
    char err[512];
    assert_int_equal(parse(&b, b.n, &t[0], err, sizeof err), 0);
    assert_int_equal(parse(&b, off_end, &t[1], err, sizeof err), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(nn_trace_summarize(&t[i], NULL, &s[i], err, sizeof err), 0);
    for (size_t n = 1; n <= 2; n++) {
        char *text = write_to_memory(REPORT_JSON, s, n);
        json_error_t e;
        /* reals: the saturated 2^64 - 1 is beyond jansson's integers */
        json_t *j = json_loads(text, JSON_DECODE_INT_AS_REAL, &e);
        if (!j) fail_msg("JSON: %s at %d: %s", e.text, e.position, text);
        assert_string_equal(json_string_value(json_object_get(j, "schema")), "nnspy.report/1");
        json_decref(j);
        free(text);
        text = write_to_memory(REPORT_CHROME, s, n);
        j = json_loads(text, 0, &e);
        if (!j) fail_msg("chrome JSON: %s at %d", e.text, e.position);
        assert_true(json_array_size(json_object_get(j, "traceEvents")) > 0);
        json_decref(j);
        free(text);
        text = write_to_memory(REPORT_CSV, s, n);
        assert_true(strncmp(text, "trace,pid,rank,call,", 20) == 0);
        free(text);
        text = write_to_memory(REPORT_TABLE, s, n);
        assert_non_null(strstr(text, "MB = 10^6 bytes"));
        free(text);
    }
    for (int i = 0; i < 2; i++) {
        nn_trace_summary_free(&s[i]);
        nn_trace_free(&t[i]);
    }
    free(b.d);
}

static void report_option_parsing(void **state)
{
    (void)state;
    report_options o;
    char *a1[] = {"report", "x.nns", "--format", "csv", "-o", "out.csv", "dir", NULL};
    assert_int_equal(parse_report_options(7, a1, &o), RUN_PARSE_OK);
    assert_int_equal(o.format, REPORT_CSV);
    assert_string_equal(o.output, "out.csv");
    assert_int_equal(o.n_inputs, 2);
    assert_string_equal(o.inputs[0], "x.nns");
    assert_string_equal(o.inputs[1], "dir");
    char *a2[] = {"report", "--format", "xml", "x.nns", NULL};
    assert_int_equal(parse_report_options(4, a2, &o), RUN_PARSE_ERROR);
    assert_string_equal(o.culprit, "xml");
    char *a3[] = {"report", "--frames", "nvtx:", "x.nns", NULL};
    assert_int_equal(parse_report_options(4, a3, &o), RUN_PARSE_ERROR);
    char *a4[] = {"report", "--frames", "nvtx:step", NULL};
    assert_int_equal(parse_report_options(3, a4, &o), RUN_PARSE_ERROR);
    assert_string_equal(o.error, "no TRACE or DIR given");
    char *a5[] = {"report", "-h", NULL};
    assert_int_equal(parse_report_options(2, a5, &o), RUN_PARSE_HELP);
    char *a6[] = {"report", "--", "--format", NULL};
    assert_int_equal(parse_report_options(3, a6, &o), RUN_PARSE_OK);
    assert_string_equal(o.inputs[0], "--format");
    char *a7[] = {"report", "t.nns", "--debug-dir", "/x:/y", NULL};
    assert_int_equal(parse_report_options(4, a7, &o), RUN_PARSE_OK);
    assert_string_equal(o.debug_dir, "/x:/y");
    assert_string_equal(o.inputs[0], "t.nns");
    assert_int_equal(parse_report_options(2, a5, &o), RUN_PARSE_HELP);
    assert_null(o.debug_dir); /* each parse starts afresh */
}

/* ------------------------------------------------------------ call sites */

static void module_rec(buf *b, uint32_t id, uint32_t id_len, const char *build_id, const char *path)
{
    record_head(b, NN_TREC_MODULE, 8 + id_len + (uint32_t)strlen(path));
    put32(b, id);
    put32(b, id_len);
    put(b, build_id, id_len);
    put(b, path, strlen(path));
}

/* SITE: 2 native frames (module 1 at 0x1234, then code in no module at 0xdead)
 * and one Python frame (strings 5 and 6, line 42), unless n_native says fewer. */
static void site_rec(buf *b, uint32_t id, uint32_t module, uint32_t payload_extra)
{
    record_head(b, NN_TREC_SITE, 16 + 3 * 16 + payload_extra);
    put32(b, id);
    put32(b, 0);
    put32(b, 2);
    put32(b, 1);
    put32(b, module), put32(b, 0), put64(b, 0x1234);
    put32(b, 0), put32(b, 0), put64(b, 0xdead);
    put32(b, 5), put32(b, 6), put32(b, 42), put32(b, 0);
    for (uint32_t i = 0; i < payload_extra; i++) put(b, "", 1);
}

static buf site_trace(uint32_t op_site, uint32_t module_in_site, uint32_t site_extra)
{
    buf b = {0};
    header(&b, HEADER_JSON("auto"));
    b.d[8] = 2; /* version 2 */
    string_rec(&b, 1, "cublasSgemm_v2");
    string_rec(&b, 2, "gemm");
    string_rec(&b, 3, "f32");
    string_rec(&b, 5, "model.py");
    string_rec(&b, 6, "forward");
    module_rec(&b, 1, 4, "\x01\x02\x03\x04", "/bin/app");
    site_rec(&b, 3, module_in_site, site_extra);
    op_rec(&b, (op_spec){.function = 1, .op = 2, .dtype = 3, .flags = OK_FLAGS, .site = op_site});
    op_rec(&b, (op_spec){.call = 1, .function = 1, .op = 2, .dtype = 3, .flags = OK_FLAGS});
    return b;
}

/* Version 1 has no KIND, PACKED, MODULE or SITE: such records there are unknown
 * ones, skipped, and its calls carry no site and no autotuning. A module path that
 * is not UTF-8 text is kept, with '?' for each stray byte. */
static void versions_and_module_paths(void **state)
{
    (void)state;
    char err[256];
    nn_trace t;
    buf v1 = minimal(NULL);
    string_rec(&v1, 1, "cublasSgemm_v2");
    op_rec(&v1, (op_spec){.function = 1, .flags = OK_FLAGS, .macs = 7, .tune_key = 9});
    record_head(&v1, NN_TREC_KIND, NN_TKIND_PAYLOAD);
    for (uint32_t i = 0; i < NN_TKIND_PAYLOAD; i++) put(&v1, "\xbe", 1);
    assert_int_equal(parse(&v1, v1.n, &t, err, sizeof err), 0);
    assert_int_equal(t.n_ops, 1);
    assert_int_equal(t.unknown_records, 1);
    assert_int_equal(t.ops[0].macs, 7);
    assert_int_equal(t.ops[0].tune_key, 0); /* 104 bytes: no autotuning fields */
    assert_false(t.ops[0].tune_search);
    nn_trace_free(&t);
    free(v1.d);

    buf v2 = minimal(NULL);
    v2.d[8] = 2;
    module_rec(&v2, 1, 0, "", "/tmp/caf\xe9/app\xc3");
    assert_int_equal(parse(&v2, v2.n, &t, err, sizeof err), 0);
    assert_int_equal(t.n_modules, 1);
    assert_string_equal(t.modules[0].path, "/tmp/caf?/app?");
    nn_trace_free(&t);
    free(v2.d);
}

static void sites_read_and_checked(void **state)
{
    (void)state;
    buf b = site_trace(3, 1, 0);
    nn_trace t;
    char err[512];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_int_equal(t.n_modules, 1);
    assert_string_equal(t.modules[0].path, "/bin/app");
    assert_int_equal(t.modules[0].build_id_len, 4);
    assert_memory_equal(t.modules[0].build_id, "\x01\x02\x03\x04", 4);
    assert_int_equal(t.n_sites, 1);
    const nn_trace_site *s = nn_trace_site_of(&t, 3);
    assert_non_null(s);
    assert_null(nn_trace_site_of(&t, 0));
    assert_null(nn_trace_site_of(&t, 4));
    assert_int_equal(s->n_native, 2);
    assert_int_equal(s->native[0].module, 1);
    assert_true(s->native[0].address == 0x1234);
    assert_int_equal(s->native[1].module, 0);
    assert_true(s->native[1].address == 0xdead);
    assert_int_equal(s->n_python, 1);
    assert_string_equal(s->python[0].file, "model.py");
    assert_string_equal(s->python[0].function, "forward");
    assert_int_equal(s->python[0].line, 42);
    assert_int_equal(t.ops[0].site, 3);
    assert_int_equal(t.ops[1].site, 0);
    assert_ptr_equal(nn_trace_module_of(&t, 1), &t.modules[0]);
    nn_trace_free(&t);
    free(b.d);

    buf undefined_site = site_trace(9, 1, 0);
    assert_int_equal(parse(&undefined_site, undefined_site.n, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "names site 9"));
    free(undefined_site.d);
    buf undefined_module = site_trace(3, 7, 0);
    assert_int_equal(parse(&undefined_module, undefined_module.n, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "names module 7"));
    free(undefined_module.d);
    buf long_site = site_trace(3, 1, 1); /* one byte more than its frames */
    assert_int_equal(parse(&long_site, long_site.n, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "does not hold its 3 frames"));
    free(long_site.d);
    buf big_id = {0};
    header(&big_id, HEADER_JSON("auto"));
    big_id.d[8] = 2; /* MODULE records are version 2's */
    static const char zeros[65];
    module_rec(&big_id, 1, 65, zeros, "");
    assert_int_equal(parse(&big_id, big_id.n, &t, err, sizeof err), -1);
    assert_non_null(strstr(err, "MODULE build-id of 65 bytes"));
    free(big_id.d);
}

/* ------------------------------------------------------------ version 2: KIND, PACKED */

static void put_varint(buf *b, uint64_t v)
{
    do {
        unsigned char byte = (unsigned char)(v & 0x7f);
        v >>= 7;
        if (v) byte |= 0x80;
        put(b, &byte, 1);
    } while (v);
}

/* Signed to zigzag by the format's definition: 0, -1, 1, -2, 2 -> 0, 1, 2, 3, 4. */
static uint64_t zz(int64_t d)
{
    return d >= 0 ? (uint64_t)d * 2 : (uint64_t)(-(d + 1)) * 2 + 1;
}

static void kind_rec(buf *b, uint32_t id, op_spec o)
{
    record_head(b, NN_TREC_KIND, NN_TKIND_PAYLOAD);
    put32(b, id);
    op_payload(b, o, NN_TOP_PAYLOAD);
}

static const op_spec conv_kind = {.api = 0, .function = 1, .op = 2, .shape = 3, .dtype = 4,
                                  .flags = OK_FLAGS, .macs = 100, .flops = 200,
                                  .bytes_read = 10, .bytes_written = 5, .params = 108,
                                  .signature = 11, .workspace = 4096};
static const op_spec gemm_kind = {.api = 1, .function = 7, .op = 7, .dtype = 4,
                                  .flags = OK_FLAGS, .macs = 400, .flops = 800, .signature = 12};

static buf v2_head(void)
{
    buf b = {0};
    header(&b, HEADER_JSON("marker"));
    b.d[8] = 2;
    string_rec(&b, 1, "cudnnConvolutionForward");
    string_rec(&b, 2, "conv_fwd");
    string_rec(&b, 3, "1x3x8x8 * 4x3x3x3 -> 1x4x6x6");
    string_rec(&b, 4, "f32");
    string_rec(&b, 7, "gemm");
    kind_rec(&b, 1, conv_kind);
    kind_rec(&b, 2, gemm_kind);
    return b;
}

/* Appends a PACKED record of `len` payload bytes taken from e. */
static void packed_rec(buf *b, const buf *e)
{
    record_head(b, NN_TREC_PACKED, (uint32_t)e->n);
    put(b, e->d, e->n);
}

/*
 * Calls and GPU times as PACKED entries, each field a delta from the entry before it
 * in the same record (call numbers from "last + 1", starting at last = -1; host
 * time, frame, GPU call and GPU start from 0):
 *   call 0 (conv) at host 1000, frame 1       -> kind 1, +0, +1000, +1
 *   call 1 (gemm) at host 1500, frame 1       -> kind 2, +0, +500, +0
 *   call 3 (conv) at host 1400, frame 2       -> kind 1, +1 (call 2 missing), -100, +1
 *   GPU call 1 [5000, 7000)                   -> call +1, start +5000, length 2000
 *   GPU call 0 [3000, 4000)                   -> call -1, start -2000, length 1000
 * A second PACKED record starts from the same bases again:
 *   call 4 (gemm) at host 2000, frame 0       -> kind 2, +4 (from -1 + 1 = 0), +2000, +0
 */
static buf v2_trace(void)
{
    buf b = v2_head(), e = {0};
    put_varint(&e, 1 << 2 | NN_TPACK_CALL), put_varint(&e, zz(0)), put_varint(&e, zz(1000)),
        put_varint(&e, zz(1));
    put_varint(&e, 2 << 2 | NN_TPACK_CALL), put_varint(&e, zz(0)), put_varint(&e, zz(500)),
        put_varint(&e, zz(0));
    put_varint(&e, 1 << 2 | NN_TPACK_CALL), put_varint(&e, zz(1)), put_varint(&e, zz(-100)),
        put_varint(&e, zz(1));
    put_varint(&e, zz(1) << 2 | NN_TPACK_GPU_TIME), put_varint(&e, zz(5000)),
        put_varint(&e, zz(2000));
    put_varint(&e, zz(-1) << 2 | NN_TPACK_GPU_TIME), put_varint(&e, zz(-2000)),
        put_varint(&e, zz(1000));
    packed_rec(&b, &e);
    e.n = 0;
    put_varint(&e, 2 << 2 | NN_TPACK_CALL), put_varint(&e, zz(4)), put_varint(&e, zz(2000)),
        put_varint(&e, zz(0));
    packed_rec(&b, &e);
    free(e.d);
    return b;
}

static void packed_calls_and_gpu_times(void **state)
{
    (void)state;
    buf b = v2_trace();
    nn_trace t;
    char err[256];
    assert_int_equal(parse(&b, b.n, &t, err, sizeof err), 0);
    assert_false(t.complete);
    assert_int_equal(t.n_ops, 4);
    const uint64_t calls[] = {0, 1, 3, 4};
    const int64_t hosts[] = {1000, 1500, 1400, 2000};
    const uint32_t frames[] = {1, 1, 2, 0};
    const uint64_t macs[] = {100, 400, 100, 400};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(t.ops[i].call, calls[i]);
        assert_int_equal(t.ops[i].host_ns, hosts[i]);
        assert_int_equal(t.ops[i].given_frame, frames[i]);
        assert_int_equal(t.ops[i].macs, macs[i]);
    }
    /* the kind's shared fields, whole */
    assert_string_equal(t.ops[2].function, "cudnnConvolutionForward");
    assert_string_equal(t.ops[2].shape, "1x3x8x8 * 4x3x3x3 -> 1x4x6x6");
    assert_int_equal(t.ops[2].workspace_bytes, 4096);
    assert_int_equal(t.ops[2].params_read, 108);
    assert_int_equal(t.ops[1].api, 1);
    assert_string_equal(t.ops[1].op, "gemm");
    /* GPU intervals: call 0 [3000, 4000), call 1 [5000, 7000), calls 3 and 4 untimed */
    assert_int_equal(t.ops[0].gpu_start_ns, 3000);
    assert_int_equal(t.ops[0].gpu_end_ns, 4000);
    assert_int_equal(t.ops[1].gpu_start_ns, 5000);
    assert_int_equal(t.ops[1].gpu_end_ns, 7000);
    assert_true(t.ops[2].gpu_start_ns == NN_UNTIMED && t.ops[3].gpu_end_ns == NN_UNTIMED);
    /* totals recomputed (no END): 100 + 400 + 100 + 400 MACs */
    assert_int_equal(t.totals.calls, 4);
    assert_int_equal(t.totals.macs, 1000);
    nn_trace_free(&t);
    free(b.d);
}

/* The same trace cut at every offset: read up to the last whole record, or an
 * error, never a crash (ASan watches). */
static void packed_truncated_at_every_offset(void **state)
{
    (void)state;
    buf b = v2_trace();
    for (size_t n = 0; n < b.n; n++) {
        nn_trace t;
        char err[256];
        if (parse(&b, n, &t, err, sizeof err) == 0) nn_trace_free(&t);
    }
    free(b.d);
}

static void packed_checked(void **state)
{
    (void)state;
    /* a kind used before it is defined */
    buf b = v2_head(), e = {0};
    size_t at = b.n + 8;
    put_varint(&e, 3 << 2 | NN_TPACK_CALL), put_varint(&e, 0), put_varint(&e, 0),
        put_varint(&e, 0);
    packed_rec(&b, &e);
    expect_error(&b, at, "kind 3 used before it is defined");
    free(b.d);

    /* an entry cut short inside its record: the length says 2 bytes, the entry needs 4 */
    b = v2_head();
    at = b.n + 8;
    e.n = 0;
    put_varint(&e, 1 << 2 | NN_TPACK_CALL), put_varint(&e, 0);
    packed_rec(&b, &e);
    expect_error(&b, at, "PACKED entry runs past its record");
    free(b.d);

    /* a number of 11 bytes (past 64 bits) */
    b = v2_head();
    at = b.n + 8;
    e.n = 0;
    put_varint(&e, 1 << 2 | NN_TPACK_CALL);
    for (int i = 0; i < 10; i++) put(&e, "\xff", 1);
    put(&e, "\x01", 1);
    put_varint(&e, 0), put_varint(&e, 0);
    packed_rec(&b, &e);
    expect_error(&b, at, "malformed number");
    free(b.d);

    /* entry types 2 and 3 are not defined */
    b = v2_head();
    at = b.n + 8;
    e.n = 0;
    put_varint(&e, 1 << 2 | 2), put_varint(&e, 0), put_varint(&e, 0), put_varint(&e, 0);
    packed_rec(&b, &e);
    expect_error(&b, at, "PACKED entry of unknown type 2");
    free(b.d);

    /* a host time out of range: a delta of 2^62 + 1 from 0 (the limit is +-2^62) */
    b = v2_head();
    at = b.n + 8;
    e.n = 0;
    put_varint(&e, 1 << 2 | NN_TPACK_CALL), put_varint(&e, 0),
        put_varint(&e, zz(((int64_t)1 << 62) + 1)), put_varint(&e, 0);
    packed_rec(&b, &e);
    expect_error(&b, at, "host time out of range");
    free(b.d);

    /* a GPU interval that ends before it starts: length -1 */
    b = v2_head();
    e.n = 0;
    put_varint(&e, 1 << 2 | NN_TPACK_CALL), put_varint(&e, 0), put_varint(&e, 0),
        put_varint(&e, 0);
    size_t gpu_at = b.n + 8 + e.n;
    put_varint(&e, zz(0) << 2 | NN_TPACK_GPU_TIME), put_varint(&e, zz(10)),
        put_varint(&e, zz(-1));
    packed_rec(&b, &e);
    expect_error(&b, gpu_at, "ends (9 ns) before it starts (10 ns)");
    free(b.d);

    /* kinds defined out of order, and of the wrong size */
    b = v2_head();
    at = b.n + 8;
    kind_rec(&b, 4, conv_kind);
    expect_error(&b, at, "KIND id 4 out of order (the next one is 3)");
    free(b.d);
    b = v2_head();
    at = b.n + 4;
    record_head(&b, NN_TREC_KIND, 100);
    static const unsigned char zeros[100];
    put(&b, zeros, sizeof zeros);
    expect_error(&b, at, "payload of 100 bytes, not 124");
    free(b.d);
    free(e.d);
}

/* Grouped integers as every table prints them: digits written by hand now. */
static void grouped_numbers(void **state)
{
    (void)state;
    char b[32];
    assert_string_equal(nn_fmt_grouped(0, b), "0");
    assert_string_equal(nn_fmt_grouped(999, b), "999");
    assert_string_equal(nn_fmt_grouped(1000, b), "1,000");
    assert_string_equal(nn_fmt_grouped(1234567, b), "1,234,567");
    assert_string_equal(nn_fmt_grouped(UINT64_MAX, b), "18,446,744,073,709,551,615");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_every_field),
        cmocka_unit_test(frame_ops_follow_the_preload),
        cmocka_unit_test(truncated_at_every_offset),
        cmocka_unit_test(incomplete_totals_recomputed),
        cmocka_unit_test(bad_magic_and_version),
        cmocka_unit_test(oversize_lengths),
        cmocka_unit_test(strings_checked),
        cmocka_unit_test(records_checked),
        cmocka_unit_test(header_json_checked),
        cmocka_unit_test(out_of_order_calls_sorted),
        cmocka_unit_test(read_from_files),
        cmocka_unit_test(marked_frames_from_the_trace),
        cmocka_unit_test(sync_drops_a_trailing_empty_frame),
        cmocka_unit_test(every_format_is_well_formed),
        cmocka_unit_test(report_option_parsing),
        cmocka_unit_test(sites_read_and_checked),
        cmocka_unit_test(versions_and_module_paths),
        cmocka_unit_test(packed_calls_and_gpu_times),
        cmocka_unit_test(packed_truncated_at_every_offset),
        cmocka_unit_test(packed_checked),
        cmocka_unit_test(grouped_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
