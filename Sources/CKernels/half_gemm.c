/*
 * See include/FrontierHalfGemm.h. The structure is gemm.c's, line for line: a microkernel keeps
 * an MR × NR tile of C in registers and walks k once, broadcasting one A value per row and
 * loading one 16-value weight group per panel, here widened from 16 bits to fp32 right after
 * the load. Each (format, MR) microkernel is its own function (a table picks it), so the
 * compiler optimizes each with its accumulators in registers.
 *
 * Widening costs two conversions per 16 FMAs, about 10 % when it is redone for every 8-row
 * group. So when a thread's row block has more than two row groups, each panel (pair) is
 * widened once into a per-thread fp32 staging buffer (32 · k floats, L2-resident) and the
 * block runs the plain fp32 kernel over it; memory traffic stays 16-bit either way.
 *
 * The portable kernel (fkh_gemm_generic) is the slow obvious version; the tests compare all
 * paths with an fp64 product over the widened weights.
 */
#include "FrontierHalfGemm.h"
#include "FrontierKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define FKH_X86 1
#endif

#define FK_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------------------------------- */
/* Conversions (portable, round to nearest even)                                             */
/* ---------------------------------------------------------------------------------------- */

uint16_t fk_float_to_f16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    const uint32_t sign = (u >> 16) & 0x8000u;
    const uint32_t mag = u & 0x7FFFFFFFu;
    if (mag > 0x7F800000u) return (uint16_t)(sign | 0x7E00u | ((mag >> 13) & 0x3FFu)); /* NaN, quieted */
    if (mag >= 0x477FF000u) return (uint16_t)(sign | 0x7C00u); /* ≥ 65520 rounds to inf */
    if (mag < 0x38800000u) {                                   /* below 2⁻¹⁴: subnormal or zero */
        if (mag <= 0x33000000u) return (uint16_t)sign;         /* ≤ 2⁻²⁵ rounds to 0 */
        const uint32_t e = mag >> 23, mant = (mag & 0x7FFFFFu) | 0x800000u;
        const uint32_t shift = 126 - e; /* value / 2⁻²⁴ = mant · 2^(e − 126) */
        uint32_t r = mant >> shift;
        const uint32_t rest = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rest > half || (rest == half && (r & 1u))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = (mag >> 13) - (112u << 10); /* rebias the exponent from 127 to 15 */
    const uint32_t rest = mag & 0x1FFFu;
    if (rest > 0x1000u || (rest == 0x1000u && (r & 1u))) r++;
    return (uint16_t)(sign | r);
}

