import Foundation
import FrontierEngine
import FrontierSupport

/// An encoder and its head as trainable values: the architecture (`TrainableArchitecture`) and
/// every parameter in one flat vector (`ParameterVector`).
///
/// The inference model (`EncoderModel`) derives kernel forms (panels, int8, compressed rows)
/// from immutable tensors; training needs the opposite, fp32 values that change every step. So
/// training keeps its own copy of the parameters, with gradients and optimiser state in vectors
/// of the same layout beside it, and goes back to an `EncoderModel` (`encoderModel()`) only to
/// evaluate or write a checkpoint. Structured-pruned models (fewer heads, narrower
/// feed-forward, fewer layers) train in their shrunk shapes: the layout is read from the layers.
public struct TrainableModel: Sendable {
    public let architecture: TrainableArchitecture
    public var parameters: ParameterVector

    public var config: ModelConfig { architecture.config }
    public var layout: ParameterLayout { parameters.layout }

    /// The model's parameters as they are now. Needs the master weights: an inference-only
    /// model (`inferenceOnly(gemm:)`) cannot be trained.
    public init(_ model: EncoderModel) throws {
        try self.init(model, head: model.head)
    }

    /// The encoder of `model` with a freshly initialised task head, as transformers initialises
    /// one (weights normal with std `initializerRange`, biases zero), from `seed`.
    public init(_ model: EncoderModel, newHead kind: NewHead, seed: UInt64, initializerRange: Float = 0.02) throws {
        let h = model.config.hiddenSize
        var rng = NormalSampler(seed: seed)
        func fresh(_ out: Int, _ inFeatures: Int) -> Linear {
            Linear(weight: Tensor(shape: [out, inFeatures], values: (0..<(out * inFeatures)).map { _ in rng.next() * initializerRange }),
                   bias: Tensor(zeros: [out]))
        }
        let head: TaskHead
        switch kind {
        case let .sequenceClassification(labels):
            switch model.config.family {
            case .bert:
                guard let pooler = model.head.pooler else {
                    throw TrainingError.invalidModel("a BERT sequence classifier reads the pooler, and this checkpoint has none")
                }
                head = .sequenceClassification(pooler: pooler, preClassifier: nil, classifier: fresh(labels, h))
            case .distilbert:
                head = .sequenceClassification(pooler: nil, preClassifier: fresh(h, h), classifier: fresh(labels, h))
            }
        case .questionAnswering:
            head = .questionAnswering(fresh(2, h))
        }
        try self.init(model, head: head)
    }

    public enum NewHead: Sendable, Equatable {
        case sequenceClassification(labels: Int)
        case questionAnswering
    }

    private init(_ model: EncoderModel, head: TaskHead) throws {
        let config = model.config
        let names = CheckpointNames(family: config.family, tensorNames: [config.family.rawValue + ".embeddings.word_embeddings.weight"])
        var layout = ParameterLayout()
        var values: [Float] = []
        values.reserveCapacity(model.parameterCount)
        func add(_ name: String, _ tensor: Tensor, _ group: ParameterLayout.Group, decays: Bool) -> Int {
            values += tensor.values
            return layout.append(name, shape: tensor.shape, group: group, decays: decays)
        }
        func addLinear(_ base: String, _ linear: Linear, _ group: ParameterLayout.Group) throws -> LinearSlots {
            LinearSlots(weight: add(base + ".weight", try linear.weight, group, decays: true),
                        bias: add(base + ".bias", linear.bias, group, decays: false))
        }
        func addNorm(_ base: String, _ norm: LayerNormParameters, _ group: ParameterLayout.Group) -> NormSlots {
            NormSlots(gamma: add(base + ".weight", norm.gamma, group, decays: false),
                      beta: add(base + ".bias", norm.beta, group, decays: false), eps: norm.eps)
        }

        let e = model.embeddings
        let embeddings = EmbeddingSlots(
            word: add(names.wordEmbeddings + ".weight", e.word, .embeddings, decays: true),
            position: add(names.positionEmbeddings + ".weight", e.position, .embeddings, decays: true),
            tokenType: e.tokenType.map { add(names.tokenTypeEmbeddings + ".weight", $0, .embeddings, decays: true) },
            norm: addNorm(names.embeddingsNorm, e.norm, .embeddings))

        var layers: [LayerSlots] = []
        for (index, layer) in model.layers.enumerated() {
            let n = names.layer(index), group = ParameterLayout.Group.layer(index)
            let a = layer.attentionWidth, h = config.hiddenSize
            let qkv = try layer.queryKeyValue.weight.values, qkvBias = layer.queryKeyValue.bias.values
            var parts: [Int] = []
            for (part, name) in [n.query, n.key, n.value].enumerated() {
                parts.append(add(name + ".weight", Tensor(shape: [a, h], values: Array(qkv[(part * a * h)..<((part + 1) * a * h)])), group, decays: true))
            }
            for (part, name) in [n.query, n.key, n.value].enumerated() {
                _ = add(name + ".bias", Tensor(shape: [a], values: Array(qkvBias[(part * a)..<((part + 1) * a)])), group, decays: false)
            }
            layers.append(LayerSlots(
                queryKeyValue: LinearSlots(weight: parts[0], bias: parts[0] + 3),
                attentionOutput: try addLinear(n.attentionOutput, layer.attentionOutput, group),
                attentionNorm: addNorm(n.attentionNorm, layer.attentionNorm, group),
                intermediate: try addLinear(n.intermediate, layer.intermediate, group),
                output: try addLinear(n.output, layer.output, group),
                outputNorm: addNorm(n.outputNorm, layer.outputNorm, group),
                numHeads: layer.numHeads, headDim: layer.headDim, attentionWidth: a,
                intermediateSize: layer.intermediateSize, originalHeads: layer.originalHeads))
        }

        let headSlots: HeadSlots
        switch head {
        case let .sequenceClassification(pooler, pre, classifier):
            headSlots = .classification(
                pooler: try pooler.map { try addLinear(names.pooler, $0, .pooler) },
                preClassifier: try pre.map { try addLinear(names.preClassifier, $0, .head) },
                classifier: try addLinear(names.classifier, classifier, .head), labels: classifier.outFeatures)
        case let .questionAnswering(qa):
            headSlots = .questionAnswering(try addLinear(names.questionAnswering, qa, .head))
        case .encoderOnly:
            throw TrainingError.invalidModel("a bare encoder has nothing to train towards; give it a task head first")
        }
        architecture = TrainableArchitecture(config: config, embeddings: embeddings, layers: layers, head: headSlots,
                                             isRegression: config.isRegression)
        parameters = ParameterVector(layout: layout, values: values)
    }

