import CKernels
import Foundation
import Testing


/// Every fast kernel against a slow, obvious reference (llm.c's habit).
@Suite struct KernelTests {
    @Test func erfMatchesLibm() {
        let xs = stride(from: -6.0 as Float, through: 6.0, by: 0.001).map { $0 }
        var ys = [Float](repeating: 0, count: xs.count)
        fk_erf(xs, &ys, xs.count)
        let worst = zip(xs, ys).map { abs(Double($1) - erf(Double($0))) }.max() ?? 0
        #expect(worst < 5e-7, "max |erf error| \(worst)")
    }

    @Test func expMatchesLibm() {
        let xs = stride(from: -87.0 as Float, through: 88.0, by: 0.01).map { $0 }
        var ys = [Float](repeating: 0, count: xs.count)
        fk_exp(xs, &ys, xs.count)
        let worst = zip(xs, ys).map { abs(Double($1) - exp(Double($0))) / exp(Double($0)) }.max() ?? 0
        #expect(worst < 5e-7, "max relative exp error \(worst)")
        var tiny: [Float] = [-100, -1000, -.infinity]
        fk_exp(tiny, &tiny, 3)
        #expect(tiny == [0, 0, 0])
    }

    @Test func biasGeluIsExactErfGelu() {
        var rng = SplitMix64(seed: 1)
        let rows = 3, cols = 37
        let x = (0..<(rows * cols)).map { _ in rng.uniform(-5, 5) }
        let bias = (0..<cols).map { _ in rng.uniform(-1, 1) }
        var y = x
        fk_bias_gelu(&y, bias, rows, cols)
        for r in 0..<rows {
            for c in 0..<cols {
                let v = Double(x[r * cols + c] + bias[c])
                let expected = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
                #expect(abs(Double(y[r * cols + c]) - expected) < 2e-6)
            }
        }
    }

    @Test func residualLayerNormMatchesReference() {
        var rng = SplitMix64(seed: 2)
        let rows = 4, cols = 65
        let y0 = (0..<(rows * cols)).map { _ in rng.uniform(-3, 3) }
        let residual = (0..<(rows * cols)).map { _ in rng.uniform(-3, 3) }
        let bias = (0..<cols).map { _ in rng.uniform(-1, 1) }
        let gamma = (0..<cols).map { _ in rng.uniform(0.5, 1.5) }
        let beta = (0..<cols).map { _ in rng.uniform(-0.5, 0.5) }
        var y = y0
        fk_bias_residual_layernorm(&y, bias, residual, gamma, beta, rows, cols, 1e-12)
        for r in 0..<rows {
            let v = (0..<cols).map { Double(y0[r * cols + $0] + bias[$0] + residual[r * cols + $0]) }
            let mean = v.reduce(0, +) / Double(cols)
            let variance = v.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(cols)
            for c in 0..<cols {
                let expected = (v[c] - mean) / (variance + 1e-12).squareRoot() * Double(gamma[c]) + Double(beta[c])
                #expect(abs(Double(y[r * cols + c]) - expected) < 1e-5)
            }
        }
    }

    /// The blocked kernel against the plain one (its reference) on odd shapes: lengths past a
    /// vector's width and BERT's head widths (32, 64, which keep their sums in registers) beside
    /// odd ones, every query row and the [CLS] row alone.
    @Test(arguments: [1, 2, 17, 130, 384])
    func blockedAttentionHeadMatchesThePlainOne(length: Int) {
        defer { fk_attention_force_isa(-1) }
        for (level, headDim) in [3, 2, 1].flatMap({ level in [5, 32, 48, 64, 80].map { (Int32(level), $0) } }) {
            fk_attention_force_isa(level)
            var rng = SplitMix64(seed: UInt64(length * 100 + headDim))
            let ld = 3 * headDim + 7
            let qkv = (0..<(length * ld)).map { _ in rng.uniform(-3, 3) }
            let scale = 1 / Float(headDim).squareRoot()
            for nQuery in Set([1, length]) {
                var expected = [Float](repeating: .nan, count: nQuery * headDim)
                var got = [Float](repeating: .nan, count: nQuery * headDim)
                let length16 = (length + 15) / 16 * 16
                var scratch = [Float](repeating: 0, count: 8 * length16)
                var kt = [Float](repeating: .nan, count: headDim * length16)
                qkv.withUnsafeBufferPointer { p in
                    let q = p.baseAddress!
                    fk_attention_head(q, q + headDim, q + 2 * headDim, ld, &expected, headDim, length, nQuery, headDim, scale, &scratch)
                    fk_attention_head_blocked(q, q + headDim, q + 2 * headDim, ld, &got, headDim, length, nQuery, headDim, scale,
                                              &scratch, &kt)
                }
                let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(worst < 2e-5, "\(String(cString: fk_attention_isa())) (level \(level)): length \(length), head_dim \(headDim), \(nQuery) query rows: max difference \(worst)")
            }
        }
    }

    @Test(arguments: [1, 2, 7, 33, 130])
    func attentionHeadMatchesNaiveSoftmax(length: Int) {
        var rng = SplitMix64(seed: UInt64(length))
        let d = 16, ld = 3 * d * 2  // two heads' worth of q|k|v, use the first
        let qkv = (0..<(length * ld)).map { _ in rng.uniform(-2, 2) }
        var out = [Float](repeating: 0, count: length * d)
        var scratch = [Float](repeating: 0, count: length)
        let scale = 1 / Float(d).squareRoot()
        qkv.withUnsafeBufferPointer { p in
            let q = p.baseAddress!
            fk_attention_head(q, q + d, q + 2 * d, ld, &out, d, length, length, d, scale, &scratch)
        }
        for i in 0..<length {
            let scores = (0..<length).map { j in
                (0..<d).reduce(0.0) { $0 + Double(qkv[i * ld + $1]) * Double(qkv[j * ld + d + $1]) } * Double(scale)
            }
            let m = scores.max()!
            let e = scores.map { exp($0 - m) }
            let sum = e.reduce(0, +)
            for k in 0..<d {
                let expected = (0..<length).reduce(0.0) { $0 + e[$1] / sum * Double(qkv[$1 * ld + 2 * d + k]) }
                #expect(abs(Double(out[i * d + k]) - expected) < 1e-5)
            }
        }
    }
}
