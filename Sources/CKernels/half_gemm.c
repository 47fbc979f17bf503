/*
 * See include/FrontierHalfGemm.h. The SIMD kernels are gemm.c's, from panel_gemm.c: a
 * microkernel keeps an MR × NR tile of C in registers and walks k once, broadcasting one A value
 * per row and loading one 16-value weight group per panel, here widened from 16 bits to fp32
 * right after the load.
 *
 * Widening costs two conversions per 16 FMAs, about 10 % when it is redone for every 8-row
 * group. So when a thread's row block has more than two row groups, each panel (pair) is
 * widened once into a per-thread fp32 staging buffer (32 · k floats, L2-resident) and the
 * block runs the plain fp32 kernel over it; memory traffic stays 16-bit either way.
 *
 * The portable kernel (fkh_gemm_generic) is the slow obvious version; the tests compare all
 * paths with an fp64 product over the widened weights.
 */
#include "fk_common.h"
#include "FrontierHalfGemm.h"
#include "FrontierKernels.h"
#include "fk_cpu.h"
#include "fk_panel.h"
#include "fk_scratch.h"

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

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
/* Portable                                                                                  */
/* ---------------------------------------------------------------------------------------- */

static void fkh_gemm_generic(const fk_panel_args *x, size_t p_begin, size_t p_end) {
    float (*widen)(uint16_t) = x->format == FK_HALF_F16 ? fk_f16_to_float : fk_bf16_to_float;
    const uint16_t *packed = x->packed;
    float b[FK_PANEL], acc[FK_PANEL];
    for (size_t p = p_begin; p < p_end; p++) {
        const uint16_t *panel = packed + p * FK_PANEL * x->k;
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
            if (x->epilogue) fk_tile_epilogue(cr, x->ldc, 1, nr, x->bias + col, x->epilogue);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

static _Atomic int fkh_forced = -1;

void fk_half_gemm_force_isa(int level) { atomic_store(&fkh_forced, level); }

void fk_half_gemm_force_generic(int force) { fk_half_gemm_force_isa(force ? 0 : -1); }

/* 2: AVX-512, 1: AVX2 + FMA + F16C, 0: portable. (Every AVX2 CPU also has F16C.) */
static int fkh_level(void) {
    return fk_cpu_level(FK_CPU_AVX512 | FK_CPU_F16C, FK_CPU_AVX2_FMA | FK_CPU_F16C, atomic_load(&fkh_forced));
}

const char *fk_half_gemm_isa(void) {
    switch (fkh_level()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
    }
}

typedef struct {
    fk_panel_args args;
    int level;
    float *stage; /* (threads, 32 · k) fp32 staging, or NULL */
} fkh_job;

static void fkh_job_run(void *raw, int index, int count) {
    const fkh_job *job = raw;
    size_t p0, p1;
    fk_panel_range(job->args.n, job->level == 2 ? 2 : 1, index, count, &p0, &p1);
    if (p0 >= p1) return;
    float *stage = job->stage ? job->stage + (size_t)index * 2 * FK_PANEL * job->args.k : NULL;
    switch (job->level) {
#if defined(FK_X86)
    case 2: fk_panel_gemm_avx512(&job->args, p0, p1, stage); break;
    case 1: fk_panel_gemm_avx2(&job->args, p0, p1, stage); break;
#endif
    default: fkh_gemm_generic(&job->args, p0, p1); break;
    }
}

static void fkh_linear(int format, fk_pool *pool, const float *a, size_t lda, const uint16_t *packed,
                       const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue) {
    if (m == 0 || n == 0) return;
    fkh_job job;
    job.args = (fk_panel_args){format, a, lda, packed, bias, c, ldc, m, n, k, bias ? epilogue : FK_EPILOGUE_NONE};
    job.level = fkh_level();
    job.stage = NULL;
    const int parallel = pool && m * n * k >= 32768;
    /* Staging pays from three row groups on; without memory for it, widen in the kernel. The
     * calling thread's buffer is sliced among the pool's threads for the call. */
    if (job.level > 0 && m > 12) {
        const size_t floats = (size_t)(parallel ? fk_pool_threads(pool) : 1) * 2 * FK_PANEL * k;
        job.stage = fk_scratch(FK_SCRATCH_HALF_STAGE, floats * sizeof(float));
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
