/// The deterministic generator shared with `tools/prng.py`: the same weights come out of the
/// Swift tests and the Python golden generator, so random checkpoints never need committing.
struct SplitMix64 {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func next() -> UInt64 {
        state = state &+ 0x9E37_79B9_7F4A_7C15
        return Self.mix(state)
    }

    /// Uniform in [0, 1) with 24 random bits, exactly representable in Float.
    mutating func unit() -> Float { Float(next() >> 40) * 0x1p-24 }

    mutating func uniform(_ low: Float, _ high: Float) -> Float { low + (high - low) * unit() }
}

/// Weights by tensor name, as `tools/prng.py` defines them: seed = FNV-1a-64(name); element i
/// uses mix(seed + (i+1)·γ); LayerNorm weights are 1 ± 0.1, everything else ± 0.08.
enum DeterministicWeights {
    static func fnv1a64(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in text.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        return hash
    }

    static func values(name: String, count: Int) -> [Float] {
        let seed = fnv1a64(name)
        let isNormWeight = name.hasSuffix("LayerNorm.weight") || name.hasSuffix("layer_norm.weight")
        return (0..<count).map { i in
            let z = SplitMix64.mix(seed &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15)
            let u = Double(Float(z >> 40) * 0x1p-24)
            return isNormWeight ? Float(1.0 + (2.0 * u - 1.0) * 0.1) : Float((2.0 * u - 1.0) * 0.08)
        }
    }
}
