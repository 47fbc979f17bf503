/// Floating-point operations of one training step, counted as `GradientEngine` performs them
/// (2 per multiply-add in GEMMs and attention; element-wise work is not counted): the forward
/// pass, then for each trainable block the weight gradients (one GEMM per linear) and the input
/// gradients (one more, skipped below the lowest block that needs them), and attention's four
/// backward products. The ratio of this to a step's time is the rate a training step reaches.
///
/// A classifier's last block computes its [CLS] rows alone past the query/key/value
/// projection (`GradientEngine`); `everyRowOfTheLastBlock` counts it as if every row went through.
public extension TrainableArchitecture {
    func trainingFlops(lengths: [Int], parts: TrainableParts = .everything,
                       everyRowOfTheLastBlock: Bool = false) -> (forward: Double, backward: Double) {
        let tokens = Double(lengths.reduce(0, +)), squares = Double(lengths.reduce(0) { $0 + $1 * $1 })
        let b = Double(lengths.count), h = Double(config.hiddenSize)
        var forward = 0.0, backward = 0.0
        let lowest = parts.embeddings ? 0 : parts.layersFrom
        var clsOnly = false
        if case .classification = head { clsOnly = !everyRowOfTheLastBlock }
        for (index, layer) in layers.enumerated() {
            let a = Double(layer.attentionWidth), i = Double(layer.intermediateSize)
            let short = clsOnly && index == layers.count - 1
            let rows = short ? b : tokens
            let linear = 2 * tokens * h * 3 * a + 2 * rows * (a * h + 2 * h * i)
            let attention = 4 * (short ? tokens : squares) * a
            forward += linear + attention
            guard index >= lowest else { continue }
            backward += linear + 2 * attention                             // weight gradients; dP, dV, dQ, dK
            backward += index > lowest || parts.embeddings ? linear : linear - 2 * tokens * h * 3 * a  // input gradients
        }
        switch head {
        case let .classification(pooler, pre, _, labels):
            let dense = pooler != nil || pre != nil ? 2 * b * h * h : 0
            forward += dense + 2 * b * h * Double(labels)
            backward += 2 * (dense + 2 * b * h * Double(labels))
        case .questionAnswering:
            forward += 2 * tokens * h * 2
            backward += 2 * 2 * tokens * h * 2
        }
        return (forward, backward)
    }
}
