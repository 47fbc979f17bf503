/*
 * See include/FrontierSparseInt8.h.
 *
 * Storage, as sparse.c's but in quads: per k-block of SPQ_KC columns, per output feature, the
 * feature's nonzero int8 weights in that block, kk ascending, four to a quad (idx: four uint16
 * columns; wq: the four int8 weights as one int32, byte t for idx[t]); a segment's last quad is
 * padded with zero weights at its own last column. seg[b·(n + 1) + j] counts quads.
 *
 * Why 384-column k-blocks: the quantized tile is 64 bytes per column, so a block of 384 columns
 * is 24 KiB and stays in L1 while every feature's quads read it; MiniLM's and BERT's 384- and
 * 768-wide inputs are then one or two blocks, the 1536/3072-wide FFN outputs four or eight.
 *
 * The tile: row i of a 64-row tile lives in byte 16·L + 4·q + d of each column's vector, where
 * i = 16·q + 4·L + d. unpack{lo,hi}_epi8 then unpack{lo,hi}_epi16 of four column vectors give,
 * in vector q, dword 4·L + d = the four columns' bytes of row 16·q + 4·L + d: rows in order,
 * so the int32 sums come out as fp32 sparse.c's partial sums do and share its output transpose.
 * A 32-row tile (256-bit vectors, two 128-bit lanes L) places row i = 8·q + 4·L + d at the same
 * byte 16·L + 4·q + d, and vector q then holds rows 8·q .. 8·q + 7.
 * Activations are stored as u8 = q + 128 (vpdpbusd multiplies unsigned by signed bytes), and the
 * sums start at −128 · Σ_k q_w[j, k] to remove the shift.
 */
#define _GNU_SOURCE
#include "fk_common.h"
#include "FrontierSparseInt8.h"
#include "FrontierGemm.h"
#include "FrontierInt8.h"
#include "FrontierKernels.h"
#include "fk_cpu.h"
#include "fk_quant.h"
#include "fk_scratch.h"
#include "fk_sparse_tile.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define SPQ_KC 384
#define SPQ_MR 64

struct fk_sparse_q {
    size_t n, k, nnz, quads, bytes;
    size_t nkb;       /* k-blocks (at least 1) */
    uint32_t *seg;    /* nkb × (n + 1) + 1, in quads */
    uint32_t *cost;   /* per 16-feature block q: quads of features [0, 16q), for thread splits */
    uint16_t *idx;    /* 4 per quad */
    int32_t *wq;      /* one per quad */
    float *scales;    /* n */
    int32_t *negcomp; /* n: −128 · Σ_k q_w[j, k] */
};

/* ---------------------------------------------------------------------------------------- */
/* Construction                                                                              */
/* ---------------------------------------------------------------------------------------- */

fk_sparse_q *fk_sparse_q_create(const float *w, size_t n, size_t k) {
    if (n == 0 || k == 0 || k > 65536) return NULL;
    fk_sparse_q *s = calloc(1, sizeof *s);
    int8_t *q = malloc(n * k);
    if (!s || !q) {
        free(s);
        free(q);
        return NULL;
    }
    s->n = n;
    s->k = k;
    s->nkb = (k + SPQ_KC - 1) / SPQ_KC;
    const size_t nseg = s->nkb * (n + 1) + 1;
    const size_t blocks = (n + SP_NB - 1) / SP_NB;
    s->seg = calloc(nseg, sizeof *s->seg);
    s->cost = calloc(blocks + 1, sizeof *s->cost);
    s->scales = calloc(n, sizeof *s->scales);
    s->negcomp = calloc(n, sizeof *s->negcomp);
    if (!s->seg || !s->cost || !s->scales || !s->negcomp) goto fail;
    /* Quantize per output channel, count nonzeros per (block, feature). */
    for (size_t j = 0; j < n; j++) {
        int32_t sum;
        s->scales[j] = fkq_quantize_weight_row(w + j * k, k, q + j * k, &sum);
        s->negcomp[j] = -128 * sum;
        for (size_t kk = 0; kk < k; kk++) s->nnz += q[j * k + kk] != 0;
    }
    uint32_t p = 0;
    for (size_t b = 0; b < s->nkb; b++) {
        const size_t k0 = b * SPQ_KC, k1 = k0 + SPQ_KC < k ? k0 + SPQ_KC : k;
        uint32_t *sb = s->seg + b * (n + 1);
        sb[0] = p;
        for (size_t j = 0; j < n; j++) {
            uint32_t count = 0;
            for (size_t kk = k0; kk < k1; kk++) count += q[j * k + kk] != 0;
            p += (count + 3) / 4;
            sb[j + 1] = p;
        }
    }
    s->seg[nseg - 1] = p;
    s->quads = p;
    s->idx = fk_aligned_calloc((4 * (size_t)p + 4) * sizeof *s->idx);
    s->wq = fk_aligned_calloc(((size_t)p + 1) * sizeof *s->wq);
    if (!s->idx || !s->wq) goto fail;
    for (size_t b = 0; b < s->nkb; b++) {
        const size_t k0 = b * SPQ_KC, k1 = k0 + SPQ_KC < k ? k0 + SPQ_KC : k;
        for (size_t j = 0; j < n; j++) {
            size_t e = 4 * (size_t)s->seg[b * (n + 1) + j]; /* entry: 4 per quad */
            const size_t end = 4 * (size_t)s->seg[b * (n + 1) + j + 1];
            uint16_t last = 0;
            for (size_t kk = k0; kk < k1; kk++) {
                const int8_t v = q[j * k + kk];
                if (v == 0) continue;
                s->idx[e] = (uint16_t)kk;
                ((int8_t *)s->wq)[e] = v;
                last = (uint16_t)kk;
                e++;
            }
            for (; e < end; e++) s->idx[e] = last; /* weight stays 0 */
        }
    }
    sp_block_costs(s->seg, s->nkb, n, blocks, s->cost);
    s->bytes = sizeof *s + nseg * sizeof *s->seg + (blocks + 1) * sizeof *s->cost +
               (4 * (size_t)p + 4) * sizeof *s->idx + ((size_t)p + 1) * sizeof *s->wq + n * sizeof *s->scales +
               n * sizeof *s->negcomp;
    free(q);
    return s;
fail:
    free(q);
    fk_sparse_q_destroy(s);
    return NULL;
}

