import Foundation
import FrontierArtifacts
import FrontierGrid
import FrontierMeasurement
import FrontierSupport
import FrontierTraining
import FrontierWire

/// Runs one training stage of a sweep on this agent: `frontier-agent finetune` (or `imp --level`
/// for an IMP level) in a child process (its crash or memory never touches the agent), in a
/// folder kept per stage key under the agent's work folder, so that the same stage handed back
/// to this agent after a kill resumes from its last saved state (`--checkpoint-every`) and a
/// finished one is not trained again. The checkpoint folder is packed into one content-addressed file, uploaded, and only
/// then reported: a stage's result counts only when the coordinator holds its checkpoint.
public struct TrainingStageRunner: Sendable {
    public var executable: String
    public var work: URL
    public var sharedRoot: URL
    public var environment: [String: String]
    public var device: DeviceFingerprint
    /// Updates between saved states: what a kill can cost.
    public var checkpointEvery = 50
    public var progress: @Sendable (String) -> Void

    public init(executable: String, work: URL, sharedRoot: URL, environment: [String: String], device: DeviceFingerprint,
                progress: @escaping @Sendable (String) -> Void) {
        self.executable = executable
        self.work = work
        self.sharedRoot = sharedRoot
        self.environment = environment
        self.device = device
        self.progress = progress
    }

    /// A stage that could not run, and whether it would fail the same way again.
    struct StageFailure: Error {
        var reason: String
        var deterministic: Bool
        var exit: WorkerExit?
    }

    public func run(_ assignment: WireAssignment, stage: TrainingStage, transport: (any ArtifactTransport)?,
                    cancellation: TrialCancellation) -> WireResult {
        let started = Date()
        do {
            let folder = work.appendingPathComponent("stages/\(stage.key)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            guard let transport else {
                throw StageFailure(reason: "this agent has no artifact transport (cannot upload a checkpoint)", deterministic: false)
            }
            let base = try baseFolder(stage, assignment: assignment, transport: transport, cancellation: cancellation)
            let maskSource = try maskFolder(stage, assignment: assignment, transport: transport, cancellation: cancellation)
            let log = folder.appendingPathComponent("finetune.log")
            progress("training stage \(stage.key) (\(stage.label)): log \(log.path)")
            let exit = try train(stage, base: base, maskSource: maskSource, folder: folder, log: log, cancellation: cancellation)
            let checkpoint = Self.checkpoint(of: stage, in: folder)
            guard exit.succeeded else {
                let why = Self.lastError(in: log) ?? "see \(log.path)"
                // 64: the options or inputs (deterministic, like a bad assignment); 1: the training
                // itself failed (a non-finite loss: the same recipe fails the same way).
                throw StageFailure(reason: "frontier-agent \(Self.command(stage)): \(exit.reason): \(why)",
                                   deterministic: exit.exitCode == 64 || exit.exitCode == 1, exit: exit)
            }
            guard let record = try TicketSearch.readRecord(checkpoint) else {
                throw StageFailure(reason: "frontier-agent \(Self.command(stage)) exited 0 but \(checkpoint.path)/training.json is missing", deterministic: false)
            }
            let archive = folder.appendingPathComponent("checkpoint.tar")
            let packed = try ArtifactArchive.pack(folder: checkpoint, to: archive)
            if let why = cancellation.reason { throw StageFailure(reason: "cancelled: \(why)", deterministic: false) }
            progress("uploading \(stage.key)'s checkpoint (\(packed.size >> 20) MiB, sha256 \(packed.hash.hex.prefix(16))…)")
            try transport.upload(file: archive, hash: packed.hash, size: packed.size, trialId: assignment.trialID,
                                 attempt: assignment.attempt, cancellation: cancellation)
            return Self.success(assignment, stage: stage, record: record, packed: packed, exit: exit, device: device,
                                started: started)
        } catch let failure as StageFailure {
            var result = MeasuredTrialRunner.failure(assignment, reason: failure.deterministic ? "bad assignment: \(failure.reason)" : failure.reason,
                                                     device: device)
            result.result.task = stage.task
            if let exit = failure.exit { result.result.worker = WireWorkerExit(exit) }
            return result
        } catch {
            var result = MeasuredTrialRunner.failure(assignment, reason: "training stage \(stage.key): \(error)", device: device)
            result.result.task = stage.task
            return result
        }
    }

