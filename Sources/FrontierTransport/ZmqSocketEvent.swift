import CZMQ
import Foundation

/// One thing libzmq reported about a socket's connections, read by `ZmqSocketMonitor`, with the
/// TCP connection it concerns when that can be told.
///
/// libzmq 4.3's (v1) monitor events carry one number and one endpoint. For a *bound* socket the
/// endpoint is the socket's own end (`tcp://10.0.0.1:5555`), never the peer's, and the number
/// is a file descriptor for some events, an errno or status code for others. So the peer comes
/// from elsewhere: the monitor asks the kernel (`getpeername`) when a connection is accepted and
/// remembers it by descriptor (`connection`). Handshake events carry no descriptor at all.
public struct ZmqSocketEvent: Sendable, Equatable, CustomStringConvertible {
    /// What happened, typed from libzmq's event id and value.
    public enum Kind: Sendable, Equatable {
        /// A connecting socket's TCP connection is up (the handshake comes next).
        case connected(fd: Int32)
        /// A non-blocking connect is still in progress.
        case connectDelayed(errno: Int32)
        /// A connecting socket will try again after `intervalMs`.
        case connectRetried(intervalMs: Int)
        case listening(fd: Int32)
        case bindFailed(errno: Int32)
        /// A bound socket accepted a TCP connection; `fd` is the new connection's descriptor.
        case accepted(fd: Int32)
        /// `accept()` failed: often `EMFILE`, the process is out of file descriptors.
        case acceptFailed(errno: Int32)
        /// A listener (or a connecter that never connected) was closed.
        case closed(fd: Int32)
        case closeFailed(errno: Int32)
        /// A connection ended, for any reason: the peer left, the network failed, a protocol
        /// error, a frame over `ZMQ_MAXMSGSIZE`, a failed handshake.
        case disconnected(fd: Int32)
        /// The monitor was stopped or its socket closed; nothing follows.
        case monitorStopped
        /// The handshake ended without a protocol or auth verdict: the peer closed the
        /// connection, or sent nothing within `ZMQ_HANDSHAKE_IVL` (`errno` as libzmq saw it).
        case handshakeFailedNoDetail(errno: Int32)
        case handshakeSucceeded
        case handshakeFailedProtocol(ZmqProtocolError)
        /// The ZAP handler refused the peer: 300 (try later), 400 (denied), 500 (its own error).
        case handshakeFailedAuth(zapStatus: Int)
        /// An event id this build doesn't know (libzmq newer than 4.3).
        case unknown(id: UInt16, value: UInt32)
        /// A monitor message that isn't a v1 event, or the monitor socket failed: `reason` says
        /// which. Never expected; reported rather than dropped so the monitor can't go quiet.
        case unreadable(reason: String)

        /// From the v1 wire format's event id and value.
        public init(id: UInt16, value: UInt32) {
            let signed = Int32(bitPattern: value)
            switch Int32(id) {
            case ZMQ_EVENT_CONNECTED: self = .connected(fd: signed)
            case ZMQ_EVENT_CONNECT_DELAYED: self = .connectDelayed(errno: signed)
            case ZMQ_EVENT_CONNECT_RETRIED: self = .connectRetried(intervalMs: Int(value))
            case ZMQ_EVENT_LISTENING: self = .listening(fd: signed)
            case ZMQ_EVENT_BIND_FAILED: self = .bindFailed(errno: signed)
            case ZMQ_EVENT_ACCEPTED: self = .accepted(fd: signed)
            case ZMQ_EVENT_ACCEPT_FAILED: self = .acceptFailed(errno: signed)
            case ZMQ_EVENT_CLOSED: self = .closed(fd: signed)
            case ZMQ_EVENT_CLOSE_FAILED: self = .closeFailed(errno: signed)
            case ZMQ_EVENT_DISCONNECTED: self = .disconnected(fd: signed)
            case ZMQ_EVENT_MONITOR_STOPPED: self = .monitorStopped
            case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL: self = .handshakeFailedNoDetail(errno: signed)
            case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: self = .handshakeSucceeded
            case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL: self = .handshakeFailedProtocol(ZmqProtocolError(rawValue: value))
            case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: self = .handshakeFailedAuth(zapStatus: Int(value))
            default: self = .unknown(id: id, value: value)
            }
        }

        /// libzmq's name for the event (`ZMQ_EVENT_DISCONNECTED`), for logs that get searched.
        public var name: String {
            switch self {
            case .connected: "ZMQ_EVENT_CONNECTED"
            case .connectDelayed: "ZMQ_EVENT_CONNECT_DELAYED"
            case .connectRetried: "ZMQ_EVENT_CONNECT_RETRIED"
            case .listening: "ZMQ_EVENT_LISTENING"
            case .bindFailed: "ZMQ_EVENT_BIND_FAILED"
            case .accepted: "ZMQ_EVENT_ACCEPTED"
            case .acceptFailed: "ZMQ_EVENT_ACCEPT_FAILED"
            case .closed: "ZMQ_EVENT_CLOSED"
            case .closeFailed: "ZMQ_EVENT_CLOSE_FAILED"
            case .disconnected: "ZMQ_EVENT_DISCONNECTED"
            case .monitorStopped: "ZMQ_EVENT_MONITOR_STOPPED"
            case .handshakeFailedNoDetail: "ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL"
            case .handshakeSucceeded: "ZMQ_EVENT_HANDSHAKE_SUCCEEDED"
            case .handshakeFailedProtocol: "ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL"
            case .handshakeFailedAuth: "ZMQ_EVENT_HANDSHAKE_FAILED_AUTH"
            case .unknown(let id, _): "monitor event 0x\(String(id, radix: 16))"
            case .unreadable: "unreadable monitor message"
            }
        }

