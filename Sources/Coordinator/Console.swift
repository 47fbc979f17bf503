import Foundation
import FrontierSupport

/// A line for the operator on stderr; stdout is kept for what scripts read (`status --json`).
func note(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// A fleet log line (`frontier serve`, `frontier local`): `note` with an RFC 3339 timestamp
/// with milliseconds in front, so that coordinator and agent logs line up.
func logNote(_ message: String) {
    note(LogTime.stamped(message))
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
