/*
 * Linear layers computed in bfloat16 with fp32 accumulation: the same product as
 * fk_linear_packed, c[m, n] = a[m, k] · Wᵀ (+ bias) (then GELU), with both operands rounded to
 * bf16 and multiplied by vdpbf16ps (AVX512_BF16: Zen 4, Cooper Lake, Sapphire Rapids and later).
 *
 * Why: fk_linear_packed_bf16 (FrontierHalfGemm.h) only stores the weights in 16 bits and widens
 * them to fp32 before each FMA, so it runs at fp32 speed. vdpbf16ps does two multiply-adds per
 * fp32 lane per instruction (a pair of bf16 products summed into the fp32 accumulator), twice
 * the work of an fp32 FMA in the same issue slot, and reads half the bytes.
 *
 * Numerics: each activation and weight is rounded to bf16 (round to nearest even; 8 significant
 * bits); a product of two bf16 values is exact in fp32, and each pair is added into the fp32
 * accumulator odd element first, then even, as the instruction defines. Bias and GELU are fp32.
 * Like the instruction, the conversion and the products treat subnormal inputs as zero and flush
 * subnormal results (never met in BERT's weights and activations).
 *
 * Packed weight layout: panels of 16 output rows, k in pairs (zero-padded to even k and past n):
 * packed[p][t][j][e] = bf16(W[16p + j][2t + e]), 32 values (one zmm) per (panel, pair).
 */
#ifndef FRONTIER_BF16_DOT_H
#define FRONTIER_BF16_DOT_H

#include <stddef.h>
#include <stdint.h>

#include "FrontierGemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 16-bit values needed to hold an (n, k) weight in the pair layout. */
size_t fk_packed_size_bf16_pairs(size_t n, size_t k);

/* Rounds w (n rows of k, PyTorch's [out, in]) to bf16 and packs it in the pair layout. */
void fk_pack_weights_bf16_pairs(const float *w, size_t n, size_t k, uint16_t *packed);

/* As fk_linear_packed, with weights packed by fk_pack_weights_bf16_pairs and a rounded to bf16.
 * Each thread rounds the activation rows it multiplies into scratch of its own (at most 128 KiB),
 * so one packed weight may serve several callers at once. */
void fk_linear_bf16_dot(fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                        const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                        int epilogue);

/* The slow, obvious version of the same arithmetic (one output at a time), for tests. */
void fk_linear_bf16_dot_reference(const float *a, size_t lda, const uint16_t *packed,
                                  const float *bias, float *c, size_t ldc, size_t m, size_t n,
                                  size_t k, int epilogue);

/* Whether this CPU multiplies in bf16 (AVX-512 F/BW/DQ/VL and AVX512_BF16). Elsewhere
 * fk_linear_bf16_dot runs the portable version: right, and many times slower than fp32. */
int fk_cpu_has_avx512_bf16(void);

/* The kernel family in use: "avx512-bf16" or "generic". */
const char *fk_bf16_dot_isa(void);

/* Caps the kernel family for tests: 0 generic, 2 avx512-bf16 (never above what the CPU has);
 * a negative value restores automatic choice. */
void fk_bf16_dot_force_isa(int level);

#ifdef __cplusplus
}
#endif

#endif
