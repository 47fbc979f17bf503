import CKernels
import Foundation
import Testing
@testable import FrontierEngine

/// The fused feed-forward kernels (`fk_ffn_sparse`, `fk_ffn_sparse_int8`, through
/// `Linear.feedForward`) against the two calls they replace, bit for bit: the block's contract is
/// that only the time changes. Row counts cover the fused path (whole row tiles per thread: any
/// count on one thread, at least two tiles per thread on two) and the two-call fallback (one
/// row; one or two tiles on two threads), tiles of at most 32 rows, partial 64-row tiles and
/// several tiles. Serialized: the ISA switches are global.
@Suite(.serialized) struct FeedForwardKernelTests {
    /// (n1, k1, n2): odd sizes; an intermediate wider than one 256-feature chunk of sums; one
    /// wider than a 384-column k-block of the int8 kernel (so the second product walks several).
    static let shapes: [(n1: Int, k1: Int, n2: Int)] = [(37, 53, 21), (272, 96, 40), (800, 64, 48)]
    static let rowCounts = [1, 2, 31, 33, 64, 65, 200, 300]

    struct Block {
        let up: Linear
        let down: Linear
        var k1: Int { up.inFeatures }
        var n1: Int { up.outFeatures }
        var n2: Int { down.outFeatures }
    }

    /// A block at `sparsity` with an intermediate feature pruned entirely (row 2 of the first
    /// weight) and an input column unused by every feature (column 1 of the second).
    static func block(_ shape: (n1: Int, k1: Int, n2: Int), sparsity: Double, form: LinearForm, rng: inout SplitMix64) -> Block {
        func weight(_ n: Int, _ k: Int) -> [Float] {
            (0..<(n * k)).map { _ in Double(rng.unit()) >= sparsity ? rng.uniform(-0.3, 0.3) : 0 }
        }
        var w1 = weight(shape.n1, shape.k1), w2 = weight(shape.n2, shape.n1)
        for kk in 0..<shape.k1 { w1[2 * shape.k1 + kk] = 0 }
        for j in 0..<shape.n2 { w2[j * shape.n1 + 1] = 0 }
        let b1 = (0..<shape.n1).map { _ in rng.uniform(-0.5, 0.5) }, b2 = (0..<shape.n2).map { _ in rng.uniform(-0.5, 0.5) }
        return Block(up: Linear(weight: Tensor(shape: [shape.n1, shape.k1], values: w1), bias: Tensor(shape: [shape.n1], values: b1), form: form),
                     down: Linear(weight: Tensor(shape: [shape.n2, shape.n1], values: w2), bias: Tensor(shape: [shape.n2], values: b2), form: form))
    }

    /// Rows of unit-scale activations, row 1 all zeros, row 0 a thousand times larger (the int8
    /// row scales differ).
    static func activations(m: Int, k: Int, rng: inout SplitMix64) -> [Float] {
        var a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        for kk in 0..<k { a[kk] *= 1000 }
        if m > 1 { for kk in 0..<k { a[k + kk] = 0 } }
        return a
    }

    /// (fused, two calls) outputs of the block over `a`.
    static func outputs(_ block: Block, _ a: [Float], m: Int, workspace: Workspace) -> (fused: [Float], separate: [Float]) {
        var fused = [Float](repeating: .nan, count: m * block.n2), separate = fused
        var hidden = [Float](repeating: .nan, count: m * block.n1)
        a.withUnsafeBufferPointer { a in
            let flops = Linear.feedForward(up: block.up, down: block.down, a.baseAddress!, rows: m, lda: block.k1, hidden: &hidden,
                                           ldh: block.n1, into: &fused, ldc: block.n2, workspace: workspace, gemm: .packed)
            let expectedFlops = 2 * Double(m) * Double(block.up.multiplyAddsPerRow + block.down.multiplyAddsPerRow)
            #expect(flops == expectedFlops)
            block.up.apply(a.baseAddress!, rows: m, lda: block.k1, into: &hidden, ldc: block.n1, epilogue: .biasGelu,
                           workspace: workspace, gemm: .packed)
            block.down.apply(hidden, rows: m, lda: block.n1, into: &separate, ldc: block.n2, epilogue: .bias,
                             workspace: workspace, gemm: .packed)
        }
        return (fused, separate)
    }

