import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTraining
import FrontierTechniques

/// What each regime may change, and masks that hold through training.
@Suite struct TrainingRegimeTests {
    func settings(_ regime: TrainingRegime, steps: Int = 100) -> TrainerSettings {
        TrainerSettings(schedule: LearningRateSchedule(peak: 1e-2, warmupSteps: 5, totalSteps: steps),
                        dropout: .uniform(0.1), seed: 3, regime: regime)
    }

    private func train(_ trainer: inout Trainer, steps: Int, lengths: [Int] = [5, 3, 8]) throws {
        let engine = GradientEngine(threads: 2)
        for step in 0..<steps {
            let batch = TrainingGradientTests.batch(for: .classifier(labels: 3), lengths: lengths.map { max(1, ($0 + step) % 9) })
            _ = try trainer.update([batch], engine: engine)
        }
    }

    private func slots(_ model: TrainableModel, changedFrom before: TrainableModel) -> Set<String> {
        Set(model.layout.slots.filter { model.parameters.values[$0.range] != before.parameters.values[$0.range] }.map(\.name))
    }

    @Test func frozenChangesNothingBelowTheHead() throws {
        let before = try TrainableModel(TrainingGradientTests.model(.bert, head: .classifier(labels: 3)))
        var trainer = try Trainer(model: before, settings: settings(.frozen))
        try train(&trainer, steps: 10)
        #expect(slots(trainer.model, changedFrom: before) == ["classifier.weight", "classifier.bias"])
    }

    @Test func topKChangesNothingBelowLayerLMinusK() throws {
        let before = try TrainableModel(TrainingGradientTests.model(.bert, head: .classifier(labels: 3)))
        var trainer = try Trainer(model: before, settings: settings(.topK(1)))
        try train(&trainer, steps: 10)
        let changed = slots(trainer.model, changedFrom: before)
        for slot in before.layout.slots {
            switch slot.group {
            case .embeddings, .layer(0): #expect(!changed.contains(slot.name), "\(slot.name) changed")
            case .layer, .pooler, .head: #expect(changed.contains(slot.name), "\(slot.name) did not train")
            }
        }
    }

    @Test func aMaskedWeightIsZeroAfterAHundredSteps() throws {
        let model = try TrainableModel(TrainingGradientTests.model(.bert, head: .classifier(labels: 3)))
        var keep: [String: [Bool]] = [:]
        for slot in model.layout.slots where slot.name.hasSuffix(".weight") && slot.shape.count == 2 && slot.group != .embeddings {
            keep[slot.name] = (0..<slot.count).map { $0 % 3 != 0 }
        }
        let mask = try WeightMask(keep: keep, layout: model.layout)
        var trainer = try Trainer(model: model, settings: settings(.full), mask: mask)
        try train(&trainer, steps: 100)
        #expect(mask.pruned.allSatisfy { trainer.model.parameters.values[$0] == 0 })
        #expect(mask.pruned.allSatisfy { trainer.optimizer.firstMoment.values[$0] == 0 && trainer.optimizer.secondMoment.values[$0] == 0 })
        // The rest did train.
        let kept = model.layout.slot(named: "bert.encoder.layer.0.intermediate.dense.weight")!.offset + 1
        #expect(trainer.model.parameters.values[kept] != model.parameters.values[kept])
    }

