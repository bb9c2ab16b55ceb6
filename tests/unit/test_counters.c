/*
 * test_counters.c: the cost model on numbers derived by hand. Every expected value
 * has its arithmetic in the comment beside it; none was copied from the code's
 * output. Where a published figure exists (AlexNet, ResNet), it is quoted too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "counters.h"

#define P2(e) (UINT64_C(1) << (e))

/* A macro, not a function, so that a failure names the test's own line. */
#define ASSERT_COST(c, m, f, r, w, ovf, unk)                                                 \
    do {                                                                                     \
        assert_int_equal((c).macs, (m));                                                     \
        assert_int_equal((c).flops, (f));                                                    \
        assert_int_equal((c).bytes_read, (r));                                               \
        assert_int_equal((c).bytes_written, (w));                                            \
        assert_int_equal((c).overflow, (ovf));                                               \
        assert_int_equal((c).unknown_dtype, (unk));                                          \
    } while (0)

/* ------------------------------------------------------------------ dtypes */

static void test_dtype_bits(void **state)
{
    (void)state;
    /* The sizes listed in the brief: storage bits, complex = two parts. */
    assert_int_equal(nn_dtype_bits(NN_DTYPE_UNKNOWN), 0);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_F64), 64);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_F32), 32);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_TF32), 32);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_F16), 16);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_BF16), 16);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_FP8_E4M3), 8);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_FP8_E5M2), 8);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_FP8_E8M0), 8);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_FP4_E2M1), 4);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_I64), 64);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_I32), 32);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_U32), 32);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_I16), 16);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_I8), 8);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_U8), 8);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_I4), 4);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_U4), 4);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_BOOL), 8);
    assert_int_equal(nn_dtype_bits(NN_DTYPE_C16F), 32);  /* 2 x 16 */
    assert_int_equal(nn_dtype_bits(NN_DTYPE_C32F), 64);  /* 2 x 32 */
    assert_int_equal(nn_dtype_bits(NN_DTYPE_C64F), 128); /* 2 x 64 */
    assert_int_equal(nn_dtype_bits(NN_DTYPE_C8I), 16);   /* 2 x 8 */
    assert_int_equal(nn_dtype_bits(NN_DTYPE_C32I), 64);  /* 2 x 32 */
    /* Out of range reads as unknown rather than indexing past the table. */
    assert_int_equal(nn_dtype_bits(NN_DTYPE_COUNT_), 0);
    assert_int_equal(nn_dtype_bits((nn_dtype)999), 0);
}

/* cuBLASLt's ReLU aux output: one bit per element, rounded up to whole bytes. */
static void test_bit_mask_bytes(void **state)
{
    (void)state;
    bool overflow = false;
    assert_int_equal(nn_dtype_bits(NN_DTYPE_BIT), 1);
    assert_string_equal(nn_dtype_name(NN_DTYPE_BIT), "bit");
    /* 100 bits = 12.5 bytes -> 13 */
    assert_int_equal(nn_bytes_of(100, NN_DTYPE_BIT, &overflow), 13);
    /* a 128 x 64 mask: 8,192 bits = 1,024 bytes */
    assert_int_equal(nn_bytes_of(128 * 64, NN_DTYPE_BIT, &overflow), 1024);
    assert_false(overflow);
}

static void test_dtype_names_and_complex(void **state)
{
    (void)state;
    assert_string_equal(nn_dtype_name(NN_DTYPE_UNKNOWN), "unknown");
    assert_string_equal(nn_dtype_name(NN_DTYPE_F32), "f32");
    assert_string_equal(nn_dtype_name(NN_DTYPE_TF32), "tf32");
    assert_string_equal(nn_dtype_name(NN_DTYPE_F16), "f16");
    assert_string_equal(nn_dtype_name(NN_DTYPE_BF16), "bf16");
    assert_string_equal(nn_dtype_name(NN_DTYPE_FP8_E4M3), "fp8e4m3");
    assert_string_equal(nn_dtype_name(NN_DTYPE_FP8_E5M2), "fp8e5m2");
    assert_string_equal(nn_dtype_name(NN_DTYPE_FP4_E2M1), "fp4e2m1");
    assert_string_equal(nn_dtype_name(NN_DTYPE_I8), "i8");
    assert_string_equal(nn_dtype_name(NN_DTYPE_BOOL), "bool");
    assert_string_equal(nn_dtype_name(NN_DTYPE_C32F), "c32f");
    assert_string_equal(nn_dtype_name(NN_DTYPE_C32I), "c32i");
    assert_string_equal(nn_dtype_name((nn_dtype)999), "unknown");
    /* Every valid type has a name (no NULL hole in the table). */
    for (int t = 0; t < NN_DTYPE_COUNT_; t++)
        assert_non_null(nn_dtype_name((nn_dtype)t));

    assert_true(nn_dtype_is_complex(NN_DTYPE_C16F));
    assert_true(nn_dtype_is_complex(NN_DTYPE_C32F));
    assert_true(nn_dtype_is_complex(NN_DTYPE_C64F));
    assert_true(nn_dtype_is_complex(NN_DTYPE_C8I));
    assert_true(nn_dtype_is_complex(NN_DTYPE_C32I));
    assert_false(nn_dtype_is_complex(NN_DTYPE_F64));
    assert_false(nn_dtype_is_complex(NN_DTYPE_UNKNOWN));
    assert_false(nn_dtype_is_complex((nn_dtype)999));
}

/* ------------------------------------------------------ checked arithmetic */

static void test_checked_arithmetic(void **state)
{
    (void)state;
    uint64_t v = 7;
    /* 2^32 x (2^32 - 1) = 2^64 - 2^32 = 18446744069414584320: fits. */
    assert_true(nn_mul_u64(P2(32), P2(32) - 1, &v));
    assert_int_equal(v, UINT64_C(18446744069414584320));
    /* 2^32 x 2^32 = 2^64: one past UINT64_MAX. */
    assert_false(nn_mul_u64(P2(32), P2(32), &v));
    assert_int_equal(v, UINT64_MAX);
    /* 0 x anything = 0, even UINT64_MAX. */
    assert_true(nn_mul_u64(0, UINT64_MAX, &v));
    assert_int_equal(v, 0);
    /* (2^64 - 2) + 1 = 2^64 - 1 = UINT64_MAX: fits exactly. */
    assert_true(nn_add_u64(UINT64_MAX - 1, 1, &v));
    assert_int_equal(v, UINT64_MAX);
    /* (2^64 - 1) + 1 = 2^64: overflows, saturates. */
    v = 0;
    assert_false(nn_add_u64(UINT64_MAX, 1, &v));
    assert_int_equal(v, UINT64_MAX);
    /* 2^63 + 2^63 = 2^64: overflows. */
    assert_false(nn_add_u64(P2(63), P2(63), &v));
    assert_int_equal(v, UINT64_MAX);
}

static void test_product_helper(void **state)
{
    (void)state;
    bool ovf = false;
    /* 3 x 5 x 7 = 105. */
    const uint64_t small[3] = {3, 5, 7};
    assert_int_equal(nn_product_u64(small, 3, &ovf), 105);
    assert_false(ovf);
    /* 2^32 x 2^32 overflows before the 0, but the true product is 0. */
    const uint64_t with_zero[3] = {P2(32), P2(32), 0};
    assert_int_equal(nn_product_u64(with_zero, 3, &ovf), 0);
    assert_false(ovf);
    /* 2^32 x 2^32 x 1 = 2^64: overflows. */
    const uint64_t big[3] = {P2(32), P2(32), 1};
    assert_int_equal(nn_product_u64(big, 3, &ovf), UINT64_MAX);
    assert_true(ovf);
    /* The empty product is 1. */
    ovf = false;
    assert_int_equal(nn_product_u64(small, 0, &ovf), 1);
    assert_false(ovf);
}

