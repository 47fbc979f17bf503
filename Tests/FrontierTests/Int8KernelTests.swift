import CKernels
import Foundation
import Testing
@testable import FrontierEngine


/// `fk_linear_int8` (AVX-512 VNNI, AVX2 and portable paths) against a slow Swift reference that
/// quantizes by the header's rule and takes integer dot products, and against fp32 within the
/// quantization error bound.
@Suite(.serialized) struct Int8KernelTests {
    /// (n, k): odd sizes, a partial 16-column panel and a partial 4-panel VNNI group, k not a
    /// multiple of 4 or 64; and a MiniLM-like width.
    static let widths: [(n: Int, k: Int)] = [(37, 53), (130, 385), (48, 384)]
    static let rowCounts = [1, 5, 33, 200]

    // MARK: Reference

    /// Symmetric quantization of one row: s = amax / 127, q = rint(x · 127 / amax), ±127.
    static func quantize(_ x: ArraySlice<Float>) -> (q: [Int32], scale: Float) {
        let amax = x.reduce(Float(0)) { max($0, abs($1)) }
        let inv: Float = 127 / amax
        guard amax > 0, inv.isFinite else { return ([Int32](repeating: 0, count: x.count), 0) }
        let q = x.map { Int32(min(max(($0 * inv).rounded(.toNearestOrEven), -127), 127)) }
        return (q, amax / 127)
    }

    static func quantizeRows(_ x: [Float], rows: Int, cols: Int) -> (q: [Int32], scales: [Float]) {
        var q: [Int32] = [], scales: [Float] = []
        for r in 0..<rows {
            let (qr, s) = quantize(x[(r * cols)..<(r * cols + cols)])
            q += qr
            scales.append(s)
        }
        return (q, scales)
    }

    static func gelu(_ v: Float) -> Float { Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }

    /// Integer reference: output values and, per element, the magnitude of the float terms
    /// (dequantized product and bias) that rounding differences scale with.
    static func integerReference(_ a: [Float], _ w: [Float], _ bias: [Float], m: Int, n: Int, k: Int,
                                 epilogue: Int32) -> (c: [Float], magnitude: [Float]) {
        let qa = quantizeRows(a, rows: m, cols: k), qw = quantizeRows(w, rows: n, cols: k)
        var c = [Float](repeating: 0, count: m * n), magnitude = c
        for r in 0..<m {
            for j in 0..<n {
                var acc: Int32 = 0
                for kk in 0..<k { acc += qa.q[r * k + kk] * qw.q[j * k + kk] }
                var v = Float(acc) * (qa.scales[r] * qw.scales[j])
                magnitude[r * n + j] = abs(v) + (epilogue >= 1 ? abs(bias[j]) : 0)
                if epilogue >= 1 { v += bias[j] }
                if epilogue == 2 { v = gelu(v) }
                c[r * n + j] = v
            }
        }
        return (c, magnitude)
    }

    /// fp32 (in Double) reference, and the per-element bound on int8's error against it:
    /// with a = s_a·q_a + e_a, |e_a| ≤ s_a / 2 (and the same for w),
    /// |a·w − s_a q_a · s_w q_w| ≤ |a|·s_w/2 + |w|·s_a/2 + s_a·s_w/4 per term, summed over k;
    /// GELU is 1.13-Lipschitz, bias adds nothing.
    static func floatReference(_ a: [Float], _ w: [Float], _ bias: [Float], m: Int, n: Int, k: Int,
                               epilogue: Int32) -> (c: [Double], bound: [Double]) {
        let sa = quantizeRows(a, rows: m, cols: k).scales.map(Double.init)
        let sw = quantizeRows(w, rows: n, cols: k).scales.map(Double.init)
        var c = [Double](repeating: 0, count: m * n), bound = c
        for r in 0..<m {
            for j in 0..<n {
                var dot = 0.0, err = 0.0
                for kk in 0..<k {
                    let x = Double(a[r * k + kk]), y = Double(w[j * k + kk])
                    dot += x * y
                    err += abs(x) * sw[j] / 2 + abs(y) * sa[r] / 2 + sa[r] * sw[j] / 4
                }
                if epilogue >= 1 { dot += Double(bias[j]) }
                if epilogue == 2 {
                    dot = 0.5 * dot * (1 + erf(dot / 2.0.squareRoot()))
                    err *= 1.13
                }
                c[r * n + j] = dot
                bound[r * n + j] = err
            }
        }
        return (c, bound)
    }

    // MARK: Data

