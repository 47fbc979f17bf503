/*
 * See include/FrontierSparse.h.
 *
 * Storage: W's nonzeros as (idx: uint16 kk, val: fp32 W[j, kk]) pairs in two arrays, grouped
 * by k-block of kc columns, then by output feature j, then kk ascending: the nonzeros of row j
 * in k-block b are seg[b·(n + 1) + j] .. seg[b·(n + 1) + j + 1]. Grouping by k-block first makes
 * one pass over a k-block read its nonzeros as one sequential stream; with rows contiguous
 * instead, each pass jumped a row's length ahead per feature, and at small batch with weights
 * beyond L2 (BERT-base, m = 32) those misses halved the speed. With one k-block (k <= kc)
 * this is plain CSR.
 *
 * Why transposed: a nonzero W[j, kk] is needed by every activation row. Holding
 * c[i0 .. i0 + MR, j] in registers and walking row j's nonzeros, each nonzero is one broadcast
 * of W[j, kk] and MR/16 FMAs against at[kk] = a[i0 .. i0 + MR, kk] (contiguous after the
 * transpose), fully vectorised whatever the zero pattern. Two accumulator sets (even and odd
 * nonzeros) keep eight FMA chains in flight at MR = 64.
 *
 * Why k-blocks: one tile of at is MR·k floats (96 KiB at MR = 64, k = 384), beyond L1, and each
 * nonzero reads MR floats of it. Walking all features once per k-block, with the partial sums
 * of a chunk of features parked in a small buffer (ct), keeps the block being read in L1; the
 * price is a load and a store of the partial sums per (feature, block), which is why blocks are
 * longer for sparser weights (192 columns at ≤ 25 % density, else 128: measured on Zen 4).
 *
 * Why the output prefetch: at a batch of thousands of tokens c is tens of MiB and lives in L3;
 * each finished 16-feature block is stored as MR rows of 64 bytes, and without prefetching
 * those read-for-ownership misses stalled the stores for about a third of the run time at 90 %
 * sparsity. The lines of the next block are prefetched while the current one is computed.
 *
 * The transposes cost O(m·k + m·n) shuffles, small next to nnz·m FMAs down to ~5 % density.
 * One activation row (m = 1) has nothing to vectorise over: it is a scalar CSR dot product per
 * feature, which on Zen 4 beat 16-wide gathers by 20–40 %.
 */
#define _GNU_SOURCE
#include "fk_common.h"
#include "FrontierSparse.h"
#include "FrontierGemm.h"
#include "FrontierKernels.h"
#include "fk_cpu.h"
#include "fk_scratch.h"
#include "fk_sparse_tile.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The most activation rows of a tile (AVX-512: 4 zmm per feature). */
#define SP_MR_MAX 64

struct fk_sparse {
    size_t n, k, nnz, bytes;
    size_t kc;     /* columns per k-block */
    size_t nkb;    /* k-blocks (at least 1) */
    uint32_t *seg;  /* nkb × (n + 1) + 1 */
    uint32_t *cost; /* per 16-feature block q: nonzeros of features [0, 16q), for thread splits */
    uint16_t *idx; /* nnz (+ padding) */
    float *val;    /* nnz (+ padding) */
};

/* ---------------------------------------------------------------------------------------- */
/* Construction                                                                              */
/* ---------------------------------------------------------------------------------------- */

fk_sparse *fk_sparse_create(const float *w, size_t n, size_t k) {
    if (k > 65536) return NULL;
    size_t nnz = 0;
    for (size_t i = 0; i < n * k; i++) nnz += w[i] != 0.0f;
    if (nnz > UINT32_MAX - 64) return NULL;
    fk_sparse *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->n = n;
    s->k = k;
    s->nnz = nnz;
    const double density = n && k ? (double)nnz / ((double)n * (double)k) : 0.0;
    s->kc = density <= 0.25 ? 192 : 128;
    s->nkb = k > s->kc ? (k + s->kc - 1) / s->kc : 1;
    const size_t nseg = s->nkb * (n + 1) + 1;
    const size_t blocks = (n + SP_NB - 1) / SP_NB;
    s->seg = calloc(nseg, sizeof *s->seg);
    s->cost = calloc(blocks + 1, sizeof *s->cost);
    /* Padded so that no load of the kernels can leave the arrays. */
    s->idx = fk_aligned_alloc((nnz + 32) * sizeof *s->idx);
    s->val = fk_aligned_alloc((nnz + 16) * sizeof *s->val);
    if (!s->seg || !s->cost || !s->idx || !s->val) {
        fk_sparse_destroy(s);
        return NULL;
    }
    /* Count per (block, feature), turn counts into starts, then place (kk ascending). */
    for (size_t j = 0; j < n; j++) {
        const float *row = w + j * k;
        for (size_t kk = 0; kk < k; kk++) s->seg[(kk / s->kc) * (n + 1) + j + 1] += row[kk] != 0.0f;
    }
    uint32_t p = 0;
    for (size_t b = 0; b < s->nkb; b++) {
        uint32_t *sb = s->seg + b * (n + 1);
        sb[0] = p;
        for (size_t j = 0; j < n; j++) {
            p += sb[j + 1];
            sb[j + 1] = p;
        }
    }
    s->seg[nseg - 1] = p;
    for (size_t j = 0; j < n; j++) {
        const float *row = w + j * k;
        for (size_t b = 0; b < s->nkb; b++) {
            uint32_t q = s->seg[b * (n + 1) + j];
            const size_t k1 = (b + 1) * s->kc < k ? (b + 1) * s->kc : k;
            for (size_t kk = b * s->kc; kk < k1; kk++) {
                if (row[kk] != 0.0f) {
                    s->idx[q] = (uint16_t)kk;
                    s->val[q] = row[kk];
                    q++;
                }
            }
        }
    }
    sp_block_costs(s->seg, s->nkb, n, blocks, s->cost);
    memset(s->idx + nnz, 0, 32 * sizeof *s->idx);
    memset(s->val + nnz, 0, 16 * sizeof *s->val);
    s->bytes = sizeof *s + nseg * sizeof *s->seg + (blocks + 1) * sizeof *s->cost + (nnz + 32) * sizeof *s->idx +
               (nnz + 16) * sizeof *s->val;
    return s;
}

