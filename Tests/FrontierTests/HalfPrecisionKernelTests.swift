import CKernels
import Foundation
import Testing
@testable import FrontierEngine


/// fp16 / bf16 weight storage with fp32 arithmetic (`CKernels/half_gemm.c`): the conversions
/// against Swift's `Float16` and an independent bf16 rounding, and the kernels (AVX-512, AVX2,
/// portable; direct and staged) against an fp64 product over the widened weights.
@Suite(.serialized) struct HalfPrecisionKernelTests {
    /// m > 16 exercises the staged path (panels widened once per row block), m ≤ 16 the direct one.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (3, 17, 5), (9, 33, 20), (23, 384, 384), (8, 1152, 64), (70, 50, 31), (130, 48, 16), (40, 37, 1600),
    ]

    static func widened(_ weight: HalfPrecisionWeight) -> [Float] {
        (0..<weight.outFeatures).flatMap { r in (0..<weight.inFeatures).map { weight.weight(row: r, column: $0) } }
    }

    static func reference(_ a: [Float], _ w: [Float], _ bias: [Float], m: Int, n: Int, k: Int, epilogue: Int32) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        for r in 0..<m {
            for j in 0..<n {
                var v = 0.0
                for kk in 0..<k { v += Double(a[r * k + kk]) * Double(w[j * k + kk]) }
                if epilogue >= 1 { v += Double(bias[j]) }
                if epilogue == 2 { v = 0.5 * v * (1 + erf(v / 2.0.squareRoot())) }
                c[r * n + j] = Float(v)
            }
        }
        return c
    }

    /// Round to nearest even bf16 by comparing the two bf16 neighbours of |x| in fp64 (the one
    /// above the largest finite bf16 counts as 2¹²⁸, so overflow goes to infinity as IEEE says).
    static func bf16Reference(_ x: Float) -> UInt16 {
        if x.isNaN { return UInt16(x.bitPattern >> 16) | 0x40 }
        if x.isInfinite { return UInt16(x.bitPattern >> 16) }
        let sign = x.bitPattern & 0x8000_0000
        let low = x.bitPattern & 0x7FFF_0000, high = low + 0x1_0000
        func magnitude(_ bits: UInt32) -> Double {
            bits == 0x7F80_0000 ? 0x1p128 : Double(Float(bitPattern: bits))
        }
        let v = Double(x.magnitude)
        let below = v - magnitude(low), above = magnitude(high) - v
        let pick = below < above || (below == above && (low >> 16) & 1 == 0) ? low : high
        return UInt16((sign | pick) >> 16)
    }

    static func edgeValues(_ rng: inout SplitMix64) -> [Float] {
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.99, 65520, -65520, 1e6, .infinity, -.infinity,
                               .leastNonzeroMagnitude, .leastNormalMagnitude, .greatestFiniteMagnitude,
                               0x1p-24, 0x1p-25, 0x1.8p-25, 0x1p-26, 0x1.7p-15, 0x1.ffcp-15, 0x1.ffep-15, 1.0009766, 1.0004883,
                               1.00390625, 1.001953125, 1.005859375]
        for _ in 0..<20_000 {
            let bits = UInt32(truncatingIfNeeded: rng.next())
            let x = Float(bitPattern: bits)
            if !x.isNaN { values.append(x) }
            values.append(rng.uniform(-2, 2) * Float(sign: .plus, exponent: Int(rng.next() % 40) - 28, significand: 1))
        }
        return values
    }

    @Test func fp16ConversionsMatchSwiftFloat16() {
        var rng = SplitMix64(seed: 21)
        for x in Self.edgeValues(&rng) {
            #expect(fk_float_to_f16(x) == Float16(x).bitPattern, "\(x) (bits \(String(x.bitPattern, radix: 16)))")
        }
        #expect(Float16(bitPattern: fk_float_to_f16(.nan)).isNaN)
        for h in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: h)), got = fk_f16_to_float(h)
            #expect(got.bitPattern == expected.bitPattern || (got.isNaN && expected.isNaN), "half bits \(h)")
        }
    }

    @Test func bf16ConversionsRoundToNearestEven() {
        var rng = SplitMix64(seed: 22)
        for x in Self.edgeValues(&rng) {
            #expect(fk_float_to_bf16(x) == Self.bf16Reference(x), "\(x) (bits \(String(x.bitPattern, radix: 16)))")
        }
        #expect(fk_bf16_to_float(fk_float_to_bf16(.nan)).isNaN)
        for h in 0...UInt16.max {
            #expect(fk_bf16_to_float(h).bitPattern == UInt32(h) << 16)
        }
    }

    @Test(arguments: HalfPrecisionWeight.Format.allCases, [Int32(0), 1, 2])
    func kernelsMatchReference(format: HalfPrecisionWeight.Format, isa: Int32) {
        fk_half_gemm_force_isa(isa)
        defer { fk_half_gemm_force_isa(-1) }
        let workspaces = [Workspace(threads: 1), Workspace(threads: 2)]
        var rng = SplitMix64(seed: 23)
        for (m, n, k) in Self.shapes {
            let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
            let w = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            let weight = HalfPrecisionWeight(weight: Tensor(shape: [n, k], values: w), format: format)
            let stored = Self.widened(weight)
            for epilogue in [Int32(0), 1, 2] {
                let expected = Self.reference(a, stored, bias, m: m, n: n, k: k, epilogue: epilogue)
                for workspace in workspaces {
                    var c = [Float](repeating: .nan, count: m * n)
                    weight.apply(a, rows: m, lda: k, bias: bias, into: &c, ldc: n, epilogue: epilogue, workspace: workspace)
                    let worst = zip(c, expected).map { abs($0 - $1) }.max() ?? 0
                    #expect(worst < 1e-4 * Float(k).squareRoot(),
                            "\(format) \(HalfPrecisionWeight.isa) m=\(m) n=\(n) k=\(k) epilogue=\(epilogue) threads=\(workspace.threads): max error \(worst)")
                }
            }
        }
    }

    /// The only error against fp32 weights is each weight's rounding: relative ≤ 2⁻¹¹ (fp16) or
    /// 2⁻⁸ (bf16), so the output's relative RMS error is well under that.
    @Test(arguments: HalfPrecisionWeight.Format.allCases)
    func roundingErrorAgainstFp32IsSmall(format: HalfPrecisionWeight.Format) {
        var rng = SplitMix64(seed: 24)
        let m = 20, n = 64, k = 384
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let w = (0..<(n * k)).map { _ in rng.uniform(-0.1, 0.1) }
        let weight = HalfPrecisionWeight(weight: Tensor(shape: [n, k], values: w), format: format)
        let exact = Self.reference(a, w, [], m: m, n: n, k: k, epilogue: 0)
        var c = [Float](repeating: .nan, count: m * n)
        weight.apply(a, rows: m, lda: k, bias: nil, into: &c, ldc: n, epilogue: 0, workspace: Workspace(threads: 2))
        let error = zip(c, exact).reduce(0.0) { $0 + Double($1.0 - $1.1) * Double($1.0 - $1.1) }
        let signal = exact.reduce(0.0) { $0 + Double($1) * Double($1) }
        let limit = format == .fp16 ? 0x1p-11 : 0x1p-8
        #expect((error / signal).squareRoot() < limit, "\(format): relative RMS \((error / signal).squareRoot())")
        #expect(weight.bytes == fk_packed_size(n, k) * 2)
    }

    @Test func rowStridesLeaveOtherColumnsUntouched() {
        var rng = SplitMix64(seed: 25)
        let m = 30, n = 20, k = 9, lda = 16, ldc = 48
        let a = (0..<(m * lda)).map { _ in rng.uniform(-1, 1) }
        let w = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
        for format in HalfPrecisionWeight.Format.allCases {
            let weight = HalfPrecisionWeight(weight: Tensor(shape: [n, k], values: w), format: format)
            var c = [Float](repeating: -7, count: m * ldc)
            weight.apply(a, rows: m, lda: lda, bias: nil, into: &c, ldc: ldc, epilogue: 0, workspace: Workspace(threads: 1))
            let dense = (0..<m).flatMap { r in a[(r * lda)..<(r * lda + k)] }
            let expected = Self.reference(dense, Self.widened(weight), [], m: m, n: n, k: k, epilogue: 0)
            for r in 0..<m {
                #expect(zip(c[(r * ldc)..<(r * ldc + n)], expected[(r * n)..<(r * n + n)]).allSatisfy { abs($0 - $1) < 1e-4 })
                #expect(c[(r * ldc + n)..<(r * ldc + ldc)].allSatisfy { $0 == -7 })
            }
        }
    }
}
