import CBLAS
import CKernels
import Dispatch
import Foundation

/// The fast forward and backward kernels of training, on raw row-major buffers.
///
/// GEMMs go to OpenBLAS (`y = x·Wᵀ`, `dx = dy·W`, `dW += dyᵀ·x`); the element-wise kernels
/// split rows into a fixed number of chunks (one per thread) whose partial sums are combined
/// in chunk order, so a run with the same thread count is bit for bit the same. Each has a
/// slow, obviously-correct counterpart in `ReferenceKernels` that the tests compare it with.
enum TrainingKernels {
    // MARK: GEMM

    /// `c[m, n] = a[m, k] · w[n, k]ᵀ (+ beta·c)`.
    static func linear(_ a: UnsafePointer<Float>, m: Int, k: Int, weight w: UnsafePointer<Float>, n: Int,
                       into c: UnsafeMutablePointer<Float>, beta: Float = 0) {
        guard m > 0, n > 0, k > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), w, Int32(k), beta, c, Int32(n))
    }

    /// `dx[m, k] = dy[m, n] · w[n, k] (+ beta·dx)`.
    static func backwardInput(_ dy: UnsafePointer<Float>, m: Int, n: Int, weight w: UnsafePointer<Float>, k: Int,
                              into dx: UnsafeMutablePointer<Float>, beta: Float = 0) {
        guard m > 0, k > 0 else { return }
        if n == 0 { if beta == 0 { dx.update(repeating: 0, count: m * k) }; return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(k), Int32(n), 1, dy, Int32(n), w, Int32(k), beta, dx, Int32(k))
    }

    /// `dw[n, k] += dy[m, n]ᵀ · x[m, k]`.
    static func accumulateWeightGradient(_ dy: UnsafePointer<Float>, m: Int, n: Int, input x: UnsafePointer<Float>, k: Int,
                                         into dw: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0, k > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(n), Int32(k), Int32(m), 1, dy, Int32(n), x, Int32(k), 1, dw, Int32(k))
    }

    // MARK: Threads

    /// Runs `body(chunk, rows)` over `rows` split into `threads` contiguous chunks: on the
    /// thread's current pool (`fk_current_pool`, the GEMMs' threads, set by `GradientEngine`
    /// for a training step) when it has the threads, else on Dispatch's.
    static func chunks(_ rows: Int, threads: Int, _ body: (Int, Range<Int>) -> Void) {
        let count = max(1, min(threads, rows))
        if count == 1 { body(0, 0..<rows); return }
        let per = (rows + count - 1) / count
        if let pool = fk_current_pool(), Int(fk_pool_threads(pool)) >= count {
            withoutActuallyEscaping(body) { escaping in
                var job = PoolChunks(body: escaping, rows: rows, per: per, count: count)
                // A loop nested in a chunk on this thread must not re-enter the pool it runs on.
                fk_set_current_pool(nil)
                defer { fk_set_current_pool(pool) }
                withUnsafeMutablePointer(to: &job) { pointer in
                    fk_pool_run(pool, { raw, index, _ in
                        let job = raw!.assumingMemoryBound(to: PoolChunks.self).pointee
                        let chunk = Int(index), start = chunk * job.per, end = min(job.rows, start + job.per)
                        if chunk < job.count, start < end { job.body(chunk, start..<end) }
                    }, pointer)
                }
            }
            return
        }
        withoutActuallyEscaping(body) { escaping in
            // The chunks write disjoint rows (or their own partial sums): sharing the closure's
            // pointers across the pool's threads is the point.
            let work = UncheckedChunkBody(body: escaping)
            DispatchQueue.concurrentPerform(iterations: count) { chunk in
                let start = chunk * per, end = min(rows, start + per)
                if start < end { work.body(chunk, start..<end) }
            }
        }
    }

    // MARK: Bias

    static func addBias(_ y: UnsafeMutablePointer<Float>, _ bias: UnsafePointer<Float>, rows: Int, cols: Int) {
        fk_add_bias(y, bias, rows, cols)
    }

    /// `db[c] += Σ_rows dy[r, c]`, rows in order (per thread partial sums combined in order).
    static func accumulateColumnSums(_ dy: UnsafePointer<Float>, rows: Int, cols: Int, into db: UnsafeMutablePointer<Float>, threads: Int) {
        let parts = max(1, min(threads, rows / 64))
        var partial = [Float](repeating: 0, count: parts * cols)
        partial.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            chunks(rows, threads: parts) { chunk, range in
                let acc = base + chunk * cols
                for r in range {
                    let row = dy + r * cols
                    for c in 0..<cols { acc[c] += row[c] }
                }
            }
            for chunk in 0..<parts {
                let acc = base + chunk * cols
                for c in 0..<cols { db[c] += acc[c] }
            }
        }
    }

    // MARK: LayerNorm

    /// `y = γ·x̂ + β` with `x̂ = (s − mean)·rstd` per row of `s`; keeps `x̂` and `rstd` for the
    /// backward pass. Statistics in Double (the rows are short; this is not the bottleneck).
    static func layerNormForward(_ s: UnsafePointer<Float>, rows: Int, width: Int, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                 eps: Float, output y: UnsafeMutablePointer<Float>, normalized xhat: UnsafeMutablePointer<Float>,
                                 rstd: UnsafeMutablePointer<Float>, threads: Int) {
        chunks(rows, threads: threads) { _, range in
            for r in range {
                let row = s + r * width, out = y + r * width, nx = xhat + r * width
                var sum = 0.0
                for c in 0..<width { sum += Double(row[c]) }
                let mean = sum / Double(width)
                var sq = 0.0
                for c in 0..<width { let d = Double(row[c]) - mean; sq += d * d }
                let inv = 1 / (sq / Double(width) + Double(eps)).squareRoot()
                rstd[r] = Float(inv)
                for c in 0..<width {
                    let n = Float((Double(row[c]) - mean) * inv)
                    nx[c] = n
                    out[c] = n * gamma[c] + beta[c]
                }
            }
        }
    }

    /// From `dy` to `ds` (`ds` may alias `dy`); `dγ += Σ dy·x̂`, `dβ += Σ dy` when given.
    static func layerNormBackward(_ dy: UnsafePointer<Float>, rows: Int, width: Int, normalized xhat: UnsafePointer<Float>,
                                  rstd: UnsafePointer<Float>, gamma: UnsafePointer<Float>, into ds: UnsafeMutablePointer<Float>,
                                  gammaGradient: UnsafeMutablePointer<Float>?, betaGradient: UnsafeMutablePointer<Float>?, threads: Int) {
        let parts = max(1, min(threads, rows))
        var partial = [Float](repeating: 0, count: 2 * parts * width)
        partial.withUnsafeMutableBufferPointer { p in
            let base = p.baseAddress!
            chunks(rows, threads: parts) { chunk, range in
                let dgamma = base + 2 * chunk * width, dbeta = dgamma + width
                for r in range {
                    let g = dy + r * width, nx = xhat + r * width, out = ds + r * width
                    var m1 = 0.0, m2 = 0.0
                    for c in 0..<width {
                        let dxh = Double(g[c] * gamma[c])
                        m1 += dxh
                        m2 += dxh * Double(nx[c])
                        dgamma[c] += g[c] * nx[c]
                        dbeta[c] += g[c]
                    }
                    let mean1 = Float(m1 / Double(width)), mean2 = Float(m2 / Double(width)), inv = rstd[r]
                    for c in 0..<width { out[c] = inv * (g[c] * gamma[c] - mean1 - nx[c] * mean2) }
                }
            }
            for chunk in 0..<parts {
                let dgamma = base + 2 * chunk * width, dbeta = dgamma + width
                if let gammaGradient { for c in 0..<width { gammaGradient[c] += dgamma[c] } }
                if let betaGradient { for c in 0..<width { betaGradient[c] += dbeta[c] } }
            }
        }
    }

    // MARK: GELU (exact erf)

    /// `g = u·Φ(u) = ½u(1 + erf(u/√2))`.
    static func geluForward(_ u: UnsafePointer<Float>, into g: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        chunks(count, threads: threads) { _, range in
            fk_gelu_forward(u + range.lowerBound, g + range.lowerBound, range.count)
        }
    }

    /// `du = dg · (Φ(u) + u·φ(u))`, in place on `dg`, in one pass per chunk.
    static func geluBackward(_ u: UnsafePointer<Float>, gradient dg: UnsafeMutablePointer<Float>, count: Int, threads: Int) {
        chunks(count, threads: threads) { _, range in
            fk_gelu_backward(u + range.lowerBound, dg + range.lowerBound, range.count)
        }
    }

    // MARK: Dropout

    /// `x[i] ← mask[i] ? x[i]/(1−p) : 0`.
    static func applyMask(_ x: UnsafeMutablePointer<Float>, _ mask: UnsafePointer<UInt8>, count: Int, rate: Float) {
        let scale = 1 / (1 - rate)
        for i in 0..<count { x[i] = mask[i] != 0 ? x[i] * scale : 0 }
    }

    // MARK: Attention over packed sequences

    /// Where each (sequence, head) block of attention probabilities starts: heads·Σ L² floats in
    /// all, or heads·Σ L with `firstQueryOnly` (one row of probabilities per block).
    static func probabilityOffsets(_ offsets: [Int], heads: Int, firstQueryOnly: Bool = false) -> [Int] {
        var result = [0]
        for s in 0..<(offsets.count - 1) {
            let length = offsets[s + 1] - offsets[s]
            result.append(result[s] + heads * (firstQueryOnly ? 1 : length) * length)
        }
        return result
    }

    /// Softmax attention of every sequence and head: `P = softmax(QKᵀ·scale)` (kept), dropout
    /// on `P` by `mask` (when given), `context = P'·V`. `qkv` rows are `[Q | K | V]`, `3a` wide.
    ///
    /// With `firstQueryOnly`, only each sequence's first query ([CLS]) attends: one row of
    /// probabilities per (sequence, head) block, and `context` has one row per sequence (what the
    /// last block of a classifier needs, whose other outputs nothing reads).
    static func attentionForward(qkv: UnsafePointer<Float>, offsets: [Int], heads: Int, headDim d: Int,
                                 probabilities: UnsafeMutablePointer<Float>, probabilityOffsets: [Int],
                                 mask: UnsafePointer<UInt8>?, rate: Float,
                                 context: UnsafeMutablePointer<Float>, firstQueryOnly: Bool = false, threads: Int) {
        let a = heads * d, ld = 3 * a, scale = 1 / Float(d).squareRoot(), keep = 1 / (1 - rate)
        let sequences = offsets.count - 1
        let maxLength = (0..<sequences).map { offsets[$0 + 1] - offsets[$0] }.max() ?? 0
        chunks(sequences * heads, threads: threads) { _, items in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: d * maxLength + d) { scratch in
                for item in items {
                    let s = item / heads, head = item % heads
                    let start = offsets[s], length = offsets[s + 1] - start
                    let q = qkv + start * ld + head * d
                    let queries = firstQueryOnly ? 1 : length
                    let block = probabilityOffsets[s] + head * queries * length
                    fk_attention_block_forward(q, q + a, q + 2 * a, ld, d, length, queries, scale,
                                               probabilities + block, mask.map { $0 + block }, keep,
                                               context + (firstQueryOnly ? s : start) * a + head * d, a,
                                               scratch.baseAddress!)
                }
            }
        }
    }

    /// From `dcontext` (`a` wide) to `dqkv` (`3a` wide, overwritten).
    static func attentionBackward(qkv: UnsafePointer<Float>, offsets: [Int], heads: Int, headDim d: Int,
                                  probabilities: UnsafePointer<Float>, probabilityOffsets: [Int],
                                  mask: UnsafePointer<UInt8>?, rate: Float,
                                  contextGradient dc: UnsafePointer<Float>, into dqkv: UnsafeMutablePointer<Float>,
                                  firstQueryOnly: Bool = false, threads: Int) {
        let a = heads * d, ld = 3 * a, scale = 1 / Float(d).squareRoot(), keep = 1 / (1 - rate)
        let sequences = offsets.count - 1
        let maxLength = (0..<sequences).map { offsets[$0 + 1] - offsets[$0] }.max() ?? 0
        chunks(sequences * heads, threads: threads) { _, items in
            withUnsafeTemporaryAllocation(of: Float.self, capacity: d * maxLength + maxLength) { scratch in
                for item in items {
                    let s = item / heads, head = item % heads
                    let start = offsets[s], length = offsets[s + 1] - start
                    let q = qkv + start * ld + head * d
                    let dq = dqkv + start * ld + head * d
                    let queries = firstQueryOnly ? 1 : length
                    let block = probabilityOffsets[s] + head * queries * length
                    fk_attention_block_backward(q, q + a, q + 2 * a, ld, d, length, queries, scale,
                                                probabilities + block, mask.map { $0 + block }, keep,
                                                dc + (firstQueryOnly ? s : start) * a + head * d, a,
                                                dq, dq + a, dq + 2 * a, scratch.baseAddress!)
                }
            }
        }
    }
}

/// One `chunks` call as the pool's workers read it.
private struct PoolChunks {
    let body: (Int, Range<Int>) -> Void
    let rows: Int, per: Int, count: Int
}

private struct UncheckedChunkBody: @unchecked Sendable {
    let body: (Int, Range<Int>) -> Void
}
