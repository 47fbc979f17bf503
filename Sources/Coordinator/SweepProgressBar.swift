import Foundation
import FrontierFleet

/// Sweep progress on stderr: redrawn in place on a terminal, a line per change otherwise
/// (logs, CI), with done/total, failures, an ETA from the trials finished so far, and what
/// each agent is doing.
final class SweepProgressBar {
    private let interactive = isatty(STDERR_FILENO) == 1
    private let started = Date()
    private var firstEnded: (at: Date, ended: Int)?
    private var lastLine = ""
    private var lastPrint = Date.distantPast

    func line(_ s: SweepCoordinator.Snapshot) -> String {
        let p = s.progress
        let ended = p.done + p.failed
        if firstEnded == nil { firstEnded = (Date(), ended) }
        let width = 24
        let fraction = p.total > 0 ? Double(ended) / Double(p.total) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
        var eta = "ETA --"
        if let first = firstEnded, ended > first.ended {
            let rate = Double(ended - first.ended) / Date().timeIntervalSince(first.at)
            eta = "ETA " + Self.duration(Double(p.total - ended) / max(rate, 1e-9))
        }
        let agents = s.agents.map { a in
            a.state == .running ? "\(a.id): \(a.trialId.map(Self.short) ?? "?")" : "\(a.id): \(a.state.rawValue)"
        }.joined(separator: ", ")
        // Training stages: how many are trained, training now, and the trials waiting on them.
        let stages = p.stages == 0 ? ""
            : " · stages \(p.stagesDone)/\(p.stages) (\(p.training) training, \(p.waitingOnTraining) trials waiting)"
        return "[\(bar)] \(ended)/\(p.total) · \(p.failed) failed · \(p.running) running · \(eta) · \(Self.duration(Date().timeIntervalSince(started)))\(stages) | \(agents)"
    }

    func draw(_ s: SweepCoordinator.Snapshot) {
        let text = line(s)
        if interactive {
            let columns = 160
            let clipped = text.count > columns ? String(text.prefix(columns - 1)) + "…" : text
            FileHandle.standardError.write(Data("\r\u{1B}[K\(clipped)".utf8))
        } else {
            // Without the changing clock, so only real changes print; at most every 2 s.
            let key = text.components(separatedBy: " · ").enumerated().filter { $0.offset != 4 }.map(\.element).joined()
            guard key != lastLine, Date().timeIntervalSince(lastPrint) > 2 || s.progress.finished else { return }
            lastLine = key
            lastPrint = Date()
            FileHandle.standardError.write(Data((text + "\n").utf8))
        }
    }

    func finish(_ s: SweepCoordinator.Snapshot) {
        draw(s)
        if interactive { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    static func short(_ trialId: String) -> String {
        trialId.count > 28 ? String(trialId.prefix(27)) + "…" : trialId
    }

    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "--" }
        let s = Int(seconds.rounded())
        if s >= 3600 { return "\(s / 3600)h\(String(format: "%02d", s % 3600 / 60))m" }
        if s >= 60 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s)s"
    }
}
