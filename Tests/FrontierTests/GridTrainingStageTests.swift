import Foundation
import Testing
@testable import FrontierGrid
import FrontierSupport

/// Grid `train` blocks: points measured on trained checkpoints become training stages, one per
/// distinct training, IMP levels chained, references between variants resolved, and every
/// mistake (an unknown variant, a cycle, an unreachable sparsity) reported at its line.
@Suite struct GridTrainingStageTests {
    static let header = """
        name: stages
        data_root: /data/glue
        tasks: [MRPC, RTE]
        models: [/models/minilm]

        """

    func expansion(_ yaml: String) throws -> GridExpansion { try GridExpansion(GridFile.parse(text: yaml, source: "grid.yaml")) }

    /// The error parsing and expanding `yaml` gives (nil when there is none).
    func failure(_ yaml: String) -> GridError? { GridFileTests().failure(yaml) }

    static let example = header + """
        variants:
          - name: dense
            techniques: []
          - name: finetuned
            train: { epochs: 3, lr: 6.0e-5, seed: 42 }
            techniques: []
          - name: finetuned-int8
            train: { epochs: 3, lr: 6.0e-5, seed: 42 }
            techniques: [{ name: quantization, mode: int8 }]
          - name: imp
            train: { epochs: 3, lr: 6.0e-5, seed: 42, imp: { sparsity: "${sparsity}", per_round: 0.1 } }
            axes: { sparsity: [0.2, 0.5] }
            techniques: []
        """

    @Test func equalTrainingsAreOneStageAndImpLevelsChain() throws {
        let grid = try expansion(Self.example)
        // Per task: one dense fine-tune (shared by finetuned, finetuned-int8 and IMP level 0)
        // and IMP levels 1…5 (0.2 needs 1–2; 0.5 reuses them and adds 3–5).
        #expect(grid.stages.count == 2 * 6)
        for task in ["MRPC", "RTE"] {
            let stages = grid.stages.filter { $0.task == task }
            let dense = try #require(stages.first { $0.impLevel == nil })
            #expect(dense.dependsOn.isEmpty)
            #expect(Set(dense.variants) == ["finetuned", "finetuned-int8", "imp"])
            #expect(dense.recipe.imp == nil)
            var previous = dense.key
            for level in 1...5 {
                let stage = try #require(stages.first { $0.impLevel == level })
                #expect(stage.dependsOn == [previous])
                #expect(stage.maskStage == previous)
                #expect(abs(stage.sparsity! - Double(level) / 10) < 1e-9)
                previous = stage.key
            }
            let points = grid.points.filter { $0.task == task }
            #expect(points.first { $0.variant == "dense" }?.trainingStage == nil)
            #expect(points.first { $0.variant == "finetuned" }?.trainingStage == dense.key)
            #expect(points.first { $0.variant == "finetuned-int8" }?.trainingStage == dense.key)
            #expect(points.first { $0.label == "imp sparsity=0.2" }?.trainingStage == stages.first { $0.impLevel == 2 }?.key)
            #expect(points.first { $0.label == "imp sparsity=0.5" }?.trainingStage == previous)
        }
        // Dependencies come first.
        var seen: Set<String> = []
        for stage in grid.stages {
            #expect(stage.dependsOn.allSatisfy(seen.contains))
            seen.insert(stage.key)
        }
    }

    @Test func keysDependOnWhatIsTrainedNotOnHowTheGridIsWritten() throws {
        let a = try expansion(Self.example)
        let reordered = Self.header + """
            variants:
              - name: imp
                axes: { sparsity: [0.5, 0.2] }
                techniques: []
                train: { imp: { per_round: 0.1, sparsity: "${sparsity}" }, seed: 42, lr: 6.0e-5, epochs: 3, train_on: any }
              - name: dense
                techniques: []
            """
        let b = try expansion(reordered)
        #expect(Set(b.stages.map(\.key)).isSubset(of: Set(a.stages.map(\.key))))
        #expect(b.stages.count == a.stages.count)
        // Another seed is another training.
        let seed43 = try expansion(Self.example.replacingOccurrences(of: "seed: 42", with: "seed: 43"))
        #expect(Set(seed43.stages.map(\.key)).isDisjoint(with: Set(a.stages.map(\.key))))
        // The grid fingerprint sees the training.
        #expect(a.fingerprint != seed43.fingerprint)
    }

