import CZMQ
import Foundation

/// A failed libzmq call: the errno, libzmq's text for it, and what was being done, so a log line
/// reads `bind tcp://0.0.0.0:5555: Address already in use` rather than `error 98`.
public struct ZmqError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The errno libzmq reported (`zmq_errno()`), e.g. `EADDRINUSE`, `ETERM`, `EHOSTUNREACH`.
    public let code: Int32
    /// What was being attempted: `"bind tcp://127.0.0.1:5555"`, `"send frame 2 of 3"`.
    public let operation: String
    /// `zmq_strerror(code)`, or a more specific explanation where Frontier refuses a call itself.
    public let message: String

    public init(code: Int32, operation: String, message: String? = nil) {
        self.code = code
        self.operation = operation
        self.message = message ?? String(cString: zmq_strerror(code))
    }

    /// The error of the libzmq call that just failed on this thread.
    static func last(_ operation: String) -> ZmqError {
        ZmqError(code: zmq_errno(), operation: operation)
    }

    public var description: String { "\(operation): \(message)" }

    /// The context was shut down: the loop that got this should close its socket and finish.
    public var isTerminated: Bool { code == ETERM }
    /// A ROUTER with `setRouterMandatory(true)` was asked to send to a peer it doesn't have.
    public var isHostUnreachable: Bool { code == EHOSTUNREACH }
    /// The socket was closed (by its owner or by `ZmqContext.shutdown()`).
    public var isClosed: Bool { code == ENOTSOCK }
}

/// Runs a libzmq call that returns `-1` on failure, retrying `EINTR`.
@discardableResult
func zmqCheck(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws -> Int32 {
    while true {
        let rc = call()
        if rc >= 0 { return rc }
        let code = zmq_errno()
        if code == EINTR { continue }
        throw ZmqError(code: code, operation: operation())
    }
}
