/*
 * lt_memo.c: a small per-thread memo of cublasLtMatmul's descriptor reads.
 *
 * Reading a matmul takes ~37 calls of cuBLASLt's attribute getters, most of the cost
 * nnspy adds to cublasLtMatmul. cuBLASLt's descriptors are "semi-opaque" structs of
 * fixed size (cublasLt.h: cublasLtMatrixLayoutOpaque_t, cublasLtMatmulDescOpaque_t)
 * that a program may also place in its own memory with the *Init functions, which
 * have no matching destroy: all of a descriptor's state lives in those bytes. So
 * descriptors with equal bytes read the same, and the memo is keyed by the bytes
 * themselves, never by address: a descriptor changed in place, or freed and its
 * memory reused, is read anew. tests/unit/test_lt_memo.c checks against the real
 * libcublasLt that each attribute nnspy reads changes those bytes.
 *
 * Per thread, so no lock; a few entries, so that a model's layers, which alternate
 * between shapes, still hit.
 */
#include "lt_memo.h"

#include <string.h>

#define MEMO_ENTRIES 8

typedef struct lt_key {
    const struct cublaslt_getters *getters; /* a copy of cuBLASLt reads its own bytes */
    bool d_is_c;
    cublasLtMatmulDescOpaque_t desc;
    cublasLtMatrixLayoutOpaque_t a, b, c, d;
} lt_key;

typedef struct lt_entry {
    bool used;
    bool readable; /* nn_read_lt_matmul's answer */
    lt_key key;
    nn_lt_matmul result;
} lt_entry;

static __thread lt_entry memo[MEMO_ENTRIES];
static __thread unsigned next_victim;

static void key_of(lt_key *k, const struct cublaslt_getters *g, cublasLtMatmulDesc_t desc,
                   cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                   cublasLtMatrixLayout_t d)
{
    /* Zeroed first: the struct's padding takes part in memcmp. */
    memset(k, 0, sizeof *k);
    k->getters = g;
    k->d_is_c = !d || d == c;
    k->desc = *desc;
    k->a = *a;
    k->b = *b;
    k->c = *c;
    if (!k->d_is_c) k->d = *d;
}

bool nn_read_lt_matmul_memo(const struct cublaslt_getters *g, cublasLtMatmulDesc_t desc,
                            cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                            cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d, nn_lt_matmul *out)
{
    if (!desc || !a || !b || !c) return nn_read_lt_matmul(g, desc, a, b, c, d, out);
    lt_key key;
    key_of(&key, g, desc, a, b, c, d);
    for (int i = 0; i < MEMO_ENTRIES; i++) {
        if (memo[i].used && !memcmp(&memo[i].key, &key, sizeof key)) {
            *out = memo[i].result;
            return memo[i].readable;
        }
    }
    bool readable = nn_read_lt_matmul(g, desc, a, b, c, d, out);
    lt_entry *e = &memo[next_victim++ % MEMO_ENTRIES];
    *e = (lt_entry){.used = true, .readable = readable, .key = key, .result = *out};
    return readable;
}