    static func check(form: LinearForm, label: String) {
        let workspaces = [Workspace(threads: 1), Workspace(threads: 2)]
        var rng = SplitMix64(seed: 29)
        for shape in shapes {
            for sparsity in [0.5, 0.9] {
                let block = Self.block(shape, sparsity: sparsity, form: form, rng: &rng)
                for m in rowCounts {
                    let a = activations(m: m, k: shape.k1, rng: &rng)
                    for workspace in workspaces {
                        let (fused, separate) = outputs(block, a, m: m, workspace: workspace)
                        guard let at = fused.indices.first(where: { fused[$0].bitPattern != separate[$0].bitPattern }) else { continue }
                        Issue.record("\(label) shape \(shape) sparsity \(sparsity) m=\(m) threads=\(workspace.threads): element \(at) is \(fused[at]), the two calls give \(separate[at])")
                        return
                    }
                }
            }
        }
    }

    /// 2: AVX-512, 1: AVX2, 0: portable (which always makes the two calls).
    @Test(arguments: [Int32(2), 1, 0])
    func sparseBlockEqualsTheTwoCallsBitForBit(isa: Int32) {
        fk_sparse_force_isa(isa)
        defer { fk_sparse_force_isa(-1) }
        Self.check(form: .sparse, label: "sparse \(String(cString: fk_sparse_isa()))")
    }

    /// 2: AVX-512 VNNI, 0: portable.
    @Test(arguments: [Int32(2), 0])
    func sparseInt8BlockEqualsTheTwoCallsBitForBit(isa: Int32) {
        fk_sparse_int8_force_isa(isa)
        defer { fk_sparse_int8_force_isa(-1) }
        Self.check(form: .sparseInt8, label: "sparse-int8 \(SparseQuantizedWeight.isa)")
    }

    /// The fused block against the slow references composed (independent summation order, so to
    /// float rounding): the fusion is checked against code that shares none of its vector paths.
    @Test func sparseBlockMatchesTheComposedReferences() {
        var rng = SplitMix64(seed: 31)
        let block = Self.block((272, 96, 40), sparsity: 0.9, form: .sparse, rng: &rng)
        let m = 300
        let a = Self.activations(m: m, k: 96, rng: &rng)
        let (fused, _) = Self.outputs(block, a, m: m, workspace: Workspace(threads: 2))
        var hidden = [Float](repeating: 0, count: m * 272), expected = [Float](repeating: 0, count: m * 40)
        let w1 = try! block.up.weight.values, w2 = try! block.down.weight.values, b1 = block.up.bias.values, b2 = block.down.bias.values
        for i in 0..<m {
            for j in 0..<272 {
                var sum: Double = 0
                for kk in 0..<96 { sum += Double(w1[j * 96 + kk]) * Double(a[i * 96 + kk]) }
                let v = sum + Double(b1[j])
                hidden[i * 272 + j] = Float(0.5 * v * (1 + erf(v / 2.0.squareRoot())))
            }
            for j in 0..<40 {
                var sum: Double = 0
                for kk in 0..<272 { sum += Double(w2[j * 272 + kk]) * Double(hidden[i * 272 + kk]) }
                expected[i * 40 + j] = Float(sum + Double(b2[j]))
            }
        }
        for i in fused.indices {
            let tolerance = 1e-4 * max(1, abs(expected[i]))
            guard abs(fused[i] - expected[i]) <= tolerance else {
                Issue.record("element \(i) is \(fused[i]), fp64 reference \(expected[i])")
                return
            }
        }
    }
}
