import Foundation
import FrontierEngine
import FrontierTasks

/// A GLUE task's train split as training sequences: tokenized exactly as `GlueEvaluator`
/// tokenizes dev examples (`[CLS] A [SEP] B [SEP]`, longest-first truncation to the maximum
/// length), with the gold answer as the model's target.
///
/// A class is trained as the model's class index for it (`GlueLabelMap`): a new head uses the
/// `datasets` order, but an already fine-tuned head keeps its own `id2label` order, and training
/// it on `datasets` indices would silently swap its classes. STS-B scores are regression
/// targets, as run_glue trains them (mean squared error on the single output).
public enum GlueTrainingData {
    public static let split = "train"

    /// Reads `dataRoot/<task>/train.tsv`, keeps the first `limit` examples and tokenizes them.
    public static func load(task: GlueTask, dataRoot: URL, limit: Int?, tokenizer: BertTokenizer, maxSeqLen: Int,
                            modelLabels: [String]) throws -> TrainingSet {
        let file = GlueReader.url(task: task, split: split, dataRoot: dataRoot)
        let all = try GlueReader.read(task: task, path: file.path)
        let examples = limit.map { Array(all.prefix($0)) } ?? all
        let (sequences, truncated) = try self.sequences(examples, task: task, tokenizer: tokenizer, maxSeqLen: maxSeqLen,
                                                        modelLabels: modelLabels)
        return TrainingSet(sequences: sequences, file: file.path, examples: examples.count, availableExamples: all.count,
                           truncated: truncated)
    }

    /// The sequences of `examples`, in order, and how many were cut to `maxSeqLen`.
    public static func sequences(_ examples: [GlueExample], task: GlueTask, tokenizer: BertTokenizer, maxSeqLen: Int,
                                 modelLabels: [String]) throws -> (sequences: [TrainingSequence], truncated: Int) {
        guard maxSeqLen >= 3 else { throw TrainingError.invalidSettings("the maximum sequence length must be at least 3 ([CLS], a token, [SEP]); got \(maxSeqLen)") }
        let labelMap: GlueLabelMap?
        if task.isRegression {
            labelMap = nil
        } else {
            guard let map = GlueLabelMap(task: task, modelLabels: modelLabels) else {
                throw TrainingError.invalidModel("the head has \(modelLabels.count) classes \(modelLabels); \(task.folderName) needs \(task.labels.count) (\(task.labels.joined(separator: ", ")))")
            }
            labelMap = map
        }
        var sequences: [TrainingSequence] = []
        sequences.reserveCapacity(examples.count)
        var truncated = 0
        for (index, example) in examples.enumerated() {
            let encoding = tokenizer.encode(example.textA, pair: example.textB, maxLength: maxSeqLen)
            // Only an encoding that fills the budget can have been cut; check those in full.
            if encoding.count == maxSeqLen, tokenizer.encode(example.textA, pair: example.textB).count > maxSeqLen { truncated += 1 }
            let target: TrainingTarget
            switch example.gold {
            case let .score(score):
                guard task.isRegression else { throw TrainingError.invalidBatch("\(task.folderName) example \(example.id) has a score; the task is a classification") }
                target = .value(Float(score))
            case let .label(label):
                guard let labelMap, labelMap.modelClass.indices.contains(label) else {
                    throw TrainingError.invalidBatch("\(task.folderName) example \(example.id) has class \(label), which the task does not have")
                }
                target = .label(labelMap.modelClass[label])
            }
            sequences.append(TrainingSequence(ids: encoding.ids, typeIds: encoding.typeIds, target: target, example: index))
        }
        return (sequences, truncated)
    }
}
