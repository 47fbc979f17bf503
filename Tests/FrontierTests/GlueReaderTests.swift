import Foundation
import Testing
@testable import FrontierEngine
@testable import FrontierTasks


/// The committed fixture files (Tests/FrontierTests/Fixtures), found beside this source file so
/// the tests need no resource bundle; written by tools/fixtures/make_glue_fixtures.py and
/// tools/check_metrics.py.
enum GlueFixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let glue = folder.appendingPathComponent("glue")

    static func path(_ relative: String) -> String { folder.appendingPathComponent(relative).path }
}

/// Expects a `TaskDataError` naming `path` (and `line` when given) whose detail contains `detail`.
func expectGlueDataError(_ path: String, line: Int?, _ detail: String, sourceLocation: SourceLocation = #_sourceLocation,
                         _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected an error for \(path)", sourceLocation: sourceLocation)
    } catch let error as TaskDataError {
        #expect(error.file == path, sourceLocation: sourceLocation)
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.detail.contains(detail), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a TaskDataError, got \(error)", sourceLocation: sourceLocation)
    }
}

@Suite struct GlueReaderTests {
    // MARK: Each reader on its fixture (real GLUE layout)

    @Test func sst2KeepsQuotesAndTrailingSpaces() throws {
        let examples = try GlueReader.read(task: .sst2, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(examples == [
            GlueExample(id: "0", textA: "it 's a charming and often affecting journey . ", label: 1),
            GlueExample(id: "1", textA: "unflinchingly bleak and desperate ", label: 0),
            GlueExample(id: "2", textA: "\" the movie 's quote mark never closes ", label: 1),
        ])
        #expect(try SST2Reader.read(path: GlueFixtures.path("glue/SST-2/dev.tsv")) == examples)
    }

    @Test func colaHasNoHeaderAndFourColumns() throws {
        let examples = try GlueReader.read(task: .cola, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(examples == [
            GlueExample(id: "0", textA: "The sailors rode the breeze clear of the rocks.", label: 1),
            GlueExample(id: "1", textA: "The more does Bill smoke, the more Susan hates him.", label: 0),
            GlueExample(id: "2", textA: "He said \"hello\" to me.", label: 1),
        ])
    }

    @Test func mrpcHeaderWithByteOrderMark() throws {
        let examples = try GlueReader.read(task: .mrpc, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(examples == [
            GlueExample(id: "0", textA: "He said the foodservice pie business doesn 't fit .",
                        textB: "\" The foodservice pie business does not fit our strategy .", label: 1),
            GlueExample(id: "1", textA: "Magnarelli said he was \" 100 percent behind George Bush \" .",
                        textB: "His wife said so .", label: 0),
        ])
    }

    @Test func qqpReadsQuestionsByName() throws {
        let examples = try GlueReader.read(task: .qqp, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(examples == [
            GlueExample(id: "201359", textA: "Why are African-Americans so beautiful?", textB: "Why are hispanics so beautiful?", label: 0),
            GlueExample(id: "172974", textA: "What does \"travel alone\" mean?", textB: "What are some reasons to travel alone?", label: 1),
            GlueExample(id: "59311", textA: "\"Quoted\" question?", textB: "Another \"quoted question?", label: 0),
        ])
    }

    @Test func stsbScoresAreDoubles() throws {
        let examples = try GlueReader.read(task: .stsb, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(examples.map(\.gold) == [.score(5), .score(4.75), .score(0)])
        #expect(examples.map(\.id) == ["0", "1", "2"])
        #expect(examples[2].textA == "He said \"no\".")
        #expect(examples[2].textB == "A woman is slicing an onion.")
        #expect(examples[0].label == -1 && examples[0].score == 5)
    }

    @Test func mnliHasTwoDevSplitsAndReadsTrainByName() throws {
        let splits = try GlueReader.readDev(task: .mnli, dataRoot: GlueFixtures.glue)
        #expect(splits.map(\.split) == ["dev_matched", "dev_mismatched"])
        // datasets order: entailment 0, neutral 1, contradiction 2.
        #expect(splits[0].examples.map(\.label) == [1, 2, 0])
        #expect(splits[1].examples.map(\.label) == [2, 1])
        #expect(splits[0].examples[1].textA == "This site includes a \"list\" of all award winners.")
        #expect(splits[1].examples[1].textB == "Ca'daan knew the Old One very well.")
        // train.tsv has 12 columns, not 16: `gold_label` is found by name.
        let train = try GlueReader.read(task: .mnli, split: "train", dataRoot: GlueFixtures.glue)
        #expect(train == [GlueExample(id: "0", textA: "Conceptually cream skimming has two basic dimensions.",
                                      textB: "Product and geography are what make cream skimming work. ", label: 1)])
    }

    @Test func qnliRteWnliLabels() throws {
        let qnli = try GlueReader.read(task: .qnli, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(qnli.map(\.label) == [0, 1])
        #expect(qnli[1].textA == "What is the \"first\" major city?")
        #expect(qnli[1].textB == "The most important tributaries are the \"Ill\" and the Main.")
        let rte = try GlueReader.read(task: .rte, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(rte.map(\.label) == [1, 0])  // not_entailment, entailment
        #expect(rte[1].textA == "The \"Iron Lady\" was elected in 1979.")
        // WNLI files store 0/1, which is the datasets order (not_entailment 0, entailment 1).
        let wnli = try GlueReader.read(task: .wnli, split: "dev", dataRoot: GlueFixtures.glue)
        #expect(wnli.map(\.label) == [0, 1])
        #expect(wnli.map(\.id) == ["0", "1"])
    }

    @Test func tsvQuotingLineEndingsAndBOM() throws {
        let data = Data("\u{FEFF}sentence\tlabel\r\n\"a\tb\"\t1\n".utf8)
        let file = try TSVFile(path: "mem.tsv", data: data)
        #expect(file.rows.map(\.fields) == [["sentence", "label"], ["\"a", "b\"", "1"]])
        // A quote does not protect a tab: the row has three columns and is rejected, not joined.
        expectGlueDataError("mem.tsv", line: 2, "expected 2 tab-separated columns") {
            _ = try GlueReader.read(task: .sst2, file: file)
        }
        let ok = try GlueReader.read(task: .sst2, file: TSVFile(path: "mem.tsv", data: Data("sentence\tlabel\r\n\"a b\t1\r\n".utf8)))
        #expect(ok == [GlueExample(id: "0", textA: "\"a b", label: 1)])
    }

    // MARK: Bad inputs, every reader

    static let headerTasks: [GlueTask] = [.sst2, .mrpc, .qqp, .stsb, .mnli, .qnli, .rte, .wnli]

    @Test(arguments: headerTasks)
    func badInputsNameFileAndLine(task: GlueTask) {
        func file(_ name: String) -> String { GlueFixtures.path("glue/bad/\(task.folderName)/\(name).tsv") }
        expectGlueDataError(file("columns"), line: 3, "tab-separated columns") { _ = try GlueReader.read(task: task, path: file("columns")) }
        let labelDetail = task == .stsb ? "is not a number in 0...5" : "is not "
        expectGlueDataError(file("label"), line: 4, labelDetail) { _ = try GlueReader.read(task: task, path: file("label")) }
        expectGlueDataError(file("header"), line: 1, "header has no") { _ = try GlueReader.read(task: task, path: file("header")) }
        expectGlueDataError(file("utf8"), line: 3, "invalid UTF-8") { _ = try GlueReader.read(task: task, path: file("utf8")) }
        expectGlueDataError(file("empty"), line: nil, "empty file") { _ = try GlueReader.read(task: task, path: file("empty")) }
        expectGlueDataError(file("header_only"), line: nil, "no examples") { _ = try GlueReader.read(task: task, path: file("header_only")) }
    }

    @Test func badLabelMessagesSayWhatIsExpected() throws {
        let qnli = GlueFixtures.path("glue/bad/QNLI/label.tsv")
        // Labels are exact: "Entailment" is not a QNLI label.
        expectGlueDataError(qnli, line: 4, "label 'Entailment' is not one of entailment, not_entailment") {
            _ = try GlueReader.read(task: .qnli, path: qnli)
        }
        let mnli = GlueFixtures.path("glue/bad/MNLI/label.tsv")
        expectGlueDataError(mnli, line: 4, "gold_label '-' is not one of entailment, neutral, contradiction") {
            _ = try GlueReader.read(task: .mnli, path: mnli)
        }
        let mrpc = GlueFixtures.path("glue/bad/MRPC/header.tsv")
        expectGlueDataError(mrpc, line: 1, "header has no '#2 String' column") { _ = try GlueReader.read(task: .mrpc, path: mrpc) }
    }

    @Test func colaBadInputs() {
        func file(_ name: String) -> String { GlueFixtures.path("glue/bad/CoLA/\(name).tsv") }
        expectGlueDataError(file("columns"), line: 2, "expected 4 tab-separated columns") { _ = try GlueReader.read(task: .cola, path: file("columns")) }
        expectGlueDataError(file("label"), line: 3, "label '*' is not 0 or 1") { _ = try GlueReader.read(task: .cola, path: file("label")) }
        // CoLA has no header; one is a data row with a bad label, not silently skipped.
        expectGlueDataError(file("header"), line: 1, "label 'label' is not 0 or 1") { _ = try GlueReader.read(task: .cola, path: file("header")) }
        expectGlueDataError(file("utf8"), line: 2, "invalid UTF-8") { _ = try GlueReader.read(task: .cola, path: file("utf8")) }
        expectGlueDataError(file("empty"), line: nil, "empty file") { _ = try GlueReader.read(task: .cola, path: file("empty")) }
    }

    @Test(arguments: ["score_nan", "score_negative", "score_text"])
    func stsbRejectsScoresOutsideZeroToFive(name: String) {
        let path = GlueFixtures.path("glue/bad/STS-B/\(name).tsv")
        expectGlueDataError(path, line: 2, "is not a number in 0...5") { _ = try GlueReader.read(task: .stsb, path: path) }
    }

    @Test func missingFileAndUnknownTask() {
        let missing = GlueFixtures.glue.appendingPathComponent("QQP/train.tsv").path
        expectGlueDataError(missing, line: nil, "not found") { _ = try GlueReader.read(task: .qqp, split: "train", dataRoot: GlueFixtures.glue) }
        expectGlueDataError(GlueFixtures.glue.path, line: nil, "unknown task 'SQuAD'") {
            _ = try TaskRegistry.readDev(task: "SQuAD", data: GlueFixtures.glue.path)
        }
    }

    // MARK: Names, registry, label maps

    @Test func taskNamesAndMetricKeys() {
        #expect(GlueTask(name: "SST-2") == .sst2 && GlueTask(name: "sst2") == .sst2 && GlueTask(name: "sts_b") == .stsb)
        #expect(GlueTask(name: "cola") == .cola && GlueTask(name: "MNLI") == .mnli && GlueTask(name: "squad") == nil)
        #expect(TaskRegistry.benchmarkTasks == ["CoLA", "SST-2", "MRPC", "QQP", "STS-B", "MNLI", "QNLI", "RTE", "WNLI"])
        #expect(GlueTask.mnli.metricKeys == ["accuracy_matched", "accuracy_mismatched"])
        #expect(GlueTask.mrpc.metricKeys == ["accuracy", "f1"])
        #expect(GlueTask.stsb.metricKeys == ["pearson", "spearmanr"])
        #expect(GlueTask.cola.metricKeys == ["matthews_correlation"])
    }

    @Test func registryConcatenatesDevSplits() throws {
        let mnli = try TaskRegistry.readDev(task: "MNLI", data: GlueFixtures.glue.path)
        #expect(mnli.count == 5)
        let stsb = try TaskRegistry.readDev(task: "stsb", data: GlueFixtures.glue.path)
        #expect(stsb.map(\.score) == [5, 4.75, 0])
    }

    @Test func labelMapFollowsModelNamesOrDatasetsOrder() throws {
        // An MNLI model that orders its classes differently from datasets.
        let named = try #require(GlueLabelMap(task: .mnli, modelLabels: ["CONTRADICTION", "entailment", "Neutral"]))
        #expect(named.source == .modelNames)
        #expect(named.modelClass == [1, 2, 0])
        #expect(named.taskClass == [2, 0, 1])
        let generic = try #require(GlueLabelMap(task: .mnli, modelLabels: ["LABEL_0", "LABEL_1", "LABEL_2"]))
        #expect(generic.source == .datasetsOrder && generic.modelClass == [0, 1, 2])
        // WNLI: a model saying {0: entailment, 1: not_entailment} is read by name.
        let wnli = try #require(GlueLabelMap(task: .wnli, modelLabels: ["entailment", "not_entailment"]))
        #expect(wnli.modelClass == [1, 0])
        // Extra model classes map to no task class.
        let extra = try #require(GlueLabelMap(task: .sst2, modelLabels: ["negative", "neutral", "positive"]))
        #expect(extra.modelClass == [0, 2] && extra.taskClass == [0, nil, 1])
        // Names that do not cover the task fall back to the datasets order.
        #expect(GlueLabelMap(task: .rte, modelLabels: ["entailment", "other"])?.source == .datasetsOrder)
        #expect(GlueLabelMap(task: .mnli, modelLabels: ["LABEL_0", "LABEL_1"]) == nil)
    }

    // MARK: The real GLUE files

    /// Official dev sizes (and `datasets` train sizes); a dropped or merged row changes them.
    static let realCounts: [(task: GlueTask, split: String, count: Int)] = [
        (.sst2, "dev", 872), (.mrpc, "dev", 408), (.cola, "dev", 1043), (.stsb, "dev", 1500),
        (.rte, "dev", 277), (.qnli, "dev", 5463), (.wnli, "dev", 71),
        (.sst2, "train", 67349), (.mrpc, "train", 3668), (.cola, "train", 8551), (.stsb, "train", 5749), (.rte, "train", 2490),
    ]

    /// Dev examples per class in the datasets order (the `datasets` GLUE validation splits): a
    /// label read from the wrong column or mapped in the wrong order changes them.
    static let realDevClassCounts: [GlueTask: [Int]] = [
        .sst2: [428, 444], .mrpc: [129, 279], .cola: [322, 721], .rte: [146, 131], .qnli: [2702, 2761], .wnli: [40, 31],
    ]

    @Test(.needsShared(GlueReaderTests.realCounts.map { "data/glue/\($0.task.folderName)/\($0.split).tsv" }))
    func realFilesHaveOfficialRowCounts() throws {
        let root = SharedData.path("data/glue")
        for (task, split, count) in Self.realCounts {
            let examples = try GlueReader.read(task: task, split: split, dataRoot: root)
            let classes = task.labels.indices.map { label in examples.filter { $0.label == label }.count }
            print("\(task.folderName) \(split): \(examples.count) examples" + (task.isRegression ? "" : "; per class \(zip(task.labels, classes).map { "\($0)=\($1)" }.joined(separator: " "))"))
            #expect(examples.count == count, "\(task.folderName) \(split)")
            if split == "dev", let expected = Self.realDevClassCounts[task] { #expect(classes == expected, "\(task.folderName) dev classes") }
            #expect(Set(examples.map(\.id)).count == examples.count, "\(task.folderName) \(split) ids are unique")
        }
        // Every dev file the registry knows and the folder has loads through the registry too.
        for task in GlueTask.allCases where task.devSplits.allSatisfy({ SharedData.exists("data/glue/\(task.folderName)/\($0).tsv") }) {
            #expect(try !TaskRegistry.readDev(task: task.folderName, data: root.path).isEmpty)
        }
    }

    /// The few real rows whose text holds a `"`: with CSV quoting they would swallow tabs and
    /// lines; here they stay literal and every row keeps its columns.
    @Test(.needsShared("data/glue/MRPC/dev.tsv")) func realFilesKeepQuotesLiteral() throws {
        let mrpc = try GlueReader.read(task: .mrpc, split: "dev", dataRoot: SharedData.path("data/glue"))
        #expect(mrpc.first?.textB == "\" The foodservice pie business does not fit our long-term growth strategy .")
        #expect(mrpc.contains { $0.textA.contains("\"") })
    }
}

@Suite struct GlueEvaluatorTests {
    static let vocabulary = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "a", "is", "cat", "man", "said", "\"", ".", "?", ","]

    /// A tiny random BERT with the given head and id2label names, and a tokenizer over a
    /// 15-token vocabulary (most fixture words become [UNK], which is fine for plumbing tests).
    static func checkpoint(labels: [String], problemType: String? = nil, head: TinyCheckpoint.Head? = nil) throws -> Checkpoint {
        var config = TinyCheckpoint.config(.bert, labels: labels.count)
        config.labels = labels
        config.problemType = problemType
        let model = try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: head ?? .classifier(labels: labels.count)))
        let tokenizer = try BertTokenizer(vocabulary: Vocabulary(tokens: vocabulary))
        return Checkpoint(directory: URL(fileURLWithPath: "/tiny"), model: model, tokenizer: tokenizer)
    }

    static func expectHeadMismatch(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            try body()
            Issue.record("expected a head mismatch", sourceLocation: sourceLocation)
        } catch let error as GlueEvaluationError {
            guard case .headMismatch = error else { Issue.record("got \(error)", sourceLocation: sourceLocation); return }
            print("head mismatch: \(error)")
        } catch {
            Issue.record("got \(error)", sourceLocation: sourceLocation)
        }
    }

    @Test func argmaxTakesTheFirstMaximum() {
        #expect(GlueEvaluator.argmax([0.5, 0.5]) == 0)
        #expect(GlueEvaluator.argmax([1, 3, 3, 2]) == 1)
        #expect(GlueEvaluator.argmax([-1, -2]) == 0)
        #expect(GlueEvaluator.argmax([]) == -1)
    }

    @Test func scoringMapsModelClassesAndNamesPredictions() {
        let examples = [GlueExample(id: "a", textA: "x", label: 0), GlueExample(id: "b", textA: "y", label: 2),
                        GlueExample(id: "c", textA: "z", label: 1)]
        // Model order {0: contradiction, 1: entailment, 2: neutral}; task order entailment, neutral, contradiction.
        let map = GlueLabelMap(task: .mnli, modelLabels: ["contradiction", "entailment", "neutral"])
        let logits: [[Float]] = [[0, 5, 1], [4, 4, 0], [0, 1, 2]]  // entailment, contradiction (tie → first), neutral
        let (metrics, predictions) = GlueEvaluator.score(task: .mnli, split: "dev_matched", examples: examples, logits: logits,
                                                         labelMap: map, modelLabels: ["contradiction", "entailment", "neutral"])
        #expect(metrics == ["accuracy_matched": 1])
        #expect(predictions.map(\.prediction) == ["entailment", "contradiction", "neutral"])
        #expect(predictions.map(\.gold) == ["entailment", "contradiction", "neutral"])
        #expect(predictions.map(\.split) == ["dev_matched", "dev_matched", "dev_matched"])

        // A class the task lacks is a wrong answer named by the model's label.
        let extra = GlueLabelMap(task: .mrpc, modelLabels: ["not_equivalent", "unsure", "equivalent"])
        let pairs = [GlueExample(id: "0", textA: "", label: 1), GlueExample(id: "1", textA: "", label: 1), GlueExample(id: "2", textA: "", label: 0)]
        let scored = GlueEvaluator.score(task: .mrpc, split: "dev", examples: pairs, logits: [[0, 1, 0], [0, 0, 1], [1, 0, 0]],
                                         labelMap: extra, modelLabels: ["not_equivalent", "unsure", "equivalent"])
        #expect(scored.predictions.map(\.prediction) == ["unsure", "equivalent", "not_equivalent"])
        #expect(scored.metrics["accuracy"] == 2.0 / 3.0)
        #expect(scored.metrics["f1"] == 2.0 / 3.0)  // TP 1, FN 1, FP 0
    }

    @Test func headMustMatchTheTask() throws {
        let workspace = Workspace(threads: 1)
        let binary = try Self.checkpoint(labels: ["LABEL_0", "LABEL_1"])
        Self.expectHeadMismatch { _ = try GlueEvaluator.evaluate(checkpoint: binary, task: "MNLI", dataRoot: GlueFixtures.glue, workspace: workspace) }
        Self.expectHeadMismatch { _ = try GlueEvaluator.evaluate(checkpoint: binary, task: "STS-B", dataRoot: GlueFixtures.glue, workspace: workspace) }
        let regression = try Self.checkpoint(labels: ["LABEL_0"])
        Self.expectHeadMismatch { _ = try GlueEvaluator.evaluate(checkpoint: regression, task: "SST-2", dataRoot: GlueFixtures.glue, workspace: workspace) }
        var config = TinyCheckpoint.config(.bert, labels: 2)
        config.labels = ["LABEL_0", "LABEL_1"]
        let qa = Checkpoint(directory: URL(fileURLWithPath: "/qa"),
                            model: try EncoderModel(config: config, weights: TinyCheckpoint.tensors(config, head: .questionAnswering)),
                            tokenizer: binary.tokenizer)
        Self.expectHeadMismatch { _ = try GlueEvaluator.evaluate(checkpoint: qa, task: "SST-2", dataRoot: GlueFixtures.glue, workspace: workspace) }
        #expect(throws: GlueEvaluationError.unknownTask("SQuAD")) {
            _ = try GlueEvaluator.evaluate(checkpoint: binary, task: "SQuAD", dataRoot: GlueFixtures.glue, workspace: workspace)
        }
    }

