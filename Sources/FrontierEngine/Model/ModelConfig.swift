import Foundation

/// The architecture hyper-parameters of a BERT-family checkpoint, read from its `config.json`.
///
/// BERT and DistilBERT spell the same quantities differently (`hidden_size` vs `dim`,
/// `num_hidden_layers` vs `n_layers`, …); both are normalised here so the engine has one shape
/// vocabulary.
public struct ModelConfig: Sendable, Equatable {
    public enum Family: String, Sendable, CaseIterable {
        case bert
        case distilbert
    }

    public var family: Family
    public var vocabSize: Int
    public var hiddenSize: Int
    public var numLayers: Int
    public var numHeads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    /// 0 for DistilBERT, which has no segment embeddings.
    public var typeVocabSize: Int
    public var layerNormEps: Float
    public var hiddenAct: String
    public var architectures: [String]
    /// Label names by class index, as `id2label` gives them.
    public var labels: [String]
    public var problemType: String?
    public var padTokenId: Int
    /// Dropout rates as transformers reads them (training only; inference ignores them). BERT:
    /// `hidden_dropout_prob` (embeddings, attention output, feed-forward output),
    /// `attention_probs_dropout_prob`, and `classifier_dropout` before the classifier (nil: the
    /// hidden rate). DistilBERT: `dropout`, `attention_dropout`, `seq_classif_dropout` and
    /// `qa_dropout`.
    public var hiddenDropout: Float = 0.1
    public var attentionDropout: Float = 0.1
    public var classifierDropout: Float? = nil
    public var questionAnsweringDropout: Float? = nil

    public var headDim: Int { hiddenSize / numHeads }
    public var numLabels: Int { labels.count }
    /// Hugging Face's rule: one label and no explicit problem type means regression.
    public var isRegression: Bool {
        problemType == "regression" || (problemType == nil && labels.count == 1)
    }

    public static let supportedActivations = ["gelu"]

    public init(
        family: Family, vocabSize: Int, hiddenSize: Int, numLayers: Int, numHeads: Int,
        intermediateSize: Int, maxPositions: Int = 512, typeVocabSize: Int = 2,
        layerNormEps: Float = 1e-12, hiddenAct: String = "gelu", architectures: [String] = [],
        labels: [String] = ["LABEL_0", "LABEL_1"], problemType: String? = nil, padTokenId: Int = 0
    ) {
        self.family = family
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.numHeads = numHeads
        self.intermediateSize = intermediateSize
        self.maxPositions = maxPositions
        self.typeVocabSize = typeVocabSize
        self.layerNormEps = layerNormEps
        self.hiddenAct = hiddenAct
        self.architectures = architectures
        self.labels = labels
        self.problemType = problemType
        self.padTokenId = padTokenId
    }

    public static func load(from url: URL) throws -> ModelConfig {
        guard let data = FileManager.default.contents(atPath: url.path) else {
            throw ModelError.missingFile(path: url.path, hint: "A checkpoint folder needs config.json next to model.safetensors.")
        }
        return try ModelConfig(json: data, source: url.path)
    }

