import CKernels
import Foundation
import Testing
@testable import FrontierEngine


/// `fk_linear_sparse` (AVX-512, AVX2 and portable paths) against the dense packed kernel on the
/// same masked weights and against a naive triple loop. Serialized: the ISA switch is global.
@Suite(.serialized) struct SparseKernelTests {
    /// (n, k): odd sizes, exact multiples of the 16-feature block, several k-blocks of the
    /// compressed format (128 or 192 columns each), more features than one chunk of partial
    /// sums (256), and both at once.
    static let shapes: [(n: Int, k: Int)] = [(37, 53), (16, 16), (48, 200), (300, 97), (272, 410)]
    static let rowCounts = [1, 5, 33, 200]
    static let sparsities = [0.0, 0.5, 0.9, 0.99, 1.0]

    /// Weights uniform in [-1, 1] with a `sparsity` fraction set to exactly 0 (random mask).
    static func maskedWeight(n: Int, k: Int, sparsity: Double, rng: inout SplitMix64) -> [Float] {
        (0..<(n * k)).map { _ in
            let keep = Double(rng.unit()) >= sparsity
            let value = rng.uniform(-1, 1)
            return keep ? value : 0
        }
    }

    static func tensor(_ values: [Float], _ shape: [Int]) -> Tensor {
        Tensor(shape: shape, values: values)
    }

