/*
 * See fk_cpu.h. __builtin_cpu_supports also checks that the OS saves the wider registers
 * (XCR0), so a feature reported here is usable.
 */
#include "fk_common.h"
#include "fk_cpu.h"
#include "FrontierKernels.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* Bit set on the cached value once detection has run, so that 0 can mean "not yet". */
#define FK_CPU_DETECTED (1u << 31)

static unsigned fk_cpu_detect(void) {
    unsigned f = 0;
#if defined(FK_X86) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= FK_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("f16c")) f |= FK_CPU_F16C;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl")) {
        f |= FK_CPU_AVX512;
    }
    if (__builtin_cpu_supports("avx512vnni")) f |= FK_CPU_AVX512_VNNI;
    if (__builtin_cpu_supports("avx512bf16")) f |= FK_CPU_AVX512_BF16;
#endif
    /* FRONTIER_CPU_CAP=avx2 (or generic) hides the wider features, so that one machine can time
     * the paths an AVX2-only fleet runs. Only the families dispatched here follow it: the
     * element-wise kernels' compiler clones and OpenBLAS pick their own. */
    const char *cap = getenv("FRONTIER_CPU_CAP");
    if (cap && strcmp(cap, "avx2") == 0) f &= FK_CPU_AVX2_FMA | FK_CPU_F16C;
    else if (cap && strcmp(cap, "generic") == 0) f = 0;
    return f;
}

/* Threads that race on the first call compute the same bits; relaxed order is enough because
 * the cached word is the whole result. */
unsigned fk_cpu_features(void) {
    static _Atomic unsigned cached = 0;
    unsigned f = atomic_load_explicit(&cached, memory_order_relaxed);
    if (f == 0) {
        f = fk_cpu_detect() | FK_CPU_DETECTED;
        atomic_store_explicit(&cached, f, memory_order_relaxed);
    }
    return f & ~FK_CPU_DETECTED;
}

int fk_cpu_has_avx512(void) { return (fk_cpu_features() & FK_CPU_AVX512) != 0; }

int fk_cpu_has_avx2_fma(void) { return (fk_cpu_features() & FK_CPU_AVX2_FMA) != 0; }