static void test_bytes_of(void **state)
{
    (void)state;
    bool ovf = false;
    /* FP4: 3 elements x 4 bits = 12 bits = 1.5 bytes, rounded up to 2. */
    assert_int_equal(nn_bytes_of(3, NN_DTYPE_FP4_E2M1, &ovf), 2);
    /* FP4: 4 x 4 = 16 bits = 2 bytes exactly. */
    assert_int_equal(nn_bytes_of(4, NN_DTYPE_FP4_E2M1, &ovf), 2);
    /* I4: 1 x 4 = 4 bits, rounded up to 1 byte. */
    assert_int_equal(nn_bytes_of(1, NN_DTYPE_I4, &ovf), 1);
    /* U4: 9 x 4 = 36 bits = 4.5 bytes -> 5. */
    assert_int_equal(nn_bytes_of(9, NN_DTYPE_U4, &ovf), 5);
    /* F32: 10 x 4 bytes = 40. */
    assert_int_equal(nn_bytes_of(10, NN_DTYPE_F32, &ovf), 40);
    /* C64F: 3 x 16 bytes = 48. */
    assert_int_equal(nn_bytes_of(3, NN_DTYPE_C64F, &ovf), 48);
    /* BOOL: 5 x 1 byte = 5 (not packed). */
    assert_int_equal(nn_bytes_of(5, NN_DTYPE_BOOL, &ovf), 5);
    /* 0 elements = 0 bytes. */
    assert_int_equal(nn_bytes_of(0, NN_DTYPE_F64, &ovf), 0);
    /* Unknown type: 0 bytes, and no overflow. */
    assert_int_equal(nn_bytes_of(1000, NN_DTYPE_UNKNOWN, &ovf), 0);
    assert_false(ovf);
    /* FP4 with UINT64_MAX = 2^64 - 1 elements: ceil((2^64 - 1) x 4 / 8) =
     * ceil(2^63 - 0.5) = 2^63. Fits, although elements x bits would not. */
    assert_int_equal(nn_bytes_of(UINT64_MAX, NN_DTYPE_FP4_E2M1, &ovf), P2(63));
    assert_false(ovf);
    /* F64: (2^61 - 1) x 8 = 2^64 - 8 = 18446744073709551608: fits. */
    assert_int_equal(nn_bytes_of(P2(61) - 1, NN_DTYPE_F64, &ovf),
                     UINT64_C(18446744073709551608));
    assert_false(ovf);
    /* F64: 2^61 x 8 = 2^64: overflows, saturates. */
    assert_int_equal(nn_bytes_of(P2(61), NN_DTYPE_F64, &ovf), UINT64_MAX);
    assert_true(ovf);
    /* A NULL flag is tolerated: 2 x 2 bytes (F16) = 4. */
    assert_int_equal(nn_bytes_of(2, NN_DTYPE_F16, NULL), 4);
}

static void test_cost_add(void **state)
{
    (void)state;
    nn_cost a = {1, 2, 3, 4, false, false};
    const nn_cost b = {10, 20, 30, 40, false, true};
    nn_cost_add(&a, &b);
    /* 1+10, 2+20, 3+30, 4+40; unknown_dtype propagates from b. */
    ASSERT_COST(a, 11, 22, 33, 44, false, true);

    /* 11 + (2^64 - 11) = 2^64: macs overflows and saturates; the rest are
     * 22+1, 33+1, 44+1. */
    const nn_cost near = {UINT64_MAX - 10, 1, 1, 1, false, false};
    nn_cost_add(&a, &near);
    ASSERT_COST(a, UINT64_MAX, 23, 34, 45, true, true);

    /* An overflow flag in b carries over even when the sums fit. */
    nn_cost z = {0};
    const nn_cost flagged = {0, 0, 0, 0, true, false};
    nn_cost_add(&z, &flagged);
    ASSERT_COST(z, 0, 0, 0, 0, true, false);
}

/* ------------------------------------------------------------ convolution */

/* AlexNet conv1: N=1, C=3, K=64, 224x224 -> 55x55, 11x11 kernel, f32. */
static nn_conv_shape alexnet_conv1(void)
{
    nn_conv_shape s = {
        .spatial_dims = 2,
        .batch = 1,
        .in_channels = 3,
        .out_channels = 64,
        .groups = 1,
        .in_size = {224, 224},
        .out_size = {55, 55},
        .kernel = {11, 11},
        .x_dtype = NN_DTYPE_F32,
        .w_dtype = NN_DTYPE_F32,
        .y_dtype = NN_DTYPE_F32,
    };
    return s;
}

/*
 * AlexNet conv1 tensors, f32 (4 bytes):
 *   x = 1 x 3 x 224 x 224 = 3 x 50176 = 150528 elements = 602112 bytes
 *   w = 64 x 3 x 11 x 11 = 64 x 363 = 23232 elements = 92928 bytes
 *   y = 1 x 64 x 55 x 55 = 64 x 3025 = 193600 elements = 774400 bytes
 * MACs = 64 x 55 x 55 x 3 x 121 = 193600 x 363
 *      = 193600 x 300 + 193600 x 63 = 58080000 + 12196800 = 70276800
 *   (the published AlexNet conv1 figure, ~70.3M MACs).
 * FLOPs = 2 x 70276800 = 140553600.
 */
static void test_conv_alexnet_conv1_forward(void **state)
{
    (void)state;
    nn_conv_shape s = alexnet_conv1();
    bool ovf = false;
    assert_int_equal(nn_conv_filter_elements(&s, &ovf), 23232); /* 64 x 3 x 121 */
    assert_false(ovf);
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* read = x + w = 602112 + 92928 = 695040; written = y = 774400. */
    ASSERT_COST(c, 70276800, 140553600, 695040, 774400, false, false);
}

static void test_conv_backward_same_macs_different_bytes(void **state)
{
    (void)state;
    nn_conv_shape s = alexnet_conv1();
    /* Backward data: reads dy + w = 774400 + 92928 = 867328; writes dx = 602112. */
    nn_cost d = nn_conv_cost(&s, NN_CONV_BACKWARD_DATA, false);
    ASSERT_COST(d, 70276800, 140553600, 867328, 602112, false, false);
    /* Backward filter: reads x + dy = 602112 + 774400 = 1376512; writes dw = 92928. */
    nn_cost f = nn_conv_cost(&s, NN_CONV_BACKWARD_FILTER, false);
    ASSERT_COST(f, 70276800, 140553600, 1376512, 92928, false, false);
}

static void test_conv_accumulate(void **state)
{
    (void)state;
    nn_conv_shape s = alexnet_conv1();
    /* beta != 0: the written tensor is read as well, so every direction reads
     * x + w + y = 602112 + 92928 + 774400 = 1469440, and writes as before. */
    nn_cost fw = nn_conv_cost(&s, NN_CONV_FORWARD, true);
    ASSERT_COST(fw, 70276800, 140553600, 1469440, 774400, false, false);
    nn_cost bd = nn_conv_cost(&s, NN_CONV_BACKWARD_DATA, true);
    ASSERT_COST(bd, 70276800, 140553600, 1469440, 602112, false, false);
    nn_cost bf = nn_conv_cost(&s, NN_CONV_BACKWARD_FILTER, true);
    ASSERT_COST(bf, 70276800, 140553600, 1469440, 92928, false, false);
}

/*
 * AlexNet conv2 as originally split over two GPUs: groups=2, N=1, C=96, K=256,
 * 27x27 -> 27x27 (pad 2), 5x5 kernel, f16 (2 bytes).
 * MACs = 1 x 256 x 27 x 27 x (96 / 2) x 25 = 186624 x 1200 = 223948800
 *   (256 x 729 = 186624; 48 x 25 = 1200; published: ~224M).
 * w = 256 x 48 x 25 = 307200 elements = 614400 bytes
 * x = 96 x 729 = 69984 elements = 139968 bytes
 * y = 256 x 729 = 186624 elements = 373248 bytes
 */
static void test_conv_grouped(void **state)
{
    (void)state;
    nn_conv_shape s = {
        .spatial_dims = 2,
        .batch = 1,
        .in_channels = 96,
        .out_channels = 256,
        .groups = 2,
        .in_size = {27, 27},
        .out_size = {27, 27},
        .kernel = {5, 5},
        .x_dtype = NN_DTYPE_F16,
        .w_dtype = NN_DTYPE_F16,
        .y_dtype = NN_DTYPE_F16,
    };
    bool ovf = false;
    assert_int_equal(nn_conv_filter_elements(&s, &ovf), 307200);
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* FLOPs = 2 x 223948800 = 447897600; read = 139968 + 614400 = 754368. */
    ASSERT_COST(c, 223948800, 447897600, 754368, 373248, false, false);
}

