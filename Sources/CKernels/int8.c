/*
 * See include/FrontierInt8.h for the contract, the quantization rule and the packed layout.
 *
 * A call runs in two parallel phases on the pool: (1) quantize the rows of a into the calling
 * thread's scratch (int8, or u8 = q + 128 for VNNI) with one scale per row; (2) the integer
 * GEMM, split over threads by groups of column panels (and by rows as well when there are
 * fewer groups than threads), each thread sweeping an L2-sized block of quantized rows over
 * all of its panels, so the block is read from memory once.
 *
 * The portable kernel (fkq_gemm_generic) is the slow obvious version: one row, one panel,
 * plain integer dot products. Every path must produce the same int32 sums; the tests check all
 * three against a Swift reference written from the rule in the header.
 */
#define _GNU_SOURCE
#include "fk_common.h"
#include "FrontierInt8.h"
#include "FrontierKernels.h"
#include "fk_cpu.h"
#include "fk_quant.h"
#include "fk_scratch.h"

#include <math.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FKQ_PANEL 16 /* output channels per panel: one zmm of int32 accumulators */
#define FKQ_TILE 64  /* bytes per (panel, group of 4 k) */

/* VNNI register block: MR rows × NP panels of 16 columns, MR · NP zmm accumulators plus NP
 * weight registers and one broadcast (of 32 zmm). 6 × 4 leaves room and keeps the A rows of
 * a block (MR · k bytes) tiny next to the weights (NP · 16 · k); see bench/kernels/INT8.md. */
#ifndef FKQ_VNNI_MR
#define FKQ_VNNI_MR 6
#endif
#ifndef FKQ_VNNI_NP
#define FKQ_VNNI_NP 4
#endif
_Static_assert(FKQ_VNNI_MR >= 1 && FKQ_VNNI_MR <= 8 && FKQ_VNNI_NP >= 1 && FKQ_VNNI_NP <= 4,
               "the VNNI kernel table covers 1-8 rows and 1-4 panels");
/* AVX2 block: MR rows × one panel (two ymm per row), of 16 ymm. */
#define FKQ_AVX2_MR 4

/* Bytes of quantized A rows kept in L2 while a thread sweeps its panels. */
#define FKQ_ROW_BLOCK_BYTES (256 * 1024)

struct fk_qweight {
    size_t n, k;
    size_t panels;      /* ceil(n / 16) */
    size_t kq;          /* ceil(k / 4): groups of 4 k per 32-bit lane */
    int8_t *packed;     /* (panels, kq, 16, 4) */
    int32_t *negcomp;   /* (panels · 16): −128 · Σ_k qW[j, k], 0 past n */
    float *scales;      /* (panels · 16): s_w[j], 0 past n */
    size_t bytes;
};

/* ---------------------------------------------------------------------------------------- */
/* Quantization                                                                              */
/* ---------------------------------------------------------------------------------------- */


/* Portable row quantizer; `flip` is 0x80 to store u8 = q + 128 (VNNI), else 0. Pads the
 * row with zeros (in the stored encoding) up to `padded`. */
FK_INLINE void fkq_quantize_row_body(const float *x, size_t k, size_t padded, uint8_t *q,
                                     float *scale, uint8_t flip) {
    float amax = 0.0f;
    for (size_t i = 0; i < k; i++) {
        float v = fabsf(x[i]);
        amax = v > amax ? v : amax;
    }
    float inv;
    *scale = fkq_row_scale(amax, &inv);
    for (size_t i = 0; i < k; i++) q[i] = (uint8_t)fkq_quantize1(x[i], inv) ^ flip;
    for (size_t i = k; i < padded; i++) q[i] = flip;
}

static void fkq_quantize_row_generic(const float *x, size_t k, size_t padded, uint8_t *q,
                                     float *scale, uint8_t flip) {
    fkq_quantize_row_body(x, k, padded, q, scale, flip);
}

#if defined(FK_X86)
/* The same loops compiled for AVX2 (vroundps), for the AVX2 path. */
FK_TARGET_AVX2 static void fkq_quantize_row_avx2(const float *x, size_t k, size_t padded, uint8_t *q,
                                                 float *scale, uint8_t flip) {
    fkq_quantize_row_body(x, k, padded, q, scale, flip);
}