    /// MNLI on the fixtures with a tiny 3-class model: both splits scored and keyed apart, the
    /// metrics are those of the returned predictions, and batching does not change anything.
    @Test func mnliEndToEndOnFixtures() throws {
        let checkpoint = try Self.checkpoint(labels: ["LABEL_0", "LABEL_1", "LABEL_2"])
        var calls: [(Int, Int)] = []
        let one = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "mnli", dataRoot: GlueFixtures.glue, batchSize: 1,
                                             workspace: Workspace(threads: 1)) { calls.append(($0, $1)) }
        let four = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "MNLI", dataRoot: GlueFixtures.glue, batchSize: 4,
                                              workspace: Workspace(threads: 2))
        #expect(one.task == "MNLI" && one.examples == 5 && one.splitExamples == ["dev_matched": 3, "dev_mismatched": 2])
        #expect(Set(one.metrics.keys) == ["accuracy_matched", "accuracy_mismatched"])
        #expect(one.labelMapping == .datasetsOrder && one.maxSeqLen == 64)  // 128 capped at the tiny model's 64 positions
        #expect(one.predictions == four.predictions && one.metrics == four.metrics)
        #expect(calls.map(\.0) == [1, 2, 3, 4, 5] && calls.allSatisfy { $0.1 == 5 })
        for split in ["dev_matched", "dev_mismatched"] {
            let rows = one.predictions.filter { $0.split == split }
            let accuracy = Double(rows.filter { $0.prediction == $0.gold }.count) / Double(rows.count)
            #expect(one.metrics[GlueTask.mnli.metricKey("accuracy", split: split)] == accuracy)
        }
        let limited = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "MNLI", dataRoot: GlueFixtures.glue, limit: 1,
                                                 workspace: Workspace(threads: 1))
        #expect(limited.splitExamples == ["dev_matched": 1, "dev_mismatched": 1])
    }

    @Test func stsbEndToEndOnFixtures() throws {
        let checkpoint = try Self.checkpoint(labels: ["LABEL_0"])
        let result = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "STS-B", dataRoot: GlueFixtures.glue,
                                                maxSeqLen: 8, workspace: Workspace(threads: 1))
        #expect(Set(result.metrics.keys) == ["pearson", "spearmanr"])
        #expect(result.labelMapping == nil && result.maxSeqLen == 8 && result.examples == 3)
        #expect(result.predictions.map(\.gold) == ["5.0", "4.75", "0.0"])
        let predicted = result.predictions.compactMap { Double($0.prediction) }
        #expect(predicted.count == 3)
        #expect(result.metrics["pearson"] == TaskMetrics.pearson(predicted.map { Double(Float($0)) }, [5, 4.75, 0]))
    }

    // MARK: The fine-tuned checkpoints against transformers' scores (training.json)

    @Test(.needsShared("models/minilm-l6-sst2/model.safetensors", "data/glue/SST-2/dev.tsv")) func minilmSST2Accuracy() throws {
        let checkpoint = try Checkpoint.load(directory: SharedData.path("models/minilm-l6-sst2"))
        let result = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "SST-2", dataRoot: SharedData.path("data/glue"),
                                                workspace: Workspace(threads: 2))
        print("minilm-l6-sst2 SST-2 dev: \(result.metrics) over \(result.examples) examples (\(result.labelMapping.map(\.rawValue) ?? "-"))")
        #expect(result.examples == 872 && result.labelMapping == .modelNames)
        #expect(result.metrics == ["accuracy": 0.9002293577981652])
    }

    @Test(.needsShared("models/minilm-l6-mrpc/model.safetensors", "data/glue/MRPC/dev.tsv")) func minilmMRPCAccuracyAndF1() throws {
        let checkpoint = try Checkpoint.load(directory: SharedData.path("models/minilm-l6-mrpc"))
        let result = try GlueEvaluator.evaluate(checkpoint: checkpoint, task: "MRPC", dataRoot: SharedData.path("data/glue"),
                                                workspace: Workspace(threads: 2))
        print("minilm-l6-mrpc MRPC dev: \(result.metrics) over \(result.examples) examples")
        #expect(result.examples == 408)
        #expect(result.metrics == ["accuracy": 0.8137254901960784, "f1": 0.8707482993197279])
    }
}