void fk_sparse_destroy(fk_sparse *s) {
    if (!s) return;
    free(s->seg);
    free(s->cost);
    free(s->idx);
    free(s->val);
    free(s);
}

size_t fk_sparse_nnz(const fk_sparse *s) { return s ? s->nnz : 0; }
size_t fk_sparse_bytes(const fk_sparse *s) { return s ? s->bytes : 0; }
size_t fk_sparse_rows(const fk_sparse *s) { return s ? s->n : 0; }
size_t fk_sparse_cols(const fk_sparse *s) { return s ? s->k : 0; }

/* ---------------------------------------------------------------------------------------- */
/* Epilogue, reference and the one-row kernel                                                */
/* ---------------------------------------------------------------------------------------- */


/* Rows [0, m), features [j0, j1): one dot product per output. Needs no scratch. */
static void sp_reference_cols(const float *a, size_t lda, const fk_sparse *w, const float *bias, float *c,
                              size_t ldc, size_t m, size_t j0, size_t j1, int epilogue) {
    for (size_t i = 0; i < m; i++) {
        const float *ai = a + i * lda;
        for (size_t j = j0; j < j1; j++) {
            float sum = 0.0f;
            for (size_t b = 0; b < w->nkb; b++) {
                const uint32_t *sg = w->seg + b * (w->n + 1) + j;
                for (uint32_t p = sg[0]; p < sg[1]; p++) sum += w->val[p] * ai[w->idx[p]];
            }
            c[i * ldc + j] = epilogue ? sum + bias[j] : sum;
        }
        sp_gelu_rows(c + i * ldc + j0, ldc, 1, j1 - j0, epilogue);
    }
}

void fk_linear_sparse_reference(const float *a, size_t lda, const fk_sparse *w, const float *bias,
                                float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue) {
    (void)k;
    sp_reference_cols(a, lda, w, bias, c, ldc, m, 0, n, bias ? epilogue : FK_EPILOGUE_NONE);
}

/* One k-block of sp_spmv, with `first` (block 0) as a constant so that the loop has no test for
 * it (fk_common.h: -O2 does not unswitch loops). */
FK_INLINE void sp_spmv_block(const int first, const float *x, const fk_sparse *s, size_t b, float *y, size_t j0,
                             size_t j1) {
    const uint16_t *idx = s->idx;
    const float *val = s->val;
    const uint32_t *sb = s->seg + b * (s->n + 1);
    for (size_t j = j0; j < j1; j++) {
        float s0 = 0.0f, s1 = 0.0f, s2 = 0.0f, s3 = 0.0f;
        uint32_t p = sb[j];
        const uint32_t end = sb[j + 1];
        for (; p + 4 <= end; p += 4) {
            s0 += val[p] * x[idx[p]];
            s1 += val[p + 1] * x[idx[p + 1]];
            s2 += val[p + 2] * x[idx[p + 2]];
            s3 += val[p + 3] * x[idx[p + 3]];
        }
        for (; p < end; p++) s0 += val[p] * x[idx[p]];
        const float sum = (s0 + s1) + (s2 + s3);
        y[j] = first ? sum : y[j] + sum;
    }
}

/* m = 1: a scalar dot product per (k-block, feature) segment with four independent sums,
 * k-block by k-block so the nonzeros stream in storage order, accumulated in y. Three loads
 * per nonzero (index, value, x) are the limit; 16-wide gathers were slower on Zen 4 and their
 * horizontal sums cost more than they save. The short segments cost a mispredicted loop exit
 * each, which makes this ~20-40 % slower than one dot product over a contiguous row: the
 * price of the k-block-major storage that the batched kernels need. */
static void sp_spmv(const float *x, const fk_sparse *s, const float *bias, float *y, size_t j0, size_t j1,
                    int epilogue) {
    sp_spmv_block(1, x, s, 0, y, j0, j1);
    for (size_t b = 1; b < s->nkb; b++) sp_spmv_block(0, x, s, b, y, j0, j1);
    if (epilogue) {
        for (size_t j = j0; j < j1; j++) y[j] += bias[j];
    }
    sp_gelu_rows(y + j0, 0, 1, j1 - j0, epilogue);
}

/* ---------------------------------------------------------------------------------------- */
/* Portable kernel: 16-row tiles, whole k, plain loops the compiler vectorises               */
/* ---------------------------------------------------------------------------------------- */

