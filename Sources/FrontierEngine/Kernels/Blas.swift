import CBLAS

/// The fp32 GEMM entry point and OpenBLAS's thread control.
///
/// Thread count is always set explicitly before timing anything: OpenBLAS otherwise uses every
/// core it sees, which on a shared node is neither reproducible nor what the trial asked for.
public enum Blas {
    public static func setThreads(_ count: Int) {
        openblas_set_num_threads(Int32(max(1, count)))
    }

    public static var threads: Int { Int(openblas_get_num_threads()) }

    /// The kernel family OpenBLAS picked for this CPU (e.g. "Haswell", "SkylakeX").
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config)
    }

    /// `c[m, n] = a[m, k] · w[n, k]ᵀ + beta · c`, row-major; `w` in PyTorch's `[out, in]` layout.
    @inline(__always)
    public static func linear(
        _ a: UnsafePointer<Float>, rows m: Int, inFeatures k: Int, lda: Int,
        weight w: UnsafePointer<Float>, outFeatures n: Int, ldw: Int,
        into c: UnsafeMutablePointer<Float>, ldc: Int, beta: Float = 0
    ) {
        guard m > 0, n > 0 else { return }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(lda), w, Int32(ldw), beta, c, Int32(ldc))
    }

    /// Plain `c[m, n] = a[m, k] · b[k, n]`, row-major (used for peak-rate measurement).
    public static func gemm(
        _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
        m: Int, n: Int, k: Int
    ) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(n), 0, c, Int32(n))
    }
}
