/*
 * The scalar erf and exp that the element-wise kernels inline into their loops (kernels.c's
 * GELU and softmax, training.c's GELU backward and attention), so one approximation serves the
 * inference and training passes and a vectorised loop needs no libm call. Internal: included
 * after fk_common.h.
 */
#ifndef FK_MATH_H
#define FK_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* erf(x), rational approximation used by Eigen and XLA for float:
 * x * P(x^2) / Q(x^2) on [-4, 4], saturating to +-1 outside. */
FK_INLINE float fk_erf1(float a) {
    float x = a < -4.0f ? -4.0f : (a > 4.0f ? 4.0f : a);
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    p = p * x;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return p / q;
}

/* exp(x): range reduction x = n ln2 + r (Cody-Waite split of ln2), degree-6
 * polynomial for e^r (Cephes expf), scale by 2^n through the exponent bits.
 * Inputs below -87.3 flush to 0, which is what softmax needs. */
FK_INLINE float fk_exp1(float x) {
    const float hi = 88.3762626647949f, lo = -87.3365447504019f;
    int under = x < lo;
    x = x > hi ? hi : (x < lo ? lo : x);
    float fx = x * 1.44269504088896341f + 0.5f;
    float n = floorf(fx);
    float r = x - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    int32_t bits = ((int32_t)n + 127) << 23;
    float scale;
    memcpy(&scale, &bits, sizeof scale);
    float result = p * scale;
    return under ? 0.0f : result;
}

#endif