float fk_f16_to_float(uint16_t h) {
    const uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    const uint32_t e = (h >> 10) & 0x1Fu;
    uint32_t m = h & 0x3FFu, u;
    if (e == 0) {
        if (m == 0) {
            u = sign;
        } else { /* subnormal: normalize */
            uint32_t shift = 0;
            while (!(m & 0x400u)) { m <<= 1; shift++; }
            u = sign | ((113u - shift) << 23) | ((m & 0x3FFu) << 13);
        }
    } else if (e == 31) {
        u = sign | 0x7F800000u | (m << 13);
    } else {
        u = sign | ((e + 112u) << 23) | (m << 13);
    }
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

uint16_t fk_float_to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    if ((u & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((u >> 16) | 0x40u); /* NaN, quieted */
    u += 0x7FFFu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float fk_bf16_to_float(uint16_t h) {
    const uint32_t u = (uint32_t)h << 16;
    float x;
    memcpy(&x, &u, sizeof x);
    return x;
}

/* ---------------------------------------------------------------------------------------- */
/* Packing: fk_pack_weights's layout, 16-bit                                                 */
/* ---------------------------------------------------------------------------------------- */

size_t fk_packed_size_half(size_t n, size_t k) { return fk_packed_size(n, k); }

static void fkh_pack(const float *w, size_t n, size_t k, uint16_t *packed, uint16_t (*convert)(float)) {
    const size_t panels = (n + FK_PANEL - 1) / FK_PANEL;
    for (size_t p = 0; p < panels; p++) {
        uint16_t *dst = packed + p * FK_PANEL * k;
        for (size_t kk = 0; kk < k; kk++) {
            for (size_t j = 0; j < FK_PANEL; j++) {
                const size_t row = p * FK_PANEL + j;
                dst[kk * FK_PANEL + j] = row < n ? convert(w[row * k + kk]) : 0;
            }
        }
    }
}

void fk_pack_weights_f16(const float *w, size_t n, size_t k, uint16_t *packed) {
    fkh_pack(w, n, k, packed, fk_float_to_f16);
}

void fk_pack_weights_bf16(const float *w, size_t n, size_t k, uint16_t *packed) {
    fkh_pack(w, n, k, packed, fk_float_to_bf16);
}

/* ---------------------------------------------------------------------------------------- */
/* Shared pieces                                                                             */
/* ---------------------------------------------------------------------------------------- */

FK_INLINE void fkh_tile_epilogue(float *c, size_t ldc, size_t rows, size_t cols, const float *bias,
                                 int epilogue) {
    if (epilogue == FK_EPILOGUE_BIAS_GELU) {
        fk_bias_gelu_strided(c, ldc, bias, rows, cols);
    } else if (epilogue == FK_EPILOGUE_BIAS) {
        for (size_t r = 0; r < rows; r++) {
            float *row = c + r * ldc;
            for (size_t j = 0; j < cols; j++) row[j] += bias[j];
        }
    }
}

/* Rows of A per block, as gemm.c: the block stays in L2 while a thread sweeps its panels.
 * With staging (stage != 0) the block is at least 64 rows (or 512 KB), since each panel is
 * widened once per block and that costs about 2 / rows of the block's multiply time. */
static size_t fkh_row_block(size_t k, size_t mr, int stage) {
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

typedef struct {
    int format;
    const float *a;
    size_t lda;
    const uint16_t *packed;
    const float *bias;
    float *c;
    size_t ldc, m, n, k;
    int epilogue;
    float *stage; /* (threads, 32 · k) fp32 staging, or NULL */
} fkh_args;

/* Format code for an already widened fp32 panel (the staging buffer). */
#define FKH_F32 2

/* ---------------------------------------------------------------------------------------- */
/* Portable                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static void fkh_gemm_generic(const fkh_args *x, size_t p_begin, size_t p_end) {
    float (*widen)(uint16_t) = x->format == FK_HALF_F16 ? fk_f16_to_float : fk_bf16_to_float;
    float b[FK_PANEL], acc[FK_PANEL];
    for (size_t p = p_begin; p < p_end; p++) {
        const uint16_t *panel = x->packed + p * FK_PANEL * x->k;
        const size_t col = p * FK_PANEL;
        const size_t nr = x->n - col < FK_PANEL ? x->n - col : FK_PANEL;
        for (size_t r = 0; r < x->m; r++) {
            const float *ar = x->a + r * x->lda;
            for (size_t j = 0; j < FK_PANEL; j++) acc[j] = 0.0f;
            for (size_t kk = 0; kk < x->k; kk++) {
                for (size_t j = 0; j < FK_PANEL; j++) b[j] = widen(panel[kk * FK_PANEL + j]);
                for (size_t j = 0; j < FK_PANEL; j++) acc[j] += ar[kk] * b[j];
            }
            float *cr = x->c + r * x->ldc + col;
            for (size_t j = 0; j < nr; j++) cr[j] = acc[j];
            if (x->epilogue) fkh_tile_epilogue(cr, x->ldc, 1, nr, x->bias + col, x->epilogue);
        }
    }
}

#if defined(FKH_X86)
/* ---------------------------------------------------------------------------------------- */
/* AVX-512: MR rows × 32 columns (two panels)                                                */
/* ---------------------------------------------------------------------------------------- */

#define FKH_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,avx2,f16c")))

/* The 16 values of weight group kk of a panel, as fp32. */
FKH_AVX512 FK_INLINE __m512 fkh_widen16(const int F, const void *panel, size_t kk) {
    if (F == FKH_F32) return _mm512_loadu_ps((const float *)panel + kk * FK_PANEL);
    const __m256i h = _mm256_loadu_si256((const __m256i *)((const uint16_t *)panel + kk * FK_PANEL));
    if (F == FK_HALF_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* Widens a whole panel (16 · k values) into fp32 staging. */
FKH_AVX512 static void fkh_stage_avx512(int format, const uint16_t *panel, size_t k, float *out) {
    for (size_t kk = 0; kk < k; kk++) {
        const __m512 v = format == FK_HALF_F16 ? fkh_widen16(FK_HALF_F16, panel, kk) : fkh_widen16(FK_HALF_BF16, panel, kk);
        _mm512_storeu_ps(out + kk * FK_PANEL, v);
    }
}

FKH_AVX512 FK_INLINE void fkh_kernel_avx512(const int F, const int MR, const float *a, size_t lda,
                                            const void *p0, const void *p1, size_t k, float *c,
                                            size_t ldc, size_t nr) {
    __m512 acc0[8], acc1[8];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); }
    for (size_t kk = 0; kk < k; kk++) {
        const __m512 b0 = fkh_widen16(F, p0, kk);
        const __m512 b1 = p1 ? fkh_widen16(F, p1, kk) : _mm512_setzero_ps();
        for (int r = 0; r < MR; r++) {
            const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
            acc0[r] = _mm512_fmadd_ps(av, b0, acc0[r]);
            acc1[r] = _mm512_fmadd_ps(av, b1, acc1[r]);
        }
    }
    const __mmask16 m0 = nr >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? (__mmask16)0xFFFF : (nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1));
    for (int r = 0; r < MR; r++) {
        _mm512_mask_storeu_ps(c + r * ldc, m0, acc0[r]);
        if (m1) _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc1[r]);
    }
}

typedef void (*fkh_kernel_fn)(const float *, size_t, const void *, const void *, size_t, float *,
                              size_t, size_t);

#define FKH_DEFINE_AVX512(F, NAME, MR)                                                              \
    FKH_AVX512 __attribute__((noinline)) static void fkh_avx512_##NAME##_##MR(                      \
        const float *a, size_t lda, const void *p0, const void *p1, size_t k, float *c,             \
        size_t ldc, size_t nr) {                                                                    \
        fkh_kernel_avx512(F, MR, a, lda, p0, p1, k, c, ldc, nr);                                    \
    }
#define FKH_DEFINE_AVX512_ALL(F, NAME)                                                              \
    FKH_DEFINE_AVX512(F, NAME, 1) FKH_DEFINE_AVX512(F, NAME, 2) FKH_DEFINE_AVX512(F, NAME, 3)       \
    FKH_DEFINE_AVX512(F, NAME, 4) FKH_DEFINE_AVX512(F, NAME, 5) FKH_DEFINE_AVX512(F, NAME, 6)       \
    FKH_DEFINE_AVX512(F, NAME, 7) FKH_DEFINE_AVX512(F, NAME, 8)
FKH_DEFINE_AVX512_ALL(FK_HALF_F16, f16)
FKH_DEFINE_AVX512_ALL(FK_HALF_BF16, bf16)
FKH_DEFINE_AVX512_ALL(FKH_F32, f32)

/* fkh_avx512_table[format][mr - 1] */
static const fkh_kernel_fn fkh_avx512_table[3][8] = {
    {fkh_avx512_f16_1, fkh_avx512_f16_2, fkh_avx512_f16_3, fkh_avx512_f16_4,
     fkh_avx512_f16_5, fkh_avx512_f16_6, fkh_avx512_f16_7, fkh_avx512_f16_8},
    {fkh_avx512_bf16_1, fkh_avx512_bf16_2, fkh_avx512_bf16_3, fkh_avx512_bf16_4,
     fkh_avx512_bf16_5, fkh_avx512_bf16_6, fkh_avx512_bf16_7, fkh_avx512_bf16_8},
    {fkh_avx512_f32_1, fkh_avx512_f32_2, fkh_avx512_f32_3, fkh_avx512_f32_4,
     fkh_avx512_f32_5, fkh_avx512_f32_6, fkh_avx512_f32_7, fkh_avx512_f32_8},
};

static void fkh_gemm_avx512(const fkh_args *x, size_t p_begin, size_t p_end, float *stage) {
    const size_t k = x->k, mc = fkh_row_block(k, 8, stage != NULL);
    for (size_t i0 = 0; i0 < x->m; i0 += mc) {
        const size_t i1 = i0 + mc < x->m ? i0 + mc : x->m;
        const int staged = stage && i1 - i0 > 16;
        for (size_t p = p_begin; p < p_end; p += 2) {
            const void *p0 = x->packed + p * FK_PANEL * k;
            const void *p1 = p + 1 < p_end ? x->packed + (p + 1) * FK_PANEL * k : NULL;
            int format = x->format;
            if (staged) {
                fkh_stage_avx512(x->format, p0, k, stage);
                if (p1) fkh_stage_avx512(x->format, p1, k, stage + FK_PANEL * k);
                p0 = stage;
                p1 = p1 ? stage + FK_PANEL * k : NULL;
                format = FKH_F32;
            }
            const size_t col = p * FK_PANEL, width = p1 ? 32 : 16;
            const size_t nr = x->n - col < width ? x->n - col : width;
            for (size_t i = i0; i < i1; i += 8) {
                const size_t mr = i1 - i < 8 ? i1 - i : 8;
                float *ci = x->c + i * x->ldc + col;
                fkh_avx512_table[format][mr - 1](x->a + i * x->lda, x->lda, p0, p1, k, ci, x->ldc, nr);
                if (x->epilogue) fkh_tile_epilogue(ci, x->ldc, mr, nr, x->bias + col, x->epilogue);
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX2 + FMA (+ F16C): MR rows × 16 columns (one panel)                                     */
/* ---------------------------------------------------------------------------------------- */

#define FKH_AVX2 __attribute__((target("avx2,fma,f16c")))

FKH_AVX2 FK_INLINE __m256 fkh_widen8(const int F, const void *base, size_t offset) {
    if (F == FKH_F32) return _mm256_loadu_ps((const float *)base + offset);
    const __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)base + offset));
    if (F == FK_HALF_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

FKH_AVX2 static void fkh_stage_avx2(int format, const uint16_t *panel, size_t k, float *out) {
    for (size_t i = 0; i < FK_PANEL * k; i += 8) {
        const __m256 v = format == FK_HALF_F16 ? fkh_widen8(FK_HALF_F16, panel, i) : fkh_widen8(FK_HALF_BF16, panel, i);
        _mm256_storeu_ps(out + i, v);
    }
}

FKH_AVX2 FK_INLINE void fkh_kernel_avx2(const int F, const int MR, const float *a, size_t lda,
                                        const void *p0, size_t k, float *c, size_t ldc, size_t nr) {
    __m256 acc0[6], acc1[6];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm256_setzero_ps(); acc1[r] = _mm256_setzero_ps(); }
    for (size_t kk = 0; kk < k; kk++) {
        const __m256 b0 = fkh_widen8(F, p0, kk * FK_PANEL);
        const __m256 b1 = fkh_widen8(F, p0, kk * FK_PANEL + 8);
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

typedef void (*fkh_kernel2_fn)(const float *, size_t, const void *, size_t, float *, size_t, size_t);

#define FKH_DEFINE_AVX2(F, NAME, MR)                                                                \
    FKH_AVX2 __attribute__((noinline)) static void fkh_avx2_##NAME##_##MR(                          \
        const float *a, size_t lda, const void *p0, size_t k, float *c, size_t ldc, size_t nr) {    \
        fkh_kernel_avx2(F, MR, a, lda, p0, k, c, ldc, nr);                                          \
    }
#define FKH_DEFINE_AVX2_ALL(F, NAME)                                                                \
    FKH_DEFINE_AVX2(F, NAME, 1) FKH_DEFINE_AVX2(F, NAME, 2) FKH_DEFINE_AVX2(F, NAME, 3)             \
    FKH_DEFINE_AVX2(F, NAME, 4) FKH_DEFINE_AVX2(F, NAME, 5) FKH_DEFINE_AVX2(F, NAME, 6)
FKH_DEFINE_AVX2_ALL(FK_HALF_F16, f16)
FKH_DEFINE_AVX2_ALL(FK_HALF_BF16, bf16)
FKH_DEFINE_AVX2_ALL(FKH_F32, f32)

static const fkh_kernel2_fn fkh_avx2_table[3][6] = {
    {fkh_avx2_f16_1, fkh_avx2_f16_2, fkh_avx2_f16_3, fkh_avx2_f16_4, fkh_avx2_f16_5, fkh_avx2_f16_6},
    {fkh_avx2_bf16_1, fkh_avx2_bf16_2, fkh_avx2_bf16_3, fkh_avx2_bf16_4, fkh_avx2_bf16_5, fkh_avx2_bf16_6},
    {fkh_avx2_f32_1, fkh_avx2_f32_2, fkh_avx2_f32_3, fkh_avx2_f32_4, fkh_avx2_f32_5, fkh_avx2_f32_6},
};

static void fkh_gemm_avx2(const fkh_args *x, size_t p_begin, size_t p_end, float *stage) {
    const size_t k = x->k, mc = fkh_row_block(k, 6, stage != NULL);
    for (size_t i0 = 0; i0 < x->m; i0 += mc) {
        const size_t i1 = i0 + mc < x->m ? i0 + mc : x->m;
        const int staged = stage && i1 - i0 > 12;
        for (size_t p = p_begin; p < p_end; p++) {
            const void *p0 = x->packed + p * FK_PANEL * k;
            int format = x->format;
            if (staged) {
                fkh_stage_avx2(x->format, p0, k, stage);
                p0 = stage;
                format = FKH_F32;
            }
            const size_t col = p * FK_PANEL;
            const size_t nr = x->n - col < 16 ? x->n - col : 16;
            for (size_t i = i0; i < i1; i += 6) {
                const size_t mr = i1 - i < 6 ? i1 - i : 6;
                float *ci = x->c + i * x->ldc + col;
                fkh_avx2_table[format][mr - 1](x->a + i * x->lda, x->lda, p0, k, ci, x->ldc, nr);
                if (x->epilogue) fkh_tile_epilogue(ci, x->ldc, mr, nr, x->bias + col, x->epilogue);
            }
        }
    }
}
#endif

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

static _Atomic int fkh_forced = -1;

void fk_half_gemm_force_isa(int level) { atomic_store(&fkh_forced, level); }

void fk_half_gemm_force_generic(int force) { fk_half_gemm_force_isa(force ? 0 : -1); }

static int fkh_has_f16c(void) {
#if defined(FKH_X86) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("f16c");
#else
    return 0;
#endif
}

/* 2: AVX-512, 1: AVX2 + FMA + F16C, 0: portable. (Every AVX2 CPU also has F16C.) */
static int fkh_level(void) {
    static _Atomic int level = -1;
    int value = atomic_load_explicit(&level, memory_order_relaxed);
    if (value < 0) {
        const int f16c = fkh_has_f16c();
        value = fk_cpu_has_avx512() && f16c ? 2 : (fk_cpu_has_avx2_fma() && f16c ? 1 : 0);
        atomic_store_explicit(&level, value, memory_order_relaxed);
    }
    const int forced = atomic_load(&fkh_forced);
    return forced >= 0 && forced < value ? forced : value;
}

const char *fk_half_gemm_isa(void) {
    switch (fkh_level()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
    }
}

typedef struct {
    fkh_args args;
    int level;
    size_t panel_step;
} fkh_job;

static void fkh_job_run(void *raw, int index, int count) {
    const fkh_job *job = raw;
    const size_t panels = (job->args.n + FK_PANEL - 1) / FK_PANEL;
    const size_t steps = (panels + job->panel_step - 1) / job->panel_step;
    const size_t s0 = steps * (size_t)index / (size_t)count, s1 = steps * (size_t)(index + 1) / (size_t)count;
    const size_t p0 = s0 * job->panel_step;
    size_t p1 = s1 * job->panel_step;
    if (p1 > panels) p1 = panels;
    if (p0 >= p1) return;
    switch (job->level) {
#if defined(FKH_X86)
    case 2: fkh_gemm_avx512(&job->args, p0, p1, job->args.stage ? job->args.stage + (size_t)index * 2 * FK_PANEL * job->args.k : NULL); break;
    case 1: fkh_gemm_avx2(&job->args, p0, p1, job->args.stage ? job->args.stage + (size_t)index * 2 * FK_PANEL * job->args.k : NULL); break;
#endif
    default: fkh_gemm_generic(&job->args, p0, p1); break;
    }
}

/* The calling thread's grow-only staging buffer (workers use slices of it during the call). */
static pthread_key_t fkh_stage_key;
static pthread_once_t fkh_stage_once = PTHREAD_ONCE_INIT;

typedef struct {
    float *data;
    size_t capacity; /* floats */
} fkh_stage_buffer;

static void fkh_stage_release(void *raw) {
    fkh_stage_buffer *b = raw;
    free(b->data);
    free(b);
}

static void fkh_stage_key_init(void) { pthread_key_create(&fkh_stage_key, fkh_stage_release); }

static float *fkh_stage_get(size_t floats) {
    pthread_once(&fkh_stage_once, fkh_stage_key_init);
    fkh_stage_buffer *b = pthread_getspecific(fkh_stage_key);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b) return NULL;
        pthread_setspecific(fkh_stage_key, b);
    }
    if (b->capacity < floats) {
        free(b->data);
        b->capacity = 0;
        b->data = aligned_alloc(64, (floats * sizeof(float) + 63) / 64 * 64);
        if (!b->data) return NULL;
        b->capacity = floats;
    }
    return b->data;
}

static void fkh_linear(int format, fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                       const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue) {
    if (m == 0 || n == 0) return;
    fkh_job job;
    job.args = (fkh_args){format, a, lda, packed, bias, c, ldc, m, n, k, bias ? epilogue : FK_EPILOGUE_NONE, NULL};
    job.level = fkh_level();
    job.panel_step = job.level == 2 ? 2 : 1;
    const int parallel = pool && m * n * k >= 32768;
    /* Staging pays from three row groups on; without memory for it, widen in the kernel. */
    if (job.level > 0 && m > 12) {
        job.args.stage = fkh_stage_get((size_t)(parallel ? fk_pool_threads(pool) : 1) * 2 * FK_PANEL * k);
    }
    /* Tiny products (classifier heads) are not worth waking workers for. */
    if (!parallel) {
        fkh_job_run(&job, 0, 1);
    } else {
        fk_pool_run(pool, fkh_job_run, &job);
    }
}

void fk_linear_packed_f16(fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                          const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                          int epilogue) {
    fkh_linear(FK_HALF_F16, pool, a, lda, packed, bias, c, ldc, m, n, k, epilogue);
}

void fk_linear_packed_bf16(fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                           const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                           int epilogue) {
    fkh_linear(FK_HALF_BF16, pool, a, lda, packed, bias, c, ldc, m, n, k, epilogue);
}
