/*
 * See include/FrontierGemm.h. Packed layout: panel p holds output rows [16p, 16p + 16) of W
 * (zero-padded past n) as k consecutive groups of 16 floats: packed[p][kk][j] = W[16p + j][kk].
 * A microkernel keeps an MR × NR tile of C in registers and walks k once, broadcasting one A
 * value per row and loading one 16-float group per panel.
 */
#define _GNU_SOURCE
#include "FrontierGemm.h"
#include "FrontierKernels.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define FK_X86 1
#endif

#define FK_INLINE static inline __attribute__((always_inline))

/* ---------------------------------------------------------------------------------------- */
/* Thread pool                                                                               */
/* ---------------------------------------------------------------------------------------- */

struct fk_pool {
    int threads;
    pthread_t *workers;
    _Atomic uint32_t generation; /* bumped per parallel region; futex word */
    _Atomic int pending;         /* workers still running the current region */
    _Atomic int stop;
    void (*fn)(void *, int, int);
    void *ctx;
};

typedef struct {
    fk_pool *pool;
    int index;
} fk_worker_arg;

static long fk_futex(_Atomic uint32_t *addr, int op, uint32_t value) {
    return syscall(SYS_futex, (uint32_t *)addr, op, value, NULL, NULL, 0);
}

FK_INLINE void fk_cpu_relax(void) {
#if defined(FK_X86)
    _mm_pause();
#endif
}

/* Spin for this many polls before sleeping on the futex: long enough to bridge the gaps
 * between the GEMMs of one forward pass, short enough not to heat an idle machine. */
#define FK_SPIN_POLLS 20000

static void *fk_worker_main(void *raw) {
    fk_worker_arg arg = *(fk_worker_arg *)raw;
    free(raw);
    fk_pool *pool = arg.pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t now;
        int polls = 0;
        while ((now = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
            if (++polls < FK_SPIN_POLLS) {
                fk_cpu_relax();
            } else {
                fk_futex(&pool->generation, FUTEX_WAIT_PRIVATE, seen);
            }
        }
        seen = now;
        if (atomic_load_explicit(&pool->stop, memory_order_acquire)) return NULL;
        pool->fn(pool->ctx, arg.index, pool->threads);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
}

fk_pool *fk_pool_create(int threads) {
    if (threads < 1) threads = 1;
    fk_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    if (threads > 1) {
        pool->workers = calloc((size_t)threads - 1, sizeof(pthread_t));
        if (!pool->workers) { free(pool); return NULL; }
        for (int i = 1; i < threads; i++) {
            fk_worker_arg *arg = malloc(sizeof *arg);
            if (!arg) { pool->threads = i; break; }
            arg->pool = pool;
            arg->index = i;
            if (pthread_create(&pool->workers[i - 1], NULL, fk_worker_main, arg) != 0) {
                free(arg);
                pool->threads = i;
                break;
            }
        }
    }
    return pool;
}

void fk_pool_destroy(fk_pool *pool) {
    if (!pool) return;
    atomic_store_explicit(&pool->stop, 1, memory_order_release);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    fk_futex(&pool->generation, FUTEX_WAKE_PRIVATE, INT32_MAX);
    for (int i = 1; i < pool->threads; i++) pthread_join(pool->workers[i - 1], NULL);
    free(pool->workers);
    free(pool);
}

int fk_pool_threads(const fk_pool *pool) { return pool ? pool->threads : 1; }

void fk_pool_run(fk_pool *pool, void (*fn)(void *, int, int), void *ctx) {
    if (!pool || pool->threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->threads - 1, memory_order_release);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    fk_futex(&pool->generation, FUTEX_WAKE_PRIVATE, INT32_MAX);
    fn(ctx, 0, pool->threads);
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) fk_cpu_relax();
}

/* ---------------------------------------------------------------------------------------- */
/* Packing                                                                                   */
/* ---------------------------------------------------------------------------------------- */