#define SP_MR_GENERIC 16

static void sp_tile_generic(const float *a, size_t lda, const fk_sparse *s, const float *bias, float *c,
                            size_t ldc, size_t mv, size_t k, size_t j0, size_t j1, int epilogue, float *at) {
    enum { MR = SP_MR_GENERIC };
    for (size_t kk = 0; kk < k; kk++) {
        for (size_t i = 0; i < MR; i++) at[kk * MR + i] = i < mv ? a[i * lda + kk] : 0.0f;
    }
    for (size_t j = j0; j < j1; j++) {
        float acc[MR] = {0};
        for (size_t b = 0; b < s->nkb; b++) {
            const uint32_t *sg = s->seg + b * (s->n + 1) + j;
            for (uint32_t p = sg[0]; p < sg[1]; p++) {
                const float wv = s->val[p];
                const float *x = at + (size_t)s->idx[p] * MR;
                for (size_t i = 0; i < MR; i++) acc[i] += wv * x[i];
            }
        }
        for (size_t i = 0; i < mv; i++) c[i * ldc + j] = epilogue ? acc[i] + bias[j] : acc[i];
    }
    sp_gelu_rows(c + j0, ldc, mv, j1 - j0, epilogue);
}

/* h[j][i] += b[j], then GELU, over n features of ld (<= SP_MR_MAX) values: the bias and GELU of
 * sp_transpose_out_* and sp_gelu_rows, the same operations on the feature-major intermediate of
 * the fused feed-forward block. */
static void sp_bias_gelu_kmajor(float *h, size_t ld, const float *b, size_t n) {
    static const float zeros[SP_MR_MAX] = {0};
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < ld; i++) h[j * ld + i] += b[j];
    }
    fk_bias_gelu_strided(h, ld, zeros, n, ld);
}

#if defined(FK_X86)
/* ---------------------------------------------------------------------------------------- */
/* AVX-512: tiles of up to 64 rows (R = 1..4 zmm per feature)                                */
/* ---------------------------------------------------------------------------------------- */



/* at[kk][0 .. 16) = a[0 .. rows)[kk], zeros past rows; called with a constant 16 for full blocks
 * (fk_common.h: -O2 does not unswitch the row tests out of the loop). */
FK_TARGET_AVX512 FK_INLINE void sp_transpose_in16_avx512(const float *a, size_t lda, size_t rows, size_t k, float *at,
                                                         size_t ldat) {
    for (size_t kb = 0; kb < k; kb += 16) {
        const size_t kc = k - kb < 16 ? k - kb : 16;
        const __mmask16 km = sp_mask16(kc);
        __m512 r[16];
        for (size_t t = 0; t < 16; t++) {
            r[t] = t < rows ? _mm512_maskz_loadu_ps(km, a + t * lda + kb) : _mm512_setzero_ps();
        }
        sp_tr16(r);
        /* A constant trip count with a guard, not `t < kc`: indexed by a run-time bound, r[] lives
         * on the stack (spilled and reloaded every block); unrolled, it stays in registers. */
        FK_UNROLL for (size_t t = 0; t < 16; t++) {
            if (t < kc) _mm512_store_ps(at + (kb + t) * ldat, r[t]);
        }
    }
}

/* at[kk][i] = a[i][kk] for i < mv, 0 for mv <= i < ldat (a multiple of 16). */
FK_TARGET_AVX512 static void sp_transpose_in_avx512(const float *a, size_t lda, size_t mv, size_t k, float *at,
                                                    size_t ldat) {
    for (size_t rb = 0; rb < ldat; rb += 16) {
        const size_t rows = mv > rb ? (mv - rb < 16 ? mv - rb : 16) : 0;
        if (rows == 16) sp_transpose_in16_avx512(a + rb * lda, lda, 16, k, at + rb, ldat);
        else sp_transpose_in16_avx512(a + rb * lda, lda, rows, k, at + rb, ldat);
    }
}

/* ctj[0 .. 16R) = (first ? 0 : ctj) + Σ val[p] · at[idx[p]] over p in [p, end). */
FK_TARGET_AVX512 FK_INLINE void sp_seg_avx512(const int R, const int first, const uint16_t *idx, const float *val,
                                              uint32_t p, const uint32_t end, const float *at, float *ctj) {
    __m512 e0[4], e1[4];
    for (int r = 0; r < R; r++) {
        e0[r] = first ? _mm512_setzero_ps() : _mm512_load_ps(ctj + 16 * r);
        e1[r] = _mm512_setzero_ps();
    }
    for (; p + 2 <= end; p += 2) {
        const float *x0 = at + (size_t)idx[p] * (16 * R);
        const float *x1 = at + (size_t)idx[p + 1] * (16 * R);
        const __m512 w0 = _mm512_set1_ps(val[p]);
        const __m512 w1 = _mm512_set1_ps(val[p + 1]);
        for (int r = 0; r < R; r++) e0[r] = _mm512_fmadd_ps(w0, _mm512_load_ps(x0 + 16 * r), e0[r]);
        for (int r = 0; r < R; r++) e1[r] = _mm512_fmadd_ps(w1, _mm512_load_ps(x1 + 16 * r), e1[r]);
    }
    if (p < end) {
        const float *x0 = at + (size_t)idx[p] * (16 * R);
        const __m512 w0 = _mm512_set1_ps(val[p]);
        for (int r = 0; r < R; r++) e0[r] = _mm512_fmadd_ps(w0, _mm512_load_ps(x0 + 16 * r), e0[r]);
    }
    for (int r = 0; r < R; r++) _mm512_store_ps(ctj + 16 * r, _mm512_add_ps(e0[r], e1[r]));
}

