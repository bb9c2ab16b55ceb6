/*
 * dtype.c: element sizes and names, checked 64-bit arithmetic, and the cost
 * accumulation every other counters file builds on. Integers are exact or flagged:
 * a value that does not fit in 64 bits saturates at UINT64_MAX and sets `overflow`,
 * so a saturated total is never mistaken for a real one.
 */
#include "counters.h"

#include <stddef.h>

typedef struct dtype_info {
    unsigned bits; /* storage size: sub-byte types are packed, complex is two parts */
    const char *name;
    bool complex;
} dtype_info;

/* Indexed by nn_dtype; NN_DTYPE_UNKNOWN has size 0 so its bytes count as 0. */
static const dtype_info DTYPES[NN_DTYPE_COUNT_] = {
    [NN_DTYPE_UNKNOWN] = {0, "unknown", false},
    [NN_DTYPE_F64] = {64, "f64", false},
    [NN_DTYPE_F32] = {32, "f32", false},
    [NN_DTYPE_TF32] = {32, "tf32", false}, /* TF32 math on 32-bit storage */
    [NN_DTYPE_F16] = {16, "f16", false},
    [NN_DTYPE_BF16] = {16, "bf16", false},
    [NN_DTYPE_FP8_E4M3] = {8, "fp8e4m3", false},
    [NN_DTYPE_FP8_E5M2] = {8, "fp8e5m2", false},
    [NN_DTYPE_FP8_E8M0] = {8, "fp8e8m0", false},
    [NN_DTYPE_FP4_E2M1] = {4, "fp4e2m1", false},
    [NN_DTYPE_I64] = {64, "i64", false},
    [NN_DTYPE_I32] = {32, "i32", false},
    [NN_DTYPE_U32] = {32, "u32", false},
    [NN_DTYPE_I16] = {16, "i16", false},
    [NN_DTYPE_I8] = {8, "i8", false},
    [NN_DTYPE_U8] = {8, "u8", false},
    [NN_DTYPE_I4] = {4, "i4", false},
    [NN_DTYPE_U4] = {4, "u4", false},
    [NN_DTYPE_BOOL] = {8, "bool", false}, /* one byte per element, not packed */
    [NN_DTYPE_BIT] = {1, "bit", false},
    [NN_DTYPE_C16F] = {32, "c16f", true},
    [NN_DTYPE_C32F] = {64, "c32f", true},
    [NN_DTYPE_C64F] = {128, "c64f", true},
    [NN_DTYPE_C8I] = {16, "c8i", true},
    [NN_DTYPE_C32I] = {64, "c32i", true},
};

/* Out-of-range values (a corrupt or future enum) read as unknown, never index out. */
static const dtype_info *dtype_lookup(nn_dtype t)
{
    unsigned i = (unsigned)t;
    return &DTYPES[i < NN_DTYPE_COUNT_ ? i : NN_DTYPE_UNKNOWN];
}

unsigned nn_dtype_bits(nn_dtype t) { return dtype_lookup(t)->bits; }

const char *nn_dtype_name(nn_dtype t) { return dtype_lookup(t)->name; }

bool nn_dtype_is_complex(nn_dtype t) { return dtype_lookup(t)->complex; }

bool nn_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (__builtin_mul_overflow(a, b, out)) {
        *out = UINT64_MAX;
        return false;
    }
    return true;
}

bool nn_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    if (__builtin_add_overflow(a, b, out)) {
        *out = UINT64_MAX;
        return false;
    }
    return true;
}

void nn_accumulate_u64(uint64_t *acc, uint64_t v, bool *overflow)
{
    if (!nn_add_u64(*acc, v, acc))
        *overflow = true;
}

uint64_t nn_product_u64(const uint64_t *factors, unsigned n, bool *overflow)
{
    /* A zero factor first: otherwise an overflowed partial product would saturate
     * a result whose true value is 0. With every factor >= 1 the partial products
     * only grow, so the first overflow is final. */
    for (unsigned i = 0; i < n; i++)
        if (factors[i] == 0)
            return 0;
    uint64_t p = 1;
    for (unsigned i = 0; i < n; i++) {
        if (!nn_mul_u64(p, factors[i], &p)) {
            *overflow = true;
            return UINT64_MAX;
        }
    }
    return p;
}

uint64_t nn_bytes_of(uint64_t elements, nn_dtype t, bool *overflow)
{
    bool ignored = false;
    if (overflow == NULL)
        overflow = &ignored;
    uint64_t bits = nn_dtype_bits(t);
    if (bits == 0)
        return 0;
    /* ceil(elements * bits / 8) without forming elements * bits, which can
     * overflow although the byte count fits: whole groups of 8 elements take
     * exactly `bits` bytes, the remaining < 8 elements round up. */
    uint64_t groups_bytes;
    if (!nn_mul_u64(elements / 8, bits, &groups_bytes)) {
        *overflow = true;
        return UINT64_MAX;
    }
    uint64_t rest_bytes = ((elements % 8) * bits + 7) / 8;
    uint64_t total;
    if (!nn_add_u64(groups_bytes, rest_bytes, &total))
        *overflow = true;
    return total;
}

uint64_t nn_tensor_bytes(const uint64_t *dims, unsigned n, nn_dtype t, nn_cost *c)
{
    if (nn_dtype_bits(t) == 0) {
        c->unknown_dtype = true; /* bytes become a lower bound */
        return 0;
    }
    bool elements_overflow = false;
    uint64_t elements = nn_product_u64(dims, n, &elements_overflow);
    if (elements_overflow) {
        /* A saturated count of packed 4-bit elements would otherwise give a byte
         * count that fits (UINT64_MAX / 2) and hide the overflow. */
        c->overflow = true;
        return UINT64_MAX;
    }
    return nn_bytes_of(elements, t, &c->overflow);
}

void nn_cost_add(nn_cost *a, const nn_cost *b)
{
    nn_accumulate_u64(&a->macs, b->macs, &a->overflow);
    nn_accumulate_u64(&a->flops, b->flops, &a->overflow);
    nn_accumulate_u64(&a->bytes_read, b->bytes_read, &a->overflow);
    nn_accumulate_u64(&a->bytes_written, b->bytes_written, &a->overflow);
    a->overflow = a->overflow || b->overflow;
    a->unknown_dtype = a->unknown_dtype || b->unknown_dtype;
}

nn_cost nn_cost_times(const nn_cost *c, uint64_t runs)
{
    nn_cost r = *c;
    r.overflow = c->overflow || !nn_mul_u64(c->macs, runs, &r.macs) ||
                 !nn_mul_u64(c->flops, runs, &r.flops) ||
                 !nn_mul_u64(c->bytes_read, runs, &r.bytes_read) ||
                 !nn_mul_u64(c->bytes_written, runs, &r.bytes_written);
    return r;
}
