/*
 * Prepacked fp32 GEMM for linear layers, and the thread pool that runs it.
 *
 * A BERT layer multiplies a few dozen tokens (batch 1) to a few thousand (batch 32 × 128) by
 * constant weights. BLAS repacks the weight matrix on every call, which at small M costs as
 * much as the multiplication; here weights are packed once at load into 16-column panels
 * (K contiguous within a panel), and register-blocked microkernels (AVX-512: 8×32, AVX2+FMA:
 * 6×16, portable C otherwise) stream them. Bias and GELU are applied to each output tile
 * while it is still in L1.
 *
 * The pool keeps its workers spinning briefly between parallel regions (the gaps inside a
 * forward pass are microseconds) and sleeping otherwise, so an idle agent burns no power.
 */
#ifndef FRONTIER_GEMM_H
#define FRONTIER_GEMM_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FK_PANEL 16

typedef struct fk_pool fk_pool;

/* A pool of `threads` threads in total: the caller plus threads - 1 workers. */
fk_pool *fk_pool_create(int threads);
void fk_pool_destroy(fk_pool *pool);
int fk_pool_threads(const fk_pool *pool);

/* Runs fn(ctx, index, count) on every pool thread (index 0 is the caller) and waits. */
void fk_pool_run(fk_pool *pool, void (*fn)(void *ctx, int index, int count), void *ctx);

/*
 * The pool the calling thread's parallel loops should run on, or NULL (a thread-local setting).
 * Training sets it for a step so that its element-wise loops and its GEMMs share one set of
 * threads: a second pool (Dispatch's) woke threads while this pool's workers were still spinning
 * after a GEMM, more runnable threads than cores.
 */
fk_pool *fk_current_pool(void);
void fk_set_current_pool(fk_pool *pool);

/* Floats needed to hold an (n, k) weight packed into panels. */
size_t fk_packed_size(size_t n, size_t k);

/* Packs w (n rows of k, row-major: PyTorch's [out, in]) into panels of FK_PANEL rows. */
void fk_pack_weights(const float *w, size_t n, size_t k, float *packed);

enum fk_epilogue { FK_EPILOGUE_NONE = 0, FK_EPILOGUE_BIAS = 1, FK_EPILOGUE_BIAS_GELU = 2 };

/*
 * c[m, n] = a[m, k] · wᵀ (+ bias) (then GELU), with w packed by fk_pack_weights.
 * a has row stride lda, c row stride ldc. Work is split over the pool's threads by column
 * panels (pool may be NULL: single thread).
 */
void fk_linear_packed(fk_pool *pool, const float *a, size_t lda, const float *packed,
                      const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                      int epilogue);

/* The microkernel family in use: "avx512", "avx2" or "generic" (for reports). */
const char *fk_gemm_isa(void);

/* Forces the portable kernel (1) or restores automatic choice (0); for tests. */
void fk_gemm_force_generic(int force);

/*
 * Attention over a packed batch, split over the pool by (sequence, head):
 *   qkv:     (tokens, 3·heads·head_dim): Q | K | V, each head-major
 *   context: (tokens, heads·head_dim)
 *   offsets: nseq + 1 row offsets
 *   scratch: pool threads × max_len floats
 * With cls_only, only each sequence's first query row is computed (context row offsets[s]).
 */
void fk_attention_packed(fk_pool *pool, const float *qkv, float *context, const int *offsets,
                         size_t nseq, size_t heads, size_t head_dim, float scale,
                         float *scratch, size_t max_len, int cls_only);

/* Row-parallel versions of the element-wise kernels of FrontierKernels.h. */
void fk_parallel_add_bias(fk_pool *pool, float *y, const float *bias, size_t rows, size_t cols);
void fk_parallel_bias_residual_layernorm(fk_pool *pool, float *y, const float *bias,
                                         const float *residual, const float *gamma,
                                         const float *beta, size_t rows, size_t cols, float eps);

#ifdef __cplusplus
}
#endif

#endif