/*
 * Depthwise 3x3 (MobileNet style): groups = C = K = 32, N=2, 112x112 -> 112x112.
 * MACs = 2 x 32 x 112 x 112 x (32 / 32) x 9 = 64 x 12544 x 9 = 802816 x 9 = 7225344.
 * w = 32 x 1 x 9 = 288 elements = 1152 bytes (f32)
 * x = y = 2 x 32 x 12544 = 802816 elements = 3211264 bytes
 */
static void test_conv_depthwise(void **state)
{
    (void)state;
    nn_conv_shape s = {
        .spatial_dims = 2,
        .batch = 2,
        .in_channels = 32,
        .out_channels = 32,
        .groups = 32,
        .in_size = {112, 112},
        .out_size = {112, 112},
        .kernel = {3, 3},
        .x_dtype = NN_DTYPE_F32,
        .w_dtype = NN_DTYPE_F32,
        .y_dtype = NN_DTYPE_F32,
    };
    bool ovf = false;
    assert_int_equal(nn_conv_filter_elements(&s, &ovf), 288);
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* FLOPs = 2 x 7225344 = 14450688; read = 3211264 + 1152 = 3212416. */
    ASSERT_COST(c, 7225344, 14450688, 3212416, 3211264, false, false);
}

/*
 * Dilated: 3x3 kernel, dilation 2, no padding, stride 1, on 64x64: the kernel
 * spans 2 x (3 - 1) + 1 = 5, so out = 64 - 5 + 1 = 60. N=1, C=16, K=32.
 * MACs = 32 x 60 x 60 x 16 x 9 = 32 x 3600 x 144 = 32 x 518400 = 16588800:
 * 9 taps per output, not the 25 of the span (which would give 46080000).
 */
static void test_conv_dilated(void **state)
{
    (void)state;
    nn_conv_shape s = {
        .spatial_dims = 2,
        .batch = 1,
        .in_channels = 16,
        .out_channels = 32,
        .groups = 1,
        .in_size = {64, 64},
        .out_size = {60, 60},
        .kernel = {3, 3},
        .x_dtype = NN_DTYPE_F32,
        .w_dtype = NN_DTYPE_F32,
        .y_dtype = NN_DTYPE_F32,
    };
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    assert_int_equal(c.macs, 16588800);
    assert_int_equal(c.flops, 33177600); /* 2 x 16588800 */
    /* x = 16 x 4096 = 65536 el; w = 32 x 16 x 9 = 4608 el; read = (65536 + 4608)
     * x 4 = 70144 x 4 = 280576. y = 32 x 3600 = 115200 el x 4 = 460800. */
    assert_int_equal(c.bytes_read, 280576);
    assert_int_equal(c.bytes_written, 460800);
}

/*
 * Strided: ResNet conv1, 7x7 stride 2 pad 3, 224x224 -> 112x112, C=3, K=64, N=1.
 * MACs = 64 x 112 x 112 x 3 x 49 = 802816 x 147 = 80281600 + 37732352 = 118013952
 *   (802816 x 100 and 802816 x 47 = 32112640 + 5619712; published: ~118M).
 */
static void test_conv_strided(void **state)
{
    (void)state;
    nn_conv_shape s = {
        .spatial_dims = 2,
        .batch = 1,
        .in_channels = 3,
        .out_channels = 64,
        .groups = 1,
        .in_size = {224, 224},
        .out_size = {112, 112},
        .kernel = {7, 7},
        .x_dtype = NN_DTYPE_F32,
        .w_dtype = NN_DTYPE_F32,
        .y_dtype = NN_DTYPE_F32,
    };
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* x = 150528 el = 602112 bytes; w = 64 x 147 = 9408 el = 37632 bytes;
     * read = 602112 + 37632 = 639744. y = 802816 el = 3211264 bytes. */
    ASSERT_COST(c, 118013952, 236027904, 639744, 3211264, false, false);
}

/*
 * 3-D (C3D style): N=1, C=3, K=64, 16x112x112 -> 16x112x112 (pad 1), 3x3x3.
 * MACs = 64 x (16 x 112 x 112) x 3 x 27 = 64 x 200704 x 81 = 12845056 x 81
 *      = 12845056 x 80 + 12845056 = 1027604480 + 12845056 = 1040449536.
 * x = 3 x 200704 = 602112 el = 2408448 bytes; w = 64 x 3 x 27 = 5184 el = 20736
 * bytes; y = 12845056 el = 51380224 bytes (f32).
 */
static void test_conv_3d(void **state)
{
    (void)state;
    nn_conv_shape s = {
        .spatial_dims = 3,
        .batch = 1,
        .in_channels = 3,
        .out_channels = 64,
        .groups = 1,
        .in_size = {16, 112, 112},
        .out_size = {16, 112, 112},
        .kernel = {3, 3, 3},
        .x_dtype = NN_DTYPE_F32,
        .w_dtype = NN_DTYPE_F32,
        .y_dtype = NN_DTYPE_F32,
    };
    bool ovf = false;
    assert_int_equal(nn_conv_filter_elements(&s, &ovf), 5184);
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* FLOPs = 2 x 1040449536 = 2080899072; read = 2408448 + 20736 = 2429184. */
    ASSERT_COST(c, 1040449536, 2080899072, 2429184, 51380224, false, false);
}

/*
 * 1-D: N=4, C=8, K=16, length 100 -> 96, kernel 5, int8 in, int8 filter, i32 out.
 * MACs = 4 x 16 x 96 x 8 x 5 = 64 x 96 x 40 = 6144 x 40 = 245760.
 * x = 4 x 8 x 100 = 3200 bytes (i8); w = 16 x 8 x 5 = 640 bytes (i8);
 * y = 4 x 16 x 96 = 6144 el x 4 = 24576 bytes (i32). The unused in_size[1..2]
 * are garbage on purpose: only spatial_dims entries count.
 */
static void test_conv_1d_mixed_types(void **state)
{
    (void)state;
    nn_conv_shape s = {
        .spatial_dims = 1,
        .batch = 4,
        .in_channels = 8,
        .out_channels = 16,
        .groups = 1,
        .in_size = {100, 7, 7},
        .out_size = {96, 7, 7},
        .kernel = {5, 7, 7},
        .x_dtype = NN_DTYPE_I8,
        .w_dtype = NN_DTYPE_I8,
        .y_dtype = NN_DTYPE_I32,
    };
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* FLOPs = 491520; read = 3200 + 640 = 3840. */
    ASSERT_COST(c, 245760, 491520, 3840, 24576, false, false);
}

static void test_conv_invalid(void **state)
{
    (void)state;
    nn_conv_shape s = alexnet_conv1();
    bool ovf = false;

    s.groups = 0; /* zero groups */
    ASSERT_COST(nn_conv_cost(&s, NN_CONV_FORWARD, false), 0, 0, 0, 0, false, true);
    assert_int_equal(nn_conv_filter_elements(&s, &ovf), 0);

    s.groups = 2; /* C = 3 is not divisible by 2 */
    ASSERT_COST(nn_conv_cost(&s, NN_CONV_FORWARD, false), 0, 0, 0, 0, false, true);
    assert_int_equal(nn_conv_filter_elements(&s, &ovf), 0);

    s.groups = 1;
    s.spatial_dims = 0; /* out of range below */
    ASSERT_COST(nn_conv_cost(&s, NN_CONV_BACKWARD_DATA, true), 0, 0, 0, 0, false, true);
    s.spatial_dims = NN_MAX_SPATIAL + 1; /* and above */
    ASSERT_COST(nn_conv_cost(&s, NN_CONV_BACKWARD_FILTER, false), 0, 0, 0, 0, false, true);
    assert_false(ovf);

    ASSERT_COST(nn_conv_cost(NULL, NN_CONV_FORWARD, false), 0, 0, 0, 0, false, true);
}

