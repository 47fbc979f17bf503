/*
 * See FrontierHeap.h. glibc's malloc serves blocks below its (self-raising) mmap threshold
 * from the heap, and free() returns only the heap's top to the system; malloc_trim(0) also
 * releases the free pages between live blocks. Other C libraries: nothing to do here.
 */
#include "FrontierHeap.h"

#include <stdlib.h> /* defines __GLIBC__ on glibc, which the test below needs */

#if defined(__GLIBC__)
#include <malloc.h>
#endif

int fk_release_free_heap(void) {
#if defined(__GLIBC__)
    return malloc_trim(0);
#else
    return 0;
#endif
}

int fk_keep_freed_heap(void) {
#if defined(__GLIBC__)
    /* 32 MiB is the largest mmap threshold glibc accepts on 64-bit; the trim threshold has no such cap. */
    int mmap_set = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    int trim_set = mallopt(M_TRIM_THRESHOLD, 1024 * 1024 * 1024);
    return mmap_set == 1 && trim_set == 1;
#else
    return 0;
#endif
}
