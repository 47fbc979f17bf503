import Foundation
import FrontierEngine

/// A linear head on frozen features: `logits = W x + b`, one row of `W` per class (one row in
/// all for a regression output).
///
/// It is what a linear probe learns and what a checkpoint's `classifier.weight` /
/// `classifier.bias` (or an early-exit head) holds, in the same row-major `(classes,
/// features)` layout, so a trained probe is written or plugged in without transposing.
public struct LinearProbe: Sendable, Equatable {
    public var weight: [Float]  // (classes, features) row-major
    public var bias: [Float]    // (classes)
    public let classes: Int
    public let features: Int

    public init(weight: [Float], bias: [Float], classes: Int, features: Int) {
        precondition(classes >= 1 && features >= 1, "a probe needs at least one output and one feature")
        precondition(weight.count == classes * features, "weight holds \(weight.count) values, expected \(classes) × \(features)")
        precondition(bias.count == classes, "bias holds \(bias.count) values, expected \(classes)")
        self.weight = weight
        self.bias = bias
        self.classes = classes
        self.features = features
    }

    /// The outputs for one feature vector of `features` floats. Sums in Double, so the value
    /// does not depend on how a compiler orders a Float reduction.
    public func logits(_ x: UnsafePointer<Float>) -> [Float] {
        weight.withUnsafeBufferPointer { w in
            (0..<classes).map { c in
                let row = w.baseAddress! + c * features
                var sum = Double(bias[c])
                for j in 0..<features { sum += Double(row[j]) * Double(x[j]) }
                return Float(sum)
            }
        }
    }

    public func logits(_ x: [Float]) -> [Float] {
        precondition(x.count == features, "the probe reads \(features) features, got \(x.count)")
        return x.withUnsafeBufferPointer { logits($0.baseAddress!) }
    }

    /// The same head in the engine's early-exit form (it reads a layer's [CLS] row).
    public var exitHead: ExitHead { ExitHead(weight: weight, bias: bias) }
}

/// How a probe is trained. One objective for both kinds, with the examples weighted equally:
///
///     mean loss over the n examples + (l2 / 2) · ‖W‖²
///
/// where the loss is softmax cross-entropy (classifier) or half the squared error (regressor),
/// and the bias is never penalised (as in scikit-learn and in a fine-tuned head's weight
/// decay-free bias). There is no seed because nothing is random: the start is zero, every step
/// uses the whole training set, and sums run in a fixed order in Double, so the same inputs
/// give the same probe bit for bit.
public struct LinearProbeSettings: Sendable, Codable, Equatable {
    /// λ of the penalty above. With `standardize` it applies to the weights of the standardised
    /// features (scikit-learn's `StandardScaler` + `LogisticRegression(C = 1 / (λ n))`). Must be
    /// positive for a classifier on separable data, whose unpenalised optimum is at infinity.
    /// The default 0.01 was chosen on held-out SST-2 *train* examples (rows 60000–61999) with
    /// frozen MiniLM-L6 pooler features: best or tied from 600 to 10 000 training examples
    /// (1e-4 overfits small sets), and it converges in ~90 iterations instead of ~600.
    public var l2: Double
    /// Centre each feature and divide by its standard deviation before fitting (the returned
    /// probe reads raw features: the scaling is folded into W and b). Centring never changes
    /// the optimum because the bias is free; scaling does, through the penalty, and it makes
    /// the optimiser's problem far better conditioned. Constant features get weight 0.
    public var standardize: Bool
    /// L-BFGS iterations at most (classifier; the regressor is solved in closed form).
    public var maxIterations: Int
    /// Converged when every component of the objective's gradient is at most this in size.
    public var gradientTolerance: Double
    /// Correction pairs L-BFGS keeps (its memory).
    public var history: Int

    public init(l2: Double = 1e-2, standardize: Bool = true, maxIterations: Int = 1000,
                gradientTolerance: Double = 1e-6, history: Int = 10) {
        self.l2 = l2
        self.standardize = standardize
        self.maxIterations = maxIterations
        self.gradientTolerance = gradientTolerance
        self.history = history
    }

