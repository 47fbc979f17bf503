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