    /// The inference model with the current parameters (dense fp32; techniques convert it).
    public func encoderModel() -> EncoderModel {
        let v = parameters.values, layout = parameters.layout
        func tensor(_ slot: Int) -> Tensor {
            let s = layout.slots[slot]
            return Tensor(shape: s.shape, values: Array(v[s.range]))
        }
        func linear(_ slots: LinearSlots) -> Linear { Linear(weight: tensor(slots.weight), bias: tensor(slots.bias)) }
        func norm(_ slots: NormSlots) -> LayerNormParameters { LayerNormParameters(gamma: tensor(slots.gamma), beta: tensor(slots.beta), eps: slots.eps) }
        let arch = architecture, h = config.hiddenSize
        let embeddings = Embeddings(word: tensor(arch.embeddings.word), position: tensor(arch.embeddings.position),
                                    tokenType: arch.embeddings.tokenType.map(tensor), norm: norm(arch.embeddings.norm))
        let layers = arch.layers.map { l -> EncoderLayer in
            let w = layout.slots[l.queryKeyValue.weight], b = layout.slots[l.queryKeyValue.bias]
            let qkv = Linear(weight: Tensor(shape: [3 * l.attentionWidth, h], values: Array(v[w.offset..<(w.offset + 3 * w.count)])),
                             bias: Tensor(shape: [3 * l.attentionWidth], values: Array(v[b.offset..<(b.offset + 3 * b.count)])))
            return EncoderLayer(queryKeyValue: qkv, attentionOutput: linear(l.attentionOutput), attentionNorm: norm(l.attentionNorm),
                                intermediate: linear(l.intermediate), output: linear(l.output), outputNorm: norm(l.outputNorm),
                                numHeads: l.numHeads, headDim: l.headDim, originalHeads: l.originalHeads)
        }
        let head: TaskHead
        switch arch.head {
        case let .classification(pooler, pre, classifier, _):
            head = .sequenceClassification(pooler: pooler.map(linear), preClassifier: pre.map(linear), classifier: linear(classifier))
        case let .questionAnswering(qa):
            head = .questionAnswering(linear(qa))
        }
        return EncoderModel(config: config, embeddings: embeddings, layers: layers, head: head)
    }

    /// Every parameter under its checkpoint name, for `model.safetensors`.
    public func checkpointTensors() -> [SafetensorsWriter.Tensor] {
        parameters.layout.slots.map {
            SafetensorsWriter.Tensor(name: $0.name, dtype: .f32, shape: $0.shape, values: Array(parameters.values[$0.range]))
        }
    }
}

/// Slot indices of the parts of the model, in the layout of its `ParameterVector`.
public struct TrainableArchitecture: Sendable {
    public let config: ModelConfig
    public let embeddings: EmbeddingSlots
    public let layers: [LayerSlots]
    public let head: HeadSlots
    public let isRegression: Bool
}

public struct LinearSlots: Sendable, Equatable { public let weight: Int; public let bias: Int }
public struct NormSlots: Sendable, Equatable { public let gamma: Int; public let beta: Int; public let eps: Float }

public struct EmbeddingSlots: Sendable, Equatable {
    public let word: Int, position: Int, tokenType: Int?
    public let norm: NormSlots
}

public struct LayerSlots: Sendable, Equatable {
    /// The query weight's slot; key and value follow it, then the three biases (so `bias` is
    /// the query bias and the fused bias starts there).
    public let queryKeyValue: LinearSlots
    public let attentionOutput: LinearSlots
    public let attentionNorm: NormSlots
    public let intermediate: LinearSlots
    public let output: LinearSlots
    public let outputNorm: NormSlots
    public let numHeads: Int, headDim: Int, attentionWidth: Int, intermediateSize: Int
    public let originalHeads: [Int]?
}

public enum HeadSlots: Sendable, Equatable {
    /// BERT: pooler then classifier; DistilBERT: pre-classifier (ReLU) then classifier.
    case classification(pooler: LinearSlots?, preClassifier: LinearSlots?, classifier: LinearSlots, labels: Int)
    case questionAnswering(LinearSlots)
}

/// Normal samples by Box–Muller over SplitMix64: a seeded head initialisation that does not
/// depend on the platform's random number generator.
struct NormalSampler {
    private var bits: SplitMix64
    private var spare: Float?

    init(seed: UInt64) { bits = SplitMix64(seed: seed) }

    mutating func next() -> Float {
        if let spare { self.spare = nil; return spare }
        let u1 = (Double(bits.next() >> 11) + 1) * 0x1p-53, u2 = Double(bits.next() >> 11) * 0x1p-53
        let radius = (-2 * Foundation.log(u1)).squareRoot()
        spare = Float(radius * Foundation.sin(2 * Double.pi * u2))
        return Float(radius * Foundation.cos(2 * Double.pi * u2))
    }
}
