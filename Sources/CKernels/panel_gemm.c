/*
 * See fk_panel.h. Panel p holds output rows [16p, 16p + 16) of W (zero-padded past n) as k
 * consecutive groups of 16 values: packed[p][kk][j] = W[16p + j][kk]. A microkernel keeps an
 * MR × NR tile of C in registers and walks k once, broadcasting one A value per row and loading
 * one 16-value weight group per panel, widened to fp32 right after the load: fp16 with vcvtph2ps,
 * bf16 by zero-extending to 32 bits and shifting left 16 (a bf16 is the top half of an fp32),
 * fp32 as is. Widening is exact, so every format runs the same FMAs in the same order.
 *
 * Each (format, MR) microkernel is its own noinline function (a table picks it): inlined into
 * one driver for all row counts, the compiler may stop keeping the accumulator arrays in
 * registers.
 *
 * The AVX2 kernels are compiled with F16C for the fp16 widening. gemm.c runs the fp32 ones on
 * CPUs with AVX2 and FMA without checking F16C: fp32 code contains no F16C instruction (and no
 * AVX2 CPU lacks F16C).
 */
#include "fk_common.h"
#include "fk_panel.h"

#include <stdint.h>

#if defined(FK_X86)
/* Rows of A per block: the block (rows × k floats) stays in L2 while a thread sweeps all of its
 * panels, so A is read from memory once instead of once per panel (pair). With staging
 * (stage != 0) the block is at least 64 rows (or 512 KB), since each panel is widened once per
 * block and that costs about 2 / rows of the block's multiply time. */
static size_t fk_panel_row_block(size_t k, size_t mr, int stage) {
    k = k ? k : 1;
    size_t rows = (96 * 1024 / sizeof(float)) / k;
    if (stage) {
        size_t cap = (512 * 1024 / sizeof(float)) / k;
        size_t want = cap < 64 ? cap : 64;
        rows = want > rows ? want : rows;
    }
    rows = rows / mr * mr;
    return rows < mr ? mr : rows;
}

/* Panel p of x->packed. */
static const void *fk_panel_at(const fk_panel_args *x, size_t p) {
    const size_t values = p * FK_PANEL * x->k;
    if (x->format == FK_PANEL_F32) return (const float *)x->packed + values;
    return (const uint16_t *)x->packed + values;
}

/* ---------------------------------------------------------------------------------------- */
/* AVX-512: MR rows × 32 columns (two panels), 2·MR zmm accumulators                         */
/* ---------------------------------------------------------------------------------------- */

/* The 16 values of weight group kk of a panel, as fp32. */
FK_TARGET_AVX512 FK_INLINE __m512 fk_widen16(const int F, const void *panel, size_t kk) {
    if (F == FK_PANEL_F32) return _mm512_loadu_ps((const float *)panel + kk * FK_PANEL);
    const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)panel + kk * FK_PANEL));
    if (F == FK_PANEL_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

FK_TARGET_AVX512 FK_INLINE void fk_stage16(const int F, const uint16_t *panel, size_t k, float *out) {
    for (size_t kk = 0; kk < k; kk++) _mm512_storeu_ps(out + kk * FK_PANEL, fk_widen16(F, panel, kk));
}

/* Widens a whole 16-bit panel (16 · k values) into fp32 staging. The format is tested once, not
 * per group (-O3 unswitches the loop by itself, -O2 does not). */
FK_TARGET_AVX512 static void fk_stage_avx512(int format, const uint16_t *panel, size_t k, float *out) {
    if (format == FK_PANEL_F16) fk_stage16(FK_PANEL_F16, panel, k, out);
    else fk_stage16(FK_PANEL_BF16, panel, k, out);
}

/* NP panels (p0, and p1 when NP is 2), nr columns of them stored. */
FK_TARGET_AVX512 FK_INLINE void fk_kernel_avx512(const int F, const int MR, const int NP, const float *a,
                                                 size_t lda, const void *p0, const void *p1, size_t k, float *c,
                                                 size_t ldc, size_t nr) {
    __m512 acc0[8], acc1[8];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); }
    for (size_t kk = 0; kk < k; kk++) {
        const __m512 b0 = fk_widen16(F, p0, kk);
        const __m512 b1 = NP == 2 ? fk_widen16(F, p1, kk) : _mm512_setzero_ps();
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
            acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
            if (NP == 2) acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
        }
    }
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : (nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1));
    for (int r = 0; r < MR; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc0[r]);
        if (NP == 2) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc1[r]);
    }
}

typedef void (*fk_kernel512_fn)(const float *, size_t, const void *, const void *, size_t, float *,
                                size_t, size_t);

/* p1 is NULL when only one panel is left (then nr <= 16). The test is made here, once, rather
 * than per k in the loop: -O3 unswitches the loop by itself, -O2 does not. */