    @Test func removingARoundOfTheOriginalCountOrOfWhatRemains() throws {
        let remaining = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: imp
                train: { imp: { sparsity: 0.271, per_round: 0.1, of: remaining } }
                techniques: []
            """
        let grid = try expansion(remaining)
        #expect(grid.stages.filter { $0.task == "MRPC" }.map(\.impLevel) == [nil, 1, 2, 3])
        let unreachable = try #require(failure(remaining.replacingOccurrences(of: "0.271", with: "0.3")))
        #expect(unreachable.message.contains("not reached"))
        #expect(unreachable.message.contains("0.271"))
        #expect(unreachable.path == "variants[1].train.imp.sparsity" || unreachable.path.hasPrefix("variants[1].train"))
    }

    @Test func fromAndMaskFromPairByTaskModelAndSharedAxes() throws {
        let yaml = Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: imp
                train: { imp: { sparsity: "${sparsity}" } }
                axes: { sparsity: [0.1, 0.2] }
                techniques: []
              - name: transfer
                train: { mask_from: imp, mask_task: MRPC }
                axes: { sparsity: [0.2] }
                techniques: [{ name: magnitude-pruning, sparsity: "${sparsity}" }]
              - name: further
                train: { from: transfer, epochs: 1 }
                axes: { sparsity: [0.2] }
                techniques: [{ name: magnitude-pruning, sparsity: "${sparsity}" }]
            """
        let grid = try expansion(yaml)
        let mrpcLevel2 = try #require(grid.stages.first { $0.task == "MRPC" && $0.impLevel == 2 })
        let transfer = try #require(grid.stages.first { $0.task == "RTE" && $0.variants == ["transfer"] })
        #expect(transfer.maskStage == mrpcLevel2.key)
        #expect(transfer.dependsOn == [mrpcLevel2.key])
        let further = try #require(grid.stages.first { $0.task == "RTE" && $0.variants == ["further"] })
        #expect(further.start == .stage(transfer.key))
        #expect(further.dependsOn == [transfer.key])
        #expect(grid.points.first { $0.task == "RTE" && $0.variant == "further" }?.trainingStage == further.key)
    }

