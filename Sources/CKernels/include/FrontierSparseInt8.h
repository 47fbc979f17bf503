/*
 * Sparse × int8 linear layer: a pruned weight stored as int8 nonzeros with one scale per output
 * channel, multiplied by int8 activations with one scale per row; the product of
 * fk_linear_int8 (the same quantization rule, FrontierInt8.h) at the cost of the nonzeros.
 *
 * Why both: pruning removes multiplies, int8 makes each remaining one cheaper and its weight a
 * quarter of the bytes; the combination is what sparse-inference runtimes lead with. The layout
 * follows the fp32 sparse kernel (FrontierSparse.h): the product is computed transposed,
 * cᵀ = W · aᵀ, over tiles of 64 activation rows quantized straight into k-major order, so a
 * tile's 64 rows of one column are one 64-byte vector (32 rows and 32-byte vectors for tiles of
 * at most 32 rows: one sequence's tokens at batch 1). VNNI's vpdpbusd sums four byte products
 * per 32-bit lane, so each output feature's nonzeros are taken four at a time (a "quad", the
 * last one of a segment padded with zero weights): the four columns' vectors are interleaved
 * bytewise (six unpacks) into four vectors of 16 rows × 4 bytes, and four vpdpbusd against the
 * broadcast quad of weights add 256 products. The tile is stored with its 16-row groups
 * permuted so that the interleave leaves the rows in order.
 *
 * Quantization (activations per row, weights per output channel, symmetric, ±127) is exactly
 * fk_linear_int8's, weights rounded from the masked fp32 values; a nonzero weight that rounds
 * to 0 is not stored. Sums are exact in int32, so every path computes the same integers;
 * dequantization is acc · (s_a · s_w) (+ bias, one fused multiply-add) (then GELU), as in fk_linear_int8.
 *
 * Kernels: "avx512-vnni", and portable C ("generic": one integer dot product per output), chosen
 * at run time. CPUs without VNNI run the portable path, which is slower than fp32 sparse; the
 * engine says so and keeps such layers off this kernel.
 */
#ifndef FRONTIER_SPARSE_INT8_H
#define FRONTIER_SPARSE_INT8_H

#include <stddef.h>

#include "FrontierGemm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_sparse_q fk_sparse_q;

/*
 * Quantizes a dense row-major (n, k) weight (PyTorch's [out, in]) per output channel and keeps
 * its nonzero int8 values. NULL when out of memory, when n or k is 0, or when k > 65536.
 */
fk_sparse_q *fk_sparse_q_create(const float *w, size_t n, size_t k);
void fk_sparse_q_destroy(fk_sparse_q *s);

/* Stored weights: nonzero after quantization (padding not counted). */
size_t fk_sparse_q_nnz(const fk_sparse_q *s);
/* Bytes held by s (indices, int8 quads, scales, compensation, segment pointers, header). */
size_t fk_sparse_q_bytes(const fk_sparse_q *s);
/* The n per-output-channel scales s_w[j] = max_k |W[j, k]| / 127. */
const float *fk_sparse_q_scales(const fk_sparse_q *s);

/*
 * c[m, n] = dequant(quant(a) · quant(W)ᵀ) (+ bias) (then GELU): the contract of fk_linear_int8.
 * n and k must be those s was created with; pool may be NULL. Scratch (the quantized tile, its
 * scales and int32 partial sums, 64·k bytes + 80 KiB) is per calling thread and kept between
 * calls; out of memory for it, the portable path runs.
 */
void fk_linear_sparse_int8(fk_pool *pool, const float *a, size_t lda, const fk_sparse_q *w, const float *bias,
                           float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue);

/* The slow, obvious version: rows quantized with fk_int8_quantize_rows, one integer dot product
 * per output over the stored weights. For tests. */
void fk_linear_sparse_int8_reference(const float *a, size_t lda, const fk_sparse_q *w, const float *bias,
                                     float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue);

/*
 * A transformer's feed-forward block on two sparse int8 weights:
 *   c[m, n2] = W2 · GELU(W1 · a + b1) + b2,
 * with w1 of shape (n1, k1) and w2 of shape (n2, n1) (w2's k must be w1's n), both biases given.
 * The values are exactly those of the two fk_linear_sparse_int8 calls (GELU, then bias) it
 * replaces. Where the rows can be split between threads (VNNI, at least two 64-row tiles per
 * thread), the block runs per tile with the intermediate kept feature-major in the thread's scratch
 * (about 4.1·n1·64 bytes beside the first product's): the first product's sums are already the
 * k-major layout the second reads, so the intermediate is neither written row-major nor
 * transposed back. Otherwise, and for one row, it makes the two calls, with `hidden`
 * (m rows of n1, row stride ldh) holding the intermediate; `hidden` may be overwritten either way.
 */
void fk_ffn_sparse_int8(fk_pool *pool, const float *a, size_t lda, const fk_sparse_q *w1, const float *b1,
                        const fk_sparse_q *w2, const float *b2, float *hidden, size_t ldh, float *c, size_t ldc,
                        size_t m);
/* The two reference calls (fk_linear_sparse_int8_reference) through `hidden`. For tests. */
void fk_ffn_sparse_int8_reference(const float *a, size_t lda, const fk_sparse_q *w1, const float *b1,
                                  const fk_sparse_q *w2, const float *b2, float *hidden, size_t ldh, float *c,
                                  size_t ldc, size_t m);
/* Kernel family in use: "avx512-vnni" or "generic". */
const char *fk_sparse_int8_isa(void);

/* Caps the kernel family for tests: 0 portable, 2 AVX-512 VNNI (never above what the CPU has);
 * -1 restores automatic choice. fk_gemm_force_generic(1) also forces the portable path. */
void fk_sparse_int8_force_isa(int level);

#ifdef __cplusplus
}
#endif

#endif
