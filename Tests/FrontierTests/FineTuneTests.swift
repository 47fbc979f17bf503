import Foundation
import Testing
@testable import FrontierEngine
import FrontierSupport
@testable import FrontierTasks
@testable import FrontierTechniques
@testable import FrontierTraining

/// The training loop and the folder it writes, in process, on tiny random bases: resuming
/// from a saved state gives the bits of an uninterrupted run, a state of another command is
/// refused, a non-finite loss stops naming the update with the last state intact, and the
/// written folders load as task models (classification, regression, question answering,
/// DistilBERT, masked and shrunk bases).
@Suite struct FineTuneTests {
    /// Runs `settings` in `output` to the end.
    static func train(_ settings: FineTuneSettings, in output: URL, mask: [String: [Bool]]? = nil,
                      event: @escaping (FineTuneEvent) -> Void = { _ in }) throws -> (FineTuneJob, FineTuneOutcome) {
        let job = try FineTuneFixtures.job(settings, mask: mask)
        let outcome = try FineTuner(job: job, store: TrainingStateStore(output: output), hooks: FineTuneHooks(event: event)).run()
        return (job, outcome)
    }

    static func environment() -> TrainingEnvironment {
        TrainingEnvironment(cpuModel: "test", logicalCpus: 2, energySource: nil, frontierVersion: FrontierVersion.string)
    }

    @Test func resumedRunEndsWithTheWeightsOfAnUninterruptedOne() throws {
        let root = try FineTuneFixtures.folder("resume")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        let settings = FineTuneFixtures.settings(base: base, data: data)
        let a = root.appendingPathComponent("a"), b = root.appendingPathComponent("b")
        // The state a run killed after update 6 leaves: a copy of the one saved then.
        let (job, whole) = try Self.train(settings, in: a) { event in
            if case .checkpointed(step: 6) = event {
                try? FileManager.default.createDirectory(at: b, withIntermediateDirectories: true)
                try? FileManager.default.copyItem(at: a.appendingPathComponent(".training-state"), to: b.appendingPathComponent(".training-state"))
            }
        }
        #expect(whole.plan.totalSteps == 12 && whole.progress.steps.count == 12 && whole.startSteps == [0])
        #expect(whole.progress.steps.allSatisfy { $0.loss.isFinite && $0.gradNorm > 0 })
        #expect(whole.progress.steps.first?.lr == 0, "warm-up starts at 0")
        #expect(whole.progress.evaluations.map(\.step) == [5, 10, 12])
        #expect(FineTuneFixtures.bits(whole.model) != FineTuneFixtures.bits(job.model), "training changed the weights")
        let saved = try #require(try TrainingStateStore(output: b).loadManifest())
        #expect(saved.step == 6 && saved.epoch == 1 && saved.update == 0)

        var resumedFrom: Int?
        let (_, resumed) = try Self.train(settings, in: b) { event in
            if case let .started(step, _) = event { resumedFrom = step }
        }
        #expect(resumedFrom == 6)
        #expect(FineTuneFixtures.bits(resumed.model) == FineTuneFixtures.bits(whole.model), "resumed weights differ from the uninterrupted run's")
        #expect(resumed.progress.steps == whole.progress.steps, "the loss curve is the whole run's")
        #expect(resumed.progress.evaluations.map(\.metrics) == whole.progress.evaluations.map(\.metrics))
        #expect(resumed.startSteps == [0, 6] && resumed.progress.segments.map(\.toStep) == [6, 12])
        // The final state is saved too, so a crash while writing the folder loses no training.
        #expect(try TrainingStateStore(output: a).loadManifest()?.step == 12)
    }

