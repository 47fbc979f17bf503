import Foundation

/// A Hugging Face checkpoint folder opened for inference: the encoder and its tokenizer.
public struct Checkpoint: Sendable {
    public let directory: URL
    public let model: EncoderModel
    public let tokenizer: BertTokenizer

    public init(directory: URL, model: EncoderModel, tokenizer: BertTokenizer) {
        self.directory = directory
        self.model = model
        self.tokenizer = tokenizer
    }

    /// The same checkpoint with the model a technique made from it.
    public func replacing(model: EncoderModel) -> Checkpoint {
        Checkpoint(directory: directory, model: model, tokenizer: tokenizer)
    }

    /// Opens `config.json`, `model.safetensors`, `vocab.txt` (+ `tokenizer_config.json`).
    public static func load(directory: URL) throws -> Checkpoint {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelError.missingFile(path: directory.path, hint: "Expected a checkpoint folder with config.json, vocab.txt and model.safetensors.")
        }
        let tokenizer = try BertTokenizer.load(directory: directory)
        let model = try EncoderModel.load(directory: directory)
        guard tokenizer.vocabulary.count <= model.config.vocabSize else {
            throw ModelError.invalidConfig(path: directory.appendingPathComponent("vocab.txt").path,
                                           detail: "vocab.txt has \(tokenizer.vocabulary.count) tokens but the model's vocab_size is \(model.config.vocabSize)")
        }
        return Checkpoint(directory: directory, model: model, tokenizer: tokenizer)
    }
}
