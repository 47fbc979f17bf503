/*
 * See FrontierSHA256.h. The round structure follows Intel's "Intel SHA Extensions" white paper
 * (Gulley et al., 2013), written as one loop over the sixteen groups of four rounds instead of
 * unrolled by hand: in group g, the schedule words W[4g..4g+3] are in m[g % 4]; sha256msg2
 * completes the words of group g+1 (g = 3..14) and sha256msg1 starts those of group g+3
 * (g = 1..12). The loop has constant bounds, so the compiler unrolls it and the indices fold.
 */
#include "FrontierSHA256.h"

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>
#include <immintrin.h>
#include <stdatomic.h>

static const uint32_t K[64] __attribute__((aligned(16))) = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

/* CPUID leaf 7 EBX bit 29 (SHA) and leaf 1 ECX bit 19 (SSE4.1, for pblendw) and bit 9
 * (SSSE3, for pshufb and palignr). No OS support check is needed: these use the XMM registers,
 * which every x86-64 OS saves. */
static int fsha256_detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    const int sse = (c & (1u << 19)) && (c & (1u << 9));
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return sse && (b & (1u << 29)) ? 1 : 0;
}

/* -1 until the first call; threads racing on it compute the same answer. */
int fsha256_has_extensions(void) {
    static _Atomic int cached = -1;
    int value = atomic_load_explicit(&cached, memory_order_relaxed);
    if (value < 0) {
        value = fsha256_detect();
        atomic_store_explicit(&cached, value, memory_order_relaxed);
    }
    return value;
}

__attribute__((target("sha,sse4.1,ssse3")))
void fsha256_compress_extensions(uint32_t state[8], const uint8_t *data, size_t blocks) {
    /* Big-endian message words to lanes. */
    const __m128i byte_swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);

    /* The instructions keep the state as ABEF and CDGH. */
    __m128i tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[0]), 0xB1); /* CDAB */
    __m128i cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&state[4]), 0x1B); /* EFGH */
    __m128i abef = _mm_alignr_epi8(tmp, cdgh, 8);                                         /* ABEF */
    cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);                                              /* CDGH */

    for (size_t block = 0; block < blocks; block++, data += 64) {
        const __m128i abef_saved = abef, cdgh_saved = cdgh;
        __m128i m[4];
        for (int g = 0; g < 16; g++) {
            if (g < 4) m[g] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(data + 16 * g)), byte_swap);
            __m128i words = _mm_add_epi32(m[g & 3], _mm_load_si128((const __m128i *)&K[4 * g]));
            cdgh = _mm_sha256rnds2_epu32(cdgh, abef, words);
            if (g >= 3 && g <= 14) {
                const __m128i next = _mm_add_epi32(m[(g + 1) & 3], _mm_alignr_epi8(m[g & 3], m[(g + 3) & 3], 4));
                m[(g + 1) & 3] = _mm_sha256msg2_epu32(next, m[g & 3]);
            }
            words = _mm_shuffle_epi32(words, 0x0E);
            abef = _mm_sha256rnds2_epu32(abef, cdgh, words);
            if (g >= 1 && g <= 12) m[(g + 3) & 3] = _mm_sha256msg1_epu32(m[(g + 3) & 3], m[g & 3]);
        }
        abef = _mm_add_epi32(abef, abef_saved);
        cdgh = _mm_add_epi32(cdgh, cdgh_saved);
    }

    tmp = _mm_shuffle_epi32(abef, 0x1B);  /* FEBA */
    cdgh = _mm_shuffle_epi32(cdgh, 0xB1); /* DCHG */
    _mm_storeu_si128((__m128i *)&state[0], _mm_blend_epi16(tmp, cdgh, 0xF0)); /* DCBA */
    _mm_storeu_si128((__m128i *)&state[4], _mm_alignr_epi8(cdgh, tmp, 8));    /* HGFE */
}

#else

int fsha256_has_extensions(void) { return 0; }

void fsha256_compress_extensions(uint32_t state[8], const uint8_t *data, size_t blocks) {
    (void)state; (void)data; (void)blocks;
}

#endif