    @Test func mistakesAreReportedAtTheirLine() throws {
        func variants(_ text: String) -> String { Self.header + "variants:\n  - name: dense\n    techniques: []\n" + text }
        let unknown = try #require(failure(variants("""
              - name: a
                train: { from: fine-tuned }
                techniques: []
              - name: finetuned
                train: {}
                techniques: []
            """)))
        #expect(unknown.message.contains("no variant is named 'fine-tuned'"))
        #expect(unknown.message.contains("did you mean 'finetuned'"))
        #expect(unknown.mark?.line == 9)

        let cycle = try #require(failure(variants("""
              - name: a
                train: { from: b }
                techniques: []
              - name: b
                train: { from: a }
                techniques: []
            """)))
        #expect(cycle.message.contains("cycle"))
        #expect(cycle.message.contains("a → b → a") || cycle.message.contains("b → a → b"))

        let selfReference = try #require(failure(variants("""
              - name: a
                train: { from: a }
                techniques: []
            """)))
        #expect(selfReference.message.contains("cycle"))

        let untrained = try #require(failure(variants("""
              - name: a
                train: { from: dense }
                techniques: []
            """)))
        #expect(untrained.message.contains("has no train block"))

        let notPruned = try #require(failure(variants("""
              - name: ft
                train: {}
                techniques: []
              - name: a
                train: { mask_from: ft }
                techniques: []
            """)))
        #expect(notPruned.message.contains("does not prune"))

        let badKey = try #require(failure(variants("""
              - name: a
                train: { epoch: 3 }
                techniques: []
            """)))
        #expect(badKey.kind == .unknownKey)
        #expect(badKey.message.contains("did you mean 'epochs'"))

        let badRegime = try #require(failure(variants("""
              - name: a
                train: { regime: top-0 }
                techniques: []
            """)))
        #expect(badRegime.message.contains("regime"))
        #expect(badRegime.path == "variants[1].train.regime")

        let ambiguous = try #require(failure(variants("""
              - name: imp
                train: { imp: { sparsity: "${s}" } }
                axes: { s: [0.1, 0.2] }
                techniques: []
              - name: a
                train: { mask_from: imp }
                techniques: []
            """)))
        #expect(ambiguous.message.contains("trains 2 different models"))

        let trainOn = try #require(failure(variants("""
              - name: a
                train: { train_on: big-gpu }
                techniques: []
              - name: b
                train: { train_on: any }
                techniques: [{ name: quantization, mode: int8 }]
            """)))
        #expect(trainOn.message.contains("train_on"))
    }

    @Test func impLevelsBecomeStagePointsThatEachNeedTheLevelBefore() throws {
        let grid = try SweepGrid(file: GridFile.parse(text: Self.example, source: "grid.yaml"))
        let stages = grid.points.filter(\.isTrainingStage)
        #expect(stages.count == 2 * 6)
        for task in ["MRPC", "RTE"] {
            let decoded = try stages.filter { $0.task == task }.map { try JSONCoding.decoder.decode(TrainingStage.self, from: $0.specJSON) }
            let dense = try #require(decoded.first { $0.impLevel == nil })
            var previous = dense.key
            for level in 1...5 {
                let stage = try #require(decoded.first { $0.impLevel == level })
                let point = try #require(stages.first { $0.stageKey == stage.key })
                // Level k's only input is level k−1's checkpoint (its weights and its mask).
                #expect(point.inputs == [SweepStageInput(role: "mask", stage: previous)], "level \(level)")
                #expect(stage.recipe.imp?.perRound == 0.1)
                previous = stage.key
            }
        }
        // Each imp point is measured on the level its sparsity names.
        for point in grid.points where point.variant == "imp" && !point.isTrainingStage {
            let level = point.label.contains("0.2") ? 2 : 5
            let stage = try #require(stages.first { $0.stageKey == point.inputs.first?.stage })
            #expect(try JSONCoding.decoder.decode(TrainingStage.self, from: stage.specJSON).impLevel == level, "\(point.label)")
        }
    }

    /// `pooler: dense` is another search from level 1 on, but level 0 (the dense fine-tune, which
    /// prunes nothing) stays the stage a search with the pooler pruned trains.
    @Test func aDensePoolerSearchSharesOnlyLevelZero() throws {
        let grid = try SweepGrid(file: GridFile.parse(text: Self.header + """
            variants:
              - { name: dense, techniques: [] }
              - name: imp
                train: { epochs: 3, seed: 42, imp: { sparsity: 0.3 } }
                techniques: []
              - name: imp-pooler-dense
                train: { epochs: 3, seed: 42, imp: { sparsity: 0.3, pooler: dense } }
                techniques: []
            """, source: "grid.yaml"))
        let stages = try grid.points.filter(\.isTrainingStage).map { try JSONCoding.decoder.decode(TrainingStage.self, from: $0.specJSON) }
        for task in ["MRPC", "RTE"] {
            let mine = stages.filter { $0.task == task }
            #expect(mine.count == 1 + 2 * 3, "\(mine.map(\.label))")
            #expect(mine.filter { $0.impLevel == nil }.count == 1)
            for level in 1...3 {
                let pair = mine.filter { $0.impLevel == level }
                #expect(Set(pair.map(\.key)).count == 2)
                #expect(pair.filter { $0.recipe.imp?.pooler == .dense }.allSatisfy { $0.label.contains("pooler dense") })
                #expect(pair.filter { $0.recipe.imp?.pooler == .prune }.allSatisfy { !$0.label.contains("pooler") })
            }
        }
        let error = try #require(failure(Self.header + """
            variants:
              - { name: dense, techniques: [] }
              - name: imp
                train: { imp: { sparsity: 0.3, pooler: keep } }
                techniques: []
            """))
        #expect(error.message.contains("one of prune, dense") && error.message.contains("keep"), "\(error.message)")
        #expect(error.description.contains("grid.yaml:"), "\(error.description)")
    }

    @Test func impRecipesASweepCannotRunAreRefusedAtTheirLine() throws {
        for (train, words) in [("{ regime: frozen, imp: { sparsity: 0.2 } }", "regime full"),
                               ("{ imp: { sparsity: 0.2, rewind_step: 10 } }", "rewind_step is not scheduled in sweeps"),
                               ("{ imp: { sparsity: 0.2 }, prune: { ffn: 0.5 } }", "IMP searches the full shape")] {
            let error = try #require(failure(Self.header + """
                variants:
                  - { name: dense, techniques: [] }
                  - name: imp
                    train: \(train)
                    techniques: []
                """), "\(train) was accepted")
            #expect(error.message.contains(words), "\(error.message)")
            #expect(error.description.contains("grid.yaml:"), "\(error.description)")
        }
    }

    @Test func fineTuneStagesBecomePointsThatRunBeforeTheirMeasurements() throws {
        let grid = try SweepGrid(file: GridFile.parse(text: Self.header + """
            variants:
              - name: dense
                techniques: []
              - name: finetuned
                train: { epochs: 1, seed: 7, train_on: big }
                techniques: []
              - name: finetuned-int8
                train: { epochs: 1, seed: 7, train_on: big }
                techniques: [{ name: quantization, mode: int8 }]
            """, source: "grid.yaml"))
        let stages = grid.points.filter(\.isTrainingStage)
        #expect(stages.count == 2)  // one per task, shared by both trained variants
        for stage in stages {
            #expect(stage.key == SweepPoint.stagePointKey(stage.stageKey!))
            #expect(stage.trainOn == "big")
            #expect(stage.requirements.features == ["training"])
            #expect(stage.inputs.isEmpty)
            let decoded = try JSONCoding.decoder.decode(TrainingStage.self, from: stage.specJSON)
            #expect(decoded.key == stage.stageKey)
        }
        let trained = grid.points.filter { !$0.isTrainingStage && $0.variant.hasPrefix("finetuned") }
        #expect(trained.count == 4)
        for point in trained {
            #expect(point.requirements.features == ["artifacts"])
            #expect(point.inputs.count == 1 && point.inputs[0].role == "checkpoint")
            #expect(stages.contains { $0.stageKey == point.inputs[0].stage && $0.task == point.task })
        }
        #expect(grid.points.filter { $0.variant == "dense" }.allSatisfy { $0.inputs.isEmpty && $0.requirements.features.isEmpty })
    }
}
