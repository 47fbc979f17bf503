/*
 * The sparse × int8 kernel (fk_linear_sparse_int8) beside the fp32 dense packed GEMM, the dense
 * int8 kernel and the fp32 sparse kernel, on the same magnitude-pruned MiniLM-shaped weights,
 * with the same m, threads and epilogue (bias), timed round-robin in one run; medians.
 *
 *   clang -O2 -ffp-contract=fast -I Sources/CKernels/include bench/kernels/sparse_int8_bench.c \
 *      Sources/CKernels/{sparse_int8,sparse,int8,gemm,panel_gemm,kernels,attention,cpu,scratch}.c \
 *      -lpthread -lm -o /tmp/sparse_int8_bench
 *   /tmp/sparse_int8_bench [--m 1024,32] [--threads 1,2] [--sparsity 0.5,0.7,0.8,0.9,0.95] [--reps 15]
 *
 * Cells: ms, and in brackets fp32 dense ms / the kernel's ms.
 */
#define _GNU_SOURCE
#include "FrontierGemm.h"
#include "FrontierInt8.h"
#include "FrontierSparse.h"
#include "FrontierSparseInt8.h"
#include "bench_common.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>






typedef struct { size_t n, k; const char *name; } shape;
static const shape minilm[] = {{1152, 384, "qkv"}, {384, 384, "attn-out"}, {1536, 384, "ffn-up"}, {384, 1536, "ffn-down"}};

enum { KERNELS = 4, MAX_REPS = 512 };
static const char *names[KERNELS] = {"fp32 dense", "int8 dense", "fp32 sparse", "int8 sparse"};

int main(int argc, char **argv) {
    double ms[8] = {1024, 32}; int nm = 2;
    double ths[8] = {1, 2}; int nt = 2;
    double sps[8] = {0.5, 0.7, 0.8, 0.9, 0.95}; int ns = 5;
    int reps = 15;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--m")) nm = parse_list(argv[i + 1], ms, 8);
        else if (!strcmp(argv[i], "--threads")) nt = parse_list(argv[i + 1], ths, 8);
        else if (!strcmp(argv[i], "--sparsity")) ns = parse_list(argv[i + 1], sps, 8);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else { fprintf(stderr, "unknown option %s\n", argv[i]); return 2; }
    }
    if (reps < 1 || reps > MAX_REPS) reps = 15;
    printf("# kernels: fp32 dense %s, int8 %s, fp32 sparse %s, int8 sparse %s; medians of %d round-robin reps\n",
           fk_gemm_isa(), fk_int8_isa(), fk_sparse_isa(), fk_sparse_int8_isa(), reps);
    printf("# cell: ms (fp32 dense ms / ms)\n\n| shape n×k | m | thr | sparsity |");
    for (int q = 0; q < KERNELS; q++) printf(" %s |", names[q]);
    printf("\n|---|---|---|---|---|---|---|---|\n");
    double *t = malloc(sizeof(double) * KERNELS * MAX_REPS);
    for (int si = 0; si < 4; si++) {
        const size_t n = minilm[si].n, k = minilm[si].k;
        float *w = malloc(n * k * sizeof(float)), *bias = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) bias[i] = rng_uniform() * 0.1f;
        for (int s = 0; s < ns; s++) {
            for (size_t i = 0; i < n * k; i++) w[i] = rng_uniform() * 0.05f;
            prune(w, n * k, sps[s]);
            float *packed = aligned_alloc(64, (fk_packed_size(n, k) * sizeof(float) + 63) / 64 * 64);
            fk_pack_weights(w, n, k, packed);
            fk_qweight *q8 = fk_qweight_create(w, n, k);
            fk_sparse *sp = fk_sparse_create(w, n, k);
            fk_sparse_q *spq = fk_sparse_q_create(w, n, k);
            for (int mi = 0; mi < nm; mi++) {
                const size_t m = (size_t)ms[mi];
                float *a = malloc(m * k * sizeof(float)), *c = malloc(m * n * sizeof(float));
                for (size_t i = 0; i < m * k; i++) a[i] = rng_uniform();
                for (int ti = 0; ti < nt; ti++) {
                    const int threads = (int)ths[ti];
                    fk_pool *pool = threads > 1 ? fk_pool_create(threads) : NULL;
                    for (int r = -1; r < reps; r++) {
                        for (int q = 0; q < KERNELS; q++) {
                            const double t0 = now_ms();
                            switch (q) {
                            case 0: fk_linear_packed(pool, a, k, packed, bias, c, n, m, n, k, 1); break;
                            case 1: fk_linear_int8(pool, a, k, q8, bias, c, n, m, n, k, 1); break;
                            case 2: fk_linear_sparse(pool, a, k, sp, bias, c, n, m, n, k, 1); break;
                            default: fk_linear_sparse_int8(pool, a, k, spq, bias, c, n, m, n, k, 1); break;
                            }
                            if (r >= 0) t[q * MAX_REPS + r] = now_ms() - t0;
                        }
                    }
                    double med[KERNELS];
                    for (int q = 0; q < KERNELS; q++) {
                        qsort(t + q * MAX_REPS, (size_t)reps, sizeof(double), cmp_double);
                        med[q] = t[q * MAX_REPS + reps / 2];
                    }
                    printf("| %s %zu×%zu | %zu | %d | %.0f%% |", minilm[si].name, n, k, m, threads, 100 * sps[s]);
                    for (int q = 0; q < KERNELS; q++) printf(" %.3g (%.2f×) |", med[q], med[0] / med[q]);
                    printf("\n");
                    fflush(stdout);
                    if (pool) fk_pool_destroy(pool);
                }
                free(a);
                free(c);
            }
            free(packed);
            fk_qweight_destroy(q8);
            fk_sparse_destroy(sp);
            fk_sparse_q_destroy(spq);
        }
        free(w);
        free(bias);
    }
    free(t);
    return 0;
}