#define FK_DEFINE_AVX512(F, NAME, MR)                                                               \
    FK_TARGET_AVX512 __attribute__((noinline)) static void fk_avx512_##NAME##_##MR(                 \
        const float *a, size_t lda, const void *p0, const void *p1, size_t k, float *c,             \
        size_t ldc, size_t nr) {                                                                    \
        if (p1) fk_kernel_avx512(F, MR, 2, a, lda, p0, p1, k, c, ldc, nr);                          \
        else fk_kernel_avx512(F, MR, 1, a, lda, p0, NULL, k, c, ldc, nr);                           \
    }
#define FK_DEFINE_AVX512_ALL(F, NAME)                                                               \
    FK_DEFINE_AVX512(F, NAME, 1) FK_DEFINE_AVX512(F, NAME, 2) FK_DEFINE_AVX512(F, NAME, 3)          \
    FK_DEFINE_AVX512(F, NAME, 4) FK_DEFINE_AVX512(F, NAME, 5) FK_DEFINE_AVX512(F, NAME, 6)          \
    FK_DEFINE_AVX512(F, NAME, 7) FK_DEFINE_AVX512(F, NAME, 8)
FK_DEFINE_AVX512_ALL(FK_PANEL_F16, f16)
FK_DEFINE_AVX512_ALL(FK_PANEL_BF16, bf16)
FK_DEFINE_AVX512_ALL(FK_PANEL_F32, f32)

/* fk_avx512_table[format][mr - 1] */
static const fk_kernel512_fn fk_avx512_table[3][8] = {
    {fk_avx512_f16_1, fk_avx512_f16_2, fk_avx512_f16_3, fk_avx512_f16_4,
     fk_avx512_f16_5, fk_avx512_f16_6, fk_avx512_f16_7, fk_avx512_f16_8},
    {fk_avx512_bf16_1, fk_avx512_bf16_2, fk_avx512_bf16_3, fk_avx512_bf16_4,
     fk_avx512_bf16_5, fk_avx512_bf16_6, fk_avx512_bf16_7, fk_avx512_bf16_8},
    {fk_avx512_f32_1, fk_avx512_f32_2, fk_avx512_f32_3, fk_avx512_f32_4,
     fk_avx512_f32_5, fk_avx512_f32_6, fk_avx512_f32_7, fk_avx512_f32_8},
};