void fk_sparse_q_destroy(fk_sparse_q *s) {
    if (!s) return;
    free(s->seg);
    free(s->cost);
    free(s->idx);
    free(s->wq);
    free(s->scales);
    free(s->negcomp);
    free(s);
}

size_t fk_sparse_q_nnz(const fk_sparse_q *s) { return s ? s->nnz : 0; }
size_t fk_sparse_q_bytes(const fk_sparse_q *s) { return s ? s->bytes : 0; }
const float *fk_sparse_q_scales(const fk_sparse_q *s) { return s ? s->scales : NULL; }

/* ---------------------------------------------------------------------------------------- */
/* Portable path and reference                                                               */
/* ---------------------------------------------------------------------------------------- */

/* Σ_k q_a[kk] · q_w[j, kk] over feature j's stored weights (padding adds 0). */
static int32_t spq_dot(const fk_sparse_q *s, const int8_t *qa, size_t j) {
    int32_t acc = 0;
    const int8_t *wb = (const int8_t *)s->wq;
    for (size_t b = 0; b < s->nkb; b++) {
        const uint32_t *sg = s->seg + b * (s->n + 1) + j;
        for (size_t e = 4 * (size_t)sg[0]; e < 4 * (size_t)sg[1]; e++) acc += (int32_t)wb[e] * qa[s->idx[e]];
    }
    return acc;
}

/* Rows [0, m) of already quantized activations (qa row stride k, scales sa), features [j0, j1). */
static void spq_rows_generic(const int8_t *qa, const float *sa, const fk_sparse_q *s, const float *bias, float *c,
                             size_t ldc, size_t m, size_t j0, size_t j1, int epilogue) {
    for (size_t i = 0; i < m; i++) {
        for (size_t j = j0; j < j1; j++) {
            /* acc · scale + bias as one fused multiply-add, as the vector kernel does it. */
            const float acc = (float)spq_dot(s, qa + i * s->k, j), scale = sa[i] * s->scales[j];
            c[i * ldc + j] = epilogue ? fmaf(acc, scale, bias[j]) : acc * scale;
        }
        sp_gelu_rows(c + i * ldc + j0, ldc, 1, j1 - j0, epilogue);
    }
}

/* Quantizes rows [0, m) of a a row at a time into the calling thread's scratch (k bytes, the
 * slot the vector path's tile uses: the two never run at once on a thread) and runs
 * spq_rows_generic; with no memory for it, the rows are left unwritten and 0 is returned. */
static int spq_generic(const float *a, size_t lda, const fk_sparse_q *s, const float *bias, float *c, size_t ldc,
                       size_t m, size_t j0, size_t j1, int epilogue) {
    int8_t *qa = fk_scratch(FK_SCRATCH_SPARSE_INT8, s->k);
    if (!qa) return 0;
    for (size_t i = 0; i < m; i++) {
        float sa;
        fk_int8_quantize_rows(a + i * lda, lda, 1, s->k, (signed char *)qa, s->k, &sa);
        spq_rows_generic(qa, &sa, s, bias, c + i * ldc, ldc, 1, j0, j1, epilogue);
    }
    return 1;
}

void fk_linear_sparse_int8_reference(const float *a, size_t lda, const fk_sparse_q *w, const float *bias,
                                     float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue) {
    (void)k;
    if (!spq_generic(a, lda, w, bias, c, ldc, m, 0, n, bias ? epilogue : FK_EPILOGUE_NONE)) abort();
}

