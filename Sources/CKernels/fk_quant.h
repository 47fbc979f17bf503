/*
 * The int8 quantization rule of include/FrontierInt8.h (symmetric, per row, zero point 0), shared
 * by the dense (int8.c) and sparse (sparse_int8.c) int8 kernels so that both quantize a row to
 * the same integers. Internal; include after fk_common.h.
 */
#ifndef FK_QUANT_H
#define FK_QUANT_H

#include <math.h>
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

#endif
