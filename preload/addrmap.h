/*
 * addrmap.h: a map from device addresses to a number (open addressing, linear
 * probing, backward-shift deletion). Not thread-safe: used under record.c's lock.
 * Grows to at most max_slots; an insert past that fails, and the caller says so.
 */
#ifndef NNSPY_PRELOAD_ADDRMAP_H
#define NNSPY_PRELOAD_ADDRMAP_H

#include <stdbool.h>
#include <stdint.h>

typedef struct nn_addrmap_slot {
    uintptr_t key; /* 0: empty */
    uint64_t value;
    uint32_t extra;
} nn_addrmap_slot;

typedef struct nn_addrmap {
    nn_addrmap_slot *slots;
    uint64_t cap, used, max_slots;
} nn_addrmap;

/* The slot of key, or NULL. */
nn_addrmap_slot *nn_addrmap_find(const nn_addrmap *m, uintptr_t key);
/* The slot of key, added (value 0) if absent; NULL when the map is full. */
nn_addrmap_slot *nn_addrmap_insert(nn_addrmap *m, uintptr_t key);
void nn_addrmap_erase(nn_addrmap *m, uintptr_t key);
void nn_addrmap_clear(nn_addrmap *m);

#endif
