import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTraining
import FrontierTechniques

/// The backward pass: each fast kernel against its Double reference, then whole models against
/// central finite differences of their own loss.
@Suite struct TrainingGradientTests {
    private func random(_ count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
        var rng = SplitMix64(seed: seed)
        return (0..<count).map { _ in (Double(rng.next() >> 11) * 0x1p-53 * 2 - 1) * scale }
    }

    private func maxRelative(_ fast: [Float], _ reference: [Double]) -> Double {
        let scale = max(1e-12, reference.map(abs).max() ?? 0)
        return zip(fast, reference).map { abs(Double($0) - $1) }.max()! / scale
    }

    @Test func layerNormForwardAndBackwardMatchTheReference() {
        let rows = 5, width = 37
        let x = random(rows * width, seed: 1, scale: 3), dy = random(rows * width, seed: 2)
        let gamma = random(width, seed: 3).map { 1 + 0.3 * $0 }, beta = random(width, seed: 4)
        let expected = ReferenceKernels.layerNorm(x, rows: rows, width: width, gamma: gamma, beta: beta, eps: 1e-12)
        let reference = ReferenceKernels.layerNormBackward(x, dy: dy, rows: rows, width: width, gamma: gamma, eps: 1e-12)
        for threads in [1, 2] {
            let y = FloatBuffer(count: rows * width), xhat = FloatBuffer(count: rows * width), rstd = FloatBuffer(count: rows)
            let xf = x.map(Float.init), gf = gamma.map(Float.init), bf = beta.map(Float.init), dyf = dy.map(Float.init)
            TrainingKernels.layerNormForward(xf, rows: rows, width: width, gamma: gf, beta: bf, eps: 1e-12, output: y.pointer,
                                             normalized: xhat.pointer, rstd: rstd.pointer, threads: threads)
            #expect(maxRelative(y.array, expected) < 1e-6)
            let dx = FloatBuffer(count: rows * width), dgamma = FloatBuffer(count: width), dbeta = FloatBuffer(count: width)
            TrainingKernels.layerNormBackward(dyf, rows: rows, width: width, normalized: xhat.pointer, rstd: rstd.pointer, gamma: gf,
                                              into: dx.pointer, gammaGradient: dgamma.pointer, betaGradient: dbeta.pointer, threads: threads)
            #expect(maxRelative(dx.array, reference.dx) < 1e-5)
            #expect(maxRelative(dgamma.array, reference.dgamma) < 1e-5)
            #expect(maxRelative(dbeta.array, reference.dbeta) < 1e-6)
        }
    }

    @Test func geluAndItsDerivativeMatchTheReference() {
        let u = random(999, seed: 5, scale: 6).map(Float.init)
        let g = FloatBuffer(count: u.count)
        TrainingKernels.geluForward(u, into: g.pointer, count: u.count, threads: 2)
        #expect(maxRelative(g.array, u.map { ReferenceKernels.gelu(Double($0)) }) < 1e-6)
        let grad = FloatBuffer([Float](repeating: 1, count: u.count))
        TrainingKernels.geluBackward(u, gradient: grad.pointer, count: u.count, threads: 2)
        #expect(maxRelative(grad.array, u.map { ReferenceKernels.geluDerivative(Double($0)) }) < 1e-6)
    }