    /// The checkpoint the stage starts from: the grid's model (a path on this machine), or the
    /// checkpoint of the stage named by the `start` input, fetched and unpacked.
    func baseFolder(_ stage: TrainingStage, assignment: WireAssignment, transport: any ArtifactTransport,
                    cancellation: TrialCancellation) throws -> String {
        switch stage.start {
        case .model:
            do {
                return try GridPath.expand(stage.modelPath, environment: environment, sharedRoot: sharedRoot)
            } catch {
                throw StageFailure(reason: "model path \(stage.modelPath): \(error)", deterministic: true)
            }
        case let .stage(key):
            guard let ref = assignment.inputs.first(where: { $0.role == "start" && $0.stageKey == key }) else {
                throw StageFailure(reason: "the assignment does not name the checkpoint of stage \(key) to start from", deterministic: true)
            }
            return try CheckpointUnpacker(work: work).folder(for: ref, trialId: assignment.trialID, attempt: assignment.attempt,
                                                             transport: transport, cancellation: cancellation).path
        }
    }

    /// The checkpoint of the stage whose mask this one trains under (the previous IMP level, or
    /// `mask_from`'s), fetched and unpacked; nil for a stage without one.
    func maskFolder(_ stage: TrainingStage, assignment: WireAssignment, transport: any ArtifactTransport,
                    cancellation: TrialCancellation) throws -> URL? {
        guard let key = stage.maskStage else { return nil }
        guard let ref = assignment.inputs.first(where: { $0.role == "mask" && $0.stageKey == key }) else {
            throw StageFailure(reason: "the assignment does not name the checkpoint of stage \(key) whose mask this stage trains under", deterministic: true)
        }
        return try CheckpointUnpacker(work: work).folder(for: ref, trialId: assignment.trialID, attempt: assignment.attempt,
                                                         transport: transport, cancellation: cancellation)
    }

    static func command(_ stage: TrainingStage) -> String { stage.impLevel == nil ? "finetune" : "imp" }

    /// Where the stage's trained folder ends up: `checkpoint/` for a fine-tune, the level's
    /// folder of the one-level search for an IMP level.
    static func checkpoint(of stage: TrainingStage, in folder: URL) -> URL {
        guard let level = stage.impLevel else { return folder.appendingPathComponent("checkpoint") }
        return folder.appendingPathComponent("search").appendingPathComponent(TicketSearchStore.levelName(level))
    }

    /// `frontier-agent finetune` for a fine-tune (under `mask_from`'s mask when it has one), or
    /// `frontier-agent imp --level K --previous LEVEL(K−1)` for an IMP level: the previous
    /// level's trained weights and mask decide this level's mask, and the encoder rewinds to
    /// `base` (θ0).
    func arguments(_ stage: TrainingStage, base: String, maskSource: URL?, folder: URL) throws -> [String] {
        let r = stage.recipe
        let data: String
        do {
            data = try GridPath.expand(stage.data, environment: environment, sharedRoot: sharedRoot)
        } catch {
            throw StageFailure(reason: "data path \(stage.data): \(error)", deterministic: true)
        }
        var args: [String]
        let out = Self.checkpoint(of: stage, in: folder)
        if let level = stage.impLevel, let imp = r.imp {
            guard let previous = maskSource else {
                throw StageFailure(reason: "IMP level \(level) has no previous level to prune", deterministic: true)
            }
            // The schedule runs on to 0.99 in every level's search, so that each level's count is
            // the same whatever level a stage stops at (the last round would clamp to a target).
            args = ["imp", "--base", base, "--task", stage.task, "--data", data, "--out", out.deletingLastPathComponent().path,
                    "--level", String(level), "--previous", previous.path, "--target-sparsity", "0.99",
                    "--per-round", String(imp.perRound), "--of", imp.of.rawValue, "--pooler", imp.pooler.rawValue]
        } else {
            args = ["finetune", "--base", base, "--task", stage.task, "--data", data, "--out", out.path, "--regime", r.regime]
            if let maskSource { args += ["--mask", maskSource.appendingPathComponent("mask.safetensors").path] }
        }
        args += ["--epochs", String(r.epochs), "--lr", String(r.lr), "--batch", String(r.batch),
                 "--threads", String(r.threads), "--max-seq-len", String(r.maxSeqLen), "--warmup-ratio", String(r.warmupRatio),
                 "--weight-decay", String(r.weightDecay), "--seed", String(r.seed),
                 "--checkpoint-every", String(checkpointEvery)]
        if let limit = r.limit { args += ["--limit", String(limit)] }
        if let dropout = r.dropout { args += ["--dropout", String(dropout)] }
        if let p = r.prune {
            if let f = p.ffn { args += ["--prune-ffn", String(f)] }
            if let k = p.keepLayers { args += ["--keep-layers", String(k)] }
            if let s = p.layerStrategy { args += ["--layer-strategy", s] }
            if let s = p.sparsity { args += ["--sparsity", String(s)] }
        }
        return args
    }

