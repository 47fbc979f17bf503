/// The Hugging Face parameter names of one encoder block, whatever the family calls them.
package struct LayerNames {
    package var query: String, key: String, value: String
    package var attentionOutput: String
    package var attentionNorm: String
    package var intermediate: String
    package var output: String
    package var outputNorm: String
}

/// Maps our parameters to checkpoint tensor names: the one place that knows each family's
/// naming, so that loading, mask files and pruning all agree on what a weight is called.
///
/// Names without the `.weight` / `.bias` suffix; `prefix` is `""` for a bare `BertModel` /
/// `DistilBertModel` and `"bert."` / `"distilbert."` for the task models.
package struct CheckpointNames {
    package let family: ModelConfig.Family
    package let prefix: String

    /// Decides the prefix from the names present: task models nest the encoder under the
    /// family name, bare models do not.
    package init(family: ModelConfig.Family, tensorNames: [String]) {
        self.family = family
        let nested = family.rawValue + "."
        prefix = tensorNames.contains { $0.hasPrefix(nested + "embeddings.") } ? nested : ""
    }

    package var wordEmbeddings: String { prefix + "embeddings.word_embeddings" }
    package var positionEmbeddings: String { prefix + "embeddings.position_embeddings" }
    package var tokenTypeEmbeddings: String { prefix + "embeddings.token_type_embeddings" }
    package var embeddingsNorm: String { prefix + "embeddings.LayerNorm" }
    package var pooler: String { prefix + "pooler.dense" }
    package var preClassifier: String { "pre_classifier" }
    package var classifier: String { "classifier" }
    package var questionAnswering: String { "qa_outputs" }

    package func layer(_ index: Int) -> LayerNames {
        switch family {
        case .bert:
            let base = "\(prefix)encoder.layer.\(index)."
            return LayerNames(
                query: base + "attention.self.query", key: base + "attention.self.key",
                value: base + "attention.self.value", attentionOutput: base + "attention.output.dense",
                attentionNorm: base + "attention.output.LayerNorm", intermediate: base + "intermediate.dense",
                output: base + "output.dense", outputNorm: base + "output.LayerNorm")
        case .distilbert:
            let base = "\(prefix)transformer.layer.\(index)."
            return LayerNames(
                query: base + "attention.q_lin", key: base + "attention.k_lin",
                value: base + "attention.v_lin", attentionOutput: base + "attention.out_lin",
                attentionNorm: base + "sa_layer_norm", intermediate: base + "ffn.lin1",
                output: base + "ffn.lin2", outputNorm: base + "output_layer_norm")
        }
    }

    /// Tensors a checkpoint may carry that an encoder never uses: buffers (`position_ids`) and
    /// pre-training heads (masked-LM, next-sentence). Loading reports them instead of failing,
    /// so `bert-base-uncased`-style checkpoints load; anything else unused is an error.
    package func isKnownUnused(_ name: String) -> Bool {
        if name.hasSuffix("position_ids") { return true }
        switch family {
        case .bert: return name.hasPrefix("cls.")
        case .distilbert: return name.hasPrefix("vocab_transform.") || name.hasPrefix("vocab_layer_norm.") || name.hasPrefix("vocab_projector.")
        }
    }
}