#if defined(FK_X86)
/* ---------------------------------------------------------------------------------------- */
/* AVX-512 VNNI: tiles of W = 64 rows (zmm) or, for up to 32 rows, W = 32 (ymm)              */
/* ---------------------------------------------------------------------------------------- */

/* 16 × 16 byte transpose: byte c of x[r] becomes byte r of y[c]. Four rounds of unpacks (bytes,
 * words, dwords, qwords), 64 single-lane instructions. */
FK_TARGET_AVX512 FK_INLINE void spq_tr16_u8(const __m128i x[16], __m128i y[16]) {
    __m128i a[16], b[16], c[16];
    /* a[8h + j]: word u = rows 2j, 2j + 1 of column 8h + u. */
    for (int j = 0; j < 8; j++) {
        a[j] = _mm_unpacklo_epi8(x[2 * j], x[2 * j + 1]);
        a[8 + j] = _mm_unpackhi_epi8(x[2 * j], x[2 * j + 1]);
    }
    /* b[4Q + j]: dword u = rows 4j .. 4j + 3 of column 4Q + u. */
    for (int h = 0; h < 2; h++) {
        for (int j = 0; j < 4; j++) {
            b[8 * h + j] = _mm_unpacklo_epi16(a[8 * h + 2 * j], a[8 * h + 2 * j + 1]);
            b[8 * h + 4 + j] = _mm_unpackhi_epi16(a[8 * h + 2 * j], a[8 * h + 2 * j + 1]);
        }
    }
    /* c[4Q + 2i + e]: qword u = rows 8i .. 8i + 7 of column 4Q + 2e + u. */
    for (int q = 0; q < 4; q++) {
        for (int i = 0; i < 2; i++) {
            c[4 * q + 2 * i] = _mm_unpacklo_epi32(b[4 * q + 2 * i], b[4 * q + 2 * i + 1]);
            c[4 * q + 2 * i + 1] = _mm_unpackhi_epi32(b[4 * q + 2 * i], b[4 * q + 2 * i + 1]);
        }
    }
    for (int q = 0; q < 4; q++) {
        for (int e = 0; e < 2; e++) {
            y[4 * q + 2 * e] = _mm_unpacklo_epi64(c[4 * q + e], c[4 * q + 2 + e]);
            y[4 * q + 2 * e + 1] = _mm_unpackhi_epi64(c[4 * q + e], c[4 * q + 2 + e]);
        }
    }
}

/* Quantizes rows [0, mv) of a (mv <= W) into the tile at8 (W bytes per column, u8 = q + 128,
 * rows placed as the file comment says; rows past mv are q = 0) and their scales into sa.
 *
 * Each row is quantized where it lies (16 columns: one multiply, convert, clamp and narrow) and
 * the bytes are transposed afterwards, 16 rows × 16 columns per 128-bit lane of the tile: a
 * lane's 16 rows are taken in the order the lane stores them, so the transpose leaves every
 * column's bytes where the unpacks of spq_seg64/32 want them. Transposing the fp32 values first
 * (16 × 16 floats in zmm, then narrowing and a permutation per column) took about twice the
 * shuffles. */
FK_TARGET_AVX512 FK_INLINE void spq_quantize_tile(const int W, const float *a, size_t lda, size_t mv, size_t k,
                                                  uint8_t *at8, float *sa) {
    float inv[SPQ_MR];
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (size_t i = 0; i < (size_t)W; i++) {
        if (i >= mv) {
            inv[i] = sa[i] = 0.0f;
            continue;
        }
        const float *x = a + i * lda;
        __m512 vmax = _mm512_setzero_ps();
        size_t kk = 0;
        for (; kk + 16 <= k; kk += 16) vmax = _mm512_max_ps(vmax, _mm512_andnot_ps(sign, _mm512_loadu_ps(x + kk)));
        if (kk < k) vmax = _mm512_max_ps(vmax, _mm512_andnot_ps(sign, _mm512_maskz_loadu_ps(sp_mask16(k - kk), x + kk)));
        sa[i] = fkq_row_scale(_mm512_reduce_max_ps(vmax), inv + i);
    }
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), shift = _mm512_set1_epi32(128);
    for (size_t kb = 0; kb < k; kb += 16) {
        const size_t kc = k - kb < 16 ? k - kb : 16;
        const __mmask16 km = sp_mask16(kc);
        for (int lane = 0; lane < W / 16; lane++) {
            __m128i x[16], y[16];
            FK_UNROLL for (int p = 0; p < 16; p++) {
                /* Byte p of the lane holds row (W / 4)·(p / 4) + 4·lane + p % 4. */
                const size_t i = (size_t)(W / 4) * (size_t)(p / 4) + 4 * (size_t)lane + (size_t)(p % 4);
                if (i < mv) {
                    const __m512 v = _mm512_maskz_loadu_ps(km, a + i * lda + kb);
                    __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(inv[i])));
                    q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, lo), hi), shift);
                    x[p] = _mm512_cvtepi32_epi8(q);
                } else {
                    x[p] = _mm_set1_epi8((char)0x80); /* padding rows: q = 0, stored as 128 */
                }
            }
            spq_tr16_u8(x, y);
            FK_UNROLL for (size_t t = 0; t < 16; t++) { /* constant bound: y[] stays in registers */
                if (t < kc) _mm_store_si128((__m128i *)(at8 + (kb + t) * W + 16 * (size_t)lane), y[t]);
            }
        }
    }
}

