/*
 * See include/FrontierTrainingKernels.h. Plain loops the compiler vectorises, cloned per ISA
 * (FK_CLONES, as in kernels.c) so one binary picks AVX-512 or AVX2 at load time.
 */
#include "fk_common.h"
#include "FrontierTrainingKernels.h"
#include "FrontierGemm.h"
#include "fk_math.h"

#include <math.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FK_CLONES
#endif

/* IEEE square root without errno: sqrtf may set errno for a negative argument, and that side
 * effect kept the AdamW loops scalar (one vsqrtss and two vdivss per element, about 12 ns). The
 * result is the same correctly rounded value. */
#if defined(__clang__) && __has_builtin(__builtin_elementwise_sqrt)
#define FK_SQRT(x) __builtin_elementwise_sqrt(x)
#else
#define FK_SQRT(x) sqrtf(x)
#endif

/* One element of one AdamW step, one rounding per operation (no fused multiply-add), shared by the
 * update and the replay so the two give the same bits. */
FK_INLINE void fk_adamw_element(float *p, float *m, float *v, float grad, float decay, float beta1, float beta2,
                                float step_size, float correction2_root, float eps) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    const float param = *p * decay;
    const float first = *m + (1.0f - beta1) * (grad - *m);
    const float second = beta2 * *v + (1.0f - beta2) * grad * grad;
    *m = first;
    *v = second;
    *p = param - step_size * (first / (FK_SQRT(second) / correction2_root + eps));
}

FK_CLONES
void fk_adamw(float *restrict p, float *restrict m, float *restrict v, const float *restrict g, size_t n,
              float grad_scale, float decay, float beta1, float beta2, float step_size, float correction2_root,
              float eps) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    for (size_t i = 0; i < n; i++) {
        fk_adamw_element(p + i, m + i, v + i, g[i] * grad_scale, decay, beta1, beta2, step_size, correction2_root, eps);
    }
}

FK_CLONES
void fk_adamw_replay(float *restrict p, float *restrict m, float *restrict v, size_t n, const float *restrict step_size,
                     const float *restrict correction2_root, const float *restrict decay, size_t steps, float beta1,
                     float beta2, float eps) {
#if defined(__clang__)
#pragma clang fp contract(off)
#endif
    for (size_t s = 0; s < steps; s++) {
        const float d = decay[s], size = step_size[s], root = correction2_root[s];
        for (size_t i = 0; i < n; i++) fk_adamw_element(p + i, m + i, v + i, 0.0f, d, beta1, beta2, size, root, eps);
    }
}

FK_CLONES
double fk_sum_squares(const float *restrict x, size_t n) {
    double lanes[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int l = 0; l < 8; l++) lanes[l] += (double)x[i + l] * (double)x[i + l];
    }
    for (; i < n; i++) lanes[i % 8] += (double)x[i] * (double)x[i];
    double sum = 0;
    for (int l = 0; l < 8; l++) sum += lanes[l];
    return sum;
}

FK_CLONES
void fk_add_into(float *restrict y, const float *restrict x, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] += x[i];
}

FK_CLONES
void fk_transpose_columns(const float *restrict src, size_t rows, size_t cols, float *restrict dst,
                          size_t col_begin, size_t col_end) {
    enum { TILE = 16 };
    for (size_t c0 = col_begin; c0 < col_end; c0 += TILE) {
        const size_t c1 = c0 + TILE < col_end ? c0 + TILE : col_end;
        for (size_t r0 = 0; r0 < rows; r0 += TILE) {
            const size_t r1 = r0 + TILE < rows ? r0 + TILE : rows;
            for (size_t c = c0; c < c1; c++) {
                float *out = dst + c * rows;
                for (size_t r = r0; r < r1; r++) out[r] = src[r * cols + c];
            }
        }
    }
}

FK_CLONES
void fk_pack_transposed_panels(const float *restrict w, size_t rows, size_t cols, float *restrict packed,
                               size_t panel_begin, size_t panel_end) {
    const size_t k = rows;
    for (size_t p = panel_begin; p < panel_end; p++) {
        float *dst = packed + p * FK_PANEL * k;
        const size_t col = p * FK_PANEL;
        const size_t width = cols - col < FK_PANEL ? cols - col : FK_PANEL;
        if (width == FK_PANEL) {
            for (size_t kk = 0; kk < k; kk++) memcpy(dst + kk * FK_PANEL, w + kk * cols + col, FK_PANEL * sizeof(float));
        } else {
            for (size_t kk = 0; kk < k; kk++) {
                for (size_t j = 0; j < FK_PANEL; j++) dst[kk * FK_PANEL + j] = j < width ? w[kk * cols + col + j] : 0.0f;
            }
        }
    }
}

FK_CLONES
void fk_pack_weights_panels(const float *restrict w, size_t n, size_t k, float *restrict packed, size_t panel_begin,
                            size_t panel_end) {
    for (size_t p = panel_begin; p < panel_end; p++) {
        float *dst = packed + p * FK_PANEL * k;
        for (size_t j = 0; j < FK_PANEL; j++) {
            const size_t row = p * FK_PANEL + j;
            if (row < n) {
                const float *src = w + row * k;
                for (size_t kk = 0; kk < k; kk++) dst[kk * FK_PANEL + j] = src[kk];
            } else {
                for (size_t kk = 0; kk < k; kk++) dst[kk * FK_PANEL + j] = 0.0f;
            }
        }
    }
}


FK_CLONES
void fk_gelu_forward(const float *restrict u, float *restrict g, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float x = u[i];
        g[i] = 0.5f * x * (1.0f + fk_erf1(x * 0.70710678118654752440f));
    }
}

