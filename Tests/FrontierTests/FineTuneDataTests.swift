import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTasks
@testable import FrontierTraining

/// The training data pipeline: GLUE pairs and regression targets, SQuAD windows with their
/// answer positions, the seeded epoch order and the update plan.
@Suite struct FineTuneDataTests {
    static func tokenizer(_ root: URL) throws -> BertTokenizer {
        try BertTokenizer.load(directory: try FrozenFinetuneTests.tinyBase(in: root))
    }

    @Test func pairsAreTokenizedAsEvaluationTokenizesThem() throws {
        let root = try FineTuneFixtures.folder("pairs")
        defer { try? FileManager.default.removeItem(at: root) }
        let tokenizer = try Self.tokenizer(root), data = try FineTuneFixtures.writeMRPC(in: root)
        let set = try GlueTrainingData.load(task: .mrpc, dataRoot: data, limit: 10, tokenizer: tokenizer, maxSeqLen: 32,
                                            modelLabels: ["not_equivalent", "equivalent"])
        let examples = try GlueReader.read(task: .mrpc, split: "train", dataRoot: data)
        #expect(set.examples == 10 && set.availableExamples == 12 && set.sequences.count == 10 && set.truncated == 0)
        for (sequence, example) in zip(set.sequences, examples) {
            let encoding = tokenizer.encode(example.textA, pair: example.textB, maxLength: 32)
            #expect(sequence.ids == encoding.ids && sequence.typeIds == encoding.typeIds)
            #expect(sequence.typeIds.contains(1), "the second text is segment 1")
            #expect(sequence.target == .label(example.label))
        }
        // "the cat sat" / "a cat sat" is a paraphrase here (label 1), the next pair is not.
        #expect(set.sequences[0].target == .label(1) && set.sequences[1].target == .label(0))

        // Cut to 6 tokens longest-first, as evaluation cuts them, and counted.
        let short = try GlueTrainingData.sequences(examples, task: .mrpc, tokenizer: tokenizer, maxSeqLen: 6,
                                                   modelLabels: ["not_equivalent", "equivalent"])
        #expect(short.truncated == examples.count && short.sequences.allSatisfy { $0.count == 6 })
        #expect(short.sequences[0].ids == tokenizer.encode(examples[0].textA, pair: examples[0].textB, maxLength: 6).ids)
    }

