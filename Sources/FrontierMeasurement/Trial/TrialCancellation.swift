import Foundation

/// A request to stop a running trial, from another thread: the agent raises it when the
/// coordinator says the trial's lease is gone, and the worker's watcher kills the worker at
/// its next look (every 10 ms), so no measurement runs on for a result that could not count —
/// and none competes for the CPU with the next trial.
///
/// `@unchecked Sendable`: `reason` is read and written only under `lock`.
public final class TrialCancellation: @unchecked Sendable {
    private let lock = NSLock()
    private var why: String?

    public init() {}

    public func cancel(_ reason: String) { lock.withLock { if why == nil { why = reason } } }

    /// Why the trial was cancelled; nil while it may run.
    public var reason: String? { lock.withLock { why } }
}
