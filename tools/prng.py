"""Deterministic weight generator shared by the Python golden scripts and the Swift tests.

Random test checkpoints are never committed. Both `tools/make_goldens.py` and the Swift test suite
regenerate bit-identical fp32 weights from the definition below, so only small inputs and expected
outputs live in the repository (`Tests/FrontierTests/Golden/`).

Definition (all integer arithmetic is on unsigned 64-bit integers, wrapping mod 2^64):

    seed(name) = FNV-1a 64 over the UTF-8 bytes of the tensor name:
                     h = 0xcbf29ce484222325
                     for each byte b: h = (h XOR b) * 0x100000001b3      (mod 2^64)
                 e.g. seed("") = 0xcbf29ce484222325, seed("a") = 0xaf63dc4c8601ec8c

    For element i (0-based flat index of the tensor in row-major / C order):
        z = seed + (i + 1) * 0x9E3779B97F4A7C15            (mod 2^64)
        z = (z XOR (z >> 30)) * 0xBF58476D1CE4E5B9          (mod 2^64)
        z = (z XOR (z >> 27)) * 0x94D049BB133111EB          (mod 2^64)
        z =  z XOR (z >> 31)
        u = Double(z >> 40) * 2^-24                         (top 24 bits; u in [0, 1), exact in
                                                            both Float32 and Float64)

    Value (computed in Float64 from u, then rounded once to Float32, round-to-nearest-even):
        if name ends with "LayerNorm.weight" or "layer_norm.weight":
            v = Float32(1.0 + (2.0 * u - 1.0) * 0.1)
        else:
            v = Float32((2.0 * u - 1.0) * 0.08)

    In Swift: `Float(1.0 + (2.0 * u - 1.0) * 0.1)` / `Float((2.0 * u - 1.0) * 0.08)` with
    `let u = Double(z >> 40) * 0x1p-24` gives the same bits (the Double expression is evaluated left
    to right exactly as written: t = 2.0*u (exact), t - 1.0 (exact), times 0.1 or 0.08 (one rounding),
    1.0 + ... (one rounding), then one rounding to Float).

The z sequence is SplitMix64 with state seed, i.e. element i is the (i+1)-th SplitMix64 output.

Which tensors: every key of `model.state_dict()` (HF transformers), in its order, except buffers that
are not weights (`*.position_ids`, `*.token_type_ids` buffers). Biases, LayerNorm biases, classifier
weights: all drawn from this generator with the "else" rule above.

Self-check vectors are in `reference_values()` / `python tools/prng.py`.
"""

from __future__ import annotations

import numpy as np

FNV_OFFSET = 0xCBF29CE484222325
FNV_PRIME = 0x100000001B3
GOLDEN_GAMMA = 0x9E3779B97F4A7C15
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
MASK64 = (1 << 64) - 1

LAYERNORM_SUFFIXES = ("LayerNorm.weight", "layer_norm.weight")


def fnv1a64(name: str) -> int:
    """FNV-1a 64-bit hash of the UTF-8 bytes of `name`, as a Python int in [0, 2^64)."""
    h = FNV_OFFSET
    for b in name.encode("utf-8"):
        h ^= b
        h = (h * FNV_PRIME) & MASK64
    return h


def uniform24(seed: int, count: int) -> np.ndarray:
    """u_i for i in [0, count) as float64 (each exactly k * 2^-24 for an integer k < 2^24)."""
    with np.errstate(over="ignore"):
        i1 = np.arange(1, count + 1, dtype=np.uint64)
        z = np.uint64(seed) + i1 * np.uint64(GOLDEN_GAMMA)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(MIX1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(MIX2)
        z = z ^ (z >> np.uint64(31))
    top = (z >> np.uint64(40)).astype(np.int64)  # < 2^24, exact
    assert top.dtype == np.int64
    return top.astype(np.float64) * (2.0 ** -24)


def is_layernorm_weight(name: str) -> bool:
    return name.endswith(LAYERNORM_SUFFIXES)


def tensor_values(name: str, shape) -> np.ndarray:
    """The float32 tensor of the given shape for tensor `name` (row-major)."""
    shape = tuple(int(s) for s in shape)
    count = int(np.prod(shape, dtype=np.int64)) if shape else 1
    u = uniform24(fnv1a64(name), count)
    if is_layernorm_weight(name):
        v = 1.0 + (2.0 * u - 1.0) * 0.1
    else:
        v = (2.0 * u - 1.0) * 0.08
    return v.astype(np.float32).reshape(shape)


def _scalar_reference(name: str, i: int) -> np.float32:
    """Pure-Python (no numpy uint64) evaluation of element i, used to cross-check `tensor_values`."""
    z = (fnv1a64(name) + (i + 1) * GOLDEN_GAMMA) & MASK64
    z = ((z ^ (z >> 30)) * MIX1) & MASK64
    z = ((z ^ (z >> 27)) * MIX2) & MASK64
    z = z ^ (z >> 31)
    u = float(z >> 40) * 2.0 ** -24
    if is_layernorm_weight(name):
        return np.float32(1.0 + (2.0 * u - 1.0) * 0.1)
    return np.float32((2.0 * u - 1.0) * 0.08)


def reference_values():
    """A few (name, seed, index, float32 value, float32 bits) tuples to mirror in the Swift tests."""
    out = []
    for name in ("bert.embeddings.word_embeddings.weight",
                 "bert.embeddings.LayerNorm.weight",
                 "classifier.bias"):
        seed = fnv1a64(name)
        vals = tensor_values(name, (8,))
        for i in (0, 1, 7):
            v = vals[i]
            assert v == _scalar_reference(name, i)
            out.append({"name": name, "seed": f"0x{seed:016x}", "index": i,
                        "value": float(v), "bits": f"0x{int(v.view(np.uint32)):08x}"})
    return out


def self_check() -> None:
    assert fnv1a64("") == 0xCBF29CE484222325
    assert fnv1a64("a") == 0xAF63DC4C8601EC8C
    for name in ("x", "encoder.layer.0.attention.output.LayerNorm.weight", "distilbert.transformer.layer.3.sa_layer_norm.weight"):
        vals = tensor_values(name, (257,))
        for i in (0, 1, 100, 256):
            assert vals[i] == _scalar_reference(name, i), (name, i)


if __name__ == "__main__":
    import json
    self_check()
    print(json.dumps(reference_values(), indent=1))
