import Foundation
import FrontierSupport

/// Progress on stderr: an in-place bar on a terminal, a line per 10% otherwise (logs, CI), so
/// stdout stays clean for the JSON result.
final class ProgressBar {
    private let label: String
    private let total: Int
    /// Where the bar started (a resumed job starts part-way): the ETA counts only work done here.
    private let start: Int
    private let interactive: Bool
    private let startTime = MonotonicClock.now()
    private var lastDraw = 0.0
    private var lastDecile = -1

    init(label: String, total: Int, startingAt start: Int = 0) {
        self.label = label
        self.total = max(1, total)
        self.start = min(max(0, start), self.total)
        interactive = isatty(STDERR_FILENO) == 1
        lastDecile = Int(Double(self.start) / Double(self.total) * 10)
    }

    /// - Parameter detail: a few words shown after the counts (the current loss).
    func update(_ done: Int, detail: String? = nil) {
        let now = MonotonicClock.now()
        let fraction = Double(done) / Double(total)
        let elapsed = now - startTime
        let doneHere = done - start
        let eta = doneHere > 0 ? elapsed / Double(doneHere) * Double(total - done) : 0
        let suffix = detail.map { ", " + $0 } ?? ""
        if interactive {
            guard now - lastDraw > 0.1 || done == total else { return }
            lastDraw = now
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data(String(format: "\r%@ [%@] %d/%d  %.0fs elapsed, ETA %.0fs%@ ", label, bar, done, total, elapsed, eta, suffix).utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            let remaining = done < total && doneHere > 0 ? String(format: ", ETA %.0fs", eta) : ""
            FileHandle.standardError.write(Data(String(format: "%@: %d/%d (%.0f%%), %.1fs elapsed%@%@\n", label, done, total, fraction * 100, elapsed, remaining, suffix).utf8))
        }
    }

    /// Clears the bar's line on a terminal, so a message printed next starts at the left edge
    /// (the bar is drawn again by the next update).
    func clearLine() {
        if interactive { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }
}

func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A fleet log line (`frontier-agent connect`): `note` with an RFC 3339 timestamp with
/// milliseconds in front, so that agent and coordinator logs line up.
func logNote(_ message: String) {
    note(LogTime.stamped(message))
}
