/*
 * oneDNN's int8 (and fp32) matmul against our fk_linear_int8 / fk_linear_packed on BERT's
 * linear-layer shapes, in one run, so we can pick whichever is faster.
 *
 * oneDNN does exactly our computation: the same quantized integers (weights and activations
 * come from our quantizer, so the two int8 results must agree to float rounding, which the
 * run checks), s8 activations × s8 weights → int32, then output scales (per output channel,
 * mask 1 << 1) into an fp32 dst. The per-token activation scale cannot ride along in oneDNN
 * 2.6: a binary-mul post-op with a [m, 1] tensor is accepted but only by "ref_int8:any", the
 * reference implementation (~1000× slower), so it is applied with the bias (and GELU) in one
 * extra pass over dst (OpenMP-parallel over rows), timed as part of oneDNN's call. (oneDNN
 * 3.x has per-token source scales; Debian 12 ships 2.6.3.) Weights are reordered once into
 * the layout oneDNN picks (format_tag_any), like our packing, and every primitive is created
 * before timing. Columns reported:
 *   oneDNN int8 = activation quantization (our quantizer, OpenMP-parallel over rows) + matmul
 *                 + the row-scale/bias/GELU pass: what fk_linear_int8 does in one call;
 *   oneDNN mm   = the int8 matmul alone (activations already quantized, dst = acc · s_w);
 *   oneDNN f32  = fp32 matmul with bias (and GELU) post-op, weights prepacked.
 * Threads: oneDNN (Debian's build uses OpenMP) gets omp_set_num_threads(t), ours an fk_pool of t.
 *
 * Build and run: see bench/kernels/INT8.md.
 */
#define _GNU_SOURCE
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>

