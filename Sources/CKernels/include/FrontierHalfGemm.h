/*
 * Linear layers with 16-bit weight storage and fp32 arithmetic: the same product as
 * fk_linear_packed, c[m, n] = a[m, k] · Wᵀ (+ bias) (then GELU), with W held as IEEE fp16 or
 * bfloat16 in the panel layout of fk_pack_weights (panel p holds rows [16p, 16p + 16) of W as
 * k groups of 16 values, zero-padded past n).
 *
 * Why: the weights are most of a model's memory and, at small batch, most of a GEMM's memory
 * traffic. Halving them halves both, while activations, accumulation, bias and GELU stay fp32,
 * so the only error is the one-time rounding of each weight (fp16: 11-bit significand, range
 * ±65504; bf16: 8-bit significand, fp32's range). The microkernels are gemm.c's (AVX-512 8×32,
 * AVX2 6×16, portable C) with each 16-value weight group widened to fp32 in registers right
 * after its load: fp16 with vcvtph2ps (F16C / AVX-512F), bf16 by zero-extending to 32 bits and
 * shifting left 16 (a bf16 is the top half of an fp32). Widening is exact, so results equal
 * fk_linear_packed on the rounded weights up to summation order.
 *
 * Rounding at pack time is round-to-nearest-even for both formats; fp16 overflows to ±inf
 * above 65504 (never in BERT weights); NaN stays NaN.
 */
#ifndef FRONTIER_HALF_GEMM_H
#define FRONTIER_HALF_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "FrontierGemm.h"

#ifdef __cplusplus
extern "C" {
#endif

enum fk_half_format { FK_HALF_F16 = 0, FK_HALF_BF16 = 1 };

/* 16-bit values needed to hold an (n, k) weight packed into panels (= fk_packed_size). */
size_t fk_packed_size_half(size_t n, size_t k);

/* Packs w (n rows of k, PyTorch's [out, in]) into panels, rounding each value to the format. */
void fk_pack_weights_f16(const float *w, size_t n, size_t k, uint16_t *packed);
void fk_pack_weights_bf16(const float *w, size_t n, size_t k, uint16_t *packed);

/* One value each way (round to nearest even; widening is exact). */
uint16_t fk_float_to_f16(float x);
float fk_f16_to_float(uint16_t h);
uint16_t fk_float_to_bf16(float x);
float fk_bf16_to_float(uint16_t h);

/* As fk_linear_packed, with weights packed by fk_pack_weights_f16 / fk_pack_weights_bf16. */
void fk_linear_packed_f16(fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                          const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                          int epilogue);
void fk_linear_packed_bf16(fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                           const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                           int epilogue);

/* The microkernel family in use: "avx512", "avx2" or "generic" (fp16 at "avx2" also needs F16C). */
const char *fk_half_gemm_isa(void);

/* Caps the kernel family for tests: 0 generic, 1 avx2, 2 avx512 (never above what the CPU
 * has); a negative value restores automatic choice. */
void fk_half_gemm_force_isa(int level);

/* fk_half_gemm_force_isa(0) when force is nonzero, else automatic choice. */
void fk_half_gemm_force_generic(int force);

#ifdef __cplusplus
}
#endif

#endif