/* ctj[0 .. 64) (int32) = (first ? init : ctj) + Σ over quads [p, end) of the four columns' bytes
 * · the quad's weights. */
FK_TARGET_AVX512_VNNI FK_INLINE void spq_seg64(const int first, const uint16_t *idx, const int32_t *wq, uint32_t p,
                                               const uint32_t end, const uint8_t *at8, int32_t *ctj, int32_t init) {
    __m512i acc[4];
    for (int r = 0; r < 4; r++) {
        acc[r] = first ? _mm512_set1_epi32(init) : _mm512_load_si512((const __m512i *)(ctj + 16 * r));
    }
    for (; p < end; p++) {
        const uint16_t *ix = idx + 4 * (size_t)p;
        const __m512i x0 = _mm512_load_si512((const __m512i *)(at8 + (size_t)ix[0] * 64));
        const __m512i x1 = _mm512_load_si512((const __m512i *)(at8 + (size_t)ix[1] * 64));
        const __m512i x2 = _mm512_load_si512((const __m512i *)(at8 + (size_t)ix[2] * 64));
        const __m512i x3 = _mm512_load_si512((const __m512i *)(at8 + (size_t)ix[3] * 64));
        const __m512i w = _mm512_set1_epi32(wq[p]);
        const __m512i l01 = _mm512_unpacklo_epi8(x0, x1), h01 = _mm512_unpackhi_epi8(x0, x1);
        const __m512i l23 = _mm512_unpacklo_epi8(x2, x3), h23 = _mm512_unpackhi_epi8(x2, x3);
        acc[0] = _mm512_dpbusd_epi32(acc[0], _mm512_unpacklo_epi16(l01, l23), w);
        acc[1] = _mm512_dpbusd_epi32(acc[1], _mm512_unpackhi_epi16(l01, l23), w);
        acc[2] = _mm512_dpbusd_epi32(acc[2], _mm512_unpacklo_epi16(h01, h23), w);
        acc[3] = _mm512_dpbusd_epi32(acc[3], _mm512_unpackhi_epi16(h01, h23), w);
    }
    for (int r = 0; r < 4; r++) _mm512_store_si512((__m512i *)(ctj + 16 * r), acc[r]);
}

/* spq_seg64 on 32-row tiles with 256-bit vectors: the same unpacks within each 128-bit lane, so
 * accumulator q holds rows 8q .. 8q + 7. Twice the instructions per product of the 64-row tile,
 * but a tile of one sequence's tokens is not mostly padding. */
FK_TARGET_AVX512_VNNI FK_INLINE void spq_seg32(const int first, const uint16_t *idx, const int32_t *wq, uint32_t p,
                                               const uint32_t end, const uint8_t *at8, int32_t *ctj, int32_t init) {
    __m256i acc[4];
    for (int r = 0; r < 4; r++) {
        acc[r] = first ? _mm256_set1_epi32(init) : _mm256_load_si256((const __m256i *)(ctj + 8 * r));
    }
    for (; p < end; p++) {
        const uint16_t *ix = idx + 4 * (size_t)p;
        const __m256i x0 = _mm256_load_si256((const __m256i *)(at8 + (size_t)ix[0] * 32));
        const __m256i x1 = _mm256_load_si256((const __m256i *)(at8 + (size_t)ix[1] * 32));
        const __m256i x2 = _mm256_load_si256((const __m256i *)(at8 + (size_t)ix[2] * 32));
        const __m256i x3 = _mm256_load_si256((const __m256i *)(at8 + (size_t)ix[3] * 32));
        const __m256i w = _mm256_set1_epi32(wq[p]);
        const __m256i l01 = _mm256_unpacklo_epi8(x0, x1), h01 = _mm256_unpackhi_epi8(x0, x1);
        const __m256i l23 = _mm256_unpacklo_epi8(x2, x3), h23 = _mm256_unpackhi_epi8(x2, x3);
        acc[0] = _mm256_dpbusd_epi32(acc[0], _mm256_unpacklo_epi16(l01, l23), w);
        acc[1] = _mm256_dpbusd_epi32(acc[1], _mm256_unpackhi_epi16(l01, l23), w);
        acc[2] = _mm256_dpbusd_epi32(acc[2], _mm256_unpacklo_epi16(h01, h23), w);
        acc[3] = _mm256_dpbusd_epi32(acc[3], _mm256_unpackhi_epi16(h01, h23), w);
    }
    for (int r = 0; r < 4; r++) _mm256_store_si256((__m256i *)(ctj + 8 * r), acc[r]);
}

