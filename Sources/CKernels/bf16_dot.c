/*
 * See include/FrontierBF16Dot.h.
 *
 * The AVX-512 microkernel keeps an MR × 32 tile of C (two panels, 2·MR zmm accumulators, MR up
 * to 12: 24 accumulators, two weight vectors and a broadcast in 32 registers) and walks k a pair
 * at a time: one 64-byte load per panel, then per row one 32-bit broadcast of the row's bf16
 * pair and one vdpbf16ps per panel. That is gemm.c's fp32 microkernel with each instruction
 * doing two k steps, over operands of half the size.
 *
 * The product is split between threads by panel pairs. A thread walks its panels in row blocks
 * whose bf16 rows fit in 128 KiB (L2): it rounds the block's activations into its own scratch
 * (row r's k values as bf16, so pair t is the 32-bit word t of the row), then multiplies every
 * panel pair of its share by it, so the block is read from memory once, not once per pair.
 */
#include "fk_common.h"
#include "FrontierBF16Dot.h"
#include "FrontierHalfGemm.h"
#include "FrontierKernels.h"
#include "fk_cpu.h"
#include "fk_panel.h"
#include "fk_scratch.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

/* The most rows of a microkernel tile. */
#define BD_MR 12

static size_t bd_pairs(size_t k) { return (k + 1) / 2; }

size_t fk_packed_size_bf16_pairs(size_t n, size_t k) {
    return (n + FK_PANEL - 1) / FK_PANEL * FK_PANEL * 2 * bd_pairs(k);
}

/* x rounded to bf16 (nearest even) as vcvtne2ps2bf16 does it: a subnormal input is a zero. */
static uint16_t bd_round(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7F800000u) == 0) return (uint16_t)((u >> 16) & 0x8000u);
    return fk_float_to_bf16(x);
}

/* A bf16 as fp32, a subnormal as zero (vdpbf16ps's inputs). */
static float bd_widen(uint16_t h) {
    if ((h & 0x7F80u) == 0) h &= 0x8000u;
    return fk_bf16_to_float(h);
}

