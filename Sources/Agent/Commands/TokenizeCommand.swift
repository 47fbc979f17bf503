import ArgumentParser
import Foundation

struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of each input line.",
        discussion: """
            Reads one text per line from standard input (with --pair, two texts separated by one TAB) \
            and prints one line per input: the token ids, space-separated, [CLS] and [SEP] included, \
            exactly as Hugging Face's BertTokenizerFast encodes them.
            """
    )

    @OptionGroup var modelOptions: ModelOptions

    @Flag(help: "Each line holds a sentence pair: TEXT_A<TAB>TEXT_B.")
    var pair = false

    func run() throws {
        let tokenizer = try modelOptions.loadTokenizer()
        let inputs = try InputLines.texts(InputLines.readAll(), pair: pair)
        var out = ""
        out.reserveCapacity(inputs.count * 64)
        for (a, b) in inputs {
            let encoding = tokenizer.encode(a, pair: b, maxLength: modelOptions.maxSeqLen)
            out += encoding.ids.map(String.init).joined(separator: " ")
            out += "\n"
            if out.utf8.count > 1 << 16 {
                FileHandle.standardOutput.write(Data(out.utf8))
                out.removeAll(keepingCapacity: true)
            }
        }
        FileHandle.standardOutput.write(Data(out.utf8))
    }
}