    /// Activations whose rows differ in magnitude by 100×, as BERT's tokens do, so per-row
    /// scales matter.
    static func activations(m: Int, k: Int, rng: inout SplitMix64) -> [Float] {
        (0..<(m * k)).map { i in rng.uniform(-1, 1) * [0.1, 1, 10][(i / k) % 3] }
    }

    static func run(_ weight: QuantizedWeight, _ a: [Float], _ bias: [Float], m: Int, epilogue: Int32,
                    workspace: Workspace) -> [Float] {
        var c = [Float](repeating: .nan, count: m * weight.outFeatures)
        a.withUnsafeBufferPointer { a in
            bias.withUnsafeBufferPointer { bias in
                weight.apply(a.baseAddress!, rows: m, lda: weight.inFeatures, bias: bias.baseAddress, into: &c,
                             ldc: weight.outFeatures, epilogue: epilogue, workspace: workspace)
            }
        }
        return c
    }

    // MARK: Tests

    @Test func weightQuantizationIsPerOutputChannel() {
        var rng = SplitMix64(seed: 1)
        let n = 37, k = 53
        var w = (0..<(n * k)).map { _ in rng.uniform(-0.2, 0.2) }
        for kk in 0..<k { w[5 * k + kk] = 0; w[6 * k + kk] = 1e-41 }  // a zero and a denormal row
        let weight = QuantizedWeight(weight: Tensor(shape: [n, k], values: w))
        let expected = Self.quantizeRows(w, rows: n, cols: k)
        #expect(weight.scales == expected.scales)
        #expect(weight.scales[5] == 0 && weight.scales[6] == 0)
        for j in 0..<n {
            #expect(weight.quantizedRow(j).map(Int32.init) == Array(expected.q[(j * k)..<(j * k + k)]), "row \(j)")
        }
        // int8 panels plus two floats per (padded) column: about a quarter of fp32.
        #expect(weight.bytes < n * k * 4 / 3 + 1024)
    }

    @Test(arguments: [Int32(0), 1, 2])
    func activationQuantizationMatchesReference(isa: Int32) {
        fk_int8_force_isa(isa)
        defer { fk_int8_force_isa(-1) }
        var rng = SplitMix64(seed: 2)
        let m = 6, k = 53
        var a = Self.activations(m: m, k: k, rng: &rng)
        for kk in 0..<k { a[2 * k + kk] = 0; a[4 * k + kk] = -1e-40 }
        var q = [Int8](repeating: 99, count: m * k), scales = [Float](repeating: .nan, count: m)
        fk_int8_quantize_rows(a, k, m, k, &q, k, &scales)
        let expected = Self.quantizeRows(a, rows: m, cols: k)
        #expect(scales == expected.scales, "\(QuantizedWeight.isa)")
        #expect(q.map(Int32.init) == expected.q, "\(QuantizedWeight.isa)")
    }

    /// Every path computes the same int32 sums as the reference, so results agree to float
    /// rounding (the kernels may fuse the dequantizing multiply with the bias add, and GELU's
    /// erf is a rational approximation good to 2e-7).
    @Test(arguments: [Int32(0), 1, 2], [Int32(0), 1, 2])
    func kernelMatchesIntegerReference(isa: Int32, epilogue: Int32) {
        fk_int8_force_isa(isa)
        defer { fk_int8_force_isa(-1) }
        let workspaces = [Workspace(threads: 1), Workspace(threads: 2)]
        var rng = SplitMix64(seed: 3)
        for (n, k) in Self.widths {
            let w = (0..<(n * k)).map { _ in rng.uniform(-0.1, 0.1) }
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            let weight = QuantizedWeight(weight: Tensor(shape: [n, k], values: w))
            for m in Self.rowCounts {
                let a = Self.activations(m: m, k: k, rng: &rng)
                let expected = Self.integerReference(a, w, bias, m: m, n: n, k: k, epilogue: epilogue)
                for workspace in workspaces {
                    let got = Self.run(weight, a, bias, m: m, epilogue: epilogue, workspace: workspace)
                    var worst: Float = 0, at = 0
                    for i in got.indices {
                        let excess = abs(got[i] - expected.c[i]) / (1e-5 * (abs(expected.c[i]) + expected.magnitude[i]) + 1e-6)
                        if !(excess <= worst) { worst = excess; at = i }
                    }
                    #expect(worst <= 1, "\(QuantizedWeight.isa) m=\(m) n=\(n) k=\(k) threads=\(workspace.threads): element \(at) is \(got[at]), reference \(expected.c[at])")
                }
            }
        }
    }