/* One k-block pass over features [j0, j1): ct[j - j0] (+)= the block's quads · the tile. */
FK_TARGET_AVX512_VNNI FK_INLINE void spq_pass(const int W, const fk_sparse_q *s, const uint8_t *at8, size_t b,
                                              size_t j0, size_t j1, int32_t *ct) {
    const uint32_t *sb = s->seg + b * (s->n + 1);
    for (size_t j = j0; j < j1; j++) {
        int32_t *ctj = ct + (j - j0) * W;
        if (W == 64) {
            if (b == 0) spq_seg64(1, s->idx, s->wq, sb[j], sb[j + 1], at8, ctj, s->negcomp[j]);
            else if (sb[j] < sb[j + 1]) spq_seg64(0, s->idx, s->wq, sb[j], sb[j + 1], at8, ctj, 0);
        } else {
            if (b == 0) spq_seg32(1, s->idx, s->wq, sb[j], sb[j + 1], at8, ctj, s->negcomp[j]);
            else if (sb[j] < sb[j + 1]) spq_seg32(0, s->idx, s->wq, sb[j], sb[j + 1], at8, ctj, 0);
        }
    }
}

/* Rows [0, mv) (mv <= W) of an already quantized tile (at8, scales sa), features [j0, j1), in
 * chunks of SP_CHUNK features, as sparse.c's tile: all k-blocks but the last over the chunk,
 * then the last block 16 features at a time, each finished block dequantized as it is
 * transposed into c. ct: SP_CHUNK · W int32 of partial sums. */
FK_TARGET_AVX512_VNNI FK_INLINE void spq_tile_quantized(const int W, const uint8_t *at8, const float *sa,
                                                        const fk_sparse_q *s, const float *bias, float *c, size_t ldc,
                                                        size_t mv, size_t j0, size_t j1, int epilogue, int32_t *ct) {
    const float *b = epilogue ? bias : NULL;
    const size_t last = s->nkb - 1;
    for (size_t fc = j0; fc < j1; fc += SP_CHUNK) {
        const size_t fe = j1 - fc < SP_CHUNK ? j1 : fc + SP_CHUNK;
        for (size_t kb = 0; kb < last; kb++) spq_pass(W, s, at8, kb, fc, fe, ct);
        for (size_t jb = fc; jb < fe; jb += SP_NB) {
            const size_t nc = fe - jb < SP_NB ? fe - jb : SP_NB;
            int32_t *ctb = ct + (jb - fc) * W;
            spq_pass(W, s, at8, last, jb, jb + nc, ctb);
            sp_transpose_out_avx512((const float *)ctb, (size_t)W, b ? b + jb : NULL, sa, s->scales + jb, mv, nc,
                                    c + jb, ldc);
            sp_gelu_rows(c + jb, ldc, mv, nc, epilogue);
        }
    }
}

/* Scratch of spq_tile: the tile (kpad · W bytes), its scales (SPQ_MR floats), the partial sums. */
static size_t spq_tile_bytes(size_t k) {
    return (k + 15) / 16 * 16 * SPQ_MR + SPQ_MR * sizeof(float) + (size_t)SP_CHUNK * SPQ_MR * sizeof(int32_t);
}

/* Rows [0, mv) (mv <= W), features [j0, j1): quantizes the tile, then spq_tile_quantized. */
FK_TARGET_AVX512_VNNI FK_INLINE void spq_tile(const int W, const float *a, size_t lda, const fk_sparse_q *s,
                                              const float *bias, float *c, size_t ldc, size_t mv, size_t j0, size_t j1,
                                              int epilogue, uint8_t *scratch) {
    const size_t kpad = (s->k + 15) / 16 * 16;
    uint8_t *at8 = scratch;
    float *sa = (float *)(at8 + kpad * SPQ_MR);
    spq_quantize_tile(W, a, lda, mv, s->k, at8, sa);
    spq_tile_quantized(W, at8, sa, s, bias, c, ldc, mv, j0, j1, epilogue, (int32_t *)(sa + SPQ_MR));
}

FK_TARGET_AVX512_VNNI static void spq_tile_vnni(const float *a, size_t lda, const fk_sparse_q *s, const float *bias,
                                                float *c, size_t ldc, size_t mv, size_t j0, size_t j1, int epilogue,
                                                uint8_t *scratch) {
    if (mv <= 32) spq_tile(32, a, lda, s, bias, c, ldc, mv, j0, j1, epilogue, scratch);
    else spq_tile(64, a, lda, s, bias, c, ldc, mv, j0, j1, epilogue, scratch);
}

