/*
 * The passes of a training step besides its GEMMs: the optimiser update over every parameter, the
 * global gradient norm, the operand rearrangements of the three GEMMs of a linear layer, GELU
 * forward and backward, and softmax attention forward and backward per (sequence, head).
 *
 * Each runs once per step over up to the whole parameter vector (22.7 M floats for MiniLM-L6,
 * 110 M for BERT-base) or every activation, so a scalar loop here cost a fifth of a step. The
 * callers split the work over threads; these functions are the per-chunk bodies.
 */
#ifndef FRONTIER_TRAINING_KERNELS_H
#define FRONTIER_TRAINING_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One AdamW step on n elements, as torch.optim.AdamW computes it element by element, with the
 * gradient first multiplied by grad_scale (clip_grad_norm_'s coefficient, or 1):
 *   g' = g·grad_scale; p ← p·decay; m ← m + (1−β₁)(g' − m); v ← β₂v + (1−β₂)g'²;
 *   p ← p − step_size · m / (√v / correction2_root + eps)
 * No multiply-add is fused, so the result equals the same expressions evaluated one rounding at
 * a time (the Swift reference and PyTorch's eager kernels).
 */
void fk_adamw(float *p, float *m, float *v, const float *g, size_t n, float grad_scale, float decay,
              float beta1, float beta2, float step_size, float correction2_root, float eps);

/*
 * `steps` AdamW steps with a zero gradient on n elements, step s with its own step_size[s],
 * correction2_root[s] and decay[s]: the same operations as fk_adamw with g = 0, in the same order,
 * so a row of an embedding table whose updates were deferred while no example used it ends with
 * the bits it would have had if every step had updated it. The n elements stay in L1 across the
 * steps: catching a row up costs arithmetic, not a pass over memory per step.
 */
void fk_adamw_replay(float *p, float *m, float *v, size_t n, const float *step_size, const float *correction2_root,
                     const float *decay, size_t steps, float beta1, float beta2, float eps);

/* Σ x[i]² in double. The order of the additions is fixed by the code path (8 lanes, then the
 * lanes in order), so the same CPU gives the same sum every time. */
double fk_sum_squares(const float *x, size_t n);

/* y[i] += x[i]. */
void fk_add_into(float *y, const float *x, size_t n);

/* dst (cols × rows) = srcᵀ for the source columns [col_begin, col_end) of src (rows × cols). */
void fk_transpose_columns(const float *src, size_t rows, size_t cols, float *dst, size_t col_begin,
                          size_t col_end);

/*
 * Packs wᵀ into fk_pack_weights' panels without forming wᵀ: w is rows × cols (row-major), the
 * packed matrix has n = cols rows of k = rows values. Only panels [panel_begin, panel_end) are
 * written (a caller splits the panels over threads). Panel p's group kk is 16 consecutive values
 * of w's row kk, so this reads w in order.
 */
void fk_pack_transposed_panels(const float *w, size_t rows, size_t cols, float *packed, size_t panel_begin,
                               size_t panel_end);

/* fk_pack_weights for panels [panel_begin, panel_end) only. */
void fk_pack_weights_panels(const float *w, size_t n, size_t k, float *packed, size_t panel_begin,
                            size_t panel_end);

/* g = ½u(1 + erf(u/√2)), GELU with the exact erf (the approximation of kernels.c's fk_erf). */
void fk_gelu_forward(const float *u, float *g, size_t n);

/* dg ← dg·(Φ(u) + u·φ(u)), GELU's derivative applied to the gradient in place, in one pass
 * (erf and exp computed per element instead of into scratch arrays). */
void fk_gelu_backward(const float *u, float *dg, size_t n);

/*
 * Softmax attention of one (sequence, head) block, for training: P = softmax(scale·QKᵀ) is
 * written to p (queries × length, kept for the backward pass), dropout by mask (queries ×
 * length bytes, 1 = kept, NULL for none) scales the kept probabilities by keep = 1/(1−rate), and
 * context (queries rows, context_ld apart) = P'·V. q, k and v point at the block's first row,
 * rows ld apart, d = head dim; queries is length, or 1 when only [CLS] attends. scratch holds
 * d·length + d floats.
 */
void fk_attention_block_forward(const float *q, const float *k, const float *v, size_t ld, size_t d, size_t length,
                                size_t queries, float scale, float *p, const unsigned char *mask, float keep,
                                float *context, size_t context_ld, float *scratch);

/*
 * The backward of fk_attention_block_forward from dc (queries rows, dc_ld apart): dq, dk and dv
 * (rows ld apart, as q, k, v) are overwritten, dq's rows past queries with zeros. scratch holds
 * d·length + length floats.
 */
void fk_attention_block_backward(const float *q, const float *k, const float *v, size_t ld, size_t d, size_t length,
                                 size_t queries, float scale, const float *p, const unsigned char *mask, float keep,
                                 const float *dc, size_t dc_ld, float *dq, float *dk, float *dv, float *scratch);

#ifdef __cplusplus
}
#endif

#endif
