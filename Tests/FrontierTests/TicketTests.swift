import Foundation
import Testing
@testable import FrontierEngine
import FrontierSupport
@testable import FrontierTechniques
@testable import FrontierTraining

/// Lottery tickets on tiny random bases: the pruning schedule's counts, IMP following it level
/// by level with pruned weights held at zero through training and rewinding, the controls'
/// masks, mask files that the `--mask` loader reads, and a search interrupted between levels
/// resuming to the bits of an uninterrupted one.
@Suite struct TicketTests {
    // MARK: Schedule

    @Test func originalBasisPrunesAFixedShareOfTheOriginalCountPerRound() throws {
        let schedule = PruningSchedule(perRound: 0.1, basis: .original, target: 0.9)
        #expect(schedule.prunedCounts(prunable: 1000) == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900])
        // A target between rounds ends exactly at the target.
        #expect(PruningSchedule(perRound: 0.2, basis: .original, target: 0.5).prunedCounts(prunable: 1000) == [0, 200, 400, 500])
    }

    @Test func remainingBasisPrunesAShareOfWhatIsLeft() throws {
        let counts = PruningSchedule(perRound: 0.1, basis: .remaining, target: 0.9).prunedCounts(prunable: 1000)
        var expected = [0]
        while expected.last! < 900 {
            let pruned = expected.last!
            expected.append(min(900, pruned + Int((0.1 * Double(1000 - pruned)).rounded())))
        }
        #expect(counts == expected)
        #expect(counts.count == 23, "1 − 0.9^r reaches 90 % after 22 rounds")
        #expect(counts[1] == 100 && counts[2] == 190 && counts[3] == 271)
    }

    @Test func scheduleRefusesNonsense() {
        #expect(throws: TrainingError.self) { try PruningSchedule(perRound: 0, target: 0.9).validate() }
        #expect(throws: TrainingError.self) { try PruningSchedule(perRound: 0.1, target: 1).validate() }
    }

    // MARK: Masks

    static func tinyModel(_ root: URL, family: ModelConfig.Family = .bert) throws -> TrainableModel {
        let base = try FrozenFinetuneTests.tinyBase(in: root, family: family)
        let checkpoint = try Checkpoint.load(directory: base)
        return try TrainableModel(checkpoint.model, newHead: .sequenceClassification(labels: 2), seed: 3)
    }

    @Test func prunableSlotsAreTheSevenMatricesPerBlockAndThePooler() throws {
        let root = try FineTuneFixtures.folder("tickets-slots")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try Self.tinyModel(root)
        let names = model.prunableSlots.map(\.name)
        #expect(names.count == 2 * 6 + 1)
        #expect(names.first == "bert.encoder.layer.0.attention.self.query.weight")
        #expect(names.last == "bert.pooler.dense.weight")
        // The same matrices the inference-side pruning (and its --mask loader) knows.
        let encoder = model.encoderModel()
        #expect(Set(encoder.prunableWeights.map { $0.name + ".weight" }) == Set(names))
    }

    @Test func globalMagnitudePruningTakesTheSmallestKeptWeightsAndKeepsEarlierPruning() throws {
        let root = try FineTuneFixtures.folder("tickets-magnitude")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try Self.tinyModel(root)
        let dense = TicketMask.dense(for: model)
        let first = try TicketPruning.magnitude(model, from: dense, pruned: dense.count / 5)
        #expect(first.pruned == dense.count / 5)
        // Every pruned weight is no larger than every kept one.
        var pruned: [Float] = [], kept: [Float] = []
        for (slot, matrix) in zip(model.prunableSlots, first.matrices) {
            for (i, keep) in matrix.keep.enumerated() { (keep ? { kept.append($0) } : { pruned.append($0) })(abs(model.parameters.values[slot.offset + i])) }
        }
        #expect(pruned.max()! <= kept.min()!)
        // The next round keeps what the first pruned, whatever the weights are now.
        var changed = model
        first.apply(to: &changed)
        for i in changed.parameters.values.indices { changed.parameters.values[i] *= -2 }
        let second = try TicketPruning.magnitude(changed, from: first, pruned: dense.count / 2)
        #expect(second.pruned == dense.count / 2)
        for (a, b) in zip(first.matrices, second.matrices) {
            #expect(zip(a.keep, b.keep).allSatisfy { !$0.0 ? !$0.1 : true }, "\(a.name): a weight pruned earlier came back")
        }
        #expect(throws: TrainingError.self) { try TicketPruning.magnitude(model, from: second, pruned: dense.count / 5) }
    }