/* ---------------------------------------------------------------------------------------- */
/* The feed-forward block fused: W2 · GELU(W1 · a + b1) + b2 on one tile                     */
/* ---------------------------------------------------------------------------------------- */

/* Zero bias for fk_bias_gelu_strided over k-major rows of SPQ_MR values. */
static const float spq_zeros[SPQ_MR] = {0};

/* Scratch of spq_ffn_tile: the input tile (spq_tile_bytes(k1)), then h (n1 · SPQ_MR floats:
 * int32 sums, then fp32 GELU outputs, feature-major), its quantized tile (n1 padded to 16 ·
 * SPQ_MR bytes) and scales (SPQ_MR floats). */
static size_t spq_ffn_bytes(size_t k1, size_t n1) {
    return spq_tile_bytes(k1) + n1 * SPQ_MR * sizeof(float) + (n1 + 15) / 16 * 16 * SPQ_MR + SPQ_MR * sizeof(float);
}

/* Rows [0, mv) (mv <= W) of the whole block. The first product's int32 sums, one W-row column per
 * feature, are already the feature-major (k-major) layout the second product reads: they are
 * dequantized, biased and put through GELU in place, and quantized straight into the second
 * tile, so the 4·n1-wide intermediate never goes through the row-major transposes (out of the
 * first kernel, into the second) of two separate calls. The values are those of the two calls:
 * the same fused multiply-add, the same GELU function, the same row maxima and rounding. */
FK_TARGET_AVX512_VNNI FK_INLINE void spq_ffn_tile(const int W, const float *a, size_t lda, const fk_sparse_q *s1,
                                                  const float *b1, const fk_sparse_q *s2, const float *b2, float *c,
                                                  size_t ldc, size_t mv, uint8_t *scratch) {
    const size_t n1 = s1->n, kpad1 = (s1->k + 15) / 16 * 16;
    uint8_t *at8 = scratch;
    float *sa = (float *)(at8 + kpad1 * SPQ_MR);
    int32_t *ct = (int32_t *)(sa + SPQ_MR);
    float *h = (float *)(scratch + spq_tile_bytes(s1->k));
    uint8_t *ht8 = (uint8_t *)(h + n1 * SPQ_MR);
    float *sh = (float *)(ht8 + (n1 + 15) / 16 * 16 * SPQ_MR);
    spq_quantize_tile(W, a, lda, mv, s1->k, at8, sa);

    /* First product, feature-major into h (int32), SP_CHUNK features at a time so a chunk's
     * sums are still in L2 when they are dequantized and put through GELU. */
    const int G = W / 16;
    __m512 vmax[SPQ_MR / 16];
    for (int g = 0; g < G; g++) vmax[g] = _mm512_setzero_ps();
    const __m512 sign = _mm512_set1_ps(-0.0f);
    for (size_t fc = 0; fc < n1; fc += SP_CHUNK) {
        const size_t fe = n1 - fc < SP_CHUNK ? n1 : fc + SP_CHUNK;
        int32_t *hc = (int32_t *)(h + fc * W);
        for (size_t kb = 0; kb < s1->nkb; kb++) spq_pass(W, s1, at8, kb, fc, fe, hc);
        for (size_t j = fc; j < fe; j++) {
            float *hj = h + j * W;
            const __m512 sw = _mm512_set1_ps(s1->scales[j]), bj = _mm512_set1_ps(b1[j]);
            for (int g = 0; g < G; g++) {
                const __m512 acc = _mm512_cvtepi32_ps(_mm512_load_si512((const void *)(hj + 16 * g)));
                const __m512 scale = _mm512_mul_ps(_mm512_loadu_ps(sa + 16 * g), sw);
                _mm512_store_ps(hj + 16 * g, _mm512_fmadd_ps(acc, scale, bj));
            }
        }
        fk_bias_gelu_strided(h + fc * W, (size_t)W, spq_zeros, fe - fc, (size_t)W);
        for (size_t j = fc; j < fe; j++) {
            for (int g = 0; g < G; g++) {
                vmax[g] = _mm512_max_ps(vmax[g], _mm512_andnot_ps(sign, _mm512_load_ps(h + j * W + 16 * g)));
            }
        }
    }

    /* Row scales of the intermediate, then its quantized k-major tile (rows placed as the file
     * comment says; padding rows, past mv, quantize to 0). */
    float amax[SPQ_MR], inv[SPQ_MR];
    for (int g = 0; g < G; g++) _mm512_storeu_ps(amax + 16 * g, vmax[g]);
    for (size_t i = 0; i < (size_t)W; i++) {
        if (i < mv) {
            sh[i] = fkq_row_scale(amax[i], inv + i);
        } else {
            sh[i] = inv[i] = 0.0f;
        }
    }
    const __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127), shift = _mm512_set1_epi32(128);
    const __m512i perm64 = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    const __m256i perm32 = _mm256_setr_epi32(0, 2, 4, 6, 1, 3, 5, 7);
    __m512 vinv[SPQ_MR / 16];
    for (int g = 0; g < G; g++) vinv[g] = _mm512_loadu_ps(inv + 16 * g);
    for (size_t j = 0; j < n1; j++) {
        __m128i q[SPQ_MR / 16];
        for (int g = 0; g < G; g++) {
            __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_load_ps(h + j * W + 16 * g), vinv[g]));
            v = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(v, lo), hi), shift);
            q[g] = _mm512_cvtepi32_epi8(v);
        }
        if (W == 64) {
            __m512i col = _mm512_castsi128_si512(q[0]);
            col = _mm512_inserti32x4(col, q[1], 1);
            col = _mm512_inserti32x4(col, q[2], 2);
            col = _mm512_inserti32x4(col, q[3], 3);
            _mm512_store_si512((__m512i *)(ht8 + j * W), _mm512_permutexvar_epi32(perm64, col));
        } else {
            const __m256i col = _mm256_inserti128_si256(_mm256_castsi128_si256(q[0]), q[1], 1);
            _mm256_store_si256((__m256i *)(ht8 + j * W), _mm256_permutexvar_epi32(perm32, col));
        }
    }

    /* Second product from the quantized intermediate, as spq_tile's. */
    spq_tile_quantized(W, ht8, sh, s2, b2, c, ldc, mv, 0, s2->n, FK_EPILOGUE_BIAS, ct);
}