size_t fk_packed_size(size_t n, size_t k) {
    return (n + FK_PANEL - 1) / FK_PANEL * FK_PANEL * k;
}

void fk_pack_weights(const float *w, size_t n, size_t k, float *packed) {
    size_t panels = (n + FK_PANEL - 1) / FK_PANEL;
    for (size_t p = 0; p < panels; p++) {
        float *dst = packed + p * FK_PANEL * k;
        for (size_t kk = 0; kk < k; kk++) {
            for (size_t j = 0; j < FK_PANEL; j++) {
                size_t row = p * FK_PANEL + j;
                dst[kk * FK_PANEL + j] = row < n ? w[row * k + kk] : 0.0f;
            }
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Epilogue: bias and GELU on a freshly stored tile (still in L1)                            */
/* ---------------------------------------------------------------------------------------- */

FK_INLINE void fk_tile_epilogue(float *c, size_t ldc, size_t rows, size_t cols,
                                const float *bias, int epilogue) {
    if (epilogue == FK_EPILOGUE_BIAS_GELU) {
        fk_bias_gelu_strided(c, ldc, bias, rows, cols);
    } else if (epilogue == FK_EPILOGUE_BIAS) {
        for (size_t r = 0; r < rows; r++) {
            float *row = c + r * ldc;
            for (size_t j = 0; j < cols; j++) row[j] += bias[j];
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Portable microkernel                                                                      */
/* ---------------------------------------------------------------------------------------- */

static void fk_block_generic(const float *a, size_t lda, const float *panel, size_t k,
                             float *c, size_t ldc, size_t mr, size_t nr) {
    float acc[FK_PANEL];
    for (size_t r = 0; r < mr; r++) {
        for (size_t j = 0; j < FK_PANEL; j++) acc[j] = 0.0f;
        const float *ar = a + r * lda;
        for (size_t kk = 0; kk < k; kk++) {
            const float av = ar[kk];
            const float *b = panel + kk * FK_PANEL;
            for (size_t j = 0; j < FK_PANEL; j++) acc[j] += av * b[j];
        }
        for (size_t j = 0; j < nr; j++) c[r * ldc + j] = acc[j];
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX-512: MR rows × 32 columns (two panels), 2·MR zmm accumulators                         */
/* ---------------------------------------------------------------------------------------- */

#if defined(FK_X86)
#define FK_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,fma,avx2")))

FK_AVX512 FK_INLINE void fk_kernel_avx512(const int MR, const float *a, size_t lda,
                                          const float *p0, const float *p1, size_t k,
                                          float *c, size_t ldc, size_t nr) {
    __m512 acc0[8], acc1[8];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm512_setzero_ps(); acc1[r] = _mm512_setzero_ps(); }
    for (size_t kk = 0; kk < k; kk++) {
        const __m512 b0 = _mm512_loadu_ps(p0 + kk * FK_PANEL);
        const __m512 b1 = p1 ? _mm512_loadu_ps(p1 + kk * FK_PANEL) : _mm512_setzero_ps();
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

/* Rows of A per block: the block (rows × k floats) stays in L2 while a thread sweeps all of
 * its panels, so A is read from memory once instead of once per panel pair. */
static size_t fk_row_block(size_t k, size_t mr) {
    size_t rows = (96 * 1024 / sizeof(float)) / (k ? k : 1);
    rows = rows / mr * mr;
    return rows < mr ? mr : rows;
}

/* One thread's share: panels [p_begin, p_end), all m rows, two panels at a time. */
FK_AVX512 static void fk_gemm_avx512(const float *a, size_t lda, const float *packed, const float *bias,
                                     float *c, size_t ldc, size_t m, size_t n, size_t k,
                                     size_t p_begin, size_t p_end, int epilogue) {
    const size_t mc = fk_row_block(k, 8);
    for (size_t i0 = 0; i0 < m; i0 += mc) {
    const size_t i1 = i0 + mc < m ? i0 + mc : m;
    for (size_t p = p_begin; p < p_end; p += 2) {
        const float *p0 = packed + p * FK_PANEL * k;
        const float *p1 = p + 1 < p_end ? p0 + FK_PANEL * k : NULL;
        size_t col = p * FK_PANEL;
        size_t nr = n - col < (p1 ? 32 : 16) ? n - col : (p1 ? 32 : 16);
        for (size_t i = i0; i < i1; i += 8) {
            size_t mr = m - i < 8 ? m - i : 8;
            const float *ai = a + i * lda;
            float *ci = c + i * ldc + col;
            switch (mr) {
            case 8: fk_kernel_avx512(8, ai, lda, p0, p1, k, ci, ldc, nr); break;
            case 7: fk_kernel_avx512(7, ai, lda, p0, p1, k, ci, ldc, nr); break;
            case 6: fk_kernel_avx512(6, ai, lda, p0, p1, k, ci, ldc, nr); break;
            case 5: fk_kernel_avx512(5, ai, lda, p0, p1, k, ci, ldc, nr); break;
            case 4: fk_kernel_avx512(4, ai, lda, p0, p1, k, ci, ldc, nr); break;
            case 3: fk_kernel_avx512(3, ai, lda, p0, p1, k, ci, ldc, nr); break;
            case 2: fk_kernel_avx512(2, ai, lda, p0, p1, k, ci, ldc, nr); break;
            default: fk_kernel_avx512(1, ai, lda, p0, p1, k, ci, ldc, nr); break;
            }
            if (epilogue) fk_tile_epilogue(ci, ldc, mr, nr, bias + col, epilogue);
        }
    }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* AVX2 + FMA: MR rows × 16 columns (one panel), 2·MR ymm accumulators                       */
/* ---------------------------------------------------------------------------------------- */

#define FK_AVX2 __attribute__((target("avx2,fma")))

FK_AVX2 FK_INLINE void fk_kernel_avx2(const int MR, const float *a, size_t lda, const float *p0,
                                      size_t k, float *c, size_t ldc, size_t nr) {
    __m256 acc0[6], acc1[6];
    for (int r = 0; r < MR; r++) { acc0[r] = _mm256_setzero_ps(); acc1[r] = _mm256_setzero_ps(); }
    for (size_t kk = 0; kk < k; kk++) {
        const __m256 b0 = _mm256_loadu_ps(p0 + kk * FK_PANEL);
        const __m256 b1 = _mm256_loadu_ps(p0 + kk * FK_PANEL + 8);
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

FK_AVX2 static void fk_gemm_avx2(const float *a, size_t lda, const float *packed, const float *bias,
                                 float *c, size_t ldc, size_t m, size_t n, size_t k,
                                 size_t p_begin, size_t p_end, int epilogue) {
    const size_t mc = fk_row_block(k, 6);
    for (size_t i0 = 0; i0 < m; i0 += mc) {
    const size_t i1 = i0 + mc < m ? i0 + mc : m;
    for (size_t p = p_begin; p < p_end; p++) {
        const float *p0 = packed + p * FK_PANEL * k;
        size_t col = p * FK_PANEL;
        size_t nr = n - col < 16 ? n - col : 16;
        for (size_t i = i0; i < i1; i += 6) {
            size_t mr = m - i < 6 ? m - i : 6;
            const float *ai = a + i * lda;
            float *ci = c + i * ldc + col;
            switch (mr) {
            case 6: fk_kernel_avx2(6, ai, lda, p0, k, ci, ldc, nr); break;
            case 5: fk_kernel_avx2(5, ai, lda, p0, k, ci, ldc, nr); break;
            case 4: fk_kernel_avx2(4, ai, lda, p0, k, ci, ldc, nr); break;
            case 3: fk_kernel_avx2(3, ai, lda, p0, k, ci, ldc, nr); break;
            case 2: fk_kernel_avx2(2, ai, lda, p0, k, ci, ldc, nr); break;
            default: fk_kernel_avx2(1, ai, lda, p0, k, ci, ldc, nr); break;
            }
            if (epilogue) fk_tile_epilogue(ci, ldc, mr, nr, bias + col, epilogue);
        }
    }
    }
}
#endif

static void fk_gemm_generic(const float *a, size_t lda, const float *packed, const float *bias,
                            float *c, size_t ldc, size_t m, size_t n, size_t k,
                            size_t p_begin, size_t p_end, int epilogue) {
    for (size_t p = p_begin; p < p_end; p++) {
        size_t col = p * FK_PANEL;
        size_t nr = n - col < 16 ? n - col : 16;
        for (size_t i = 0; i < m; i += 4) {
            size_t mr = m - i < 4 ? m - i : 4;
            fk_block_generic(a + i * lda, lda, packed + p * FK_PANEL * k, k, c + i * ldc + col, ldc, mr, nr);
            if (epilogue) fk_tile_epilogue(c + i * ldc + col, ldc, mr, nr, bias + col, epilogue);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

typedef void (*fk_gemm_fn)(const float *, size_t, const float *, const float *, float *, size_t,
                           size_t, size_t, size_t, size_t, size_t, int);

static _Atomic int fk_force_generic = 0;

void fk_gemm_force_generic(int force) { atomic_store(&fk_force_generic, force); }

static int fk_isa_level(void) {
    static _Atomic int level = -1;
    int value = atomic_load_explicit(&level, memory_order_relaxed);
    if (value < 0) {
        value = fk_cpu_has_avx512() ? 2 : (fk_cpu_has_avx2_fma() ? 1 : 0);
        atomic_store_explicit(&level, value, memory_order_relaxed);
    }
    return atomic_load(&fk_force_generic) ? 0 : value;
}

const char *fk_gemm_isa(void) {
    switch (fk_isa_level()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
    }
}

static fk_gemm_fn fk_gemm_select(size_t *panel_step) {
#if defined(FK_X86)
    switch (fk_isa_level()) {
    case 2: *panel_step = 2; return fk_gemm_avx512;
    case 1: *panel_step = 1; return fk_gemm_avx2;
    default: break;
    }
#endif
    *panel_step = 1;
    return fk_gemm_generic;
}

typedef struct {
    fk_gemm_fn fn;
    size_t panel_step;
    const float *a;
    size_t lda;
    const float *packed;
    const float *bias;
    float *c;
    size_t ldc, m, n, k;
    int epilogue;
} fk_gemm_job;

static void fk_gemm_job_run(void *raw, int index, int count) {
    fk_gemm_job *job = raw;
    size_t panels = (job->n + FK_PANEL - 1) / FK_PANEL;
    size_t steps = (panels + job->panel_step - 1) / job->panel_step;
    size_t s0 = steps * (size_t)index / (size_t)count;
    size_t s1 = steps * (size_t)(index + 1) / (size_t)count;
    size_t p0 = s0 * job->panel_step;
    size_t p1 = s1 * job->panel_step;
    if (p1 > panels) p1 = panels;
    if (p0 < p1) {
        job->fn(job->a, job->lda, job->packed, job->bias, job->c, job->ldc, job->m, job->n, job->k,
                p0, p1, job->epilogue);
    }
}

void fk_linear_packed(fk_pool *pool, const float *a, size_t lda, const float *packed,
                      const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                      int epilogue) {
    if (m == 0 || n == 0) return;
    fk_gemm_job job = {0};
    job.fn = fk_gemm_select(&job.panel_step);
    job.a = a; job.lda = lda; job.packed = packed; job.bias = bias; job.c = c;
    job.ldc = ldc; job.m = m; job.n = n; job.k = k; job.epilogue = bias ? epilogue : FK_EPILOGUE_NONE;
    /* Tiny products (classifier heads) are not worth waking workers for. */
    if (!pool || m * n * k < 32768) {
        fk_gemm_job_run(&job, 0, 1);
    } else {
        fk_pool_run(pool, fk_gemm_job_run, &job);
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Parallel attention and row kernels                                                        */
/* ---------------------------------------------------------------------------------------- */

typedef struct {
    const float *qkv;
    float *context;
    const int *offsets;
    size_t nseq, heads, head_dim;
    float scale;
    float *scratch;
    size_t max_len;
    int cls_only;
} fk_attention_job;

static void fk_attention_job_run(void *raw, int index, int count) {
    fk_attention_job *job = raw;
    size_t items = job->nseq * job->heads;
    size_t i0 = items * (size_t)index / (size_t)count;
    size_t i1 = items * (size_t)(index + 1) / (size_t)count;
    size_t a = job->heads * job->head_dim;
    float *scratch = job->scratch + (size_t)index * job->max_len;
    for (size_t item = i0; item < i1; item++) {
        size_t s = item / job->heads, h = item % job->heads;
        size_t start = (size_t)job->offsets[s];
        size_t len = (size_t)job->offsets[s + 1] - start;
        const float *q = job->qkv + start * 3 * a + h * job->head_dim;
        fk_attention_head(q, q + a, q + 2 * a, 3 * a, job->context + start * a + h * job->head_dim, a,
                          len, job->cls_only ? 1 : len, job->head_dim, job->scale, scratch);
    }
}

void fk_attention_packed(fk_pool *pool, const float *qkv, float *context, const int *offsets,
                         size_t nseq, size_t heads, size_t head_dim, float scale,
                         float *scratch, size_t max_len, int cls_only) {
    fk_attention_job job = {qkv, context, offsets, nseq, heads, head_dim, scale, scratch, max_len, cls_only};
    /* Short sequences at batch 1 finish faster than a worker wakes. */
    size_t work = 0;
    for (size_t s = 0; s < nseq; s++) {
        size_t len = (size_t)(offsets[s + 1] - offsets[s]);
        work += len * (cls_only ? 1 : len);
    }
    if (!pool || work * heads * head_dim < 65536) {
        fk_attention_job_run(&job, 0, 1);
    } else {
        fk_pool_run(pool, fk_attention_job_run, &job);
    }
}

typedef struct {
    int kind; /* 0: add bias, 1: bias + residual + layernorm */
    float *y;
    const float *bias, *residual, *gamma, *beta;
    size_t rows, cols;
    float eps;
} fk_rows_job;

static void fk_rows_job_run(void *raw, int index, int count) {
    fk_rows_job *job = raw;
    size_t r0 = job->rows * (size_t)index / (size_t)count;
    size_t r1 = job->rows * (size_t)(index + 1) / (size_t)count;
    if (r0 >= r1) return;
    float *y = job->y + r0 * job->cols;
    if (job->kind == 0) {
        fk_add_bias(y, job->bias, r1 - r0, job->cols);
    } else {
        fk_bias_residual_layernorm(y, job->bias, job->residual ? job->residual + r0 * job->cols : NULL,
                                   job->gamma, job->beta, r1 - r0, job->cols, job->eps);
    }
}

static void fk_rows_dispatch(fk_pool *pool, fk_rows_job *job) {
    if (!pool || job->rows * job->cols < 16384) {
        fk_rows_job_run(job, 0, 1);
    } else {
        fk_pool_run(pool, fk_rows_job_run, job);
    }
}

void fk_parallel_add_bias(fk_pool *pool, float *y, const float *bias, size_t rows, size_t cols) {
    fk_rows_job job = {0, y, bias, NULL, NULL, NULL, rows, cols, 0};
    fk_rows_dispatch(pool, &job);
}

void fk_parallel_bias_residual_layernorm(fk_pool *pool, float *y, const float *bias,
                                         const float *residual, const float *gamma,
                                         const float *beta, size_t rows, size_t cols, float eps) {
    fk_rows_job job = {1, y, bias, residual, gamma, beta, rows, cols, eps};
    fk_rows_dispatch(pool, &job);
}