    func train(_ stage: TrainingStage, base: String, maskSource: URL?, folder: URL, log: URL, cancellation: TrialCancellation) throws -> WorkerExit {
        let args = try arguments(stage, base: base, maskSource: maskSource, folder: folder)
        try? Data("\n# \(Date()) \(executable) \(args.joined(separator: " "))\n".utf8).append(to: log)
        // Training takes minutes to hours; the lease is kept by the agent's heartbeats, and the
        // stage ends when it is cancelled (the lease is gone) or the agent stops.
        // The trainer dies with this agent: a killed agent's orphan would go on writing the
        // folder that the restarted agent resumes the stage in.
        return try WorkerProcess.run(executable: executable, arguments: args, timeoutS: 7 * 24 * 3600, memoryLimitMb: nil,
                                     stdoutToStderr: true, logFile: log.path,
                                     environment: ["FRONTIER_PARENT_PID": String(getpid())], cancellation: cancellation)
    }

    /// The last `Error:` line the child wrote, for the failure's reason.
    static func lastError(in log: URL) -> String? {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").last { $0.contains("Error:") }.map {
            String($0[$0.range(of: "Error:")!.upperBound...]).trimmingCharacters(in: .whitespaces)
        }
    }

    static func success(_ assignment: WireAssignment, stage: TrainingStage, record: FineTuneRecord, packed: PackedArtifact,
                        exit: WorkerExit, device: DeviceFingerprint, started: Date) -> WireResult {
        var r = WireTrialResult()
        r.status = .ok
        r.task = stage.task
        r.model = stage.modelPath
        r.metrics = record.finalMetrics
        r.device = WireDeviceFingerprint(device)
        r.worker = WireWorkerExit(exit)
        r.startedAt = TrialResult.timestamp(started)
        r.finishedAt = TrialResult.timestamp(Date())
        r.engineVersion = FrontierVersion.string
        var t = WireTrainingRun()
        t.stageKey = stage.key
        t.artifact.role = "checkpoint"
        t.artifact.sha256 = packed.hash.hex
        t.artifact.size = UInt64(packed.size)
        t.artifact.stageKey = stage.key
        t.trainingS = record.throughput.trainingS
        t.wallS = record.wallS
        t.examplesPerS = record.throughput.examplesPerS
        t.steps = UInt64(record.schedule.totalSteps)
        t.epochs = UInt32(record.settings.epochs)
        t.trainExamples = UInt64(record.throughput.examples)
        if let loss = record.lossCurve.last?.loss { t.finalLoss = Double(loss) }
        if let energy = record.energy {
            t.trainingJ = energy.trainingJ
            t.totalJ = energy.totalJ
            t.energySource = energy.source
        }
        if let rss = record.peakRssMb { t.peakRssMb = rss }
        t.startSteps = record.segments.map { UInt64($0.fromStep) }
        t.regime = record.regime
        if let masked = record.maskedWeights, record.parameters > 0 { t.sparsity = Double(masked) / Double(record.parameters) }
        r.training = t
        var w = WireResult()
        w.trialID = assignment.trialID
        w.attempt = assignment.attempt
        w.result = r
        return w
    }
}

extension Data {
    /// Appends to a file, creating it.
    func append(to url: URL) throws {
        if let handle = try? FileHandle(forWritingTo: url) {
            defer { try? handle.close() }
            try handle.seekToEnd()
            try handle.write(contentsOf: self)
        } else {
            try write(to: url)
        }
    }
}
