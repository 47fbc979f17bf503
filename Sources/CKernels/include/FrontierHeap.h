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

#ifdef __cplusplus
}
#endif

#endif
