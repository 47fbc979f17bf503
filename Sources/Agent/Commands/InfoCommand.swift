import ArgumentParser
import Foundation

struct InfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Load a checkpoint strictly and describe it.",
        discussion: """
            Loads config.json, vocab.txt and model.safetensors exactly as the other subcommands do \
            (every tensor checked for presence and shape) and prints the architecture, the task \
            head, the parameter count and any tensors that were present but not needed.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    func run() throws {
        let checkpoint = try modelOptions.loadCheckpoint()
        let model = checkpoint.model, c = model.config
        print("model:       \(modelOptions.model)")
        print("family:      \(c.family.rawValue) (\(c.architectures.joined(separator: ", ")))")
        print("shape:       \(c.numLayers) layers, hidden \(c.hiddenSize), \(c.numHeads) heads, intermediate \(c.intermediateSize), max positions \(c.maxPositions)")
        switch model.head {
        case .sequenceClassification:
            print("head:        \(model.head.name), \(c.isRegression ? "regression" : "labels \(c.labels)")")
        case .questionAnswering, .encoderOnly:
            print("head:        \(model.head.name)")
        }
        print("parameters:  \(model.parameterCount)")
        print("vocabulary:  \(checkpoint.tokenizer.vocabulary.count) tokens")
        if !model.ignoredTensors.isEmpty {
            print("not used:    \(model.ignoredTensors.joined(separator: ", "))")
        }
    }
}