    /// Absent keys take the defaults, so a spec may set only what it changes.
    public init(from decoder: Decoder) throws {
        let defaults = LinearProbeSettings()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        l2 = try c.decodeIfPresent(Double.self, forKey: .l2) ?? defaults.l2
        standardize = try c.decodeIfPresent(Bool.self, forKey: .standardize) ?? defaults.standardize
        maxIterations = try c.decodeIfPresent(Int.self, forKey: .maxIterations) ?? defaults.maxIterations
        gradientTolerance = try c.decodeIfPresent(Double.self, forKey: .gradientTolerance) ?? defaults.gradientTolerance
        history = try c.decodeIfPresent(Int.self, forKey: .history) ?? defaults.history
    }

    public func validate() throws {
        guard l2.isFinite, l2 >= 0 else { throw TechniqueError.invalid("probe l2 must be a finite number ≥ 0; got \(l2)") }
        guard maxIterations >= 1 else { throw TechniqueError.invalid("probe max iterations must be at least 1; got \(maxIterations)") }
        guard gradientTolerance.isFinite, gradientTolerance > 0 else {
            throw TechniqueError.invalid("probe gradient tolerance must be positive; got \(gradientTolerance)")
        }
        guard history >= 1 else { throw TechniqueError.invalid("probe L-BFGS history must be at least 1; got \(history)") }
    }
}

/// A trained probe and how its optimisation ended, for the record of how a head was made.
public struct LinearProbeFit: Sendable {
    public enum Stop: String, Codable, Sendable {
        /// The gradient fell below `gradientTolerance`.
        case gradientTolerance = "gradient_tolerance"
        /// A step no longer lowered the objective measurably (relative change at the level of
        /// Double rounding): the optimum as far as the arithmetic can tell.
        case noProgress = "no_progress"
        /// `maxIterations` ran out first; the probe is usable but not at the optimum.
        case maxIterations = "max_iterations"
        /// Solved exactly (ridge regression).
        case closedForm = "closed_form"
    }

    public var probe: LinearProbe
    /// The penalised objective at the result.
    public var objective: Double
    /// Mean cross-entropy (classifier) or mean squared error (regressor) on the training set.
    public var loss: Double
    /// Largest gradient component at the result (0 for the closed form).
    public var gradientMax: Double
    public var iterations: Int
    /// Objective evaluations (line-search trials included).
    public var evaluations: Int
    public var stop: Stop

    public var converged: Bool { stop != .maxIterations }
}

/// Fits linear probes on frozen features, deterministically.
///
/// The classifier is multinomial logistic regression minimised by full-batch L-BFGS with an
/// Armijo backtracking line search. With d = 384 features and a few classes the problem is a
/// strictly convex function of ~1 k parameters: L-BFGS reaches the optimum to gradient 1e-6
/// in a few hundred passes over the data, where SGD would need a learning-rate schedule and
/// would not land on a reproducible point, and Newton would pay a (K·d)² Hessian per step.
/// Strict convexity (l2 > 0) also makes every curvature pair positive, so plain backtracking
/// keeps the L-BFGS matrix positive definite without a Wolfe search. The regressor (ridge) has
/// a closed form, solved with a Cholesky factorisation of the d × d normal equations.
public enum LinearProbeTrainer {
    /// Multinomial logistic regression (softmax cross-entropy) with L2, deterministic.
    ///
    /// - Parameters:
    ///   - features: `(n, d)` row-major, `d = features.count / labels.count`.
    ///   - labels: class indices in `0..<classes`; every class must occur (an absent class's
    ///     free bias would run off to −∞).
    public static func classifier(features: [Float], labels: [Int], classes: Int,
                                  settings: LinearProbeSettings = LinearProbeSettings()) throws -> LinearProbe {
        try fitClassifier(features: features, labels: labels, classes: classes, settings: settings).probe
    }

    /// Least squares (ridge) regression for one output (STS-B).
    public static func regressor(features: [Float], targets: [Double],
                                 settings: LinearProbeSettings = LinearProbeSettings()) throws -> LinearProbe {
        try fitRegressor(features: features, targets: targets, settings: settings).probe
    }

