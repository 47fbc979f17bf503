import Foundation

/// One libzmq 4.3 (v1) monitor message, decoded. It is two frames: 6 bytes — the event id
/// (uint16) then the value (uint32), both in the host's byte order and unaligned
/// (`socket_base_t::monitor_event` memcpys them) — and the endpoint as a string.
struct ZmqMonitorRecord: Equatable, Sendable {
    var eventId: UInt16
    var value: UInt32
    var endpoint: String

    init(eventId: UInt16, value: UInt32, endpoint: String) {
        self.eventId = eventId
        self.value = value
        self.endpoint = endpoint
    }

    /// nil unless `frames` has exactly that shape.
    init?(frames: [Data]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        let head = [UInt8](frames[0])
        eventId = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 0, as: UInt16.self) }
        value = head.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self) }
        endpoint = String(decoding: frames[1], as: UTF8.self)
    }

    var kind: ZmqSocketEvent.Kind { ZmqSocketEvent.Kind(id: eventId, value: value) }
}

/// Ties a socket's monitor events to its TCP connections: the I/O-free half of
/// `ZmqSocketMonitor`, fed the events in order with the addresses the shell read for each new
/// connection's descriptor.
///
/// Descriptor events (accepted, connected, disconnected) are tied exactly. Handshake events
/// carry no descriptor, so one is tied to a connection only when it can't belong to any other:
/// the connection is the only one whose handshake outcome hasn't been accounted for. That rests
/// on what libzmq 4.3's engine does (stream_engine_base.cpp, zmtp_engine.cpp):
///
/// - every connection emits exactly one outcome (succeeded, or failed no-detail / protocol /
///   auth) before its DISCONNECTED — `error()` emits NO_DETAIL itself for a connection still in
///   its handshake, and protocol failures are signalled where they occur;
/// - the outcome follows the connection's ACCEPTED/CONNECTED, which holds when the context has
///   one I/O thread (the listener emits ACCEPTED before the engine it launched can run) and the
///   monitor was started before the socket bound or connected (`attributesHandshakes`).
///
/// Where libzmq breaks the first rule the bookkeeping errs towards *not* attributing: a
/// legacy-ZMTP peer refused under ZAP disconnects with no outcome, and an authenticated peer
/// that later sends a corrupt CURVE MESSAGE produces a second, post-handshake one; such codes
/// are never attributed while any connection is past its handshake.
struct ZmqConnectionTracker {
    /// False: handshake events are reported without a connection (see the type's comment).
    let attributesHandshakes: Bool

    private var connections: [Int32: ZmqSocketEvent.Connection] = [:]
    /// Descriptors of connections whose outcome hasn't been tied to them, oldest first.
    private var undecided: [Int32] = []
    /// Outcomes seen while `undecided` held several connections, so tied to none; each
    /// belongs to a distinct member of `undecided`. Never an overcount: an overcount could
    /// retire a connection still in its handshake and pin its outcome on a newcomer.
    private var untiedOutcomes = 0

    init(attributesHandshakes: Bool) {
        self.attributesHandshakes = attributesHandshakes
    }

    /// The live connections by descriptor (for tests and diagnostics).
    var liveConnections: [Int32: ZmqSocketEvent.Connection] { connections }

    /// The event for `record`. `addresses` is what the shell read for an accepted or connected
    /// descriptor (nil when the connection was already gone); `maxMessageSize` is the socket's
    /// limit, shown with disconnects.
    mutating func event(for record: ZmqMonitorRecord, addresses: SocketAddresses?, maxMessageSize: Int?) -> ZmqSocketEvent {
        let kind = record.kind
        var connection: ZmqSocketEvent.Connection?
        switch kind {
        case .accepted(let fd), .connected(let fd):
            _ = forget(fd)  // a reused descriptor whose DISCONNECTED never came
            let direction: ZmqSocketEvent.Connection.Direction
            if case .accepted = kind { direction = .inbound } else { direction = .outbound }
            let new = ZmqSocketEvent.Connection(fd: fd, direction: direction, localAddress: addresses?.local,
                                                peerAddress: addresses?.peer, match: .descriptor,
                                                handshake: attributesHandshakes ? .inProgress : .unknown)
            connections[fd] = new
            if attributesHandshakes { undecided.append(fd) }
            connection = new
        case .disconnected(let fd), .closed(let fd):
            connection = forget(fd)
        case .monitorStopped:
            connections = [:]
            undecided = []
            untiedOutcomes = 0
        case _ where kind.isHandshakeOutcome:
            connection = attribute(kind)
        default:
            break
        }
        var limit: Int?
        if case .disconnected = kind { limit = maxMessageSize }
        return ZmqSocketEvent(kind: kind, eventId: record.eventId, value: record.value, endpoint: record.endpoint,
                              connection: connection, maxMessageSize: limit)
    }

    /// The connection a handshake outcome belongs to, when only one can be its owner.
    private mutating func attribute(_ outcome: ZmqSocketEvent.Kind) -> ZmqSocketEvent.Connection? {
        guard attributesHandshakes else { return nil }
        if mayComeAfterAHandshake(outcome), connections.values.contains(where: { $0.handshake == .succeeded || $0.handshake == .unknown }) {
            return nil  // possibly a second outcome from a connection already past its handshake
        }
        if undecided.count == 1 && untiedOutcomes == 0 {
            let fd = undecided.removeFirst()
            guard var owner = connections[fd] else { return nil }
            owner.handshake = outcome == .handshakeSucceeded ? .succeeded : .failed
            connections[fd] = owner
            owner.match = .onlyHandshakeInProgress
            return owner
        }
        untiedOutcomes += 1
        retireIfAllDecided()
        return nil
    }

    /// CURVE's MESSAGE decoder reports these after a handshake has succeeded, as a second
    /// HANDSHAKE_FAILED_PROTOCOL for the same connection (curve_mechanism_base.cpp).
    private func mayComeAfterAHandshake(_ outcome: ZmqSocketEvent.Kind) -> Bool {
        guard case .handshakeFailedProtocol(let error) = outcome else { return false }
        return [.zmtpUnexpectedCommand, .zmtpMalformedCommandMessage, .zmtpInvalidSequence, .zmtpCryptographic].contains(error)
    }

    /// Removes a connection that ended; returns it as it stood.
    private mutating func forget(_ fd: Int32) -> ZmqSocketEvent.Connection? {
        guard var gone = connections.removeValue(forKey: fd) else { return nil }
        if let index = undecided.firstIndex(of: fd) {
            undecided.remove(at: index)
            // It emitted its outcome before this DISCONNECTED, and the outcome wasn't tied to it,
            // so it is one of the untied ones (if there are none, libzmq skipped the outcome:
            // the connection really did end mid-handshake).
            if untiedOutcomes > 0 {
                untiedOutcomes -= 1
                gone.handshake = .unknown
            }
            retireIfAllDecided()
        }
        return gone
    }

    /// When every undecided connection has had its (untied) outcome, none of them can own a
    /// later one: stop counting them, and start afresh.
    private mutating func retireIfAllDecided() {
        guard untiedOutcomes > 0, untiedOutcomes >= undecided.count else { return }
        for fd in undecided { connections[fd]?.handshake = .unknown }
        undecided = []
        untiedOutcomes = 0
    }
}
