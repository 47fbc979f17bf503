import CZMQ
import Foundation

/// The sentences an operator reads for monitor events. The point of the monitor is that a
/// refused agent is never a mystery, so each failure names the usual cause and the fix in
/// Frontier's terms (coordinator.pub, authorized/), not libzmq's.
extension ZmqSocketEvent {
    /// What happened, in a sentence or two, with the likely cause and fix for failures.
    ///
    /// Worded for the coordinator's bound CURVE socket ("a client …"). A handshake failure on a
    /// connection the monitor knows to be outbound (an agent's DEALER) is worded from the
    /// client's side instead.
    public var operatorMessage: String {
        switch kind {
        case .handshakeFailedProtocol, .handshakeFailedAuth, .handshakeFailedNoDetail:
            return connection?.direction == .outbound ? clientSideFailure : serverSideFailure
        case .handshakeSucceeded:
            return "Handshake completed on \(endpoint)\(peerClause)."
        case .accepted(let fd):
            guard let peer = connection?.peerAddress else {
                return "Accepted a connection on \(endpoint) (fd \(fd); it closed before its peer's address could be read)."
            }
            return "Accepted a connection from \(peer) on \(endpoint)."
        case .disconnected(let fd):
            return disconnected(fd: fd)
        case .connected:
            let local = connection?.localAddress.map { " from \($0)" } ?? ""
            return "Connected to \(endpoint)\(local)."
        case .connectDelayed:
            return "Connecting to \(endpoint)…"
        case .connectRetried(let ms):
            return "Will retry connecting to \(endpoint) in \(ms) ms."
        case .listening:
            return "Listening on \(endpoint)."
        case .bindFailed(let code):
            return "Could not bind \(endpoint): \(Self.errnoText(code))."
        case .acceptFailed(let code):
            let hint = code == EMFILE || code == ENFILE ? " The process is out of file descriptors: raise `ulimit -n`." : ""
            return "Could not accept a connection on \(endpoint): \(Self.errnoText(code)).\(hint)"
        case .closed:
            return "Closed \(endpoint)."
        case .closeFailed(let code):
            return "Could not close \(endpoint): \(Self.errnoText(code))."
        case .monitorStopped:
            return "Connection monitoring stopped (the socket was closed, or its monitor was)."
        case .unknown(let id, let value):
            return "libzmq reported an event this build doesn't know (0x\(String(id, radix: 16)), value \(value)) on \(endpoint)."
        case .unreadable(let reason):
            return "The socket monitor could not read an event (\(reason)); connection events may be missing from the log."
        }
    }

    /// A handshake failure seen by the coordinator (the bound side).
    private var serverSideFailure: String {
        let at = "\(endpoint)\(peerClause)"
        switch kind {
        case .handshakeFailedProtocol(let error) where error == .zmtpMechanismMismatch:
            return "A client without CURVE (or with another mechanism) tried to connect to \(at): it must set the "
                + "coordinator's public key (coordinator.pub)."
        case .handshakeFailedProtocol(let error) where error.isCurveCryptography:
            return "A CURVE handshake failed on \(at): the client probably has the wrong coordinator.pub, the "
                + "coordinator's public key (\(error.name))."
        case .handshakeFailedProtocol(let error) where error.isZapReplyError:
            return "The ZAP authenticator gave libzmq an invalid reply for a client on \(at) (\(error.name)): a fault in "
                + "the authenticator, not the client."
        case .handshakeFailedProtocol(let error):
            return "A peer broke the ZeroMQ protocol on \(at) (\(error.name)): not a Frontier agent, an incompatible "
                + "ZeroMQ, or a corrupted connection."
        case .handshakeFailedAuth(400):
            return "The authenticator refused a client on \(at) (ZAP 400): the client's key is not in authorized/ (or it "
                + "connected without CURVE where that isn't allowed). The authenticator's log names the key; copy the "
                + "agent's .pub into authorized/ to let it in."
        case .handshakeFailedAuth(300):
            return "The authenticator told a client on \(at) to try again later (ZAP 300)."
        case .handshakeFailedAuth(500):
            return "The authenticator failed while checking a client on \(at) (ZAP 500): see its log."
        case .handshakeFailedAuth(let status):
            return "The authenticator refused a client on \(at) (ZAP \(status))."
        case .handshakeFailedNoDetail(let code):
            return "A connection to \(at) ended during its handshake\(errnoClause(code)): a port scanner, a client that "
                + "doesn't speak ZeroMQ, one that gave up, or no handshake within ZMQ_HANDSHAKE_IVL."
        default:
            return description
        }
    }

