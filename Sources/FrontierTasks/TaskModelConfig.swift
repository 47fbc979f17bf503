import Foundation
import FrontierEngine

/// The `config.json` of a model fine-tuned on a task, written from its base's: the frozen
/// probe (`FrozenFinetune`) and backprop fine-tuning (`FineTunedCheckpoint`) both write their
/// folders with it, so the keys transformers' `from_pretrained` and the engine's loader read
/// are set one way.
///
/// Every key of the base is kept (hyper-parameters, `_name_or_path`, the dropout rates) except
/// the task keys: `architectures`, `id2label`, `label2id`, `num_labels` (its legacy twin
/// `_num_labels` removed), `problem_type` and `finetuning_task`, plus whatever `overrides`
/// sets (a shrunk model's layer count or feed-forward width, the weights' dtype).
public enum TaskModelConfig {
    /// Tokenizer files copied from the base when present (`vocab.txt` is required). The
    /// sentence-transformers files (`modules.json`, `1_Pooling/`) are not: the result is a
    /// transformers task model, not a sentence embedder.
    public static let tokenizerFiles = ["vocab.txt", "tokenizer_config.json", "tokenizer.json", "special_tokens_map.json"]

    /// - Parameters:
    ///   - labels: the class names by model class index (`["LABEL_0"]` for a regression).
    ///   - problemType: nil removes the key (question answering has none).
    ///   - overrides: keys set last, after the task keys; `NSNull()` removes one.
    public static func write(from source: URL, to destination: URL, architecture: String, labels: [String], problemType: String?,
                             finetuningTask: String, overrides: [String: Any] = [:]) throws {
        guard let data = FileManager.default.contents(atPath: source.path) else {
            throw ModelError.missingFile(path: source.path, hint: "The base checkpoint needs config.json.")
        }
        guard var dict = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ModelError.invalidConfig(path: source.path, detail: "expected a JSON object at the top level")
        }
        dict["architectures"] = [architecture]
        dict["id2label"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { (String($0.offset), $0.element) })
        dict["label2id"] = Dictionary(uniqueKeysWithValues: labels.enumerated().map { ($0.element, $0.offset) })
        dict["num_labels"] = labels.count
        dict.removeValue(forKey: "_num_labels")
        dict["problem_type"] = problemType
        dict["finetuning_task"] = finetuningTask
        for (key, value) in overrides { dict[key] = value is NSNull ? nil : value }
        let encoded = try JSONSerialization.data(withJSONObject: dict, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        try (encoded + Data("\n".utf8)).write(to: destination, options: .atomic)
    }
}