static void test_conv_unknown_dtype(void **state)
{
    (void)state;
    nn_conv_shape s = alexnet_conv1();
    s.w_dtype = NN_DTYPE_UNKNOWN;
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* MACs unaffected; w counts 0 bytes: read = x = 602112 (a lower bound). */
    ASSERT_COST(c, 70276800, 140553600, 602112, 774400, false, true);
}

static void test_conv_overflow(void **state)
{
    (void)state;
    nn_conv_shape s = alexnet_conv1();
    s.batch = P2(32);
    s.out_channels = P2(32);
    s.out_size[0] = s.out_size[1] = 1;
    s.in_channels = 1;
    s.kernel[0] = s.kernel[1] = 1;
    s.in_size[0] = s.in_size[1] = 1;
    nn_cost c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* MACs = 2^32 x 2^32 x 1 x 1 x 1 x 1 = 2^64: saturates, and FLOPs with it. */
    assert_int_equal(c.macs, UINT64_MAX);
    assert_int_equal(c.flops, UINT64_MAX);
    assert_true(c.overflow);
    /* x = 2^32 el x 4 = 2^34; w = 2^32 x 1 el x 4 = 2^34; read = 2^35.
     * y = 2^32 x 2^32 = 2^64 el: overflows, written saturates. */
    assert_int_equal(c.bytes_read, P2(35));
    assert_int_equal(c.bytes_written, UINT64_MAX);

    /* An empty batch costs nothing, however large the rest:
     * 0 x 2^32 x ... = 0, and no overflow is reported. */
    s.batch = 0;
    s.out_channels = 64;
    s.out_size[0] = s.out_size[1] = P2(31);
    c = nn_conv_cost(&s, NN_CONV_FORWARD, false);
    /* w = 64 x 1 x 1 x 1 = 64 el x 4 = 256 bytes is all that remains. */
    ASSERT_COST(c, 0, 0, 256, 0, false, false);
}

/* -------------------------------------------------------------------- GEMM */

static nn_gemm_shape gemm_f32(uint64_t m, uint64_t n, uint64_t k)
{
    nn_gemm_shape s = {
        .m = m, .n = n, .k = k, .batch = 1,
        .a_matrices = 1, .b_matrices = 1, .c_matrices = 1, .d_matrices = 1,
        .a_dtype = NN_DTYPE_F32, .b_dtype = NN_DTYPE_F32,
        .c_dtype = NN_DTYPE_F32, .d_dtype = NN_DTYPE_F32,
        .complex_math = false,
    };
    return s;
}

/*
 * m=512, n=1024, k=256, f32:
 * MACs = 2^9 x 2^10 x 2^8 = 2^27 = 134217728; FLOPs = 2^28 = 268435456.
 * A = 512 x 256 x 4 = 524288; B = 256 x 1024 x 4 = 1048576; read = 1572864.
 * D = 512 x 1024 x 4 = 2097152 written.
 */
static void test_gemm_plain(void **state)
{
    (void)state;
    nn_gemm_shape s = gemm_f32(512, 1024, 256);
    ASSERT_COST(nn_gemm_cost(&s, false), 134217728, 268435456, 1572864, 2097152, false,
                false);
    /* beta != 0: C (512 x 1024 x 4 = 2097152) is read too: 1572864 + 2097152 = 3670016. */
    ASSERT_COST(nn_gemm_cost(&s, true), 134217728, 268435456, 3670016, 2097152, false,
                false);
}

/*
 * Transposes change the layout only. The same product computed as
 * Dᵀ = Bᵀ·Aᵀ swaps m with n and A with B; its numbers are the plain case's:
 * MACs = 1024 x 512 x 256 = 2^27; read = B' + A' = 256 x 512 x 4 + 1024 x 256 x 4
 * = 524288 + 1048576 = 1572864; D' = 1024 x 512 x 4 = 2097152.
 */
static void test_gemm_transposed(void **state)
{
    (void)state;
    nn_gemm_shape t = gemm_f32(1024, 512, 256);
    ASSERT_COST(nn_gemm_cost(&t, false), 134217728, 268435456, 1572864, 2097152, false,
                false);
}

/*
 * Strided batched, batch=8, m=n=64, k=32, f16, with A broadcast (batch stride 0,
 * a_matrices=1): MACs = 2^6 x 2^6 x 2^5 x 2^3 = 2^20 = 1048576.
 * A = 1 x 64 x 32 x 2 = 4096; B = 8 x 32 x 64 x 2 = 32768; read = 36864.
 * D = 8 x 64 x 64 x 2 = 65536 written.
 */
static void test_gemm_strided_batched_broadcast(void **state)
{
    (void)state;
    nn_gemm_shape s = {
        .m = 64, .n = 64, .k = 32, .batch = 8,
        .a_matrices = 1, .b_matrices = 8, .c_matrices = 1, .d_matrices = 8,
        .a_dtype = NN_DTYPE_F16, .b_dtype = NN_DTYPE_F16,
        .c_dtype = NN_DTYPE_F16, .d_dtype = NN_DTYPE_F16,
    };
    ASSERT_COST(nn_gemm_cost(&s, false), 1048576, 2097152, 36864, 65536, false, false);
    /* Accumulating from one broadcast C: + 1 x 64 x 64 x 2 = 8192 -> 45056. */
    ASSERT_COST(nn_gemm_cost(&s, true), 1048576, 2097152, 45056, 65536, false, false);
}

/*
 * Complex f32 (c32f, 8 bytes per element), m=n=k=16:
 * complex MACs = 16^3 = 4096; real MACs = 4 x 4096 = 16384;
 * FLOPs = 2 x 16384 = 32768 = 8 x 4096 (8 FLOPs per complex MAC).
 * A = B = D = 256 el x 8 = 2048 bytes; read = 4096.
 */
static void test_gemm_complex(void **state)
{
    (void)state;
    nn_gemm_shape s = gemm_f32(16, 16, 16);
    s.a_dtype = s.b_dtype = s.c_dtype = s.d_dtype = NN_DTYPE_C32F;
    s.complex_math = true;
    ASSERT_COST(nn_gemm_cost(&s, false), 16384, 32768, 4096, 2048, false, false);
    /* Complex double (16 bytes): bytes double, MACs do not. */
    s.a_dtype = s.b_dtype = s.c_dtype = s.d_dtype = NN_DTYPE_C64F;
    ASSERT_COST(nn_gemm_cost(&s, false), 16384, 32768, 8192, 4096, false, false);
}

/*
 * Narrow types, m=128, n=256, k=64, accumulate:
 * MACs = 2^7 x 2^8 x 2^6 = 2^21 = 2097152.
 * A fp8e4m3 = 128 x 64 x 1 = 8192; B fp8e5m2 = 64 x 256 x 1 = 16384;
 * C bf16 = 128 x 256 x 2 = 65536; read = 8192 + 16384 + 65536 = 90112.
 * D f16 = 128 x 256 x 2 = 65536.
 */
static void test_gemm_narrow_types(void **state)
{
    (void)state;
    nn_gemm_shape s = gemm_f32(128, 256, 64);
    s.a_dtype = NN_DTYPE_FP8_E4M3;
    s.b_dtype = NN_DTYPE_FP8_E5M2;
    s.c_dtype = NN_DTYPE_BF16;
    s.d_dtype = NN_DTYPE_F16;
    ASSERT_COST(nn_gemm_cost(&s, true), 2097152, 4194304, 90112, 65536, false, false);

    /* FP4 A, 3 x 3: 9 x 4 bits = 36 bits = 4.5 -> 5 bytes; B fp4 3 x 1: 12 bits ->
     * 2 bytes; read = 7. D f16 3 x 1 x 2 = 6. MACs = 3 x 1 x 3 = 9. */
    nn_gemm_shape f = gemm_f32(3, 1, 3);
    f.a_dtype = f.b_dtype = NN_DTYPE_FP4_E2M1;
    f.d_dtype = NN_DTYPE_F16;
    ASSERT_COST(nn_gemm_cost(&f, false), 9, 18, 7, 6, false, false);
}

static void test_gemm_unknown_dtype(void **state)
{
    (void)state;
    nn_gemm_shape s = gemm_f32(512, 1024, 256);
    s.b_dtype = NN_DTYPE_UNKNOWN;
    /* B counts 0 bytes: read = A = 524288 only, flagged as a lower bound. */
    ASSERT_COST(nn_gemm_cost(&s, false), 134217728, 268435456, 524288, 2097152, false,
                true);
    ASSERT_COST(nn_gemm_cost(NULL, false), 0, 0, 0, 0, false, true);
}

