/*
 * How every kernel file is compiled: included first by each .c file of this target (after
 * _GNU_SOURCE, before any other header). Internal: not in include/, so not part of the module.
 *
 * FP contraction. The kernels were tuned and their numerics checked with a*b + c fused into one
 * FMA wherever the compiler sees it, also across statements (-ffp-contract=fast). Clang's default
 * (on) fuses only within one expression: it compiles four of the five kernel files differently
 * and changes results in the last bit (about 1 in 10 outputs of kernels.c's element-wise,
 * LayerNorm and attention kernels in a test, and the int8 AVX-512 dequantization with a bias).
 * The pragma gives the same code as the flag, with no flag for the package to pass as an unsafe
 * one. It comes before <immintrin.h> because the flag also applied to the intrinsics' inline
 * bodies (an _mm512_mul_ps and a following _mm512_add_ps fuse). GCC (the benchmarks) fuses
 * across statements by default in GNU C.
 *
 * ISA targets. Each SIMD function carries its instruction set as a target attribute and is only
 * called after a run-time check (fk_cpu.h), so the target builds with no -m flag and one binary
 * runs on any x86-64.
 *
 * Optimisation level. SwiftPM compiles C at -O2 in release builds (-O0 in debug), and nothing in
 * the source can raise that. What -O3 did for these kernels is written out instead: FK_UNROLL on
 * register-block loops, and loops split by hand on a loop-invariant test (an always-inline body
 * with the test's outcome as a constant parameter, called once per case), since -O2 does not
 * unswitch loops. Without those, -O2 was slower than -O3 by 5-20 % on the sparse kernel, up to
 * 10 % on int8 and a few % on fp16/bf16 (Xeon, AVX-512); with them it is on par.
 */
#ifndef FK_COMMON_H
#define FK_COMMON_H

#if defined(__clang__)
#pragma clang fp contract(fast)
#endif

#define FK_INLINE static inline __attribute__((always_inline))

/* Before a loop over a kernel's register block (accumulators indexed by row and panel): the loop
 * must be unrolled completely or the accumulators live in memory, and -O2's full-unroll size
 * limit is half of -O3's (the int8 VNNI epilogue, 6 rows × 4 panels, is over it). */
#if defined(__clang__)
#define FK_UNROLL _Pragma("clang loop unroll(full)")
#elif defined(__GNUC__)
#define FK_UNROLL _Pragma("GCC unroll 64")
#else
#define FK_UNROLL
#endif

/* Shared between the kernel files, never exported from a shared library. */
#define FK_HIDDEN __attribute__((visibility("hidden")))

#if defined(__x86_64__)
#include <immintrin.h>
#define FK_X86 1
/* AVX-512 F, DQ, BW, VL: what fk_cpu's FK_CPU_AVX512 checks (the 512-bit vcvtph2ps is AVX-512F). */
#define FK_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,avx2")))
#define FK_TARGET_AVX512_VNNI __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512vnni,fma,avx2")))
/* AVX-512 with the bf16 dot product (vdpbf16ps) and conversion (vcvtne2ps2bf16). */
#define FK_TARGET_AVX512_BF16 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx512bf16,fma,avx2")))
#define FK_TARGET_AVX2 __attribute__((target("avx2,fma")))
/* AVX2 code that may also widen fp16 (the 256-bit vcvtph2ps is F16C). */
#define FK_TARGET_AVX2_F16C __attribute__((target("avx2,fma,f16c")))
#endif

#endif
