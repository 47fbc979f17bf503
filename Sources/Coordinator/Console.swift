import Foundation

/// A line for the operator on stderr; stdout is kept for what scripts read (`status --json`).
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A value handed from one thread to another.
///
/// `@unchecked Sendable`: `stored` is read and written only under `lock`.
final class LockedValue<T>: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var stored: T
    init(_ value: T) { stored = value }
    var value: T { lock.withLock { stored } }
    func set(_ value: T) { lock.withLock { stored = value } }
}
