/*
 * fk_linear_int8, fk_linear_packed_f16 and fk_linear_packed_bf16 against fk_linear_packed (fp32)
 * on BERT's linear-layer shapes, in one run.
 *
 * For every (shape, m, threads) the kernels are timed in turn, `reps` times each, after a
 * warm-up, and the medians are reported with their ratio to fp32, so background load on a
 * shared machine hits all sides alike. Also prints the int8 error against fp32 (relative RMS
 * over the output) and the share of the int8 time spent quantizing activations (single-thread
 * quantizer timed alone, so at 2 threads it overstates).
 *
 * Build and run: see bench/kernels/INT8.md.
 */
#define _GNU_SOURCE
#include "FrontierGemm.h"
#include "FrontierHalfGemm.h"
#include "FrontierInt8.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float gaussian(void) {
    /* Box-Muller on a splitmix64 stream. */
    uint64_t z;
    double u[2];
    for (int i = 0; i < 2; i++) {
        z = (rng_state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        z ^= z >> 31;
        u[i] = ((z >> 11) + 0.5) * 0x1p-53;
    }
    return (float)(sqrt(-2.0 * log(u[0])) * cos(6.283185307179586 * u[1]));
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

typedef struct { const char *name; size_t n, k; } shape;

static const shape minilm[] = {
    {"minilm qkv", 1152, 384}, {"minilm attn-out", 384, 384},
    {"minilm ffn-up", 1536, 384}, {"minilm ffn-down", 384, 1536},
};
static const shape base[] = {
    {"base qkv", 2304, 768}, {"base attn-out", 768, 768},
    {"base ffn-up", 3072, 768}, {"base ffn-down", 768, 3072},
};

int main(int argc, char **argv) {
    int reps = 7, use_minilm = 1, use_base = 1, isa = -1, epilogue = 1;
    size_t ms[8] = {4096, 32, 1};
    int nm = 3;
    int threads_list[4] = {1, 2};
    int nt = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            const char *v = argv[++i];
            use_minilm = !strcmp(v, "minilm") || !strcmp(v, "all");
            use_base = !strcmp(v, "base") || !strcmp(v, "all");
        } else if (!strcmp(argv[i], "--m") && i + 1 < argc) {
            nm = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nm < 8; tok = strtok(NULL, ",")) ms[nm++] = (size_t)atol(tok);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nt = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nt < 4; tok = strtok(NULL, ",")) threads_list[nt++] = atoi(tok);
        } else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isa = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epilogue") && i + 1 < argc) epilogue = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--reps N] [--model minilm|base|all] [--m 4096,32,1] [--threads 1,2] [--isa 0|1|2] [--epilogue 0|1|2]\n", argv[0]);
            return 2;
        }
    }
    if (isa >= 0) { fk_int8_force_isa(isa); fk_half_gemm_force_isa(isa); }
    printf("fp32 kernel: %s, int8 kernel: %s, reps %d (median), epilogue %d\n", fk_gemm_isa(), fk_int8_isa(), reps, epilogue);
    printf("half kernels: %s\n", fk_half_gemm_isa());
    printf("| shape | n×k | m | threads | fp32 ms | int8 ms | int8 × | quant %% | int8 GOP/s | int8 rel RMS | f16 ms | f16 × | bf16 ms | bf16 × |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");

    shape shapes[8];
    int ns = 0;
    if (use_minilm) for (int i = 0; i < 4; i++) shapes[ns++] = minilm[i];
    if (use_base) for (int i = 0; i < 4; i++) shapes[ns++] = base[i];

    size_t mmax = 0;
    for (int i = 0; i < nm; i++) mmax = ms[i] > mmax ? ms[i] : mmax;

    for (int s = 0; s < ns; s++) {
        size_t n = shapes[s].n, k = shapes[s].k;
        float *w = malloc(n * k * sizeof *w), *bias = malloc(n * sizeof *bias);
        float *a = malloc(mmax * k * sizeof *a);
        float *c32 = aligned_alloc(64, (mmax * n * sizeof(float) + 63) / 64 * 64);
        float *c8 = aligned_alloc(64, (mmax * n * sizeof(float) + 63) / 64 * 64);
        signed char *qa = malloc(mmax * k);
        float *sa = malloc(mmax * sizeof *sa);
        for (size_t i = 0; i < n * k; i++) w[i] = 0.05f * gaussian();
        for (size_t i = 0; i < n; i++) bias[i] = 0.1f * gaussian();
        for (size_t i = 0; i < mmax * k; i++) a[i] = gaussian();
        float *packed = aligned_alloc(64, (fk_packed_size(n, k) * sizeof(float) + 63) / 64 * 64);
        fk_pack_weights(w, n, k, packed);
        fk_qweight *q = fk_qweight_create(w, n, k);
        uint16_t *p16 = aligned_alloc(64, (fk_packed_size_half(n, k) * 2 + 63) / 64 * 64);
        uint16_t *pb16 = aligned_alloc(64, (fk_packed_size_half(n, k) * 2 + 63) / 64 * 64);
        fk_pack_weights_f16(w, n, k, p16);
        fk_pack_weights_bf16(w, n, k, pb16);
        for (int ti = 0; ti < nt; ti++) {
            fk_pool *pool = fk_pool_create(threads_list[ti]);
            for (int mi = 0; mi < nm; mi++) {
                size_t m = ms[mi];
                double flops = 2.0 * (double)m * (double)n * (double)k;
                /* Enough calls per sample for ~20 ms, so m = 1 is not timer noise. */
                fk_linear_packed(pool, a, k, packed, bias, c32, n, m, n, k, epilogue);
                double t0 = now_ms();
                fk_linear_packed(pool, a, k, packed, bias, c32, n, m, n, k, epilogue);
                double once = now_ms() - t0;
                int inner = once > 20 ? 1 : (int)(20 / (once > 1e-3 ? once : 1e-3)) + 1;
                double *t32 = malloc(sizeof(double) * reps), *t8 = malloc(sizeof(double) * reps), *tq = malloc(sizeof(double) * reps);
                double *th = malloc(sizeof(double) * reps), *tb = malloc(sizeof(double) * reps);
                fk_linear_int8(pool, a, k, q, bias, c8, n, m, n, k, epilogue);
                for (int r = 0; r < reps; r++) {
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_linear_packed(pool, a, k, packed, bias, c32, n, m, n, k, epilogue);
                    t32[r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_linear_int8(pool, a, k, q, bias, c8, n, m, n, k, epilogue);
                    t8[r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_int8_quantize_rows(a, k, m, k, qa, k, sa);
                    tq[r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_linear_packed_f16(pool, a, k, p16, bias, c8, n, m, n, k, epilogue);
                    th[r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_linear_packed_bf16(pool, a, k, pb16, bias, c8, n, m, n, k, epilogue);
                    tb[r] = (now_ms() - t0) / inner;
                }
                fk_linear_int8(pool, a, k, q, bias, c8, n, m, n, k, epilogue);
                double err = 0, ref = 0;
                for (size_t i = 0; i < m * n; i++) {
                    double d = (double)c8[i] - c32[i];
                    err += d * d;
                    ref += (double)c32[i] * c32[i];
                }
                double m32 = median(t32, reps), m8 = median(t8, reps), mq = median(tq, reps);
                double mh = median(th, reps), mb = median(tb, reps);
                printf("| %s | %zu×%zu | %zu | %d | %.4f | %.4f | %.2f× | %.0f%% | %.0f | %.2e | %.4f | %.2f× | %.4f | %.2f× |\n",
                       shapes[s].name, n, k, m, threads_list[ti], m32, m8, m32 / m8, 100.0 * mq / m8, flops / m8 * 1e-6,
                       sqrt(err / (ref > 0 ? ref : 1)), mh, m32 / mh, mb, m32 / mb);
                fflush(stdout);
                free(t32); free(t8); free(tq); free(th); free(tb);
            }
            fk_pool_destroy(pool);
        }
        fk_qweight_destroy(q);
        free(p16); free(pb16);
        free(packed); free(w); free(bias); free(a); free(c32); free(c8); free(qa); free(sa);
    }
    return 0;
}
