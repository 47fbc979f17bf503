import Foundation
import Testing
@testable import FrontierSupport
@testable import FrontierTasks
@testable import FrontierTechniques


/// The probe trainer against optima known without it: the stationarity conditions of the
/// objective, a Newton solve of the equivalent binary problem, the closed-form bias-only
/// optimum, and exact least squares.
@Suite struct LinearProbeTests {
    /// `classes` Gaussian blobs in `d` dimensions; `spread` is the noise around each centre.
    static func blobs(n: Int, d: Int, classes: Int, spread: Float, seed: UInt64) -> (features: [Float], labels: [Int]) {
        var rng = SplitMix64(seed: seed)
        let centres = (0..<(classes * d)).map { _ in rng.uniform(-3, 3) }
        var features: [Float] = [], labels: [Int] = []
        for i in 0..<n {
            let label = i % classes
            labels.append(label)
            for j in 0..<d { features.append(centres[label * d + j] + spread * (rng.uniform(-1, 1) + rng.uniform(-1, 1))) }
        }
        return (features, labels)
    }

    static func accuracy(_ probe: LinearProbe, _ features: [Float], _ labels: [Int]) -> Double {
        let d = probe.features
        let correct = labels.indices.filter { i in
            GlueEvaluator.argmax(probe.logits(Array(features[(i * d)..<((i + 1) * d)]))) == labels[i]
        }.count
        return Double(correct) / Double(labels.count)
    }

    /// ∂/∂W and ∂/∂b of mean cross-entropy + (λ/2)‖W‖² in raw coordinates, at the probe.
    static func gradient(_ probe: LinearProbe, _ features: [Float], _ labels: [Int], l2: Double) -> [Double] {
        let k = probe.classes, d = probe.features, n = labels.count
        var g = [Double](repeating: 0, count: k * d + k)
        for i in 0..<n {
            let x = Array(features[(i * d)..<((i + 1) * d)])
            let z = probe.logits(x).map(Double.init)
            let top = z.max()!
            let total = z.reduce(0) { $0 + exp($1 - top) }
            for c in 0..<k {
                let r = exp(z[c] - top) / total - (c == labels[i] ? 1 : 0)
                for j in 0..<d { g[c * d + j] += r * Double(x[j]) / Double(n) }
                g[k * d + c] += r / Double(n)
            }
        }
        for index in 0..<(k * d) { g[index] += l2 * Double(probe.weight[index]) }
        return g
    }

    @Test func separableClassesAreFitExactlyAtAStationaryPoint() throws {
        let (x, y) = Self.blobs(n: 300, d: 8, classes: 3, spread: 0.3, seed: 1)
        let settings = LinearProbeSettings(l2: 1e-3, standardize: false)
        let fit = try LinearProbeTrainer.fitClassifier(features: x, labels: y, classes: 3, settings: settings)
        #expect(fit.stop == .gradientTolerance, "stopped by \(fit.stop) after \(fit.iterations) iterations")
        #expect(fit.gradientMax <= settings.gradientTolerance)
        #expect(Self.accuracy(fit.probe, x, y) == 1)
        // Checked independently of the trainer's own gradient, at the Float-rounded probe.
        let g = Self.gradient(fit.probe, x, y, l2: settings.l2)
        #expect(g.map(abs).max()! < 1e-4, "largest gradient component \(g.map(abs).max()!)")
        #expect(fit.loss > 0 && fit.loss < 0.1)
    }