    @Test func controlMasksMatchThePerMatrixCounts() throws {
        let root = try FineTuneFixtures.folder("tickets-controls")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try Self.tinyModel(root)
        let ticket = try TicketPruning.magnitude(model, from: .dense(for: model), pruned: TicketMask.dense(for: model).count * 3 / 10)
        let counts = TicketPruning.counts(of: ticket)
        let random = TicketPruning.random(like: ticket, seed: 5)
        #expect(TicketPruning.counts(of: random) == counts)
        #expect(random != ticket)
        #expect(TicketPruning.random(like: ticket, seed: 5) == random, "seeded")
        let oneShot = try TicketPruning.magnitudePerMatrix(model, counts: counts)
        #expect(TicketPruning.counts(of: oneShot) == counts)
        // Within each matrix, one-shot keeps the larger magnitudes.
        for (slot, matrix) in zip(model.prunableSlots, oneShot.matrices) where matrix.pruned > 0 {
            let values = model.parameters.values[slot.range].map(abs)
            let prunedMax = zip(values, matrix.keep).filter { !$0.1 }.map(\.0).max()!
            let keptMin = zip(values, matrix.keep).filter { $0.1 }.map(\.0).min()!
            #expect(prunedMax <= keptMin)
        }
    }

    @Test func rewindingRestoresTheEncoderKeepsTheHeadAndZeroesTheMask() throws {
        let root = try FineTuneFixtures.folder("tickets-rewind")
        defer { try? FileManager.default.removeItem(at: root) }
        let theta0 = try Self.tinyModel(root)
        var trained = theta0
        for i in trained.parameters.values.indices { trained.parameters.values[i] += 0.5 }
        let mask = try TicketPruning.magnitude(trained, from: .dense(for: trained), pruned: 1000)
        let kept = TicketRewind.rewound(trained, to: theta0.parameters, head: .keep, mask: mask)
        let rewound = TicketRewind.rewound(trained, to: theta0.parameters, head: .rewind, mask: mask)
        let prunedIndices = Set(zip(kept.prunableSlots, mask.matrices).flatMap { slot, matrix in
            matrix.keep.enumerated().filter { !$0.element }.map { slot.offset + $0.offset }
        })
        #expect(prunedIndices.count == 1000)
        for slot in kept.layout.slots {
            for i in slot.range {
                let expected: Float = prunedIndices.contains(i) ? 0 : (slot.group == .head ? trained.parameters.values[i] : theta0.parameters.values[i])
                #expect(kept.parameters.values[i].bitPattern == expected.bitPattern, "\(slot.name)[\(i - slot.offset)]")
                if slot.group == .head { #expect(rewound.parameters.values[i] == theta0.parameters.values[i]) }
            }
        }
    }

    @Test func reinitialisationDrawsTheBlocksAfreshAndKeepsTheEmbeddingsAndHead() throws {
        let root = try FineTuneFixtures.folder("tickets-reinit")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try Self.tinyModel(root)
        let fresh = TicketRewind.reinitialised(model, seed: 9)
        #expect(TicketRewind.reinitialised(model, seed: 9).parameters == fresh.parameters, "seeded")
        for slot in model.layout.slots {
            let before = model.parameters.values[slot.range], after = fresh.parameters.values[slot.range]
            switch slot.group {
            case .embeddings, .head:
                #expect(Array(before) == Array(after), "\(slot.name) changed")
            case .layer, .pooler:
                if slot.name.hasSuffix("LayerNorm.weight") {
                    #expect(after.allSatisfy { $0 == 1 })
                } else if slot.name.hasSuffix(".bias") {
                    #expect(after.allSatisfy { $0 == 0 })
                } else {
                    let mean = after.reduce(0, +) / Float(after.count)
                    let std = (after.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(after.count)).squareRoot()
                    #expect(abs(std - 0.02) < 0.006 && Array(before) != Array(after), "\(slot.name): std \(std)")
                }
            }
        }
    }

    @Test func maskFilesRoundTripAndLoadThroughTheMaskOptionsLoader() throws {
        let root = try FineTuneFixtures.folder("tickets-files")
        defer { try? FileManager.default.removeItem(at: root) }
        let model = try Self.tinyModel(root)
        let mask = try TicketPruning.magnitude(model, from: .dense(for: model), pruned: 1234)
        let url = root.appendingPathComponent("mask.safetensors")
        try mask.write(to: url)
        #expect(try TicketMask.read(from: url, for: model) == mask)
        let file = try SafetensorsFile(url: url)
        #expect(file.tensorNames.contains("bert.encoder.layer.0.attention.self.query.weight_mask"))
        #expect(file.tensorNames.contains("bert.pooler.dense.weight_mask"))
        // What eval, bench, run, grids and finetune read with --mask.
        let loaded = try MagnitudePruning.load(from: url, for: model.encoderModel())
        let byName = Dictionary(loaded.map { ($0.weight.name + ".weight", $0.keep) }, uniquingKeysWith: { $1 })
        for matrix in mask.matrices { #expect(byName[matrix.name] == matrix.keep, "\(matrix.name)") }
        // Keys without the family prefix (as some lottery-ticket dumps have them) load too.
        let unprefixed = root.appendingPathComponent("unprefixed.safetensors")
        try SafetensorsWriter.write(mask.matrices.map {
            SafetensorsWriter.Tensor(name: String($0.maskKey.dropFirst("bert.".count)), dtype: .f32, shape: $0.shape, values: $0.keep.map { $0 ? 1 : 0 })
        }, to: unprefixed)
        #expect(try TicketMask.read(from: unprefixed, for: model) == mask)
        // A wrong shape names the tensor.
        let bad = root.appendingPathComponent("bad.safetensors")
        try SafetensorsWriter.write([SafetensorsWriter.Tensor(name: mask.matrices[0].maskKey, dtype: .f32, shape: [2, 2], values: [1, 0, 1, 1])], to: bad)
        #expect { try TicketMask.read(from: bad, for: model) } throws: { "\($0)".contains("query.weight_mask' has shape [2, 2]") }
    }

    // MARK: Searches

    /// Trains a level in process as the agent's `FineTuneRun` does, without meters.
    static func train(_ job: FineTuneJob, _ folder: URL, _ mask: TicketMask,
                      _ afterUpdate: FineTuneHooks.AfterUpdate?) throws -> TicketSearch.Trained {
        let store = TrainingStateStore(output: folder)
        let outcome = try FineTuner(job: job, store: store, hooks: FineTuneHooks(afterUpdate: afterUpdate)).run()
        let record = FineTuneRecord(outcome: outcome, job: job, environment: FineTuneTests.environment(), maskedWeights: mask.pruned)
        try FineTunedCheckpoint.write(model: outcome.model, task: job.settings.fineTuneTask, base: URL(fileURLWithPath: job.settings.base),
                                      output: folder, record: record)
        try store.remove()
        return TicketSearch.Trained(model: outcome.model, record: record)
    }

    static func search(_ settings: TicketSearchSettings, out: URL) throws -> TicketSearch {
        TicketSearch(settings: settings, baseJob: try FineTuneFixtures.job(settings.fineTune), store: TicketSearchStore(folder: out))
    }

    static func impSettings(base: URL, data: URL, basis: PruningSchedule.Basis, target: Double = 0.5, perRound: Double = 0.2) -> TicketSearchSettings {
        var fineTune = FineTuneFixtures.settings(base: base, data: data)
        fineTune.epochs = 1
        fineTune.evalEvery = nil
        return TicketSearchSettings(method: .imp, fineTune: fineTune, schedule: PruningSchedule(perRound: perRound, basis: basis, target: target))
    }

    static func trainedModel(_ folder: URL, like model: TrainableModel) throws -> TrainableModel {
        try TicketSearch.load(folder, like: model)
    }

    @Test(arguments: [PruningSchedule.Basis.original, .remaining])
    func impFollowsTheScheduleAndPrunedWeightsStayZero(basis: PruningSchedule.Basis) throws {
        let root = try FineTuneFixtures.folder("tickets-imp-\(basis.rawValue)")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        let out = root.appendingPathComponent("imp")
        let settings = Self.impSettings(base: base, data: data, basis: basis)
        let search = try Self.search(settings, out: out)
        let levels = try search.run(train: Self.train)
        let prunable = TicketMask.dense(for: search.baseJob.model).count
        let expected = settings.schedule.prunedCounts(prunable: prunable)
        #expect(levels.map(\.pruned) == expected)
        #expect(levels.map(\.level) == Array(expected.indices))
        #expect(levels.allSatisfy { $0.metrics["accuracy"] != nil && $0.steps == 6 })
        let theta0 = search.baseJob.model
        var previous = TicketMask.dense(for: theta0)
        for level in levels {
            let folder = out.appendingPathComponent(level.folder)
            let trained = try Self.trainedModel(folder, like: theta0)
            // Zeros in the trained prunable matrices: exactly the schedule's count (the mask's).
            #expect(TicketMask.zeros(of: trained).pruned == expected[level.level], "level \(level.level)")
            guard level.level > 0 else { continue }
            let mask = try TicketMask.read(from: folder.appendingPathComponent("mask.safetensors"), for: theta0)
            #expect(mask.pruned == expected[level.level])
            #expect(TicketMask.zeros(of: trained) == mask, "the trained zeros are the mask's")
            for (a, b) in zip(previous.matrices, mask.matrices) { #expect(zip(a.keep, b.keep).allSatisfy { $0.0 || !$0.1 }) }
            previous = mask
        }
        let lines = try String(contentsOf: out.appendingPathComponent("levels.jsonl"), encoding: .utf8).split(separator: "\n")
        #expect(lines.count == expected.count && lines.allSatisfy { $0.contains("\"sparsity\"") && $0.contains("\"training_s\"") })
    }

    @Test func searchInterruptedBetweenLevelsResumesToTheBitsOfAnUninterruptedOne() throws {
        let root = try FineTuneFixtures.folder("tickets-resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        var settings = Self.impSettings(base: base, data: data, basis: .original, target: 0.6, perRound: 0.3)
        settings.rewindStep = 2
        let whole = root.appendingPathComponent("whole"), broken = root.appendingPathComponent("broken")
        let reference = try Self.search(settings, out: whole).run(train: Self.train)
        #expect(reference.count == 3 && FileManager.default.fileExists(atPath: whole.appendingPathComponent("rewind-point.safetensors").path))

        struct Stop: Error {}
        var calls = 0
        do {
            _ = try Self.search(settings, out: broken).run { job, folder, mask, after in
                calls += 1
                if calls == 2 { throw Stop() }
                return try Self.train(job, folder, mask, after)
            }
            Issue.record("the interrupted search did not stop")
        } catch is Stop {}
        var read: [Int] = []
        let resumed = try Self.search(settings, out: broken).run(train: Self.train) { event in
            if case let .levelRead(level) = event { read.append(level.level) }
        }
        #expect(read == [0])
        #expect(resumed.map(\.metrics) == reference.map(\.metrics))
        let theta0 = try FineTuneFixtures.job(settings.fineTune).model
        for level in reference {
            let a = try Self.trainedModel(whole.appendingPathComponent(level.folder), like: theta0)
            let b = try Self.trainedModel(broken.appendingPathComponent(level.folder), like: theta0)
            #expect(FineTuneFixtures.bits(a) == FineTuneFixtures.bits(b), "level \(level.level) differs")
        }
        // A different search in the same folder is refused, naming what differs.
        var other = settings
        other.fineTune.learningRate = 5e-3
        #expect { try Self.search(other, out: broken).run(train: Self.train) } throws: { "\($0)".contains("--lr: 0.001 in the folder, 0.005 now") }
    }

    @Test func controlsFollowTheImpLevelsCounts() throws {
        let root = try FineTuneFixtures.folder("tickets-control-run")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        let settings = Self.impSettings(base: base, data: data, basis: .original, target: 0.4)
        let imp = root.appendingPathComponent("imp")
        _ = try Self.search(settings, out: imp).run(train: Self.train)
        let theta0 = try FineTuneFixtures.job(settings.fineTune).model
        for method in [TicketMethod.oneShot, .randomPruning, .randomReinit] {
            let out = root.appendingPathComponent(method.rawValue)
            let control = TicketSearchSettings(method: method, fineTune: settings.fineTune, schedule: settings.schedule, source: imp.path)
            let levels = try Self.search(control, out: out).run(train: Self.train)
            #expect(levels.map(\.level) == [1, 2])
            for level in levels {
                let impMask = try TicketMask.read(from: imp.appendingPathComponent(level.folder).appendingPathComponent("mask.safetensors"), for: theta0)
                let mask = try TicketMask.read(from: out.appendingPathComponent(level.folder).appendingPathComponent("mask.safetensors"), for: theta0)
                #expect(TicketPruning.counts(of: mask) == TicketPruning.counts(of: impMask), "\(method) level \(level.level)")
                // One-shot at IMP's first level is IMP's first mask: both prune level 0's weights by
                // magnitude, and with IMP's counts per matrix the global and per-matrix choices agree.
                let same = method == .randomReinit || (method == .oneShot && level.level == 1)
                #expect((mask == impMask) == same, "\(method) level \(level.level)")
                let trained = try Self.trainedModel(out.appendingPathComponent(level.folder), like: theta0)
                #expect(TicketMask.zeros(of: trained) == mask)
            }
        }
        // A control needs an imp folder.
        let orphan = TicketSearchSettings(method: .randomPruning, fineTune: settings.fineTune, schedule: settings.schedule,
                                          source: root.appendingPathComponent("nowhere").path)
        #expect { try Self.search(orphan, out: root.appendingPathComponent("orphan")).run(train: Self.train) } throws: { "\($0)".contains("tickets.json") }
    }

    @Test func aDensePoolerStaysOutOfImpAndItsControls() throws {
        let root = try FineTuneFixtures.folder("tickets-pooler-dense")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        var settings = Self.impSettings(base: base, data: data, basis: .original, target: 0.4)
        settings.pooler = .dense
        let imp = root.appendingPathComponent("imp")
        let search = try Self.search(settings, out: imp)
        let theta0 = search.baseJob.model
        let exempt = theta0.exemptFromPruning(pooler: .dense)
        #expect(exempt.count == 1 && exempt.first?.hasSuffix("pooler.dense.weight") == true)
        #expect(theta0.exemptFromPruning(pooler: .prune).isEmpty)
        let pooler = try #require(TicketMask.dense(for: theta0).matrix(named: exempt.first!))
        let prunable = TicketMask.dense(for: theta0).count - pooler.count
        let levels = try search.run(train: Self.train)
        #expect(levels.map(\.pruned) == settings.schedule.prunedCounts(prunable: prunable))
        #expect(levels.allSatisfy { $0.prunable == prunable && $0.sparsity == Double($0.pruned) / Double(prunable) })
        for level in levels.dropFirst() {
            let mask = try TicketMask.read(from: imp.appendingPathComponent(level.folder).appendingPathComponent("mask.safetensors"), for: theta0)
            #expect(mask.matrix(named: pooler.name)?.pruned == 0, "level \(level.level)")
            #expect(mask.pruned == level.pruned)
        }
        let manifest = try #require(try TicketSearchStore(folder: imp).loadManifest())
        #expect(manifest.settings.pooler == .dense && manifest.prunable == prunable)
        // The same folder under the default is another search.
        var pruning = settings
        pruning.pooler = .prune
        #expect { try Self.search(pruning, out: imp).run(train: Self.train) } throws: { "\($0)".contains("--pooler: dense in the folder, prune now") }
        // A control follows the folder's prunable set.
        let control = TicketSearchSettings(method: .randomPruning, fineTune: settings.fineTune, schedule: settings.schedule, source: imp.path)
        let random = try Self.search(control, out: root.appendingPathComponent("random")).run(train: Self.train)
        #expect(random.map(\.pruned) == Array(levels.map(\.pruned).dropFirst()))
        #expect(random.allSatisfy { $0.prunable == prunable })
    }

    @Test func globalMagnitudePruningLeavesExemptMatricesAlone() throws {
        let root = try FineTuneFixtures.folder("tickets-exempt")
        defer { try? FileManager.default.removeItem(at: root) }
        let (model, _) = try Self.structureFixture(root)
        let exempt = model.exemptFromPruning(pooler: .dense)
        let dense = TicketMask.dense(for: model)
        let others = dense.count - dense.matrices.filter { exempt.contains($0.name) }.reduce(0) { $0 + $1.count }
        let mask = try TicketPruning.magnitude(model, from: dense, pruned: others / 2, exempt: exempt)
        #expect(mask.pruned == others / 2)
        #expect(mask.matrices.filter { exempt.contains($0.name) }.allSatisfy { $0.pruned == 0 })
        #expect(throws: TrainingError.self) { try TicketPruning.magnitude(model, from: dense, pruned: others + 1, exempt: exempt) }
        #expect(try TicketPruning.magnitude(model, from: dense, pruned: others + 1).pruned == others + 1)
    }

    // MARK: Structured

    /// A tiny model with a freshly initialised head and one of the SST-2 fixture's sequences.
    static func structureFixture(_ root: URL) throws -> (TrainableModel, TrainingSequence) {
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        let job = try FineTuneFixtures.job(FineTuneFixtures.settings(base: base, data: data))
        return (job.model, job.data.sequences[3])
    }

    @Test func gateGradientsEqualFiniteDifferences() throws {
        let root = try FineTuneFixtures.folder("tickets-importance")
        defer { try? FileManager.default.removeItem(at: root) }
        let (model, sequence) = try Self.structureFixture(root)
        let engine = GradientEngine(threads: 1)
        var scratch = ParameterVector(zeros: model.layout)
        let gates = try StructureImportance.gateGradients(model, sequence: sequence, engine: engine, scratch: &scratch)
        var inputs = EncoderBatch()
        inputs.append(ids: sequence.ids, typeIds: sequence.typeIds)
        let batch = TrainingBatch(inputs: inputs, targets: [sequence.target])
        func loss(scaling indices: [Int], by factor: Float) throws -> Double {
            var scaled = model
            for i in indices { scaled.parameters.values[i] *= factor }
            var unused = ParameterVector(zeros: model.layout)
            return Double(try engine.run(scaled, batch: batch, into: &unused, computeGradients: false).loss)
        }
        let eps: Float = 1e-2
        let slots = model.layout.slots, h = model.config.hiddenSize
        for (index, layer) in model.architecture.layers.enumerated() {
            let w = slots[layer.attentionOutput.weight], a = layer.attentionWidth, d = layer.headDim
            for head in 0..<layer.numHeads {
                var columns: [Int] = []
                for row in 0..<h {
                    let start: Int = w.offset + row * a + head * d
                    columns += Array(start..<(start + d))
                }
                let estimate = (try loss(scaling: columns, by: 1 + eps) - loss(scaling: columns, by: 1 - eps)) / Double(2 * eps)
                let exact = gates.heads[index][head]
                #expect(abs(estimate - exact) <= 0.02 * abs(exact) + 2e-5, "layer \(index) head \(head): \(exact) vs finite difference \(estimate)")
            }
            let block = Array(slots[layer.output.weight].range) + Array(slots[layer.output.bias].range)
            let estimate = (try loss(scaling: block, by: 1 + eps) - loss(scaling: block, by: 1 - eps)) / Double(2 * eps)
            #expect(abs(estimate - gates.feedForward[index]) <= 0.02 * abs(gates.feedForward[index]) + 2e-5,
                    "layer \(index) feed-forward: \(gates.feedForward[index]) vs finite difference \(estimate)")
        }
        #expect(gates.heads.flatMap { $0 }.contains { abs($0) > 1e-4 }, "the fixture's gradients are not all vanishing")
    }

    @Test func removedHeadsAndBlocksContributeNothingAndScoreZero() throws {
        let root = try FineTuneFixtures.folder("tickets-structure")
        defer { try? FileManager.default.removeItem(at: root) }
        let (model, sequence) = try Self.structureFixture(root)
        var mask = StructureMask.full(for: model)
        mask.heads[0][1] = false
        mask.heads[1][3] = false
        mask.feedForward[1] = false
        var masked = model
        try mask.apply(to: &masked)
        var inputs = EncoderBatch()
        inputs.append(ids: sequence.ids, typeIds: sequence.typeIds)
        let batch = TrainingBatch(inputs: inputs, targets: [sequence.target])
        let engine = GradientEngine(threads: 1)
        var unused = ParameterVector(zeros: model.layout)
        let before = try engine.run(masked, batch: batch, into: &unused, computeGradients: false).logits
        // A removed head's output columns read a zero attention output: changing them changes nothing.
        var perturbed = masked
        let layer = model.architecture.layers[0], w = model.layout.slots[layer.attentionOutput.weight]
        for row in 0..<model.config.hiddenSize {
            for c in (row * layer.attentionWidth + layer.headDim)..<(row * layer.attentionWidth + 2 * layer.headDim) { perturbed.parameters.values[w.offset + c] = 7 }
        }
        #expect(try engine.run(perturbed, batch: batch, into: &unused, computeGradients: false).logits == before)
        let importance = try StructureImportance.measure(masked, sequences: [sequence], engine: engine)
        #expect(importance.heads[0][1] == 0 && importance.heads[1][3] == 0 && importance.feedForward[1] == 0)
        #expect(importance.heads[0][0] > 0 && importance.feedForward[0] > 0)
        // Removing by importance takes the least (or, for "bad", the most) important kept ones.
        let less = importance.removing(from: mask, heads: 2, feedForward: 1)
        #expect(less.keptHeads == mask.keptHeads - 2 && less.keptFeedForward == 0)
        func scores(_ include: (Int, Int) -> Bool) -> [Double] {
            var result: [Double] = []
            for l in mask.heads.indices { for head in mask.heads[l].indices where include(l, head) { result.append(importance.heads[l][head]) } }
            return result
        }
        let kept = scores { mask.heads[$0][$1] }
        let removedScores = scores { mask.heads[$0][$1] && !less.heads[$0][$1] }
        #expect(removedScores.max()! <= kept.sorted()[2])
        let bad = importance.removing(from: mask, heads: 2, feedForward: 0, mostImportant: true)
        let badScores = scores { mask.heads[$0][$1] && !bad.heads[$0][$1] }
        #expect(badScores.min()! >= kept.sorted(by: >)[1])
        let random = mask.removingRandomly(heads: 2, feedForward: 1, seed: 4)
        #expect(random.keptHeads == mask.keptHeads - 2 && random.keptFeedForward == 0 && !random.heads[0][1] && !random.heads[1][3])
    }

    @Test func structuredSearchKeepsTheThresholdAndRetrainsSubnetworksOfOneSize() throws {
        let root = try FineTuneFixtures.folder("tickets-structured")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        var fineTune = FineTuneFixtures.settings(base: base, data: data)
        fineTune.evalEvery = nil
        let settings = StructuredSearchSettings(fineTune: fineTune, perStep: 0.25, threshold: 0.8, importanceExamples: 8)
        let out = root.appendingPathComponent("structured")
        var steps: [(StructuredResult, Bool)] = []
        let search = StructuredSearch(settings: settings, baseJob: try FineTuneFixtures.job(fineTune), folder: out)
        let results = try search.run(train: Self.train) { event in
            if case let .step(result, accepted) = event { steps.append((result, accepted)) }
        }
        #expect(results.map(\.name) == ["full", "good", "random", "bad"])
        let full = results[0], good = results[1]
        #expect(full.keptHeads == 8 && full.keptFeedForward == 2)
        #expect(steps.allSatisfy { $0.1 == ($0.0.value >= 0.8 * full.value) }, "a step is kept exactly when it stays above the threshold")
        let accepted = steps.filter(\.1).map(\.0)
        #expect(good.keptHeads == (accepted.last?.keptHeads ?? 8) && good.keptFeedForward == (accepted.last?.keptFeedForward ?? 2))
        for other in results.dropFirst(2) {
            #expect(other.keptHeads == good.keptHeads && other.keptFeedForward == good.keptFeedForward, "\(other.name)")
        }
        // Each retrained subnetwork's removed tensors are still zero after training.
        let theta0 = search.baseJob.model
        for result in results.dropFirst() {
            let trained = try Self.trainedModel(out.appendingPathComponent(result.name), like: theta0)
            let keep = result.structure.keep(for: theta0)
            for (name, flags) in keep {
                let values = try #require(trained.parameters[name])
                #expect(zip(values, flags).allSatisfy { $0.1 || $0.0 == 0 }, "\(result.name): \(name)")
            }
        }
        // Run again: everything is read back, with the same results.
        var trainedAgain = 0
        let again = try StructuredSearch(settings: settings, baseJob: try FineTuneFixtures.job(fineTune), folder: out).run(train: Self.train) { event in
            if case .training = event { trainedAgain += 1 }
        }
        #expect(trainedAgain == 0 && again == results)
    }

    // MARK: Command line

    @Test(.needsAgentBinary) func impAndItsControlRunAsAUserRunsThem() throws {
        let root = try FineTuneFixtures.folder("tickets-cli")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root, examples: 16)
        let out = root.appendingPathComponent("imp")
        func imp(_ target: String) -> [String] {
            ["imp", "--base", base.path, "--task", "SST-2", "--data", data.path, "--out", out.path, "--target-sparsity", target,
             "--per-round", "0.25", "--epochs", "1", "--batch", "8", "--max-seq-len", "16", "--lr", "1e-3", "--threads", "2",
             "--energy", "estimated"]
        }
        let first = try AgentCommandLineTests.run(imp("0.5"))
        #expect(first.status == 0, "\(first.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(first.stdout.utf8)) as? [String: Any])
        let levels = try #require(report["levels"] as? [[String: Any]])
        #expect(levels.map { $0["pruned"] as? Int } == [0, 960, 1920], "a quarter of the tiny base's 3,840 prunable weights per round")
        #expect(levels.allSatisfy { $0["energy_source"] as? String == "estimated" && $0["metrics"] is [String: Any] })
        #expect(first.stderr.contains("imp level 2 of 2: sparsity 50.0%"), "\(first.stderr)")
        // Level by level, each from the one before in another folder (as a sweep's stages run
        // them, on whichever machine): the same masks and the same trained bits.
        var previous = out.appendingPathComponent("level-00")
        for level in 1...2 {
            let alone = root.appendingPathComponent("alone-\(level)")
            let args = Array(imp("0.99").dropLast(2)).map { $0 == out.path ? alone.path : $0 }
                + ["--energy", "estimated", "--level", "\(level)", "--previous", previous.path]
            let run = try AgentCommandLineTests.run(args)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(!run.stderr.contains("imp level \(level - 1) of"), "level \(level - 1) was trained again: \(run.stderr)")
            let name = TicketSearchStore.levelName(level)
            for file in ["mask.safetensors", "model.safetensors"] {
                #expect(FileManager.default.contents(atPath: alone.appendingPathComponent("\(name)/\(file)").path)
                            == FileManager.default.contents(atPath: out.appendingPathComponent("\(name)/\(file)").path), "level \(level) \(file)")
            }
            previous = alone.appendingPathComponent(name)
        }
        let wrong = try AgentCommandLineTests.run(Array(imp("0.99").dropLast(2)).map { $0 == out.path ? root.appendingPathComponent("x2").path : $0 }
                                                  + ["--level", "2", "--previous", out.appendingPathComponent("level-00").path])
        #expect(wrong.status == 64 && wrong.stderr.contains("mask"), "level 2 from a dense level 0: \(wrong.stderr)")

        // The same command again reads the levels back; another target is refused, naming it.
        let again = try AgentCommandLineTests.run(imp("0.5"))
        #expect(again.status == 0 && !again.stderr.contains("imp level 1 of"), "\(again.stderr)")
        let other = try AgentCommandLineTests.run(imp("0.75"))
        #expect(other.status == 64 && other.stderr.contains("--target-sparsity: 0.5 in the folder, 0.75 now"), "\(other.stderr)")
        // A level's folder is a checkpoint whose mask eval reads with --mask.
        let level = out.appendingPathComponent("level-02").path
        let eval = try AgentCommandLineTests.run(["eval", "--model", level, "--task", "SST-2", "--data", data.path,
                                                  "--mask", level + "/mask.safetensors", "--sparse-kernel", "always"])
        #expect(eval.status == 0, "\(eval.stderr)")

        let control = try AgentCommandLineTests.run(["imp-control", "--imp", out.path, "--control", "random-reinit",
                                                     "--out", root.appendingPathComponent("reinit").path, "--levels", "2", "--energy", "estimated"])
        #expect(control.status == 0, "\(control.stderr)")
        #expect(FileManager.default.fileExists(atPath: root.appendingPathComponent("reinit/level-02/mask.safetensors").path))
        let bad = try AgentCommandLineTests.run(["imp-control", "--imp", root.path, "--control", "one-shot", "--out", root.appendingPathComponent("x").path])
        #expect(bad.status == 64 && bad.stderr.contains("tickets.json"), "\(bad.stderr)")
    }
}
