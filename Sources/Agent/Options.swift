import ArgumentParser
import Core
import Foundation

/// The model options every engine subcommand shares.
struct ModelOptions: ParsableArguments {
    @Option(name: .long, help: "A Hugging Face checkpoint folder: config.json, vocab.txt, model.safetensors.")
    var model: String

    @Option(name: .customLong("max-seq-len"), help: "Truncate each input to at most this many tokens, [CLS] and [SEP] included (longest-first for pairs). Defaults: tokenize and logits, the model's maximum positions; eval and bench on GLUE, 128 (run_glue's default); squad, 384-token windows.")
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

/// Which task's dev data to run, shared by eval and bench.
struct TaskDataOptions: ParsableArguments {
    @Option(help: "The task: a GLUE folder name (\(TaskRegistry.benchmarkTasks.joined(separator: ", "))) or squad.")
    var task: String

    @Option(help: "For GLUE, the folder holding the task folders (DATA/SST-2/dev.tsv); for squad, the folder holding dev-v1.1.json.")
    var data: String

    @Option(help: "Use only the first N examples (per split for MNLI; questions for squad).")
    var limit: Int?

    func validate() throws {
        if let limit, limit < 1 { throw ValidationError("--limit must be at least 1; got \(limit).") }
    }

    var isSquad: Bool { task.lowercased() == "squad" || task.lowercased() == "squad1.1" || task.lowercased() == "squad-v1.1" }
}
