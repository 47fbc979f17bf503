import Foundation
import FrontierSupport

/// Progress on stderr: an in-place bar on a terminal, a line per 10% otherwise (logs, CI), so
/// stdout stays clean for the JSON result.
final class ProgressBar {
    private let label: String
    private let total: Int
    private let interactive: Bool
    private let start = MonotonicClock.now()
    private var lastDraw = 0.0
    private var lastDecile = -1

    init(label: String, total: Int) {
        self.label = label
        self.total = max(1, total)
        interactive = isatty(STDERR_FILENO) == 1
    }

    func update(_ done: Int) {
        let now = MonotonicClock.now()
        let fraction = Double(done) / Double(total)
        let elapsed = now - start
        let eta = done > 0 ? elapsed / Double(done) * Double(total - done) : 0
        if interactive {
            guard now - lastDraw > 0.1 || done == total else { return }
            lastDraw = now
            let width = 30
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            FileHandle.standardError.write(Data(String(format: "\r%@ [%@] %d/%d  %.0fs elapsed, ETA %.0fs ", label, bar, done, total, elapsed, eta).utf8))
            if done == total { FileHandle.standardError.write(Data("\n".utf8)) }
        } else {
            let decile = Int(fraction * 10)
            guard decile > lastDecile else { return }
            lastDecile = decile
            FileHandle.standardError.write(Data(String(format: "%@: %d/%d (%.0f%%), %.1fs elapsed\n", label, done, total, fraction * 100, elapsed).utf8))
        }
    }
}

func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
