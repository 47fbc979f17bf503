/*
 * The attention kernels behind fk_attention_head_blocked (attention.c), internal to the target.
 */
#ifndef FK_ATTENTION_H
#define FK_ATTENTION_H

#include <stddef.h>

#include "fk_common.h"

/* kt[d, j] = k[j, d] for the len keys of one head, as head_dim rows of len16 = len rounded up to
 * a multiple of 16, the padding keys zero; returns len16. Both blocked kernels start with it. */
FK_INLINE size_t fk_attention_transpose_keys(const float *k, size_t ld_qkv, size_t len, size_t head_dim, float *kt) {
    const size_t len16 = (len + 15) / 16 * 16;
    for (size_t d = 0; d < head_dim; d++) {
        for (size_t j = len; j < len16; j++) kt[d * len16 + j] = 0.0f;
    }
    for (size_t j = 0; j < len; j++) {
        const float *kj = k + j * ld_qkv;
        for (size_t d = 0; d < head_dim; d++) kt[d * len16 + j] = kj[d];
    }
    return len16;
}

/* Portable C written to vectorise (kernels.c, built per ISA by FK_CLONES): the keys transposed,
 * scores as vector multiply-adds over whole vectors of keys. Faster than fk_attention_head from
 * about 32 keys. kt: head_dim · len16 floats, scores: len16 (len16 = len rounded up to 16). */
FK_HIDDEN void fk_attention_head_vector(const float *q, const float *k, const float *v, size_t ld_qkv,
                                        float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                                        float scale, float *scores, float *kt);

#endif