/* One k-block pass over features [j0, j1): ct[j - j0] (+)= W[j, block b] · at[block b].
 * With pfc, also prefetches the lines c[0 .. mv)[0 .. 16) of the next output block, a few per
 * feature so that the misses overlap the arithmetic. */
FK_TARGET_AVX512 FK_INLINE void sp_pass_avx512(const int R, const fk_sparse *s, const float *at, size_t b, size_t j0,
                                               size_t j1, float *ct, const float *pfc, size_t ldc, size_t mv) {
    const uint32_t *sb = s->seg + b * (s->n + 1);
    const size_t step = (mv + 15) / 16;
    for (size_t j = j0; j < j1; j++) {
        const uint32_t *sg = sb + j;
        float *ctj = ct + (j - j0) * (size_t)(16 * R);
        if (b == 0) sp_seg_avx512(R, 1, s->idx, s->val, sg[0], sg[1], at, ctj);
        else if (sg[0] < sg[1]) sp_seg_avx512(R, 0, s->idx, s->val, sg[0], sg[1], at, ctj);
        if (pfc) {
            const size_t lane = (j - j0) % 16;
            for (size_t r = lane * step; r < (lane + 1) * step && r < mv; r++) {
                _mm_prefetch((const char *)(pfc + r * ldc), _MM_HINT_T0);
            }
        }
    }
}


#define SP_PASS_AVX512(R, ...)                                                                      \
    switch (R) {                                                                                    \
    case 4: sp_pass_avx512(4, __VA_ARGS__); break;                                                  \
    case 3: sp_pass_avx512(3, __VA_ARGS__); break;                                                  \
    case 2: sp_pass_avx512(2, __VA_ARGS__); break;                                                  \
    default: sp_pass_avx512(1, __VA_ARGS__); break;                                                 \
    }

/* Rows [0, mv) (mv <= 64), features [j0, j1), in chunks of SP_CHUNK features; for each chunk
 * the k-blocks are walked in order. The last pass is fused with the output: a 16-feature block
 * is transposed into c as soon as its sums are complete, while the next block's lines arrive. */
FK_TARGET_AVX512 static void sp_tile_at_avx512(const float *at, const fk_sparse *s, const float *bias, float *c,
                                               size_t ldc, size_t mv, size_t j0, size_t j1, int epilogue, float *ct) {
    const int R = (int)((mv + 15) / 16);
    const size_t ldat = (size_t)(16 * R);
    const float *b = epilogue ? bias : NULL;
    const size_t last = s->nkb - 1;
    for (size_t fc = j0; fc < j1; fc += SP_CHUNK) {
        const size_t fe = j1 - fc < SP_CHUNK ? j1 : fc + SP_CHUNK;
        for (size_t kb = 0; kb < last; kb++) {
            SP_PASS_AVX512(R, s, at, kb, fc, fe, ct, NULL, ldc, mv)
        }
        for (size_t jb = fc; jb < fe; jb += SP_NB) {
            const size_t nc = fe - jb < SP_NB ? fe - jb : SP_NB;
            const float *pfc = jb + nc < j1 ? c + jb + nc : NULL;
            float *ctb = ct + (jb - fc) * ldat;
            SP_PASS_AVX512(R, s, at, last, jb, jb + nc, ctb, pfc, ldc, mv)
            sp_transpose_out_avx512(ctb, ldat, b ? b + jb : NULL, NULL, NULL, mv, nc, c + jb, ldc);
            sp_gelu_rows(c + jb, ldc, mv, nc, epilogue);
        }
    }
}

/* The transposed tile, then sp_tile_at_avx512 (at: k · 16R floats, then the partial sums). */
FK_TARGET_AVX512 static void sp_tile_avx512(const float *a, size_t lda, const fk_sparse *s, const float *bias,
                                            float *c, size_t ldc, size_t mv, size_t k, size_t j0, size_t j1,
                                            int epilogue, float *at) {
    const size_t ldat = (mv + 15) / 16 * 16;
    sp_transpose_in_avx512(a, lda, mv, k, at, ldat);
    sp_tile_at_avx512(at, s, bias, c, ldc, mv, j0, j1, epilogue, at + k * ldat);
}

/* The first product of the feed-forward block (sp_ffn_tile): h[j] = W1[j] · at + b1[j], then
 * GELU, feature-major (ldat floats per feature: the transposed-tile layout the second product
 * reads). */
FK_TARGET_AVX512 static void sp_ffn_first_avx512(const float *at, const fk_sparse *s1, const float *b1, size_t mv,
                                                 float *h) {
    const int R = (int)((mv + 15) / 16);
    const size_t ldat = (size_t)(16 * R);
    for (size_t fc = 0; fc < s1->n; fc += SP_CHUNK) {
        const size_t fe = s1->n - fc < SP_CHUNK ? s1->n : fc + SP_CHUNK;
        for (size_t kb = 0; kb < s1->nkb; kb++) {
            SP_PASS_AVX512(R, s1, at, kb, fc, fe, h + fc * ldat, NULL, 0, mv)
        }
        sp_bias_gelu_kmajor(h + fc * ldat, ldat, b1 + fc, fe - fc);
    }
}