    @Test func binaryProbeMatchesNewtonOnTheEquivalentLogisticRegression() throws {
        // Overlapping classes, so the optimum is finite and well inside the data.
        let (x, y) = Self.blobs(n: 400, d: 3, classes: 2, spread: 2.5, seed: 2)
        let l2 = 0.02
        let probe = try LinearProbeTrainer.classifier(features: x, labels: y, classes: 2,
                                                      settings: LinearProbeSettings(l2: l2, standardize: false))
        // With W = [w0; w1] the loss depends on u = w1 − w0 only, and the smallest penalty for a
        // given u is at w1 = −w0 = u/2: (λ/2)(‖w0‖² + ‖w1‖²) = (λ/4)‖u‖². So u and c = b1 − b0
        // minimise the binary logistic loss with ridge μ = λ/2, which Newton solves exactly.
        let d = 3, n = y.count, mu = l2 / 2
        var theta = [Double](repeating: 0, count: d + 1)  // u, then c (unpenalised)
        for _ in 0..<30 {
            var g = [Double](repeating: 0, count: d + 1)
            var h = [Double](repeating: 0, count: (d + 1) * (d + 1))
            for i in 0..<n {
                let row = (0..<d).map { Double(x[i * d + $0]) } + [1]
                let z = zip(theta, row).reduce(0) { $0 + $1.0 * $1.1 }
                let p = 1 / (1 + exp(-z))
                for a in 0...d {
                    g[a] += (p - Double(y[i])) * row[a] / Double(n)
                    for b in 0...d { h[a * (d + 1) + b] += p * (1 - p) * row[a] * row[b] / Double(n) }
                }
            }
            for a in 0..<d { g[a] += mu * theta[a]; h[a * (d + 1) + a] += mu }
            let step = try #require(Cholesky.solve(upper: h, size: d + 1, rhs: g))
            for a in 0...d { theta[a] -= step[a] }
        }
        for j in 0..<d {
            let u = Double(probe.weight[d + j] - probe.weight[j])
            #expect(abs(u - theta[j]) < 1e-4, "u[\(j)] = \(u), Newton \(theta[j])")
            #expect(abs(Double(probe.weight[d + j] + probe.weight[j])) < 1e-5, "the two rows should be opposite")
        }
        #expect(abs(Double(probe.bias[1] - probe.bias[0]) - theta[d]) < 1e-4)
    }

    @Test func constantFeaturesLeaveTheLogFrequenciesInTheBias() throws {
        let counts = [10, 20, 70]
        let labels = counts.enumerated().flatMap { [Int](repeating: $0.offset, count: $0.element) }
        let features = [Float](repeating: 1.5, count: labels.count * 2)
        let probe = try LinearProbeTrainer.classifier(features: features, labels: labels, classes: 3)
        #expect(probe.weight.allSatisfy { $0 == 0 }, "constant features must get weight 0")
        let exps = probe.bias.map { exp(Double($0)) }
        for (c, count) in counts.enumerated() {
            #expect(abs(exps[c] / exps.reduce(0, +) - Double(count) / 100) < 1e-6)
        }
        // The free bias is only defined up to a constant; starting from 0 it stays centred.
        #expect(abs(probe.bias.reduce(0, +)) < 1e-5)
    }