static void test_gemm_overflow(void **state)
{
    (void)state;
    /* m = n = k = 2^22: MACs = 2^66 overflows; FLOPs saturate with it.
     * Bytes still fit: A = B = 2^44 el x 4 = 2^46, read = 2^47; D = 2^46. */
    nn_gemm_shape s = gemm_f32(P2(22), P2(22), P2(22));
    ASSERT_COST(nn_gemm_cost(&s, false), UINT64_MAX, UINT64_MAX, P2(47), P2(46), true,
                false);

    /* m = n = k = 2^21: MACs = 2^63 = 9223372036854775808 fits; FLOPs = 2^64 does
     * not. A = B = D = 2^42 el x 4 = 2^44; read = 2^45. */
    s = gemm_f32(P2(21), P2(21), P2(21));
    ASSERT_COST(nn_gemm_cost(&s, false), UINT64_C(9223372036854775808), UINT64_MAX, P2(45),
                P2(44), true, false);

    /* Complex: 2^20 x 2^20 x 2^21 = 2^61 complex MACs = 4 x 2^61 = 2^63 real MACs:
     * fits; FLOPs 2^64 overflow. Bytes: c32f A = 2^20 x 2^21 x 8 = 2^44,
     * B = 2^21 x 2^20 x 8 = 2^44, read = 2^45; D = 2^40 x 8 = 2^43. */
    s = gemm_f32(P2(20), P2(20), P2(21));
    s.complex_math = true;
    s.a_dtype = s.b_dtype = s.c_dtype = s.d_dtype = NN_DTYPE_C32F;
    ASSERT_COST(nn_gemm_cost(&s, false), P2(63), UINT64_MAX, P2(45), P2(43), true, false);

    /* Bytes overflow on their own: a_matrices = 2^32 of 2^16 x 2^16 fp4 elements =
     * 2^64 elements. Packed at 4 bits that would be 2^63 bytes of a saturated
     * count, so the count's overflow must saturate the bytes as well.
     * MACs = 2^16 x 1 x 2^16 x 1 = 2^32 fit; B = 2^16 x 1 x 4 = 2^18 bytes. */
    s = gemm_f32(P2(16), 1, P2(16));
    s.a_matrices = P2(32);
    s.a_dtype = NN_DTYPE_FP4_E2M1;
    nn_cost c = nn_gemm_cost(&s, false);
    assert_int_equal(c.macs, P2(32));
    assert_int_equal(c.bytes_read, UINT64_MAX); /* UINT64_MAX + 2^18 saturates */
    assert_int_equal(c.bytes_written, P2(18)); /* D = 2^16 x 1 x 4 */
    assert_true(c.overflow);

    /* Empty batch: 2^30 x 2^30 x 2^30 x 0 = 0, no overflow even though the first
     * three overflow. With no matrices either, everything is 0. */
    s = gemm_f32(P2(30), P2(30), P2(30));
    s.batch = s.a_matrices = s.b_matrices = s.c_matrices = s.d_matrices = 0;
    ASSERT_COST(nn_gemm_cost(&s, true), 0, 0, 0, 0, false, false);
}

/* -------------------------------------------------------------- elementwise */

static void test_activation_constants(void **state)
{
    (void)state;
    /* The per-element counts documented in counters.h. */
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_IDENTITY), 0);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_RELU), 1);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_CLIPPED_RELU), 2);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_SIGMOID), 4);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_TANH), 1);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_ELU), 3);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_SWISH), 6);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_GELU), 5);
    assert_int_equal(nn_activation_flops_per_element(NN_ACT_GELU_TANH), 9);
    assert_int_equal(nn_activation_flops_per_element((nn_activation)99), 0);

    assert_string_equal(nn_activation_name(NN_ACT_IDENTITY), "identity");
    assert_string_equal(nn_activation_name(NN_ACT_RELU), "relu");
    assert_string_equal(nn_activation_name(NN_ACT_CLIPPED_RELU), "clipped_relu");
    assert_string_equal(nn_activation_name(NN_ACT_SIGMOID), "sigmoid");
    assert_string_equal(nn_activation_name(NN_ACT_TANH), "tanh");
    assert_string_equal(nn_activation_name(NN_ACT_ELU), "elu");
    assert_string_equal(nn_activation_name(NN_ACT_SWISH), "swish");
    assert_string_equal(nn_activation_name(NN_ACT_GELU), "gelu");
    assert_string_equal(nn_activation_name(NN_ACT_GELU_TANH), "gelu_tanh");
    assert_string_equal(nn_activation_name((nn_activation)99), "unknown");
}

static void test_activation_cost(void **state)
{
    (void)state;
    /* ReLU on 1000 f32: FLOPs 1000 x 1; read 1000 x 4 = 4000; written 4000. */
    ASSERT_COST(nn_activation_cost(NN_ACT_RELU, 1000, NN_DTYPE_F32, NN_DTYPE_F32, false), 0,
                1000, 4000, 4000, false, false);
    /* Accumulating also reads y: 4000 + 4000 = 8000. */
    ASSERT_COST(nn_activation_cost(NN_ACT_RELU, 1000, NN_DTYPE_F32, NN_DTYPE_F32, true), 0,
                1000, 8000, 4000, false, false);
    /* GELU-tanh f16 -> f32 on 10: FLOPs 10 x 9 = 90; read 10 x 2 = 20; written
     * 10 x 4 = 40. */
    ASSERT_COST(nn_activation_cost(NN_ACT_GELU_TANH, 10, NN_DTYPE_F16, NN_DTYPE_F32, false),
                0, 90, 20, 40, false, false);
    /* Sigmoid on 3 elements: 3 x 4 = 12 FLOPs; unknown x type: read 0, flagged;
     * written 3 x 2 = 6 (bf16). */
    ASSERT_COST(nn_activation_cost(NN_ACT_SIGMOID, 3, NN_DTYPE_UNKNOWN, NN_DTYPE_BF16, false),
                0, 12, 0, 6, false, true);
    /* 2^62 elements of GELU-tanh: 9 x 2^62 > 2^64 overflows; u8 bytes fit:
     * read = written = 2^62. */
    ASSERT_COST(nn_activation_cost(NN_ACT_GELU_TANH, P2(62), NN_DTYPE_U8, NN_DTYPE_U8, false),
                0, UINT64_MAX, P2(62), P2(62), true, false);
}

/*
 * Bias add (cudnnAddTensor): A = 1 x 64 x 1 x 1 broadcast over C = 2 x 64 x 56 x 56
 * = 128 x 3136 = 401408 elements, f32. FLOPs = 401408 (one add per element of C).
 * A read once: 64 x 4 = 256 bytes. C: 401408 x 4 = 1605632 bytes.
 */
static void test_add_tensor_cost(void **state)
{
    (void)state;
    /* beta = 1 (the usual bias add): reads A and C: 256 + 1605632 = 1605888. */
    ASSERT_COST(nn_add_tensor_cost(64, NN_DTYPE_F32, 401408, NN_DTYPE_F32, true), 0, 401408,
                1605888, 1605632, false, false);
    /* beta = 0: only A is read. */
    ASSERT_COST(nn_add_tensor_cost(64, NN_DTYPE_F32, 401408, NN_DTYPE_F32, false), 0, 401408,
                256, 1605632, false, false);
    /* Mixed: A f16 of 64 (128 bytes) into C f32 of 64 (256 bytes), accumulating:
     * read 128 + 256 = 384. */
    ASSERT_COST(nn_add_tensor_cost(64, NN_DTYPE_F16, 64, NN_DTYPE_F32, true), 0, 64, 384, 256,
                false, false);
}

/*
 * AlexNet pool1: 3x3 window (9 elements), 64 x 55 x 55 = 193600 in ->
 * 64 x 27 x 27 = 46656 out, f32: read 193600 x 4 = 774400, written 46656 x 4 = 186624.
 */
