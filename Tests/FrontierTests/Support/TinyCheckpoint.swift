import Foundation
@testable import FrontierEngine


/// Small random checkpoints with Hugging Face's tensor names, built in code so unit tests need
/// no files from ../shared.
enum TinyCheckpoint {
    enum Head { case none, classifier(labels: Int), questionAnswering }

    static func config(_ family: ModelConfig.Family, hidden: Int = 16, layers: Int = 2, heads: Int = 4,
                       intermediate: Int = 24, vocab: Int = 50, maxPositions: Int = 64, labels: Int = 3,
                       architectures: [String] = []) -> ModelConfig {
        ModelConfig(family: family, vocabSize: vocab, hiddenSize: hidden, numLayers: layers, numHeads: heads,
                    intermediateSize: intermediate, maxPositions: maxPositions,
                    typeVocabSize: family == .bert ? 2 : 0, architectures: architectures,
                    labels: (0..<labels).map { "LABEL_\($0)" })
    }

    /// Names and shapes exactly as `save_pretrained` writes them for this family and head.
    static func shapes(_ c: ModelConfig, head: Head, bare: Bool = false) -> [String: [Int]] {
        let h = c.hiddenSize, i = c.intermediateSize
        var s: [String: [Int]] = [:]
        func linear(_ name: String, _ out: Int, _ inFeatures: Int) { s[name + ".weight"] = [out, inFeatures]; s[name + ".bias"] = [out] }
        func norm(_ name: String) { s[name + ".weight"] = [h]; s[name + ".bias"] = [h] }
        switch c.family {
        case .bert:
            let p = bare ? "" : "bert."
            s[p + "embeddings.word_embeddings.weight"] = [c.vocabSize, h]
            s[p + "embeddings.position_embeddings.weight"] = [c.maxPositions, h]
            s[p + "embeddings.token_type_embeddings.weight"] = [c.typeVocabSize, h]
            norm(p + "embeddings.LayerNorm")
            for l in 0..<c.numLayers {
                let b = "\(p)encoder.layer.\(l)."
                for part in ["query", "key", "value"] { linear(b + "attention.self." + part, h, h) }
                linear(b + "attention.output.dense", h, h); norm(b + "attention.output.LayerNorm")
                linear(b + "intermediate.dense", i, h); linear(b + "output.dense", h, i); norm(b + "output.LayerNorm")
            }
            switch head {
            case .none: linear(p + "pooler.dense", h, h)
            case let .classifier(labels): linear(p + "pooler.dense", h, h); linear("classifier", labels, h)
            case .questionAnswering: linear("qa_outputs", 2, h)
            }
        case .distilbert:
            let p = bare ? "" : "distilbert."
            s[p + "embeddings.word_embeddings.weight"] = [c.vocabSize, h]
            s[p + "embeddings.position_embeddings.weight"] = [c.maxPositions, h]
            norm(p + "embeddings.LayerNorm")
            for l in 0..<c.numLayers {
                let b = "\(p)transformer.layer.\(l)."
                for part in ["q_lin", "k_lin", "v_lin", "out_lin"] { linear(b + "attention." + part, h, h) }
                norm(b + "sa_layer_norm"); linear(b + "ffn.lin1", i, h); linear(b + "ffn.lin2", h, i); norm(b + "output_layer_norm")
            }
            switch head {
            case .none: break
            case let .classifier(labels): linear("pre_classifier", h, h); linear("classifier", labels, h)
            case .questionAnswering: linear("qa_outputs", 2, h)
            }
        }
        return s
    }

    static func tensors(_ c: ModelConfig, head: Head, bare: Bool = false) -> InMemoryTensors {
        var tensors: [String: (shape: [Int], values: [Float])] = [:]
        for (name, shape) in shapes(c, head: head, bare: bare) {
            tensors[name] = (shape, DeterministicWeights.values(name: name, count: shape.reduce(1, *)))
        }
        return InMemoryTensors(sourceName: "tiny.safetensors", tensors: tensors)
    }

    /// A random batch of sequences with given lengths (ids in range; segment 1 in the second half
    /// of every other sequence, to exercise token-type embeddings).
    static func batch(lengths: [Int], vocab: Int, seed: UInt64 = 7) -> EncoderBatch {
        var rng = SplitMix64(seed: seed)
        var batch = EncoderBatch()
        for (index, length) in lengths.enumerated() {
            let ids = (0..<length).map { _ in Int32(rng.next() % UInt64(vocab)) }
            let types = (0..<length).map { Int32(index % 2 == 1 && $0 >= length / 2 ? 1 : 0) }
            batch.append(ids: ids, typeIds: types)
        }
        return batch
    }
}
