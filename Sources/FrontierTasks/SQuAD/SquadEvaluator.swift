import Foundation
import FrontierEngine

/// One question's outcome: what was predicted and what the gold answers are.
public struct SquadPrediction: Sendable, Equatable {
    public var id: String
    /// The predicted answer text (a context slice, or "empty").
    public var prediction: String
    public var golds: [String]
    /// Where the answer came from (span, score, feature, tokens).
    public var answer: SquadAnswer

    public init(id: String, prediction: String, golds: [String], answer: SquadAnswer) {
        self.id = id
        self.prediction = prediction
        self.golds = golds
        self.answer = answer
    }
}

public struct SquadEvaluation: Sendable {
    /// Questions evaluated.
    public var examples: Int
    /// Model inputs they became (more than `examples` when long contexts need several windows).
    public var features: Int
    /// `exact_match` and `f1` on the official script's 0–100 scale.
    public var metrics: [String: Double]
    /// One per question, in file order.
    public var predictions: [SquadPrediction]
    /// Floating-point operations the engine counted over all features.
    public var flops: Double = 0

    public init(examples: Int, features: Int, metrics: [String: Double], predictions: [SquadPrediction]) {
        self.examples = examples
        self.features = features
        self.metrics = metrics
        self.predictions = predictions
    }
}

/// SQuAD v1.1 end to end, as transformers' `run_qa.py` evaluates it: features
/// (`SquadFeaturizer`), span logits from the model, `postprocess_qa_predictions`
/// (`SquadPostprocessor`) and the official metric (`SquadMetrics`).
///
/// Features stream through the model in batches of exactly `batchSize` (a question's windows may
/// straddle two batches); a question is post-processed as soon as all its windows have logits, so
/// memory stays at about one batch whatever the number of questions. Each feature is scored on its
/// real tokens only — the packed engine has no padding — which is run_qa with batches of one;
/// run_qa's default pads to 384, and padded positions, although never answers, can take some of
/// the 20 top-logit slots (they rarely do with a trained model, which scores padding low).
public enum SquadEvaluator {
    /// Reads `dataFile`, keeps the first `limit` questions (all with nil) and evaluates them.
    public static func evaluate(checkpoint: Checkpoint, dataFile: URL, limit: Int?, batchSize: Int,
                                settings: SquadSettings = SquadSettings(), workspace: Workspace,
                                options: ForwardOptions = ForwardOptions(),
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> SquadEvaluation {
        var examples = try SquadReader.read(path: dataFile.path)
        if let limit { examples = Array(examples.prefix(max(0, limit))) }
        return try evaluate(examples: examples, model: checkpoint.model, tokenizer: checkpoint.tokenizer,
                            batchSize: batchSize, settings: settings, workspace: workspace, options: options,
                            progress: progress)
    }

    /// Evaluates questions already in memory (no I/O).
    /// - Parameter progress: called with (questions done, questions in all) after every batch.
    public static func evaluate(examples: [SquadExample], model: EncoderModel, tokenizer: BertTokenizer, batchSize: Int,
                                settings: SquadSettings = SquadSettings(), workspace: Workspace,
                                options: ForwardOptions = ForwardOptions(),
                                progress: (Int, Int) -> Void = { _, _ in }) throws -> SquadEvaluation {
        guard case .questionAnswering = model.head else { throw SquadError.notQuestionAnswering(head: model.head.name) }
        guard batchSize >= 1 else { throw SquadError.invalidSettings("batchSize must be ≥ 1, got \(batchSize)") }
        try settings.validate()
        guard settings.maxLength <= model.config.maxPositions else {
            throw SquadError.invalidSettings("maxLength \(settings.maxLength) exceeds the model's \(model.config.maxPositions) positions")
        }

        var predictions: [SquadPrediction] = []
        predictions.reserveCapacity(examples.count)
        var featureCount = 0
        var flops = 0.0

        /// A question whose windows are (partly) waiting for logits.
        struct Pending {
            var exampleIndex: Int
            var features: [SquadFeature]
            var startLogits: [[Float]] = []
            var endLogits: [[Float]] = []
            var done: Bool { startLogits.count == features.count }
        }
        var pending: [Pending] = []  // in example order
        var queued: [(pending: Int, feature: Int)] = []  // features not yet run, in order
        var pendingOffset = 0  // example index of pending[0] relative to pending indices handed out
        var cachedContext: (text: String, tokens: (ids: [Int32], offsets: [Range<Int>]))?

        func finishReady() {
            var ready = 0
            while ready < pending.count, pending[ready].done { ready += 1 }
            for item in pending[..<ready] {
                let example = examples[item.exampleIndex]
                let answer = SquadPostprocessor.bestAnswer(context: example.context, features: item.features,
                                                           startLogits: item.startLogits, endLogits: item.endLogits,
                                                           settings: settings)
                predictions.append(SquadPrediction(id: example.id, prediction: answer.text, golds: example.answers, answer: answer))
            }
            pending.removeFirst(ready)
            pendingOffset += ready
        }

        func runBatch(_ count: Int) throws {
            let items = queued.prefix(count)
            var batch = EncoderBatch()
            for item in items {
                let feature = pending[item.pending - pendingOffset].features[item.feature]
                batch.append(ids: feature.ids, typeIds: feature.typeIds)
            }
            let output = try model.forward(batch, workspace: workspace, options: options)
            flops += output.flops
            guard output.startLogits.count == items.count, output.endLogits.count == items.count else {
                throw SquadError.modelOutput("span logits for \(output.startLogits.count) of \(items.count) features")
            }
            for (k, item) in items.enumerated() {
                pending[item.pending - pendingOffset].startLogits.append(output.startLogits[k])
                pending[item.pending - pendingOffset].endLogits.append(output.endLogits[k])
            }
            queued.removeFirst(items.count)
            finishReady()
            progress(predictions.count, examples.count)
        }

        for (index, example) in examples.enumerated() {
            // Consecutive questions usually share their paragraph: tokenise it once.
            let contextTokens: (ids: [Int32], offsets: [Range<Int>])
            if let cached = cachedContext, cached.text.unicodeScalars.elementsEqual(example.context.unicodeScalars) {
                contextTokens = cached.tokens
            } else {
                contextTokens = tokenizer.tokenize(example.context)
                cachedContext = (example.context, contextTokens)
            }
            let question = tokenizer.tokenize(SquadFeaturizer.leftStripped(example.question)).ids
            let features = try SquadFeaturizer.features(question: question, context: contextTokens, exampleIndex: index,
                                                        tokenizer: tokenizer, settings: settings, id: example.id)
            featureCount += features.count
            let slot = pendingOffset + pending.count
            pending.append(Pending(exampleIndex: index, features: features))
            queued += features.indices.map { (slot, $0) }
            while queued.count >= batchSize { try runBatch(batchSize) }
        }
        if !queued.isEmpty { try runBatch(queued.count) }
        finishReady()

        let metrics = SquadMetrics.evaluate(
            predictions: Dictionary(predictions.map { ($0.id, $0.prediction) }, uniquingKeysWith: { first, _ in first }),
            examples: examples)
        var evaluation = SquadEvaluation(examples: examples.count, features: featureCount, metrics: metrics, predictions: predictions)
        evaluation.flops = flops
        return evaluation
    }
}
