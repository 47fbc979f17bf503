/*
 * See include/FrontierKernels.h for the contracts. Written as plain loops the
 * compiler vectorises; FK_CLONES builds an AVX-512 and an AVX2+FMA copy of each
 * hot function next to the portable one, and the dynamic loader picks one for
 * the CPU it runs on (ifunc), so one binary serves a heterogeneous fleet.
 *
 * Reductions (dot products, means) need re-association to vectorise; we allow
 * it per function with `#pragma clang fp reassociate(on)` rather than
 * -ffast-math, which would also let the compiler assume no NaN/inf.
 */
#include "fk_common.h"
#include "FrontierKernels.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__clang__) && defined(__linux__)
#define FK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FK_CLONES
#endif

#include "fk_math.h"
#include "fk_attention.h"

FK_CLONES
void fk_erf(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = fk_erf1(x[i]);
}

FK_CLONES
void fk_exp(const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) y[i] = fk_exp1(x[i]);
}

FK_CLONES
void fk_bias_gelu(float *y, const float *bias, size_t rows, size_t cols) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (bias) {
            for (size_t c = 0; c < cols; c++) {
                float v = row[c] + bias[c];
                row[c] = 0.5f * v * (1.0f + fk_erf1(v * inv_sqrt2));
            }
        } else {
            for (size_t c = 0; c < cols; c++) {
                float v = row[c];
                row[c] = 0.5f * v * (1.0f + fk_erf1(v * inv_sqrt2));
            }
        }
    }
}

FK_CLONES
void fk_bias_gelu_strided(float *y, size_t ldc, const float *bias, size_t rows, size_t cols) {
    const float inv_sqrt2 = 0.70710678118654752440f;
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * ldc;
        for (size_t c = 0; c < cols; c++) {
            float v = row[c] + bias[c];
            row[c] = 0.5f * v * (1.0f + fk_erf1(v * inv_sqrt2));
        }
    }
}

FK_CLONES
void fk_add_bias(float *y, const float *bias, size_t rows, size_t cols) {
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * cols;
        for (size_t c = 0; c < cols; c++) row[c] += bias[c];
    }
}

/* Two-pass mean and variance of one row (the same estimator as PyTorch's
 * LayerNorm: biased variance), then the affine transform. */
FK_INLINE void fk_layernorm_row(float *row, const float *gamma, const float *beta,
                                size_t cols, float eps) {
#pragma clang fp reassociate(on)
    float sum = 0.0f;
    for (size_t c = 0; c < cols; c++) sum += row[c];
    float mean = sum / (float)cols;
    float sq = 0.0f;
    for (size_t c = 0; c < cols; c++) {
        float d = row[c] - mean;
        sq += d * d;
    }
    float inv = 1.0f / sqrtf(sq / (float)cols + eps);
    for (size_t c = 0; c < cols; c++) row[c] = (row[c] - mean) * inv * gamma[c] + beta[c];
}

FK_CLONES
void fk_bias_residual_layernorm(float *y, const float *bias, const float *residual,
                                const float *gamma, const float *beta,
                                size_t rows, size_t cols, float eps) {
    for (size_t r = 0; r < rows; r++) {
        float *row = y + r * cols;
        if (bias && residual) {
            const float *res = residual + r * cols;
            for (size_t c = 0; c < cols; c++) row[c] += bias[c] + res[c];
        } else if (bias) {
            for (size_t c = 0; c < cols; c++) row[c] += bias[c];
        } else if (residual) {
            const float *res = residual + r * cols;
            for (size_t c = 0; c < cols; c++) row[c] += res[c];
        }
        fk_layernorm_row(row, gamma, beta, cols, eps);
    }
}

FK_CLONES
void fk_embed_layernorm(float *out, const int *ids, const int *positions, const int *types,
                        const float *word_table, const float *position_table,
                        const float *type_table, const float *gamma, const float *beta,
                        size_t tokens, size_t hidden, float eps) {
    for (size_t t = 0; t < tokens; t++) {
        float *row = out + t * hidden;
        const float *w = word_table + (size_t)ids[t] * hidden;
        const float *p = position_table + (size_t)positions[t] * hidden;
        if (type_table) {
            const float *ty = type_table + (size_t)types[t] * hidden;
            for (size_t c = 0; c < hidden; c++) row[c] = w[c] + ty[c] + p[c];
        } else {
            for (size_t c = 0; c < hidden; c++) row[c] = w[c] + p[c];
        }
        fk_layernorm_row(row, gamma, beta, hidden, eps);
    }
}