FK_CLONES
void fk_gelu_backward(const float *restrict u, float *restrict dg, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float x = u[i];
        const float cdf = 0.5f * (1.0f + fk_erf1(x * 0.70710678118654752440f));
        const float pdf = fk_exp1(-0.5f * x * x) * 0.39894228040143267794f;
        dg[i] *= cdf + x * pdf;
    }
}

/* The transpose of `length` rows of d values, `ld` apart, as d rows of `stride` values (the
 * columns past `length` left as they are). */
FK_INLINE void fk_transpose_head(const float *restrict x, size_t ld, size_t length, size_t d, float *restrict xt,
                                 size_t stride) {
    for (size_t j = 0; j < length; j++) {
        const float *row = x + j * ld;
        for (size_t t = 0; t < d; t++) xt[t * stride + j] = row[t];
    }
}

/* row[j] = Σ_t coefficient[t]·xt[t][j] for j < length: one query's scores (or one context
 * gradient's dP row) with the length-long loop innermost, where the vectors are. */
FK_INLINE void fk_row_times_transposed(const float *restrict coefficient, const float *restrict xt, size_t stride,
                                       size_t length, size_t d, float *restrict row) {
    for (size_t j = 0; j < length; j++) row[j] = 0.0f;
    for (size_t t = 0; t < d; t++) {
        const float c = coefficient[t];
        const float *restrict column = xt + t * stride;
        for (size_t j = 0; j < length; j++) row[j] += c * column[j];
    }
}

FK_CLONES
void fk_attention_block_forward(const float *restrict q, const float *restrict k, const float *restrict v, size_t ld,
                                size_t d, size_t length, size_t queries, float scale, float *restrict p,
                                const unsigned char *restrict mask, float keep, float *restrict context,
                                size_t context_ld, float *restrict scratch) {
    if (length == 0) return;
    float *restrict kt = scratch;
    float *restrict scaled = scratch + d * length;
    fk_transpose_head(k, ld, length, d, kt, length);
    for (size_t i = 0; i < queries; i++) {
        const float *qi = q + i * ld;
        float *restrict row = p + i * length;
        for (size_t t = 0; t < d; t++) scaled[t] = qi[t] * scale;
        fk_row_times_transposed(scaled, kt, length, length, d, row);
        float top = row[0];
        for (size_t j = 1; j < length; j++) top = row[j] > top ? row[j] : top;
        float sum = 0.0f;
        for (size_t j = 0; j < length; j++) {
            const float e = fk_exp1(row[j] - top);
            row[j] = e;
            sum += e;
        }
        const float inv = 1.0f / sum;
        for (size_t j = 0; j < length; j++) row[j] *= inv;
        float *restrict out = context + i * context_ld;
        for (size_t t = 0; t < d; t++) out[t] = 0.0f;
        const unsigned char *m = mask ? mask + i * length : NULL;
        for (size_t j = 0; j < length; j++) {
            float weight = row[j];
            if (m) weight = m[j] ? weight * keep : 0.0f;
            const float *restrict vj = v + j * ld;
            for (size_t t = 0; t < d; t++) out[t] += weight * vj[t];
        }
    }
}

FK_CLONES
void fk_attention_block_backward(const float *restrict q, const float *restrict k, const float *restrict v, size_t ld,
                                 size_t d, size_t length, size_t queries, float scale, const float *restrict p,
                                 const unsigned char *restrict mask, float keep, const float *restrict dc,
                                 size_t dc_ld, float *restrict dq, float *restrict dk, float *restrict dv,
                                 float *restrict scratch) {
    if (length == 0) return;
    float *restrict vt = scratch;
    float *restrict dp = scratch + d * length;
    fk_transpose_head(v, ld, length, d, vt, length);
    for (size_t j = 0; j < length; j++) {
        float *restrict dkj = dk + j * ld, *restrict dvj = dv + j * ld;
        for (size_t t = 0; t < d; t++) { dkj[t] = 0.0f; dvj[t] = 0.0f; }
        /* Queries that did not attend get no gradient. */
        if (j >= queries) {
            float *restrict dqj = dq + j * ld;
            for (size_t t = 0; t < d; t++) dqj[t] = 0.0f;
        }
    }
    for (size_t i = 0; i < queries; i++) {
        const float *restrict pi = p + i * length;
        const unsigned char *m = mask ? mask + i * length : NULL;
        const float *restrict dci = dc + i * dc_ld;
        /* dP' = dC·Vᵀ; dV += P'ᵀ·dC */
        fk_row_times_transposed(dci, vt, length, length, d, dp);
        for (size_t j = 0; j < length; j++) {
            float weight = pi[j];
            if (m) {
                weight = m[j] ? weight * keep : 0.0f;
                dp[j] = m[j] ? dp[j] * keep : 0.0f;
            }
            float *restrict dvj = dv + j * ld;
            for (size_t t = 0; t < d; t++) dvj[t] += weight * dci[t];
        }
        /* dS = P ⊙ (dP − Σ dP·P); dQ = dS·K·scale; dK += dSᵀ·Q·scale */
        float dot = 0.0f;
        for (size_t j = 0; j < length; j++) dot += dp[j] * pi[j];
        const float *restrict qi = q + i * ld;
        float *restrict dqi = dq + i * ld;
        for (size_t t = 0; t < d; t++) dqi[t] = 0.0f;
        for (size_t j = 0; j < length; j++) {
            const float ds = pi[j] * (dp[j] - dot) * scale;
            const float *restrict kj = k + j * ld;
            float *restrict dkj = dk + j * ld;
            for (size_t t = 0; t < d; t++) {
                dqi[t] += ds * kj[t];
                dkj[t] += ds * qi[t];
            }
        }
    }
}
