/*
 * What the sparse kernels (sparse.c, fp32; sparse_int8.c, int8) share: the 16-feature output
 * block, the in-register 16×16 transpose, and the transposed-tile store with bias and GELU.
 * Internal to the target; include after fk_common.h.
 */
#ifndef FK_SPARSE_TILE_H
#define FK_SPARSE_TILE_H

#include <stddef.h>
#include <stdint.h>

#include "FrontierGemm.h"
#include "FrontierKernels.h"
#include "fk_common.h"

/* Output features per block: the unit of thread splitting and of the output transpose. */
#define SP_NB 16
/* Features whose partial sums are kept while the k-blocks are walked (64 KiB at MR = 64). */
#define SP_CHUNK 256

static const float sp_zeros[SP_NB] = {0};

/* cost[q] = the entries (nonzeros, or quads) of features [0, 16q) over all nkb k-blocks of the
 * segment table seg (nkb × (n + 1) starts), for q = 0 .. blocks: what the thread split balances. */
static void sp_block_costs(const uint32_t *seg, size_t nkb, size_t n, size_t blocks, uint32_t *cost) {
    for (size_t q = 0; q <= blocks; q++) {
        const size_t j = q * SP_NB < n ? q * SP_NB : n;
        size_t sum = 0;
        for (size_t b = 0; b < nkb; b++) sum += seg[b * (n + 1) + j] - seg[b * (n + 1)];
        cost[q] = (uint32_t)sum;
    }
}

/* First 16-feature block whose cost prefix (entries, plus one per feature for its store)
 * reaches `target`. */
static size_t sp_block_at(const uint32_t *cost, size_t blocks, size_t target) {
    size_t lo = 0, hi = blocks;
    while (lo < hi) {
        const size_t mid = (lo + hi) / 2;
        if (cost[mid] + mid * SP_NB < target) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Rows [*r0, *r1) of m for thread `index` of `count` when the rows are split, in units of `unit`
 * rows: the step at which a tile's cost changes (16 rows, one zmm per feature, for the fp32
 * AVX-512 tile; 8 on AVX2; 32 for the int8 kernel's 32- and 64-row tiles). Whole 64-row tiles per
 * thread left the threads up to a tile apart: at batch 32 (~800 tokens, 13 tiles) one thread had
 * 7 to the other's 6, and the pool waits for the slower. */
static void sp_row_share(size_t m, size_t unit, int index, int count, size_t *r0, size_t *r1) {
    const size_t units = (m + unit - 1) / unit;
    const size_t u0 = units * (size_t)index / (size_t)count, u1 = units * (size_t)(index + 1) / (size_t)count;
    *r0 = u0 * unit < m ? u0 * unit : m;
    *r1 = u1 * unit < m ? u1 * unit : m;
}

/* The kernels add the bias themselves, after the sum as gemm.c does; GELU is then the same
 * kernels.c function as the dense path's, given a zero bias (which adds an exact 0). */
static void sp_gelu_rows(float *c, size_t ldc, size_t rows, size_t cols, int epilogue) {
    if (epilogue != FK_EPILOGUE_BIAS_GELU) return;
    for (size_t j = 0; j < cols; j += SP_NB) {
        const size_t w = cols - j < SP_NB ? cols - j : SP_NB;
        fk_bias_gelu_strided(c + j, ldc, sp_zeros, rows, w);
    }
}

#if defined(FK_X86)
/* In-register 16×16 transpose: r[t][u] becomes r[u][t]. */
FK_TARGET_AVX512 FK_INLINE void sp_tr16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i + 0] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    /* r[4i + q], 128-bit lane L, now holds rows 4i .. 4i+3 of column 4L + q. */
    for (int q = 0; q < 4; q++) {
        const __m512 x0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88);
        const __m512 x1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xDD);
        const __m512 y0 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88);
        const __m512 y1 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xDD);
        t[q] = _mm512_shuffle_f32x4(x0, y0, 0x88);
        t[8 + q] = _mm512_shuffle_f32x4(x0, y0, 0xDD);
        t[4 + q] = _mm512_shuffle_f32x4(x1, y1, 0x88);
        t[12 + q] = _mm512_shuffle_f32x4(x1, y1, 0xDD);
    }
    for (int i = 0; i < 16; i++) r[i] = t[i];
}