/* As fkq_quantize_row_generic, 16 floats at a time. cvtps_epi32 rounds in the current mode
 * (round half to even, as rintf), and the clamp to ±127 happens in int32 before narrowing. */
FK_TARGET_AVX512 static void fkq_quantize_row_avx512(const float *x, size_t k, size_t padded, uint8_t *q,
                                                     float *scale, uint8_t flip) {
    const __m512 sign = _mm512_set1_ps(-0.0f);
    __m512 vmax = _mm512_setzero_ps();
    size_t i = 0;
    for (; i + 16 <= k; i += 16) vmax = _mm512_max_ps(vmax, _mm512_andnot_ps(sign, _mm512_loadu_ps(x + i)));
    if (i < k) {
        __mmask16 tail = (__mmask16)((1u << (k - i)) - 1);
        vmax = _mm512_max_ps(vmax, _mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(tail, x + i)));
    }
    float inv;
    *scale = fkq_row_scale(_mm512_reduce_max_ps(vmax), &inv);
    const __m512 vinv = _mm512_set1_ps(inv);
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    const __m128i vflip = _mm_set1_epi8((char)flip);
    for (i = 0; i < padded; i += 16) {
        size_t left = padded - i;
        __mmask16 store = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        size_t valid = i < k ? k - i : 0;
        __mmask16 load = valid >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << valid) - 1);
        __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(load, x + i), vinv));
        v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
        __m128i b = _mm_xor_si128(_mm512_cvtepi32_epi8(v), vflip);
        _mm_mask_storeu_epi8(q + i, store, b);
    }
}
#endif

static int fkq_level(void);

