/*
 * The attention kernels behind fk_attention_head_blocked (attention.c), internal to the target.
 */
#ifndef FK_ATTENTION_H
#define FK_ATTENTION_H

#include <stddef.h>

#include "fk_common.h"

/* Portable C written to vectorise (kernels.c, built per ISA by FK_CLONES): the keys transposed,
 * scores as vector multiply-adds over whole vectors of keys. Faster than fk_attention_head from
 * about 32 keys. kt: head_dim · len16 floats, scores: len16 (len16 = len rounded up to 16). */
FK_HIDDEN void fk_attention_head_vector(const float *q, const float *k, const float *v, size_t ld_qkv,
                                        float *out, size_t ld_out, size_t len, size_t n_query, size_t head_dim,
                                        float scale, float *scores, float *kt);

#endif
