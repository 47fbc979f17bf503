/*
 * Unstructured-sparsity linear layer: the same product as fk_linear_packed, over a weight
 * whose pruned entries are exact zeros, costing time in proportion to the nonzeros.
 *
 * A dense GEMM vectorises over output columns; with unstructured sparsity a 16-column group
 * of W almost never shares a zero pattern, so nothing can be skipped that way. Here the
 * product is computed transposed, cᵀ = W · aᵀ: each thread transposes a tile of up to 64
 * activation rows into k-major order (at[kk] holds a[i0 .. i0+63, kk] in four vectors), and
 * each nonzero W[j, kk] then costs one broadcast and one FMA per vector of rows held in
 * registers. W is kept as compressed rows (one per output feature) with 16-bit column indices
 * and fp32 values, cut into k-blocks so the slice of the tile being read stays in L1; a
 * finished block of 16 features is transposed back in registers and stored row-major, with
 * bias and GELU applied while it is still in L1. Large batches are split over the pool by row
 * tiles, small ones by 16-feature blocks balanced by nonzero count. One row (m = 1) has
 * nothing to vectorise over and is a scalar dot product per feature.
 *
 * Kernels: AVX-512, AVX2 + FMA and portable C, chosen at run time like gemm.c's.
 */
#ifndef FRONTIER_SPARSE_H
#define FRONTIER_SPARSE_H

#include <stddef.h>

#include "FrontierGemm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct fk_sparse fk_sparse;

/*
 * Builds the sparse form of a dense row-major (n, k) weight (PyTorch's [out, in]) whose pruned
 * entries are exactly 0 (negative zero counts as zero). Returns NULL when out of memory or when
 * k > 65536 (column indices are 16-bit).
 */
fk_sparse *fk_sparse_create(const float *w, size_t n, size_t k);
void fk_sparse_destroy(fk_sparse *s);

size_t fk_sparse_nnz(const fk_sparse *s);
/* Bytes held by s (indices, values, row pointers and the header). */
size_t fk_sparse_bytes(const fk_sparse *s);
size_t fk_sparse_rows(const fk_sparse *s); /* n */
size_t fk_sparse_cols(const fk_sparse *s); /* k */

/*
 * c[m, n] = a[m, k] · wᵀ (+ bias) (then GELU), exactly the contract of fk_linear_packed:
 * a has row stride lda, c row stride ldc, epilogue is an fk_epilogue, and with bias NULL no
 * epilogue is applied. n and k must be those w was created with. pool may be NULL (one thread).
 *
 * Scratch (the transposed activation tile and partial sums, at most 64·(k + 256) floats) is
 * thread-local and kept by each thread between calls, so the function is reentrant: several
 * threads may use the same fk_sparse at once, each with its own pool. Out of memory for
 * scratch, it falls back to the reference below.
 */
void fk_linear_sparse(fk_pool *pool, const float *a, size_t lda, const fk_sparse *w, const float *bias,
                      float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue);

/* The slow, obvious version (one dot product per output over the compressed rows), for tests. */
void fk_linear_sparse_reference(const float *a, size_t lda, const fk_sparse *w, const float *bias,
                                float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue);

/* Kernel family in use: "avx512", "avx2" or "generic". */
const char *fk_sparse_isa(void);

/*
 * Caps the kernel family for tests: 0 portable, 1 AVX2, 2 AVX-512 (never above what the CPU
 * has); -1 restores automatic choice. fk_gemm_force_generic(1) also forces the portable path.
 */
void fk_sparse_force_isa(int level);

/*
 * A transformer's feed-forward block on two sparse weights:
 *   c[m, n2] = W2 · GELU(W1 · a + b1) + b2,
 * w1 of shape (n1, k1), w2 of shape (n2, n1) (w2's k must be w1's n), both biases given. The
 * values are exactly those of the two fk_linear_sparse calls (GELU, then bias) it replaces.
 * Where the rows can be split between threads (AVX-512 or AVX2, at least two tiles per thread),
 * each tile runs the whole block with the intermediate kept feature-major in the thread's scratch
 * ((k1 + n1 + 256) · 64 floats): the first product's sums are already the transposed layout the
 * second reads, so the intermediate skips two transposes and a trip through memory. Otherwise it
 * makes the two calls, with `hidden` (m rows of n1, stride ldh) holding the intermediate;
 * `hidden` may be overwritten either way.
 */
void fk_ffn_sparse(fk_pool *pool, const float *a, size_t lda, const fk_sparse *w1, const float *b1,
                   const fk_sparse *w2, const float *b2, float *hidden, size_t ldh, float *c, size_t ldc, size_t m);
/* The two reference calls through `hidden`. For tests. */
void fk_ffn_sparse_reference(const float *a, size_t lda, const fk_sparse *w1, const float *b1, const fk_sparse *w2,
                             const float *b2, float *hidden, size_t ldh, float *c, size_t ldc, size_t m);

#ifdef __cplusplus
}
#endif

#endif