    /// Triple loop in Double, then bias and exact-erf GELU: c is m × n, dense.
    static func naive(_ a: [Float], lda: Int, _ w: [Float], _ bias: [Float], m: Int, n: Int, k: Int,
                      epilogue: Int32) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for i in 0..<m {
            for j in 0..<n {
                var sum = 0.0
                for kk in 0..<k { sum += Double(a[i * lda + kk]) * Double(w[j * k + kk]) }
                if epilogue >= 1 { sum += Double(bias[j]) }
                if epilogue == 2 { sum = 0.5 * sum * (1 + erf(sum / 2.0.squareRoot())) }
                c[i * n + j] = Float(sum)
            }
        }
        return c
    }

    /// Worst |got − expected| / max(1, |expected|) over the m × n block of `got` (row stride ldc).
    static func worstRelative(_ got: [Float], ldc: Int, _ expected: [Float], m: Int, n: Int) -> Float {
        var worst: Float = 0
        for i in 0..<m {
            for j in 0..<n {
                let g = got[i * ldc + j], e = expected[i * n + j]
                let error = abs(g - e) / max(1, abs(e))
                worst = error.isNaN ? .infinity : max(worst, error)
            }
        }
        return worst
    }

    /// Runs `fk_linear_sparse` through `SparseWeight` into a c with padding columns set to -7.
    static func sparse(_ weight: SparseWeight, _ a: [Float], lda: Int, _ bias: [Float], m: Int, ldc: Int,
                       epilogue: Int32, workspace: Workspace) -> [Float] {
        var c = [Float](repeating: -7, count: m * ldc)
        a.withUnsafeBufferPointer { ap in
            bias.withUnsafeBufferPointer { bp in
                c.withUnsafeMutableBufferPointer { cp in
                    weight.apply(ap.baseAddress!, rows: m, lda: lda, bias: bp.baseAddress, into: cp.baseAddress!,
                                 ldc: ldc, epilogue: epilogue, workspace: workspace)
                }
            }
        }
        return c
    }

    /// The dense packed kernel of `Linear` on the same weights.
    static func dense(_ layer: Linear, _ a: [Float], lda: Int, m: Int, epilogue: Int32, workspace: Workspace) -> [Float] {
        var c = [Float](repeating: 0, count: m * layer.outFeatures)
        let packed = layer.packed!
        layer.bias.withUnsafeBufferPointer { bias in
            fk_linear_packed(workspace.pool, a, lda, packed.pointer, bias.baseAddress, &c, layer.outFeatures,
                             m, layer.outFeatures, layer.inFeatures, epilogue)
        }
        return c
    }

    @Test(arguments: [Int32(-1), 1, 0], [Int32(0), 1, 2])
    func matchesDensePackedAndNaive(isa: Int32, epilogue: Int32) throws {
        fk_sparse_force_isa(isa)
        defer { fk_sparse_force_isa(-1) }
        let workspaces = [Workspace(threads: 1), Workspace(threads: 2)]
        var rng = SplitMix64(seed: 0x5BA75E + UInt64(epilogue))
        for (n, k) in Self.shapes {
            for sparsity in Self.sparsities {
                let w = Self.maskedWeight(n: n, k: k, sparsity: sparsity, rng: &rng)
                let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
                let layer = Linear(weight: Self.tensor(w, [n, k]), bias: Self.tensor(bias, [n]))
                let weight = SparseWeight(weight: try layer.weight)
                for m in Self.rowCounts where n * k * m <= 4_000_000 {
                    // a has spare columns (lda > k) and c spare columns (ldc > n) that must survive.
                    let lda = k + 3, ldc = n + 5
                    let a = (0..<(m * lda)).map { _ in rng.uniform(-1, 1) }
                    let expected = Self.naive(a, lda: lda, w, bias, m: m, n: n, k: k, epilogue: epilogue)
                    for workspace in workspaces {
                        let got = Self.sparse(weight, a, lda: lda, bias, m: m, ldc: ldc, epilogue: epilogue, workspace: workspace)
                        let dense = Self.dense(layer, a, lda: lda, m: m, epilogue: epilogue, workspace: workspace)
                        let context = "\(SparseWeight.isa) threads=\(workspace.threads) m=\(m) n=\(n) k=\(k) sparsity=\(sparsity) epilogue=\(epilogue)"
                        let vsNaive = Self.worstRelative(got, ldc: ldc, expected, m: m, n: n)
                        let vsDense = Self.worstRelative(got, ldc: ldc, dense, m: m, n: n)
                        #expect(vsNaive < 1e-4, "\(context): vs naive \(vsNaive)")
                        #expect(vsDense < 1e-4, "\(context): vs dense packed \(vsDense)")
                        let padding = (0..<m).allSatisfy { i in got[(i * ldc + n)..<(i * ldc + ldc)].allSatisfy { $0 == -7 } }
                        #expect(padding, "\(context): wrote past n")
                    }
                }
            }
        }
    }

    /// The C reference (one dot product per output) agrees with the naive loop too, so a test
    /// that compares against it compares against something checked.
    @Test func referenceMatchesNaive() {
        var rng = SplitMix64(seed: 3)
        let m = 7, n = 37, k = 53
        let w = Self.maskedWeight(n: n, k: k, sparsity: 0.7, rng: &rng)
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let handle = fk_sparse_create(w, n, k)!
        defer { fk_sparse_destroy(handle) }
        for epilogue: Int32 in 0...2 {
            var c = [Float](repeating: 0, count: m * n)
            fk_linear_sparse_reference(a, k, handle, bias, &c, n, m, n, k, epilogue)
            let expected = Self.naive(a, lda: k, w, bias, m: m, n: n, k: k, epilogue: epilogue)
            #expect(Self.worstRelative(c, ldc: n, expected, m: m, n: n) < 1e-4)
        }
    }

    /// Rows of very different density (pruned models look like this) and a 3-thread pool whose
    /// nonzero-balanced split leaves some threads with few or no blocks.
    @Test(arguments: [Int32(-1), 0])
    func unevenRowsSplitOverThreads(isa: Int32) {
        fk_sparse_force_isa(isa)
        defer { fk_sparse_force_isa(-1) }
        var rng = SplitMix64(seed: 9)
        let m = 70, n = 90, k = 130
        var w = [Float](repeating: 0, count: n * k)
        for j in 0..<n {
            let density: Float = j < 5 ? 1 : (j % 7 == 0 ? 0.3 : 0)
            for kk in 0..<k where rng.unit() < density { w[j * k + kk] = rng.uniform(-1, 1) }
        }
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let weight = SparseWeight(weight: Self.tensor(w, [n, k]))
        let expected = Self.naive(a, lda: k, w, bias, m: m, n: n, k: k, epilogue: 2)
        for threads in [1, 3] {
            let got = Self.sparse(weight, a, lda: k, bias, m: m, ldc: n, epilogue: 2, workspace: Workspace(threads: threads))
            #expect(Self.worstRelative(got, ldc: n, expected, m: m, n: n) < 1e-4, "threads=\(threads)")
        }
    }

    /// Scratch is per thread, so concurrent callers may share one weight.
    @Test func concurrentCallersShareOneWeight() {
        var rng = SplitMix64(seed: 21)
        let m = 40, n = 50, k = 60
        let w = Self.maskedWeight(n: n, k: k, sparsity: 0.8, rng: &rng)
        let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
        let inputs = (0..<4).map { _ in (0..<(m * k)).map { _ in rng.uniform(-1, 1) } }
        let weight = SparseWeight(weight: Self.tensor(w, [n, k]))
        // Each caller writes only its own slot.
        nonisolated(unsafe) let results = UnsafeMutablePointer<Float>.allocate(capacity: 4)
        defer { results.deallocate() }
        DispatchQueue.concurrentPerform(iterations: 4) { index in
            let workspace = Workspace(threads: 1)
            var worst: Float = 0
            for _ in 0..<20 {
                let got = Self.sparse(weight, inputs[index], lda: k, bias, m: m, ldc: n, epilogue: 1, workspace: workspace)
                let expected = Self.naive(inputs[index], lda: k, w, bias, m: m, n: n, k: k, epilogue: 1)
                worst = max(worst, Self.worstRelative(got, ldc: n, expected, m: m, n: n))
            }
            results[index] = worst
        }
        for index in 0..<4 { #expect(results[index] < 1e-4, "caller \(index)") }
    }

    @Test func countsNonZerosAndBytes() {
        // -0 is a pruned weight too; NaN is not zero and is kept.
        let w: [Float] = [0, 1, -0.0, 2,
                          0, 0, 0, 0,
                          3, .nan, 0, -4]
        let weight = SparseWeight(weight: Self.tensor(w, [3, 4]))
        #expect(weight.outFeatures == 3 && weight.inFeatures == 4)
        #expect(weight.nonZeros == 5)
        #expect(abs(weight.density - 5.0 / 12.0) < 1e-12)
        // At least the values and 16-bit indices, and less than the dense weight plus bookkeeping.
        #expect(weight.bytes >= 5 * 6)
        let big = SparseWeight(weight: Self.tensor([Float](repeating: 0, count: 384 * 1536), [384, 1536]))
        #expect(big.nonZeros == 0 && big.density == 0)
        #expect(big.bytes < 384 * 1536)
    }

    @Test func forcingTheIsaIsReported() {
        fk_sparse_force_isa(0)
        #expect(SparseWeight.isa == "generic")
        fk_sparse_force_isa(-1)
        #expect(["avx512", "avx2", "generic"].contains(SparseWeight.isa))
    }
}
