/*
 * See fk_scratch.h. A thread's slots live in one heap block reached through a _Thread_local
 * pointer (one load on the fast path, which sparse.c takes on every pool thread of every call);
 * the same block is registered under a pthread key only so that its destructor frees the
 * buffers when the thread exits, which C11 thread-locals cannot do.
 */
#include "fk_common.h"
#include "fk_scratch.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The size actually allocated for `bytes`; 0 when that overflows. */
static size_t fk_round64(size_t bytes) {
    if (bytes > SIZE_MAX - 63) return 0;
    return bytes ? (bytes + 63) / 64 * 64 : 64;
}

void *fk_aligned_alloc(size_t bytes) {
    const size_t rounded = fk_round64(bytes);
    return rounded ? aligned_alloc(64, rounded) : NULL;
}

void *fk_aligned_calloc(size_t bytes) {
    void *p = fk_aligned_alloc(bytes);
    if (p) memset(p, 0, fk_round64(bytes));
    return p;
}

typedef struct {
    void *data;
    size_t capacity; /* bytes */
} fk_scratch_buffer;

typedef struct {
    fk_scratch_buffer slot[FK_SCRATCH_SLOTS];
} fk_scratch_set;

static _Thread_local fk_scratch_set *fk_scratch_mine;
static pthread_key_t fk_scratch_key;
static pthread_once_t fk_scratch_once = PTHREAD_ONCE_INIT;

static void fk_scratch_release(void *raw) {
    fk_scratch_set *set = raw;
    for (int i = 0; i < FK_SCRATCH_SLOTS; i++) free(set->slot[i].data);
    free(set);
    fk_scratch_mine = NULL;
}

static void fk_scratch_key_init(void) { pthread_key_create(&fk_scratch_key, fk_scratch_release); }

void *fk_scratch(enum fk_scratch_slot slot, size_t bytes) {
    fk_scratch_set *set = fk_scratch_mine;
    if (set && set->slot[slot].data && set->slot[slot].capacity >= bytes) return set->slot[slot].data;
    if (!set) {
        pthread_once(&fk_scratch_once, fk_scratch_key_init);
        set = calloc(1, sizeof *set);
        if (!set) return NULL;
        if (pthread_setspecific(fk_scratch_key, set) != 0) {
            free(set);
            return NULL;
        }
        fk_scratch_mine = set;
    }
    fk_scratch_buffer *b = &set->slot[slot];
    if (!b->data || b->capacity < bytes) {
        free(b->data);
        b->capacity = 0;
        b->data = fk_aligned_alloc(bytes);
        if (!b->data) return NULL;
        b->capacity = fk_round64(bytes);
    }
    return b->data;
}

size_t fk_scratch_capacity(enum fk_scratch_slot slot) {
    const fk_scratch_set *set = fk_scratch_mine;
    return set ? set->slot[slot].capacity : 0;
}
