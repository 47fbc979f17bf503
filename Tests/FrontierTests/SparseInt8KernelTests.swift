import CKernels
import Foundation
import Testing
@testable import FrontierEngine


/// `fk_linear_sparse_int8` (AVX-512 VNNI and portable paths) against the integer reference of
/// the int8 tests (the header's quantization rule, integer dot products), against its own C
/// reference bit for bit, and against the dense int8 kernel on the same pruned weights.
/// Serialized: the ISA switch is global.
@Suite(.serialized) struct SparseInt8KernelTests {
    /// (n, k): odd sizes, an exact 16-feature block, k over several 384-column k-blocks (1601),
    /// more features than one 256-feature chunk of partial sums, and both.
    static let shapes: [(n: Int, k: Int)] = [(37, 53), (16, 16), (300, 97), (272, 410), (40, 1601)]
    /// One row (the scalar path), 32-row tiles (up to 32 rows, and a last tile of 1 or 8 rows),
    /// partial and full 64-row tiles, and several tiles.
    static let rowCounts = [1, 2, 25, 32, 33, 63, 64, 65, 200]
    static let sparsities = [0.0, 0.5, 0.9, 0.99, 1.0]

    /// Weights uniform in ±0.1 with a `sparsity` fraction exactly 0, row 2 pruned entirely.
    static func weight(n: Int, k: Int, sparsity: Double, rng: inout SplitMix64) -> [Float] {
        var w = (0..<(n * k)).map { _ in Double(rng.unit()) >= sparsity ? rng.uniform(-0.1, 0.1) : 0 }
        if n > 2 { for kk in 0..<k { w[2 * k + kk] = 0 } }
        return w
    }

    /// Activations as the int8 tests make them (rows 100× apart), row 1 all zeros.
    static func activations(m: Int, k: Int, rng: inout SplitMix64) -> [Float] {
        var a = Int8KernelTests.activations(m: m, k: k, rng: &rng)
        if m > 1 { for kk in 0..<k { a[k + kk] = 0 } }
        return a
    }

    static func run(_ weight: SparseQuantizedWeight, _ a: [Float], _ bias: [Float], m: Int, epilogue: Int32,
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

    /// Every path sums the same integers as the reference, so results agree to float rounding
    /// (the Swift reference may round its dequantization differently; GELU's erf is a rational
    /// approximation good to 2e-7).
    @Test(arguments: [Int32(0), 2])
    func kernelMatchesTheIntegerReference(isa: Int32) {
        fk_sparse_int8_force_isa(isa)
        defer { fk_sparse_int8_force_isa(-1) }
        let workspaces = [Workspace(threads: 1), Workspace(threads: 2)]
        var rng = SplitMix64(seed: 11)
        for (n, k) in Self.shapes {
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            for sparsity in Self.sparsities {
                let w = Self.weight(n: n, k: k, sparsity: sparsity, rng: &rng)
                let weight = SparseQuantizedWeight(weight: Tensor(shape: [n, k], values: w))
                for m in Self.rowCounts {
                    let a = Self.activations(m: m, k: k, rng: &rng)
                    for epilogue in [Int32(0), 1, 2] {
                        let expected = Int8KernelTests.integerReference(a, w, bias, m: m, n: n, k: k, epilogue: epilogue)
                        for workspace in workspaces {
                            let got = Self.run(weight, a, bias, m: m, epilogue: epilogue, workspace: workspace)
                            var worst: Float = 0, at = 0
                            for i in got.indices {
                                let excess = abs(got[i] - expected.c[i]) / (1e-5 * (abs(expected.c[i]) + expected.magnitude[i]) + 1e-6)
                                if !(excess <= worst) { worst = excess; at = i }
                            }
                            guard worst <= 1 else {
                                Issue.record("\(SparseQuantizedWeight.isa) n=\(n) k=\(k) sparsity=\(sparsity) m=\(m) epilogue=\(epilogue) threads=\(workspace.threads): element \(at) is \(got[at]), reference \(expected.c[at])")
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    /// The vector kernel and the C reference do the same float operations on the same integers:
    /// every output is identical.
    @Test(.enabled(if: SparseQuantizedWeight.isAccelerated, "this CPU has no AVX-512 VNNI: only the portable path runs here"))
    func vnniKernelEqualsItsReferenceBitForBit() {
        var rng = SplitMix64(seed: 12)
        var compared = 0
        for (n, k) in Self.shapes {
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            let w = Self.weight(n: n, k: k, sparsity: 0.9, rng: &rng)
            let weight = SparseQuantizedWeight(weight: Tensor(shape: [n, k], values: w))
            for m in Self.rowCounts {
                let a = Self.activations(m: m, k: k, rng: &rng)
                for epilogue in [Int32(0), 1, 2] {
                    var expected = [Float](repeating: .nan, count: m * n)
                    let handle = fk_sparse_q_create(w, n, k)!
                    defer { fk_sparse_q_destroy(handle) }
                    fk_linear_sparse_int8_reference(a, k, handle, bias, &expected, n, m, n, k, epilogue)
                    let got = Self.run(weight, a, bias, m: m, epilogue: epilogue, workspace: Workspace(threads: 2))
                    for i in got.indices where got[i] != expected[i] {
                        Issue.record("n=\(n) k=\(k) m=\(m) epilogue=\(epilogue): element \(i) is \(got[i]), reference \(expected[i])")
                        return
                    }
                    compared += got.count
                }
            }
        }
        #expect(compared > 100_000)
    }

    /// The same quantization rule as `QuantizedWeight`, so a pruned layer gives the dense int8
    /// kernel's results on the sparse one: the scales are equal and the outputs agree to float
    /// rounding; and the stored weights are the nonzero int8 values.
    @Test func agreesWithTheDenseInt8KernelOnPrunedWeights() {
        var rng = SplitMix64(seed: 13)
        let (n, k, m) = (272, 410, 70)
        let w = Self.weight(n: n, k: k, sparsity: 0.9, rng: &rng)
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        let a = Self.activations(m: m, k: k, rng: &rng)
        let tensor = Tensor(shape: [n, k], values: w)
        let sparse = SparseQuantizedWeight(weight: tensor), dense = QuantizedWeight(weight: tensor)
        #expect(sparse.scales == dense.scales)
        let quantized = Int8KernelTests.quantizeRows(w, rows: n, cols: k).q
        #expect(sparse.nonZeros == quantized.filter { $0 != 0 }.count)
        #expect(sparse.nonZeros < w.filter { $0 != 0 }.count + 1)
        #expect(sparse.bytes < dense.bytes / 2, "\(sparse.bytes) bytes at 90 % sparsity against \(dense.bytes) dense")
        let workspace = Workspace(threads: 2)
        for epilogue in [Int32(0), 1, 2] {
            let x = Self.run(sparse, a, bias, m: m, epilogue: epilogue, workspace: workspace)
            let y = Int8KernelTests.run(dense, a, bias, m: m, epilogue: epilogue, workspace: workspace)
            for i in x.indices where !(abs(x[i] - y[i]) <= 1e-5 * max(1, abs(y[i]))) {
                Issue.record("epilogue \(epilogue): element \(i) is \(x[i]) sparse, \(y[i]) dense")
                return
            }
        }
    }
}
