import ArgumentParser
import Foundation
import FrontierEngine

struct LogitsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logits",
        abstract: "Print the model's output logits for each input line.",
        discussion: """
            Reads one text per line from standard input (with --pair, two texts separated by one TAB) \
            and prints one line per input with the logits, space-separated, 9 significant digits. \
            Sequence-classification models print one value per label; question-answering models \
            print the start logits, then ' | ', then the end logits, one value per token.
            """
    )

    @OptionGroup var modelOptions: ModelOptions
    @OptionGroup var compute: ComputeOptions

    @Flag(help: "Each line holds a sentence pair: TEXT_A<TAB>TEXT_B.")
    var pair = false

    func run() throws {
        let checkpoint = try modelOptions.loadCheckpoint()
        let model = checkpoint.model
        if case .encoderOnly = model.head {
            throw ValidationError("\(modelOptions.model) has no task head (no classifier or qa_outputs weights); there are no logits to print.")
        }
        let maxLength = min(modelOptions.maxSeqLen ?? model.config.maxPositions, model.config.maxPositions)
        let inputs = try InputLines.texts(InputLines.readAll(), pair: pair)
        Blas.setThreads(compute.threads)
        let workspace = Workspace(threads: compute.threads)
        var out = ""
        for start in stride(from: 0, to: inputs.count, by: compute.batch) {
            let slice = inputs[start..<min(start + compute.batch, inputs.count)]
            let batch = EncoderBatch(slice.map { checkpoint.tokenizer.encode($0.0, pair: $0.1, maxLength: maxLength) })
            let output = try model.forward(batch, workspace: workspace, options: compute.forwardOptions)
            for index in 0..<batch.count {
                if output.logits.isEmpty {
                    out += Self.format(output.startLogits[index]) + " | " + Self.format(output.endLogits[index]) + "\n"
                } else {
                    out += Self.format(output.logits[index]) + "\n"
                }
            }
            FileHandle.standardOutput.write(Data(out.utf8))
            out.removeAll(keepingCapacity: true)
        }
    }

    static func format(_ values: [Float]) -> String {
        values.map { String(format: "%.9g", Double($0)) }.joined(separator: " ")
    }
}
