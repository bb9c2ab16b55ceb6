/*
 * record.c: the run's state: totals, the operations kept for the per-operation
 * table, the parameter buffers (counted once by address) and the buffers written by
 * recorded operations (to tell activations from weights).
 *
 * One mutex guards it all. Memory is bounded: at most NNSPY_MAX_OPS operations are
 * kept for the table (the totals stay exact past that), and the two address tables
 * stop growing at a fixed size, saying so once.
 */
#define _GNU_SOURCE
#include "record.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPS_PER_CHUNK      1024
#define MAX_PARAM_BUFFERS  (1u << 22)
#define MAX_WRITTEN_RANGES (1u << 20)

struct param_slot {
    uintptr_t addr; /* 0: empty */
    uint64_t elements;
    nn_dtype dtype;
};

struct range {
    uintptr_t start, end; /* [start, end) */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static nn_totals totals;

static nn_listed_op **chunks;
static uint64_t n_chunks, n_listed;

static struct param_slot *params;
static uint64_t params_cap, params_used;

static struct range *written;
static uint64_t written_len, written_cap;

/* ------------------------------------------------------------ parameters */

static uint64_t hash_addr(uintptr_t a)
{
    uint64_t x = (uint64_t)a >> 4; /* device allocations are at least 16-byte aligned */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static bool params_grow(void)
{
    uint64_t cap = params_cap ? params_cap * 2 : 1024;
    if (cap > MAX_PARAM_BUFFERS) return false;
    struct param_slot *t = calloc(cap, sizeof *t);
    if (!t) return false;
    for (uint64_t i = 0; i < params_cap; i++) {
        if (!params[i].addr) continue;
        uint64_t j = hash_addr(params[i].addr) & (cap - 1);
        while (t[j].addr) j = (j + 1) & (cap - 1);
        t[j] = params[i];
    }
    free(params);
    params = t;
    params_cap = cap;
    return true;
}

/* The slot holding address a, or the empty slot where it would go (NULL when the
 * table does not exist yet). */
static struct param_slot *params_find(uintptr_t a)
{
    if (!params_cap) return NULL;
    uint64_t j = hash_addr(a) & (params_cap - 1);
    while (params[j].addr && params[j].addr != a) j = (j + 1) & (params_cap - 1);
    return &params[j];
}

/* Adds one parameter buffer to the totals, once per address: a buffer read again
 * with more elements (a larger view of it) raises its count to the larger size. */
static void params_note(const nn_param_ref *p)
{
    if (!p->addr || !p->elements) return;
    uintptr_t a = (uintptr_t)p->addr;
    struct param_slot *s = params_find(a);
    if (!s || !s->addr) {
        /* A new buffer: room for it first (the table stays at most half full). */
        if ((params_used + 1) * 2 > params_cap && !params_grow()) {
            nn_warn_once("more than %u parameter buffers: later ones are not counted",
                         MAX_PARAM_BUFFERS / 2);
            totals.params_incomplete = true;
            return;
        }
        s = params_find(a);
        *s = (struct param_slot){a, p->elements, p->dtype};
        params_used++;
    } else if (p->elements > s->elements) {
        s->elements = p->elements;
        s->dtype = p->dtype;
    }
}

static void params_sum(uint64_t *elements, uint64_t *bytes, bool *overflow)
{
    *elements = *bytes = 0;
    for (uint64_t i = 0; i < params_cap; i++) {
        if (!params[i].addr) continue;
        *overflow |= !nn_add_u64(*elements, params[i].elements, elements);
        bool o = false;
        uint64_t b = nn_bytes_of(params[i].elements, params[i].dtype, &o);
        *overflow |= o || !nn_add_u64(*bytes, b, bytes);
    }
}

/* ------------------------------------------------------------ written buffers */

/* Index of the last range starting at or before a, or -1. */
static int64_t range_floor(uintptr_t a)
{
    int64_t lo = 0, hi = (int64_t)written_len - 1, found = -1;
    while (lo <= hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (written[mid].start <= a)
            found = mid, lo = mid + 1;
        else
            hi = mid - 1;
    }
    return found;
}

/* Merges [start, end) into the sorted, disjoint list of written ranges. */
static void written_note(uintptr_t start, uintptr_t end)
{
    if (start >= end) return;
    int64_t i = range_floor(start);
    if (i >= 0 && written[i].end >= start) {
        if (written[i].end < end) written[i].end = end;
    } else {
        if (written_len == written_cap) {
            uint64_t cap = written_cap ? written_cap * 2 : 256;
            struct range *t = cap <= MAX_WRITTEN_RANGES ? realloc(written, cap * sizeof *t) : NULL;
            if (!t) {
                nn_warn_once("too many distinct output buffers to tell all activations apart");
                return;
            }
            written = t;
            written_cap = cap;
        }
        i++;
        memmove(&written[i + 1], &written[i], (written_len - (uint64_t)i) * sizeof *written);
        written[i] = (struct range){start, end};
        written_len++;
    }
    /* Swallow the ranges the grown one now overlaps. */
    uint64_t j = (uint64_t)i + 1;
    while (j < written_len && written[j].start <= written[i].end) {
        if (written[j].end > written[i].end) written[i].end = written[j].end;
        j++;
    }
    memmove(&written[i + 1], &written[j], (written_len - j) * sizeof *written);
    written_len -= j - (uint64_t)i - 1;
}

/* Whether addr lies in a buffer written by an earlier recorded operation. */
static bool is_activation(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    int64_t i = range_floor(a);
    return i >= 0 && a < written[i].end;
}

/* Applies each candidate's rule, counts the parameters, and returns how many
 * parameter elements this call read. Under the lock. */
static uint64_t settle_params(const nn_op *op)
{
    uint64_t read = 0;
    bool operand_taken = false;
    for (int i = 0; i < op->n_params; i++) {
        const nn_param_ref *p = &op->params[i];
        bool take =
            p->rule == NN_PARAM_ALWAYS ||
            (p->rule == NN_PARAM_UNLESS_ACTIVATION && !is_activation(p->addr)) ||
            (p->rule == NN_PARAM_WEIGHT_OPERAND && !operand_taken && !is_activation(p->addr));
        if (!take) continue;
        if (p->rule == NN_PARAM_WEIGHT_OPERAND) operand_taken = true;
        params_note(p);
        nn_add_u64(read, p->elements, &read);
    }
    return read;
}

/* ------------------------------------------------------------ operations */

static nn_listed_op *listed_slot(void)
{
    const nn_config *cfg = nn_config_get();
    if (n_listed >= cfg->max_listed_ops) return NULL;
    uint64_t c = n_listed / OPS_PER_CHUNK;
    if (c == n_chunks) {
        nn_listed_op **t = realloc(chunks, (n_chunks + 1) * sizeof *t);
        if (!t) return NULL;
        chunks = t;
        chunks[c] = malloc(OPS_PER_CHUNK * sizeof **chunks);
        if (!chunks[c]) return NULL;
        n_chunks++;
    }
    nn_listed_op *slot = &chunks[c][n_listed % OPS_PER_CHUNK];
    /* Atomic: nn_listing_open reads it without the lock. */
    __atomic_store_n(&n_listed, n_listed + 1, __ATOMIC_RELAXED);
    return slot;
}

bool nn_listing_open(void)
{
    return __atomic_load_n(&n_listed, __ATOMIC_RELAXED) < nn_config_get()->max_listed_ops;
}

static void list_op(const nn_op *op, uint64_t params_read)
{
    nn_listed_op *l = listed_slot();
    if (!l) {
        totals.ops_not_listed++;
        return;
    }
    l->index = totals.calls - 1;
    l->api = op->api;
    l->call = op->call;
    l->op = op->op;
    l->dtype = op->dtype;
    l->succeeded = op->succeeded;
    l->cost_known = op->cost_known;
    l->cost = op->cost;
    l->params = params_read;
    memcpy(l->shape, op->shape, sizeof l->shape);
}

void nn_record(const nn_op *op)
{
    nn_device_note();
    nn_process_note_first_call();
    pthread_mutex_lock(&lock);
    totals.calls++;
    uint64_t params_read = 0;
    if (!op->succeeded)
        totals.failed_calls++;
    else if (!op->cost_known)
        totals.unknown_cost_calls++;
    else {
        nn_cost_add(&totals.cost, &op->cost);
        params_read = settle_params(op);
    }
    /* Whatever its cost, a successful call's output is an activation from now on. */
    if (op->succeeded && op->output && op->output_bytes)
        written_note((uintptr_t)op->output, (uintptr_t)op->output + op->output_bytes);
    list_op(op, params_read);
    pthread_mutex_unlock(&lock);
}

void nn_op_add_param(nn_op *op, const void *addr, uint64_t elements, nn_dtype dtype,
                     nn_param_rule rule)
{
    if (addr && op->n_params < NN_MAX_PARAMS_PER_OP)
        op->params[op->n_params++] = (nn_param_ref){addr, elements, dtype, rule};
}

void nn_op_add_gemm_operand(nn_op *op, const void *p, uint64_t rows, uint64_t cols, nn_dtype dtype,
                            uint64_t batch, int64_t batch_stride)
{
    uint64_t elements;
    if (!p || (batch > 1 && batch_stride != 0) || !nn_mul_u64(rows, cols, &elements)) return;
    nn_op_add_param(op, p, elements, dtype, NN_PARAM_WEIGHT_OPERAND);
}

void nn_shape_append_text(char *buf, size_t len, size_t *pos, const char *text)
{
    int n = snprintf(buf + *pos, len - *pos, "%s", text);
    if (n > 0) *pos = *pos + (size_t)n < len ? *pos + (size_t)n : len - 1;
}

void nn_shape_append(char *buf, size_t len, size_t *pos, const uint64_t *dims, int n)
{
    for (int i = 0; i < n; i++) {
        char d[24];
        snprintf(d, sizeof d, i ? "x%llu" : "%llu", (unsigned long long)dims[i]);
        nn_shape_append_text(buf, len, pos, d);
    }
}

/* ------------------------------------------------------------ reading it back */

bool nn_snapshot_lock(bool from_signal)
{
    /* Another thread may still be inside a wrapper; wait for it a little, but never
     * hang the program's exit on it. trylock and nanosleep are async-signal-safe. */
    int tries = from_signal ? 100 : 2000; /* 0.1 s or 2 s */
    for (int i = 0; i < tries; i++) {
        if (pthread_mutex_trylock(&lock) == 0) return true;
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL);
    }
    return false;
}

void nn_snapshot_unlock(void)
{
    pthread_mutex_unlock(&lock);
}

nn_totals nn_totals_get(void)
{
    nn_totals t = totals;
    params_sum(&t.params, &t.param_bytes, &t.cost.overflow);
    return t;
}

uint64_t nn_listed_count(void)
{
    return n_listed;
}

const nn_listed_op *nn_listed_at(uint64_t i)
{
    return &chunks[i / OPS_PER_CHUNK][i % OPS_PER_CHUNK];
}

/* ------------------------------------------------------------ fork */

/* The child is a process of its own: it reports only its own calls. */
static void reset_after_fork(void)
{
    for (uint64_t c = 0; c < n_chunks; c++) free(chunks[c]);
    free(chunks);
    free(params);
    free(written);
    chunks = NULL;
    params = NULL;
    written = NULL;
    n_chunks = n_listed = params_cap = params_used = written_len = written_cap = 0;
    memset(&totals, 0, sizeof totals);
}

__attribute__((constructor)) static void record_init(void)
{
    nn_fork_protect(&lock, reset_after_fork);
}
