/*
 * Int8 dynamic quantization for linear layers: the same product as fk_linear_packed,
 * c[m, n] = a[m, k] · Wᵀ (+ bias) (then GELU), computed with 8-bit integer multiplies.
 *
 * Why dynamic and why these granularities: BERT activations change from token to token by
 * orders of magnitude (the [CLS] and [SEP] rows are much larger than the rest), so one scale
 * per tensor wastes most of the 8 bits on typical rows; a scale per token (row of a), computed
 * at call time, costs one pass over a and needs no calibration data. Weights are constant, so
 * they are quantized once, per output channel (row of W), which is the usual accuracy sweet
 * spot and keeps dequantization a rank-1 scale: c[r, j] = acc[r, j] · s_a[r] · s_w[j].
 *
 * Quantization (both operands, symmetric, zero point 0):
 *   amax = max |x| over the row;  s = amax / 127;  q = rint(x · (127 / amax)) clamped to ±127.
 *   A row with amax == 0 (or so small that 127 / amax overflows) quantizes to all zeros with
 *   s = 0, so it produces exact zeros (plus bias), never NaN.
 *   rint rounds half to even (the default rounding mode). -128 is never produced, which keeps
 *   the AVX2 sign trick below exact.
 * Accumulation is exact in int32 (|acc| ≤ 127² · k, < 2³¹ for k < 133 000), so every path
 * (AVX-512 VNNI, AVX2, portable C) computes the same integers; only the float dequantization
 * (acc · (s_a · s_w) + bias, possibly fused) may differ in the last bit.
 *
 * Kernels, chosen at run time like gemm.c's:
 *   "avx512-vnni": vpdpbusd multiplies unsigned by signed bytes, so activations are stored
 *       shifted to u8 (q + 128) and the shift is removed with a per-column compensation
 *       128 · Σ_k qW[j, k] precomputed at pack time (the accumulators start at its negative).
 *   "avx2": vpmaddubsw (u8 × s8 pairs → s16, saturating) fed with |q_a| and sign(q_a) · q_w
 *       (vpsignb): a pair sum is at most 2 · 127 · 127 = 32258 < 32767, so it never
 *       saturates, then vpmaddwd by ones widens to int32.
 *   "generic": plain C integer loops.
 *
 * Packed weight layout (the order the microkernels stream): panels of 16 output channels,
 * k in groups of 4: packed[p][q][j][t] = qW[16p + j][4q + t] (zero past n and k), 64 bytes
 * per (panel, group), i.e. one zmm per vpdpbusd.
 */
#ifndef FRONTIER_INT8_H
#define FRONTIER_INT8_H

#include <stddef.h>

#include "FrontierGemm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_qweight fk_qweight;

/* Quantizes w (n rows of k, PyTorch's [out, in]) per output channel and packs it.
 * NULL if out of memory or n or k is 0. */
fk_qweight *fk_qweight_create(const float *w, size_t n, size_t k);
void fk_qweight_destroy(fk_qweight *q);

/* Bytes held by the packed weight (int8 panels, scales, compensation). */
size_t fk_qweight_bytes(const fk_qweight *q);

/* The n per-output-channel scales s_w[j] = max_k |W[j, k]| / 127. */
const float *fk_qweight_scales(const fk_qweight *q);

/* Writes the quantized weight row j (k values, as quantized, before packing); for tests. */
void fk_qweight_row(const fk_qweight *q, size_t j, signed char *out);

/*
 * c[m, n] = dequant(quant(a) · quant(W)ᵀ) (+ bias) (then exact-erf GELU, the same as
 * fk_bias_gelu_strided). n and k must equal the qweight's. a has row stride lda, c row
 * stride ldc; pool may be NULL (single thread). Epilogues as fk_linear_packed (bias may be
 * NULL only with FK_EPILOGUE_NONE). Activation scratch (m · k bytes and m scales) is a
 * grow-only buffer owned by the calling thread, so one fk_qweight may serve several callers
 * at once.
 */
void fk_linear_int8(fk_pool *pool, const float *a, size_t lda, const fk_qweight *w,
                    const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                    int epilogue);

/*
 * Quantizes rows of a as fk_linear_int8 does (q = rint(a · 127 / amax), s = amax / 127):
 * q is rows × k, row stride ldq; scales gets one per row. For tests and benchmarks.
 */
void fk_int8_quantize_rows(const float *a, size_t lda, size_t rows, size_t k,
                           signed char *q, size_t ldq, float *scales);

/* The kernel family in use: "avx512-vnni", "avx2" or "generic". */
const char *fk_int8_isa(void);

/* Caps the kernel family for tests: 0 generic, 1 avx2, 2 avx512-vnni (never above what the
 * CPU has); a negative value restores automatic choice. */
void fk_int8_force_isa(int level);

/* Bytes of the calling thread's activation scratch (0 until its first fk_linear_int8). */
size_t fk_int8_scratch_bytes(void);

#ifdef __cplusplus
}
#endif

#endif
