/*
 * See include/FrontierGemm.h. Packed layout: panel p holds output rows [16p, 16p + 16) of W
 * (zero-padded past n) as k consecutive groups of 16 floats: packed[p][kk][j] = W[16p + j][kk].
 * The SIMD microkernels that stream it are panel_gemm.c's, shared with the 16-bit-weight GEMM;
 * this file has the portable kernel, the dispatch and the thread pool.
 */
#define _GNU_SOURCE
#include "fk_common.h"
#include "fk_scratch.h"
#include "FrontierGemm.h"
#include "FrontierKernels.h"
#include "fk_cpu.h"
#include "fk_panel.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

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

static _Thread_local fk_pool *fk_thread_pool = NULL;

fk_pool *fk_current_pool(void) { return fk_thread_pool; }
void fk_set_current_pool(fk_pool *pool) { fk_thread_pool = pool; }

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

static void fk_gemm_generic(const fk_panel_args *x, size_t p_begin, size_t p_end) {
    const float *packed = x->packed;
    for (size_t p = p_begin; p < p_end; p++) {
        size_t col = p * FK_PANEL;
        size_t nr = x->n - col < 16 ? x->n - col : 16;
        for (size_t i = 0; i < x->m; i += 4) {
            size_t mr = x->m - i < 4 ? x->m - i : 4;
            float *ci = x->c + i * x->ldc + col;
            fk_block_generic(x->a + i * x->lda, x->lda, packed + p * FK_PANEL * x->k, x->k, ci, x->ldc, mr, nr);
            if (x->epilogue) fk_tile_epilogue(ci, x->ldc, mr, nr, x->bias + col, x->epilogue);
        }
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Dispatch and threading                                                                    */
/* ---------------------------------------------------------------------------------------- */

static _Atomic int fk_force_generic = 0;

void fk_gemm_force_generic(int force) { atomic_store(&fk_force_generic, force); }

/* 2: AVX-512, 1: AVX2 + FMA, 0: portable. */
static int fk_gemm_level(void) {
    return fk_cpu_level(FK_CPU_AVX512, FK_CPU_AVX2_FMA, atomic_load(&fk_force_generic) ? 0 : -1);
}

const char *fk_gemm_isa(void) {
    switch (fk_gemm_level()) {
    case 2: return "avx512";
    case 1: return "avx2";
    default: return "generic";
    }
}

/*
 * A multi-threaded product is cut into units of (a block of rows) × (a group of panels) that the
 * threads take in turn from an atomic counter. A static half each left one thread spinning at the
 * end of every GEMM whenever the other was late (woken from its futex, or preempted on a shared
 * host): 7.5 % of a training step on 2 vCPUs. Every output tile is still computed by one
 * microkernel call over the whole k, in the same order, so the result does not depend on which
 * thread took which unit.
 */
typedef struct {
    fk_panel_args args;
    int level;
    size_t row_block;       /* rows per unit: a multiple of both microkernels' row counts (8, 6) */
    size_t panels_per_unit; /* a multiple of the AVX-512 kernel's two panels */
    size_t panel_groups, units;
    _Atomic size_t next;
} fk_gemm_job;

static void fk_gemm_unit_range(const fk_gemm_job *job, size_t p0, size_t p1, size_t r0, size_t r1) {
    fk_panel_args part = job->args;
    part.a += r0 * part.lda;
    part.c += r0 * part.ldc;
    part.m = r1 - r0;
    switch (job->level) {
#if defined(FK_X86)
    case 2: fk_panel_gemm_avx512(&part, p0, p1, NULL); break;
    case 1: fk_panel_gemm_avx2(&part, p0, p1, NULL); break;
#endif
    default: fk_gemm_generic(&part, p0, p1); break;
    }
}

static void fk_gemm_job_run(void *raw, int index, int count) {
    fk_gemm_job *job = raw;
    (void)index;
    if (count == 1) {
        fk_gemm_unit_range(job, 0, (job->args.n + FK_PANEL - 1) / FK_PANEL, 0, job->args.m);
        return;
    }
    const size_t panels = (job->args.n + FK_PANEL - 1) / FK_PANEL;
    for (;;) {
        const size_t unit = atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);
        if (unit >= job->units) return;
        const size_t r0 = unit / job->panel_groups * job->row_block;
        const size_t r1 = r0 + job->row_block < job->args.m ? r0 + job->row_block : job->args.m;
        const size_t p0 = unit % job->panel_groups * job->panels_per_unit;
        const size_t p1 = p0 + job->panels_per_unit < panels ? p0 + job->panels_per_unit : panels;
        fk_gemm_unit_range(job, p0, p1, r0, r1);
    }
}

void fk_linear_packed(fk_pool *pool, const float *a, size_t lda, const float *packed,
                      const float *bias, float *c, size_t ldc, size_t m, size_t n, size_t k,
                      int epilogue) {
    if (m == 0 || n == 0) return;
    fk_gemm_job job;
    job.args = (fk_panel_args){FK_PANEL_F32, a, lda, packed, bias, c, ldc, m, n, k,
                               bias ? epilogue : FK_EPILOGUE_NONE};
    job.level = fk_gemm_level();
    /* Tiny products (classifier heads) are not worth waking workers for. */
    if (!pool || m * n * k < 32768) {
        fk_gemm_job_run(&job, 0, 1);
        return;
    }
    /* Row blocks whose A part fits in about 96 KB (as the microkernels' own blocking), and
     * about four panel groups per row block: units of a few percent of the product. */
    const size_t kk = k ? k : 1;
    size_t rows = (96 * 1024 / sizeof(float)) / kk / 24 * 24;
    job.row_block = rows < 24 ? 24 : rows;
    const size_t panels = (n + FK_PANEL - 1) / FK_PANEL;
    size_t per = (panels + 3) / 4;
    per = (per + 1) / 2 * 2;
    job.panels_per_unit = per;
    job.panel_groups = (panels + per - 1) / per;
    job.units = (m + job.row_block - 1) / job.row_block * job.panel_groups;
    atomic_init(&job.next, 0);
    fk_pool_run(pool, fk_gemm_job_run, &job);
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
    /* The transposed keys of one head and its scores, padded to whole vectors; without memory
     * for them, the unblocked kernel. */
    const size_t len16 = (job->max_len + 15) / 16 * 16;
    float *kt = fk_scratch(FK_SCRATCH_ATTENTION, (job->head_dim + 8) * len16 * sizeof(float));
    for (size_t item = i0; item < i1; item++) {
        size_t s = item / job->heads, h = item % job->heads;
        size_t start = (size_t)job->offsets[s];
        size_t len = (size_t)job->offsets[s + 1] - start;
        const float *q = job->qkv + start * 3 * a + h * job->head_dim;
        float *out = job->context + start * a + h * job->head_dim;
        const size_t n_query = job->cls_only ? 1 : len;
        if (kt) {
            fk_attention_head_blocked(q, q + a, q + 2 * a, 3 * a, out, a, len, n_query, job->head_dim, job->scale,
                                      kt + job->head_dim * len16, kt);
        } else {
            fk_attention_head(q, q + a, q + 2 * a, 3 * a, out, a, len, n_query, job->head_dim, job->scale, scratch);
        }
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
