/*
 * SHA-256 compression with the x86 SHA extensions (SHA-NI), for FrontierSupport's SHA256.
 *
 * The portable compression stays in Swift (SHA256.swift); this target only holds what Swift
 * cannot express: the sha256rnds2 / sha256msg1 / sha256msg2 instructions, behind a run-time
 * CPUID check, so one binary runs on any x86-64. A target of its own, not CKernels, so that
 * FrontierSupport (on which everything stands) does not link the engine's kernels.
 */
#ifndef FRONTIER_SHA256_H
#define FRONTIER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this CPU has the SHA extensions and SSE4.1 (checked once per process), else 0;
 * always 0 off x86-64. */
int fsha256_has_extensions(void);

/* Compresses `blocks` 64-byte blocks of `data` into `state` (the eight working words a..h as
 * FIPS 180-4 numbers them, host order). Only call when fsha256_has_extensions() is 1. */
void fsha256_compress_extensions(uint32_t state[8], const uint8_t *data, size_t blocks);

#ifdef __cplusplus
}
#endif

#endif
