/*
 * The int8 quantization rule of include/FrontierInt8.h (symmetric, per row, zero point 0), shared
 * by the dense (int8.c) and sparse (sparse_int8.c) int8 kernels so that both quantize a row to
 * the same integers. Internal; include after fk_common.h.
 */
#ifndef FK_QUANT_H
#define FK_QUANT_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "fk_common.h"

/* Row scale and multiplier: s = amax / 127, inv = 127 / amax; (0, 0) for a row that cannot
 * be scaled (all zeros, or amax so small that 127 / amax is not finite). */
FK_INLINE float fkq_row_scale(float amax, float *inv) {
    float iv = 127.0f / amax;
    if (!(amax > 0.0f) || !isfinite(iv)) {
        *inv = 0.0f;
        return 0.0f;
    }
    *inv = iv;
    return amax / 127.0f;
}

FK_INLINE int8_t fkq_quantize1(float x, float inv) {
    float v = rintf(x * inv);
    v = v < -127.0f ? -127.0f : (v > 127.0f ? 127.0f : v);
    return (int8_t)v;
}

/* Quantizes one weight row (an output channel's k values) into q by the rule above; returns its
 * scale and sets *sum to Σ q (the VNNI kernels' compensation for their u8 activations). */
FK_INLINE float fkq_quantize_weight_row(const float *w, size_t k, int8_t *q, int32_t *sum) {
    float amax = 0.0f;
    for (size_t i = 0; i < k; i++) amax = fabsf(w[i]) > amax ? fabsf(w[i]) : amax;
    float inv;
    const float scale = fkq_row_scale(amax, &inv);
    int32_t total = 0;
    for (size_t i = 0; i < k; i++) {
        q[i] = fkq_quantize1(w[i], inv);
        total += q[i];
    }
    *sum = total;
    return scale;
}

#endif