/* The feed-forward block W2 · GELU(W1 · a + b1) + b2 on one tile of mv rows: the intermediate
 * stays feature-major in scratch (transposed tile, then h, then the partial sums). */
FK_TARGET_AVX512 static void sp_ffn_tile_avx512(const float *a, size_t lda, const fk_sparse *s1, const float *b1,
                                                const fk_sparse *s2, const float *b2, float *c, size_t ldc, size_t mv,
                                                float *scratch) {
    const size_t ldat = (mv + 15) / 16 * 16;
    float *at = scratch, *h = at + s1->k * ldat;
    sp_transpose_in_avx512(a, lda, mv, s1->k, at, ldat);
    sp_ffn_first_avx512(at, s1, b1, mv, h);
    sp_tile_at_avx512(h, s2, b2, c, ldc, mv, 0, s2->n, FK_EPILOGUE_BIAS, h + s1->n * ldat);
}

/* ---------------------------------------------------------------------------------------- */
/* AVX2 + FMA: the same scheme with tiles of up to 32 rows (R = 1..4 ymm per feature)        */
/* ---------------------------------------------------------------------------------------- */

FK_TARGET_AVX2 FK_INLINE void sp_tr8(__m256 r[8]) {
    __m256 t[8], u[8];
    for (int i = 0; i < 4; i++) {
        t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 2; i++) {
        u[4 * i + 0] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0x44);
        u[4 * i + 1] = _mm256_shuffle_ps(t[4 * i], t[4 * i + 2], 0xEE);
        u[4 * i + 2] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0x44);
        u[4 * i + 3] = _mm256_shuffle_ps(t[4 * i + 1], t[4 * i + 3], 0xEE);
    }
    for (int q = 0; q < 4; q++) {
        r[q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x20);
        r[4 + q] = _mm256_permute2f128_ps(u[q], u[4 + q], 0x31);
    }
}

FK_TARGET_AVX2 FK_INLINE __m256i sp_mask8(size_t count) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count < 8 ? count : 8)), lanes);
}

/* As sp_transpose_in16_avx512, 8 rows. */
FK_TARGET_AVX2 FK_INLINE void sp_transpose_in8_avx2(const float *a, size_t lda, size_t rows, size_t k, float *at,
                                                    size_t ldat) {
    for (size_t kb = 0; kb < k; kb += 8) {
        const size_t kc = k - kb < 8 ? k - kb : 8;
        const __m256i km = sp_mask8(kc);
        __m256 r[8];
        for (size_t t = 0; t < 8; t++) {
            r[t] = t < rows ? _mm256_maskload_ps(a + t * lda + kb, km) : _mm256_setzero_ps();
        }
        sp_tr8(r);
        FK_UNROLL for (size_t t = 0; t < 8; t++) {
            if (t < kc) _mm256_store_ps(at + (kb + t) * ldat, r[t]);
        }
    }
}

FK_TARGET_AVX2 static void sp_transpose_in_avx2(const float *a, size_t lda, size_t mv, size_t k, float *at,
                                                size_t ldat) {
    for (size_t rb = 0; rb < ldat; rb += 8) {
        const size_t rows = mv > rb ? (mv - rb < 8 ? mv - rb : 8) : 0;
        if (rows == 8) sp_transpose_in8_avx2(a + rb * lda, lda, 8, k, at + rb, ldat);
        else sp_transpose_in8_avx2(a + rb * lda, lda, rows, k, at + rb, ldat);
    }
}

FK_TARGET_AVX2 FK_INLINE void sp_seg_avx2(const int R, const int first, const uint16_t *idx, const float *val,
                                          uint32_t p, const uint32_t end, const float *at, float *ctj) {
    __m256 e0[4], e1[4];
    for (int r = 0; r < R; r++) {
        e0[r] = first ? _mm256_setzero_ps() : _mm256_load_ps(ctj + 8 * r);
        e1[r] = _mm256_setzero_ps();
    }
    for (; p + 2 <= end; p += 2) {
        const float *x0 = at + (size_t)idx[p] * (8 * R);
        const float *x1 = at + (size_t)idx[p + 1] * (8 * R);
        const __m256 w0 = _mm256_broadcast_ss(val + p);
        const __m256 w1 = _mm256_broadcast_ss(val + p + 1);
        for (int r = 0; r < R; r++) e0[r] = _mm256_fmadd_ps(w0, _mm256_load_ps(x0 + 8 * r), e0[r]);
        for (int r = 0; r < R; r++) e1[r] = _mm256_fmadd_ps(w1, _mm256_load_ps(x1 + 8 * r), e1[r]);
    }
    if (p < end) {
        const float *x0 = at + (size_t)idx[p] * (8 * R);
        const __m256 w0 = _mm256_broadcast_ss(val + p);
        for (int r = 0; r < R; r++) e0[r] = _mm256_fmadd_ps(w0, _mm256_load_ps(x0 + 8 * r), e0[r]);
    }
    for (int r = 0; r < R; r++) _mm256_store_ps(ctj + 8 * r, _mm256_add_ps(e0[r], e1[r]));
}

