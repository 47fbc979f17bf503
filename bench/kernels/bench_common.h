/*
 * What the kernel benchmarks share: a monotonic clock in ms, a splitmix64 stream, sorting for
 * medians, magnitude pruning and comma-separated option lists. Header-only (static functions), so
 * each benchmark still builds with one cc line.
 */
#ifndef FRONTIER_BENCH_COMMON_H
#define FRONTIER_BENCH_COMMON_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

static inline double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t rng_next(void) {
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}
static inline float rng_uniform(void) { return (float)((rng_next() >> 40) * 0x1p-24) * 2.0f - 1.0f; }
static inline float rng_normal(void) {
    float u1 = ((rng_next() >> 40) + 1) * 0x1p-24f, u2 = (rng_next() >> 40) * 0x1p-24f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.2831853f * u2);
}

static inline int cmp_float(const void *x, const void *y) {
    float a = *(const float *)x, b = *(const float *)y;
    return (a > b) - (a < b);
}

static inline int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* Zeroes the `sparsity` fraction of w with the smallest magnitudes (magnitude pruning). */
static inline void prune(float *w, size_t count, double sparsity) {
    size_t cut = (size_t)(sparsity * (double)count + 0.5);
    if (cut == 0) return;
    float *mag = malloc(count * sizeof *mag);
    for (size_t i = 0; i < count; i++) mag[i] = fabsf(w[i]);
    qsort(mag, count, sizeof *mag, cmp_float);
    float threshold = mag[cut - 1];
    free(mag);
    for (size_t i = 0; i < count; i++) if (fabsf(w[i]) <= threshold) w[i] = 0.0f;
}

static inline int parse_list(const char *s, double *out, int max) {
    int n = 0;
    while (*s && n < max) {
        char *end;
        out[n++] = strtod(s, &end);
        s = end;
        if (*s == ',') s++;
        else break;
    }
    return n;
}

#endif