    /// `classifier`, with how the optimisation went.
    public static func fitClassifier(features: [Float], labels: [Int], classes: Int,
                                     settings: LinearProbeSettings = LinearProbeSettings()) throws -> LinearProbeFit {
        try settings.validate()
        let n = labels.count
        let d = try featureCount(features, examples: n)
        guard classes >= 2 else { throw TechniqueError.invalid("a probe classifier needs at least 2 classes; got \(classes)") }
        var counts = [Int](repeating: 0, count: classes)
        for (index, label) in labels.enumerated() {
            guard (0..<classes).contains(label) else {
                throw TechniqueError.invalid("label \(label) of example \(index) is outside 0..<\(classes)")
            }
            counts[label] += 1
        }
        if let missing = counts.firstIndex(of: 0) {
            throw TechniqueError.needsData("class \(missing) has no training example (counts per class: \(counts)); a probe cannot learn a class it never sees")
        }
        return features.withUnsafeBufferPointer { x in
            let scaling = FeatureScaling(x, rows: n, columns: d, standardize: settings.standardize)
            let objective = SoftmaxObjective(x: x, rows: n, columns: d, classes: classes, labels: labels,
                                             scaling: scaling, l2: settings.l2)
            let result = LBFGS.minimize(parameters: classes * d + classes, settings: settings) { theta, gradient in
                objective.evaluate(theta, gradient: &gradient)
            }
            let probe = scaling.fold(weights: Array(result.theta[0..<(classes * d)]),
                                     bias: Array(result.theta[(classes * d)...]), outputs: classes)
            let penalty = 0.5 * settings.l2 * result.theta[0..<(classes * d)].reduce(0) { $0 + $1 * $1 }
            return LinearProbeFit(probe: probe, objective: result.value, loss: result.value - penalty,
                                  gradientMax: result.gradientMax, iterations: result.iterations,
                                  evaluations: result.evaluations, stop: result.stop)
        }
    }

    /// `regressor`, with its objective and training error.
    ///
    /// Solves `(ZᵀZ / n + λ I) w = Zᵀ(y − ȳ) / n` for the centred (and, with `standardize`,
    /// scaled) features Z; the bias is then ȳ minus the weighted feature means. λ = 0 is
    /// ordinary least squares and fails, naming the cause, when the features are collinear or
    /// fewer than the examples.
    public static func fitRegressor(features: [Float], targets: [Double],
                                    settings: LinearProbeSettings = LinearProbeSettings()) throws -> LinearProbeFit {
        try settings.validate()
        let n = targets.count
        let d = try featureCount(features, examples: n)
        if let bad = targets.firstIndex(where: { !$0.isFinite }) {
            throw TechniqueError.invalid("target \(bad) is not a finite number (\(targets[bad]))")
        }
        return try features.withUnsafeBufferPointer { x in
            let scaling = FeatureScaling(x, rows: n, columns: d, standardize: settings.standardize)
            let meanTarget = targets.reduce(0, +) / Double(n)
            // Normal equations in the scaled coordinates, upper triangle accumulated row by row.
            var gram = [Double](repeating: 0, count: d * d)
            var rhs = [Double](repeating: 0, count: d)
            var centred = [Double](repeating: 0, count: d)
            gram.withUnsafeMutableBufferPointer { g in
                rhs.withUnsafeMutableBufferPointer { rhs in
                    centred.withUnsafeMutableBufferPointer { c in
                        for i in 0..<n {
                            let row = x.baseAddress! + i * d
                            for j in 0..<d { c[j] = (Double(row[j]) - scaling.mean[j]) * scaling.scale[j] }
                            let residual = targets[i] - meanTarget
                            for j in 0..<d {
                                let cj = c[j]
                                rhs[j] += cj * residual
                                if cj == 0 { continue }
                                let line = g.baseAddress! + j * d
                                for l in j..<d { line[l] += cj * c[l] }
                            }
                        }
                    }
                }
            }
            let inverseN = 1 / Double(n)
            for j in 0..<d {
                rhs[j] *= inverseN
                for l in j..<d { gram[j * d + l] = gram[j * d + l] * inverseN }
                gram[j * d + j] += settings.l2
                // A constant feature has a zero row and column; pin its weight at 0.
                if scaling.scale[j] == 0 { gram[j * d + j] = 1 }
            }
            guard let w = Cholesky.solve(upper: gram, size: d, rhs: rhs) else {
                throw TechniqueError.invalid(settings.l2 == 0
                    ? "least squares has no unique solution: the \(d) features are collinear (or there are fewer than \(d + 1) examples, here \(n)); use l2 > 0"
                    : "ridge normal equations are not positive definite (l2 \(settings.l2)); the features may contain huge values")
            }
            let probe = scaling.fold(weights: w, bias: [meanTarget], outputs: 1)
            // Training error in Double with the unrounded solution.
            var squared = 0.0
            for i in 0..<n {
                let row = x.baseAddress! + i * d
                var prediction = meanTarget
                for j in 0..<d { prediction += w[j] * (Double(row[j]) - scaling.mean[j]) * scaling.scale[j] }
                squared += (targets[i] - prediction) * (targets[i] - prediction)
            }
            let mse = squared / Double(n)
            let penalty = 0.5 * settings.l2 * w.reduce(0) { $0 + $1 * $1 }
            return LinearProbeFit(probe: probe, objective: 0.5 * mse + penalty, loss: mse, gradientMax: 0,
                                  iterations: 0, evaluations: 1, stop: .closedForm)
        }
    }

