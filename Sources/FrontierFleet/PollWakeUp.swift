import Foundation

/// A pipe that other threads write a byte to so that a loop blocked in `zmq_poll` (which waits
/// on its read end beside the sockets) returns at once: how the agent's loop learns that a trial
/// ended or a stop was raised without checking flags on a timer.
///
/// Both ends are non-blocking: a full pipe already means "wake up", so `signal` never blocks a
/// runner thread or the SIGTERM queue, and `drain` never blocks the loop.
final class PollWakeUp: Sendable {
    struct Failure: Error, CustomStringConvertible {
        let function: String
        let code: Int32
        var description: String { "\(function): \(String(cString: strerror(code)))" }
    }

    /// Poll this for readability.
    let fileDescriptor: Int32
    private let writeEnd: Int32

    init() throws {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw Failure(function: "pipe", code: errno) }
        for fd in ends {
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        }
        fileDescriptor = ends[0]
        writeEnd = ends[1]
    }

    /// Whoever may still signal holds a reference (the StopSignal a weak one), so the
    /// descriptors are closed only when no write can come any more.
    deinit {
        close(writeEnd)
        close(fileDescriptor)
    }

    /// From any thread: one-byte writes to a pipe are atomic.
    func signal() {
        var byte: UInt8 = 1
        while write(writeEnd, &byte, 1) < 0, errno == EINTR {}
    }

    /// Empties the pipe, so that the next poll waits again; from the polling thread.
    func drain() {
        var buffer = [UInt8](repeating: 0, count: 64)
        while true {
            let n = read(fileDescriptor, &buffer, buffer.count)
            if n > 0 || (n < 0 && errno == EINTR) { continue }
            return
        }
    }
}
