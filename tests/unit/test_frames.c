/*
 * test_frames.c: frame detection and frame measures on sequences built by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "frames.h"

/* ops[i].signature = sig[i]; untimed */
static void fill(nn_frame_op *ops, const uint64_t *sig, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ops[i] = (nn_frame_op){.signature = sig[i], .gpu_start_ns = NN_UNTIMED,
                               .gpu_end_ns = NN_UNTIMED};
}

static void twenty_identical_frames(void **state)
{
    (void)state;
    /* AlexNet-like: 27 calls per frame, 20 frames */
    static nn_frame_op ops[540];
    uint64_t sig[540];
    for (size_t i = 0; i < 540; i++) sig[i] = 100 + i % 27;
    fill(ops, sig, 540);
    size_t period;
    assert_int_equal(nn_frames_auto(ops, 540, &period), 0);
    assert_int_equal(period, 27);
}

static void warmup_before_steady_state(void **state)
{
    (void)state;
    /* 5 set-up calls, then 10 x [A B C] */
    uint64_t sig[35] = {9, 8, 7, 6, 5};
    for (size_t i = 5; i < 35; i++) sig[i] = (i - 5) % 3;
    nn_frame_op ops[35];
    fill(ops, sig, 35);
    size_t period;
    assert_int_equal(nn_frames_auto(ops, 35, &period), 5);
    assert_int_equal(period, 3);
}

static void partial_period_is_warmup(void **state)
{
    (void)state;
    /* [B C] then 10 x [A B C]: the run ends on C, so frames are [A B C];
     * 32 calls, 10 whole frames = 30, the 2 before them are warm-up */
    uint64_t sig[32] = {1, 2};
    for (size_t i = 2; i < 32; i++) sig[i] = (i - 2) % 3;
    nn_frame_op ops[32];
    fill(ops, sig, 32);
    size_t period;
    assert_int_equal(nn_frames_auto(ops, 32, &period), 2);
    assert_int_equal(period, 3);
}

static void no_repetition_is_one_frame(void **state)
{
    (void)state;
    uint64_t sig[5] = {1, 2, 3, 4, 5};
    nn_frame_op ops[5];
    fill(ops, sig, 5);
    size_t period;
    assert_int_equal(nn_frames_auto(ops, 5, &period), 0);
    assert_int_equal(period, 5);
}

static void measure_one_and_two_streams(void **state)
{
    (void)state;
    nn_frame_op ops[3] = {
        {.macs = 10, .flops = 25, .gpu_start_ns = 0, .gpu_end_ns = 10, .host_ns = 5},
        {.macs = 1, .flops = 2, .gpu_start_ns = 20, .gpu_end_ns = 30, .host_ns = 6},
        {.macs = 2, .flops = 4, .gpu_start_ns = 25, .gpu_end_ns = 40, .host_ns = 9},
    };
    nn_frame f = nn_frame_measure(ops, 0, 3);
    assert_true(f.timed);
    assert_int_equal(f.macs, 13);
    assert_int_equal(f.flops, 31);
    assert_int_equal(f.latency_ns, 40); /* 0 .. 40 */
    /* union: [0,10) + [20,40) = 10 + 20 */
    assert_int_equal(f.busy_ns, 30);
    assert_int_equal(f.host_start_ns, 5);
    assert_int_equal(f.host_end_ns, 9);
    ops[1].gpu_end_ns = NN_UNTIMED;
    assert_false(nn_frame_measure(ops, 0, 3).timed);
}

static void given_frame_numbers(void **state)
{
    (void)state;
    /* frame numbers 0 1 1 0 2 2 2: frames [1, 2) and [4, 7); calls outside any
     * frame are left out */
    uint32_t id[7] = {0, 1, 1, 0, 2, 2, 2};
    nn_frame_op ops[7];
    for (int i = 0; i < 7; i++)
        ops[i] = (nn_frame_op){.given_frame = id[i], .macs = 1, .gpu_start_ns = NN_UNTIMED,
                               .gpu_end_ns = NN_UNTIMED};
    nn_frame frames[4];
    assert_int_equal(nn_frames_given(ops, 7, frames, 4), 2);
    assert_int_equal(frames[0].first, 1);
    assert_int_equal(frames[0].count, 2);
    assert_int_equal(frames[1].first, 4);
    assert_int_equal(frames[1].count, 3);
    assert_int_equal(frames[1].macs, 3);
}

static void latency_percentiles(void **state)
{
    (void)state;
    /* latencies 1 .. 100 ms, in reverse order */
    nn_frame frames[100];
    int64_t scratch[100];
    for (int i = 0; i < 100; i++)
        frames[i] = (nn_frame){.timed = true, .latency_ns = (int64_t)(100 - i) * 1000000};
    nn_latency_stats s = nn_latency_stats_of(frames, 100, scratch);
    assert_int_equal(s.count, 100);
    /* nearest rank: p50 is the 50th smallest = 50 ms, p90 = 90, p99 = 99 */
    assert_true(s.p50_ms == 50.0);
    assert_true(s.p90_ms == 90.0);
    assert_true(s.p99_ms == 99.0);
    assert_true(s.min_ms == 1.0 && s.max_ms == 100.0);
    assert_true(s.mean_ms == 50.5); /* (1 + 100) / 2 */
    frames[0].timed = false;
    assert_int_equal(nn_latency_stats_of(frames, 1, scratch).count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twenty_identical_frames), cmocka_unit_test(warmup_before_steady_state),
        cmocka_unit_test(partial_period_is_warmup), cmocka_unit_test(no_repetition_is_one_frame),
        cmocka_unit_test(measure_one_and_two_streams), cmocka_unit_test(given_frame_numbers),
        cmocka_unit_test(latency_percentiles),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
