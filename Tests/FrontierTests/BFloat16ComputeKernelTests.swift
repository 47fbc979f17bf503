import CKernels
import Foundation
import Testing
@testable import FrontierEngine


/// bf16 products with fp32 accumulation (`CKernels/bf16_dot.c`): the AVX512_BF16 kernel against
/// its slow reference on odd shapes (rows past the 12-row tile and the row block, columns not a
/// multiple of 16 or 32, odd k), the reference against an fp64 product over the rounded operands,
/// and the error the rounding of both operands costs against fp32.
@Suite(.serialized) struct BFloat16ComputeKernelTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (1, 16, 2), (3, 17, 5), (13, 33, 20), (12, 32, 384), (25, 384, 384), (8, 1536, 64),
        (70, 50, 31), (181, 48, 16), (40, 37, 1601), (2, 3, 0),
    ]

    static func inputs(_ m: Int, _ n: Int, _ k: Int, seed: UInt64) -> (a: [Float], w: [Float], bias: [Float]) {
        var rng = SplitMix64(seed: seed)
        var a = (0..<(m * k)).map { _ in rng.uniform(-2, 2) }
        var w = (0..<(n * k)).map { _ in rng.uniform(-0.5, 0.5) }
        // An all-zero activation row and a weight row pruned to zero, where there are enough rows.
        if m > 2 { for kk in 0..<k { a[k + kk] = 0 } }
        if n > 2 { for kk in 0..<k { w[2 * k + kk] = 0 } }
        return (a, w, (0..<n).map { _ in rng.uniform(-1, 1) })
    }

    static func packed(_ w: [Float], n: Int, k: Int) -> [UInt16] {
        var packed = [UInt16](repeating: 0xFFFF, count: fk_packed_size_bf16_pairs(n, k))
        fk_pack_weights_bf16_pairs(w, n, k, &packed)
        return packed
    }

    static func rounded(_ x: Float) -> Float { fk_bf16_to_float(fk_float_to_bf16(x)) }

    @Test func packingPutsPairsOfAColumnTogether() {
        let (n, k) = (18, 5)
        let w = (0..<(n * k)).map { Float($0 + 1) }
        let packed = Self.packed(w, n: n, k: k)
        let pairs = (k + 1) / 2
        #expect(packed.count == 2 * 16 * 2 * pairs)
        for p in 0..<2 {
            for t in 0..<pairs {
                for j in 0..<16 {
                    for e in 0..<2 {
                        let (row, col) = (16 * p + j, 2 * t + e)
                        let stored = packed[((p * pairs + t) * 16 + j) * 2 + e]
                        let expected = row < n && col < k ? fk_float_to_bf16(w[row * k + col]) : 0
                        #expect(stored == expected, "panel \(p) pair \(t) row \(j) element \(e)")
                    }
                }
            }
        }
    }

    @Test(.enabled(if: BFloat16ComputeWeight.isAvailable, "this CPU has no AVX512_BF16: only the reference runs here"))
    func avx512KernelMatchesTheReference() {
        let workspaces = [Workspace(threads: 1), Workspace(threads: 2)]
        var exact = 0, total = 0
        for (index, (m, n, k)) in Self.shapes.enumerated() {
            let (a, w, bias) = Self.inputs(m, n, k, seed: 40 + UInt64(index))
            let packed = Self.packed(w, n: n, k: k)
            for epilogue in [Int32(0), 1, 2] {
                var expected = [Float](repeating: .nan, count: m * n)
                fk_linear_bf16_dot_reference(a, k, packed, bias, &expected, n, m, n, k, epilogue)
                for workspace in workspaces {
                    var c = [Float](repeating: .nan, count: m * n)
                    fk_linear_bf16_dot(workspace.pool, a, k, packed, bias, &c, n, m, n, k, epilogue)
                    // The same pairs in the same order: equal but for how the hardware rounds
                    // its two fused steps, so allow a few ulps of the sum of |terms|.
                    for r in 0..<m {
                        for j in 0..<n {
                            let scale = (0..<k).reduce(Float(1)) { $0 + abs(a[r * k + $1] * w[j * k + $1]) }
                            let (got, want) = (c[r * n + j], expected[r * n + j])
                            total += 1
                            if got == want { exact += 1 }
                            if !(abs(got - want) <= 4e-7 * scale) {
                                Issue.record("m=\(m) n=\(n) k=\(k) epilogue=\(epilogue) threads=\(workspace.threads) (\(r), \(j)): \(got) vs reference \(want)")
                                return
                            }
                        }
                    }
                }
            }
        }
        print("bf16 dot (\(BFloat16ComputeWeight.isa)): \(exact) of \(total) outputs bit-identical to the reference")
    }

    @Test func referenceIsTheProductOfTheRoundedOperands() {
        for (index, (m, n, k)) in Self.shapes.enumerated() where m * n * k <= 400_000 {
            let (a, w, bias) = Self.inputs(m, n, k, seed: 60 + UInt64(index))
            var c = [Float](repeating: .nan, count: m * n)
            fk_linear_bf16_dot_reference(a, k, Self.packed(w, n: n, k: k), bias, &c, n, m, n, k, 1)
            for r in 0..<m {
                for j in 0..<n {
                    var v = Double(bias[j]), scale = 1.0
                    for kk in 0..<k {
                        let term = Double(Self.rounded(a[r * k + kk])) * Double(Self.rounded(w[j * k + kk]))
                        v += term
                        scale += abs(term)
                    }
                    #expect(abs(Double(c[r * n + j]) - v) <= 1e-6 * scale, "m=\(m) n=\(n) k=\(k) (\(r), \(j))")
                }
            }
        }
    }

    /// Both operands rounded to 8 significant bits: each term is off by at most about 2⁻⁸
    /// relative, and the errors of a sum of many terms partly cancel.
    @Test func roundingBothOperandsCostsLittleAgainstFp32() {
        let (m, n, k) = (20, 64, 384)
        let (a, w, _) = Self.inputs(m, n, k, seed: 70)
        let weight = BFloat16ComputeWeight(weight: Tensor(shape: [n, k], values: w))
        var c = [Float](repeating: .nan, count: m * n)
        weight.apply(a, rows: m, lda: k, bias: nil, into: &c, ldc: n, epilogue: 0, workspace: Workspace(threads: 2))
        var error = 0.0, signal = 0.0
        for r in 0..<m {
            for j in 0..<n {
                let exact = (0..<k).reduce(0.0) { $0 + Double(a[r * k + $1]) * Double(w[j * k + $1]) }
                error += (Double(c[r * n + j]) - exact) * (Double(c[r * n + j]) - exact)
                signal += exact * exact
            }
        }
        #expect(signal > 0 && (error / signal).squareRoot() < 0x1p-7, "relative RMS \((error / signal).squareRoot())")
        #expect(weight.bytes == fk_packed_size(n, k) * 2)
    }

    @Test func rowStridesLeaveOtherColumnsUntouched() {
        var rng = SplitMix64(seed: 71)
        let (m, n, k, lda, ldc) = (30, 20, 9, 16, 48)
        let a = (0..<(m * lda)).map { _ in rng.uniform(-1, 1) }
        let w = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
        let weight = BFloat16ComputeWeight(weight: Tensor(shape: [n, k], values: w))
        var c = [Float](repeating: -7, count: m * ldc)
        weight.apply(a, rows: m, lda: lda, bias: nil, into: &c, ldc: ldc, epilogue: 0, workspace: Workspace(threads: 2))
        let dense = Array((0..<m).flatMap { r in a[(r * lda)..<(r * lda + k)] })
        var expected = [Float](repeating: .nan, count: m * n)
        fk_linear_bf16_dot_reference(dense, k, weight.packed, nil, &expected, n, m, n, k, 0)
        for r in 0..<m {
            #expect(zip(c[(r * ldc)..<(r * ldc + n)], expected[(r * n)..<(r * n + n)]).allSatisfy { abs($0 - $1) < 1e-5 })
            #expect(c[(r * ldc + n)..<(r * ldc + ldc)].allSatisfy { $0 == -7 })
        }
    }

    @Test func quantizationPicksTheComputePathWhereTheCpuHasIt() throws {
        let expected: LinearForm = BFloat16ComputeWeight.isAvailable ? .bf16Compute : .bf16
        let layer = Linear(weight: Tensor(shape: [4, 6], values: (0..<24).map { Float($0) }), bias: Tensor(shape: [4], values: [0, 0, 0, 0]))
        #expect(try layer.executing(as: expected).form == expected)
        #expect(fk_bf16_dot_isa().map { String(cString: $0) } == (BFloat16ComputeWeight.isAvailable ? "avx512-bf16" : "generic"))
    }
}