    /// Odd head sizes and lengths, and MiniLM's 32-wide heads over lengths past one and two
    /// AVX-512 vectors (the C kernel's loops run over both).
    @Test(arguments: [(3, 5, [4, 1, 7]), (2, 32, [33, 17, 2])])
    func packedAttentionMatchesTheReferencePerSequenceAndHead(heads: Int, d: Int, lengths: [Int]) {
        let a = heads * d
        var offsets = [0]
        for length in lengths { offsets.append(offsets.last! + length) }
        let tokens = offsets.last!
        let qkv = random(tokens * 3 * a, seed: 6, scale: 2), dc = random(tokens * a, seed: 7)
        let probabilityOffsets = TrainingKernels.probabilityOffsets(offsets, heads: heads)
        let p = FloatBuffer(count: probabilityOffsets.last!), context = FloatBuffer(count: tokens * a), dqkv = FloatBuffer(count: tokens * 3 * a)
        let qkvf = qkv.map(Float.init), dcf = dc.map(Float.init)
        TrainingKernels.attentionForward(qkv: qkvf, offsets: offsets, heads: heads, headDim: d, probabilities: p.pointer,
                                         probabilityOffsets: probabilityOffsets, mask: nil, rate: 0, context: context.pointer, threads: 2)
        TrainingKernels.attentionBackward(qkv: qkvf, offsets: offsets, heads: heads, headDim: d, probabilities: p.pointer,
                                          probabilityOffsets: probabilityOffsets, mask: nil, rate: 0, contextGradient: dcf,
                                          into: dqkv.pointer, threads: 2)
        for (s, length) in lengths.enumerated() {
            for head in 0..<heads {
                func block(_ source: [Double], width: Int, column: Int) -> [Double] {
                    (0..<length).flatMap { i in (0..<d).map { source[(offsets[s] + i) * width + column + $0] } }
                }
                func fast(_ source: [Float], width: Int, column: Int) -> [Float] {
                    (0..<length).flatMap { i in (0..<d).map { source[(offsets[s] + i) * width + column + $0] } }
                }
                let q = block(qkv, width: 3 * a, column: head * d), k = block(qkv, width: 3 * a, column: a + head * d)
                let v = block(qkv, width: 3 * a, column: 2 * a + head * d), g = block(dc, width: a, column: head * d)
                let reference = ReferenceKernels.attention(q: q, k: k, v: v, length: length, d: d)
                #expect(maxRelative(fast(context.array, width: a, column: head * d), reference.context) < 1e-5)
                let back = ReferenceKernels.attentionBackward(q: q, k: k, v: v, dc: g, length: length, d: d)
                let grads = dqkv.array
                #expect(maxRelative(fast(grads, width: 3 * a, column: head * d), back.dq) < 1e-5)
                #expect(maxRelative(fast(grads, width: 3 * a, column: a + head * d), back.dk) < 1e-5)
                #expect(maxRelative(fast(grads, width: 3 * a, column: 2 * a + head * d), back.dv) < 1e-5)
            }
        }
    }

    // MARK: Whole models against finite differences

