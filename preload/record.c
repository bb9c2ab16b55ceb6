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

#include "addrmap.h"
#include "ranges.h"
#include "sites.h"
#include "trace_writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OPS_PER_CHUNK      1024
#define MAX_PARAM_BUFFERS  (1u << 22)
#define MAX_ALLOCATIONS    (1u << 22)
#define MAX_WRITTEN_RANGES (1u << 20)

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static nn_totals totals;

static nn_listed_op **chunks;
static uint64_t n_chunks, n_listed;

/* every call, compactly, for frames: chunks of HISTORY_CHUNK */
#define HISTORY_CHUNK 4096
static nn_frame_op *history[NN_MAX_HISTORY / HISTORY_CHUNK];
static uint64_t history_len;

/*
 * A set of buffers counted once by address: address -> elements (value) and
 * nn_dtype (extra). Buffers since freed stay counted in `retired`: they were read
 * all the same. Parameters are one set; buffers the model keeps but does not learn
 * (batch norm's running statistics) are another, reported apart.
 */
typedef struct counted_set {
    nn_addrmap map;
    uint64_t retired, retired_bytes;
} counted_set;

static counted_set params = {.map = {.max_slots = MAX_PARAM_BUFFERS}};
static counted_set state_buffers = {.map = {.max_slots = MAX_PARAM_BUFFERS}};
/* device allocations (cudaMalloc) -> size, to forget a buffer when it is freed */
static nn_addrmap allocations = {.max_slots = MAX_ALLOCATIONS};
/* device memory written by recorded operations: activations */
static nn_ranges written = {.max_ranges = MAX_WRITTEN_RANGES};

/* ------------------------------------------------------------ parameters */

/* Adds one buffer to a set, once per address: a buffer read again with more
 * elements (a larger view of it) raises its count to the larger size. */
static void set_note(counted_set *set, const nn_param_ref *p)
{
    if (!p->addr || !p->elements) return;
    nn_addrmap_slot *s = nn_addrmap_insert(&set->map, (uintptr_t)p->addr);
    if (!s) {
        nn_warn_once("more than %u parameter buffers: later ones are not counted",
                     MAX_PARAM_BUFFERS / 2);
        totals.params_incomplete = true;
        return;
    }
    if (p->elements > s->value) {
        s->value = p->elements;
        s->extra = (uint32_t)p->dtype;
    }
}

static uint64_t slot_bytes(const nn_addrmap_slot *s, bool *overflow)
{
    return nn_bytes_of(s->value, (nn_dtype)s->extra, overflow);
}

static void set_sum(const counted_set *set, uint64_t *elements, uint64_t *bytes, bool *overflow)
{
    *elements = set->retired;
    *bytes = set->retired_bytes;
    for (uint64_t i = 0; i < set->map.cap; i++) {
        const nn_addrmap_slot *s = &set->map.slots[i];
        if (!s->key) continue;
        *overflow |= !nn_add_u64(*elements, s->value, elements);
        *overflow |= !nn_add_u64(*bytes, slot_bytes(s, overflow), bytes);
    }
}

/* The buffer at a freed address leaves the set, still counted as retired. */
static void set_retire(counted_set *set, uintptr_t a)
{
    nn_addrmap_slot *s = nn_addrmap_find(&set->map, a);
    if (!s) return;
    bool overflow = false;
    nn_add_u64(set->retired, s->value, &set->retired);
    nn_add_u64(set->retired_bytes, slot_bytes(s, &overflow), &set->retired_bytes);
    nn_addrmap_erase(&set->map, a);
}

static void set_clear(counted_set *set)
{
    nn_addrmap_clear(&set->map);
    set->retired = set->retired_bytes = 0;
}

/* ------------------------------------------------------------ device memory */

void nn_note_allocation(const void *ptr, uint64_t size)
{
    if (!ptr || !size) return;
    pthread_mutex_lock(&lock);
    nn_addrmap_slot *s = nn_addrmap_insert(&allocations, (uintptr_t)ptr);
    if (s) s->value = size;
    pthread_mutex_unlock(&lock);
    if (!s) nn_warn_once("too many live device allocations to follow them all");
}

/*
 * A freed buffer is no longer what it was: its memory may come back as a weight
 * of a model loaded later, or an activation. It leaves the activations, and a
 * parameter at its address is retired (still counted) so that a new buffer there
 * counts anew.
 */
