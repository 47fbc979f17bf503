import Foundation

/// AdamW's hyper-parameters, `torch.optim.AdamW`'s defaults except the weight decay, which is
/// transformers' fine-tuning default (0.01).
public struct AdamWSettings: Sendable, Equatable, Codable {
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var weightDecay: Float = 0.01

    public init(beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0.01) {
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
    }
}

/// AdamW (Loshchilov & Hutter) as `torch.optim.AdamW` computes it, element by element:
///
///     p ← p·(1 − lr·λ)                    (decaying slots only)
///     m ← m + (1 − β₁)(g − m)             (torch's `lerp_`)
///     v ← β₂·v + (1 − β₂)·g²
///     p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)
///
/// Only the slots that train are touched (frozen ones keep their values, and get no decay, as
/// when PyTorch's optimiser is given only the parameters that require gradients). The moments
/// are `ParameterVector`s in the parameters' layout, so they checkpoint and resume as values.
public struct AdamW: Sendable, Equatable {
    public var settings: AdamWSettings
    public var firstMoment: ParameterVector
    public var secondMoment: ParameterVector
    /// Updates taken so far (`t` of the bias corrections).
    public var step: Int

    public init(settings: AdamWSettings, layout: ParameterLayout) {
        self.settings = settings
        firstMoment = ParameterVector(zeros: layout)
        secondMoment = ParameterVector(zeros: layout)
        step = 0
    }

    /// One update of `parameters` by `gradients` at `learningRate`, on the slots `trains` admits.
    public mutating func update(_ parameters: inout ParameterVector, gradients: ParameterVector, learningRate: Float,
                                threads: Int = 1, trains: (ParameterLayout.Slot) -> Bool = { _ in true }) {
        precondition(parameters.layout == firstMoment.layout && gradients.layout == firstMoment.layout, "AdamW: layouts differ")
        step += 1
        let s = settings, t = Float(step)
        let correction1 = 1 - Foundation.pow(s.beta1, t), correction2 = 1 - Foundation.pow(s.beta2, t)
        let stepSize = learningRate / correction1, correction2Root = correction2.squareRoot()
        let slots = parameters.layout.slots.filter(trains)
        parameters.values.withUnsafeMutableBufferPointer { pBuffer in
            firstMoment.values.withUnsafeMutableBufferPointer { mBuffer in
                secondMoment.values.withUnsafeMutableBufferPointer { vBuffer in
                    gradients.values.withUnsafeBufferPointer { gBuffer in
                        let p = pBuffer.baseAddress!, m = mBuffer.baseAddress!, v = vBuffer.baseAddress!, g = gBuffer.baseAddress!
                        for slot in slots {
                            let decay: Float = slot.decays ? 1 - learningRate * s.weightDecay : 1
                            TrainingKernels.chunks(slot.count, threads: slot.count >= 1 << 16 ? threads : 1) { _, range in
                                let o = slot.offset + range.lowerBound
                                Self.kernel(p + o, m + o, v + o, g + o, count: range.count, decay: decay, beta1: s.beta1, beta2: s.beta2,
                                            stepSize: stepSize, correction2Root: correction2Root, epsilon: s.epsilon)
                            }
                        }
                    }
                }
            }
        }
    }

    @inline(__always)
    static func kernel(_ p: UnsafeMutablePointer<Float>, _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>,
                       _ g: UnsafePointer<Float>, count: Int, decay: Float, beta1: Float, beta2: Float, stepSize: Float,
                       correction2Root: Float, epsilon: Float) {
        let oneMinusBeta1 = 1 - beta1, oneMinusBeta2 = 1 - beta2
        for i in 0..<count {
            let grad = g[i]
            let param = p[i] * decay
            let first = m[i] + oneMinusBeta1 * (grad - m[i])
            let second = beta2 * v[i] + oneMinusBeta2 * grad * grad
            m[i] = first
            v[i] = second
            p[i] = param - stepSize * (first / (second.squareRoot() / correction2Root + epsilon))
        }
    }
}

/// `clip_grad_norm_`: scales the gradients of `slots` so their global L2 norm is at most
/// `maxNorm` (coefficient `maxNorm / (norm + 1e-6)`, clamped to 1); returns the norm before.
public func clipGradientNorm(_ gradients: inout ParameterVector, maxNorm: Float, slots: [ParameterLayout.Slot]) -> Float {
    var sum = 0.0
    gradients.values.withUnsafeBufferPointer { g in
        for slot in slots {
            var partial = 0.0
            for i in slot.range { partial += Double(g[i]) * Double(g[i]) }
            sum += partial
        }
    }
    let norm = Float(sum.squareRoot())
    let coefficient = maxNorm / (norm + 1e-6)
    if coefficient < 1 {
        gradients.values.withUnsafeMutableBufferPointer { g in
            for slot in slots { for i in slot.range { g[i] *= coefficient } }
        }
    }
    return norm
}
