import ArgumentParser
import Core
import Foundation

/// The model options every engine subcommand shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face checkpoint folder: config.json, vocab.txt, model.safetensors.")
    var model: String

    @Option(name: .customLong("max-seq-len"), help: "Truncate each input to at most this many tokens, [CLS] and [SEP] included (longest-first for pairs). Default: no truncation beyond the model's maximum positions.")
    var maxSeqLen: Int?

    func validate() throws {
        if let maxSeqLen, maxSeqLen < 3 {
            throw ValidationError("--max-seq-len must be at least 3 (room for [CLS], a token and [SEP]); got \(maxSeqLen).")
        }
    }

    var directory: URL { URL(fileURLWithPath: model) }

    func loadTokenizer() throws -> BertTokenizer {
        try BertTokenizer.load(directory: directory)
    }

    func loadCheckpoint() throws -> Checkpoint {
        try Checkpoint.load(directory: directory)
    }
}

struct ComputeOptions: ParsableArguments {
    @Option(help: "Sequences per forward pass.")
    var batch: Int = 32

    @Option(help: "Threads for the engine's kernels (and OpenBLAS with --gemm openblas).")
    var threads: Int = 1

    @Option(help: "GEMM for the linear layers: packed (the engine's microkernels, weights packed at load) or openblas (cblas_sgemm).")
    var gemm: GemmBackend = .packed

    var forwardOptions: ForwardOptions { ForwardOptions(gemm: gemm) }

    func validate() throws {
        guard batch >= 1 else { throw ValidationError("--batch must be at least 1; got \(batch).") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1; got \(threads).") }
    }
}

extension GemmBackend: ExpressibleByArgument {}
