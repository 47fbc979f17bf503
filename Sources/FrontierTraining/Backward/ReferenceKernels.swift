import Foundation

/// Slow, obviously-correct versions of the training kernels, in Double over plain arrays, each
/// written from the textbook formula rather than from the fast kernel: the tests compare every
/// fast kernel with its reference on random inputs.
public enum ReferenceKernels {
    /// LayerNorm over each row of `x` (`rows × width`): returns `y`.
    public static func layerNorm(_ x: [Double], rows: Int, width: Int, gamma: [Double], beta: [Double], eps: Double) -> [Double] {
        var y = [Double](repeating: 0, count: x.count)
        for r in 0..<rows {
            let row = Array(x[(r * width)..<((r + 1) * width)])
            let mean = row.reduce(0, +) / Double(width)
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width)
            for c in 0..<width { y[r * width + c] = (row[c] - mean) / (variance + eps).squareRoot() * gamma[c] + beta[c] }
        }
        return y
    }

    /// The gradients of `Σ dy·LayerNorm(x)` with respect to x, γ and β, by the closed form
    /// derived from `x̂ = (x − μ)/σ` one sum at a time.
    public static func layerNormBackward(_ x: [Double], dy: [Double], rows: Int, width: Int, gamma: [Double], eps: Double)
        -> (dx: [Double], dgamma: [Double], dbeta: [Double]) {
        var dx = [Double](repeating: 0, count: x.count), dgamma = [Double](repeating: 0, count: width), dbeta = dgamma
        let n = Double(width)
        for r in 0..<rows {
            let row = Array(x[(r * width)..<((r + 1) * width)]), g = Array(dy[(r * width)..<((r + 1) * width)])
            let mean = row.reduce(0, +) / n
            let variance = row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / n
            let sigma = (variance + eps).squareRoot()
            let xhat = row.map { ($0 - mean) / sigma }
            let dxhat = (0..<width).map { g[$0] * gamma[$0] }
            // dL/dσ² and dL/dμ, then dx (Ioffe & Szegedy's derivation, for one row).
            let dvariance = (0..<width).reduce(0.0) { $0 + dxhat[$1] * (row[$1] - mean) } * -0.5 * Foundation.pow(variance + eps, -1.5)
            let dmean = (0..<width).reduce(0.0) { $0 - dxhat[$1] / sigma } + dvariance * (0..<width).reduce(0.0) { $0 - 2 * (row[$1] - mean) } / n
            for c in 0..<width {
                dx[r * width + c] = dxhat[c] / sigma + dvariance * 2 * (row[c] - mean) / n + dmean / n
                dgamma[c] += g[c] * xhat[c]
                dbeta[c] += g[c]
            }
        }
        return (dx, dgamma, dbeta)
    }

    public static func gelu(_ u: Double) -> Double { 0.5 * u * (1 + erf(u / 2.0.squareRoot())) }

    public static func geluDerivative(_ u: Double) -> Double {
        0.5 * (1 + erf(u / 2.0.squareRoot())) + u * Foundation.exp(-u * u / 2) / (2 * Double.pi).squareRoot()
    }

    /// One sequence, one head: `softmax(QKᵀ/√d)·V` with `q`, `k`, `v` as `length × d`.
    public static func attention(q: [Double], k: [Double], v: [Double], length: Int, d: Int) -> (context: [Double], probabilities: [Double]) {
        var p = [Double](repeating: 0, count: length * length), context = [Double](repeating: 0, count: length * d)
        for i in 0..<length {
            var scores = (0..<length).map { j in (0..<d).reduce(0.0) { $0 + q[i * d + $1] * k[j * d + $1] } / Double(d).squareRoot() }
            let top = scores.max()!
            scores = scores.map { Foundation.exp($0 - top) }
            let total = scores.reduce(0, +)
            for j in 0..<length { p[i * length + j] = scores[j] / total }
            for t in 0..<d { context[i * d + t] = (0..<length).reduce(0.0) { $0 + p[i * length + $1] * v[$1 * d + t] } }
        }
        return (context, p)
    }

    /// The gradients of `Σ dc·attention(q, k, v)`, from the softmax Jacobian written out in full.
    public static func attentionBackward(q: [Double], k: [Double], v: [Double], dc: [Double], length: Int, d: Int)
        -> (dq: [Double], dk: [Double], dv: [Double]) {
        let p = attention(q: q, k: k, v: v, length: length, d: d).probabilities
        let scale = 1 / Double(d).squareRoot()
        var dq = [Double](repeating: 0, count: length * d), dk = dq, dv = dq
        for i in 0..<length {
            let dp = (0..<length).map { j in (0..<d).reduce(0.0) { $0 + dc[i * d + $1] * v[j * d + $1] } }
            for j in 0..<length { for t in 0..<d { dv[j * d + t] += p[i * length + j] * dc[i * d + t] } }
            for j in 0..<length {
                // ∂p_ij/∂s_il = p_ij(δ_jl − p_il)
                var ds = 0.0
                for l in 0..<length { ds += dp[l] * p[i * length + l] * ((l == j ? 1 : 0) - p[i * length + j]) }
                for t in 0..<d {
                    dq[i * d + t] += ds * k[j * d + t] * scale
                    dk[j * d + t] += ds * q[i * d + t] * scale
                }
            }
        }
        return (dq, dk, dv)
    }
}