    static func model(_ family: ModelConfig.Family, head: TinyCheckpoint.Head, regression: Bool = false) throws -> EncoderModel {
        var config = TinyCheckpoint.config(family, hidden: 12, layers: 2, heads: 3, intermediate: 20, vocab: 30,
                                           labels: regression ? 1 : 3)
        if regression { config.problemType = "regression" }
        return try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: head))
    }

    static func batch(for head: TinyCheckpoint.Head, regression: Bool = false, lengths: [Int] = [5, 3, 8]) -> TrainingBatch {
        let inputs = TinyCheckpoint.batch(lengths: lengths, vocab: 30)
        let targets: [TrainingTarget] = lengths.enumerated().map { index, length in
            switch head {
            case .questionAnswering: return .span(start: min(1 + index, length - 1), end: length - 1)
            default: return regression ? .value(Float(index) * 0.7 - 0.4) : .label(index % 3)
            }
        }
        return TrainingBatch(inputs: inputs, targets: targets)
    }

    /// Central differences in fp32: a step of 3e-3 on weights of ~0.1 keeps the
    /// rounding error of the loss (~1e-7) well below the tolerance and rarely crosses a ReLU kink.
    private func checkAgainstFiniteDifferences(_ encoder: EncoderModel, batch: TrainingBatch) throws {
        let engine = GradientEngine(threads: 2)
        let model = try TrainableModel(encoder)
        let (loss, gradients) = try engine.lossAndGradients(model, batch: batch)
        #expect(loss.isFinite)
        var rng = SplitMix64(seed: 11)
        var worst = 0.0, worstName = ""
        for slot in model.layout.slots {
            var indices = [slot.offset, slot.offset + slot.count - 1]
            for _ in 0..<3 { indices.append(slot.offset + Int(rng.next() % UInt64(slot.count))) }
            if slot.name.hasSuffix("word_embeddings.weight") {
                // Rows of tokens in the batch (the rest have zero gradient, checked too).
                let id = Int(batch.inputs.ids[0])
                indices += [slot.offset + id * model.config.hiddenSize, slot.offset + id * model.config.hiddenSize + 3]
            }
            for index in indices {
                var plus = model, minus = model
                let step: Float = 3e-3
                plus.parameters.values[index] += step
                minus.parameters.values[index] -= step
                var scratch = ParameterVector(zeros: model.layout)
                let up = try engine.run(plus, batch: batch, into: &scratch, computeGradients: false).loss
                let down = try engine.run(minus, batch: batch, into: &scratch, computeGradients: false).loss
                let numeric = (Double(up) - Double(down)) / (2 * Double(step))
                let error = abs(numeric - Double(gradients.values[index])) / max(0.05, abs(numeric))
                if error > worst { worst = error; worstName = slot.name }
            }
        }
        #expect(worst < 2e-2, "worst relative error \(worst) in \(worstName)")
    }

    @Test func bertClassifierGradientsMatchFiniteDifferences() throws {
        try checkAgainstFiniteDifferences(Self.model(.bert, head: .classifier(labels: 3)), batch: Self.batch(for: .classifier(labels: 3)))
    }

    @Test func distilbertClassifierGradientsMatchFiniteDifferences() throws {
        try checkAgainstFiniteDifferences(Self.model(.distilbert, head: .classifier(labels: 3)), batch: Self.batch(for: .classifier(labels: 3)))
    }

    @Test func questionAnsweringGradientsMatchFiniteDifferences() throws {
        try checkAgainstFiniteDifferences(Self.model(.bert, head: .questionAnswering), batch: Self.batch(for: .questionAnswering))
    }

    @Test func regressionGradientsMatchFiniteDifferences() throws {
        try checkAgainstFiniteDifferences(Self.model(.bert, head: .classifier(labels: 1), regression: true),
                                          batch: Self.batch(for: .classifier(labels: 1), regression: true))
    }

    @Test func theTrainingForwardPassGivesTheInferenceLogits() throws {
        let encoder = try Self.model(.bert, head: .classifier(labels: 3))
        let batch = Self.batch(for: .classifier(labels: 3))
        var scratch = ParameterVector(zeros: try TrainableModel(encoder).layout)
        let pass = try GradientEngine(threads: 1).run(try TrainableModel(encoder), batch: batch, into: &scratch, computeGradients: false)
        let inference = try encoder.forward(batch.inputs, workspace: Workspace(threads: 1), options: ForwardOptions(gemm: .openblas))
        for (ours, theirs) in zip(pass.logits, inference.logits) {
            for (a, b) in zip(ours, theirs) { #expect(abs(a - b) < 1e-5) }
        }
        // And back: the inference model rebuilt from the trainable values is the same model.
        let rebuilt = try TrainableModel(encoder).encoderModel()
        let again = try rebuilt.forward(batch.inputs, workspace: Workspace(threads: 1), options: ForwardOptions(gemm: .openblas))
        #expect(again.logits == inference.logits)
    }

    @Test func dropoutIsAFunctionOfSeedStepAndMicrobatchOnly() throws {
        let model = try TrainableModel(Self.model(.bert, head: .classifier(labels: 3)))
        let batch = Self.batch(for: .classifier(labels: 3))
        let rates = DropoutRates.uniform(0.3)
        func gradients(seed: UInt64, step: Int, threads: Int) throws -> [Float] {
            var g = ParameterVector(zeros: model.layout)
            try GradientEngine(threads: threads).run(model, batch: batch, dropout: rates, seed: seed, step: step, into: &g)
            return g.values
        }
        let first = try gradients(seed: 1, step: 4, threads: 2)
        #expect(try gradients(seed: 1, step: 4, threads: 2) == first)
        #expect(try gradients(seed: 1, step: 5, threads: 2) != first)
        #expect(try gradients(seed: 2, step: 4, threads: 2) != first)
        let off = try GradientEngine(threads: 2).lossAndGradients(model, batch: batch).gradients.values
        #expect(off != first)
    }

    /// A classifier's last block computes [CLS] alone; computing every row of it must give the
    /// same loss, logits and gradients (dropout on or off, every regime, both families).
    @Test(arguments: [ModelConfig.Family.bert, .distilbert])
    func clsOnlyLastBlockGivesTheGradientsOfTheFullBlock(family: ModelConfig.Family) throws {
        for regression in [false, true] {
            let model = try TrainableModel(Self.model(family, head: .classifier(labels: regression ? 1 : 3), regression: regression))
            let batch = Self.batch(for: .classifier(labels: 3), regression: regression, lengths: [5, 1, 8, 3])
            for (rates, parts) in [(DropoutRates.off, TrainableParts.everything), (.uniform(0.2), .everything),
                                   (.uniform(0.2), TrainingRegime.topK(1).parts(layers: 2)), (.off, TrainingRegime.frozen.parts(layers: 2))] {
                var short = ParameterVector(zeros: model.layout), full = ParameterVector(zeros: model.layout)
                let a = try GradientEngine(threads: 2).run(model, batch: batch, dropout: rates, seed: 3, step: 2, trainable: parts, into: &short)
                let b = try GradientEngine(threads: 2, everyRowOfTheLastBlock: true)
                    .run(model, batch: batch, dropout: rates, seed: 3, step: 2, trainable: parts, into: &full)
                #expect(abs(a.loss - b.loss) <= 1e-6 * max(1, abs(b.loss)), "\(family) loss \(a.loss) vs \(b.loss)")
                for (x, y) in zip(a.logits.joined(), b.logits.joined()) { #expect(abs(x - y) <= 1e-5) }
                let scale = full.values.map(abs).max() ?? 0
                let worst = zip(short.values, full.values).map { abs($0 - $1) }.max() ?? 0
                #expect(scale > 0 && worst <= 1e-5 * scale, "\(family) regression \(regression) rates \(rates.hidden) parts \(parts.layersFrom): \(worst) of \(scale)")
            }
        }
    }
}