FK_TARGET_AVX512_VNNI static void spq_ffn_tile_vnni(const float *a, size_t lda, const fk_sparse_q *s1,
                                                    const float *b1, const fk_sparse_q *s2, const float *b2, float *c,
                                                    size_t ldc, size_t mv, uint8_t *scratch) {
    if (mv <= 32) spq_ffn_tile(32, a, lda, s1, b1, s2, b2, c, ldc, mv, scratch);
    else spq_ffn_tile(64, a, lda, s1, b1, s2, b2, c, ldc, mv, scratch);
}
#endif

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

static _Atomic int spq_forced_level = -1;

void fk_sparse_int8_force_isa(int level) { atomic_store(&spq_forced_level, level); }

/* 2: AVX-512 VNNI, 0: portable (there is no AVX2 kernel). */
static int spq_isa_level(void) {
    const unsigned vnni = FK_CPU_AVX512 | FK_CPU_AVX512_VNNI;
    int level = fk_cpu_level(vnni, vnni, atomic_load(&spq_forced_level));
    if (level == 1 || strcmp(fk_gemm_isa(), "generic") == 0) level = 0;
    return level;
}

const char *fk_sparse_int8_isa(void) { return spq_isa_level() == 2 ? "avx512-vnni" : "generic"; }

typedef struct {
    int vnni;
    int split_rows;
    const float *a;
    size_t lda;
    const fk_sparse_q *s;
    const float *bias;
    float *c;
    size_t ldc, m, n;
    int epilogue;
} spq_job;


static void spq_job_run(void *raw, int index, int count) {
    const spq_job *job = raw;
    const fk_sparse_q *s = job->s;
    const size_t blocks = (job->n + SP_NB - 1) / SP_NB;
    size_t b0 = 0, b1 = blocks, r0 = 0, r1 = job->m;
    if (count > 1 && job->split_rows) {
        sp_row_share(job->m, SPQ_MR / 2, index, count, &r0, &r1);
    } else if (count > 1) {
        const size_t total = s->quads + job->n;
        b0 = sp_block_at(s->cost, blocks, total * (size_t)index / (size_t)count);
        b1 = index + 1 == count ? blocks : sp_block_at(s->cost, blocks, total * (size_t)(index + 1) / (size_t)count);
    }
    if (b0 >= b1 || r0 >= r1) return;
    const size_t j0 = b0 * SP_NB, j1 = b1 * SP_NB < job->n ? b1 * SP_NB : job->n;
    const float *a = job->a + r0 * job->lda;
    float *c = job->c + r0 * job->ldc;
#if defined(FK_X86)
    if (job->vnni) {
        uint8_t *scratch = fk_scratch(FK_SCRATCH_SPARSE_INT8, spq_tile_bytes(s->k));
        if (scratch) {
            for (size_t i0 = r0; i0 < r1; i0 += SPQ_MR) {
                const size_t mv = r1 - i0 < SPQ_MR ? r1 - i0 : SPQ_MR;
                spq_tile_vnni(a + (i0 - r0) * job->lda, job->lda, s, job->bias, c + (i0 - r0) * job->ldc, job->ldc,
                              mv, j0, j1, job->epilogue, scratch);
            }
            return;
        }
    }
#endif
    if (!spq_generic(a, job->lda, s, job->bias, c, job->ldc, r1 - r0, j0, j1, job->epilogue)) abort();
}