FK_TARGET_AVX2 FK_INLINE void sp_pass_avx2(const int R, const fk_sparse *s, const float *at, size_t b, size_t j0,
                                           size_t j1, float *ct, const float *pfc, size_t ldc, size_t mv) {
    const uint32_t *sb = s->seg + b * (s->n + 1);
    const size_t step = (mv + 15) / 16;
    for (size_t j = j0; j < j1; j++) {
        const uint32_t *sg = sb + j;
        float *ctj = ct + (j - j0) * (size_t)(8 * R);
        if (b == 0) sp_seg_avx2(R, 1, s->idx, s->val, sg[0], sg[1], at, ctj);
        else if (sg[0] < sg[1]) sp_seg_avx2(R, 0, s->idx, s->val, sg[0], sg[1], at, ctj);
        if (pfc) {
            const size_t lane = (j - j0) % 16;
            for (size_t r = lane * step; r < (lane + 1) * step && r < mv; r++) {
                _mm_prefetch((const char *)(pfc + r * ldc), _MM_HINT_T0);
            }
        }
    }
}

/* Columns [0, cols) (cols <= 8) of sp_transpose_out_avx2; add_bias and full blocks as constants. */
FK_TARGET_AVX2 FK_INLINE void sp_transpose_out8_avx2(const int add_bias, const float *ct, size_t ldct,
                                                     const float *bias, size_t mv, size_t cols, float *c,
                                                     size_t ldc) {
    const __m256i cm = sp_mask8(cols);
    for (size_t rb = 0; rb < mv; rb += 8) {
        const size_t rows = mv - rb < 8 ? mv - rb : 8;
        __m256 r[8];
        for (size_t jj = 0; jj < 8; jj++) {
            r[jj] = jj < cols ? _mm256_load_ps(ct + jj * ldct + rb) : _mm256_setzero_ps();
            if (add_bias && jj < cols) r[jj] = _mm256_add_ps(r[jj], _mm256_broadcast_ss(bias + jj));
        }
        sp_tr8(r);
        FK_UNROLL for (size_t t = 0; t < 8; t++) {
            if (t >= rows) break;
            if (cols == 8) _mm256_storeu_ps(c + (rb + t) * ldc, r[t]);
            else _mm256_maskstore_ps(c + (rb + t) * ldc, cm, r[t]);
        }
    }
}

FK_TARGET_AVX2 static void sp_transpose_out_avx2(const float *ct, size_t ldct, const float *bias, size_t mv,
                                                 size_t nc, float *c, size_t ldc) {
    for (size_t cb = 0; cb < nc; cb += 8) {
        const size_t cols = nc - cb < 8 ? nc - cb : 8;
        const float *ctb = ct + cb * ldct, *bb = bias ? bias + cb : NULL;
        if (cols == 8 && bias) sp_transpose_out8_avx2(1, ctb, ldct, bb, mv, 8, c + cb, ldc);
        else if (cols == 8) sp_transpose_out8_avx2(0, ctb, ldct, NULL, mv, 8, c + cb, ldc);
        else sp_transpose_out8_avx2(bias != NULL, ctb, ldct, bb, mv, cols, c + cb, ldc);
    }
}

#define SP_PASS_AVX2(R, ...)                                                                        \
    switch (R) {                                                                                    \
    case 4: sp_pass_avx2(4, __VA_ARGS__); break;                                                    \
    case 3: sp_pass_avx2(3, __VA_ARGS__); break;                                                    \
    case 2: sp_pass_avx2(2, __VA_ARGS__); break;                                                    \
    default: sp_pass_avx2(1, __VA_ARGS__); break;                                                   \
    }

FK_TARGET_AVX2 static void sp_tile_at_avx2(const float *at, const fk_sparse *s, const float *bias, float *c,
                                           size_t ldc, size_t mv, size_t j0, size_t j1, int epilogue, float *ct) {
    const int R = (int)((mv + 7) / 8);
    const size_t ldat = (size_t)(8 * R);
    const float *b = epilogue ? bias : NULL;
    const size_t last = s->nkb - 1;
    for (size_t fc = j0; fc < j1; fc += SP_CHUNK) {
        const size_t fe = j1 - fc < SP_CHUNK ? j1 : fc + SP_CHUNK;
        for (size_t kb = 0; kb < last; kb++) {
            SP_PASS_AVX2(R, s, at, kb, fc, fe, ct, NULL, ldc, mv)
        }
        for (size_t jb = fc; jb < fe; jb += SP_NB) {
            const size_t nc = fe - jb < SP_NB ? fe - jb : SP_NB;
            const float *pfc = jb + nc < j1 ? c + jb + nc : NULL;
            float *ctb = ct + (jb - fc) * ldat;
            SP_PASS_AVX2(R, s, at, last, jb, jb + nc, ctb, pfc, ldc, mv)
            sp_transpose_out_avx2(ctb, ldat, b ? b + jb : NULL, mv, nc, c + jb, ldc);
            sp_gelu_rows(c + jb, ldc, mv, nc, epilogue);
        }
    }
}