FK_TARGET_AVX512 FK_INLINE __mmask16 sp_mask16(size_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << count) - 1);
}

/* sp_transpose_out_avx512 with add_bias, dequantize and, for full blocks, nc as constants
 * (fk_common.h). With dequantize, ct holds int32 sums and a value is acc · (sa[i] · sw[jj]). */
FK_TARGET_AVX512 FK_INLINE void sp_transpose_out16_avx512(const int add_bias, const int dequantize, const float *ct,
                                                          size_t ldct, const float *bias, const float *sa,
                                                          const float *sw, size_t mv, size_t nc, float *c,
                                                          size_t ldc) {
    const __mmask16 cm = sp_mask16(nc);
    for (size_t rb = 0; rb < mv; rb += 16) {
        const size_t rows = mv - rb < 16 ? mv - rb : 16;
        __m512 r[16];
        for (size_t jj = 0; jj < 16; jj++) {
            if (jj >= nc) {
                r[jj] = _mm512_setzero_ps();
            } else if (dequantize) {
                /* One explicit FMA with the bias, as the reference's fmaf: the same rounding
                 * whatever the compiler contracts. */
                const __m512 acc = _mm512_cvtepi32_ps(_mm512_load_si512((const void *)(ct + jj * ldct + rb)));
                const __m512 scale = _mm512_mul_ps(_mm512_loadu_ps(sa + rb), _mm512_set1_ps(sw[jj]));
                r[jj] = add_bias ? _mm512_fmadd_ps(acc, scale, _mm512_set1_ps(bias[jj])) : _mm512_mul_ps(acc, scale);
            } else {
                r[jj] = _mm512_load_ps(ct + jj * ldct + rb);
                if (add_bias) r[jj] = _mm512_add_ps(r[jj], _mm512_set1_ps(bias[jj]));
            }
        }
        sp_tr16(r);
        FK_UNROLL for (size_t t = 0; t < 16; t++) { /* constant bound: r[] stays in registers */
            if (t < rows) _mm512_mask_storeu_ps(c + (rb + t) * ldc, cm, r[t]);
        }
    }
}

/* c[i][jj] = ct[jj][i] (+ bias[jj]) for i < mv, jj < nc; ct rows are ldct floats apart. With sa,
 * ct holds int32 sums (sparse_int8.c) and c[i][jj] = ct[jj][i] · (sa[i] · sw[jj]) (+ bias[jj], fused). */
FK_TARGET_AVX512 static void sp_transpose_out_avx512(const float *ct, size_t ldct, const float *bias,
                                                     const float *sa, const float *sw, size_t mv, size_t nc,
                                                     float *c, size_t ldc) {
    if (sa) {
        if (nc == 16 && bias) sp_transpose_out16_avx512(1, 1, ct, ldct, bias, sa, sw, mv, 16, c, ldc);
        else if (nc == 16) sp_transpose_out16_avx512(0, 1, ct, ldct, NULL, sa, sw, mv, 16, c, ldc);
        else sp_transpose_out16_avx512(bias != NULL, 1, ct, ldct, bias, sa, sw, mv, nc, c, ldc);
    } else if (nc == 16 && bias) sp_transpose_out16_avx512(1, 0, ct, ldct, bias, NULL, NULL, mv, 16, c, ldc);
    else if (nc == 16) sp_transpose_out16_avx512(0, 0, ct, ldct, NULL, NULL, NULL, mv, 16, c, ldc);
    else sp_transpose_out16_avx512(bias != NULL, 0, ct, ldct, bias, NULL, NULL, mv, nc, c, ldc);
}
#endif

#endif
