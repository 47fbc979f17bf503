import CBLAS
import CKernels
import FrontierEngine

/// The three GEMMs of a linear layer's training step, on the engine's packed microkernels or on
/// OpenBLAS:
///
///     forward         y  = x·Wᵀ          (T×n from T×k and n×k)
///     input gradient  dx = dy·W          (T×k)
///     weight gradient dW += dyᵀ·x        (n×k)
///
/// Inference packs each weight once at load; in training the weights change every step, so the
/// packed path packs the operand it streams for each call (W, Wᵀ, or xᵀ): one pass over the
/// operand, against a GEMM that reads it T (or n) times. It is the default because OpenBLAS
/// here may run a generic core (a Debian build that does not know the CPU picks Prescott-era
/// kernels), while the packed kernels pick AVX-512 or AVX2 from the CPU at run time.
final class TrainingGemm {
    let backend: GemmBackend
    let threads: Int
    let pool: OpaquePointer?

    init(backend: GemmBackend, threads: Int) {
        self.backend = backend
        self.threads = threads
        pool = backend == .packed && threads > 1 ? fk_pool_create(Int32(threads)) : nil
    }

    deinit { if let pool { fk_pool_destroy(pool) } }

    /// `c[m, n] = a[m, k] · w[n, k]ᵀ`.
    func linear(_ a: UnsafePointer<Float>, m: Int, k: Int, weight w: UnsafePointer<Float>, n: Int, into c: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0, k > 0 else { return }
        switch backend {
        case .openblas:
            TrainingKernels.linear(a, m: m, k: k, weight: w, n: n, into: c)
        case .packed:
            let packed = pack(w, rows: n, columns: k)
            fk_linear_packed(pool, a, k, packed.pointer, nil, c, n, m, n, k, 0)
        }
    }

    /// `dx[m, k] = dy[m, n] · w[n, k]`, or `dx += …` when `accumulate`.
    func backwardInput(_ dy: UnsafePointer<Float>, m: Int, n: Int, weight w: UnsafePointer<Float>, k: Int,
                       into dx: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        guard m > 0, k > 0, n > 0 else { return }
        switch backend {
        case .openblas:
            TrainingKernels.backwardInput(dy, m: m, n: n, weight: w, k: k, into: dx, beta: accumulate ? 1 : 0)
        case .packed:
            let packed = packTransposed(w, rows: n, columns: k)
            if accumulate {
                let product = FloatBuffer(uninitializedCount: m * k)
                fk_linear_packed(pool, dy, n, packed.pointer, nil, product.pointer, k, m, k, n, 0)
                add(product.pointer, into: dx, count: m * k)
            } else {
                fk_linear_packed(pool, dy, n, packed.pointer, nil, dx, k, m, k, n, 0)
            }
        }
    }

    /// `dw[n, k] += dy[m, n]ᵀ · x[m, k]`.
    func accumulateWeightGradient(_ dy: UnsafePointer<Float>, m: Int, n: Int, input x: UnsafePointer<Float>, k: Int,
                                  into dw: UnsafeMutablePointer<Float>) {
        guard m > 0, n > 0, k > 0 else { return }
        switch backend {
        case .openblas:
            TrainingKernels.accumulateWeightGradient(dy, m: m, n: n, input: x, k: k, into: dw)
        case .packed:
            let dyT = transpose(dy, rows: m, columns: n)      // n × m
            let packed = packTransposed(x, rows: m, columns: k) // xᵀ, k × m
            let product = FloatBuffer(uninitializedCount: n * k)
            fk_linear_packed(pool, dyT.pointer, m, packed.pointer, nil, product.pointer, k, n, k, m, 0)
            add(product.pointer, into: dw, count: n * k)
        }
    }

    // MARK: Helpers

    /// `w` (n × k) packed, the panels split over the threads.
    private func pack(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int) -> FloatBuffer {
        let packed = FloatBuffer(uninitializedCount: fk_packed_size(n, k))
        let out = packed.pointer
        TrainingKernels.chunks(panels(n), threads: n * k >= 1 << 15 ? threads : 1) { _, range in
            fk_pack_weights_panels(w, n, k, out, range.lowerBound, range.upperBound)
        }
        return packed
    }

    /// `wᵀ` (columns × rows) packed, read straight from `w` (rows × columns).
    private func packTransposed(_ w: UnsafePointer<Float>, rows: Int, columns: Int) -> FloatBuffer {
        let packed = FloatBuffer(uninitializedCount: fk_packed_size(columns, rows))
        let out = packed.pointer
        TrainingKernels.chunks(panels(columns), threads: rows * columns >= 1 << 15 ? threads : 1) { _, range in
            fk_pack_transposed_panels(w, rows, columns, out, range.lowerBound, range.upperBound)
        }
        return packed
    }

    private func panels(_ n: Int) -> Int { (n + Int(FK_PANEL) - 1) / Int(FK_PANEL) }

    /// `rows × columns` → `columns × rows`.
    private func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int) -> FloatBuffer {
        let result = FloatBuffer(uninitializedCount: rows * columns)
        let out = result.pointer
        let tile = 16
        TrainingKernels.chunks((columns + tile - 1) / tile, threads: rows * columns >= 1 << 15 ? threads : 1) { _, tiles in
            fk_transpose_columns(source, rows, columns, out, tiles.lowerBound * tile, min(columns, tiles.upperBound * tile))
        }
        return result
    }

    private func add(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        TrainingKernels.chunks(count, threads: count >= 1 << 15 ? threads : 1) { _, range in
            fk_add_into(destination + range.lowerBound, source + range.lowerBound, range.count)
        }
    }
}
