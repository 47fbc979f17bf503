import CKernels
import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTraining

/// The memory-bound passes of a training step (AdamW, the gradient norm, the GEMM operand
/// packing) in C against their Swift references: the same bits, whatever the thread count.
@Suite struct TrainingStepKernelTests {
    private func random(_ count: Int, seed: UInt64, scale: Float = 1) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return (Float(state >> 40) / Float(1 << 24) - 0.5) * 2 * scale
        }
    }

    /// Several slots of awkward sizes (one above the 64 Ki threshold), decaying and not.
    private func layout() -> ParameterLayout {
        var layout = ParameterLayout()
        _ = layout.append("a.weight", shape: [300, 229], group: .embeddings, decays: true)
        _ = layout.append("a.bias", shape: [229], group: .embeddings, decays: false)
        _ = layout.append("b.weight", shape: [17, 3], group: .layer(0), decays: true)
        _ = layout.append("b.bias", shape: [17], group: .layer(0), decays: false)
        _ = layout.append("head.weight", shape: [2, 31], group: .head, decays: true)
        return layout
    }

    @Test func theAdamWKernelGivesTheBitsOfTheSwiftReference() {
        let n = 1001
        var p = random(n, seed: 1), m = random(n, seed: 2, scale: 0.01), v = random(n, seed: 3, scale: 0.001).map(abs)
        let g = random(n, seed: 4, scale: 0.1)
        var (rp, rm, rv) = (p, m, v)
        fk_adamw(&p, &m, &v, g, n, 0.37, 1 - 8e-5 * 0.01, 0.9, 0.999, 8e-5 / 0.1, 0.0316, 1e-8)
        g.withUnsafeBufferPointer { gb in
            AdamW.referenceKernel(&rp, &rm, &rv, gb.baseAddress!, count: n, gradientScale: 0.37, decay: 1 - 8e-5 * 0.01,
                                  beta1: 0.9, beta2: 0.999, stepSize: 8e-5 / 0.1, correction2Root: 0.0316, epsilon: 1e-8)
        }
        #expect(p == rp)
        #expect(m == rm)
        #expect(v == rv)
    }

    @Test func adamWUpdatesTheSameBitsOnOneThreadAndOnTwo() {
        let layout = layout()
        let start = ParameterVector(layout: layout, values: random(layout.count, seed: 5))
        let gradients = ParameterVector(layout: layout, values: random(layout.count, seed: 6, scale: 0.1))
        func run(threads: Int) -> (ParameterVector, AdamW) {
            var parameters = start
            var optimizer = AdamW(settings: AdamWSettings(), layout: layout)
            for _ in 0..<3 {
                optimizer.update(&parameters, gradients: gradients, learningRate: 1e-3, gradientScale: 0.5, threads: threads) { $0.group != .head }
            }
            return (parameters, optimizer)
        }
        let (one, optimizerOne) = run(threads: 1), (two, optimizerTwo) = run(threads: 2)
        #expect(one == two)
        #expect(optimizerOne == optimizerTwo)
        // The slot that does not train is untouched, the others moved.
        let head = layout.slot(named: "head.weight")!
        #expect(Array(one.values[head.range]) == Array(start.values[head.range]))
        #expect(one.values[0] != start.values[0])
        // Step by step in Swift: decay only where the slot decays, the gradient scaled first.
        var reference = start
        var m = [Float](repeating: 0, count: layout.count), v = m
        for t in 1...3 {
            let c1 = 1 - Foundation.pow(Float(0.9), Float(t)), c2 = 1 - Foundation.pow(Float(0.999), Float(t))
            for slot in layout.slots where slot.group != .head {
                reference.values.withUnsafeMutableBufferPointer { p in
                    gradients.values.withUnsafeBufferPointer { g in
                        AdamW.referenceKernel(p.baseAddress! + slot.offset, &m[slot.offset], &v[slot.offset], g.baseAddress! + slot.offset,
                                              count: slot.count, gradientScale: 0.5, decay: slot.decays ? 1 - 1e-3 * 0.01 : 1,
                                              beta1: 0.9, beta2: 0.999, stepSize: 1e-3 / c1, correction2Root: c2.squareRoot(), epsilon: 1e-8)
                    }
                }
            }
        }
        #expect(one == reference)
    }

    @Test func theGradientNormIsTheSameOnAnyThreadCountAndMatchesADoubleSum() {
        let layout = layout()
        let gradients = ParameterVector(layout: layout, values: random(layout.count, seed: 7))
        let slots = layout.slots.filter { $0.group != .head }
        let one = gradientNorm(gradients, slots: slots, threads: 1)
        #expect(gradientNorm(gradients, slots: slots, threads: 2) == one)
        #expect(gradientNorm(gradients, slots: slots, threads: 3) == one)
        var sum = 0.0
        for slot in slots { for i in slot.range { sum += Double(gradients.values[i]) * Double(gradients.values[i]) } }
        #expect(abs(Double(one) - sum.squareRoot()) <= 1e-6 * sum.squareRoot())
        #expect(clippingCoefficient(norm: one, maxNorm: .infinity) == 1)
        #expect(clippingCoefficient(norm: 4, maxNorm: 1) == 1 / (4 + 1e-6))
    }

    /// The packed backend's input and weight gradients (operands packed straight from the
    /// untransposed matrices) against OpenBLAS, on sizes that are not multiples of a panel.
    @Test(arguments: [1, 2])
    func packedLinearGradientsMatchOpenBLAS(threads: Int) {
        let m = 70, n = 530, k = 67 // n·k and m·n above the threshold that splits packing over threads
        let dy = random(m * n, seed: 8), w = random(n * k, seed: 9), x = random(m * k, seed: 10)
        let packed = TrainingGemm(backend: .packed, threads: threads), blas = TrainingGemm(backend: .openblas, threads: threads)
        var dxPacked = random(m * k, seed: 11), dxBlas = dxPacked
        var dwPacked = random(n * k, seed: 12), dwBlas = dwPacked
        packed.backwardInput(dy, m: m, n: n, weight: w, k: k, into: &dxPacked, accumulate: true)
        blas.backwardInput(dy, m: m, n: n, weight: w, k: k, into: &dxBlas, accumulate: true)
        packed.accumulateWeightGradient(dy, m: m, n: n, input: x, k: k, into: &dwPacked)
        blas.accumulateWeightGradient(dy, m: m, n: n, input: x, k: k, into: &dwBlas)
        for i in 0..<(m * k) { #expect(abs(dxPacked[i] - dxBlas[i]) <= 1e-4 * max(1, abs(dxBlas[i])), "dx[\(i)]") }
        for i in 0..<(n * k) { #expect(abs(dwPacked[i] - dwBlas[i]) <= 1e-4 * max(1, abs(dwBlas[i])), "dw[\(i)]") }
    }

    @Test func replayingZeroGradientStepsGivesTheBitsOfTheDenseUpdates() {
        let n = 77, steps = 9
        var p = random(n, seed: 13), m = random(n, seed: 14, scale: 0.01), v = random(n, seed: 15, scale: 0.001).map(abs)
        var (dp, dm, dv) = (p, m, v)
        let zero = [Float](repeating: 0, count: n)
        let sizes = (0..<steps).map { 1e-3 / Float($0 + 1) }, roots = (0..<steps).map { 0.01 * Float($0 + 1) }
        let decays = (0..<steps).map { 1 - 1e-5 * Float($0 + 1) }
        for s in 0..<steps { fk_adamw(&dp, &dm, &dv, zero, n, 0.3, decays[s], 0.9, 0.999, sizes[s], roots[s], 1e-8) }
        fk_adamw_replay(&p, &m, &v, n, sizes, roots, decays, steps, 0.9, 0.999, 1e-8)
        #expect(p == dp)
        #expect(m == dm)
        #expect(v == dv)
    }

    /// The trainer defers the word-embedding rows no token of a step uses; what it gives back
    /// must be what updating every row at every step gives: the same bits.
    @Test func deferredEmbeddingRowsEndWithTheBitsOfDenseUpdates() throws {
        let model = try TrainableModel(TrainingGradientTests.model(.bert, head: .classifier(labels: 3)))
        let settings = TrainerSettings(schedule: LearningRateSchedule(peak: 1e-2, warmupSteps: 2, totalSteps: 12),
                                       maxGradientNorm: nil, dropout: .off, seed: 3, regime: .full)
        // Batches over a few ids each (vocabulary 30), so most rows sit out most steps.
        let batches = (0..<8).map { step in
            TrainingBatch(inputs: TinyCheckpoint.batch(lengths: [3, 2], vocab: 30, seed: UInt64(100 + step)), targets: [.label(step % 3), .label(1)])
        }
        let engine = GradientEngine(threads: 2)
        var trainer = try Trainer(model: model, settings: settings)
        var halfway: TrainableModel?
        for (index, batch) in batches.enumerated() {
            _ = try trainer.update([batch], engine: engine)
            if index == 3 { halfway = trainer.model }
        }
        // Every row, every step, with the public dense update.
        var dense = model
        var optimizer = AdamW(settings: settings.adamW, layout: model.layout)
        var denseHalfway: TrainableModel?
        for (index, batch) in batches.enumerated() {
            var gradients = ParameterVector(zeros: model.layout)
            try engine.run(dense, batch: batch, dropout: .off, seed: 3, step: index, trainable: .everything, into: &gradients)
            optimizer.update(&dense.parameters, gradients: gradients, learningRate: settings.schedule.rate(at: index), threads: 1)
            if index == 3 { denseHalfway = dense }
        }
        #expect(halfway?.parameters == denseHalfway?.parameters)
        #expect(trainer.model.parameters == dense.parameters)
        #expect(trainer.optimizer == optimizer)
        // Reading did not bring the trainer's own state forward; synchronising does, to the same bits.
        var synchronized = trainer
        synchronized.synchronize(threads: 2)
        #expect(synchronized.model.parameters == dense.parameters)
        #expect(synchronized.optimizer == optimizer)
    }
}