void nn_note_free(const void *ptr)
{
    if (!ptr) return;
    uintptr_t a = (uintptr_t)ptr;
    pthread_mutex_lock(&lock);
    nn_addrmap_slot *alloc = nn_addrmap_find(&allocations, a);
    if (alloc) {
        nn_ranges_remove(&written, a, a + alloc->value);
        nn_addrmap_erase(&allocations, a);
    }
    set_retire(&params, a);
    set_retire(&state_buffers, a);
    pthread_mutex_unlock(&lock);
}

/* ------------------------------------------------------------ activations */

/* One step of the structural signature, which hashes a call's kind and the
 * parameter buffers it read, never activation shapes: FNV-1a on a whole 64-bit
 * word, its high half folded back (a byte at a time cost ~140 instructions a call). */
static uint64_t mix(uint64_t h, uint64_t v)
{
    h = (h ^ v) * 0x100000001b3ULL;
    return h ^ (h >> 32);
}

/* Applies each candidate's rule, counts the parameters, and returns how many
 * parameter elements this call read; *signature gets the parameters mixed in.
 * Under the lock. */
static uint64_t settle_params(const nn_op *op, uint64_t *signature)
{
    uint64_t read = 0;
    bool operand_taken = false;
    for (int i = 0; i < op->n_params; i++) {
        const nn_param_ref *p = &op->params[i];
        if (p->rule == NN_PARAM_BUFFER) { /* state, not weights: in a total of its own */
            set_note(&state_buffers, p);
            *signature = mix(*signature, (uint64_t)(uintptr_t)p->addr);
            continue;
        }
        bool activation = nn_ranges_contains(&written, (uintptr_t)p->addr);
        bool take = p->rule == NN_PARAM_ALWAYS ||
                    (p->rule == NN_PARAM_UNLESS_ACTIVATION && !activation) ||
                    (p->rule == NN_PARAM_WEIGHT_OPERAND && !operand_taken && !activation);
        if (!take) continue;
        if (p->rule == NN_PARAM_WEIGHT_OPERAND) operand_taken = true;
        set_note(&params, p);
        *signature = mix(*signature, (uint64_t)(uintptr_t)p->addr);
        nn_add_u64(read, p->elements, &read);
    }
    return read;
}

static void note_written_range(const void *ptr, uint64_t bytes)
{
    if (!ptr || !bytes) return;
    uintptr_t start = (uintptr_t)ptr;
    uintptr_t end = start + bytes < start ? UINTPTR_MAX : start + bytes;
    if (!nn_ranges_add(&written, start, end))
        nn_warn_once("too many distinct output buffers to tell all activations apart");
}

static void note_written(const nn_op *op)
{
    note_written_range(op->output, op->output_bytes);
    for (int i = 0; i < NN_MAX_MORE_OUTPUTS; i++)
        note_written_range(op->more_outputs[i], op->more_output_bytes[i]);
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
    const nn_config *cfg = nn_config_get();
    return cfg->output_template[0] ||
           __atomic_load_n(&n_listed, __ATOMIC_RELAXED) < cfg->max_listed_ops;
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
    l->gpu_start_ns = l->gpu_end_ns = NN_UNTIMED;
    memcpy(l->shape, op->shape, sizeof l->shape);
}


/* Under the lock: the compact record of call number `call` for frames. */
static void remember(uint64_t call, const nn_op *op, uint64_t signature, int64_t host_ns)
{
    if (call >= NN_MAX_HISTORY) {
        nn_warn_once("more than %u calls: frames are found among the first %u", NN_MAX_HISTORY,
                     NN_MAX_HISTORY);
        return;
    }
    nn_frame_op **chunk = &history[call / HISTORY_CHUNK];
    if (!*chunk && !(*chunk = malloc(HISTORY_CHUNK * sizeof **chunk))) return;
    (*chunk)[call % HISTORY_CHUNK] = (nn_frame_op){
        .signature = signature,
        .macs = op->succeeded && op->cost_known ? op->cost.macs : 0,
        .flops = op->succeeded && op->cost_known ? op->cost.flops : 0,
        .gpu_start_ns = NN_UNTIMED,
        .gpu_end_ns = NN_UNTIMED,
        .host_ns = host_ns,
        .given_frame = nn_current_given_frame(),
        .in_graph_launch = op->in_graph_launch,
        .autotune = op->autotune,
        .tune_key = op->tune_key,
        .tune_variant = op->tune_variant,
    };
    history_len = call + 1;
}

static int recorded_any;

bool nn_recorded_any(void)
{
    return __atomic_load_n(&recorded_any, __ATOMIC_ACQUIRE);
}

