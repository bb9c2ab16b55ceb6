/*
 * test_graph.c: the cost of cuDNN graph operations (counters/graph.c), and the
 * shadowing of graph descriptors (preload/cudnn_graph_shadow.c) driven next to the
 * toolkit's real libcudnn.so.9: each call goes to the real library first and is
 * shadowed only when it succeeds, as the wrappers do. The real library finalizes
 * tensors, convolution and pointwise descriptors, operations and operation graphs
 * without a GPU; engines and plans need one, so those links are shadowed alone.
 * Every expected number is derived by hand in the comments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>
#include <cudnn.h>

#include "counters.h"
#include "cudnn_graph_shadow.h"
#include "frames.h"

/* What the shadow uses of the preload's core, as test doubles: warnings printed,
 * fork protection not needed in a test. */
void nn_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void nn_fork_protect(pthread_mutex_t *m, void (*child_hook)(void))
{
    (void)m;
    (void)child_hook;
}

/* ------------------------------------------------------------ counters */

static void test_pointwise_and_reduction(void **state)
{
    (void)state;
    assert_int_equal(nn_pointwise_flops_per_element(NN_PW_FREE, NN_ACT_IDENTITY), 0);
    assert_int_equal(nn_pointwise_flops_per_element(NN_PW_ONE, NN_ACT_IDENTITY), 1);
    assert_int_equal(nn_pointwise_flops_per_element(NN_PW_ADD_SQUARE, NN_ACT_IDENTITY), 2);
    assert_int_equal(nn_pointwise_flops_per_element(NN_PW_SOFTPLUS, NN_ACT_IDENTITY), 3);
    /* GELU (erf form) forward 5; its backward 5 + the multiply by dy. */
    assert_int_equal(nn_pointwise_flops_per_element(NN_PW_ACTIVATION, NN_ACT_GELU), 5);
    assert_int_equal(nn_pointwise_flops_per_element(NN_PW_ACTIVATION_BWD, NN_ACT_GELU), 6);
    bool overflow = false;
    /* 100 inputs into 10 outputs: 9 combining ops per output. */
    assert_int_equal(nn_reduction_flops(NN_REDUCE_SUM, 100, 10, &overflow), 90);
    assert_int_equal(nn_reduction_flops(NN_REDUCE_AVG, 100, 10, &overflow), 100);
    assert_int_equal(nn_reduction_flops(NN_REDUCE_AMAX, 100, 10, &overflow), 190);
    assert_int_equal(nn_reduction_flops(NN_REDUCE_NORM1, 100, 10, &overflow), 190);
    assert_int_equal(nn_reduction_flops(NN_REDUCE_NORM2, 100, 10, &overflow), 200);
    assert_false(overflow);
    assert_int_equal(nn_reduction_flops(NN_REDUCE_NORM2, UINT64_MAX, 1, &overflow), UINT64_MAX);
    assert_true(overflow);
}

static void test_norm(void **state)
{
    (void)state;
    bool overflow = false;
    /* 1,000 elements: batch norm inference 4 per element, training and layer norm 8,
     * RMS norm 4; backward 9, RMS 6. Per-group arithmetic is not counted. */
    assert_int_equal(nn_norm_flops(NN_NORM_BATCH, NN_NORM_APPLY, 1000, &overflow), 4000);
    assert_int_equal(nn_norm_flops(NN_NORM_LAYER, NN_NORM_FORWARD, 1000, &overflow), 8000);
    assert_int_equal(nn_norm_flops(NN_NORM_BATCH, NN_NORM_FORWARD, 1000, &overflow), 8000);
    assert_int_equal(nn_norm_flops(NN_NORM_RMS, NN_NORM_FORWARD, 1000, &overflow), 4000);
    assert_int_equal(nn_norm_flops(NN_NORM_LAYER, NN_NORM_BACKWARD, 1000, &overflow), 9000);
    assert_int_equal(nn_norm_flops(NN_NORM_RMS, NN_NORM_BACKWARD, 1000, &overflow), 6000);
    assert_false(overflow);
    assert_int_equal(nn_norm_flops(NN_NORM_LAYER, NN_NORM_FORWARD, UINT64_MAX / 4, &overflow),
                     UINT64_MAX);
    assert_true(overflow);
}