static void test_pool_cost(void **state)
{
    (void)state;
    /* Max: (9 - 1) x 46656 = 373248 comparisons. */
    ASSERT_COST(nn_pool_cost(NN_POOL_MAX, 9, 193600, 46656, NN_DTYPE_F32, false), 0, 373248,
                774400, 186624, false, false);
    /* Average: 8 adds + 1 divide = 9 x 46656 = 419904. */
    ASSERT_COST(nn_pool_cost(NN_POOL_AVERAGE, 9, 193600, 46656, NN_DTYPE_F32, false), 0,
                419904, 774400, 186624, false, false);
    /* Accumulate reads the output too: 774400 + 186624 = 961024. */
    ASSERT_COST(nn_pool_cost(NN_POOL_MAX, 9, 193600, 46656, NN_DTYPE_F32, true), 0, 373248,
                961024, 186624, false, false);
    /* 1-element window: max compares nothing (0); average divides once (1 x 10 = 10).
     * f16: read = written = 10 x 2 = 20. */
    ASSERT_COST(nn_pool_cost(NN_POOL_MAX, 1, 10, 10, NN_DTYPE_F16, false), 0, 0, 20, 20,
                false, false);
    ASSERT_COST(nn_pool_cost(NN_POOL_AVERAGE, 1, 10, 10, NN_DTYPE_F16, false), 0, 10, 20, 20,
                false, false);
    /* A degenerate 0 window counts no work instead of wrapping 0 - 1. */
    ASSERT_COST(nn_pool_cost(NN_POOL_MAX, 0, 10, 10, NN_DTYPE_F16, false), 0, 0, 20, 20,
                false, false);
}

static void test_epilogue(void **state)
{
    (void)state;
    /* Conv-bias-activation with a residual, 1000 output elements, on top of
     * macs 100, flops 200, read 1000, written 500:
     *   bias:     +1000 FLOPs (1 x 1000), reads 64 f32 = 256 bytes
     *   residual: +2000 FLOPs (2 x 1000), reads 1000 f16 = 2000 bytes
     *   relu:     +1000 FLOPs (1 x 1000)
     *   aux:      writes 1000 bf16 = 2000 bytes
     * flops = 200 + 1000 + 2000 + 1000 = 4200; read = 1000 + 256 + 2000 = 3256;
     * written = 500 + 2000 = 2500; MACs unchanged (no MACs from elementwise work). */
    nn_cost c = {100, 200, 1000, 500, false, false};
    const nn_epilogue all = {
        .bias = true, .bias_elements = 64, .bias_dtype = NN_DTYPE_F32,
        .residual = true, .residual_dtype = NN_DTYPE_F16,
        .activation = NN_ACT_RELU,
        .aux_output = true, .aux_dtype = NN_DTYPE_BF16,
    };
    nn_epilogue_add_cost(&c, &all, 1000);
    ASSERT_COST(c, 100, 4200, 3256, 2500, false, false);

    /* GELU_AUX on 10 outputs: +10 x 5 = 50 FLOPs; aux f16 written 10 x 2 = 20. */
    nn_cost g = {0};
    const nn_epilogue gelu_aux = {
        .activation = NN_ACT_GELU, .aux_output = true, .aux_dtype = NN_DTYPE_F16,
    };
    nn_epilogue_add_cost(&g, &gelu_aux, 10);
    ASSERT_COST(g, 0, 50, 0, 20, false, false);

    /* Nothing fused: no change. */
    nn_cost n = {1, 2, 3, 4, false, false};
    const nn_epilogue none = {.activation = NN_ACT_IDENTITY};
    nn_epilogue_add_cost(&n, &none, 1000);
    ASSERT_COST(n, 1, 2, 3, 4, false, false);

    /* Unknown bias type: +7 FLOPs, 0 bytes, flagged. */
    nn_cost u = {0};
    const nn_epilogue bias_unknown = {.bias = true, .bias_elements = 7};
    nn_epilogue_add_cost(&u, &bias_unknown, 7);
    ASSERT_COST(u, 0, 7, 0, 0, false, true);

    /* (2^64 - 6) + 10 x 1 (relu) = 2^64 + 4: saturates. */
    nn_cost s = {0, UINT64_MAX - 5, 0, 0, false, false};
    const nn_epilogue relu = {.activation = NN_ACT_RELU};
    nn_epilogue_add_cost(&s, &relu, 10);
    ASSERT_COST(s, 0, UINT64_MAX, 0, 0, true, false);

    nn_epilogue_add_cost(NULL, &relu, 10); /* tolerated, nothing to add to */
}

/* ------------------------------------------- normalisation and the rest of cuDNN */

static void test_bn_inference(void **state)
{
    (void)state;
    /* ResNet BN1: x 1x64x56x56 = 200704 f32, 64 channels, 4 per-channel tensors read
     * (scale, shift, mean, variance). FLOPs 4 x 200704 = 802816. Read 200704 x 4 +
     * 4 x 64 x 4 = 802816 + 1024 = 803840; written 200704 x 4 = 802816. */
    nn_bn_shape s = {.phase = NN_BN_INFERENCE, .elements = 200704, .channels = 64,
                     .x_dtype = NN_DTYPE_F32, .y_dtype = NN_DTYPE_F32,
                     .param_dtype = NN_DTYPE_F32, .channel_tensors_read = 4};
    ASSERT_COST(nn_bn_cost(&s), 0, 802816, 803840, 802816, false, false);
    /* f16 data, f32 statistics, accumulating: x 2 x 200704 = 401408, y read too
     * 401408, stats 1024: read 803840; written 401408. */
    s.x_dtype = s.y_dtype = NN_DTYPE_F16;
    s.accumulate = true;
    ASSERT_COST(nn_bn_cost(&s), 0, 802816, 803840, 401408, false, false);
    assert_int_equal(nn_bn_flops_per_element(NN_BN_INFERENCE), 4);
}

static void test_bn_training_and_backward(void **state)
{
    (void)state;
    /* Training, 1000 f32 elements, 10 channels: scale and shift read, running mean
     * and variance updated (read and written), saved mean and inverse variance
     * written. FLOPs 8 x 1000 = 8000. Read 4000 + 4 x 10 x 4 = 4160; written 4000
     * + 4 x 10 x 4 = 4160. */
    nn_bn_shape s = {.phase = NN_BN_TRAINING, .elements = 1000, .channels = 10,
                     .x_dtype = NN_DTYPE_F32, .y_dtype = NN_DTYPE_F32,
                     .param_dtype = NN_DTYPE_F32, .channel_tensors_read = 2,
                     .channel_tensors_updated = 2, .channel_tensors_written = 2};
    ASSERT_COST(nn_bn_cost(&s), 0, 8000, 4160, 4160, false, false);
    /* Ex with z and ReLU: 8 + 1 + 1 = 10 per element = 10000; z read 4000 more. */
    s.residual = true;
    s.activation = NN_ACT_RELU;
    ASSERT_COST(nn_bn_cost(&s), 0, 10000, 8160, 4160, false, false);
    /* Backward: x and dy read (8000), scale and saved mean, inverse variance read
     * (3 x 40 = 120): 8120; dx written 4000 + dscale, dshift 80 = 4080. 9 x 1000. */
    nn_bn_shape b = {.phase = NN_BN_BACKWARD, .elements = 1000, .channels = 10,
                     .x_dtype = NN_DTYPE_F32, .y_dtype = NN_DTYPE_F32,
                     .param_dtype = NN_DTYPE_F32, .channel_tensors_read = 3,
                     .channel_tensors_written = 2};
    ASSERT_COST(nn_bn_cost(&b), 0, 9000, 8120, 4080, false, false);
    /* Backward Ex with ReLU and residual: ReLU's gradient 1 + 1 = 2 more per element
     * (11000), y read (4000 more: 12120), dz written (4000 more: 8080). */
    b.residual = true;
    b.activation = NN_ACT_RELU;
    ASSERT_COST(nn_bn_cost(&b), 0, 11000, 12120, 8080, false, false);
    assert_true(nn_bn_cost(NULL).unknown_dtype);
}