uint64_t nn_record(const nn_op *op)
{
    __atomic_store_n(&recorded_any, 1, __ATOMIC_RELEASE);
    nn_device_note();
    nn_process_note_first_call();
    int64_t host_ns = nn_monotonic_ns();
    /* Outside the lock: a new site reads the stack. A call replayed by a CUDA graph
     * launch keeps the site it was captured at. */
    uint32_t site = op->site ? op->site : nn_site_current();
    pthread_mutex_lock(&lock);
    uint64_t call = totals.calls++;
    uint64_t params_read = 0, signature = mix(0xcbf29ce484222325ULL, (uintptr_t)op->op);
    if (!op->succeeded) totals.failed_calls++;
    else if (!op->cost_known) totals.unknown_cost_calls++;
    else {
        nn_cost_add(&totals.cost, &op->cost);
        params_read = settle_params(op, &signature);
        if (op->params_incomplete) totals.params_incomplete = true;
    }
    /* Whatever its cost, a successful call's output is an activation from now on. */
    if (op->succeeded) note_written(op);
    list_op(op, params_read);
    remember(call, op, signature, host_ns);
    nn_trace_write_op(call, op, params_read, signature, host_ns, nn_current_given_frame(),
                      site);
    pthread_mutex_unlock(&lock);
    return call;
}

/* A call that runs several kernels (CUPTI sees each) spans from the first one's
 * start to the last one's end. */
static void widen(int64_t *start, int64_t *end, int64_t s, int64_t e)
{
    if (*start == NN_UNTIMED || s < *start) *start = s;
    if (*end == NN_UNTIMED || e > *end) *end = e;
}

void nn_record_gpu_time(uint64_t call, int64_t start_ns, int64_t end_ns)
{
    if (call == UINT64_MAX) return; /* kept for a CUDA graph: not a call (yet) */
    pthread_mutex_lock(&lock);
    if (call < n_listed) {
        nn_listed_op *l = &chunks[call / OPS_PER_CHUNK][call % OPS_PER_CHUNK];
        widen(&l->gpu_start_ns, &l->gpu_end_ns, start_ns, end_ns);
    }
    if (call < history_len && history[call / HISTORY_CHUNK]) {
        nn_frame_op *h = &history[call / HISTORY_CHUNK][call % HISTORY_CHUNK];
        widen(&h->gpu_start_ns, &h->gpu_end_ns, start_ns, end_ns);
    }
    nn_trace_write_gpu_time(call, start_ns, end_ns);
    pthread_mutex_unlock(&lock);
}

nn_frame_op *nn_history_copy(size_t *n)
{
    *n = 0;
    nn_frame_op *out = history_len ? malloc(history_len * sizeof *out) : NULL;
    if (!out) return NULL;
    for (uint64_t i = 0; i < history_len; i++) {
        const nn_frame_op *chunk = history[i / HISTORY_CHUNK];
        out[(*n)++] = chunk ? chunk[i % HISTORY_CHUNK]
                            : (nn_frame_op){.gpu_start_ns = NN_UNTIMED, .gpu_end_ns = NN_UNTIMED};
    }
    return out;
}

void nn_op_add_param(nn_op *op, const void *addr, uint64_t elements, nn_dtype dtype,
                     nn_param_rule rule)
{
    if (!addr) return;
    if (op->n_params < NN_MAX_PARAMS_PER_OP)
        op->params[op->n_params++] = (nn_param_ref){addr, elements, dtype, rule};
    else
        op->params_incomplete = true; /* the totals say so */
}

void nn_op_add_gemm_operand(nn_op *op, const void *p, uint64_t rows, uint64_t cols, nn_dtype dtype,
                            uint64_t batch, int64_t batch_stride)
{
    uint64_t elements;
    if (!p || (batch > 1 && batch_stride != 0) || !nn_mul_u64(rows, cols, &elements)) return;
    nn_op_add_param(op, p, elements, dtype, NN_PARAM_WEIGHT_OPERAND);
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
    set_sum(&params, &t.params, &t.param_bytes, &t.cost.overflow);
    set_sum(&state_buffers, &t.buffers, &t.buffer_bytes, &t.cost.overflow);
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
    chunks = NULL;
    n_chunks = n_listed = 0;
    for (size_t c = 0; c < NN_MAX_HISTORY / HISTORY_CHUNK; c++) free(history[c]), history[c] = NULL;
    history_len = 0;
    set_clear(&params);
    set_clear(&state_buffers);
    nn_addrmap_clear(&allocations);
    nn_ranges_clear(&written);
    memset(&totals, 0, sizeof totals);
    recorded_any = 0;
}

__attribute__((constructor(120))) static void record_init(void)
{
    nn_fork_protect(&lock, reset_after_fork);
}