    /// A handshake failure seen by a connecting socket (an agent): the server's verdict as far
    /// as it reaches the client. A CURVE server that can't open the client's HELLO just hangs
    /// up, so a wrong coordinator.pub shows here only as a handshake that ended.
    private var clientSideFailure: String {
        switch kind {
        case .handshakeFailedProtocol(let error) where error == .zmtpMechanismMismatch:
            return "The server at \(endpoint) uses another security mechanism: one side has CURVE and the other "
                + "doesn't (\(error.name))."
        case .handshakeFailedProtocol(let error):
            return "The handshake with \(endpoint) broke the protocol (\(error.name)): the server is not a Frontier "
                + "coordinator, or the connection is corrupted."
        case .handshakeFailedAuth(400):
            return "The server at \(endpoint) refused this client's key (ZAP 400): its .pub is not in the coordinator's "
                + "authorized/."
        case .handshakeFailedAuth(let status):
            return "The server at \(endpoint) refused this client (ZAP \(status))."
        case .handshakeFailedNoDetail(let code):
            return "The server at \(endpoint) ended the handshake\(errnoClause(code)): with CURVE, this client "
                + "probably has the wrong coordinator.pub."
        default:
            return description
        }
    }

    private func disconnected(fd: Int32) -> String {
        let limit = maxMessageSize.map { "ZeroMQ dropped it for a frame over \($0) bytes" }
            ?? "ZeroMQ dropped it after a protocol error"
        let who: String
        let usual: String
        switch (connection, connection?.peerAddress) {
        case (let connection?, _) where connection.direction == .outbound:
            who = "Connection to \(endpoint)" + (connection.localAddress.map { " from \($0)" } ?? "")
            usual = "the server went away, network loss, or \(limit)"
        case (_?, let peer?):
            who = "Connection from \(peer)"
            usual = "agent exited, network loss, or \(limit)"
        case (_?, nil):
            who = "A connection on \(endpoint) (fd \(fd); its peer's address was gone before it could be read)"
            usual = "agent exited, network loss, or \(limit)"
        case (nil, _):
            who = "A connection on \(endpoint) (fd \(fd), opened before monitoring began)"
            usual = "agent exited, network loss, or \(limit)"
        }
        switch connection?.handshake {
        case .failed?: return "\(who) closed after its handshake failed."
        case .inProgress?: return "\(who) closed before finishing its handshake."
        default: return "\(who) closed (\(usual))."
        }
    }

    /// `" from 10.0.0.7:41234"`, hedged when it was inferred; for handshake events without a
    /// known peer, says that libzmq doesn't name it rather than guess one. Empty for outbound
    /// connections, whose endpoint is the peer.
    private var peerClause: String {
        if connection?.direction == .outbound { return "" }
        guard let connection, let peer = connection.peerAddress else {
            return kind.isHandshakeOutcome ? " (libzmq doesn't say which peer)" : ""
        }
        switch connection.match {
        case .descriptor: return " from \(peer)"
        case .onlyHandshakeInProgress: return " from \(peer) (the only connection then in its handshake)"
        }
    }

    private func errnoClause(_ code: Int32) -> String { code == 0 ? "" : " (\(Self.errnoText(code)))" }

    static func errnoText(_ code: Int32) -> String { String(cString: zmq_strerror(code)) }
}