        /// Whether this is a handshake's outcome (one per connection that reaches one).
        var isHandshakeOutcome: Bool {
            switch self {
            case .handshakeSucceeded, .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth: true
            default: false
            }
        }
    }

    /// The TCP connection an event concerns, as far as the monitor could tell.
    public struct Connection: Sendable, Equatable, CustomStringConvertible {
        public enum Direction: Sendable, Equatable {
            /// Accepted by a bound socket: the peer connected to us.
            case inbound
            /// Made by a connecting socket.
            case outbound
        }

        /// How the event was tied to this connection.
        public enum Match: Sendable, Equatable {
            /// The event named the connection's file descriptor.
            case descriptor
            /// A handshake event (which names no descriptor) while this was the only connection
            /// of the socket whose handshake was still in progress.
            case onlyHandshakeInProgress
        }

        /// Where the connection's handshake stood when the event was read, as far as the
        /// monitor could attribute handshake events (`unknown` when it couldn't).
        public enum Handshake: Sendable, Equatable {
            case inProgress, succeeded, failed, unknown
        }

        public var fd: Int32
        public var direction: Direction
        /// Our end, `"127.0.0.1:5555"`; nil when the connection was gone before it could be read.
        public var localAddress: String?
        /// The other end, `"127.0.0.1:40312"` (`"[::1]:40312"` for IPv6); nil as above.
        public var peerAddress: String?
        public var match: Match
        public var handshake: Handshake

        public init(fd: Int32, direction: Direction, localAddress: String?, peerAddress: String?,
                    match: Match = .descriptor, handshake: Handshake = .unknown) {
            self.fd = fd
            self.direction = direction
            self.localAddress = localAddress
            self.peerAddress = peerAddress
            self.match = match
            self.handshake = handshake
        }

        public var description: String {
            let peer = peerAddress ?? "an unknown peer"
            return direction == .inbound ? "from \(peer) (fd \(fd))" : "to \(peer) (fd \(fd))"
        }
    }

    public let kind: Kind
    /// libzmq's event id (`ZMQ_EVENT_*`) and value, as received.
    public let eventId: UInt16
    public let value: UInt32
    /// The endpoint libzmq named: a bound socket's own end (its bind endpoint, or the local
    /// address of the accepted connection), a connecting socket's target. Empty for
    /// `monitorStopped`.
    public let endpoint: String
    /// The connection this event is about, when the monitor could tell (see `Connection.Match`).
    public let connection: Connection?
    /// The monitored socket's `ZMQ_MAXMSGSIZE` when a `disconnected` event was read, so its
    /// message can name the limit a dropped peer may have broken; nil otherwise or unlimited.
    public let maxMessageSize: Int?

    public init(eventId: UInt16, value: UInt32, endpoint: String, connection: Connection? = nil, maxMessageSize: Int? = nil) {
        self.init(kind: Kind(id: eventId, value: value), eventId: eventId, value: value, endpoint: endpoint,
                  connection: connection, maxMessageSize: maxMessageSize)
    }

    init(kind: Kind, eventId: UInt16, value: UInt32, endpoint: String, connection: Connection?, maxMessageSize: Int?) {
        self.kind = kind
        self.eventId = eventId
        self.value = value
        self.endpoint = endpoint
        self.connection = connection
        self.maxMessageSize = maxMessageSize
    }

    /// For a monitor message that couldn't be read as an event.
    static func unreadable(_ reason: String) -> ZmqSocketEvent {
        ZmqSocketEvent(kind: .unreadable(reason: reason), eventId: 0, value: 0, endpoint: "", connection: nil, maxMessageSize: nil)
    }

    /// A refused or broken connection, or a listener that failed: worth an operator's attention.
    /// Disconnects are not counted: an agent that finishes disconnects too.
    public var isFailure: Bool {
        switch kind {
        case .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth,
             .bindFailed, .acceptFailed, .closeFailed, .unreadable: true
        default: false
        }
    }

    /// The raw facts, for debug logs: `ZMQ_EVENT_DISCONNECTED (0x200, value 12) on
    /// tcp://127.0.0.1:5555, from 127.0.0.1:40312 (fd 12)`. `operatorMessage` explains them.
    public var description: String {
        var text = "\(kind.name) (0x\(String(eventId, radix: 16)), value \(value))"
        if case .handshakeFailedProtocol(let error) = kind { text += " \(error.name)" }
        if case .unreadable(let reason) = kind { text += ": \(reason)" }
        if !endpoint.isEmpty { text += " on \(endpoint)" }
        if let connection {
            text += ", \(connection)"
            if connection.match == .onlyHandshakeInProgress { text += " (the only handshake in progress)" }
        }
        return text
    }
}
