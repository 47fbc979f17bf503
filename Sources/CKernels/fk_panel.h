/*
 * The register-blocked SIMD GEMM over weights packed in 16-column panels (fk_pack_weights's
 * layout), shared by the fp32 linear layer (gemm.c) and the 16-bit-weight one (half_gemm.c).
 * Internal to the target.
 *
 * The two products differ only in how a 16-value weight group becomes 16 fp32 values after its
 * load (a plain load, or a widening load), so one microkernel per ISA, instantiated per weight
 * format, serves both, and a tuning of the register block or row blocking applies to both.
 */
#ifndef FK_PANEL_H
#define FK_PANEL_H

#include <stddef.h>

#include "FrontierGemm.h"
#include "FrontierHalfGemm.h"
#include "FrontierKernels.h"
#include "fk_common.h"

/* How the panels store W: the 16-bit formats keep FrontierHalfGemm.h's codes. */
enum fk_panel_format { FK_PANEL_F16 = FK_HALF_F16, FK_PANEL_BF16 = FK_HALF_BF16, FK_PANEL_F32 = 2 };

/* c[m, n] = a[m, k] · Wᵀ (+ bias) (then GELU), W packed as `format`. */
typedef struct {
    int format;
    const float *a;
    size_t lda;
    const void *packed; /* float for FK_PANEL_F32, else uint16_t */
    const float *bias;
    float *c;
    size_t ldc, m, n, k;
    int epilogue; /* FK_EPILOGUE_NONE when bias is NULL */
} fk_panel_args;

/* Column panels [p_begin, p_end), all m rows: AVX-512 in MR × 32 tiles (panels p_begin,
 * p_begin + 1 together, and so on), AVX2 in MR × 16. stage: NULL, or 32 · k floats of this
 * thread's own into which 16-bit panels are widened once per row block when the block is tall
 * enough to pay for it (see half_gemm.c); ignored for fp32. */
FK_HIDDEN void fk_panel_gemm_avx512(const fk_panel_args *x, size_t p_begin, size_t p_end, float *stage);
FK_HIDDEN void fk_panel_gemm_avx2(const fk_panel_args *x, size_t p_begin, size_t p_end, float *stage);

/* Pool thread `index` of `count`'s panels [*p0, *p1) of an n-column product: whole steps of
 * `step` panels (2 for the AVX-512 kernel's panel pairs), split evenly. Empty when *p0 >= *p1. */
FK_INLINE void fk_panel_range(size_t n, size_t step, int index, int count, size_t *p0, size_t *p1) {
    const size_t panels = (n + FK_PANEL - 1) / FK_PANEL;
    const size_t steps = (panels + step - 1) / step;
    *p0 = steps * (size_t)index / (size_t)count * step;
    *p1 = steps * (size_t)(index + 1) / (size_t)count * step;
    if (*p1 > panels) *p1 = panels;
}

/* Bias and GELU on a freshly stored tile of c, while it is still in L1. */
FK_INLINE void fk_tile_epilogue(float *c, size_t ldc, size_t rows, size_t cols, const float *bias,
                                int epilogue) {
    if (epilogue == FK_EPILOGUE_BIAS_GELU) {
        fk_bias_gelu_strided(c, ldc, bias, rows, cols);
    } else if (epilogue == FK_EPILOGUE_BIAS) {
        for (size_t r = 0; r < rows; r++) {
            float *row = c + r * ldc;
            for (size_t j = 0; j < cols; j++) row[j] += bias[j];
        }
    }
}

#endif
