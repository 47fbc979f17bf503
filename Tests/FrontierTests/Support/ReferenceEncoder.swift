import Foundation
@testable import FrontierEngine


/// The slow, obvious forward pass, in Double, the way Hugging Face computes it: pad every
/// sequence to the longest, add a large negative number to padded keys' attention scores,
/// erf GELU, post-LayerNorm. The packed fast path must agree with it.
enum ReferenceEncoder {
    struct Output { var logits: [[Double]]; var start: [[Double]]; var end: [[Double]] }

    static func run(_ model: EncoderModel, _ batch: EncoderBatch) throws -> Output {
        let c = model.config, h = c.hiddenSize
        let padded = batch.maxLength
        var out = Output(logits: [], start: [], end: [])
        for s in 0..<batch.count {
            let length = batch.length(s), start = batch.offsets[s]
            // Padding rows use id 0 / type 0, masked out below, exactly as HF does.
            var x = (0..<padded).map { t -> [Double] in
                let id = t < length ? Int(batch.ids[start + t]) : 0
                let type = t < length ? Int(batch.typeIds[start + t]) : 0
                return (0..<h).map { k in
                    var v = Double(model.embeddings.word.values[id * h + k]) + Double(model.embeddings.position.values[t * h + k])
                    if let types = model.embeddings.tokenType { v += Double(types.values[type * h + k]) }
                    return v
                }
            }
            x = x.map { layerNorm($0, model.embeddings.norm) }
            for layer in model.layers {
                let qkv = try x.map { try linear($0, layer.queryKeyValue) }
                let a = layer.attentionWidth, d = layer.headDim
                var context = [[Double]](repeating: [Double](repeating: 0, count: a), count: padded)
                for head in 0..<layer.numHeads {
                    for i in 0..<padded {
                        var scores = (0..<padded).map { j -> Double in
                            let dot = (0..<d).reduce(0.0) { $0 + qkv[i][head * d + $1] * qkv[j][a + head * d + $1] }
                            return dot / Double(d).squareRoot() + (j < length ? 0 : -3.4e38)
                        }
                        let m = scores.max()!
                        scores = scores.map { exp($0 - m) }
                        let sum = scores.reduce(0, +)
                        for k in 0..<d {
                            context[i][head * d + k] = (0..<padded).reduce(0.0) { $0 + scores[$1] / sum * qkv[$1][2 * a + head * d + k] }
                        }
                    }
                }
                x = try (0..<padded).map { t in layerNorm(zip(try linear(context[t], layer.attentionOutput), x[t]).map(+), layer.attentionNorm) }
                x = try (0..<padded).map { t in
                    let inner = try linear(x[t], layer.intermediate).map { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
                    return layerNorm(zip(try linear(inner, layer.output), x[t]).map(+), layer.outputNorm)
                }
            }
            switch model.head {
            case .encoderOnly: break
            case let .sequenceClassification(pooler, pre, classifier):
                var features = x[0]
                if let pooler { features = try linear(features, pooler).map(tanh) }
                if let pre { features = try linear(features, pre).map { max(0, $0) } }
                out.logits.append(try linear(features, classifier))
            case let .questionAnswering(qa):
                let spans = try x.prefix(length).map { try linear($0, qa) }
                out.start.append(spans.map { $0[0] })
                out.end.append(spans.map { $0[1] })
            }
        }
        return out
    }

    static func linear(_ x: [Double], _ layer: Linear) throws -> [Double] {
        let weight = try layer.weight.values
        return (0..<layer.outFeatures).map { o in
            (0..<layer.inFeatures).reduce(Double(layer.bias.values[o])) { $0 + x[$1] * Double(weight[o * layer.inFeatures + $1]) }
        }
    }

    static func layerNorm(_ x: [Double], _ p: LayerNormParameters) -> [Double] {
        let mean = x.reduce(0, +) / Double(x.count)
        let variance = x.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(x.count)
        return x.indices.map { (x[$0] - mean) / (variance + Double(p.eps)).squareRoot() * Double(p.gamma.values[$0]) + Double(p.beta.values[$0]) }
    }
}
