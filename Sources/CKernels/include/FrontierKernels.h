/*
 * Element-wise, normalisation and attention kernels of the Frontier engine.
 *
 * GEMMs go to OpenBLAS; everything between the GEMMs lives here so that it is
 * vectorised (AVX-512 / AVX2+FMA clones picked at load time by the dynamic
 * loader, a portable fallback elsewhere) and fused: each kernel makes one pass
 * over its rows, because at BERT sizes these passes are memory-bound and a
 * separate bias pass, GELU pass and residual pass would each cost as much as
 * the arithmetic.
 *
 * Layouts are row-major; "rows" are tokens, "cols" are features. No kernel
 * allocates; scratch space is passed in by the caller.
 */
#ifndef FRONTIER_KERNELS_H
#define FRONTIER_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* y[i] = erf(x[i]); rational approximation, |error| < 2e-7 absolute. */
void fk_erf(const float *x, float *y, size_t n);

/* y[i] = exp(x[i]); Cephes-style polynomial, about 1 ulp over [-87, 88]. */
void fk_exp(const float *x, float *y, size_t n);

/* y[r, c] = gelu(y[r, c] + bias[c]) with the exact erf GELU (BERT's "gelu"). bias may be NULL. */
void fk_bias_gelu(float *y, const float *bias, size_t rows, size_t cols);

/* As fk_bias_gelu on a tile with row stride ldc (a GEMM output block). */
void fk_bias_gelu_strided(float *y, size_t ldc, const float *bias, size_t rows, size_t cols);

/* y[r, c] += bias[c]. */
void fk_add_bias(float *y, const float *bias, size_t rows, size_t cols);

/*
 * y[r, :] = LayerNorm(y[r, :] + bias + residual[r, :]) * gamma + beta.
 * bias and residual may be NULL. The post-LN residual block of BERT fused in
 * one pass: the output projection leaves y, this finishes the sub-layer.
 */
void fk_bias_residual_layernorm(float *y, const float *bias, const float *residual,
                                const float *gamma, const float *beta,
                                size_t rows, size_t cols, float eps);

/*
 * Embedding sum for a packed batch: out[t, :] = word[ids[t]] + position[pos[t]]
 * (+ type[types[t]] when type_table is not NULL), then LayerNorm.
 * ids, positions and types must already be validated by the caller.
 */
void fk_embed_layernorm(float *out, const int *ids, const int *positions, const int *types,
                        const float *word_table, const float *position_table,
                        const float *type_table, const float *gamma, const float *beta,
                        size_t tokens, size_t hidden, float eps);

/*
 * Softmax attention of one head of one sequence, no mask (sequences are
 * packed without padding, so every key is a real token).
 *   q, k, v: len rows each, row stride ld_qkv floats, head_dim features.
 *   out:     n_query rows, row stride ld_out, head_dim features written.
 *   scratch: at least len floats.
 * out = softmax(q k^T * scale) v for the first n_query query rows (n_query = len for a full
 * layer; 1 when only the [CLS] row is needed downstream).
 */
void fk_attention_head(const float *q, const float *k, const float *v, size_t ld_qkv,
                       float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                       float scale, float *scratch);

/*
 * As fk_attention_head, as two register-blocked products (attention.c): the keys are transposed
 * once into kt, then per block of 8 query rows the scores are an 8 × 16 tile per vector of keys
 * and P·V an 8 × 32 tile of the output, so each load feeds 8 or 16 FMAs instead of each
 * (query, key) pair ending in a horizontal sum. AVX-512 runs that kernel; elsewhere a portable
 * vectorised version from 32 keys on, and fk_attention_head below (faster there). With len16 =
 * len rounded up to a multiple of 16: kt holds at least head_dim · len16 floats and scores at
 * least 8 · len16. Sums run in another order than fk_attention_head's (last-bit differences).
 */
void fk_attention_head_blocked(const float *q, const float *k, const float *v, size_t ld_qkv,
                               float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                               float scale, float *scores, float *kt);

/* The blocked attention's path for sequences of 32 keys or more: "avx512", "avx2", "vector" or
 * "plain". */
const char *fk_attention_isa(void);

/* Caps the blocked attention's path for tests: 0 plain, 1 vector, 2 avx2, 3 avx512 (never above what the
 * CPU has); a negative value restores automatic choice (capped at plain when the environment
 * has FRONTIER_ATTENTION=plain). */
void fk_attention_force_isa(int level);

/* 1 when the CPU has AVX-512 F, BW, DQ and VL (what OpenBLAS's SkylakeX kernels use). */
int fk_cpu_has_avx512(void);

/* 1 when the CPU has AVX2 and FMA. */
int fk_cpu_has_avx2_fma(void);

/* y[i] = tanh(x[i]) in place (pooler). */
void fk_tanh(float *x, size_t n);

#ifdef __cplusplus
}
#endif

#endif
