/*
 * fk_attention_head_blocked: softmax attention of one head computed as two small register-
 * blocked products, the path chosen at run time like the GEMMs'.
 *
 * Why: fk_attention_head (kernels.c) takes one dot product per (query, key) pair, each ending in
 * a horizontal sum, and reached 16 GFLOP/s on one Zen 4 core whatever the length; at SQuAD's 384
 * tokens attention is a third of a pass. Here, on AVX-512, the keys are transposed once (kt,
 * head_dim × len16, zero keys as padding) and each block of 8 query rows computes
 *   scores: an 8 × 16 tile per zmm column block, head_dim steps of one load and 8 FMAs, scaled;
 *   softmax: per row, max over the real keys, exponentials over whole vectors (padding at -inf
 *            gives 0), their sum;
 *   P·V:    an 8 × 32 tile of the output (16 zmm), one step per key of two loads and 16 FMAs,
 *           divided by the sums as it is stored.
 * Both products do 8 or 16 FMAs per load, so they run near the FMA units' rate instead of the
 * shuffle port's. Rows past the last query are computed on a copy of the last row and never
 * stored. With AVX2 + FMA and no AVX-512, the same three steps on 8-lane vectors (8 × 8 tiles);
 * on neither, the portable vector version (kernels.c) from 32 keys on, else the plain kernel,
 * which is faster for short sequences there.
 */
#include "fk_common.h"
#include "FrontierKernels.h"
#include "fk_attention.h"
#include "fk_cpu.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Query rows per block. */
#define AT_MR 8

#if defined(FK_X86)
/* e^x for 16 lanes: fk_exp1's range reduction and polynomial (Cephes expf), lanes below its
 * underflow bound (and -inf) give 0. */
FK_TARGET_AVX512 FK_INLINE __m512 at_exp16(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.3762626647949f), lo = _mm512_set1_ps(-87.3365447504019f);
    const __mmask16 under = _mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ);
    x = _mm512_min_ps(_mm512_max_ps(x, lo), hi);
    const __m512 fx = _mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504088896341f), _mm512_set1_ps(0.5f));
    const __m512 n = _mm512_roundscale_ps(fx, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_maskz_mul_ps((__mmask16)~under, p, _mm512_castsi512_ps(bits));
}