static void test_softmax_lrn(void **state)
{
    (void)state;
    /* Softmax over 1000 f32 logits: accurate 5 x 1000, fast 3 x 1000, log 5 x 1000;
     * read 4000, written 4000. */
    ASSERT_COST(nn_softmax_cost(NN_SOFTMAX_ACCURATE, false, 1000, NN_DTYPE_F32, false), 0, 5000,
                4000, 4000, false, false);
    ASSERT_COST(nn_softmax_cost(NN_SOFTMAX_FAST, false, 1000, NN_DTYPE_F32, false), 0, 3000,
                4000, 4000, false, false);
    ASSERT_COST(nn_softmax_cost(NN_SOFTMAX_LOG, false, 1000, NN_DTYPE_F32, false), 0, 5000, 4000,
                4000, false, false);
    /* Backward: 4 x 1000; y and dy read (8000), dx written 4000; accumulating, dx
     * read too: 12000. */
    ASSERT_COST(nn_softmax_cost(NN_SOFTMAX_ACCURATE, true, 1000, NN_DTYPE_F32, true), 0, 4000,
                12000, 4000, false, false);
    /* AlexNet's LRN (n = 5) on 64x55x55 = 193600 elements: 2 x 5 + 3 = 13 per
     * element = 2516800; read = written = 774400. */
    ASSERT_COST(nn_lrn_cost(5, 193600, NN_DTYPE_F32, false), 0, 2516800, 774400, 774400, false,
                false);
}

static void test_op_tensor_scale_transform_dropout(void **state)
{
    (void)state;
    /* Add of two 100-element f32 tensors into C: 100 FLOPs; reads 400 + 400. */
    ASSERT_COST(nn_op_tensor_cost(false, 100, NN_DTYPE_F32, 100, NN_DTYPE_F32, 100, NN_DTYPE_F32,
                                  false),
                0, 100, 800, 400, false, false);
    /* B a 10-element broadcast, C accumulated: reads 400 + 40 + 400 = 840. */
    ASSERT_COST(nn_op_tensor_cost(false, 100, NN_DTYPE_F32, 10, NN_DTYPE_F32, 100, NN_DTYPE_F32,
                                  true),
                0, 100, 840, 400, false, false);
    /* sqrt is unary: B not read, 400 read. */
    ASSERT_COST(nn_op_tensor_cost(true, 100, NN_DTYPE_F32, 100, NN_DTYPE_F32, 100, NN_DTYPE_F32,
                                  false),
                0, 100, 400, 400, false, false);
    /* Scale 50 f16 in place: 50 FLOPs, 100 bytes read and written. */
    ASSERT_COST(nn_scale_tensor_cost(50, NN_DTYPE_F16), 0, 50, 100, 100, false, false);
    /* Transform 50 f32 -> f16: no FLOPs, 200 read, 100 written. */
    ASSERT_COST(nn_transform_cost(50, NN_DTYPE_F32, NN_DTYPE_F16, false), 0, 0, 200, 100, false,
                false);
    /* Dropout forward on 100 f32, a 100-byte mask: 2 x 100 FLOPs, read 400, written
     * 400 + 100; backward: 100 FLOPs, read 400 + 100, written 400. */
    ASSERT_COST(nn_dropout_cost(false, 100, NN_DTYPE_F32, 100), 0, 200, 400, 500, false, false);
    ASSERT_COST(nn_dropout_cost(true, 100, NN_DTYPE_F32, 100), 0, 100, 500, 400, false, false);
}

static void test_backward_activation_pooling(void **state)
{
    (void)state;
    /* Sigmoid backward on 10 f32: (4 + 1) x 10 = 50 FLOPs; reads y, dy, x = 120;
     * writes dx 40. */
    ASSERT_COST(nn_activation_backward_cost(NN_ACT_SIGMOID, 10, NN_DTYPE_F32, false), 0, 50, 120,
                40, false, false);
    /* Max pool 3x3 backward, AlexNet pool1: 55x55x64 = 193600 in, 27x27x64 = 46656
     * out. FLOPs as forward: 8 x 46656 = 373248. Reads y, dy (2 x 186624) + x
     * 774400 = 1147648; writes dx 774400. */
    ASSERT_COST(nn_pool_backward_cost(NN_POOL_MAX, 9, 193600, 46656, NN_DTYPE_F32, false), 0,
                373248, 1147648, 774400, false, false);
}

/* --------------------------------------------------- BLAS level 1 and 2, geam */

static void test_gemv(void **state)
{
    (void)state;
    /* A 4096x9216 f32 (AlexNet's fc6 at batch 1), x 9216, y 4096: 37748736 MACs,
     * 75497472 FLOPs. Read A 150994944 + x 36864 = 151031808; written 16384. */
    nn_gemv_shape s = {.rows = 4096, .cols = 9216, .batch = 1, .a_matrices = 1,
                       .a_dtype = NN_DTYPE_F32, .x_dtype = NN_DTYPE_F32,
                       .y_dtype = NN_DTYPE_F32};
    ASSERT_COST(nn_gemv_cost(&s, false), 37748736, 75497472, 151031808, 16384, false, false);
    /* Transposed: x has 4096 elements (16384 bytes), y 9216 (36864); accumulating
     * reads y: 150994944 + 16384 + 36864 = 151048192. */
    s.transposed = true;
    ASSERT_COST(nn_gemv_cost(&s, true), 37748736, 75497472, 151048192, 36864, false, false);
    /* Strided batch of 3, one broadcast 2x3 complex float A (8-byte elements):
     * MACs 2 x 3 x 3 x 4 = 72, FLOPs 144; read A 48 + x 3 x 3 x 8 = 72 -> 120;
     * written y 3 x 2 x 8 = 48. */
    nn_gemv_shape c = {.rows = 2, .cols = 3, .batch = 3, .a_matrices = 1,
                       .a_dtype = NN_DTYPE_C32F, .x_dtype = NN_DTYPE_C32F,
                       .y_dtype = NN_DTYPE_C32F, .complex_math = true};
    ASSERT_COST(nn_gemv_cost(&c, false), 72, 144, 120, 48, false, false);
}

static void test_dot_geam(void **state)
{
    (void)state;
    /* dot of 1000 doubles: 1000 MACs, 2000 FLOPs, reads 16000, writes 8. */
    ASSERT_COST(nn_dot_cost(1000, NN_DTYPE_F64, NN_DTYPE_F64, NN_DTYPE_F64, false), 1000, 2000,
                16000, 8, false, false);
    /* complex float: 4 x 10 = 40 MACs; reads 2 x 80, writes 8. */
    ASSERT_COST(nn_dot_cost(10, NN_DTYPE_C32F, NN_DTYPE_C32F, NN_DTYPE_C32F, true), 40, 80, 160,
                8, false, false);
    /* geam 30x40 f32 with B: 1200 adds; reads 2 x 4800, writes 4800. */
    ASSERT_COST(nn_geam_cost(30, 40, true, NN_DTYPE_F32, false), 0, 1200, 9600, 4800, false,
                false);
    /* beta = 0 (a transpose): no FLOPs, A read only. */
    ASSERT_COST(nn_geam_cost(30, 40, false, NN_DTYPE_F32, false), 0, 0, 4800, 4800, false, false);
    /* complex double with B: 2 real adds x 1200; 16-byte elements. */
    ASSERT_COST(nn_geam_cost(30, 40, true, NN_DTYPE_C64F, true), 0, 2400, 38400, 19200, false,
                false);
}