static void test_attention(void **state)
{
    (void)state;
    bool overflow = false;
    /* b 2, h 4, s_q 64, s_k 128, d = d_v = 32: S = 65,536 scores, 512 rows. */
    nn_attention_shape a = {2, 4, 64, 128, 32, 32};
    assert_int_equal(nn_attention_macs(&a, false, &overflow), 2ULL * 65536 * 32); /* 4,194,304 */
    assert_int_equal(nn_attention_macs(&a, true, &overflow), 65536ULL * (3 * 32 + 2 * 32));
    /* Forward softmax: 4 per score + 2 (s_k - 1) per row = 262,144 + 130,048. */
    assert_int_equal(nn_attention_softmax_flops(&a, false, &overflow), 392192);
    /* Backward: 5 per score + 2 d_v per row = 327,680 + 32,768. */
    assert_int_equal(nn_attention_softmax_flops(&a, true, &overflow), 360448);
    assert_false(overflow);
    /* d_v may differ from d: S (d + d_v). */
    nn_attention_shape b = {1, 1, 2, 3, 4, 5};
    assert_int_equal(nn_attention_macs(&b, false, &overflow), 6 * 9);
    nn_attention_shape huge = {1ULL << 32, 1ULL << 32, 2, 2, 2, 2};
    assert_int_equal(nn_attention_macs(&huge, false, &overflow), UINT64_MAX);
    assert_true(overflow);
}

/* ------------------------------------------------------------ shadowing, real cuDNN */

/* Calls the real library; shadows the call when it succeeded. */
static cudnnBackendDescriptor_t create(cudnnBackendDescriptorType_t type)
{
    cudnnBackendDescriptor_t d = NULL;
    assert_int_equal(cudnnBackendCreateDescriptor(type, &d), CUDNN_STATUS_SUCCESS);
    nn_graph_note_create(d, type);
    return d;
}

static cudnnStatus_t set(cudnnBackendDescriptor_t d, cudnnBackendAttributeName_t a,
                         cudnnBackendAttributeType_t t, int64_t n, const void *v)
{
    cudnnStatus_t s = cudnnBackendSetAttribute(d, a, t, n, v);
    if (s == CUDNN_STATUS_SUCCESS) nn_graph_note_set(d, a, t, n, v);
    return s;
}

static void finalize(cudnnBackendDescriptor_t d)
{
    assert_int_equal(cudnnBackendFinalize(d), CUDNN_STATUS_SUCCESS);
    nn_graph_note_finalize(d);
}

static void destroy(cudnnBackendDescriptor_t d)
{
    nn_graph_note_destroy(d);
    assert_int_equal(cudnnBackendDestroyDescriptor(d), CUDNN_STATUS_SUCCESS);
}

static cudnnBackendDescriptor_t tensor(int64_t uid, const int64_t dims[4])
{
    int64_t strides[4] = {dims[1] * dims[2] * dims[3], dims[2] * dims[3], dims[3], 1}, align = 4;
    cudnnDataType_t dt = CUDNN_DATA_HALF;
    cudnnBackendDescriptor_t t = create(CUDNN_BACKEND_TENSOR_DESCRIPTOR);
    assert_int_equal(set(t, CUDNN_ATTR_TENSOR_DATA_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &dt), 0);
    assert_int_equal(set(t, CUDNN_ATTR_TENSOR_DIMENSIONS, CUDNN_TYPE_INT64, 4, dims), 0);
    assert_int_equal(set(t, CUDNN_ATTR_TENSOR_STRIDES, CUDNN_TYPE_INT64, 4, strides), 0);
    assert_int_equal(set(t, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &uid), 0);
    assert_int_equal(set(t, CUDNN_ATTR_TENSOR_BYTE_ALIGNMENT, CUDNN_TYPE_INT64, 1, &align), 0);
    finalize(t);
    return t;
}

/* The links nnspy follows from a plan to its graph, which the real library only
 * finalizes on a GPU: shadowed alone, with addresses no real descriptor has. */
static char fake_engine, fake_config, fake_plan, fake_pack, fake_heur, fake_results;

