/*
 * Dense packed GEMM (fk_linear_packed) against the sparse kernel (fk_linear_sparse) on the
 * same magnitude-pruned weights, with the same m, the same threads and the same epilogue, in
 * one run. See bench/kernels/README.md.
 *
 *   clang -O3 -march=native -ffp-contract=fast -I Sources/CKernels/include \
 *      bench/kernels/sparse_bench.c Sources/CKernels/sparse.c Sources/CKernels/gemm.c \
 *      Sources/CKernels/panel_gemm.c Sources/CKernels/kernels.c Sources/CKernels/cpu.c \
 *      Sources/CKernels/scratch.c -lpthread -lm -o /tmp/sparse_bench
 *
 * Within a cell (shape, m, threads) the dense kernel and every sparsity are timed round-robin,
 * so background load hits them alike, and each gets the median of its repetitions. A cell
 * during which other processes used more than --max-bg of a CPU is measured again.
 */
#define _GNU_SOURCE
#include "FrontierGemm.h"
#include "FrontierSparse.h"
#include "bench_common.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>


/* ---- background load: busy jiffies of the whole machine minus this process's ---- */

static long long machine_busy_jiffies(void) {
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return 0;
    long long v[10] = {0};
    if (fscanf(f, "cpu %lld %lld %lld %lld %lld %lld %lld %lld", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) != 8) v[0] = 0;
    fclose(f);
    return v[0] + v[1] + v[2] + v[5] + v[6] + v[7]; /* user nice system irq softirq steal */
}

static long long self_jiffies(void) {
    FILE *f = fopen("/proc/self/stat", "r");
    if (!f) return 0;
    char buf[1024];
    size_t len = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[len] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return 0;
    long long ut = 0, st = 0;
    /* fields after ")": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime */
    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &ut, &st);
    return ut + st;
}

typedef struct { long long busy, self; double t; } load_mark;

static load_mark load_now(void) { return (load_mark){machine_busy_jiffies(), self_jiffies(), now_ms()}; }

/* Other processes' CPU use since `m`, in CPUs (1.0 = one core fully busy). */
static double load_since(load_mark m) {
    load_mark e = load_now();
    double secs = (e.t - m.t) / 1e3;
    if (secs <= 0) return 0;
    double hz = (double)sysconf(_SC_CLK_TCK);
    double other = (double)((e.busy - m.busy) - (e.self - m.self)) / hz;
    return other > 0 ? other / secs : 0;
}

/* Waits (up to `limit_s`) for a 0.5 s window in which others use less than `max_bg` CPUs. */
static double wait_idle(double limit_s, double max_bg) {
    double start = now_ms(), bg = 0;
    do {
        load_mark m = load_now();
        usleep(500000);
        bg = load_since(m);
        if (bg < max_bg) break;
    } while ((now_ms() - start) / 1e3 < limit_s);
    return bg;
}

/* ---- data ---- */





typedef struct { size_t n, k; const char *name; } shape;

static const shape minilm[] = {{1152, 384, "qkv"}, {384, 384, "attn-out"}, {1536, 384, "ffn-up"}, {384, 1536, "ffn-down"}};
static const shape bert[] = {{2304, 768, "qkv"}, {768, 768, "attn-out"}, {3072, 768, "ffn-up"}, {768, 3072, "ffn-down"}};

enum { MAX_SP = 16, MAX_REPS = 4096 };

typedef struct {
    int min_reps, retries, use_min, naive, epilogue;
    double min_ms, max_bg, wait_s;
} options;

static void usage(void) {
    fprintf(stderr,
            "usage: sparse_bench [--model minilm|bert|all] [--m 4096,32,1] [--threads 1,2]\n"
            "                    [--sparsity 0.5,0.6,0.7,0.8,0.9,0.95] [--epilogue 0|1|2]\n"
            "                    [--min-reps N] [--min-ms T] [--min] [--naive]\n"
            "                    [--max-bg CPUS] [--retries N] [--wait-idle S] [--sparse-isa 0|1|2]\n");
}