void fk_panel_gemm_avx512(const fk_panel_args *x, size_t p_begin, size_t p_end, float *stage) {
    if (x->format == FK_PANEL_F32) stage = NULL; /* nothing to widen */
    const size_t k = x->k, mc = fk_panel_row_block(k, 8, stage != NULL);
    for (size_t i0 = 0; i0 < x->m; i0 += mc) {
        const size_t i1 = i0 + mc < x->m ? i0 + mc : x->m;
        const int staged = stage && i1 - i0 > 16;
        for (size_t p = p_begin; p < p_end; p += 2) {
            const void *p0 = fk_panel_at(x, p);
            const void *p1 = p + 1 < p_end ? fk_panel_at(x, p + 1) : NULL;
            int format = x->format;
            if (staged) {
                fk_stage_avx512(x->format, p0, k, stage);
                if (p1) fk_stage_avx512(x->format, p1, k, stage + FK_PANEL * k);
                p0 = stage;
                p1 = p1 ? stage + FK_PANEL * k : NULL;
                format = FK_PANEL_F32;
            }
            const size_t col = p * FK_PANEL, width = p1 ? 32 : 16;
            const size_t nr = x->n - col < width ? x->n - col : width;
            for (size_t i = i0; i < i1; i += 8) {
                const size_t mr = i1 - i < 8 ? i1 - i : 8;
                float *ci = x->c + i * x->ldc + col;
                fk_avx512_table[format][mr - 1](x->a + i * x->lda, x->lda, p0, p1, k, ci, x->ldc, nr);
                if (x->epilogue) fk_tile_epilogue(ci, x->ldc, mr, nr, x->bias + col, x->epilogue);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX2 + FMA (+ F16C): MR rows × 16 columns (one panel), 2·MR ymm accumulators              */
/* ---------------------------------------------------------------------------------------- */

/* 8 values of a panel from `offset` on, as fp32. */
FK_TARGET_AVX2_F16C FK_INLINE __m256 fk_widen8(const int F, const void *base, size_t offset) {
    if (F == FK_PANEL_F32) return _mm256_loadu_ps((const float *)base + offset);
    const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)base + offset));
    if (F == FK_PANEL_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

FK_TARGET_AVX2_F16C FK_INLINE void fk_stage8(const int F, const uint16_t *panel, size_t k, float *out) {
    for (size_t i = 0; i < FK_PANEL * k; i += 8) _mm256_storeu_ps(out + i, fk_widen8(F, panel, i));
}

FK_TARGET_AVX2_F16C static void fk_stage_avx2(int format, const uint16_t *panel, size_t k, float *out) {
    if (format == FK_PANEL_F16) fk_stage8(FK_PANEL_F16, panel, k, out);
    else fk_stage8(FK_PANEL_BF16, panel, k, out);
}

FK_TARGET_AVX2_F16C FK_INLINE void fk_kernel_avx2(const int F, const int MR, const float *a, size_t lda,
                                                  const void *p0, size_t k, float *c, size_t ldc, size_t nr) {
    __m256 acc0[6], acc1[6];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm256_setzero_ps(); acc1[r] = _mm256_setzero_ps(); }
    for (size_t kk = 0; kk < k; kk++) {
        const __m256 b0 = fk_widen8(F, p0, kk * FK_PANEL);
        const __m256 b1 = fk_widen8(F, p0, kk * FK_PANEL + 8);
        for (int r = 0; r < MR; r++) {
            const __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
            acc0[r] = _mm256_fmadd_ps(av, b0, acc0[r]);
            acc1[r] = _mm256_fmadd_ps(av, b1, acc1[r]);
        }
    }
    if (nr == 16) {
        for (int r = 0; r < MR; r++) {
            _mm256_storeu_ps(c + r * ldc, acc0[r]);
            _mm256_storeu_ps(c + r * ldc + 8, acc1[r]);
        }
    } else {
        float tmp[16];
        for (int r = 0; r < MR; r++) {
            _mm256_storeu_ps(tmp, acc0[r]);
            _mm256_storeu_ps(tmp + 8, acc1[r]);
            for (size_t j = 0; j < nr; j++) c[r * ldc + j] = tmp[j];
        }
    }
}

typedef void (*fk_kernel256_fn)(const float *, size_t, const void *, size_t, float *, size_t, size_t);

#define FK_DEFINE_AVX2(F, NAME, MR)                                                                 \
    FK_TARGET_AVX2_F16C __attribute__((noinline)) static void fk_avx2_##NAME##_##MR(                \
        const float *a, size_t lda, const void *p0, size_t k, float *c, size_t ldc, size_t nr) {    \
        fk_kernel_avx2(F, MR, a, lda, p0, k, c, ldc, nr);                                           \
    }
#define FK_DEFINE_AVX2_ALL(F, NAME)                                                                 \
    FK_DEFINE_AVX2(F, NAME, 1) FK_DEFINE_AVX2(F, NAME, 2) FK_DEFINE_AVX2(F, NAME, 3)                \
    FK_DEFINE_AVX2(F, NAME, 4) FK_DEFINE_AVX2(F, NAME, 5) FK_DEFINE_AVX2(F, NAME, 6)
FK_DEFINE_AVX2_ALL(FK_PANEL_F16, f16)
FK_DEFINE_AVX2_ALL(FK_PANEL_BF16, bf16)
FK_DEFINE_AVX2_ALL(FK_PANEL_F32, f32)

/* fk_avx2_table[format][mr - 1] */
static const fk_kernel256_fn fk_avx2_table[3][6] = {
    {fk_avx2_f16_1, fk_avx2_f16_2, fk_avx2_f16_3, fk_avx2_f16_4, fk_avx2_f16_5, fk_avx2_f16_6},
    {fk_avx2_bf16_1, fk_avx2_bf16_2, fk_avx2_bf16_3, fk_avx2_bf16_4, fk_avx2_bf16_5, fk_avx2_bf16_6},
    {fk_avx2_f32_1, fk_avx2_f32_2, fk_avx2_f32_3, fk_avx2_f32_4, fk_avx2_f32_5, fk_avx2_f32_6},
};

void fk_panel_gemm_avx2(const fk_panel_args *x, size_t p_begin, size_t p_end, float *stage) {
    if (x->format == FK_PANEL_F32) stage = NULL;
    const size_t k = x->k, mc = fk_panel_row_block(k, 6, stage != NULL);
    for (size_t i0 = 0; i0 < x->m; i0 += mc) {
        const size_t i1 = i0 + mc < x->m ? i0 + mc : x->m;
        const int staged = stage && i1 - i0 > 12;
        for (size_t p = p_begin; p < p_end; p++) {
            const void *p0 = fk_panel_at(x, p);
            int format = x->format;
            if (staged) {
                fk_stage_avx2(x->format, p0, k, stage);
                p0 = stage;
                format = FK_PANEL_F32;
            }
            const size_t col = p * FK_PANEL;
            const size_t nr = x->n - col < 16 ? x->n - col : 16;
            for (size_t i = i0; i < i1; i += 6) {
                const size_t mr = i1 - i < 6 ? i1 - i : 6;
                float *ci = x->c + i * x->ldc + col;
                fk_avx2_table[format][mr - 1](x->a + i * x->lda, x->lda, p0, k, ci, x->ldc, nr);
                if (x->epilogue) fk_tile_epilogue(ci, x->ldc, mr, nr, x->bias + col, x->epilogue);
            }
        }
    }
}
#endif