    private static func featureCount(_ features: [Float], examples n: Int) throws -> Int {
        guard n >= 1 else { throw TechniqueError.needsData("a probe needs at least one training example") }
        guard !features.isEmpty, features.count % n == 0 else {
            throw TechniqueError.invalid("\(features.count) feature values do not split into \(n) equal rows")
        }
        if let bad = features.firstIndex(where: { !$0.isFinite }) {
            throw TechniqueError.invalid("feature \(bad % (features.count / n)) of example \(bad / (features.count / n)) is not finite (\(features[bad]))")
        }
        return features.count / n
    }
}

/// Per-feature centring and scaling, and folding a model fitted on scaled features back into
/// one that reads raw ones: `w_raw = w · s`, `b_raw = b − Σ w_raw · μ`.
private struct FeatureScaling {
    var mean: [Double]
    /// 1/σ with standardisation (0 for a constant feature), else 1.
    var scale: [Double]

    init(_ x: UnsafeBufferPointer<Float>, rows n: Int, columns d: Int, standardize: Bool) {
        var sum = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { sum[j] += Double(x[i * d + j]) } }
        mean = sum.map { $0 / Double(n) }
        guard standardize else {
            scale = [Double](repeating: 1, count: d)
            return
        }
        var squares = [Double](repeating: 0, count: d)
        for i in 0..<n {
            for j in 0..<d {
                let delta = Double(x[i * d + j]) - mean[j]
                squares[j] += delta * delta
            }
        }
        // scikit-learn's rule for "constant": σ below 10 ulps of the feature's magnitude.
        scale = zip(squares, mean).map { squares, mean in
            let sigma = (squares / Double(n)).squareRoot()
            return sigma <= 10 * Double.ulpOfOne * max(abs(mean), 1) ? 0 : 1 / sigma
        }
    }

    func fold(weights w: [Double], bias b: [Double], outputs k: Int) -> LinearProbe {
        let d = mean.count
        var weight = [Float](repeating: 0, count: k * d)
        var bias = [Float](repeating: 0, count: k)
        for c in 0..<k {
            var offset = b[c]
            for j in 0..<d {
                let raw = w[c * d + j] * scale[j]
                weight[c * d + j] = Float(raw)
                offset -= raw * mean[j]
            }
            bias[c] = Float(offset)
        }
        return LinearProbe(weight: weight, bias: bias, classes: k, features: d)
    }
}

/// Mean softmax cross-entropy plus (λ/2)‖W‖² over parameters θ = [W (K × d) | b (K)] in the
/// scaled coordinates z = (x − μ)·s, evaluated on the raw Float rows without a scaled copy:
/// `W z + b = (W ∘ s) x + (b − (W ∘ s) μ)`.
private struct SoftmaxObjective {
    let x: UnsafeBufferPointer<Float>
    let rows: Int, columns: Int, classes: Int
    let labels: [Int]
    let scaling: FeatureScaling
    let l2: Double