void fk_linear_sparse_int8(fk_pool *pool, const float *a, size_t lda, const fk_sparse_q *w, const float *bias,
                           float *c, size_t ldc, size_t m, size_t n, size_t k, int epilogue) {
    (void)k;
    if (m == 0 || n == 0) return;
    spq_job job = {0};
    /* One row has nothing to vectorise over: the 64-row tile would be 63 rows of padding. */
    job.vnni = spq_isa_level() == 2 && m > 1;
    job.a = a; job.lda = lda; job.s = w; job.bias = bias; job.c = c;
    job.ldc = ldc; job.m = m; job.n = n;
    job.epilogue = bias ? epilogue : FK_EPILOGUE_NONE;
    const int threads = fk_pool_threads(pool);
    job.split_rows = (m + SPQ_MR - 1) / SPQ_MR >= 2 * (size_t)threads;
    if (!pool || threads == 1 || (4 * w->quads + n) * m + m * w->k < 32768) {
        spq_job_run(&job, 0, 1);
    } else {
        fk_pool_run(pool, spq_job_run, &job);
    }
}

typedef struct {
    const float *a;
    size_t lda;
    const fk_sparse_q *s1, *s2;
    const float *b1, *b2;
    float *hidden;
    size_t ldh;
    float *c;
    size_t ldc, m;
} spq_ffn_job;

/* The thread's rows (sp_row_share) in tiles, each through the whole block. Without memory for the
 * fused scratch, its rows go through the portable path via `hidden`. */
static void spq_ffn_job_run(void *raw, int index, int count) {
    const spq_ffn_job *job = raw;
    const fk_sparse_q *s1 = job->s1, *s2 = job->s2;
    size_t r0, r1;
    sp_row_share(job->m, SPQ_MR / 2, index, count, &r0, &r1);
    if (r0 >= r1) return;
#if defined(FK_X86)
    uint8_t *scratch = fk_scratch(FK_SCRATCH_SPARSE_INT8, spq_ffn_bytes(s1->k, s1->n));
    if (scratch) {
        for (size_t i0 = r0; i0 < r1; i0 += SPQ_MR) {
            const size_t mv = r1 - i0 < SPQ_MR ? r1 - i0 : SPQ_MR;
            spq_ffn_tile_vnni(job->a + i0 * job->lda, job->lda, s1, job->b1, s2, job->b2, job->c + i0 * job->ldc,
                              job->ldc, mv, scratch);
        }
        return;
    }
#endif
    float *hid = job->hidden + r0 * job->ldh;
    if (!spq_generic(job->a + r0 * job->lda, job->lda, s1, job->b1, hid, job->ldh, r1 - r0, 0, s1->n,
                     FK_EPILOGUE_BIAS_GELU) ||
        !spq_generic(hid, job->ldh, s2, job->b2, job->c + r0 * job->ldc, job->ldc, r1 - r0, 0, s2->n,
                     FK_EPILOGUE_BIAS))
        abort();
}

void fk_ffn_sparse_int8(fk_pool *pool, const float *a, size_t lda, const fk_sparse_q *w1, const float *b1,
                        const fk_sparse_q *w2, const float *b2, float *hidden, size_t ldh, float *c, size_t ldc,
                        size_t m) {
    if (m == 0) return;
    const int threads = fk_pool_threads(pool);
    const size_t tiles = (m + SPQ_MR - 1) / SPQ_MR;
    /* Fused where every thread gets whole tiles of its own (a tile needs all of h's features for
     * its row scales); a batch of one or two tiles is split by features instead, in two calls. */
    if (spq_isa_level() != 2 || m == 1 || !b1 || !b2 || (threads > 1 && tiles < 2 * (size_t)threads)) {
        fk_linear_sparse_int8(pool, a, lda, w1, b1, hidden, ldh, m, w1->n, w1->k, FK_EPILOGUE_BIAS_GELU);
        fk_linear_sparse_int8(pool, hidden, ldh, w2, b2, c, ldc, m, w2->n, w2->k, FK_EPILOGUE_BIAS);
        return;
    }
    spq_ffn_job job = {a, lda, w1, w2, b1, b2, hidden, ldh, c, ldc, m};
    if (!pool || threads == 1) spq_ffn_job_run(&job, 0, 1);
    else fk_pool_run(pool, spq_ffn_job_run, &job);
}

void fk_ffn_sparse_int8_reference(const float *a, size_t lda, const fk_sparse_q *w1, const float *b1,
                                  const fk_sparse_q *w2, const float *b2, float *hidden, size_t ldh, float *c,
                                  size_t ldc, size_t m) {
    fk_linear_sparse_int8_reference(a, lda, w1, b1, hidden, ldh, m, w1->n, w1->k, FK_EPILOGUE_BIAS_GELU);
    fk_linear_sparse_int8_reference(hidden, ldh, w2, b2, c, ldc, m, w2->n, w2->k, FK_EPILOGUE_BIAS);
}