#include "FrontierGemm.h"
#include "FrontierInt8.h"
#include "FrontierKernels.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHECK(call)                                                                          \
    do {                                                                                     \
        dnnl_status_t status_ = (call);                                                      \
        if (status_ != dnnl_success) {                                                       \
            fprintf(stderr, "%s:%d: %s failed: %d\n", __FILE__, __LINE__, #call, (int)status_); \
            exit(1);                                                                         \
        }                                                                                    \
    } while (0)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static float gaussian(void) {
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

static const shape all_shapes[] = {
    {"minilm qkv", 1152, 384}, {"minilm attn-out", 384, 384},
    {"minilm ffn-up", 1536, 384}, {"minilm ffn-down", 384, 1536},
    {"base qkv", 2304, 768}, {"base attn-out", 768, 768},
    {"base ffn-up", 3072, 768}, {"base ffn-down", 768, 3072},
};

static dnnl_memory_desc_t md2(dnnl_dim_t d0, dnnl_dim_t d1, dnnl_data_type_t type, dnnl_format_tag_t tag) {
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {d0, d1};
    CHECK(dnnl_memory_desc_init_by_tag(&md, 2, dims, type, tag));
    return md;
}

static dnnl_memory_t mem(const dnnl_memory_desc_t *md, dnnl_engine_t engine, void *data) {
    dnnl_memory_t m;
    CHECK(dnnl_memory_create(&m, md, engine, data ? data : DNNL_MEMORY_ALLOCATE));
    return m;
}

/* Reorders user weights (s8 or f32, PyTorch [n, k] = logical (k, n) in "ba") into the layout
 * the primitive wants; returns the new memory. */
static dnnl_memory_t prepack(dnnl_engine_t engine, dnnl_stream_t stream, const_dnnl_primitive_desc_t pd,
                             size_t n, size_t k, dnnl_data_type_t type, void *user) {
    dnnl_memory_desc_t user_md = md2((dnnl_dim_t)k, (dnnl_dim_t)n, type, dnnl_ba);
    const dnnl_memory_desc_t *want = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_memory_t src = mem(&user_md, engine, user), dst = mem(want, engine, NULL);
    dnnl_primitive_desc_t rpd;
    CHECK(dnnl_reorder_primitive_desc_create(&rpd, &user_md, engine, want, engine, NULL));
    dnnl_primitive_t reorder;
    CHECK(dnnl_primitive_create(&reorder, rpd));
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
    CHECK(dnnl_primitive_execute(reorder, stream, 2, args));
    CHECK(dnnl_stream_wait(stream));
    dnnl_primitive_destroy(reorder);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(src);
    return dst;
}

static const char *impl_name(const_dnnl_primitive_desc_t pd) {
    const char *name = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &name);
    return name;
}

int main(int argc, char **argv) {
    int reps = 7, epilogue = 1, first = 0, last = 8;
    size_t ms[8] = {4096, 32, 1};
    int nm = 3;
    int threads_list[4] = {1, 2};
    int nt = 2;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc) reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            const char *v = argv[++i];
            first = !strcmp(v, "base") ? 4 : 0;
            last = !strcmp(v, "minilm") ? 4 : 8;
        } else if (!strcmp(argv[i], "--m") && i + 1 < argc) {
            nm = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nm < 8; tok = strtok(NULL, ",")) ms[nm++] = (size_t)atol(tok);
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            nt = 0;
            for (char *tok = strtok(argv[++i], ","); tok && nt < 4; tok = strtok(NULL, ",")) threads_list[nt++] = atoi(tok);
        } else if (!strcmp(argv[i], "--epilogue") && i + 1 < argc) epilogue = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--reps N] [--model minilm|base|all] [--m 4096,32,1] [--threads 1,2] [--epilogue 1|2]\n", argv[0]);
            return 2;
        }
    }
    if (epilogue < 1) epilogue = 1; /* the bias is always part of a BERT linear */

    dnnl_engine_t engine;
    dnnl_stream_t stream;
    CHECK(dnnl_engine_create(&engine, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags));
    const dnnl_version_t *version = dnnl_version();
    printf("oneDNN %d.%d.%d (cpu isa %d), ours: fp32 %s, int8 %s; reps %d (median), epilogue %d\n",
           version->major, version->minor, version->patch, (int)dnnl_get_effective_cpu_isa(), fk_gemm_isa(),
           fk_int8_isa(), reps, epilogue);
    printf("| shape | m | threads | ours fp32 ms | ours int8 ms | oneDNN int8 ms | oneDNN mm ms | oneDNN f32 ms | oneDNN int8 / ours int8 | max rel diff |\n");
    printf("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n");

    size_t mmax = 0;
    for (int i = 0; i < nm; i++) mmax = ms[i] > mmax ? ms[i] : mmax;
    int printed_impl = 0;

    for (int s = first; s < last; s++) {
        size_t n = all_shapes[s].n, k = all_shapes[s].k;
        float *w = malloc(n * k * sizeof *w), *bias = malloc(n * sizeof *bias), *a = malloc(mmax * k * sizeof *a);
        float *c_ours = malloc(mmax * n * sizeof(float)), *c_dnnl = malloc(mmax * n * sizeof(float));
        float *c32 = malloc(mmax * n * sizeof(float));
        int8_t *qa = malloc(mmax * k), *qw = malloc(n * k);
        float *sa = malloc(mmax * sizeof *sa);
        for (size_t i = 0; i < n * k; i++) w[i] = 0.05f * gaussian();
        for (size_t i = 0; i < n; i++) bias[i] = 0.1f * gaussian();
        for (size_t i = 0; i < mmax * k; i++) a[i] = gaussian();
        float *packed = aligned_alloc(64, (fk_packed_size(n, k) * sizeof(float) + 63) / 64 * 64);
        fk_pack_weights(w, n, k, packed);
        fk_qweight *q = fk_qweight_create(w, n, k);
        for (size_t j = 0; j < n; j++) fk_qweight_row(q, j, (signed char *)qw + j * k);
        const float *sw = fk_qweight_scales(q);

        for (int ti = 0; ti < nt; ti++) {
            int threads = threads_list[ti];
            omp_set_num_threads(threads);
            fk_pool *pool = fk_pool_create(threads);
            for (int mi = 0; mi < nm; mi++) {
                size_t m = ms[mi];
                /* --- int8 primitive --- */
                dnnl_memory_desc_t src_md = md2((dnnl_dim_t)m, (dnnl_dim_t)k, dnnl_s8, dnnl_ab);
                dnnl_memory_desc_t wei_any = md2((dnnl_dim_t)k, (dnnl_dim_t)n, dnnl_s8, dnnl_format_tag_any);
                dnnl_memory_desc_t dst_md = md2((dnnl_dim_t)m, (dnnl_dim_t)n, dnnl_f32, dnnl_ab);
                dnnl_memory_desc_t bias_md = md2(1, (dnnl_dim_t)n, dnnl_f32, dnnl_ab);
                dnnl_matmul_desc_t desc;
                CHECK(dnnl_matmul_desc_init(&desc, &src_md, &wei_any, NULL, &dst_md));
                dnnl_primitive_attr_t attr;
                CHECK(dnnl_primitive_attr_create(&attr));
                CHECK(dnnl_primitive_attr_set_output_scales(attr, (dnnl_dim_t)n, 1 << 1, sw));
                dnnl_primitive_desc_t pd;
                CHECK(dnnl_primitive_desc_create(&pd, &desc, attr, engine, NULL));
                dnnl_primitive_t mm;
                CHECK(dnnl_primitive_create(&mm, pd));
                dnnl_memory_t wei = prepack(engine, stream, pd, n, k, dnnl_s8, qw);
                dnnl_memory_t src = mem(&src_md, engine, qa), dst = mem(&dst_md, engine, c_dnnl);
                dnnl_memory_t bm = mem(&bias_md, engine, bias);
                dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
                /* --- fp32 primitive --- */
                dnnl_memory_desc_t src32_md = md2((dnnl_dim_t)m, (dnnl_dim_t)k, dnnl_f32, dnnl_ab);
                dnnl_memory_desc_t wei32_any = md2((dnnl_dim_t)k, (dnnl_dim_t)n, dnnl_f32, dnnl_format_tag_any);
                dnnl_matmul_desc_t desc32;
                CHECK(dnnl_matmul_desc_init(&desc32, &src32_md, &wei32_any, &bias_md, &dst_md));
                dnnl_primitive_attr_t attr32;
                CHECK(dnnl_primitive_attr_create(&attr32));
                dnnl_post_ops_t po32;
                CHECK(dnnl_post_ops_create(&po32));
                if (epilogue == 2) CHECK(dnnl_post_ops_append_eltwise(po32, 1.0f, dnnl_eltwise_gelu_erf, 0, 0));
                CHECK(dnnl_primitive_attr_set_post_ops(attr32, po32));
                dnnl_primitive_desc_t pd32;
                CHECK(dnnl_primitive_desc_create(&pd32, &desc32, attr32, engine, NULL));
                dnnl_primitive_t mm32;
                CHECK(dnnl_primitive_create(&mm32, pd32));
                dnnl_memory_t wei32 = prepack(engine, stream, pd32, n, k, dnnl_f32, w);
                dnnl_memory_t src32 = mem(&src32_md, engine, a), dst32 = mem(&dst_md, engine, c32);
                dnnl_exec_arg_t args32[4] = {
                    {DNNL_ARG_SRC, src32}, {DNNL_ARG_WEIGHTS, wei32}, {DNNL_ARG_BIAS, bm}, {DNNL_ARG_DST, dst32},
                };
                if (!printed_impl) {
                    printf("oneDNN implementations: int8 \"%s\", f32 \"%s\"\n", impl_name(pd), impl_name(pd32));
                    printed_impl = 1;
                }

#define DNNL_QUANTIZE()                                                                     \
    do {                                                                                    \
        _Pragma("omp parallel for schedule(static)")                                        \
        for (size_t r = 0; r < m; r++)                                                      \
            fk_int8_quantize_rows(a + r * k, k, 1, k, (signed char *)qa + r * k, k, sa + r); \
    } while (0)
#define DNNL_DEQUANTIZE()                                                                   \
    do {                                                                                    \
        _Pragma("omp parallel for schedule(static)")                                        \
        for (size_t r = 0; r < m; r++) {                                                    \
            float *row = c_dnnl + r * n;                                                    \
            const float s_ = sa[r];                                                         \
            if (epilogue == 2) {                                                            \
                for (size_t j = 0; j < n; j++) row[j] *= s_;                                \
                fk_bias_gelu_strided(row, n, bias, 1, n);                                   \
            } else {                                                                        \
                for (size_t j = 0; j < n; j++) row[j] = row[j] * s_ + bias[j];              \
            }                                                                               \
        }                                                                                   \
    } while (0)
#define DNNL_RUN(p, nargs, argv_)                                                           \
    do {                                                                                    \
        CHECK(dnnl_primitive_execute(p, stream, nargs, argv_));                             \
        CHECK(dnnl_stream_wait(stream));                                                    \
    } while (0)

                /* Warm up each, and size the inner loop so a sample takes ~20 ms. */
                fk_linear_packed(pool, a, k, packed, bias, c_ours, n, m, n, k, epilogue);
                fk_linear_int8(pool, a, k, q, bias, c_ours, n, m, n, k, epilogue);
                DNNL_QUANTIZE();
                DNNL_RUN(mm, 3, args);
                DNNL_DEQUANTIZE();
                DNNL_RUN(mm32, 4, args32);
                double t0 = now_ms();
                fk_linear_packed(pool, a, k, packed, bias, c_ours, n, m, n, k, epilogue);
                double once = now_ms() - t0;
                int inner = once > 20 ? 1 : (int)(20 / (once > 1e-3 ? once : 1e-3)) + 1;
                double *t[5];
                for (int i = 0; i < 5; i++) t[i] = malloc(sizeof(double) * reps);
                for (int r = 0; r < reps; r++) {
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_linear_packed(pool, a, k, packed, bias, c_ours, n, m, n, k, epilogue);
                    t[0][r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) fk_linear_int8(pool, a, k, q, bias, c_ours, n, m, n, k, epilogue);
                    t[1][r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) { DNNL_QUANTIZE(); DNNL_RUN(mm, 3, args); DNNL_DEQUANTIZE(); }
                    t[2][r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) DNNL_RUN(mm, 3, args);
                    t[3][r] = (now_ms() - t0) / inner;
                    t0 = now_ms();
                    for (int it = 0; it < inner; it++) DNNL_RUN(mm32, 4, args32);
                    t[4][r] = (now_ms() - t0) / inner;
                }
                DNNL_QUANTIZE();
                DNNL_RUN(mm, 3, args);
                DNNL_DEQUANTIZE();
                fk_linear_int8(pool, a, k, q, bias, c_ours, n, m, n, k, epilogue);
                double worst = 0;
                for (size_t i = 0; i < m * n; i++) {
                    double d = fabs((double)c_ours[i] - c_dnnl[i]) / (fabs((double)c_dnnl[i]) + 1e-2);
                    worst = d > worst ? d : worst;
                }
                double med[5];
                for (int i = 0; i < 5; i++) med[i] = median(t[i], reps);
                printf("| %s %zu×%zu | %zu | %d | %.4f | %.4f | %.4f | %.4f | %.4f | %.2f | %.1e |\n", all_shapes[s].name, n, k,
                       m, threads, med[0], med[1], med[2], med[3], med[4], med[2] / med[1], worst);
                fflush(stdout);
                for (int i = 0; i < 5; i++) free(t[i]);
                dnnl_memory_destroy(wei); dnnl_memory_destroy(src); dnnl_memory_destroy(dst);
                dnnl_memory_destroy(bm);
                dnnl_memory_destroy(wei32); dnnl_memory_destroy(src32); dnnl_memory_destroy(dst32);
                dnnl_primitive_destroy(mm); dnnl_primitive_destroy(mm32);
                dnnl_primitive_desc_destroy(pd); dnnl_primitive_desc_destroy(pd32);
                dnnl_post_ops_destroy(po32);
                dnnl_primitive_attr_destroy(attr); dnnl_primitive_attr_destroy(attr32);
            }
            fk_pool_destroy(pool);
        }
        fk_qweight_destroy(q);
        free(packed); free(w); free(bias); free(a); free(c_ours); free(c_dnnl); free(c32); free(qa); free(qw); free(sa);
    }
    dnnl_stream_destroy(stream);
    dnnl_engine_destroy(engine);
    return 0;
}