static void link_plan_to(cudnnBackendDescriptor_t graph)
{
    const void *engine = &fake_engine, *config = &fake_config;
    nn_graph_note_create(engine, CUDNN_BACKEND_ENGINE_DESCRIPTOR);
    nn_graph_note_set(engine, CUDNN_ATTR_ENGINE_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &graph);
    nn_graph_note_create(config, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    nn_graph_note_set(config, CUDNN_ATTR_ENGINECFG_ENGINE, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &engine);
    nn_graph_note_create(&fake_plan, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    nn_graph_note_set(&fake_plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &config);
}

/*
 * A half-precision convolution 1x16x8x8 * 32x16x3x3 -> 1x32x6x6, built with the real
 * library: MACs = 32 x 36 x 16 x 9 = 165,888; bytes read (x 1,024 + w 4,608) x 2 =
 * 11,264; written 1,152 x 2 = 2,304. The filter (4,608 elements, uid 'w') is the
 * parameter.
 */
static void test_shadow_conv_with_real_cudnn(void **state)
{
    (void)state;
    const int64_t xd[4] = {1, 16, 8, 8}, wd[4] = {32, 16, 3, 3}, yd[4] = {1, 32, 6, 6};
    cudnnBackendDescriptor_t x = tensor('x', xd), w = tensor('w', wd), y = tensor('y', yd);
    /* A set the real library refuses after finalize is never shadowed. */
    int64_t other = 99;
    assert_int_not_equal(set(x, CUDNN_ATTR_TENSOR_UNIQUE_ID, CUDNN_TYPE_INT64, 1, &other),
                         CUDNN_STATUS_SUCCESS);
    cudnnBackendDescriptor_t conv = create(CUDNN_BACKEND_CONVOLUTION_DESCRIPTOR);
    int64_t sp = 2, pad[2] = {0, 0}, one[2] = {1, 1};
    cudnnDataType_t comp = CUDNN_DATA_FLOAT;
    cudnnConvolutionMode_t mode = CUDNN_CROSS_CORRELATION;
    assert_int_equal(set(conv, CUDNN_ATTR_CONVOLUTION_SPATIAL_DIMS, CUDNN_TYPE_INT64, 1, &sp), 0);
    assert_int_equal(set(conv, CUDNN_ATTR_CONVOLUTION_COMP_TYPE, CUDNN_TYPE_DATA_TYPE, 1, &comp),
                     0);
    assert_int_equal(
        set(conv, CUDNN_ATTR_CONVOLUTION_CONV_MODE, CUDNN_TYPE_CONVOLUTION_MODE, 1, &mode), 0);
    assert_int_equal(set(conv, CUDNN_ATTR_CONVOLUTION_PRE_PADDINGS, CUDNN_TYPE_INT64, 2, pad), 0);
    assert_int_equal(set(conv, CUDNN_ATTR_CONVOLUTION_POST_PADDINGS, CUDNN_TYPE_INT64, 2, pad), 0);
    assert_int_equal(set(conv, CUDNN_ATTR_CONVOLUTION_FILTER_STRIDES, CUDNN_TYPE_INT64, 2, one), 0);
    assert_int_equal(set(conv, CUDNN_ATTR_CONVOLUTION_DILATIONS, CUDNN_TYPE_INT64, 2, one), 0);
    finalize(conv);
    cudnnBackendDescriptor_t op = create(CUDNN_BACKEND_OPERATION_CONVOLUTION_FORWARD_DESCRIPTOR);
    float alpha = 1, beta = 0;
    assert_int_equal(
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_X, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &x),
        0);
    assert_int_equal(
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_W, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &w),
        0);
    assert_int_equal(
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_Y, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &y),
        0);
    assert_int_equal(set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_CONV_DESC,
                         CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &conv),
                     0);
    assert_int_equal(
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_ALPHA, CUDNN_TYPE_FLOAT, 1, &alpha), 0);
    assert_int_equal(
        set(op, CUDNN_ATTR_OPERATION_CONVOLUTION_FORWARD_BETA, CUDNN_TYPE_FLOAT, 1, &beta), 0);
    finalize(op);
    cudnnBackendDescriptor_t graph = create(CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    assert_int_equal(
        set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op), 0);
    finalize(graph);
    link_plan_to(graph);
    /* The program may destroy everything but the plan: the cost stays with it. */
    cudnnBackendDescriptor_t all[] = {graph, op, conv, x, w, y};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) destroy(all[i]);

    void *ptrs[3] = {(void *)0x1000, (void *)0x2000, (void *)0x3000};
    int64_t uids[3] = {'x', 'w', 'y'};
    nn_graph_note_create(&fake_pack, CUDNN_BACKEND_VARIANT_PACK_DESCRIPTOR);
    nn_graph_note_set(&fake_pack, CUDNN_ATTR_VARIANT_PACK_UNIQUE_IDS, CUDNN_TYPE_INT64, 3, uids);
    nn_graph_note_set(&fake_pack, CUDNN_ATTR_VARIANT_PACK_DATA_POINTERS, CUDNN_TYPE_VOID_PTR, 3,
                      ptrs);

    nn_graph_execution ex;
    assert_true(nn_graph_lookup_execution(&fake_plan, &fake_pack, &ex));
    assert_true(ex.cost.known);
    assert_string_equal(ex.cost.op, "conv_fwd");
    assert_int_equal(ex.cost.cost.macs, 165888);
    assert_int_equal(ex.cost.cost.flops, 2 * 165888);
    assert_int_equal(ex.cost.cost.bytes_read, 11264);
    assert_int_equal(ex.cost.cost.bytes_written, 2304);
    assert_int_equal(ex.cost.n_params, 1);
    assert_int_equal(ex.cost.params[0].elements, 4608);
    assert_ptr_equal(ex.param_ptrs[0], (void *)0x2000);
    assert_ptr_equal(ex.output_ptrs[0], (void *)0x3000);

    const void *links[] = {&fake_plan, &fake_config, &fake_engine, &fake_pack};
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) nn_graph_note_destroy(links[i]);
    assert_int_equal(nn_graph_live_shadows(), 0);
    assert_false(nn_graph_lookup_execution(&fake_plan, &fake_pack, &ex));
}