FK_INLINE float fk_dot(const float *a, const float *b, size_t n) {
#pragma clang fp reassociate(on)
    float s = 0.0f;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

FK_CLONES
void fk_attention_head(const float *q, const float *k, const float *v, size_t ld_qkv,
                       float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                       float scale, float *scratch) {
    for (size_t i = 0; i < n_query; i++) {
        const float *qi = q + i * ld_qkv;
        float maxv = -INFINITY;
        for (size_t j = 0; j < len; j++) {
            float s = fk_dot(qi, k + j * ld_qkv, head_dim) * scale;
            scratch[j] = s;
            maxv = s > maxv ? s : maxv;
        }
        float sum = 0.0f;
        {
#pragma clang fp reassociate(on)
            for (size_t j = 0; j < len; j++) {
                float e = fk_exp1(scratch[j] - maxv);
                scratch[j] = e;
                sum += e;
            }
        }
        float *oi = out + i * ld_out;
        for (size_t d = 0; d < head_dim; d++) oi[d] = 0.0f;
        for (size_t j = 0; j < len; j++) {
            const float pj = scratch[j];
            const float *vj = v + j * ld_qkv;
            for (size_t d = 0; d < head_dim; d++) oi[d] += pj * vj[d];
        }
        const float inv = 1.0f / sum;
        for (size_t d = 0; d < head_dim; d++) oi[d] *= inv;
    }
}

/* out[0, D) = Σ_j p[j] · v[j, 0..D) / sum, with the D accumulators in registers (D a constant:
 * the local array is split into vectors), each v row read once. */
FK_INLINE void fk_attention_pv_fixed(const size_t D, const float *p, const float *v, size_t ld_qkv, size_t len,
                                     float inv, float *out) {
    float acc[64];
    for (size_t d = 0; d < D; d++) acc[d] = 0.0f;
    for (size_t j = 0; j < len; j++) {
        const float pj = p[j];
        const float *vj = v + j * ld_qkv;
        for (size_t d = 0; d < D; d++) acc[d] += pj * vj[d];
    }
    for (size_t d = 0; d < D; d++) out[d] = acc[d] * inv;
}

FK_CLONES
void fk_attention_head_vector(const float *q, const float *k, const float *v, size_t ld_qkv,
                               float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                               float scale, float *scores, float *kt) {
    /* kᵀ: head_dim rows of len16 (len rounded up to 16, the padding keys zero), so a query row's
     * scores are head_dim vector multiply-adds over whole vectors of keys: no scalar remainder,
     * which at SST-2's 20-odd tokens cost as much as the vector part. */
    const size_t len16 = fk_attention_transpose_keys(k, ld_qkv, len, head_dim, kt);
    for (size_t i = 0; i < n_query; i++) {
        const float *qi = q + i * ld_qkv;
        {
            const float q0 = qi[0];
            for (size_t j = 0; j < len16; j++) scores[j] = q0 * kt[j];
        }
        for (size_t d = 1; d < head_dim; d++) {
            const float qd = qi[d];
            const float *kd = kt + d * len16;
            for (size_t j = 0; j < len16; j++) scores[j] += qd * kd[j];
        }
        float maxv = -INFINITY;
        for (size_t j = 0; j < len; j++) {
            const float s = scores[j] * scale;
            scores[j] = s;
            maxv = s > maxv ? s : maxv;
        }
        /* The padding keys get weight exp(-inf) = 0, so the exponentials run over whole vectors. */
        for (size_t j = len; j < len16; j++) scores[j] = -INFINITY;
        float sum = 0.0f;
        {
#pragma clang fp reassociate(on)
            for (size_t j = 0; j < len16; j++) {
                const float e = fk_exp1(scores[j] - maxv);
                scores[j] = e;
                sum += e;
            }
        }
        const float inv = 1.0f / sum;
        float *oi = out + i * ld_out;
        if (head_dim == 32) {
            fk_attention_pv_fixed(32, scores, v, ld_qkv, len, inv, oi);
        } else if (head_dim == 64) {
            fk_attention_pv_fixed(64, scores, v, ld_qkv, len, inv, oi);
        } else {
            for (size_t d = 0; d < head_dim; d++) oi[d] = 0.0f;
            for (size_t j = 0; j < len; j++) {
                const float pj = scores[j];
                const float *vj = v + j * ld_qkv;
                for (size_t d = 0; d < head_dim; d++) oi[d] += pj * vj[d];
            }
            for (size_t d = 0; d < head_dim; d++) oi[d] *= inv;
        }
    }
}

void fk_tanh(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = tanhf(x[i]);
}