FK_TARGET_AVX512 static void at_head_avx512(const float *q, const float *k, const float *v, size_t ld_qkv,
                                            float *out, size_t ld_out, size_t len, size_t n_query,
                                            size_t head_dim, float scale, float *scores, float *kt) {
    const size_t len16 = fk_attention_transpose_keys(k, ld_qkv, len, head_dim, kt);
    const __m512 vscale = _mm512_set1_ps(scale);
    for (size_t i0 = 0; i0 < n_query; i0 += AT_MR) {
        const size_t rows = n_query - i0 < AT_MR ? n_query - i0 : AT_MR;
        const float *qr[AT_MR];
        FK_UNROLL for (int r = 0; r < AT_MR; r++) qr[r] = q + (i0 + ((size_t)r < rows ? (size_t)r : rows - 1)) * ld_qkv;

        /* Scores, scaled. */
        for (size_t j0 = 0; j0 < len16; j0 += 16) {
            __m512 acc[AT_MR];
            FK_UNROLL for (int r = 0; r < AT_MR; r++) acc[r] = _mm512_setzero_ps();
            for (size_t d = 0; d < head_dim; d++) {
                const __m512 kv = _mm512_loadu_ps(kt + d * len16 + j0);
                FK_UNROLL for (int r = 0; r < AT_MR; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(qr[r][d]), kv, acc[r]);
            }
            FK_UNROLL for (int r = 0; r < AT_MR; r++) _mm512_storeu_ps(scores + (size_t)r * len16 + j0, _mm512_mul_ps(acc[r], vscale));
        }

        /* Softmax numerators in place; the reciprocal of each row's sum. */
        float inv[AT_MR];
        for (size_t r = 0; r < rows; r++) {
            float *s = scores + r * len16;
            __m512 vmax = _mm512_set1_ps(-INFINITY);
            for (size_t j0 = 0; j0 < len16; j0 += 16) {
                const size_t left = len > j0 ? len - j0 : 0;
                const __mmask16 real = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                vmax = _mm512_mask_max_ps(vmax, real, vmax, _mm512_loadu_ps(s + j0));
            }
            const __m512 m = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
            __m512 vsum = _mm512_setzero_ps();
            for (size_t j0 = 0; j0 < len16; j0 += 16) {
                const size_t left = len > j0 ? len - j0 : 0;
                const __mmask16 real = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
                const __m512 e = _mm512_maskz_mov_ps(real, at_exp16(_mm512_sub_ps(_mm512_loadu_ps(s + j0), m)));
                _mm512_storeu_ps(s + j0, e);
                vsum = _mm512_add_ps(vsum, e);
            }
            inv[r] = 1.0f / _mm512_reduce_add_ps(vsum);
        }
        for (size_t r = rows; r < AT_MR; r++) inv[r] = 0.0f;

        /* P·V, 32 output features at a time (masked past head_dim). */
        for (size_t d0 = 0; d0 < head_dim; d0 += 32) {
            const size_t left = head_dim - d0;
            const __mmask16 m0 = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            const __mmask16 m1 = left >= 32 ? (__mmask16)0xFFFF : (left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1));
            __m512 acc0[AT_MR], acc1[AT_MR];
            FK_UNROLL for (int r = 0; r < AT_MR; r++) {
                acc0[r] = _mm512_setzero_ps();
                acc1[r] = _mm512_setzero_ps();
            }
            for (size_t j = 0; j < len; j++) {
                const float *vj = v + j * ld_qkv + d0;
                const __m512 v0 = _mm512_maskz_loadu_ps(m0, vj);
                const __m512 v1 = _mm512_maskz_loadu_ps(m1, vj + 16);
                FK_UNROLL for (int r = 0; r < AT_MR; r++) {
                    const __m512 p = _mm512_set1_ps(scores[(size_t)r * len16 + j]);
                    acc0[r] = _mm512_fmadd_ps(p, v0, acc0[r]);
                    acc1[r] = _mm512_fmadd_ps(p, v1, acc1[r]);
                }
            }
            for (size_t r = 0; r < rows; r++) {
                float *o = out + (i0 + r) * ld_out + d0;
                const __m512 s = _mm512_set1_ps(inv[r]);
                _mm512_mask_storeu_ps(o, m0, _mm512_mul_ps(acc0[r], s));
                _mm512_mask_storeu_ps(o + 16, m1, _mm512_mul_ps(acc1[r], s));
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX2 + FMA: the same blocks on 8-lane vectors                                             */
/* ---------------------------------------------------------------------------------------- */

/* at_exp16 on 8 lanes. */
FK_TARGET_AVX2 FK_INLINE __m256 at_exp8(__m256 x) {
    const __m256 hi = _mm256_set1_ps(88.3762626647949f), lo = _mm256_set1_ps(-87.3365447504019f);
    const __m256 under = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
    x = _mm256_min_ps(_mm256_max_ps(x, lo), hi);
    const __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
    const __m256 n = _mm256_floor_ps(fx);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_andnot_ps(under, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

/* Lanes [0, left) of 8 set (all for left >= 8), as a float mask. */
FK_TARGET_AVX2 FK_INLINE __m256 at_mask8(size_t left) {
    const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_castsi256_ps(_mm256_cmpgt_epi32(_mm256_set1_epi32(left >= 8 ? 8 : (int)left), iota));
}

FK_TARGET_AVX2 FK_INLINE float at_hmax8(__m256 x) {
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

FK_TARGET_AVX2 FK_INLINE float at_hsum8(__m256 x) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(x), _mm256_extractf128_ps(x, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* at_head_avx512's three steps with 8 × 8 score tiles (8 accumulators) and 8 × 8 output tiles:
 * 16 ymm registers leave no room for the AVX-512 kernel's 8 × 32. */
FK_TARGET_AVX2 static void at_head_avx2(const float *q, const float *k, const float *v, size_t ld_qkv, float *out,
                                        size_t ld_out, size_t len, size_t n_query, size_t head_dim, float scale,
                                        float *scores, float *kt) {
    const size_t len16 = fk_attention_transpose_keys(k, ld_qkv, len, head_dim, kt);
    const size_t len8 = (len + 7) / 8 * 8;
    const __m256 vscale = _mm256_set1_ps(scale), neg_inf = _mm256_set1_ps(-INFINITY);
    for (size_t i0 = 0; i0 < n_query; i0 += AT_MR) {
        const size_t rows = n_query - i0 < AT_MR ? n_query - i0 : AT_MR;
        const float *qr[AT_MR];
        FK_UNROLL for (int r = 0; r < AT_MR; r++) qr[r] = q + (i0 + ((size_t)r < rows ? (size_t)r : rows - 1)) * ld_qkv;

        /* Scores, scaled. */
        for (size_t j0 = 0; j0 < len8; j0 += 8) {
            __m256 acc[AT_MR];
            FK_UNROLL for (int r = 0; r < AT_MR; r++) acc[r] = _mm256_setzero_ps();
            for (size_t d = 0; d < head_dim; d++) {
                const __m256 kv = _mm256_loadu_ps(kt + d * len16 + j0);
                FK_UNROLL for (int r = 0; r < AT_MR; r++) acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(qr[r] + d), kv, acc[r]);
            }
            FK_UNROLL for (int r = 0; r < AT_MR; r++) _mm256_storeu_ps(scores + (size_t)r * len16 + j0, _mm256_mul_ps(acc[r], vscale));
        }

        /* Softmax numerators in place (keys past len: 0); the reciprocal of each row's sum. */
        float inv[AT_MR];
        for (size_t r = 0; r < rows; r++) {
            float *s = scores + r * len16;
            __m256 vmax = neg_inf;
            for (size_t j0 = 0; j0 < len8; j0 += 8) {
                vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(neg_inf, _mm256_loadu_ps(s + j0), at_mask8(len - j0)));
            }
            const __m256 m = _mm256_set1_ps(at_hmax8(vmax));
            __m256 vsum = _mm256_setzero_ps();
            for (size_t j0 = 0; j0 < len8; j0 += 8) {
                const __m256 e = _mm256_and_ps(at_mask8(len - j0), at_exp8(_mm256_sub_ps(_mm256_loadu_ps(s + j0), m)));
                _mm256_storeu_ps(s + j0, e);
                vsum = _mm256_add_ps(vsum, e);
            }
            inv[r] = 1.0f / at_hsum8(vsum);
        }
        for (size_t r = rows; r < AT_MR; r++) inv[r] = 0.0f;

        /* P·V, 8 output features at a time (masked past head_dim). */
        for (size_t d0 = 0; d0 < head_dim; d0 += 8) {
            const size_t left = head_dim - d0;
            const __m256i dm = _mm256_castps_si256(at_mask8(left));
            __m256 acc[AT_MR];
            FK_UNROLL for (int r = 0; r < AT_MR; r++) acc[r] = _mm256_setzero_ps();
            for (size_t j = 0; j < len; j++) {
                const float *vj = v + j * ld_qkv + d0;
                const __m256 v0 = left >= 8 ? _mm256_loadu_ps(vj) : _mm256_maskload_ps(vj, dm);
                FK_UNROLL for (int r = 0; r < AT_MR; r++) {
                    acc[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(scores + (size_t)r * len16 + j), v0, acc[r]);
                }
            }
            for (size_t r = 0; r < rows; r++) {
                float *o = out + (i0 + r) * ld_out + d0;
                const __m256 y = _mm256_mul_ps(acc[r], _mm256_set1_ps(inv[r]));
                if (left >= 8) _mm256_storeu_ps(o, y);
                else _mm256_maskstore_ps(o, dm, y);
            }
        }
    }
}
#endif

static _Atomic int at_forced = -1;

void fk_attention_force_isa(int level) { atomic_store(&at_forced, level); }

/* The cap when no test sets one: FRONTIER_ATTENTION=plain runs the plain kernel, for benchmarks
 * that compare the two in one build (read once per process). */
static int at_default_cap(void) {
    static _Atomic int cached = -2;
    int cap = atomic_load_explicit(&cached, memory_order_relaxed);
    if (cap == -2) {
        const char *choice = getenv("FRONTIER_ATTENTION");
        cap = choice && strcmp(choice, "plain") == 0 ? 0 : -1;
        atomic_store_explicit(&cached, cap, memory_order_relaxed);
    }
    return cap;
}

/* 3: AVX-512, 2: AVX2 + FMA, 1: the portable vector version, 0: the plain kernel. */
static int at_level(size_t len) {
    const int cpu = fk_cpu_level(FK_CPU_AVX512, FK_CPU_AVX2_FMA, -1);
    int level = cpu == 2 ? 3 : (cpu == 1 ? 2 : (len >= 32 ? 1 : 0));
    const int forced = atomic_load(&at_forced);
    const int cap = forced >= 0 ? forced : at_default_cap();
    return cap >= 0 && cap < level ? cap : level;
}

const char *fk_attention_isa(void) {
    switch (at_level(32)) {
    case 3: return "avx512";
    case 2: return "avx2";
    case 1: return "vector";
    default: return "plain";
    }
}

void fk_attention_head_blocked(const float *q, const float *k, const float *v, size_t ld_qkv,
                               float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                               float scale, float *scores, float *kt) {
    if (len == 0 || n_query == 0) return;
    switch (at_level(len)) {
#if defined(FK_X86)
    case 3: at_head_avx512(q, k, v, ld_qkv, out, ld_out, len, n_query, head_dim, scale, scores, kt); return;
    case 2: at_head_avx2(q, k, v, ld_qkv, out, ld_out, len, n_query, head_dim, scale, scores, kt); return;
#endif
    case 1: fk_attention_head_vector(q, k, v, ld_qkv, out, ld_out, len, n_query, head_dim, scale, scores, kt); return;
    default: fk_attention_head(q, k, v, ld_qkv, out, ld_out, len, n_query, head_dim, scale, scores); return;
    }
}