void fk_int8_quantize_rows(const float *a, size_t lda, size_t rows, size_t k,
                           signed char *q, size_t ldq, float *scales) {
    const int level = fkq_level();
    for (size_t r = 0; r < rows; r++) {
#if defined(FK_X86)
        if (level == 2) {
            fkq_quantize_row_avx512(a + r * lda, k, k, (uint8_t *)q + r * ldq, scales + r, 0);
            continue;
        }
        if (level == 1) {
            fkq_quantize_row_avx2(a + r * lda, k, k, (uint8_t *)q + r * ldq, scales + r, 0);
            continue;
        }
#endif
        fkq_quantize_row_generic(a + r * lda, k, k, (uint8_t *)q + r * ldq, scales + r, 0);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Weights                                                                                   */
/* ---------------------------------------------------------------------------------------- */

fk_qweight *fk_qweight_create(const float *w, size_t n, size_t k) {
    if (n == 0 || k == 0) return NULL;
    fk_qweight *q = calloc(1, sizeof *q);
    int8_t *row = malloc(k);
    if (!q || !row) { free(q); free(row); return NULL; }
    q->n = n;
    q->k = k;
    q->panels = (n + FKQ_PANEL - 1) / FKQ_PANEL;
    q->kq = (k + 3) / 4;
    size_t packed_bytes = q->panels * q->kq * FKQ_TILE;
    size_t column_bytes = q->panels * FKQ_PANEL * sizeof(float);
    q->packed = fk_aligned_calloc(packed_bytes);
    q->negcomp = fk_aligned_calloc(column_bytes);
    q->scales = fk_aligned_calloc(column_bytes);
    if (!q->packed || !q->negcomp || !q->scales) {
        free(row);
        fk_qweight_destroy(q);
        return NULL;
    }
    q->bytes = sizeof *q + packed_bytes + 2 * column_bytes;
    for (size_t j = 0; j < n; j++) {
        const float *wj = w + j * k;
        int32_t sum;
        q->scales[j] = fkq_quantize_weight_row(wj, k, row, &sum);
        q->negcomp[j] = -128 * sum;
        size_t p = j / FKQ_PANEL, jj = j % FKQ_PANEL;
        int8_t *panel = q->packed + p * q->kq * FKQ_TILE;
        for (size_t i = 0; i < k; i++) panel[(i / 4) * FKQ_TILE + jj * 4 + (i % 4)] = row[i];
    }
    free(row);
    return q;
}

void fk_qweight_destroy(fk_qweight *q) {
    if (!q) return;
    free(q->packed);
    free(q->negcomp);
    free(q->scales);
    free(q);
}

size_t fk_qweight_bytes(const fk_qweight *q) { return q ? q->bytes : 0; }

const float *fk_qweight_scales(const fk_qweight *q) { return q ? q->scales : NULL; }

void fk_qweight_row(const fk_qweight *q, size_t j, signed char *out) {
    size_t p = j / FKQ_PANEL, jj = j % FKQ_PANEL;
    const int8_t *panel = q->packed + p * q->kq * FKQ_TILE;
    for (size_t i = 0; i < q->k; i++) out[i] = panel[(i / 4) * FKQ_TILE + jj * 4 + (i % 4)];
}

size_t fk_int8_scratch_bytes(void) { return fk_scratch_capacity(FK_SCRATCH_INT8); }

/* ---------------------------------------------------------------------------------------- */
/* The job shared by both phases                                                             */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
    int level;
    const float *a;
    size_t lda;
    const fk_qweight *w;
    const float *bias;
    float *c;
    size_t ldc, m, n, k;
    int epilogue;
    uint8_t *aq;   /* (m, ldq): quantized rows, u8 for VNNI, s8 otherwise */
    size_t ldq;    /* ≥ 4 · kq, multiple of 64 */
    float *sa;     /* (m): row scales */
    size_t np;     /* panels per column group */
    size_t groups; /* ceil(panels / np) */
    size_t row_parts, col_parts;
} fkq_job;

/* Dequantizes one row of up to 16 int32 sums into c (generic and AVX2 tails). */
FK_INLINE void fkq_store_row(const int32_t *acc, const float *sw, float sa, const float *bias,
                             float *c, size_t nr) {
    for (size_t j = 0; j < nr; j++) {
        float v = (float)acc[j] * (sa * sw[j]);
        c[j] = bias ? v + bias[j] : v;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Reference (slow, obvious) and portable kernels                                            */
/* ---------------------------------------------------------------------------------------- */

/* Portable: one row × one panel at a time, exact int32 dot products over the packed layout. */
static void fkq_gemm_generic(const fkq_job *job, size_t r0, size_t r1, size_t g0, size_t g1) {
    const fk_qweight *w = job->w;
    const int add_bias = job->epilogue == FK_EPILOGUE_BIAS;
    for (size_t p = g0; p < g1; p++) {
        size_t col = p * FKQ_PANEL;
        size_t nr = job->n - col < FKQ_PANEL ? job->n - col : FKQ_PANEL;
        const int8_t *panel = w->packed + p * w->kq * FKQ_TILE;
        for (size_t r = r0; r < r1; r++) {
            const int8_t *ar = (const int8_t *)job->aq + r * job->ldq;
            int32_t acc[FKQ_PANEL] = {0};
            for (size_t g = 0; g < w->kq; g++) {
                const int8_t *b = panel + g * FKQ_TILE;
                for (size_t j = 0; j < FKQ_PANEL; j++) {
                    acc[j] += ar[4 * g] * b[4 * j] + ar[4 * g + 1] * b[4 * j + 1] +
                              ar[4 * g + 2] * b[4 * j + 2] + ar[4 * g + 3] * b[4 * j + 3];
                }
            }
            float *cr = job->c + r * job->ldc + col;
            fkq_store_row(acc, w->scales + col, job->sa[r], add_bias ? job->bias + col : NULL, cr, nr);
            if (job->epilogue == FK_EPILOGUE_BIAS_GELU) fk_bias_gelu_strided(cr, job->ldc, job->bias + col, 1, nr);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX-512 VNNI: MR rows × NP panels                                                         */
/* ---------------------------------------------------------------------------------------- */

#if defined(FK_X86)
FK_INLINE __mmask16 fkq_mask16(size_t cols) {
    return cols >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << cols) - 1);
}

/*
 * acc[r][p] lane j = Σ_k (qa[r, k] + 128) · qW[16p + j, k] − 128 · Σ_k qW[16p + j, k]: the
 * accumulators start at the (negative) compensation, so after the k loop they hold the exact
 * signed product. a: MR rows of u8 (row stride ldq); wp: the first panel, panels pstride
 * bytes apart. nr columns (≤ 16 · NP) are stored; add_bias adds bias in registers.
 */
FK_TARGET_AVX512_VNNI FK_INLINE void fkq_kernel_vnni(const int MR, const int NP, const uint8_t *a, size_t ldq,
                                                     const int8_t *wp, size_t pstride, size_t kq,
                                                     const int32_t *negcomp, const float *sw, const float *sa,
                                                     const float *bias, float *c, size_t ldc, size_t nr, int add_bias) {
    __m512i acc[8][4];
    for (int p = 0; p < NP; p++) {
        const __m512i init = _mm512_loadu_si512(negcomp + 16 * p);
        for (int r = 0; r < MR; r++) acc[r][p] = init;
    }
    for (size_t g = 0; g < kq; g++) {
        __m512i b[4];
        for (int p = 0; p < NP; p++) b[p] = _mm512_loadu_si512(wp + p * pstride + g * FKQ_TILE);
        for (int r = 0; r < MR; r++) {
            int32_t quad;
            memcpy(&quad, a + r * ldq + 4 * g, sizeof quad);
            const __m512i av = _mm512_set1_epi32(quad);
            for (int p = 0; p < NP; p++) acc[r][p] = _mm512_dpbusd_epi32(acc[r][p], av, b[p]);
        }
    }
    FK_UNROLL
    for (int p = 0; p < NP; p++) {
        size_t cols = nr > 16 * (size_t)p ? nr - 16 * (size_t)p : 0;
        const __mmask16 mask = fkq_mask16(cols);
        const __m512 swp = _mm512_loadu_ps(sw + 16 * p);
        const __m512 bp = add_bias ? _mm512_maskz_loadu_ps(mask, bias + 16 * p) : _mm512_setzero_ps();
        FK_UNROLL
        for (int r = 0; r < MR; r++) {
            const __m512 scale = _mm512_mul_ps(swp, _mm512_set1_ps(sa[r]));
            /* One rounding with a bias, as the kernel has always computed it: written as an FMA
             * because contraction fuses a multiply and add only when the optimizer has moved them
             * into one block (at -O3, not at -O2). */
            const __m512 acc_ps = _mm512_cvtepi32_ps(acc[r][p]);
            const __m512 v = add_bias ? _mm512_fmadd_ps(acc_ps, scale, bp) : _mm512_mul_ps(acc_ps, scale);
            _mm512_mask_storeu_ps(c + r * ldc + 16 * p, mask, v);
        }
    }
}

/* Each (MR, NP) block is its own function: inlined all into one driver, the compiler stops
 * keeping the accumulator array in registers and spills it every iteration. */
typedef void (*fkq_vnni_fn)(const uint8_t *, size_t, const int8_t *, size_t, size_t, const int32_t *,
                            const float *, const float *, const float *, float *, size_t, size_t, int);

#define FKQ_VNNI_DEFINE(MR, NP)                                                                     \
    FK_TARGET_AVX512_VNNI __attribute__((noinline)) static void fkq_vnni_##MR##x##NP(               \
        const uint8_t *a, size_t ldq, const int8_t *wp, size_t pstride, size_t kq,                  \
        const int32_t *negcomp, const float *sw, const float *sa, const float *bias, float *c,      \
        size_t ldc, size_t nr, int add_bias) {                                                      \
        fkq_kernel_vnni(MR, NP, a, ldq, wp, pstride, kq, negcomp, sw, sa, bias, c, ldc, nr, add_bias); \
    }
#define FKQ_VNNI_DEFINE_ROW(MR) \
    FKQ_VNNI_DEFINE(MR, 1) FKQ_VNNI_DEFINE(MR, 2) FKQ_VNNI_DEFINE(MR, 3) FKQ_VNNI_DEFINE(MR, 4)
FKQ_VNNI_DEFINE_ROW(1) FKQ_VNNI_DEFINE_ROW(2) FKQ_VNNI_DEFINE_ROW(3) FKQ_VNNI_DEFINE_ROW(4)
FKQ_VNNI_DEFINE_ROW(5) FKQ_VNNI_DEFINE_ROW(6) FKQ_VNNI_DEFINE_ROW(7) FKQ_VNNI_DEFINE_ROW(8)

#define FKQ_VNNI_ROW_TABLE(MR) {fkq_vnni_##MR##x1, fkq_vnni_##MR##x2, fkq_vnni_##MR##x3, fkq_vnni_##MR##x4}
/* fkq_vnni_table[mr - 1][np - 1]; entries past FKQ_VNNI_MR / FKQ_VNNI_NP are never called. */
static const fkq_vnni_fn fkq_vnni_table[8][4] = {
    FKQ_VNNI_ROW_TABLE(1), FKQ_VNNI_ROW_TABLE(2), FKQ_VNNI_ROW_TABLE(3), FKQ_VNNI_ROW_TABLE(4),
    FKQ_VNNI_ROW_TABLE(5), FKQ_VNNI_ROW_TABLE(6), FKQ_VNNI_ROW_TABLE(7), FKQ_VNNI_ROW_TABLE(8),
};

FK_TARGET_AVX512_VNNI static void fkq_gemm_vnni(const fkq_job *job, size_t r0, size_t r1, size_t g0, size_t g1) {
    const fk_qweight *w = job->w;
    const size_t pstride = w->kq * FKQ_TILE;
    const int add_bias = job->epilogue == FK_EPILOGUE_BIAS;
    const float *bias = job->bias;
    size_t mc = FKQ_ROW_BLOCK_BYTES / job->ldq / FKQ_VNNI_MR * FKQ_VNNI_MR;
    if (mc < FKQ_VNNI_MR) mc = FKQ_VNNI_MR;
    for (size_t i0 = r0; i0 < r1; i0 += mc) {
        const size_t i1 = i0 + mc < r1 ? i0 + mc : r1;
        for (size_t g = g0; g < g1; g++) {
            const size_t p = g * job->np;
            const size_t np = w->panels - p < job->np ? w->panels - p : job->np;
            const size_t col = p * FKQ_PANEL;
            const size_t nr = job->n - col < np * FKQ_PANEL ? job->n - col : np * FKQ_PANEL;
            const int8_t *wp = w->packed + p * pstride;
            for (size_t i = i0; i < i1; i += FKQ_VNNI_MR) {
                const size_t mr = i1 - i < FKQ_VNNI_MR ? i1 - i : FKQ_VNNI_MR;
                const uint8_t *ai = job->aq + i * job->ldq;
                float *ci = job->c + i * job->ldc + col;
                fkq_vnni_table[mr - 1][np - 1](ai, job->ldq, wp, pstride, w->kq, w->negcomp + col,
                                               w->scales + col, job->sa + i, add_bias ? bias + col : NULL, ci,
                                               job->ldc, nr, add_bias);
                if (job->epilogue == FK_EPILOGUE_BIAS_GELU) fk_bias_gelu_strided(ci, job->ldc, bias + col, mr, nr);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX2: MR rows × one panel, vpmaddubsw with the sign trick                                 */
/* ---------------------------------------------------------------------------------------- */

/*
 * vpmaddubsw wants u8 × s8. |qa| is a valid u8 and sign(qa) · qW a valid s8 (|qW| ≤ 127), and
 * their product equals qa · qW, so the pair sums (≤ 2 · 127²) fit s16 without saturating;
 * vpmaddwd by ones then adds the two pairs of each 32-bit lane into int32.
 */
FK_TARGET_AVX2 FK_INLINE void fkq_kernel_avx2(const int MR, const int8_t *a, size_t ldq, const int8_t *wp,
                                              size_t kq, const float *sw, const float *sa, const float *bias,
                                              float *c, size_t ldc, size_t nr, int add_bias) {
    __m256i acc0[FKQ_AVX2_MR], acc1[FKQ_AVX2_MR];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm256_setzero_si256(); acc1[r] = _mm256_setzero_si256(); }
    const __m256i ones = _mm256_set1_epi16(1);
    for (size_t g = 0; g < kq; g++) {
        const __m256i w0 = _mm256_loadu_si256((const __m256i *)(wp + g * FKQ_TILE));
        const __m256i w1 = _mm256_loadu_si256((const __m256i *)(wp + g * FKQ_TILE + 32));
        for (int r = 0; r < MR; r++) {
            int32_t quad;
            memcpy(&quad, a + r * ldq + 4 * g, sizeof quad);
            const __m256i av = _mm256_set1_epi32(quad);
            const __m256i ua = _mm256_sign_epi8(av, av);
            const __m256i p0 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w0, av));
            const __m256i p1 = _mm256_maddubs_epi16(ua, _mm256_sign_epi8(w1, av));
            acc0[r] = _mm256_add_epi32(acc0[r], _mm256_madd_epi16(p0, ones));
            acc1[r] = _mm256_add_epi32(acc1[r], _mm256_madd_epi16(p1, ones));
        }
    }
    const __m256 sw0 = _mm256_loadu_ps(sw), sw1 = _mm256_loadu_ps(sw + 8);
    for (int r = 0; r < MR; r++) {
        const __m256 s = _mm256_set1_ps(sa[r]);
        __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc0[r]), _mm256_mul_ps(sw0, s));
        __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(acc1[r]), _mm256_mul_ps(sw1, s));
        if (nr == 16) {
            if (add_bias) {
                v0 = _mm256_add_ps(v0, _mm256_loadu_ps(bias));
                v1 = _mm256_add_ps(v1, _mm256_loadu_ps(bias + 8));
            }
            _mm256_storeu_ps(c + r * ldc, v0);
            _mm256_storeu_ps(c + r * ldc + 8, v1);
        } else {
            float tmp[16];
            _mm256_storeu_ps(tmp, v0);
            _mm256_storeu_ps(tmp + 8, v1);
            for (size_t j = 0; j < nr; j++) c[r * ldc + j] = add_bias ? tmp[j] + bias[j] : tmp[j];
        }
    }
}

FK_TARGET_AVX2 static void fkq_gemm_avx2(const fkq_job *job, size_t r0, size_t r1, size_t g0, size_t g1) {
    const fk_qweight *w = job->w;
    const size_t pstride = w->kq * FKQ_TILE;
    const int add_bias = job->epilogue == FK_EPILOGUE_BIAS;
    size_t mc = FKQ_ROW_BLOCK_BYTES / job->ldq / FKQ_AVX2_MR * FKQ_AVX2_MR;
    if (mc < FKQ_AVX2_MR) mc = FKQ_AVX2_MR;
    for (size_t i0 = r0; i0 < r1; i0 += mc) {
        const size_t i1 = i0 + mc < r1 ? i0 + mc : r1;
        for (size_t p = g0; p < g1; p++) {
            const size_t col = p * FKQ_PANEL;
            const size_t nr = job->n - col < FKQ_PANEL ? job->n - col : FKQ_PANEL;
            const int8_t *wp = w->packed + p * pstride;
            const float *bias = job->bias ? job->bias + col : NULL;
            for (size_t i = i0; i < i1; i += FKQ_AVX2_MR) {
                const size_t mr = i1 - i < FKQ_AVX2_MR ? i1 - i : FKQ_AVX2_MR;
                const int8_t *ai = (const int8_t *)job->aq + i * job->ldq;
                float *ci = job->c + i * job->ldc + col;
                const float *sa = job->sa + i;
                switch (mr) {
                case 4: fkq_kernel_avx2(4, ai, job->ldq, wp, w->kq, w->scales + col, sa, bias, ci, job->ldc, nr, add_bias); break;
                case 3: fkq_kernel_avx2(3, ai, job->ldq, wp, w->kq, w->scales + col, sa, bias, ci, job->ldc, nr, add_bias); break;
                case 2: fkq_kernel_avx2(2, ai, job->ldq, wp, w->kq, w->scales + col, sa, bias, ci, job->ldc, nr, add_bias); break;
                default: fkq_kernel_avx2(1, ai, job->ldq, wp, w->kq, w->scales + col, sa, bias, ci, job->ldc, nr, add_bias); break;
                }
                if (job->epilogue == FK_EPILOGUE_BIAS_GELU) fk_bias_gelu_strided(ci, job->ldc, bias, mr, nr);
            }
        }
    }
}
#endif

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

static _Atomic int fkq_forced = -1;

void fk_int8_force_isa(int level) { atomic_store(&fkq_forced, level); }

/* 2: AVX-512 VNNI, 1: AVX2, 0: portable. An AVX-512 CPU without VNNI runs the AVX2 kernel. */
static int fkq_level(void) {
    return fk_cpu_level(FK_CPU_AVX512 | FK_CPU_AVX512_VNNI, FK_CPU_AVX2_FMA, atomic_load(&fkq_forced));
}

const char *fk_int8_isa(void) {
    switch (fkq_level()) {
    case 2: return "avx512-vnni";
    case 1: return "avx2";
    default: return "generic";
    }
}

static void fkq_quantize_job_run(void *raw, int index, int count) {
    const fkq_job *job = raw;
    size_t r0 = job->m * (size_t)index / (size_t)count;
    size_t r1 = job->m * (size_t)(index + 1) / (size_t)count;
    const uint8_t flip = job->level == 2 ? 0x80 : 0;
    const size_t padded = job->w->kq * 4;
    for (size_t r = r0; r < r1; r++) {
#if defined(FK_X86)
        if (job->level >= 2) {
            fkq_quantize_row_avx512(job->a + r * job->lda, job->k, padded, job->aq + r * job->ldq, job->sa + r, flip);
            continue;
        }
        if (job->level == 1) {
            fkq_quantize_row_avx2(job->a + r * job->lda, job->k, padded, job->aq + r * job->ldq, job->sa + r, flip);
            continue;
        }
#endif
        fkq_quantize_row_generic(job->a + r * job->lda, job->k, padded, job->aq + r * job->ldq, job->sa + r, flip);
    }
}

static void fkq_gemm_job_run(void *raw, int index, int count) {
    const fkq_job *job = raw;
    (void)count;
    size_t t = (size_t)index;
    if (t >= job->row_parts * job->col_parts) return;
    size_t cp = t % job->col_parts, rp = t / job->col_parts;
    size_t g0 = job->groups * cp / job->col_parts, g1 = job->groups * (cp + 1) / job->col_parts;
    size_t r0 = job->m * rp / job->row_parts, r1 = job->m * (rp + 1) / job->row_parts;
    if (g0 >= g1 || r0 >= r1) return;
    switch (job->level) {
#if defined(FK_X86)
    case 2: fkq_gemm_vnni(job, r0, r1, g0, g1); break;
    case 1: fkq_gemm_avx2(job, r0, r1, g0, g1); break;
#endif
    default: fkq_gemm_generic(job, r0, r1, g0, g1); break;
    }
}

void fk_linear_int8(fk_pool *pool, const float *a, size_t lda, const fk_qweight *w,
                    const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                    int epilogue) {
    if (m == 0 || n == 0) return;
    if (!w || n != w->n || k != w->k) {
        fprintf(stderr, "fk_linear_int8: shape (%zu, %zu) does not match the quantized weight (%zu, %zu)\n",
                n, k, w ? w->n : 0, w ? w->k : 0);
        abort();
    }
    fkq_job job = {0};
    job.level = fkq_level();
    job.a = a; job.lda = lda; job.w = w; job.bias = bias; job.c = c; job.ldc = ldc;
    job.m = m; job.n = n; job.k = k;
    job.epilogue = bias ? epilogue : FK_EPILOGUE_NONE;
    job.ldq = (w->kq * 4 + 63) / 64 * 64;
    size_t scale_offset = m * job.ldq;
    uint8_t *scratch = fk_scratch(FK_SCRATCH_INT8, scale_offset + m * sizeof(float));
    if (!scratch) {
        fprintf(stderr, "fk_linear_int8: out of memory for %zu bytes of activation scratch\n",
                scale_offset + m * sizeof(float));
        abort();
    }
    job.aq = scratch;
    job.sa = (float *)(scratch + scale_offset);
    job.np = job.level == 2 ? FKQ_VNNI_NP : 1;
    job.groups = (w->panels + job.np - 1) / job.np;

    const int threads = fk_pool_threads(pool);
    /* Tiny products (classifier heads) are not worth waking workers for. */
    const int parallel = pool && threads > 1 && m * n * k >= 32768;
    if (parallel && m * k >= 16384) {
        fk_pool_run(pool, fkq_quantize_job_run, &job);
    } else {
        fkq_quantize_job_run(&job, 0, 1);
    }
    size_t t = parallel ? (size_t)threads : 1;
    job.col_parts = job.groups < t ? job.groups : t;
    job.row_parts = t / job.col_parts;
    if (job.row_parts > m) job.row_parts = m;
    if (parallel) {
        fk_pool_run(pool, fkq_gemm_job_run, &job);
    } else {
        fkq_gemm_job_run(&job, 0, 1);
    }
}
