/// Bytes of parameters a model holds in memory, by what holds them, counted from the buffers
/// themselves: panel padding, sparse indices and row pointers, int8 scales and compensation
/// terms included; a master weight counted while it is kept.
///
/// Why not peak RSS: the resident set also holds the runtime, libraries, activations, the
/// tokenizer and whatever loading left behind, and its peak records the moment of load, when
/// the fp32 master weights and the derived forms coexist. These bytes are what the configuration
/// itself needs (after `inferenceOnly(gemm:)`, only what its kernels read), so int8 shows about
/// a quarter of dense's linear-weight bytes and a 90 % sparse model clearly less than dense.
public struct WeightBytes: Sendable, Equatable {
    /// Linear layers' weights (encoder and head) in every form held.
    public var linearWeights: Int
    /// Linear layers' fp32 biases.
    public var biases: Int
    /// Word, position and token-type embedding tables.
    public var embeddings: Int
    /// LayerNorm gammas and betas (embeddings' and every layer's).
    public var layerNorms: Int

    public init(linearWeights: Int = 0, biases: Int = 0, embeddings: Int = 0, layerNorms: Int = 0) {
        self.linearWeights = linearWeights
        self.biases = biases
        self.embeddings = embeddings
        self.layerNorms = layerNorms
    }

    public var total: Int { linearWeights + biases + embeddings + layerNorms }
}

extension EncoderModel {
    /// The model's parameter bytes held, by component (`WeightBytes`).
    public var weightBytes: WeightBytes {
        let float = MemoryLayout<Float>.stride
        func norm(_ n: LayerNormParameters) -> Int { (n.gamma.count + n.beta.count) * float }
        var bytes = WeightBytes()
        for linear in allLinears {
            let held = linear.heldBytes
            bytes.linearWeights += held.weights
            bytes.biases += held.bias
        }
        bytes.embeddings = (embeddings.word.count + embeddings.position.count + (embeddings.tokenType?.count ?? 0)) * float
        bytes.layerNorms = norm(embeddings.norm) + layers.reduce(0) { $0 + norm($1.attentionNorm) + norm($1.outputNorm) }
        return bytes
    }

    /// Bytes of parameters held in memory, all components (`weightBytes.total`).
    public var weightBytesHeld: Int { weightBytes.total }
}