    @Test func stateOfAnotherCommandIsRefusedNamingTheDifference() throws {
        let root = try FineTuneFixtures.folder("mismatch")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        var settings = FineTuneFixtures.settings(base: base, data: data)
        settings.epochs = 1
        let output = root.appendingPathComponent("out")
        _ = try Self.train(settings, in: output)
        var other = settings
        other.learningRate = 2e-3
        other.threads = 1
        do {
            _ = try Self.train(other, in: output)
            Issue.record("a state saved with other settings was resumed")
        } catch let error as FineTuneError {
            let text = "\(error)"
            #expect(text.contains("--lr: 0.001 in the saved state, 0.002 now") && text.contains("--threads: 2 in the saved state, 1 now"), "\(text)")
            #expect(text.contains("--restart"))
        }
        // A changed input file is named too.
        try "sentence\tlabel\ngood fun .\t1\nbad dull .\t0\n".write(to: data.appendingPathComponent("SST-2/train.tsv"), atomically: true, encoding: .utf8)
        do {
            _ = try Self.train(settings, in: output)
            Issue.record("a state made from another train file was resumed")
        } catch let error as FineTuneError {
            #expect("\(error)".contains("SST-2/train.tsv changed since the state was saved"), "\(error)")
        }
    }

    /// Saving swaps folders by rename: whatever moment a crash picks, a complete state is found.
    @Test func stateStoreKeepsTheLastGoodStateThroughAnInterruptedSave() throws {
        let root = try FineTuneFixtures.folder("store")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = TrainingStateStore(output: root)
        func state(_ step: Int) -> TrainingState {
            let settings = FineTuneSettings(task: "SST-2", base: "/b", data: "/d", regime: "full")
            return TrainingState(manifest: .init(settings: settings, inputs: [], step: step, epoch: 0, update: step, totalSteps: 10,
                                                 parameterNames: ["w"], parameterCount: 3, progress: TrainingProgress(), frontierVersion: "test"),
                                 parameters: [1, 2, Float(step)], firstMoment: [0, 0, 1], secondMoment: [0, 0, 2])
        }
        #expect(try store.load() == nil && !store.exists)
        try store.save(state(1))
        try store.save(state(2))
        #expect(try store.load()?.parameters == [1, 2, 2])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == [".training-state"], "no folder left aside")

        // Killed while writing the next state: the half-written `.next` is ignored and replaced.
        try FileManager.default.createDirectory(at: root.appendingPathComponent(".training-state.next"), withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: root.appendingPathComponent(".training-state.next/vectors.safetensors"))
        #expect(try store.load()?.manifest.step == 2)
        // Killed between moving the old state aside and moving the new one in: the old one is back.
        try FileManager.default.moveItem(at: store.folder, to: root.appendingPathComponent(".training-state.prev"))
        #expect(try store.exists && store.load()?.manifest.step == 2)
        try store.save(state(3))
        #expect(try store.load()?.parameters == [1, 2, 3])
        #expect(try FileManager.default.contentsOfDirectory(atPath: root.path) == [".training-state"])

        // A manifest and vectors of different steps are not a state.
        try FileManager.default.copyItem(at: store.folder, to: root.appendingPathComponent("copy"))
        try store.save(state(4))
        try FileManager.default.removeItem(at: store.folder.appendingPathComponent("vectors.safetensors"))
        try FileManager.default.copyItem(at: root.appendingPathComponent("copy/vectors.safetensors"), to: store.folder.appendingPathComponent("vectors.safetensors"))
        #expect(throws: TrainingError.self) { try store.load() }
        try store.remove()
        #expect(!store.exists)
    }

    @Test func nonFiniteLossStopsNamingTheUpdateAndKeepsTheLastState() throws {
        let root = try FineTuneFixtures.folder("nan")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        var settings = FineTuneFixtures.settings(base: base, data: data)
        settings.learningRate = 1e30
        settings.warmupRatio = 0
        settings.checkpointEvery = 1
        let output = root.appendingPathComponent("out")
        let vectors = output.appendingPathComponent(".training-state/vectors.safetensors")
        var lastSaved: (step: Int, bytes: Data)?
        do {
            _ = try Self.train(settings, in: output) { event in
                if case let .checkpointed(step) = event, let bytes = FileManager.default.contents(atPath: vectors.path) { lastSaved = (step, bytes) }
            }
            Issue.record("a learning rate of 1e30 trained to the end")
        } catch let error as TrainingError {
            // A learning rate of 1e30 overflows the loss, or first the gradient of a finite loss.
            let step: Int
            switch error {
            case let .nonFiniteLoss(at, loss): step = at; #expect(!loss.isFinite && "\(error)".contains("the loss became"))
            case let .nonFiniteGradient(at, norm): step = at; #expect(!norm.isFinite && "\(error)".contains("the gradient norm became"))
            default: Issue.record("unexpected \(error)"); return
            }
            let saved = try #require(lastSaved)
            #expect(step == saved.step + 1, "the error names update \(step); the last state is after \(saved.step)")
            #expect("\(error)".contains("optimizer step \(step)"))
            #expect(try TrainingStateStore(output: output).loadManifest()?.step == saved.step)
            #expect(FileManager.default.contents(atPath: vectors.path) == saved.bytes, "the last good state is untouched")
        }
    }

