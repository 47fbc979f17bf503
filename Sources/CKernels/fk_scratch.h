/*
 * 64-byte-aligned allocation and per-thread scratch memory for the kernels. Internal.
 *
 * Kernels that need working memory per call (quantized activations, widened weight panels,
 * transposed activation tiles) take it from a buffer owned by the calling thread, so a weight
 * object can serve several threads at once, and keep it between calls (grow-only): a sweep
 * allocates during its largest batch and never again, and pool workers live as long as their
 * pool. Each kernel family has its own slot, so one kernel's buffer is never reallocated under
 * another's pointer (int8 and the half GEMM hold theirs across a parallel region) and each slot
 * is sized by its own kernel's largest call.
 */
#ifndef FK_SCRATCH_H
#define FK_SCRATCH_H

#include <stddef.h>

#include "fk_common.h"

enum fk_scratch_slot {
    FK_SCRATCH_HALF_STAGE, /* half_gemm.c: fp32 copies of weight panels, sliced per pool thread */
    FK_SCRATCH_INT8,       /* int8.c: quantized activation rows and their scales */
    FK_SCRATCH_SPARSE,     /* sparse.c: each pool thread's transposed tile and partial sums */
    FK_SCRATCH_SPARSE_INT8, /* sparse_int8.c: each pool thread's quantized tile, scales and sums */
    FK_SCRATCH_BF16_DOT,   /* bf16_dot.c: activation rows rounded to bf16 */
    FK_SCRATCH_ATTENTION,  /* gemm.c: one head's keys transposed (fk_attention_head_blocked) */
    FK_SCRATCH_SLOTS
};

/* bytes (rounded up to a multiple of 64, at least 64) aligned to 64; free() releases it.
 * Cache-line alignment keeps the kernels' vector loads from straddling lines. */
FK_HIDDEN void *fk_aligned_alloc(size_t bytes);

/* As fk_aligned_alloc, zero-filled. */
FK_HIDDEN void *fk_aligned_calloc(size_t bytes);

/* At least `bytes` of 64-byte-aligned memory in the calling thread's `slot`, valid until the
 * next call for the same slot on this thread (which may move it) or the thread's exit (which
 * frees it). Contents are not preserved when it grows. NULL when out of memory. */
FK_HIDDEN void *fk_scratch(enum fk_scratch_slot slot, size_t bytes);

/* Bytes currently held in the calling thread's `slot` (0 before its first use). */
FK_HIDDEN size_t fk_scratch_capacity(enum fk_scratch_slot slot);

#endif