    @Test func aShrunkModelTrainsAsTheMaskedFullModel() throws {
        let full = try TrainingGradientTests.model(.bert, head: .classifier(labels: 3))
        let removed: Set<Int> = [0, 3, 4, 11, 19]
        let shrunk = try FeedForwardPruning.prune(full, layer: 1, neurons: removed)
        // The same removal as a mask: rows of the intermediate weight and bias, columns of the output weight.
        let trainableFull = try TrainableModel(full)
        let inter = trainableFull.layout.slot(named: "bert.encoder.layer.1.intermediate.dense.weight")!
        let width = inter.shape[0], hidden = inter.shape[1]
        let keep: [String: [Bool]] = [
            "bert.encoder.layer.1.intermediate.dense.weight": (0..<(width * hidden)).map { !removed.contains($0 / hidden) },
            "bert.encoder.layer.1.intermediate.dense.bias": (0..<width).map { !removed.contains($0) },
            "bert.encoder.layer.1.output.dense.weight": (0..<(hidden * width)).map { !removed.contains($0 % width) },
        ]
        var masked = try Trainer(model: trainableFull, settings: settings(.full, steps: 20),
                                 mask: WeightMask(keep: keep, layout: trainableFull.layout))
        var small = try Trainer(model: TrainableModel(shrunk), settings: settings(.full, steps: 20))
        try train(&masked, steps: 20)
        try train(&small, steps: 20)
        // Every tensor of the shrunk model equals the masked model's kept entries.
        var worst: Float = 0
        for slot in small.model.layout.slots {
            let ours = Array(small.model.parameters.values[slot.range])
            let theirs = Array(masked.model.parameters.values[masked.model.layout.slot(named: slot.name)!.range])
            let kept: [Float]
            switch slot.name {
            case "bert.encoder.layer.1.intermediate.dense.weight":
                kept = theirs.enumerated().filter { !removed.contains($0.offset / hidden) }.map(\.element)
            case "bert.encoder.layer.1.intermediate.dense.bias":
                kept = theirs.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
            case "bert.encoder.layer.1.output.dense.weight":
                kept = theirs.enumerated().filter { !removed.contains($0.offset % width) }.map(\.element)
            default:
                kept = theirs
            }
            #expect(kept.count == ours.count, "\(slot.name)")
            for (a, b) in zip(ours, kept) { worst = max(worst, abs(a - b)) }
        }
        #expect(worst < 1e-5, "largest difference \(worst)")
    }

    @Test func gradientAccumulationEqualsOneBigBatch() throws {
        let model = try TrainableModel(TrainingGradientTests.model(.bert, head: .classifier(labels: 3)))
        var settings = TrainerSettings(schedule: LearningRateSchedule(peak: 1e-3, warmupSteps: 0, totalSteps: 10), dropout: .off, seed: 1)
        let whole = TrainingGradientTests.batch(for: .classifier(labels: 3), lengths: [4, 6, 3, 7])
        var one = try Trainer(model: model, settings: settings)
        _ = try one.update([whole], engine: GradientEngine(threads: 1))
        settings.accumulationSteps = 2
        var two = try Trainer(model: model, settings: settings)
        let first = TrainingGradientTests.batch(for: .classifier(labels: 3), lengths: [4, 6, 3, 7])
        func half(_ range: Range<Int>) -> TrainingBatch {
            var inputs = EncoderBatch()
            for i in range {
                let rows = first.inputs.offsets[i]..<first.inputs.offsets[i + 1]
                inputs.append(ids: Array(first.inputs.ids[rows]), typeIds: Array(first.inputs.typeIds[rows]))
            }
            return TrainingBatch(inputs: inputs, targets: Array(first.targets[range]))
        }
        _ = try two.update([half(0..<2), half(2..<4)], engine: GradientEngine(threads: 1))
        let difference = zip(one.model.parameters.values, two.model.parameters.values).map { abs($0 - $1) }.max()!
        #expect(difference < 1e-6)
    }

    @Test func sameSeedAndThreadsGiveBitIdenticalRuns() throws {
        let model = try TrainableModel(TrainingGradientTests.model(.distilbert, head: .classifier(labels: 3)))
        var a = try Trainer(model: model, settings: settings(.full, steps: 10)), b = a
        try train(&a, steps: 10)
        try train(&b, steps: 10)
        #expect(a.model.parameters == b.model.parameters)
        #expect(a.optimizer == b.optimizer)
    }

    @Test func aNonFiniteLossStopsBeforeTheUpdate() throws {
        var model = try TrainableModel(TrainingGradientTests.model(.bert, head: .classifier(labels: 3)))
        let slot = model.layout.slot(named: "classifier.weight")!
        model.parameters.values[slot.offset] = .infinity
        var trainer = try Trainer(model: model, settings: settings(.full))
        #expect(throws: TrainingError.self) { try train(&trainer, steps: 1) }
        #expect(trainer.step == 0)
        #expect(trainer.model.parameters == model.parameters)
    }
}
