import Dispatch
import Foundation

/// A flag that SIGTERM / SIGINT (or a test) raise, checked by the coordinator's and the
/// agent's loops between messages. Stopping between messages, never inside one, is what makes
/// shutdown lose nothing: a batch is either committed and answered or not started.
///
/// `@unchecked Sendable`: every field is read and written only under `lock` (read from the
/// loop thread, written from signal sources and tests).
public final class StopSignal: @unchecked Sendable {
    private let lock = NSLock()
    private var raised = false
    private var why: String?
    private var sources: [any DispatchSourceSignal] = []
    private var wakers: [@Sendable () -> Void] = []

    public init() {}

    public var isRaised: Bool { lock.withLock { raised } }
    public var reason: String? { lock.withLock { why } }

    public func raise(_ reason: String) {
        let wake: [@Sendable () -> Void] = lock.withLock {
            guard !raised else { return [] }
            why = reason
            raised = true
            defer { wakers = [] }
            return wakers
        }
        for body in wake { body() }
    }

    /// Runs `body` once, on the raising thread, when the signal is raised (at once if it
    /// already is): a loop that blocks in a wait (`zmq_poll`, a semaphore) is woken by it
    /// instead of checking `isRaised` on a timer. Keep `body` short and non-blocking; it may
    /// run on the queue that handles SIGTERM.
    public func onRaise(_ body: @escaping @Sendable () -> Void) {
        let already: Bool = lock.withLock {
            if !raised { wakers.append(body) }
            return raised
        }
        if already { body() }
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
