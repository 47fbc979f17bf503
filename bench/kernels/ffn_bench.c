/*
 * The fused sparse feed-forward block (fk_ffn_sparse, fk_ffn_sparse_int8: W2 · GELU(W1 · a + b1)
 * + b2 with the intermediate kept feature-major per row tile) against the two fk_linear_sparse /
 * fk_linear_sparse_int8 calls it replaces, on magnitude-pruned MiniLM (384 → 1536 → 384) or
 * BERT-base (768 → 3072 → 768) weights, the four variants timed round-robin in one run; medians.
 *
 *   clang -O2 -ffp-contract=fast -I Sources/CKernels/include bench/kernels/ffn_bench.c \
 *      Sources/CKernels/{sparse_int8,sparse,int8,gemm,panel_gemm,kernels,attention,cpu,scratch}.c \
 *      -lpthread -lm -o /tmp/ffn_bench
 *   /tmp/ffn_bench [--model minilm|bert] [--m 704,800,1024,4096] [--threads 1,2] [--sparsity 0.9]
 *                  [--reps 15] [--sparse-isa 1|2]
 *
 * Per cell: ms of the fused block and of the two calls, and their ratio (two calls / fused), for
 * fp32 sparse and sparse int8 (the latter only where the CPU has AVX-512 VNNI, else "-").
 * --sparse-isa 1 forces the fp32 kernel's AVX2 path.
 */
#define _GNU_SOURCE
#include "FrontierGemm.h"
#include "FrontierSparse.h"
#include "FrontierSparseInt8.h"
#include "bench_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { VARIANTS = 4, MAX_REPS = 512 };

typedef struct {
    fk_pool *pool;
    const float *a, *b1, *b2;
    float *h, *c;
    size_t m, k, n1;
    fk_sparse *s1, *s2;
    fk_sparse_q *q1, *q2;
} cell;

static void run(const cell *x, int variant) {
    switch (variant) {
    case 0: fk_ffn_sparse(x->pool, x->a, x->k, x->s1, x->b1, x->s2, x->b2, x->h, x->n1, x->c, x->k, x->m); break;
    case 1:
        fk_linear_sparse(x->pool, x->a, x->k, x->s1, x->b1, x->h, x->n1, x->m, x->n1, x->k, FK_EPILOGUE_BIAS_GELU);
        fk_linear_sparse(x->pool, x->h, x->n1, x->s2, x->b2, x->c, x->k, x->m, x->k, x->n1, FK_EPILOGUE_BIAS);
        break;
    case 2: fk_ffn_sparse_int8(x->pool, x->a, x->k, x->q1, x->b1, x->q2, x->b2, x->h, x->n1, x->c, x->k, x->m); break;
    default:
        fk_linear_sparse_int8(x->pool, x->a, x->k, x->q1, x->b1, x->h, x->n1, x->m, x->n1, x->k, FK_EPILOGUE_BIAS_GELU);
        fk_linear_sparse_int8(x->pool, x->h, x->n1, x->q2, x->b2, x->c, x->k, x->m, x->k, x->n1, FK_EPILOGUE_BIAS);
        break;
    }
}

