import CBLAS
import CKernels
import Foundation
import Testing
@testable import FrontierEngine


/// The packed microkernels (AVX-512, AVX2 and portable) against `cblas_sgemm`.
@Suite(.serialized) struct GemmTests {
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (3, 17, 5), (9, 33, 20), (23, 384, 384), (8, 1152, 64), (70, 50, 31), (130, 48, 16),
    ]

    static func reference(_ a: [Float], _ w: [Float], _ bias: [Float], m: Int, n: Int, k: Int, epilogue: Int32) -> [Float] {
        var c = [Float](repeating: 0, count: m * n)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), w, Int32(k), 0, &c, Int32(n))
        if epilogue >= 1 {
            for r in 0..<m { for j in 0..<n { c[r * n + j] += bias[j] } }
        }
        if epilogue == 2 {
            c = c.map { v in Float(0.5 * Double(v) * (1 + erf(Double(v) / 2.0.squareRoot()))) }
        }
        return c
    }

    static func packed(_ a: [Float], _ w: [Float], _ bias: [Float], m: Int, n: Int, k: Int, epilogue: Int32,
                       pool: OpaquePointer?, ldc: Int? = nil) -> [Float] {
        let packed = FloatBuffer(count: fk_packed_size(n, k))
        fk_pack_weights(w, n, k, packed.pointer)
        let stride = ldc ?? n
        var c = [Float](repeating: -7, count: m * stride)
        fk_linear_packed(pool, a, k, packed.pointer, bias, &c, stride, m, n, k, epilogue)
        return (0..<m).flatMap { c[($0 * stride)..<($0 * stride + n)] }
    }

    @Test(arguments: [false, true], [Int32(0), 1, 2])
    func packedMatchesCblas(forceGeneric: Bool, epilogue: Int32) {
        fk_gemm_force_generic(forceGeneric ? 1 : 0)
        defer { fk_gemm_force_generic(0) }
        let pool = fk_pool_create(2)
        defer { fk_pool_destroy(pool) }
        var rng = SplitMix64(seed: 11)
        for (m, n, k) in Self.shapes {
            let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
            let w = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
            let bias = (0..<n).map { _ in rng.uniform(-1, 1) }
            let expected = Self.reference(a, w, bias, m: m, n: n, k: k, epilogue: epilogue)
            for threadPool in [nil, pool] {
                let got = Self.packed(a, w, bias, m: m, n: n, k: k, epilogue: epilogue, pool: threadPool)
                let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
                #expect(worst < 1e-4 * Float(k).squareRoot(), "\(fk_gemm_isa().map { String(cString: $0) } ?? "?") m=\(m) n=\(n) k=\(k): max error \(worst)")
            }
        }
    }

    @Test func outputRowStrideLeavesOtherColumnsUntouched() {
        var rng = SplitMix64(seed: 12)
        let m = 5, n = 20, k = 9, ldc = 48
        let a = (0..<(m * k)).map { _ in rng.uniform(-1, 1) }
        let w = (0..<(n * k)).map { _ in rng.uniform(-1, 1) }
        let packed = FloatBuffer(count: fk_packed_size(n, k))
        fk_pack_weights(w, n, k, packed.pointer)
        var c = [Float](repeating: -7, count: m * ldc)
        fk_linear_packed(nil, a, k, packed.pointer, nil, &c, ldc, m, n, k, 0)
        let expected = Self.reference(a, w, [], m: m, n: n, k: k, epilogue: 0)
        for r in 0..<m {
            #expect(zip(c[(r * ldc)..<(r * ldc + n)], expected[(r * n)..<(r * n + n)]).allSatisfy { abs($0 - $1) < 1e-4 })
            #expect(c[(r * ldc + n)..<(r * ldc + ldc)].allSatisfy { $0 == -7 })
        }
    }

    @Test func poolRunsEveryIndexOnce() {
        let pool = fk_pool_create(3)
        defer { fk_pool_destroy(pool) }
        #expect(fk_pool_threads(pool) == 3)
        // Each index increments its own slot, so duplicated or missed indices show as counts.
        let hits = UnsafeMutablePointer<Int32>.allocate(capacity: 3)
        hits.initialize(repeating: 0, count: 3)
        defer { hits.deallocate() }
        for _ in 0..<200 {
            fk_pool_run(pool, { context, index, count in
                precondition(count == 3)
                context!.assumingMemoryBound(to: Int32.self)[Int(index)] += 1
            }, hits)
        }
        #expect(Array(UnsafeBufferPointer(start: hits, count: 3)) == [200, 200, 200])
    }
}