FK_TARGET_AVX2 static void sp_tile_avx2(const float *a, size_t lda, const fk_sparse *s, const float *bias,
                                        float *c, size_t ldc, size_t mv, size_t k, size_t j0, size_t j1,
                                        int epilogue, float *at) {
    const size_t ldat = (mv + 7) / 8 * 8;
    sp_transpose_in_avx2(a, lda, mv, k, at, ldat);
    sp_tile_at_avx2(at, s, bias, c, ldc, mv, j0, j1, epilogue, at + k * ldat);
}

FK_TARGET_AVX2 static void sp_ffn_first_avx2(const float *at, const fk_sparse *s1, const float *b1, size_t mv,
                                             float *h) {
    const int R = (int)((mv + 7) / 8);
    const size_t ldat = (size_t)(8 * R);
    for (size_t fc = 0; fc < s1->n; fc += SP_CHUNK) {
        const size_t fe = s1->n - fc < SP_CHUNK ? s1->n : fc + SP_CHUNK;
        for (size_t kb = 0; kb < s1->nkb; kb++) {
            SP_PASS_AVX2(R, s1, at, kb, fc, fe, h + fc * ldat, NULL, 0, mv)
        }
        sp_bias_gelu_kmajor(h + fc * ldat, ldat, b1 + fc, fe - fc);
    }
}

FK_TARGET_AVX2 static void sp_ffn_tile_avx2(const float *a, size_t lda, const fk_sparse *s1, const float *b1,
                                            const fk_sparse *s2, const float *b2, float *c, size_t ldc, size_t mv,
                                            float *scratch) {
    const size_t ldat = (mv + 7) / 8 * 8;
    float *at = scratch, *h = at + s1->k * ldat;
    sp_transpose_in_avx2(a, lda, mv, s1->k, at, ldat);
    sp_ffn_first_avx2(at, s1, b1, mv, h);
    sp_tile_at_avx2(h, s2, b2, c, ldc, mv, 0, s2->n, FK_EPILOGUE_BIAS, h + s1->n * ldat);
}
#endif

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef void (*sp_tile_fn)(const float *, size_t, const fk_sparse *, const float *, float *, size_t, size_t,
                           size_t, size_t, size_t, int, float *);

static _Atomic int sp_forced_level = -1;

void fk_sparse_force_isa(int level) { atomic_store(&sp_forced_level, level); }

/* 2: AVX-512, 1: AVX2 + FMA, 0: portable. */
static int sp_isa_level(void) {
    int level = fk_cpu_level(FK_CPU_AVX512, FK_CPU_AVX2_FMA, atomic_load(&sp_forced_level));
    /* One switch for tests that want every kernel portable. */
    if (strcmp(fk_gemm_isa(), "generic") == 0) level = 0;
    return level;
}

const char *fk_sparse_isa(void) {
    switch (sp_isa_level()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
    }
}

typedef struct {
    sp_tile_fn tile;
    size_t mr;
    int split_rows;
    const float *a;
    size_t lda;
    const fk_sparse *s;
    const float *bias;
    float *c;
    size_t ldc, m, n, k;
    int epilogue;
} sp_job;


static void sp_job_run(void *raw, int index, int count) {
    const sp_job *job = raw;
    const fk_sparse *s = job->s;
    const size_t blocks = (job->n + SP_NB - 1) / SP_NB;
    size_t b0 = 0, b1 = blocks, r0 = 0, r1 = job->m;
    if (count > 1 && job->split_rows) {
        /* Many row tiles: rows split between threads, so no two threads transpose the same rows
         * (a column split makes every thread transpose every tile). */
        sp_row_share(job->m, job->mr / 4, index, count, &r0, &r1);
    } else if (count > 1) {
        /* Equal nonzeros per thread rather than equal features: pruned rows vary a lot. */
        const size_t total = s->nnz + job->n;
        b0 = sp_block_at(s->cost, blocks, total * (size_t)index / (size_t)count);
        b1 = index + 1 == count ? blocks : sp_block_at(s->cost, blocks, total * (size_t)(index + 1) / (size_t)count);
    }
    if (b0 >= b1 || r0 >= r1) return;
    const size_t j0 = b0 * SP_NB, j1 = b1 * SP_NB < job->n ? b1 * SP_NB : job->n;
    if (job->m == 1) {
        sp_spmv(job->a, s, job->bias, job->c, j0, j1, job->epilogue);
        return;
    }
    float *at = fk_scratch(FK_SCRATCH_SPARSE, (job->k + SP_CHUNK) * job->mr * sizeof(float));
    if (!at) {
        sp_reference_cols(job->a + r0 * job->lda, job->lda, s, job->bias, job->c + r0 * job->ldc, job->ldc,
                          r1 - r0, j0, j1, job->epilogue);
        return;
    }
    for (size_t i0 = r0; i0 < r1; i0 += job->mr) {
        const size_t mv = r1 - i0 < job->mr ? r1 - i0 : job->mr;
        job->tile(job->a + i0 * job->lda, job->lda, s, job->bias, job->c + i0 * job->ldc, job->ldc, mv, job->k,
                  j0, j1, job->epilogue, at);
    }
}

