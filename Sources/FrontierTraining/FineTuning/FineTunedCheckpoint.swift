import Foundation
import FrontierEngine
import FrontierSupport
import FrontierTasks

/// Writes a fine-tuned model as a Hugging Face checkpoint folder that transformers'
/// `from_pretrained` and the engine's `Checkpoint.load` both read:
///
/// - `config.json`: the base's with the task keys (`TaskModelConfig`: architecture
///   `Bert|DistilBert` + `ForSequenceClassification|ForQuestionAnswering`, the labels,
///   `problem_type`, `finetuning_task`), the layer count and feed-forward width of a shrunk
///   model, and a dtype key (if the base has one) saying float32;
/// - `model.safetensors`: every parameter in F32 under the task model's names, metadata
///   `format: pt` (transformers refuses a file without it);
/// - the base's tokenizer files; whatever `extraFiles` writes (the pruning mask);
/// - `training.json`, last: a folder with it is complete.
public enum FineTunedCheckpoint {
    public static let recordFile = "training.json"

    public static func write(model: TrainableModel, task: FineTuneTask, base: URL, output: URL, record: FineTuneRecord,
                             extraFiles: (URL) throws -> Void = { _ in }) throws {
        let manager = FileManager.default
        try manager.createDirectory(at: output, withIntermediateDirectories: true)
        let baseConfig = base.appendingPathComponent("config.json")
        var overrides = try shapeKeys(model)
        // The weights are written in F32: a dtype key of the base (transformers 4: torch_dtype,
        // 5: dtype) would make from_pretrained cast them back.
        if let data = manager.contents(atPath: baseConfig.path), let dict = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] {
            for key in ["torch_dtype", "dtype"] where dict[key] != nil { overrides[key] = "float32" }
        }
        try TaskModelConfig.write(from: baseConfig, to: output.appendingPathComponent("config.json"),
                                  architecture: task.architecture(model.config.family), labels: model.config.labels,
                                  problemType: task.problemType, finetuningTask: task.finetuningTaskName, overrides: overrides)
        try SafetensorsWriter.write(model.checkpointTensors(), metadata: ["format": "pt"], to: output.appendingPathComponent("model.safetensors"))
        for name in TaskModelConfig.tokenizerFiles {
            let source = base.appendingPathComponent(name), destination = output.appendingPathComponent(name)
            guard manager.fileExists(atPath: source.path) else { continue }
            if manager.fileExists(atPath: destination.path) { try manager.removeItem(at: destination) }
            try manager.copyItem(at: source, to: destination)
        }
        try extraFiles(output)
        try DurableFiles.write(try JSONCoding.encoder.encode(record) + Data("\n".utf8), to: output.appendingPathComponent(recordFile))
        try DurableFiles.syncFolder(output)
        // The folder must load like any checkpoint; failing here beats a broken folder found later.
        _ = try Checkpoint.load(directory: output)
    }

    /// The config keys that say the model's shape when techniques shrank it: the layer count
    /// and the feed-forward width (one width for every layer: config.json has no per-layer
    /// widths). A model with fewer attention heads in some layers cannot be described to the
    /// engine's loader (transformers' `pruned_heads` is not read), so it is refused.
    static func shapeKeys(_ model: TrainableModel) throws -> [String: Any] {
        let layers = model.architecture.layers, config = model.config
        guard let width = layers.first?.intermediateSize, layers.allSatisfy({ $0.intermediateSize == width }) else {
            throw TrainingError.invalidModel("the layers have different feed-forward widths (\(layers.map(\.intermediateSize))); config.json can describe only one")
        }
        guard layers.allSatisfy({ $0.numHeads == config.numHeads && $0.attentionWidth == config.hiddenSize }) else {
            throw TrainingError.invalidModel("some layers have pruned attention heads, which config.json cannot describe to the engine's loader")
        }
        var keys: [String: Any] = [:]
        switch config.family {
        case .bert: keys["num_hidden_layers"] = layers.count; keys["intermediate_size"] = width
        case .distilbert: keys["n_layers"] = layers.count; keys["hidden_dim"] = width
        }
        return keys
    }
}