    @Test(arguments: [Int32(0), 1, 2])
    func int8IsWithinQuantizationErrorOfFp32(epilogue: Int32) {
        let workspace = Workspace(threads: 2)
        var rng = SplitMix64(seed: 4)
        for (n, k) in Self.widths {
            let w = (0..<(n * k)).map { _ in rng.uniform(-0.1, 0.1) }
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            let weight = QuantizedWeight(weight: Tensor(shape: [n, k], values: w))
            for m in [5, 33] {
                let a = Self.activations(m: m, k: k, rng: &rng)
                let exact = Self.floatReference(a, w, bias, m: m, n: n, k: k, epilogue: epilogue)
                let got = Self.run(weight, a, bias, m: m, epilogue: epilogue, workspace: workspace)
                var outside = 0, errorSquares = 0.0, signalSquares = 0.0
                for i in got.indices {
                    let error = abs(Double(got[i]) - exact.c[i])
                    if error > exact.bound[i] * 1.0001 + 1e-5 * abs(exact.c[i]) + 1e-6 { outside += 1 }
                    errorSquares += error * error
                    signalSquares += exact.c[i] * exact.c[i]
                }
                let relativeRMS = (errorSquares / signalSquares).squareRoot()
                #expect(outside == 0, "m=\(m) n=\(n) k=\(k): \(outside) elements outside the error bound")
                // Uniform data: each operand's rounding error is ~0.4 % RMS of its values.
                #expect(relativeRMS < 0.02, "m=\(m) n=\(n) k=\(k): relative RMS error \(relativeRMS)")
            }
        }
    }

    /// A row of zeros (or of values too small to scale) has scale 0: its outputs are exactly
    /// the epilogue applied to zero, never NaN. A zero weight row likewise.
    @Test(arguments: [Int32(0), 1, 2])
    func zeroRowsGiveTheBias(isa: Int32) {
        fk_int8_force_isa(isa)
        defer { fk_int8_force_isa(-1) }
        var rng = SplitMix64(seed: 5)
        let m = 7, n = 37, k = 53
        var a = Self.activations(m: m, k: k, rng: &rng)
        for kk in 0..<k { a[1 * k + kk] = 0; a[4 * k + kk] = 1e-42 }
        var w = (0..<(n * k)).map { _ in rng.uniform(-0.1, 0.1) }
        for kk in 0..<k { w[3 * k + kk] = 0 }
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        let weight = QuantizedWeight(weight: Tensor(shape: [n, k], values: w))
        let workspace = Workspace(threads: 2)
        for epilogue in [Int32(0), 1, 2] {
            let c = Self.run(weight, a, bias, m: m, epilogue: epilogue, workspace: workspace)
            #expect(c.allSatisfy { $0.isFinite }, "\(QuantizedWeight.isa) epilogue \(epilogue)")
            let expectedZero: (Int) -> Float = { j in
                epilogue == 0 ? 0 : (epilogue == 1 ? bias[j] : Self.gelu(bias[j]))
            }
            for r in [1, 4] {
                for j in 0..<n { #expect(abs(c[r * n + j] - expectedZero(j)) <= 1e-6, "row \(r) column \(j)") }
            }
            for r in 0..<m { #expect(abs(c[r * n + 3] - expectedZero(3)) <= 1e-6, "zero weight row, token \(r)") }
        }
    }

    @Test func rowStridesLeaveOtherColumnsUntouched() {
        var rng = SplitMix64(seed: 6)
        let m = 9, n = 37, k = 53, lda = 64, ldc = 48
        let a = (0..<(m * lda)).map { _ in rng.uniform(-1, 1) }
        let w = (0..<(n * k)).map { _ in rng.uniform(-0.1, 0.1) }
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        let weight = QuantizedWeight(weight: Tensor(shape: [n, k], values: w))
        var c = [Float](repeating: -7, count: m * ldc)
        a.withUnsafeBufferPointer { a in
            bias.withUnsafeBufferPointer { bias in
                weight.apply(a.baseAddress!, rows: m, lda: lda, bias: bias.baseAddress, into: &c, ldc: ldc,
                             epilogue: 1, workspace: Workspace(threads: 2))
            }
        }
        let dense = (0..<m).flatMap { r in a[(r * lda)..<(r * lda + k)] }
        let expected = Self.integerReference(dense, w, bias, m: m, n: n, k: k, epilogue: 1)
        for r in 0..<m {
            for j in 0..<n {
                #expect(abs(c[r * ldc + j] - expected.c[r * n + j]) <= 1e-5 * (expected.magnitude[r * n + j] + 1))
            }
            #expect(c[(r * ldc + n)..<(r * ldc + ldc)].allSatisfy { $0 == -7 })
        }
    }
}
