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
    private let pool: OpaquePointer?

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
            let transposed = transpose(w, rows: n, columns: k)
            let packed = pack(transposed.pointer, rows: k, columns: n)
            if accumulate {
                let product = FloatBuffer(count: m * k)
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
            let xT = transpose(x, rows: m, columns: k)        // k × m
            let packed = pack(xT.pointer, rows: k, columns: m)
            let product = FloatBuffer(count: n * k)
            fk_linear_packed(pool, dyT.pointer, m, packed.pointer, nil, product.pointer, k, n, k, m, 0)
            add(product.pointer, into: dw, count: n * k)
        }
    }

    // MARK: Helpers

    private func pack(_ w: UnsafePointer<Float>, rows n: Int, columns k: Int) -> FloatBuffer {
        let packed = FloatBuffer(count: fk_packed_size(n, k))
        fk_pack_weights(w, n, k, packed.pointer)
        return packed
    }

    /// `rows × columns` → `columns × rows`, in 32×32 tiles.
    private func transpose(_ source: UnsafePointer<Float>, rows: Int, columns: Int) -> FloatBuffer {
        let result = FloatBuffer(count: rows * columns)
        let out = result.pointer
        let tile = 32
        TrainingKernels.chunks((columns + tile - 1) / tile, threads: threads) { _, tiles in
            for columnTile in tiles {
                let c0 = columnTile * tile, c1 = min(columns, c0 + tile)
                var r0 = 0
                while r0 < rows {
                    let r1 = min(rows, r0 + tile)
                    for c in c0..<c1 {
                        let destination = out + c * rows
                        for r in r0..<r1 { destination[r] = source[r * columns + c] }
                    }
                    r0 = r1
                }
            }
        }
        return result
    }

    private func add(_ source: UnsafePointer<Float>, into destination: UnsafeMutablePointer<Float>, count: Int) {
        TrainingKernels.chunks(count, threads: count >= 1 << 15 ? threads : 1) { _, range in
            for i in range { destination[i] += source[i] }
        }
    }
}