    @Test func writtenFolderIsASequenceClassifierWithItsTrainingRecord() throws {
        let root = try FineTuneFixtures.folder("folder")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        let settings = FineTuneFixtures.settings(base: base, data: data)
        let output = root.appendingPathComponent("out")
        let (job, outcome) = try Self.train(settings, in: output)
        #expect(job.head == "new, initialised from seed 7")
        let record = FineTuneRecord(outcome: outcome, job: job, environment: Self.environment(), maskedWeights: nil)
        try FineTunedCheckpoint.write(model: outcome.model, task: .glue(.sst2), base: base, output: output, record: record)

        let checkpoint = try Checkpoint.load(directory: output)
        #expect(checkpoint.model.config.architectures == ["BertForSequenceClassification"])
        #expect(checkpoint.model.config.labels == ["negative", "positive"] && checkpoint.model.config.problemType == "single_label_classification")
        let config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("config.json"))) as? [String: Any])
        #expect(config["finetuning_task"] as? String == "sst2" && config["num_labels"] as? Int == 2)
        #expect(config["label2id"] as? [String: Int] == ["negative": 0, "positive": 1])
        #expect(config["_name_or_path"] as? String == "tiny/bert", "the base's other keys are kept")
        let weights = try SafetensorsFile(url: output.appendingPathComponent("model.safetensors"))
        #expect(weights.metadata["format"] == "pt")
        #expect(Set(weights.tensorNames) == Set(outcome.model.layout.names))
        for slot in outcome.model.layout.slots {
            #expect(try weights.floats(slot.name) == Array(outcome.model.parameters.values[slot.range]), "\(slot.name)")
        }
        #expect(FileManager.default.contents(atPath: output.appendingPathComponent("vocab.txt").path)
                == FileManager.default.contents(atPath: base.appendingPathComponent("vocab.txt").path))

        // It scores dev as the run's final evaluation did, and says which task it was trained on.
        let evaluation = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "SST-2", dataRoot: data, maxSeqLen: 32, workspace: Workspace())
        #expect(evaluation.metrics == outcome.finalMetrics)
        #expect(RecordedTask(folder: output)?.name == "SST-2")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: output.appendingPathComponent("training.json"))) as? [String: Any])
        #expect((json["loss_curve"] as? [[String: Any]])?.count == 12)
        #expect((json["loss_curve"] as? [[String: Any]])?.first?.keys.sorted() == ["epoch", "examples", "grad_norm", "loss", "lr", "step", "tokens"])
        #expect((json["evaluations"] as? [[String: Any]])?.count == 3 && json["final_metrics"] != nil)
        #expect((json["throughput"] as? [String: Any])?["examples_per_s"] as? Double ?? 0 > 0)
        #expect((json["schedule"] as? [String: Any])?["warmup_steps"] as? Int == 2, "ceil(0.1 × 12)")
        #expect((json["train"] as? [String: Any])?["examples"] as? Int == 48)
        #expect((json["settings"] as? [String: Any])?["learning_rate"] as? Double == 1e-3)
        let decoded = try JSONCoding.decoder.decode(FineTuneRecord.self, from: Data(contentsOf: output.appendingPathComponent("training.json")))
        #expect(decoded.settings == settings && decoded.lossCurve == outcome.progress.steps && decoded.energy == nil)
    }

    @Test func stsbTrainsARegressionHead() throws {
        let root = try FineTuneFixtures.folder("stsb")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSTSB(in: root)
        var settings = FineTuneFixtures.settings(base: base, data: data, task: "STS-B")
        settings.epochs = 1
        let output = root.appendingPathComponent("out")
        let (job, outcome) = try Self.train(settings, in: output)
        #expect(job.model.architecture.isRegression && job.data.sequences.allSatisfy { if case .value = $0.target { true } else { false } })
        try FineTunedCheckpoint.write(model: outcome.model, task: .glue(.stsb), base: base, output: output,
                                      record: FineTuneRecord(outcome: outcome, job: job, environment: Self.environment(), maskedWeights: nil))
        let checkpoint = try Checkpoint.load(directory: output)
        #expect(checkpoint.model.config.isRegression && checkpoint.model.config.numLabels == 1)
        #expect(outcome.finalMetrics.keys.sorted() == ["pearson", "spearmanr"])
    }

    @Test func squadTrainsASpanHead() throws {
        let root = try FineTuneFixtures.folder("squad")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FineTuneFixtures.writeSquad(in: root)
        var settings = FineTuneFixtures.settings(base: base, data: data, task: "squad")
        settings.maxSeqLen = 24
        settings.docStride = 8
        let output = root.appendingPathComponent("out")
        let (job, outcome) = try Self.train(settings, in: output)
        #expect(job.data.sequences.count > job.data.examples, "several windows per question")
        try FineTunedCheckpoint.write(model: outcome.model, task: .squad, base: base, output: output,
                                      record: FineTuneRecord(outcome: outcome, job: job, environment: Self.environment(), maskedWeights: nil))
        let checkpoint = try Checkpoint.load(directory: output)
        #expect(checkpoint.model.config.architectures == ["BertForQuestionAnswering"] && checkpoint.model.config.numLabels == 2)
        guard case .questionAnswering = checkpoint.model.head else { Issue.record("not a QA head: \(checkpoint.model.head.name)"); return }
        #expect(outcome.finalMetrics.keys.sorted() == ["exact_match", "f1"])
        #expect(RecordedTask(folder: output)?.matches("squad") == true)
    }

    @Test func distilbertGetsItsPreClassifierAndLoadsBack() throws {
        let root = try FineTuneFixtures.folder("distil")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root, family: .distilbert), data = try FrozenFinetuneTests.writeSST2(in: root)
        var settings = FineTuneFixtures.settings(base: base, data: data, regime: "top-1")
        settings.epochs = 1
        let output = root.appendingPathComponent("out")
        let (job, outcome) = try Self.train(settings, in: output)
        try FineTunedCheckpoint.write(model: outcome.model, task: .glue(.sst2), base: base, output: output,
                                      record: FineTuneRecord(outcome: outcome, job: job, environment: Self.environment(), maskedWeights: nil))
        let checkpoint = try Checkpoint.load(directory: output)
        #expect(checkpoint.model.config.architectures == ["DistilBertForSequenceClassification"])
        // top-1: the first block and the embeddings are the base's.
        let layer0 = try #require(job.model.layout.slot(named: "distilbert.transformer.layer.0.ffn.lin1.weight"))
        let layer1 = try #require(job.model.layout.slot(named: "distilbert.transformer.layer.1.ffn.lin1.weight"))
        #expect(outcome.model.parameters.values[layer0.range] == job.model.parameters.values[layer0.range])
        #expect(outcome.model.parameters.values[layer1.range] != job.model.parameters.values[layer1.range])
    }

    @Test func headIsKeptForItsOwnTaskAndReplacedForAnother() throws {
        let root = try FineTuneFixtures.folder("head")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root)
        let model = try Checkpoint.load(directory: base).model
        var config = model.config
        config.labels = ["positive", "negative"]
        let classifier = Linear(weight: Tensor(shape: [2, 16], values: (0..<32).map { Float($0) / 100 }), bias: Tensor(zeros: [2]))
        let classified = EncoderModel(config: config, embeddings: model.embeddings, layers: model.layers,
                                      head: .sequenceClassification(pooler: model.head.pooler, preClassifier: nil, classifier: classifier))
        let (kept, keptHead) = try FineTuneSetup.trainableModel(classified, base: base, task: .glue(.sst2), seed: 1)
        #expect(keptHead == "kept from the base" && kept.config.labels == ["positive", "negative"])
        let slot = try #require(kept.layout.slot(named: "classifier.weight"))
        #expect(Array(kept.parameters.values[slot.range]) == classifier.weightValues)

        // The same head, recorded as MRPC's: replaced for SST-2.
        try #"{"task": "MRPC"}"#.write(to: base.appendingPathComponent("training.json"), atomically: true, encoding: .utf8)
        let (replaced, replacedHead) = try FineTuneSetup.trainableModel(classified, base: base, task: .glue(.sst2), seed: 1)
        #expect(replacedHead.hasPrefix("new, initialised from seed 1") && replacedHead.contains("for MRPC was replaced"), "\(replacedHead)")
        #expect(replaced.config.labels == ["negative", "positive"])
        // Three MNLI classes do not fit a two-class head either.
        let (mnli, mnliHead) = try FineTuneSetup.trainableModel(classified, base: base, task: .glue(.mnli), seed: 1)
        #expect(mnliHead.hasPrefix("new") && mnli.config.labels == ["entailment", "neutral", "contradiction"])
    }

    @Test func maskedWeightsStayZeroAndShrunkModelsTrainInTheirShape() throws {
        let root = try FineTuneFixtures.folder("mask")
        defer { try? FileManager.default.removeItem(at: root) }
        let base = try FrozenFinetuneTests.tinyBase(in: root), data = try FrozenFinetuneTests.writeSST2(in: root)
        var settings = FineTuneFixtures.settings(base: base, data: data)
        settings.epochs = 1
        settings.techniques = ["ffn-pruning(fraction=0.5)", "layer-dropping(keep=1)"]
        settings.sparsity = 0.5
        // As the command prepares it: structural pruning, then masks over what is left.
        var ffn = TechniqueSpec(name: .ffnPruning)
        ffn.fraction = 0.5
        var layers = TechniqueSpec(name: .layerDropping)
        layers.keep = 1
        let shrunk = try TechniquePipeline.apply([ffn, layers], to: try Checkpoint.load(directory: base), data: .none, base: ForwardOptions(),
                                                 workspace: Workspace()).checkpoint
        let masks = try MagnitudePruning.masks(for: shrunk.model, sparsity: 0.5, scope: .global)
        let keep = Dictionary(uniqueKeysWithValues: masks.map { ($0.weight.name + ".weight", $0.keep) })
        let job = try FineTuneSetup.job(checkpoint: shrunk, settings: settings, mask: keep, inputs: try FineTuneSetup.inputs(settings: settings))
        let output = root.appendingPathComponent("out")
        let outcome = try FineTuner(job: job, store: TrainingStateStore(output: output)).run()
        let values = outcome.model.parameters.values
        var zeroed = 0, moved = 0
        for (name, flags) in keep {
            let slot = try #require(outcome.model.layout.slot(named: name))
            let before = job.model.parameters.values[slot.range]
            for (i, flag) in flags.enumerated() {
                if !flag { zeroed += 1; #expect(values[slot.offset + i] == 0, "\(name)[\(i)]") }
                else if values[slot.offset + i] != before[slot.offset + i] { moved += 1 }
            }
        }
        #expect(zeroed == masks.reduce(0) { $0 + $1.keep.filter { !$0 }.count } && zeroed > 0 && moved > 0)
        #expect(outcome.trainableParameters == outcome.model.layout.count - zeroed)
        try FineTunedCheckpoint.write(model: outcome.model, task: .glue(.sst2), base: base, output: output,
                                      record: FineTuneRecord(outcome: outcome, job: job, environment: Self.environment(), maskedWeights: zeroed)) { folder in
            try MagnitudePruning.save(masks, to: folder.appendingPathComponent("mask.safetensors"))
        }
        let checkpoint = try Checkpoint.load(directory: output)
        #expect(checkpoint.model.layers.count == 1 && checkpoint.model.layers[0].intermediateSize == 12)
        let reloaded = try MagnitudePruning.load(from: output.appendingPathComponent("mask.safetensors"), for: checkpoint.model)
        #expect(reloaded.map(\.keep) == masks.map(\.keep))
    }
}

private extension Linear {
    var weightValues: [Float] { (try? weight.values) ?? [] }
}