    @Test func classesFollowTheHeadsOwnLabelOrder() throws {
        let root = try FineTuneFixtures.folder("labels")
        defer { try? FileManager.default.removeItem(at: root) }
        let tokenizer = try Self.tokenizer(root)
        let examples = [GlueExample(id: "0", textA: "good fun", label: 1), GlueExample(id: "1", textA: "bad dull", label: 0)]
        let datasetsOrder = try GlueTrainingData.sequences(examples, task: .sst2, tokenizer: tokenizer, maxSeqLen: 16, modelLabels: ["LABEL_0", "LABEL_1"])
        #expect(datasetsOrder.sequences.map(\.target) == [.label(1), .label(0)])
        // A head whose id2label says {0: positive, 1: negative} is trained in that order.
        let reversed = try GlueTrainingData.sequences(examples, task: .sst2, tokenizer: tokenizer, maxSeqLen: 16, modelLabels: ["positive", "negative"])
        #expect(reversed.sequences.map(\.target) == [.label(0), .label(1)])
        #expect(throws: TrainingError.self) {
            try GlueTrainingData.sequences(examples, task: .mnli, tokenizer: tokenizer, maxSeqLen: 16, modelLabels: ["a", "b"])
        }
    }

    @Test func stsbScoresAreRegressionTargets() throws {
        let root = try FineTuneFixtures.folder("stsb")
        defer { try? FileManager.default.removeItem(at: root) }
        let tokenizer = try Self.tokenizer(root), data = try FrozenFinetuneTests.writeSTSB(in: root)
        let set = try GlueTrainingData.load(task: .stsb, dataRoot: data, limit: nil, tokenizer: tokenizer, maxSeqLen: 32, modelLabels: ["LABEL_0"])
        let examples = try GlueReader.read(task: .stsb, split: "train", dataRoot: data)
        #expect(set.sequences.count == 24)
        #expect(set.sequences.map(\.target) == examples.map { .value(Float($0.score!)) })
        #expect(set.sequences[0].target == .value(4.5) && set.sequences[1].target == .value(0.5))
    }

    @Test func answerPositionsWalkTheOffsetsAsRunQADoes() {
        // [CLS] q q [SEP] "the"(0..<3) "cat"(4..<7) "sat"(8..<11) [SEP]
        let offsets: [Range<Int>?] = [nil, nil, nil, nil, 0..<3, 4..<7, 8..<11, nil]
        #expect(SquadTrainingFeatures.answerPositions(offsets, answerStart: 4, answerEnd: 7) == (5, 5))
        #expect(SquadTrainingFeatures.answerPositions(offsets, answerStart: 0, answerEnd: 7) == (4, 5))
        #expect(SquadTrainingFeatures.answerPositions(offsets, answerStart: 5, answerEnd: 6) == (5, 5), "inside one token")
        // Not (wholly) in this window: [CLS].
        #expect(SquadTrainingFeatures.answerPositions(offsets, answerStart: 20, answerEnd: 25) == (0, 0))
        #expect(SquadTrainingFeatures.answerPositions(offsets, answerStart: 8, answerEnd: 14) == (0, 0))
        #expect(SquadTrainingFeatures.answerPositions([nil, nil, nil], answerStart: 0, answerEnd: 1) == (0, 0), "no context")
        // run_qa's edge case: an answer starting in the window's last token walks past the final
        // [SEP] (offset (0, 0)), so its start is the [SEP]'s index.
        #expect(SquadTrainingFeatures.answerPositions(offsets, answerStart: 8, answerEnd: 11) == (7, 6))
    }

    @Test func squadWindowsPointAtTheAnswerOrAtCLS() throws {
        let root = try FineTuneFixtures.folder("squad")
        defer { try? FileManager.default.removeItem(at: root) }
        let tokenizer = try Self.tokenizer(root), data = try FineTuneFixtures.writeSquad(in: root)
        let settings = SquadTrainingFeatures.settings(maxLength: 20, docStride: 6)
        let set = try SquadTrainingFeatures.load(file: data.appendingPathComponent("train-v1.1.json"), limit: 4, tokenizer: tokenizer, settings: settings)
        let examples = Array(try SquadReader.read(path: data.appendingPathComponent("train-v1.1.json").path).prefix(4))
        #expect(set.examples == 4 && set.availableExamples == 5)
        #expect(set.truncated == 4, "the ~40-token context needs several 20-token windows")
        var inside = 0
        for sequence in set.sequences {
            #expect(sequence.count <= 20)
            let example = examples[sequence.example]
            let features = try SquadFeaturizer.features(question: example.question, context: example.context, exampleIndex: 0,
                                                        tokenizer: tokenizer, settings: settings)
            let feature = try #require(features.first { $0.ids == sequence.ids })
            let start = example.answerStarts[0], end = start + example.answers[0].unicodeScalars.count
            let covered = feature.contextOffsets.compactMap { $0 }
            let holds = (covered.first?.lowerBound ?? .max) <= start && (covered.last?.upperBound ?? -1) >= end
            guard case let .span(first, last) = sequence.target else { Issue.record("not a span target"); continue }
            if holds {
                inside += 1
                // The answers are whole words: the span starts and ends exactly on them.
                #expect(feature.contextOffsets[first]?.lowerBound == start && feature.contextOffsets[last]?.upperBound == end,
                        "\(example.id): tokens \(first)...\(last)")
            } else {
                #expect(first == 0 && last == 0, "\(example.id): a window without the answer points at [CLS]")
            }
        }
        #expect(inside >= 4 && set.windowsWithoutAnswer == set.sequences.count - inside && set.windowsWithoutAnswer > 0)
    }

    @Test func epochOrderDependsOnlyOnSeedAndEpoch() {
        let a = EpochOrder.permutation(count: 50, seed: 42, epoch: 0)
        #expect(a.sorted() == Array(0..<50) && a != Array(0..<50))
        #expect(a == EpochOrder.permutation(count: 50, seed: 42, epoch: 0))
        #expect(a != EpochOrder.permutation(count: 50, seed: 42, epoch: 1))
        #expect(a != EpochOrder.permutation(count: 50, seed: 43, epoch: 0))
        #expect(EpochOrder.permutation(count: 1, seed: 1, epoch: 3) == [0] && EpochOrder.permutation(count: 0, seed: 1, epoch: 0).isEmpty)
    }

    @Test func planGroupsMicrobatchesIntoUpdates() throws {
        // 10 sequences, micro-batches of 3 (the last has 1), 2 per update: 2 updates an epoch.
        let plan = try TrainingPlan(sequences: 10, batchSize: 3, accumulation: 2, epochs: 3, shuffle: false, seed: 1)
        #expect(plan.microbatchesPerEpoch == 4 && plan.updatesPerEpoch == 2 && plan.totalSteps == 6)
        let order = plan.order(epoch: 0)
        #expect(order == Array(0..<10))
        #expect(plan.microbatches(update: 0, order: order).map(Array.init) == [[0, 1, 2], [3, 4, 5]])
        #expect(plan.microbatches(update: 1, order: order).map(Array.init) == [[6, 7, 8], [9]])
        #expect(plan.position(afterSteps: 0) == (0, 0) && plan.position(afterSteps: 3) == (1, 1) && plan.position(afterSteps: 5) == (2, 1))
        let shuffled = try TrainingPlan(sequences: 10, batchSize: 3, accumulation: 2, epochs: 3, shuffle: true, seed: 1)
        #expect(shuffled.order(epoch: 2) == EpochOrder.permutation(count: 10, seed: 1, epoch: 2))
        // Warm-up is rounded up to whole updates, over the updates of every epoch.
        let schedule = LearningRateSchedule(peak: 1, warmupRatio: 0.1, totalSteps: plan.totalSteps)
        #expect(schedule.warmupSteps == 1 && schedule.totalSteps == 6)
        #expect(throws: TrainingError.self) { try TrainingPlan(sequences: 0, batchSize: 3, accumulation: 1, epochs: 1, shuffle: false, seed: 1) }
    }

    @Test func settingsDifferencesNameTheOptions() {
        let a = FineTuneSettings(task: "SST-2", base: "/b", data: "/d", regime: "full")
        var b = a
        b.learningRate = 8e-5
        b.shuffle = false
        b.evalEvery = 10
        let lines = b.differences(from: a)
        #expect(lines.count == 3)
        #expect(lines.contains("--lr: 5e-05 in the saved state, 8e-05 now"), "\(lines)")
        #expect(lines.contains { $0.hasPrefix("--eval-every: unset in the saved state, 10 now") }, "\(lines)")
        #expect(lines.contains { $0.hasPrefix("shuffle (--no-shuffle): true") }, "\(lines)")
        #expect(a.differences(from: a).isEmpty)
    }
}
