/*
 * addrmap.c: device address -> number. Written here rather than taken from a
 * library because it runs inside the profiled process under nnspy's lock: a
 * preloaded library should pull no other shared library into the program.
 */
#include "addrmap.h"

#include <stdlib.h>

static uint64_t hash_addr(uintptr_t a)
{
    uint64_t x = (uint64_t)a >> 4; /* device allocations are at least 16-byte aligned */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static uint64_t home(const nn_addrmap *m, uintptr_t key)
{
    return hash_addr(key) & (m->cap - 1);
}

nn_addrmap_slot *nn_addrmap_find(const nn_addrmap *m, uintptr_t key)
{
    if (!m->cap || !key) return NULL;
    for (uint64_t j = home(m, key);; j = (j + 1) & (m->cap - 1)) {
        if (m->slots[j].key == key) return &m->slots[j];
        if (!m->slots[j].key) return NULL;
    }
}

static bool grow(nn_addrmap *m)
{
    uint64_t cap = m->cap ? m->cap * 2 : 1024;
    if (cap > m->max_slots) return false;
    nn_addrmap_slot *old = m->slots;
    uint64_t old_cap = m->cap;
    nn_addrmap_slot *t = calloc(cap, sizeof *t);
    if (!t) return false;
    m->slots = t;
    m->cap = cap;
    for (uint64_t i = 0; i < old_cap; i++) {
        if (!old[i].key) continue;
        uint64_t j = home(m, old[i].key);
        while (t[j].key) j = (j + 1) & (cap - 1);
        t[j] = old[i];
    }
    free(old);
    return true;
}

nn_addrmap_slot *nn_addrmap_insert(nn_addrmap *m, uintptr_t key)
{
    nn_addrmap_slot *s = nn_addrmap_find(m, key);
    if (s || !key) return s;
    /* At most half full, so that probes stay short. */
    if ((m->used + 1) * 2 > m->cap && !grow(m)) return NULL;
    uint64_t j = home(m, key);
    while (m->slots[j].key) j = (j + 1) & (m->cap - 1);
    m->slots[j] = (nn_addrmap_slot){.key = key};
    m->used++;
    return &m->slots[j];
}

/* Backward-shift deletion: entries after the hole move up if their home allows. */
void nn_addrmap_erase(nn_addrmap *m, uintptr_t key)
{
    nn_addrmap_slot *s = nn_addrmap_find(m, key);
    if (!s) return;
    uint64_t hole = (uint64_t)(s - m->slots), mask = m->cap - 1;
    for (uint64_t j = (hole + 1) & mask; m->slots[j].key; j = (j + 1) & mask) {
        uint64_t h = home(m, m->slots[j].key);
        /* j's entry may fill the hole when its home is not in (hole, j]. */
        bool movable = hole <= j ? (h <= hole || h > j) : (h <= hole && h > j);
        if (!movable) continue;
        m->slots[hole] = m->slots[j];
        hole = j;
    }
    m->slots[hole].key = 0;
    m->used--;
}

void nn_addrmap_clear(nn_addrmap *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->used = 0;
}
