import ArgumentParser
import Foundation
import FrontierGrid
import FrontierStore
import FrontierSweep
import FrontierSupport

struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Print a sweep's progress from its store (works while `frontier serve` runs).",
        discussion: "Exit status: 0 when every trial has ended, 3 while trials are still pending or running."
    )

    @Option(help: "The store folder.")
    var store: String

    @Flag(help: "Print JSON instead of a table.")
    var json = false

    struct Report: Codable {
        var grid: String
        var counts: SweepStore.Counts
        var finished: Bool
        var agents: [SweepStore.StoredAgent]
        var failures: [Failure]
        /// The most recent refused messages (forgeries, late results, invalid results), newest first.
        var recentRefusals: [SweepStore.StoredRefusal]
        /// The training graph: stages trained / training / to train, and the measurements of
        /// trained models waiting for their stage, being measured, or measured.
        var pipeline: Pipeline?
    }

    struct Pipeline: Codable {
        var stagesDone = 0
        var stagesTraining = 0
        var stagesPending = 0
        var stagesFailed = 0
        var waitingOnTraining = 0
        var measuring = 0
        var measured = 0

        init?(_ trials: [SweepStore.StoredTrial]) {
            var stageState: [String: SweepTrialRow.State] = [:]
            for t in trials { if let key = t.point.stageKey { stageState[key] = t.trial.state } }
            guard !stageState.isEmpty else { return nil }
            for state in stageState.values {
                switch state {
                case .done: stagesDone += 1
                case .leased: stagesTraining += 1
                case .pending: stagesPending += 1
                case .failed: stagesFailed += 1
                }
            }
            for t in trials where t.point.stageKey == nil {
                guard let stage = t.point.inputs.first(where: { $0.role == "checkpoint" })?.stage else { continue }
                switch t.trial.state {
                case .pending: if stageState[stage] != .done { waitingOnTraining += 1 }
                case .leased: measuring += 1
                case .done: measured += 1
                case .failed: break
                }
            }
        }
    }

    struct Failure: Codable {
        var trialId: String
        var label: String
        var reasons: [String]
    }

    func run() throws {
        let report: Report
        do {
            let s = try SweepStore(folder: URL(fileURLWithPath: store), readOnly: true)
            let counts = try s.counts()
            let trials = try s.storedTrials()
            let failures = trials.filter { $0.trial.state == .failed }.map {
                Failure(trialId: $0.trial.trialId, label: $0.point.label, reasons: $0.trial.reasons)
            }
            report = Report(grid: try s.gridInfo()?.name ?? "?", counts: counts,
                            finished: counts.total > 0 && counts.pending + counts.leased == 0,
                            agents: try s.agents().map { var a = $0; a.fingerprintJSON = ""; return a }, failures: failures,
                            recentRefusals: try s.refusals(limit: 20), pipeline: Pipeline(trials))
        } catch {
            note("Error: \(error)")
            throw ExitCode(1)
        }
        if json {
            print(String(decoding: try JSONCoding.encoder.encode(report), as: UTF8.self))
        } else {
            let c = report.counts
            print("grid \(report.grid): \(c.done + c.failed)/\(c.total) ended — \(c.done) done, \(c.failed) failed, "
                + "\(c.leased) running, \(c.pending) pending\(report.finished ? " (finished)" : "")")
            for (cls, n) in c.deviceClasses.sorted(by: { $0.key < $1.key }) where !SweepPlacement.isTrainingClass(cls) {
                print("  device class \(cls): \(n) trials")
            }
            if let p = report.pipeline {
                print("  training: \(p.stagesDone) stage(s) trained, \(p.stagesTraining) training, \(p.stagesPending) to train"
                    + (p.stagesFailed > 0 ? ", \(p.stagesFailed) failed" : "")
                    + "; trained models: \(p.waitingOnTraining) measurement(s) waiting for training, \(p.measuring) measuring, \(p.measured) measured")
            }
            let now = Date().timeIntervalSince1970
            for a in report.agents {
                print("  agent \(a.agentId) [\(a.deviceClass)]: \(a.done) results, last seen \(Int(now - a.lastSeen)) s ago")
            }
            for w in c.waiting {
                print("  waiting: \(w.trials) trial(s) of device class \(w.deviceClass): \(w.reason)")
            }
            if !c.refused.isEmpty {
                let total = c.refused.values.reduce(0, +)
                print("  refused: \(total) message(s) — " + c.refused.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }
                    .joined(separator: ", "))
                for r in report.recentRefusals.prefix(5) {
                    print("    \(r.reason) from \(r.agentId ?? "?")\(r.keyFingerprint.map { " (\($0))" } ?? "")"
                        + "\(r.trialId.map { " for \($0)" } ?? ""): \(r.detail)")
                }
            }
            for f in report.failures.prefix(20) {
                print("  failed \(f.trialId) (\(f.label)): \(f.reasons.last ?? "")")
            }
            if report.failures.count > 20 { print("  … and \(report.failures.count - 20) more failures (--json lists all)") }
        }
        if !report.finished { throw ExitCode(3) }
    }
}