static void test_rnn(void **state)
{
    (void)state;
    assert_int_equal(nn_rnn_gates(NN_RNN_LSTM), 4);
    assert_int_equal(nn_rnn_gates(NN_RNN_GRU), 3);
    assert_int_equal(nn_rnn_gates(NN_RNN_TANH), 1);
    /* One tanh RNN layer, input 10, hidden 20, no bias, 5 steps, batch 1, f32.
     * MACs per step 1 x 20 x (10 + 20) = 600; x 5 = 3000. Params 600. Gate math
     * 2 per unit: 5 x 20 x 2 = 200; FLOPs 6000 + 200 = 6200.
     * Bytes: x 5 x 10 = 50, weights 600, h 20 read -> 670 x 4 = 2680; y 5 x 20 =
     * 100 and h 20 written -> 120 x 4 = 480. */
    nn_rnn_shape s = {.cell = NN_RNN_TANH, .input_size = 10, .hidden_size = 20, .proj_size = 20,
                      .layers = 1, .directions = 1, .steps = 5, .batch = 1,
                      .dtype = NN_DTYPE_F32};
    bool overflow = false;
    assert_int_equal(nn_rnn_params(&s, &overflow), 600);
    ASSERT_COST(nn_rnn_cost(&s, NN_RNN_FORWARD), 3000, 6200, 2680, 480, false, false);
    /* Backward weights: same MACs, no gate math; reads x 50, h 20, y 100 = 170
     * elements x 4 = 680 bytes, writes the 600 weights' gradients (2400 bytes). */
    ASSERT_COST(nn_rnn_cost(&s, NN_RNN_BACKWARD_WEIGHTS), 3000, 6000, 680, 2400, false, false);
    /* LSTM with projection 8 (hidden 16, input 4), 2 layers, 2 directions, double
     * bias. Layer 0 per direction: 4 x 16 x (4 + 8) = 768 + projection 16 x 8 =
     * 128 -> 896; layer 1 inputs 2 x 8 = 16: 4 x 16 x (16 + 8) = 1536 + 128 = 1664.
     * Per step: 2 directions x (896 + 1664) = 5120. Params 5120 + biases 2 layers x
     * 2 directions x 2 x 64 = 512 -> 5632. */
    nn_rnn_shape l = {.cell = NN_RNN_LSTM, .input_size = 4, .hidden_size = 16, .proj_size = 8,
                      .layers = 2, .directions = 2, .steps = 3, .batch = 1, .bias_vectors = 2,
                      .dtype = NN_DTYPE_F32};
    assert_int_equal(nn_rnn_params(&l, &overflow), 5632);
    /* MACs 3 x 5120 = 15360; gate math 3 x 2 x 2 x 16 x (22 + 8) = 5760. */
    nn_cost c = nn_rnn_cost(&l, NN_RNN_FORWARD);
    assert_int_equal(c.macs, 15360);
    assert_int_equal(c.flops, 2 * 15360 + 5760);
    /* skip input: layer 0 multiplies no input. GRU, hidden 8, 1 layer, 1 direction:
     * 3 x 8 x (0 + 8) = 192 per step; 1 bias vector: 24 more params. */
    nn_rnn_shape g = {.cell = NN_RNN_GRU, .input_size = 8, .hidden_size = 8, .proj_size = 8,
                      .layers = 1, .directions = 1, .steps = 1, .batch = 1, .bias_vectors = 1,
                      .skip_input = true, .dtype = NN_DTYPE_F32};
    assert_int_equal(nn_rnn_params(&g, &overflow), 216);
    assert_int_equal(nn_rnn_cost(&g, NN_RNN_FORWARD).macs, 192);
    assert_false(overflow);
    assert_true(nn_rnn_cost(NULL, NN_RNN_FORWARD).unknown_dtype);
}

static void test_attention(void **state)
{
    (void)state;
    /* 2 heads of 4 (projections 4), embedding 8, output projection 8, no biases;
     * one sequence of 3 tokens, full attention: 9 scores per head.
     * Projections: q 3 x 2 x 8 x 4 = 192, k 192, v 192, o 3 x 2 x 4 x 8 = 192 ->
     * 768. Q K^T + P V: 9 x 2 x (4 + 4) = 144. MACs 912. Softmax 5 x 9 x 2 = 90:
     * FLOPs 1824 + 90 = 1914. Params 2 x (32 + 32 + 32) + 8 x 8 = 256.
     * Bytes (f32): read q, k, v 3 x 8 each = 72, weights 256 -> 328 x 4 = 1312;
     * written 3 x 8 x 4 = 96. */
    nn_attn_shape s = {.heads = 2, .q_size = 8, .k_size = 8, .v_size = 8, .q_proj = 4,
                       .k_proj = 4, .v_proj = 4, .o_proj = 8, .q_tokens = 3, .k_tokens = 3,
                       .scores = 9, .dtype = NN_DTYPE_F32};
    bool overflow = false;
    assert_int_equal(nn_attn_params(&s, &overflow), 256);
    ASSERT_COST(nn_attn_cost(&s, NN_ATTN_FORWARD), 912, 1914, 1312, 96, false, false);
    /* Biases: 2 x 12 + 8 = 32 more params; adds 3 x 2 x 4 (q) + 3 x 2 x 8 (k, v) +
     * 3 x 8 (o) = 96 FLOPs; a residual 24 FLOPs and 96 bytes read. Weights 288. */
    s.proj_biases = true;
    s.residual = true;
    assert_int_equal(nn_attn_params(&s, &overflow), 288);
    ASSERT_COST(nn_attn_cost(&s, NN_ATTN_FORWARD), 912, 1914 + 96 + 24, (72 + 288 + 24) * 4, 96,
                false, false);
    /* Backward data: 768 + 2 x 144 = 1056 MACs; FLOPs 2112 + 4 x 18 = 2184. Reads
     * q, k, v, weights and dout (24): (72 + 288 + 24) x 4; writes dq, dk, dv 288. */
    ASSERT_COST(nn_attn_cost(&s, NN_ATTN_BACKWARD_DATA), 1056, 2184, (72 + 288 + 24) * 4, 288,
                false, false);
    /* Backward weights: 768 MACs, 1536 + 96 bias-gradient FLOPs; writes 288 x 4. */
    ASSERT_COST(nn_attn_cost(&s, NN_ATTN_BACKWARD_WEIGHTS), 768, 1632, (72 + 288 + 24) * 4, 1152,
                false, false);
    /* Without projections: each head works on the 8 inputs; no weights at all. */
    nn_attn_shape raw = {.heads = 1, .q_size = 8, .k_size = 8, .v_size = 8, .q_tokens = 3,
                         .k_tokens = 3, .scores = 9, .dtype = NN_DTYPE_F32};
    assert_int_equal(nn_attn_params(&raw, &overflow), 0);
    assert_int_equal(nn_attn_cost(&raw, NN_ATTN_FORWARD).macs, 9 * 16);
    assert_false(overflow);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dtype_bits),
        cmocka_unit_test(test_bit_mask_bytes),
        cmocka_unit_test(test_dtype_names_and_complex),
        cmocka_unit_test(test_checked_arithmetic),
        cmocka_unit_test(test_product_helper),
        cmocka_unit_test(test_bytes_of),
        cmocka_unit_test(test_cost_add),
        cmocka_unit_test(test_conv_alexnet_conv1_forward),
        cmocka_unit_test(test_conv_backward_same_macs_different_bytes),
        cmocka_unit_test(test_conv_accumulate),
        cmocka_unit_test(test_conv_grouped),
        cmocka_unit_test(test_conv_depthwise),
        cmocka_unit_test(test_conv_dilated),
        cmocka_unit_test(test_conv_strided),
        cmocka_unit_test(test_conv_3d),
        cmocka_unit_test(test_conv_1d_mixed_types),
        cmocka_unit_test(test_conv_invalid),
        cmocka_unit_test(test_conv_unknown_dtype),
        cmocka_unit_test(test_conv_overflow),
        cmocka_unit_test(test_gemm_plain),
        cmocka_unit_test(test_gemm_transposed),
        cmocka_unit_test(test_gemm_strided_batched_broadcast),
        cmocka_unit_test(test_gemm_complex),
        cmocka_unit_test(test_gemm_narrow_types),
        cmocka_unit_test(test_gemm_unknown_dtype),
        cmocka_unit_test(test_gemm_overflow),
        cmocka_unit_test(test_activation_constants),
        cmocka_unit_test(test_activation_cost),
        cmocka_unit_test(test_add_tensor_cost),
        cmocka_unit_test(test_pool_cost),
        cmocka_unit_test(test_epilogue),
        cmocka_unit_test(test_bn_inference),
        cmocka_unit_test(test_bn_training_and_backward),
        cmocka_unit_test(test_softmax_lrn),
        cmocka_unit_test(test_op_tensor_scale_transform_dropout),
        cmocka_unit_test(test_backward_activation_pooling),
        cmocka_unit_test(test_gemv),
        cmocka_unit_test(test_dot_geam),
        cmocka_unit_test(test_rnn),
        cmocka_unit_test(test_attention),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
