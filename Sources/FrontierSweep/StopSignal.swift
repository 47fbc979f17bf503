import Dispatch
import Foundation

/// A flag that SIGTERM / SIGINT (or a test) raise, checked by the coordinator's and the
/// agent's loops between messages. Stopping between messages, never inside one, is what makes
/// shutdown lose nothing: a batch is either committed and answered or not started.
public final class StopSignal: @unchecked Sendable {
    // Guarded by `lock`; read from the loop thread, written from signal sources and tests.
    private let lock = NSLock()
    private var raised = false
    private var why: String?
    private var sources: [any DispatchSourceSignal] = []

    public init() {}

    public var isRaised: Bool { lock.withLock { raised } }
    public var reason: String? { lock.withLock { why } }

    public func raise(_ reason: String) {
        lock.withLock {
            if !raised { why = reason }
            raised = true
        }
    }

    /// Routes SIGTERM and SIGINT here instead of killing the process.
    public func installSignalHandlers(_ signals: [Int32] = [SIGTERM, SIGINT]) {
        for sig in signals {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                self?.raise(sig == SIGTERM ? "SIGTERM" : sig == SIGINT ? "SIGINT" : "signal \(sig)")
            }
            source.resume()
            lock.withLock { sources.append(source) }
        }
    }
}