int main(int argc, char **argv) {
    const char *model = "minilm";
    double ms[8] = {4096, 32, 1}; int nm = 3;
    double ths[8] = {1, 2}; int nt = 2;
    double sps[MAX_SP] = {0.5, 0.6, 0.7, 0.8, 0.9, 0.95}; int ns = 6;
    options o = {.min_reps = 9, .retries = 2, .use_min = 0, .naive = 0, .epilogue = 1,
                 .min_ms = 400, .max_bg = 0.25, .wait_s = 60};
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(arg, "--naive")) { o.naive = 1; continue; }
        if (!strcmp(arg, "--min")) { o.use_min = 1; continue; }
        if (!val) { usage(); return 2; }
        i++;
        if (!strcmp(arg, "--model")) model = val;
        else if (!strcmp(arg, "--m")) nm = parse_list(val, ms, 8);
        else if (!strcmp(arg, "--threads")) nt = parse_list(val, ths, 8);
        else if (!strcmp(arg, "--sparsity")) ns = parse_list(val, sps, MAX_SP);
        else if (!strcmp(arg, "--epilogue")) o.epilogue = atoi(val);
        else if (!strcmp(arg, "--min-reps")) o.min_reps = atoi(val);
        else if (!strcmp(arg, "--min-ms")) o.min_ms = atof(val);
        else if (!strcmp(arg, "--max-bg")) o.max_bg = atof(val);
        else if (!strcmp(arg, "--retries")) o.retries = atoi(val);
        else if (!strcmp(arg, "--wait-idle")) o.wait_s = atof(val);
        else if (!strcmp(arg, "--sparse-isa")) fk_sparse_force_isa(atoi(val));
        else { usage(); return 2; }
    }
    shape shapes[8]; int nshapes = 0;
    if (!strcmp(model, "minilm") || !strcmp(model, "all")) for (int i = 0; i < 4; i++) shapes[nshapes++] = minilm[i];
    if (!strcmp(model, "bert") || !strcmp(model, "all")) for (int i = 0; i < 4; i++) shapes[nshapes++] = bert[i];
    if (!nshapes) { usage(); return 2; }

    printf("# sparse kernel %s, dense kernel %s, epilogue %d; %s of >= %d reps and >= %.0f ms per cell\n",
           fk_sparse_isa(), fk_gemm_isa(), o.epilogue, o.use_min ? "minimum" : "median", o.min_reps, o.min_ms);
    printf("# cell: sparse ms (dense ms / sparse ms); bg: other processes' CPU use during the cell\n\n");
    printf("| shape n×k | m | thr | dense ms |");
    for (int s = 0; s < ns; s++) printf(" %g%% |", sps[s] * 100);
    printf(" crossover |%s bg |\n|---|---|---|---|", o.naive ? " naive CSR |" : "");
    for (int s = 0; s < ns; s++) printf("---|");
    printf("---|%s---|\n", o.naive ? "---|" : "");

    double *t = malloc((size_t)(MAX_SP + 2) * MAX_REPS * sizeof(double));
    for (int si = 0; si < nshapes; si++) {
        const size_t n = shapes[si].n, k = shapes[si].k;
        float *w0 = malloc(n * k * sizeof(float));
        for (size_t i = 0; i < n * k; i++) w0[i] = rng_normal() * 0.05f;
        float *bias = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) bias[i] = rng_uniform() * 0.1f;
        float *packed = aligned_alloc(64, (fk_packed_size(n, k) * sizeof(float) + 63) / 64 * 64);
        fk_pack_weights(w0, n, k, packed);
        fk_sparse *sp[MAX_SP];
        float *wp = malloc(n * k * sizeof(float));
        int naive_s = 0; /* the naive kernel runs at the sparsity closest to 90 % */
        for (int s = 0; s < ns; s++) {
            memcpy(wp, w0, n * k * sizeof(float));
            prune(wp, n * k, sps[s]);
            sp[s] = fk_sparse_create(wp, n, k);
            if (fabs(sps[s] - 0.9) < fabs(sps[naive_s] - 0.9)) naive_s = s;
        }
        for (int mi = 0; mi < nm; mi++) {
            const size_t m = (size_t)ms[mi];
            float *a = aligned_alloc(64, (m * k * sizeof(float) + 63) / 64 * 64);
            for (size_t i = 0; i < m * k; i++) a[i] = rng_uniform();
            float *c = aligned_alloc(64, (m * n * sizeof(float) + 63) / 64 * 64);
            for (int ti = 0; ti < nt; ti++) {
                const int threads = (int)ths[ti];
                fk_pool *pool = threads > 1 ? fk_pool_create(threads) : NULL;
                const int cols = ns + 1 + o.naive;
                double med[MAX_SP + 2], bg = 0;
                int reps = 0;
                for (int attempt = 0; attempt <= o.retries; attempt++) {
                    if (o.wait_s > 0) wait_idle(o.wait_s, o.max_bg);
                    fk_linear_packed(pool, a, k, packed, bias, c, n, m, n, k, o.epilogue); /* warm-up */
                    for (int s = 0; s < ns; s++) fk_linear_sparse(pool, a, k, sp[s], bias, c, n, m, n, k, o.epilogue);
                    load_mark mark = load_now();
                    double total = 0;
                    reps = 0;
                    while ((reps < o.min_reps || total < o.min_ms) && reps < MAX_REPS) {
                        for (int col = 0; col < cols; col++) {
                            double t0 = now_ms();
                            if (col == 0) fk_linear_packed(pool, a, k, packed, bias, c, n, m, n, k, o.epilogue);
                            else if (col <= ns) fk_linear_sparse(pool, a, k, sp[col - 1], bias, c, n, m, n, k, o.epilogue);
                            else fk_linear_sparse_reference(a, k, sp[naive_s], bias, c, n, m, n, k, o.epilogue);
                            double dt = now_ms() - t0;
                            t[col * MAX_REPS + reps] = dt;
                            total += dt;
                        }
                        reps++;
                    }
                    bg = load_since(mark);
                    if (bg <= o.max_bg) break;
                }
                for (int col = 0; col < cols; col++) {
                    qsort(t + col * MAX_REPS, (size_t)reps, sizeof(double), cmp_double);
                    med[col] = t[col * MAX_REPS + (o.use_min ? 0 : reps / 2)];
                }
                printf("| %s %zu×%zu | %zu | %d | %.4g |", shapes[si].name, n, k, m, threads, med[0]);
                for (int s = 0; s < ns; s++) printf(" %.4g (%.2f×) |", med[1 + s], med[0] / med[1 + s]);
                /* Crossover: the lowest sparsity from which sparse stays faster, interpolated
                 * linearly in speedup between the two measured sparsities around it. */
                int first = ns;
                for (int s = ns - 1; s >= 0 && med[0] / med[1 + s] > 1.0; s--) first = s;
                if (first == 0) printf(" ≤ %g%% |", sps[0] * 100);
                else if (first == ns) printf(" > %g%% |", sps[ns - 1] * 100);
                else {
                    double x0 = sps[first - 1], x1 = sps[first];
                    double y0 = med[0] / med[first] - 1.0, y1 = med[0] / med[1 + first] - 1.0;
                    printf(" %.0f%% |", 100 * (x0 + (x1 - x0) * (0 - y0) / (y1 - y0)));
                }
                if (o.naive) printf(" %g%%: %.4g (%.2f×) |", sps[naive_s] * 100, med[1 + ns], med[0] / med[1 + ns]);
                printf(" %.2f%s |\n", bg, bg > o.max_bg ? " noisy" : "");
                fflush(stdout);
                fk_pool_destroy(pool);
            }
            free(a);
            free(c);
        }
        for (int s = 0; s < ns; s++) fk_sparse_destroy(sp[s]);
        free(w0); free(wp); free(bias); free(packed);
    }
    free(t);
    return 0;
}
