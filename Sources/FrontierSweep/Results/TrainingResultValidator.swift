import Foundation
import FrontierWire

/// The coordinator's rules for a training stage's result, the twin of `TrialResultValidator`:
/// a stage is done only with a checkpoint the coordinator already holds, verified (so no trial
/// that needs it can be handed out before it exists), and with a cost that reads as one.
public enum TrainingResultValidator {
    /// The first rule broken by the result of stage `stageKey` of `task`, or nil. `uploaded`:
    /// the artifacts stored complete and verified (SHA-256 → size).
    public static func validate(_ r: WireTrialResult, task: String, stageKey: String,
                                uploaded: [String: Int64]) -> TrialResultProblem? {
        var check = TrialResultValidator.Checker()
        switch r.status {
        case .ok: break
        case .failed:
            if r.failureReason.trimmingCharacters(in: .whitespaces).isEmpty {
                check.fail("failure_reason", "is required when status is FAILED")
            }
            return check.problem
        case .unspecified, .UNRECOGNIZED:
            check.fail("status", "must be OK or FAILED")
            return check.problem
        }
        guard r.hasTraining else {
            return TrialResultProblem(field: "training", problem: "is required for a training stage (its cost and checkpoint)")
        }
        let t = r.training
        if t.stageKey != stageKey {
            return TrialResultProblem(field: "training.stage_key", problem: "is \"\(t.stageKey)\" but this trial trains stage \(stageKey)")
        }
        guard t.hasArtifact else { return TrialResultProblem(field: "training.artifact", problem: "is required (the checkpoint made)") }
        guard let size = uploaded[t.artifact.sha256] else {
            return TrialResultProblem(field: "training.artifact.sha256",
                                      problem: "\(t.artifact.sha256.prefix(16))… is not stored here: upload it (ArtifactOffer) before the Result")
        }
        if Int64(t.artifact.size) != size {
            return TrialResultProblem(field: "training.artifact.size", problem: "is \(t.artifact.size) but the stored file has \(size) bytes")
        }
        guard r.task.lowercased() == task.lowercased() else {
            return TrialResultProblem(field: "task", problem: "is \"\(r.task)\" but this stage's task is \"\(task)\"")
        }
        guard r.hasDevice, !r.device.deviceClass.isEmpty else {
            return TrialResultProblem(field: "device.device_class", problem: "is required (the machine that trained)")
        }
        check.metrics(r, task: task)
        check.positive("training.training_s", t.trainingS)
        check.positive("training.wall_s", t.wallS)
        check.positive("training.examples_per_s", t.examplesPerS)
        if t.hasTrainingJ { check.atLeast("training.training_j", t.trainingJ, 0) }
        if t.hasTotalJ { check.atLeast("training.total_j", t.totalJ, 0) }
        if t.hasPeakRssMb { check.positive("training.peak_rss_mb", t.peakRssMb) }
        if t.hasFinalLoss { check.finite("training.final_loss", t.finalLoss) }
        if (t.hasTrainingJ || t.hasTotalJ), t.energySource.isEmpty {
            check.fail("training.energy_source", "is required with joules (\"rapl\", \"estimated\", …)")
        }
        return check.problem
    }
}