    func evaluate(_ theta: [Double], gradient: inout [Double]) -> Double {
        let n = rows, d = columns, k = classes
        // Effective raw-space weights and offsets.
        var v = [Double](repeating: 0, count: k * d)
        var offset = [Double](repeating: 0, count: k)
        for c in 0..<k {
            var o = theta[k * d + c]
            for j in 0..<d {
                v[c * d + j] = theta[c * d + j] * scaling.scale[j]
                o -= v[c * d + j] * scaling.mean[j]
            }
            offset[c] = o
        }
        var accumulated = [Double](repeating: 0, count: k * d)  // Σ_i r_ic x_i
        var residualSum = [Double](repeating: 0, count: k)      // Σ_i r_ic
        var z = [Double](repeating: 0, count: k)
        var loss = 0.0
        v.withUnsafeBufferPointer { v in
            accumulated.withUnsafeMutableBufferPointer { acc in
                for i in 0..<n {
                    let row = x.baseAddress! + i * d
                    var top = -Double.infinity
                    for c in 0..<k {
                        z[c] = offset[c] + Self.dot(v.baseAddress! + c * d, row, d)
                        top = max(top, z[c])
                    }
                    var total = 0.0
                    for c in 0..<k { total += Foundation.exp(z[c] - top) }
                    let logSum = top + Foundation.log(total)
                    let label = labels[i]
                    loss += logSum - z[label]
                    for c in 0..<k {
                        let r = Foundation.exp(z[c] - logSum) - (c == label ? 1 : 0)
                        residualSum[c] += r
                        let target = acc.baseAddress! + c * d
                        for j in 0..<d { target[j] += r * Double(row[j]) }
                    }
                }
            }
        }
        let inverseN = 1 / Double(n)
        var penalty = 0.0
        for c in 0..<k {
            for j in 0..<d {
                let w = theta[c * d + j]
                penalty += w * w
                gradient[c * d + j] = scaling.scale[j] * (accumulated[c * d + j] - scaling.mean[j] * residualSum[c]) * inverseN + l2 * w
            }
            gradient[k * d + c] = residualSum[c] * inverseN
        }
        return loss * inverseN + 0.5 * l2 * penalty
    }

    /// Four partial sums in a fixed order: deterministic, and not bound by one add's latency.
    @inline(__always)
    static func dot(_ w: UnsafePointer<Double>, _ x: UnsafePointer<Float>, _ count: Int) -> Double {
        var s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0
        var j = 0
        while j + 4 <= count {
            s0 += w[j] * Double(x[j])
            s1 += w[j + 1] * Double(x[j + 1])
            s2 += w[j + 2] * Double(x[j + 2])
            s3 += w[j + 3] * Double(x[j + 3])
            j += 4
        }
        while j < count {
            s0 += w[j] * Double(x[j])
            j += 1
        }
        return (s0 + s1) + (s2 + s3)
    }
}

/// Limited-memory BFGS (Nocedal & Wright, Algorithm 7.4 and 7.5) from θ = 0 with Armijo
/// backtracking. The first step is scaled to unit length; later ones try the full quasi-Newton
/// step first, which is almost always accepted.
private enum LBFGS {
    struct Result {
        var theta: [Double]
        var value: Double
        var gradientMax: Double
        var iterations: Int
        var evaluations: Int
        var stop: LinearProbeFit.Stop
    }

    static func minimize(parameters p: Int, settings: LinearProbeSettings,
                         _ evaluate: ([Double], inout [Double]) -> Double) -> Result {
        var theta = [Double](repeating: 0, count: p)
        var gradient = [Double](repeating: 0, count: p)
        var value = evaluate(theta, &gradient)
        var evaluations = 1
        var steps: [[Double]] = [], changes: [[Double]] = [], rho: [Double] = []
        var trial = theta, trialGradient = gradient
        var iterations = 0
        var stop = LinearProbeFit.Stop.maxIterations

        while true {
            if maxAbs(gradient) <= settings.gradientTolerance { stop = .gradientTolerance; break }
            if iterations >= settings.maxIterations { stop = .maxIterations; break }
            iterations += 1

            var direction = twoLoop(gradient, steps: steps, changes: changes, rho: rho)
            var slope = dot(gradient, direction)
            if !(slope < 0) {
                // Not a descent direction (only possible without curvature, l2 = 0): restart.
                steps.removeAll(); changes.removeAll(); rho.removeAll()
                direction = gradient.map { -$0 }
                slope = -dot(gradient, gradient)
            }
            var t = steps.isEmpty ? min(1, 1 / dot(gradient, gradient).squareRoot()) : 1
            var accepted = false
            var trialValue = value
            for _ in 0..<60 {
                for i in 0..<p { trial[i] = theta[i] + t * direction[i] }
                trialValue = evaluate(trial, &trialGradient)
                evaluations += 1
                if trialValue.isFinite && trialValue <= value + 1e-4 * t * slope { accepted = true; break }
                // Minimiser of the quadratic through f(0), f'(0) and f(t), kept within [t/10, t/2].
                let curvature = trialValue.isFinite ? (trialValue - value - slope * t) : .infinity
                let quadratic = curvature > 0 ? -slope * t * t / (2 * curvature) : 0.5 * t
                t = min(max(quadratic, 0.1 * t), 0.5 * t)
            }
            guard accepted else { stop = .noProgress; break }

            let decrease = value - trialValue
            var step = [Double](repeating: 0, count: p), change = [Double](repeating: 0, count: p)
            for i in 0..<p {
                step[i] = trial[i] - theta[i]
                change[i] = trialGradient[i] - gradient[i]
            }
            let curvature = dot(step, change)
            if curvature > 1e-12 * dot(change, change).squareRoot() * dot(step, step).squareRoot() {
                steps.append(step); changes.append(change); rho.append(1 / curvature)
                if steps.count > settings.history {
                    steps.removeFirst(); changes.removeFirst(); rho.removeFirst()
                }
            }
            swap(&theta, &trial)
            swap(&gradient, &trialGradient)
            value = trialValue
            // scipy's L-BFGS-B `factr` test at 64 ulps: below that the objective cannot tell
            // steps apart in Double.
            if decrease <= 64 * Double.ulpOfOne * max(abs(value), 1) {
                stop = maxAbs(gradient) <= settings.gradientTolerance ? .gradientTolerance : .noProgress
                break
            }
        }
        return Result(theta: theta, value: value, gradientMax: maxAbs(gradient), iterations: iterations,
                      evaluations: evaluations, stop: stop)
    }