    @Test func standardisationIsFoldedIntoTheProbe() throws {
        // Features on wildly different scales: the probe fitted with `standardize` must read raw
        // features and agree with one fitted on features standardised by hand.
        var (x, y) = Self.blobs(n: 200, d: 4, classes: 2, spread: 2, seed: 3)
        let scales: [Float] = [1000, 0.001, 1, 30]
        for i in x.indices { x[i] = x[i] * scales[i % 4] + Float(i % 4) * 5 }
        let settings = LinearProbeSettings(l2: 0.01)
        let folded = try LinearProbeTrainer.classifier(features: x, labels: y, classes: 2, settings: settings)

        let n = y.count, d = 4
        var mean = [Double](repeating: 0, count: d), sd = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(x[i * d + j]) / Double(n) } }
        for i in 0..<n { for j in 0..<d { sd[j] += pow(Double(x[i * d + j]) - mean[j], 2) / Double(n) } }
        let z = x.indices.map { Float((Double(x[$0]) - mean[$0 % d]) / sd[$0 % d].squareRoot()) }
        var manual = settings
        manual.standardize = false
        let plain = try LinearProbeTrainer.classifier(features: z, labels: y, classes: 2, settings: manual)
        for i in 0..<n {
            let a = folded.logits(Array(x[(i * d)..<((i + 1) * d)])), b = plain.logits(Array(z[(i * d)..<((i + 1) * d)]))
            #expect(zip(a, b).allSatisfy { abs($0 - $1) < 2e-3 }, "example \(i): \(a) vs \(b)")
        }
    }

    @Test func trainingIsDeterministic() throws {
        let (x, y) = Self.blobs(n: 150, d: 6, classes: 3, spread: 1.5, seed: 4)
        let first = try LinearProbeTrainer.classifier(features: x, labels: y, classes: 3)
        let second = try LinearProbeTrainer.classifier(features: x, labels: y, classes: 3)
        #expect(first == second)
        #expect(first.exitHead.weight == first.weight && first.exitHead.bias == first.bias)
    }

    @Test func ridgeRecoversAnExactLinearTarget() throws {
        var rng = SplitMix64(seed: 5)
        let n = 60, d = 5
        let beta: [Double] = [0.5, -2, 0, 3.25, 1], intercept = 0.75
        let x = (0..<(n * d)).map { _ in rng.uniform(-2, 2) }
        let y = (0..<n).map { i in intercept + (0..<d).reduce(0) { $0 + beta[$1] * Double(x[i * d + $1]) } }
        for standardize in [false, true] {
            let fit = try LinearProbeTrainer.fitRegressor(features: x, targets: y,
                                                          settings: LinearProbeSettings(l2: 0, standardize: standardize))
            #expect(fit.stop == .closedForm && fit.loss < 1e-10)
            #expect(fit.probe.classes == 1 && fit.probe.features == d)
            for j in 0..<d { #expect(abs(Double(fit.probe.weight[j]) - beta[j]) < 1e-5) }
            #expect(abs(Double(fit.probe.bias[0]) - intercept) < 1e-5)
        }
    }

    @Test func ridgeSolvesItsNormalEquations() throws {
        var rng = SplitMix64(seed: 6)
        let n = 80, d = 6, l2 = 0.3
        let x = (0..<(n * d)).map { _ in rng.uniform(-1, 1) }
        let y = (0..<n).map { i in Double(x[i * d]) * 2 - Double(x[i * d + 3]) + Double(rng.uniform(-0.5, 0.5)) }
        let probe = try LinearProbeTrainer.regressor(features: x, targets: y, settings: LinearProbeSettings(l2: l2, standardize: false))
        // (XcᵀXc / n + λ I) w = Xcᵀ (y − ȳ) / n, checked directly on the centred data.
        let mean = (0..<d).map { j in (0..<n).reduce(0.0) { $0 + Double(x[$1 * d + j]) } / Double(n) }
        let meanY = y.reduce(0, +) / Double(n)
        let w = probe.weight.map(Double.init)
        for j in 0..<d {
            var lhs = l2 * w[j], rhs = 0.0
            for i in 0..<n {
                let cj = Double(x[i * d + j]) - mean[j]
                lhs += cj * (0..<d).reduce(0) { $0 + (Double(x[i * d + $1]) - mean[$1]) * w[$1] } / Double(n)
                rhs += cj * (y[i] - meanY) / Double(n)
            }
            #expect(abs(lhs - rhs) < 1e-6, "normal equation \(j): \(lhs) vs \(rhs)")
        }
        let meanPrediction = (0..<n).reduce(0.0) { $0 + Double(probe.logits(Array(x[($1 * d)..<(($1 + 1) * d)]))[0]) } / Double(n)
        #expect(abs(meanPrediction - meanY) < 1e-5, "the free intercept makes the mean residual zero")
    }

    @Test func badInputsAreNamedErrors() throws {
        let x: [Float] = [0, 1, 1, 0, 2, 2]
        #expect(throws: TechniqueError.invalid("label 2 of example 1 is outside 0..<2")) {
            try LinearProbeTrainer.classifier(features: x, labels: [0, 2, 1], classes: 2)
        }
        #expect(throws: TechniqueError.needsData("class 1 has no training example (counts per class: [3, 0]); a probe cannot learn a class it never sees")) {
            try LinearProbeTrainer.classifier(features: x, labels: [0, 0, 0], classes: 2)
        }
        #expect(throws: TechniqueError.invalid("6 feature values do not split into 4 equal rows")) {
            try LinearProbeTrainer.classifier(features: x, labels: [0, 1, 0, 1], classes: 2)
        }
        #expect(throws: TechniqueError.invalid("feature 1 of example 2 is not finite (nan)")) {
            try LinearProbeTrainer.regressor(features: [0, 1, 1, 0, 2, .nan], targets: [0, 1, 2])
        }
        #expect(throws: TechniqueError.invalid("probe l2 must be a finite number ≥ 0; got -1.0")) {
            try LinearProbeTrainer.classifier(features: x, labels: [0, 1, 0], classes: 2, settings: LinearProbeSettings(l2: -1))
        }
        // Three examples cannot determine three weights and a bias without a penalty.
        do {
            _ = try LinearProbeTrainer.regressor(features: [1, 2, 3, 4, 5, 6, 7, 8, 10], targets: [1, 2, 3],
                                                 settings: LinearProbeSettings(l2: 0, standardize: false))
            Issue.record("expected a singular least-squares error")
        } catch let error as TechniqueError {
            #expect(error.description.contains("collinear") && error.description.contains("l2 > 0"), "\(error)")
        }
    }

    @Test func settingsDecodeWithDefaults() throws {
        let settings = try JSONCoding.decoder.decode(LinearProbeSettings.self, from: Data(#"{"l2": 0.5}"#.utf8))
        var expected = LinearProbeSettings()
        expected.l2 = 0.5
        #expect(settings == expected)
        let roundTrip = try JSONCoding.decoder.decode(LinearProbeSettings.self, from: JSONCoding.encoder.encode(expected))
        #expect(roundTrip == expected)
    }
}
