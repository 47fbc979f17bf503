import CKernels

extension EncoderModel {
    /// The model with every linear layer (encoder and head) holding only what its kernel reads
    /// on `gemm` (`Linear.inferenceOnly(gemm:)`): panels for the packed GEMM or the `[out, in]`
    /// weight for OpenBLAS, compressed rows, int8 weights and scales, or 16-bit panels — never
    /// the fp32 master weight beside them.
    ///
    /// For a trial worker, after its techniques ran: what stays in memory is what the measured
    /// configuration needs, so its weight bytes (and its RSS once the load-time copies are gone)
    /// differ between techniques as they should. Nothing is derived again and the same kernels
    /// run on the same buffers, so the forward pass is bit-identical; nothing is allocated, so
    /// converting never raises the peak. Embeddings and LayerNorms are already what the forward
    /// pass reads and stay as they are.
    ///
    /// The result runs only on `gemm` (`validate(_:)` rejects another), and a technique that
    /// needs master weights (pruning, quantization, saving) throws `MasterWeightUnavailable` on
    /// it. Converting an already inference-only model for the same GEMM returns it unchanged.
    public func inferenceOnly(gemm: GemmBackend) throws -> EncoderModel {
        let convert = { (linear: Linear) in try linear.inferenceOnly(gemm: gemm) }
        return EncoderModel(config: config, embeddings: embeddings, layers: try layers.map { try $0.mapLinears(convert) },
                            head: try head.mapLinears(convert), ignoredTensors: ignoredTensors)
    }

    /// Every linear layer, encoder layers first, then the head's.
    var allLinears: [Linear] { layers.flatMap(\.linears) + head.linears }
}

extension Checkpoint {
    /// The checkpoint with its model in inference-only form for `gemm`
    /// (`EncoderModel.inferenceOnly(gemm:)`); the tokenizer is unchanged.
    ///
    /// Consuming, to be called as `checkpoint = try (consume checkpoint).inferenceOnly(gemm:)`:
    /// the full model is dropped here, before returning, and the allocator's free pages are then
    /// handed back to the system (`fk_release_free_heap`), so the worker's resident set falls to
    /// what the configuration holds. Without that, master weights a technique rebuilt (pruning
    /// copies every matrix) are freed between live blocks of the heap and stay resident.
    public consuming func inferenceOnly(gemm: GemmBackend) throws -> Checkpoint {
        let directory = self.directory, tokenizer = self.tokenizer
        let model = try self.model.inferenceOnly(gemm: gemm)
        _ = consume self
        fk_release_free_heap()
        return Checkpoint(directory: directory, model: model, tokenizer: tokenizer)
    }
}
