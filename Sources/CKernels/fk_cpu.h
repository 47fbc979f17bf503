/*
 * The CPU features the kernels dispatch on, detected once per process.
 *
 * Every kernel family picks one of three code paths per call (2: AVX-512, 1: AVX2, 0: portable
 * C), each with its own requirements (fp16 widening needs F16C, the int8 AVX-512 path needs
 * VNNI); one detection shared by all keeps those choices consistent and the cpuid queries in one
 * place. Internal to the target.
 */
#ifndef FK_CPU_H
#define FK_CPU_H

#include "fk_common.h"

enum {
    FK_CPU_AVX2_FMA = 1u << 0,    /* AVX2 and FMA */
    FK_CPU_F16C = 1u << 1,
    FK_CPU_AVX512 = 1u << 2,      /* AVX-512 F, BW, DQ and VL (OpenBLAS's SkylakeX set) */
    FK_CPU_AVX512_VNNI = 1u << 3, /* vpdpbusd; meaningful together with FK_CPU_AVX512 */
    FK_CPU_AVX512_BF16 = 1u << 4, /* vdpbf16ps, vcvtne2ps2bf16; meaningful together with FK_CPU_AVX512 */
};

/* The FK_CPU_* bits of this machine (0 off x86-64), less what FRONTIER_CPU_CAP (avx2 or generic)
 * hides. Cheap after the first call. */
FK_HIDDEN unsigned fk_cpu_features(void);

/* The path a kernel family runs: 2 when the CPU has every bit of avx512_needs, else 1 when it
 * has every bit of avx2_needs, else 0; then capped at `cap` when cap >= 0 (the force-ISA
 * switches of the tests and benchmarks never raise the level above what the CPU has). */
FK_INLINE int fk_cpu_level(unsigned avx512_needs, unsigned avx2_needs, int cap) {
    const unsigned f = fk_cpu_features();
    const int level = (f & avx512_needs) == avx512_needs ? 2 : ((f & avx2_needs) == avx2_needs ? 1 : 0);
    return cap >= 0 && cap < level ? cap : level;
}

#endif