    /// −H g for the inverse-Hessian approximation H built from the stored pairs, with the
    /// initial scaling γ = sᵀy / yᵀy of the newest pair.
    static func twoLoop(_ gradient: [Double], steps: [[Double]], changes: [[Double]], rho: [Double]) -> [Double] {
        var q = gradient
        var alpha = [Double](repeating: 0, count: steps.count)
        for i in steps.indices.reversed() {
            alpha[i] = rho[i] * dot(steps[i], q)
            for j in q.indices { q[j] -= alpha[i] * changes[i][j] }
        }
        if let s = steps.last, let y = changes.last {
            let gamma = dot(s, y) / dot(y, y)
            for j in q.indices { q[j] *= gamma }
        }
        for i in steps.indices {
            let beta = rho[i] * dot(changes[i], q)
            for j in q.indices { q[j] += steps[i][j] * (alpha[i] - beta) }
        }
        return q.map { -$0 }
    }

    static func dot(_ a: [Double], _ b: [Double]) -> Double {
        var sum = 0.0
        for i in a.indices { sum += a[i] * b[i] }
        return sum
    }

    static func maxAbs(_ a: [Double]) -> Double { a.reduce(0) { max($0, abs($1)) } }
}

/// Solves A x = b for symmetric positive-definite A given by its upper triangle (row-major,
/// `size × size`); nil when a pivot is not clearly positive (A singular or indefinite).
enum Cholesky {
    static func solve(upper a: [Double], size d: Int, rhs b: [Double]) -> [Double]? {
        // A = Rᵀ R with R upper triangular, computed in place row by row.
        var r = a
        let largest = (0..<d).map { a[$0 * d + $0] }.max() ?? 0
        // Relative to the largest diagonal: below 1e-12 of it the solution is noise in Double.
        let floor = max(largest, Double.leastNormalMagnitude) * 1e-12
        for i in 0..<d {
            var pivot = r[i * d + i]
            for k in 0..<i { pivot -= r[k * d + i] * r[k * d + i] }
            guard pivot > floor else { return nil }
            let diagonal = pivot.squareRoot()
            r[i * d + i] = diagonal
            for j in (i + 1)..<d {
                var value = r[i * d + j]
                for k in 0..<i { value -= r[k * d + i] * r[k * d + j] }
                r[i * d + j] = value / diagonal
            }
        }
        // Rᵀ y = b, then R x = y.
        var y = b
        for i in 0..<d {
            var value = y[i]
            for k in 0..<i { value -= r[k * d + i] * y[k] }
            y[i] = value / r[i * d + i]
        }
        var x = y
        for i in stride(from: d - 1, through: 0, by: -1) {
            var value = x[i]
            for k in (i + 1)..<d { value -= r[i * d + k] * x[k] }
            x[i] = value / r[i * d + i]
        }
        return x
    }
}