void fk_linear_sparse(fk_pool *pool, const float *a, size_t lda, const fk_sparse *w, const float *bias,
                      float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue) {
    if (m == 0 || n == 0) return;
    sp_job job = {0};
    job.tile = sp_tile_generic;
    job.mr = SP_MR_GENERIC;
#if defined(FK_X86)
    switch (sp_isa_level()) {
    case 2: job.tile = sp_tile_avx512; job.mr = SP_MR_MAX; break;
    case 1: job.tile = sp_tile_avx2; job.mr = 32; break;
    default: break;
    }
#endif
    job.a = a; job.lda = lda; job.s = w; job.bias = bias; job.c = c;
    job.ldc = ldc; job.m = m; job.n = n; job.k = k;
    job.epilogue = bias ? epilogue : FK_EPILOGUE_NONE;
    const int threads = fk_pool_threads(pool);
    job.split_rows = (m + job.mr - 1) / job.mr >= 2 * (size_t)threads;
    /* Small products finish before a worker wakes. */
    if (!pool || threads == 1 || (w->nnz + n) * m + m * k < 32768) {
        sp_job_run(&job, 0, 1);
    } else {
        fk_pool_run(pool, sp_job_run, &job);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* The feed-forward block fused                                                              */
/* ---------------------------------------------------------------------------------------- */

typedef void (*sp_ffn_fn)(const float *, size_t, const fk_sparse *, const float *, const fk_sparse *, const float *,
                          float *, size_t, size_t, float *);

typedef struct {
    sp_ffn_fn tile;
    size_t mr;
    const float *a;
    size_t lda;
    const fk_sparse *s1, *s2;
    const float *b1, *b2;
    float *hidden;
    size_t ldh;
    float *c;
    size_t ldc, m;
} sp_ffn_job;

/* The thread's rows (sp_row_share) in tiles, each through the whole block; without memory for the
 * scratch, its rows go through the reference via `hidden`. */
static void sp_ffn_job_run(void *raw, int index, int count) {
    const sp_ffn_job *job = raw;
    const fk_sparse *s1 = job->s1, *s2 = job->s2;
    size_t r0, r1;
    sp_row_share(job->m, job->mr / 4, index, count, &r0, &r1);
    if (r0 >= r1) return;
    float *scratch = fk_scratch(FK_SCRATCH_SPARSE, (s1->k + s1->n + SP_CHUNK) * job->mr * sizeof(float));
    if (!scratch) {
        float *hid = job->hidden + r0 * job->ldh;
        sp_reference_cols(job->a + r0 * job->lda, job->lda, s1, job->b1, hid, job->ldh, r1 - r0, 0, s1->n,
                          FK_EPILOGUE_BIAS_GELU);
        sp_reference_cols(hid, job->ldh, s2, job->b2, job->c + r0 * job->ldc, job->ldc, r1 - r0, 0, s2->n,
                          FK_EPILOGUE_BIAS);
        return;
    }
    for (size_t i0 = r0; i0 < r1; i0 += job->mr) {
        const size_t mv = r1 - i0 < job->mr ? r1 - i0 : job->mr;
        job->tile(job->a + i0 * job->lda, job->lda, s1, job->b1, s2, job->b2, job->c + i0 * job->ldc, job->ldc, mv,
                  scratch);
    }
}

void fk_ffn_sparse(fk_pool *pool, const float *a, size_t lda, const fk_sparse *w1, const float *b1,
                   const fk_sparse *w2, const float *b2, float *hidden, size_t ldh, float *c, size_t ldc, size_t m) {
    if (m == 0) return;
    sp_ffn_job job = {0};
#if defined(FK_X86)
    switch (sp_isa_level()) {
    case 2: job.tile = sp_ffn_tile_avx512; job.mr = SP_MR_MAX; break;
    case 1: job.tile = sp_ffn_tile_avx2; job.mr = 32; break;
    default: break;
    }
#endif
    const int threads = fk_pool_threads(pool);
    /* Fused where every thread gets whole row tiles (a row split, as fk_linear_sparse makes for
     * many tiles); one row, or too few tiles to share, runs as the two calls. */
    if (!job.tile || m == 1 || !b1 || !b2 || (threads > 1 && (m + job.mr - 1) / job.mr < 2 * (size_t)threads)) {
        fk_linear_sparse(pool, a, lda, w1, b1, hidden, ldh, m, w1->n, w1->k, FK_EPILOGUE_BIAS_GELU);
        fk_linear_sparse(pool, hidden, ldh, w2, b2, c, ldc, m, w2->n, w2->k, FK_EPILOGUE_BIAS);
        return;
    }
    job.a = a; job.lda = lda; job.s1 = w1; job.s2 = w2; job.b1 = b1; job.b2 = b2;
    job.hidden = hidden; job.ldh = ldh; job.c = c; job.ldc = ldc; job.m = m;
    if (!pool || threads == 1) sp_ffn_job_run(&job, 0, 1);
    else fk_pool_run(pool, sp_ffn_job_run, &job);
}

void fk_ffn_sparse_reference(const float *a, size_t lda, const fk_sparse *w1, const float *b1, const fk_sparse *w2,
                             const float *b2, float *hidden, size_t ldh, float *c, size_t ldc, size_t m) {
    fk_linear_sparse_reference(a, lda, w1, b1, hidden, ldh, m, w1->n, w1->k, FK_EPILOGUE_BIAS_GELU);
    fk_linear_sparse_reference(hidden, ldh, w2, b2, c, ldc, m, w2->n, w2->k, FK_EPILOGUE_BIAS);
}
