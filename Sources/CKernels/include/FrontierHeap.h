/*
 * The C allocator's free memory, handed back to the system.
 */
#ifndef FRONTIER_HEAP_H
#define FRONTIER_HEAP_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Returns the allocator's free pages to the system (glibc malloc_trim(0)): freed blocks in
 * the middle of the heap otherwise stay resident. 1 when memory was released, 0 when none
 * was or the C library has no such call.
 */
int fk_release_free_heap(void);

/*
 * Keeps freed blocks of up to 32 MiB in the heap for reuse instead of unmapping them (glibc's mmap
 * threshold raised to its maximum) and keeps up to 1 GiB of free memory at the heap's top
 * (trim threshold). A training step frees and re-allocates the same activation buffers, a few MB
 * each, every step: returned to the system, each one came back as fresh pages, zero-filled by the
 * kernel on first touch (21 k fewer page faults over 10 train-bench steps of MiniLM-L6). Process-wide; 1 when
 * both settings took, 0 otherwise or without glibc. fk_release_free_heap still releases it all.
 */
int fk_keep_freed_heap(void);

#ifdef __cplusplus
}
#endif

#endif