/* An operation nnspy does not count makes its graph's cost unknown, not wrong. */
static void test_uncounted_operation(void **state)
{
    (void)state;
    const void *op = &fake_engine, *graph = &fake_config; /* addresses reused: all destroyed */
    nn_graph_note_create(op, CUDNN_BACKEND_OPERATION_RNG_DESCRIPTOR);
    nn_graph_note_finalize(op);
    nn_graph_note_create(graph, CUDNN_BACKEND_OPERATIONGRAPH_DESCRIPTOR);
    nn_graph_note_set(graph, CUDNN_ATTR_OPERATIONGRAPH_OPS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &op);
    nn_graph_note_finalize(graph);
    nn_graph_note_create(&fake_plan, CUDNN_BACKEND_EXECUTION_PLAN_DESCRIPTOR);
    /* Heuristics' results link the configuration the program created. */
    const void *heur = &fake_heur, *config = &fake_results;
    nn_graph_note_create(heur, CUDNN_BACKEND_ENGINEHEUR_DESCRIPTOR);
    nn_graph_note_set(heur, CUDNN_ATTR_ENGINEHEUR_OPERATION_GRAPH, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &graph);
    nn_graph_note_create(config, CUDNN_BACKEND_ENGINECFG_DESCRIPTOR);
    nn_graph_note_get(heur, CUDNN_ATTR_ENGINEHEUR_RESULTS, CUDNN_TYPE_BACKEND_DESCRIPTOR, 1,
                      &config);
    nn_graph_note_set(&fake_plan, CUDNN_ATTR_EXECUTION_PLAN_ENGINE_CONFIG,
                      CUDNN_TYPE_BACKEND_DESCRIPTOR, 1, &config);
    nn_graph_execution ex;
    assert_true(nn_graph_lookup_execution(&fake_plan, NULL, &ex));
    assert_false(ex.cost.known);
    assert_int_equal(ex.cost.n_uncounted, 1);
    const void *all[] = {op, graph, &fake_plan, heur, config};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) nn_graph_note_destroy(all[i]);
    assert_int_equal(nn_graph_live_shadows(), 0);
}

/* Key 1 runs plans 7, 7, 8, 8, 7, 7: it settles on 7, and every run up to the last
 * run of 8 (index 3) is benchmarking. Key 2 only ever runs plan 9. Call 6 is an
 * explicit search. */
static void test_mark_autotuning(void **state)
{
    (void)state;
    nn_frame_op ops[9] = {
        {.tune_key = 1, .tune_variant = 7}, {.tune_key = 1, .tune_variant = 7},
        {.tune_key = 1, .tune_variant = 8}, {.tune_key = 2, .tune_variant = 9},
        {.tune_key = 1, .tune_variant = 8}, {.tune_key = 1, .tune_variant = 7},
        {.autotune = true, .macs = 5},      {.tune_key = 1, .tune_variant = 7, .macs = 3},
        {.tune_key = 2, .tune_variant = 9},
    };
    for (int i = 0; i < 9; i++) ops[i].macs += 1;
    assert_int_equal(nn_frames_mark_autotuning(ops, 9), 5);
    const bool want[9] = {true, true, true, false, true, false, true, false, false};
    for (int i = 0; i < 9; i++) assert_int_equal(ops[i].autotune, want[i]);
    nn_autotune_totals t = nn_frames_autotune_totals(ops, 9);
    assert_int_equal(t.calls, 5);
    assert_int_equal(t.macs, 4 * 1 + 6); /* four runs of 1 MAC, the search's 6 */
    /* The steady state starts after the search (call 6): calls 7 and 8. */
    size_t period;
    assert_int_equal(nn_frames_auto(ops, 9, &period), 7);
}

/* Marked frames (sync, marker) of autotuning only are no frames: a frame of two
 * benchmark runs, then two frames of model work. */
static void test_autotuning_frames_given(void **state)
{
    (void)state;
    nn_frame_op ops[4] = {
        {.given_frame = 1, .autotune = true, .macs = 5},
        {.given_frame = 1, .autotune = true, .macs = 5},
        {.given_frame = 2, .macs = 7},
        {.given_frame = 3, .macs = 7},
    };
    nn_frame frames[4];
    assert_int_equal(nn_frames_given(ops, 4, frames, 4), 2);
    assert_int_equal(frames[0].first, 2);
    assert_int_equal(frames[0].macs, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointwise_and_reduction),
        cmocka_unit_test(test_norm),
        cmocka_unit_test(test_attention),
        cmocka_unit_test(test_shadow_conv_with_real_cudnn),
        cmocka_unit_test(test_uncounted_operation),
        cmocka_unit_test(test_mark_autotuning),
        cmocka_unit_test(test_autotuning_frames_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