void fk_pack_weights_bf16_pairs(const float *w, size_t n, size_t k, uint16_t *packed) {
    const size_t panels = (n + FK_PANEL - 1) / FK_PANEL, kp = bd_pairs(k);
    for (size_t p = 0; p < panels; p++) {
        for (size_t t = 0; t < kp; t++) {
            uint16_t *group = packed + (p * kp + t) * FK_PANEL * 2;
            for (size_t j = 0; j < FK_PANEL; j++) {
                const size_t row = p * FK_PANEL + j;
                for (size_t e = 0; e < 2; e++) {
                    const size_t col = 2 * t + e;
                    group[2 * j + e] = row < n && col < k ? bd_round(w[row * k + col]) : 0;
                }
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Portable: the reference, and the path of CPUs without AVX512_BF16                         */
/* ---------------------------------------------------------------------------------------- */

void fk_linear_bf16_dot_reference(const float *a, size_t lda, const uint16_t *packed,
                                  const float *bias, float *c, size_t ldc, size_t m, size_t n,
                                  size_t k, int epilogue) {
    const size_t kp = bd_pairs(k);
    for (size_t r = 0; r < m; r++) {
        const float *ar = a + r * lda;
        for (size_t col = 0; col < n; col++) {
            const size_t p = col / FK_PANEL, j = col % FK_PANEL;
            float acc = 0.0f;
            for (size_t t = 0; t < kp; t++) {
                const uint16_t *group = packed + (p * kp + t) * FK_PANEL * 2 + 2 * j;
                const float a0 = bd_widen(bd_round(ar[2 * t]));
                const float a1 = 2 * t + 1 < k ? bd_widen(bd_round(ar[2 * t + 1])) : 0.0f;
                /* Both products are exact in fp32 (8-bit significands): each sum rounds once, as
                 * in the instruction's two fused steps, odd element first. */
                acc += a1 * bd_widen(group[1]);
                acc += a0 * bd_widen(group[0]);
            }
            c[r * ldc + col] = acc;
        }
        if (bias && epilogue) fk_tile_epilogue(c + r * ldc, ldc, 1, n, bias, epilogue);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX-512 BF16                                                                              */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
    const float *a;
    size_t lda;
    const uint16_t *packed;
    const float *bias;
    float *c;
    size_t ldc, m, n, k, kp;
    int epilogue;
} bd_args;

#if defined(FK_X86)
/* Rows [r0, r1) of a rounded into ab (row r at ab + (r - r0) · 2kp); an odd k's last pair gets
 * a zero. */
FK_TARGET_AVX512_BF16 static void bd_round_rows_avx512(const bd_args *x, size_t r0, size_t r1, uint16_t *ab) {
    const size_t k = x->k, width = 2 * x->kp;
    for (size_t r = r0; r < r1; r++) {
        const float *ar = x->a + r * x->lda;
        uint16_t *out = ab + (r - r0) * width;
        for (size_t col = 0; col < width; col += 32) {
            const size_t left = k > col ? k - col : 0;
            const __mmask16 lo = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            const __mmask16 hi = left >= 32 ? (__mmask16)0xFFFF : (left <= 16 ? 0 : (__mmask16)((1u << (left - 16)) - 1));
            const __m512 vlo = _mm512_maskz_loadu_ps(lo, ar + col);
            const __m512 vhi = _mm512_maskz_loadu_ps(hi, ar + col + 16);
            const __m512bh h = _mm512_cvtne2ps_pbh(vhi, vlo);
            const size_t store = width - col < 32 ? width - col : 32;
            const __mmask32 keep = store >= 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << store) - 1);
            _mm512_mask_storeu_epi16(out + col, keep, (__m512i)h);
        }
    }
}

/* MR rows × NP panels (p1 unused when NP is 1); nr columns stored. */
FK_TARGET_AVX512_BF16 FK_INLINE void bd_kernel(const int MR, const int NP, const uint16_t *ab, size_t width,
                                               const uint16_t *p0, const uint16_t *p1, size_t kp, float *c,
                                               size_t ldc, size_t nr) {
    __m512 acc0[BD_MR], acc1[BD_MR];
    FK_UNROLL for (int r = 0; r < MR; r++) {
        acc0[r] = _mm512_setzero_ps();
        acc1[r] = _mm512_setzero_ps();
    }
    const uint32_t *a32 = (const uint32_t *)ab;
    const size_t stride = width / 2;
    for (size_t t = 0; t < kp; t++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512((const void *)(p0 + t * 2 * FK_PANEL));
        const __m512bh b1 = NP == 2 ? (__m512bh)_mm512_loadu_si512((const void *)(p1 + t * 2 * FK_PANEL))
                                    : (__m512bh)_mm512_setzero_si512();
        FK_UNROLL for (int r = 0; r < MR; r++) {
            const __m512bh av = (__m512bh)_mm512_set1_epi32((int)a32[(size_t)r * stride + t]);
            acc0[r] = _mm512_dpbf16_ps(acc0[r], av, b0);
            if (NP == 2) acc1[r] = _mm512_dpbf16_ps(acc1[r], av, b1);
        }
    }
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : (nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1));
    FK_UNROLL for (int r = 0; r < MR; r++) {
        _mm512_mask_storeu_ps(c + (size_t)r * ldc, m0, acc0[r]);
        if (NP == 2) _mm512_mask_storeu_ps(c + (size_t)r * ldc + 16, m1, acc1[r]);
    }
}

typedef void (*bd_kernel_fn)(const uint16_t *, size_t, const uint16_t *, const uint16_t *, size_t, float *, size_t,
                             size_t);

/* One noinline function per row count keeps the accumulators in registers (see panel_gemm.c);
 * the panel-count test is made once per call, not per k. */
#define BD_DEFINE(MR)                                                                                       \
    FK_TARGET_AVX512_BF16 __attribute__((noinline)) static void bd_kernel_##MR(                             \
        const uint16_t *ab, size_t width, const uint16_t *p0, const uint16_t *p1, size_t kp, float *c,      \
        size_t ldc, size_t nr) {                                                                            \
        if (p1) bd_kernel(MR, 2, ab, width, p0, p1, kp, c, ldc, nr);                                         \
        else bd_kernel(MR, 1, ab, width, p0, NULL, kp, c, ldc, nr);                                          \
    }
BD_DEFINE(1) BD_DEFINE(2) BD_DEFINE(3) BD_DEFINE(4) BD_DEFINE(5) BD_DEFINE(6)
BD_DEFINE(7) BD_DEFINE(8) BD_DEFINE(9) BD_DEFINE(10) BD_DEFINE(11) BD_DEFINE(12)

static const bd_kernel_fn bd_table[BD_MR] = {bd_kernel_1, bd_kernel_2, bd_kernel_3, bd_kernel_4,
                                             bd_kernel_5, bd_kernel_6, bd_kernel_7, bd_kernel_8,
                                             bd_kernel_9, bd_kernel_10, bd_kernel_11, bd_kernel_12};

/* Rows per block: their bf16 copy fits in 128 KiB (L2), a whole number of tiles. */
static size_t bd_row_block(size_t kp) {
    const size_t mc = (128 * 1024 / (2 * kp * sizeof(uint16_t))) / BD_MR * BD_MR;
    return mc < BD_MR ? BD_MR : mc;
}

/* Panels [p_begin, p_end) (in pairs), all rows, each row block rounded into ab first. Every
 * thread rounds the blocks it multiplies: rounding is 1/n of the block's multiply work, cheaper
 * than a barrier between a rounding pass and the product. */
static void bd_gemm_avx512(const bd_args *x, size_t p_begin, size_t p_end, uint16_t *ab) {
    const size_t width = 2 * x->kp, mc = bd_row_block(x->kp);
    for (size_t i0 = 0; i0 < x->m; i0 += mc) {
        const size_t i1 = i0 + mc < x->m ? i0 + mc : x->m;
        bd_round_rows_avx512(x, i0, i1, ab);
        for (size_t p = p_begin; p < p_end; p += 2) {
            const uint16_t *p0 = x->packed + p * x->kp * 2 * FK_PANEL;
            const uint16_t *p1 = p + 1 < p_end ? p0 + x->kp * 2 * FK_PANEL : NULL;
            const size_t col = p * FK_PANEL, span = p1 ? 32 : 16;
            const size_t nr = x->n - col < span ? x->n - col : span;
            for (size_t i = i0; i < i1; i += BD_MR) {
                const size_t rows = i1 - i < BD_MR ? i1 - i : BD_MR;
                float *ct = x->c + i * x->ldc + col;
                bd_table[rows - 1](ab + (i - i0) * width, width, p0, p1, x->kp, ct, x->ldc, nr);
                if (x->epilogue) fk_tile_epilogue(ct, x->ldc, rows, nr, x->bias + col, x->epilogue);
            }
        }
    }
}

/* This thread's block buffer, or NULL when out of memory. */
static uint16_t *bd_block_scratch(const bd_args *x) {
    const size_t rows = x->m < bd_row_block(x->kp) ? x->m : bd_row_block(x->kp);
    return fk_scratch(FK_SCRATCH_BF16_DOT, rows * 2 * x->kp * sizeof(uint16_t));
}
#endif

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

static _Atomic int bd_forced = -1;

void fk_bf16_dot_force_isa(int level) { atomic_store(&bd_forced, level); }

int fk_cpu_has_avx512_bf16(void) {
    const unsigned need = FK_CPU_AVX512 | FK_CPU_AVX512_BF16;
    return (fk_cpu_features() & need) == need;
}

/* 2: AVX-512 BF16, 0: portable (there is no AVX2 bf16 dot product). */
static int bd_level(void) {
    const int forced = atomic_load(&bd_forced);
    const int level = fk_cpu_has_avx512_bf16() ? 2 : 0;
    return forced >= 0 && forced < level ? 0 : level;
}

const char *fk_bf16_dot_isa(void) { return bd_level() == 2 ? "avx512-bf16" : "generic"; }

#if defined(FK_X86)
typedef struct {
    bd_args args;
    _Atomic int failed; /* a thread found no memory for its block: the caller redoes the call */
} bd_job;

static void bd_gemm_job(void *raw, int index, int count) {
    bd_job *job = raw;
    size_t p0, p1;
    fk_panel_range(job->args.n, 2, index, count, &p0, &p1);
    if (p0 >= p1) return;
    uint16_t *ab = bd_block_scratch(&job->args);
    if (!ab) {
        atomic_store(&job->failed, 1);
        return;
    }
    bd_gemm_avx512(&job->args, p0, p1, ab);
}
#endif

void fk_linear_bf16_dot(fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                        const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                        int epilogue) {
    if (m == 0 || n == 0) return;
    const int ep = bias ? epilogue : FK_EPILOGUE_NONE;
#if defined(FK_X86)
    if (bd_level() == 2 && k > 0) {
        bd_job job = {{a, lda, packed, bias, c, ldc, m, n, k, bd_pairs(k), ep}, 0};
        /* Tiny products (classifier heads) are not worth waking workers for. */
        if (pool && m * n * k >= 32768) {
            fk_pool_run(pool, bd_gemm_job, &job);
        } else {
            bd_gemm_job(&job, 0, 1);
        }
        if (!atomic_load(&job.failed)) return;
    }
#endif
    (void)pool;
    fk_linear_bf16_dot_reference(a, lda, packed, bias, c, ldc, m, n, k, ep);
}