    public init(json data: Data, source: String) throws {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw ModelError.invalidConfig(path: source, detail: "not valid JSON (\(Self.describe(error)))")
        }
        guard let dict = object as? [String: Any] else {
            throw ModelError.invalidConfig(path: source, detail: "expected a JSON object at the top level")
        }
        let reader = Reader(dict: dict, source: source)
        guard let type = dict["model_type"] as? String else {
            throw ModelError.invalidConfig(path: source, detail: "missing 'model_type' (supported: \(Family.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        guard let family = Family(rawValue: type) else {
            throw ModelError.unsupportedModelType(path: source, modelType: type, supported: Family.allCases.map(\.rawValue))
        }
        self.family = family
        switch family {
        case .bert:
            vocabSize = try reader.int("vocab_size")
            hiddenSize = try reader.int("hidden_size")
            numLayers = try reader.int("num_hidden_layers")
            numHeads = try reader.int("num_attention_heads")
            intermediateSize = try reader.int("intermediate_size")
            maxPositions = try reader.int("max_position_embeddings", default: 512)
            typeVocabSize = try reader.int("type_vocab_size", default: 2)
            layerNormEps = Float(try reader.double("layer_norm_eps", default: 1e-12))
            hiddenAct = try reader.string("hidden_act", default: "gelu")
            if let kind = dict["position_embedding_type"] as? String, kind != "absolute" {
                throw ModelError.invalidConfig(path: source, detail: "position_embedding_type '\(kind)' is not supported (only 'absolute')")
            }
        case .distilbert:
            vocabSize = try reader.int("vocab_size")
            hiddenSize = try reader.int("dim")
            numLayers = try reader.int("n_layers")
            numHeads = try reader.int("n_heads")
            intermediateSize = try reader.int("hidden_dim")
            maxPositions = try reader.int("max_position_embeddings", default: 512)
            typeVocabSize = 0
            // DistilBERT hard-codes eps 1e-12 in its modules; the config has no key for it.
            layerNormEps = 1e-12
            hiddenAct = try reader.string("activation", default: "gelu")
        }
        architectures = dict["architectures"] as? [String] ?? []
        problemType = dict["problem_type"] as? String
        padTokenId = try reader.int("pad_token_id", default: 0)
        labels = try Self.readLabels(dict, source: source)
        switch family {
        case .bert:
            hiddenDropout = Float(try reader.double("hidden_dropout_prob", default: 0.1))
            attentionDropout = Float(try reader.double("attention_probs_dropout_prob", default: 0.1))
            // null (transformers' default) means "the hidden rate", kept as nil.
            if let value = dict["classifier_dropout"], !(value is NSNull) {
                classifierDropout = Float(try reader.double("classifier_dropout", default: 0))
            }
        case .distilbert:
            hiddenDropout = Float(try reader.double("dropout", default: 0.1))
            attentionDropout = Float(try reader.double("attention_dropout", default: 0.1))
            classifierDropout = Float(try reader.double("seq_classif_dropout", default: 0.2))
            questionAnsweringDropout = Float(try reader.double("qa_dropout", default: 0.1))
        }
        for (key, rate) in [("hidden dropout", hiddenDropout), ("attention dropout", attentionDropout),
                            ("classifier dropout", classifierDropout ?? 0), ("qa dropout", questionAnsweringDropout ?? 0)]
            where !(0..<1).contains(rate) {
            throw ModelError.invalidConfig(path: source, detail: "\(key) must be in [0, 1), got \(rate)")
        }

        guard Self.supportedActivations.contains(hiddenAct) else {
            throw ModelError.unsupportedActivation(path: source, activation: hiddenAct, supported: Self.supportedActivations)
        }
        for (key, value) in [("hidden size", hiddenSize), ("layers", numLayers), ("heads", numHeads),
                             ("intermediate size", intermediateSize), ("vocab size", vocabSize),
                             ("max positions", maxPositions)] where value <= 0 {
            throw ModelError.invalidConfig(path: source, detail: "\(key) must be positive, got \(value)")
        }
        guard hiddenSize % numHeads == 0 else {
            throw ModelError.invalidConfig(path: source, detail: "hidden size \(hiddenSize) is not divisible by \(numHeads) heads")
        }
    }

    /// `id2label` wins when present (its keys are strings of integers); otherwise `num_labels`
    /// or `_num_labels`, with Hugging Face's default names.
    private static func readLabels(_ dict: [String: Any], source: String) throws -> [String] {
        if let map = dict["id2label"] as? [String: Any], !map.isEmpty {
            var byIndex: [Int: String] = [:]
            for (key, value) in map {
                guard let index = Int(key), index >= 0, index < map.count else {
                    throw ModelError.invalidConfig(path: source, detail: "id2label key '\(key)' is not an index in 0..<\(map.count)")
                }
                byIndex[index] = (value as? String) ?? "\(value)"
            }
            return (0..<map.count).map { byIndex[$0] ?? "LABEL_\($0)" }
        }
        let count = (dict["num_labels"] as? Int) ?? (dict["_num_labels"] as? Int) ?? 2
        return (0..<count).map { "LABEL_\($0)" }
    }

    private static func describe(_ error: Error) -> String {
        (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error.localizedDescription)"
    }

    private struct Reader {
        let dict: [String: Any]
        let source: String

        func int(_ key: String, default fallback: Int? = nil) throws -> Int {
            guard let value = dict[key], !(value is NSNull) else {
                if let fallback { return fallback }
                throw ModelError.invalidConfig(path: source, detail: "missing integer '\(key)'")
            }
            if let number = value as? NSNumber, !Self.isBoolean(value) {
                let double = number.doubleValue
                if double.rounded() == double, abs(double) < 1e15 { return Int(double) }
            }
            throw ModelError.invalidConfig(path: source, detail: "'\(key)' must be an integer, got \(value)")
        }

        func double(_ key: String, default fallback: Double) throws -> Double {
            guard let value = dict[key], !(value is NSNull) else { return fallback }
            if let number = value as? NSNumber, !Self.isBoolean(value) { return number.doubleValue }
            throw ModelError.invalidConfig(path: source, detail: "'\(key)' must be a number, got \(value)")
        }

        /// JSON `true` must not pass for 1: on Linux every NSNumber casts to Bool, so test the
        /// concrete type JSONSerialization uses for booleans instead.
        static func isBoolean(_ value: Any) -> Bool {
            let name = String(describing: type(of: value))
            return name == "Bool" || name.contains("Boolean")
        }

        func string(_ key: String, default fallback: String) throws -> String {
            guard let value = dict[key], !(value is NSNull) else { return fallback }
            if let string = value as? String { return string }
            throw ModelError.invalidConfig(path: source, detail: "'\(key)' must be a string, got \(value)")
        }
    }
}
