import FrontierEngine

/// Trains the exit heads of early exit: one linear classifier per layer (but the last) on the
/// frozen `[CLS]` hidden state after that layer, fitted on labelled train examples. The
/// encoder is not changed; the last layer keeps the model's own head.
public enum EarlyExitTraining {
    public static func train(model: EncoderModel, examples: [HeadImportance.Example], entropyThreshold: Double,
                             settings: LinearProbeSettings = LinearProbeSettings(), batchSize: Int = 32,
                             workspace: Workspace, options: ForwardOptions = ForwardOptions()) throws -> EarlyExit {
        guard case let .sequenceClassification(_, _, classifier) = model.head else {
            throw TechniqueError.incompatible("early exit needs a sequence-classification head")
        }
        let labelled = examples.filter { $0.label != nil }
        guard labelled.count >= 2 else {
            throw TechniqueError.needsData("early exit needs labelled classification train examples (STS-B is regression; got \(labelled.count))")
        }
        let h = model.config.hiddenSize, layers = model.layers.count, classes = classifier.outFeatures
        // features[l]: (examples, hidden) [CLS] rows after layer l.
        var features = [[Float]](repeating: [], count: layers)
        var collect = options
        collect.collectHiddenStates = true
        collect.earlyExit = nil
        collect.tokenPruning = nil
        for start in stride(from: 0, to: labelled.count, by: batchSize) {
            let slice = labelled[start..<min(start + batchSize, labelled.count)]
            var batch = EncoderBatch()
            for example in slice { batch.append(ids: example.ids, typeIds: example.typeIds) }
            let output = try model.forward(batch, workspace: workspace, options: collect)
            // hiddenStates[0] is the embeddings; [l + 1] is after layer l.
            for layer in 0..<layers {
                let states = output.hiddenStates[layer + 1]
                for index in 0..<batch.count {
                    let row = batch.offsets[index] * h
                    features[layer] += states[row..<(row + h)]
                }
            }
        }
        let labels = labelled.map { $0.label! }
        var heads: [ExitHead?] = []
        for layer in 0..<layers {
            if layer == layers - 1 { heads.append(nil); continue }
            let probe = try LinearProbeTrainer.classifier(features: features[layer], labels: labels, classes: classes, settings: settings)
            heads.append(ExitHead(weight: probe.weight, bias: probe.bias))
        }
        return EarlyExit(heads: heads, entropyThreshold: entropyThreshold)
    }
}
