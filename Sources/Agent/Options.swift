import ArgumentParser
import Foundation
import FrontierEngine
import FrontierMeasurement
import FrontierTechniques
import FrontierTasks

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

extension MagnitudePruning.Scope: ExpressibleByArgument {}
extension LayerDropping.Strategy: ExpressibleByArgument {}
extension TechniqueSpec.SparseKernel: ExpressibleByArgument {}
extension TechniqueSpec.QuantizationMode: ExpressibleByArgument {}

/// The efficiency techniques, as flags shared by eval, bench and run. They are applied in a
/// fixed order: magnitude pruning, head pruning, FFN pruning, layer dropping, early exit,
/// token pruning, quantization (a spec file's `techniques` list can order them otherwise).
struct TechniqueOptions: ParsableArguments {
    @Option(help: "Unstructured magnitude pruning: zero this fraction of the prunable weights (0–0.99).")
    var sparsity: Double?
    @Option(name: .customLong("sparsity-scope"), help: "One threshold over all prunable weights (global, as the lottery-ticket papers) or one per matrix (layer).")
    var sparsityScope: MagnitudePruning.Scope?
    @Option(help: "Apply 0/1 masks from a safetensors file (lottery-ticket key names, e.g. bert.encoder.layer.0.attention.self.query.weight_mask) instead of --sparsity.")
    var mask: String?
    @Option(name: .customLong("save-mask"), help: "Write the masks magnitude pruning used to this safetensors file.")
    var saveMask: String?
    @Option(name: .customLong("sparse-kernel"), help: "Run pruned matrices on a sparse kernel (fp32, or int8 with --quantize int8): auto (where it is faster than dense), always or never.")
    var sparseKernel: TechniqueSpec.SparseKernel?
    @Option(name: .customLong("prune-heads"), help: "Remove this many attention heads per layer, the least important by loss increase on a calibration subset of the train split.")
    var pruneHeads: Int?
    @Option(name: .customLong("calibration-examples"), help: "Train examples used to rank heads (default 128).")
    var calibrationExamples: Int?
    @Option(name: .customLong("prune-ffn"), help: "Remove this fraction of each layer's feed-forward neurons, smallest magnitude first.")
    var pruneFfn: Double?
    @Option(name: .customLong("keep-layers"), help: "Keep this many encoder layers.")
    var keepLayers: Int?
    @Option(name: .customLong("layer-strategy"), help: "Which layers --keep-layers keeps: bottom (drop the top), top or alternate.")
    var layerStrategy: LayerDropping.Strategy?
    @Option(name: .customLong("early-exit-entropy"), help: "Early exit: leave at the first layer whose exit head's prediction entropy (nats) is below this.")
    var earlyExitEntropy: Double?
    @Option(name: .customLong("exit-train-examples"), help: "Train examples for fitting the exit heads (default 2000).")
    var exitTrainExamples: Int?
    @Option(name: .customLong("token-keep"), help: "Token pruning: keep this fraction of tokens (the most attended; [CLS] and [SEP] always).")
    var tokenKeep: Double?
    @Option(name: .customLong("token-prune-from"), help: "Token pruning starts at this layer (≥ 1).")
    var tokenPruneFrom: Int?
    @Option(help: "Quantize the encoder's linear layers: int8 (dynamic, per-channel weights, per-token activations; after --sparsity or --mask, pruned matrices run on the sparse int8 kernel where the CPU has AVX-512 VNNI), fp16 (weight storage, fp32 compute) or bf16 (bf16 compute with fp32 accumulation where the CPU has AVX512_BF16, else weight storage with fp32 compute).")
    var quantize: TechniqueSpec.QuantizationMode?

    func validate() throws {
        if (tokenKeep == nil) != (tokenPruneFrom == nil) { throw ValidationError("--token-keep and --token-prune-from go together.") }
        if sparsity != nil && mask != nil { throw ValidationError("give --sparsity or --mask, not both.") }
        if (sparsityScope != nil || saveMask != nil || sparseKernel != nil) && sparsity == nil && mask == nil {
            throw ValidationError("--sparsity-scope, --save-mask and --sparse-kernel need --sparsity or --mask.")
        }
        if layerStrategy != nil && keepLayers == nil { throw ValidationError("--layer-strategy needs --keep-layers.") }
        if calibrationExamples != nil && pruneHeads == nil { throw ValidationError("--calibration-examples needs --prune-heads.") }
        if exitTrainExamples != nil && earlyExitEntropy == nil { throw ValidationError("--exit-train-examples needs --early-exit-entropy.") }
        do { try TechniquePipeline.validate(techniques) } catch { throw ValidationError("\(error)") }
    }

    var isEmpty: Bool { techniques.isEmpty }

    var techniques: [TechniqueSpec] {
        var list: [TechniqueSpec] = []
        if sparsity != nil || mask != nil {
            var t = TechniqueSpec(name: .magnitudePruning)
            t.sparsity = sparsity; t.scope = sparsityScope; t.mask = mask; t.saveMask = saveMask; t.kernel = sparseKernel
            list.append(t)
        }
        if let pruneHeads {
            var t = TechniqueSpec(name: .headPruning)
            t.perLayer = pruneHeads; t.calibrationExamples = calibrationExamples
            list.append(t)
        }
        if let pruneFfn {
            var t = TechniqueSpec(name: .ffnPruning)
            t.fraction = pruneFfn
            list.append(t)
        }
        if let keepLayers {
            var t = TechniqueSpec(name: .layerDropping)
            t.keep = keepLayers; t.strategy = layerStrategy
            list.append(t)
        }
        if let earlyExitEntropy {
            var t = TechniqueSpec(name: .earlyExit)
            t.entropy = earlyExitEntropy; t.trainExamples = exitTrainExamples
            list.append(t)
        }
        if let tokenKeep, let tokenPruneFrom {
            var t = TechniqueSpec(name: .tokenPruning)
            t.keepFraction = tokenKeep; t.fromLayer = tokenPruneFrom
            list.append(t)
        }
        if let quantize {
            var t = TechniqueSpec(name: .quantization)
            t.mode = quantize
            list.append(t)
        }
        return list
    }
}

extension TechniqueOptions {
    /// Applies the techniques to a loaded checkpoint for eval and bench; train data, where a
    /// technique needs it, comes from the task's train split under `data`. Returns the
    /// checkpoint with the model they made (consumed, so the model is never held twice).
    func apply(to checkpoint: consuming Checkpoint, task: String, data: String, maxSeqLen: Int?, base: ForwardOptions,
               workspace: Workspace) throws -> (checkpoint: Checkpoint, options: ForwardOptions, applied: AppliedTechniques?) {
        guard !isEmpty else { return (checkpoint, base, nil) }
        let spec = TrialSpec(model: checkpoint.directory.path, task: task, data: data, maxSeqLen: maxSeqLen)
        let trainData = TrialWorkload.techniqueData(spec: spec, tokenizer: checkpoint.tokenizer, maxPositions: checkpoint.model.config.maxPositions)
        let result = try TechniquePipeline.apply(techniques, to: consume checkpoint, data: trainData, base: base, workspace: workspace,
                                                 progress: { note("techniques: " + $0) })
        return (result.checkpoint, result.options, result.applied)
    }
}