int main(int argc, char **argv) {
    double ms[8] = {704, 800, 1024, 4096}; int nm = 4;
    double ths[8] = {1, 2}; int nt = 2;
    double sps[8] = {0.9}; int ns = 1;
    int reps = 15;
    size_t k = 384, n1 = 1536;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--m")) nm = parse_list(argv[i + 1], ms, 8);
        else if (!strcmp(argv[i], "--threads")) nt = parse_list(argv[i + 1], ths, 8);
        else if (!strcmp(argv[i], "--sparsity")) ns = parse_list(argv[i + 1], sps, 8);
        else if (!strcmp(argv[i], "--reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--sparse-isa")) fk_sparse_force_isa(atoi(argv[i + 1]));
        else if (!strcmp(argv[i], "--model") && !strcmp(argv[i + 1], "bert")) { k = 768; n1 = 3072; }
        else if (!strcmp(argv[i], "--model") && !strcmp(argv[i + 1], "minilm")) { k = 384; n1 = 1536; }
        else { fprintf(stderr, "unknown option %s %s\n", argv[i], argv[i + 1]); return 2; }
    }
    if (reps < 1 || reps > MAX_REPS) reps = 15;
    const int int8 = strcmp(fk_sparse_int8_isa(), "avx512-vnni") == 0;
    printf("# fused feed-forward block %zu -> %zu -> %zu; sparse %s, sparse int8 %s; medians of %d rounds\n", k, n1, k,
           fk_sparse_isa(), fk_sparse_int8_isa(), reps);
    printf("| sparsity | m | threads | fp32 fused ms | fp32 two calls ms | ratio | int8 fused ms | int8 two calls ms | ratio |\n");
    printf("| --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    float *w1 = malloc(n1 * k * sizeof *w1), *w2 = malloc(k * n1 * sizeof *w2);
    float *b1 = malloc(n1 * sizeof *b1), *b2 = malloc(k * sizeof *b2);
    for (size_t i = 0; i < n1; i++) b1[i] = 0.1f * rng_uniform();
    for (size_t i = 0; i < k; i++) b2[i] = 0.1f * rng_uniform();
    for (int si = 0; si < ns; si++) {
        for (size_t i = 0; i < n1 * k; i++) { w1[i] = 0.05f * rng_normal(); w2[i] = 0.05f * rng_normal(); }
        prune(w1, n1 * k, sps[si]);
        prune(w2, n1 * k, sps[si]);
        cell x = {0};
        x.s1 = fk_sparse_create(w1, n1, k); x.s2 = fk_sparse_create(w2, k, n1);
        x.q1 = fk_sparse_q_create(w1, n1, k); x.q2 = fk_sparse_q_create(w2, k, n1);
        x.b1 = b1; x.b2 = b2; x.k = k; x.n1 = n1;
        for (int mi = 0; mi < nm; mi++) {
            x.m = (size_t)ms[mi];
            float *a = malloc(x.m * k * sizeof *a);
            for (size_t i = 0; i < x.m * k; i++) a[i] = rng_uniform();
            x.a = a;
            x.h = malloc(x.m * n1 * sizeof *x.h);
            x.c = malloc(x.m * k * sizeof *x.c);
            for (int ti = 0; ti < nt; ti++) {
                x.pool = fk_pool_create((int)ths[ti]);
                double t[VARIANTS][MAX_REPS];
                for (int r = 0; r < reps; r++) {
                    for (int v = 0; v < VARIANTS; v++) {
                        if (v >= 2 && !int8) { t[v][r] = 0; continue; }
                        run(&x, v); /* warm */
                        const double t0 = now_ms();
                        run(&x, v);
                        t[v][r] = now_ms() - t0;
                    }
                }
                double med[VARIANTS];
                for (int v = 0; v < VARIANTS; v++) {
                    qsort(t[v], (size_t)reps, sizeof t[v][0], cmp_double);
                    med[v] = t[v][reps / 2];
                }
                printf("| %.0f%% | %zu | %d | %.3f | %.3f | %.2f× |", 100 * sps[si], x.m, (int)ths[ti], med[0], med[1],
                       med[1] / med[0]);
                if (int8) printf(" %.3f | %.3f | %.2f× |\n", med[2], med[3], med[3] / med[2]);
                else printf(" - | - | - |\n");
                fk_pool_destroy(x.pool);
            }
            free(a); free(x.h); free(x.c);
        }
        fk_sparse_destroy(x.s1); fk_sparse_destroy(x.s2);
        fk_sparse_q_destroy(x.q1); fk_sparse_q_destroy(x.q2);
    }
    free(w1); free(w2); free(b1); free(b2);
    return 0;
}
