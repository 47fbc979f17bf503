import CZMQ
import Foundation

/// Makes a socket's connection-level failures visible. libzmq refuses a client with the wrong
/// key, drops a peer that sent a frame over `ZMQ_MAXMSGSIZE`, and so on without a word to the
/// application; its monitor (`zmq_socket_monitor`) is the only place those facts appear.
///
/// Create the monitor **before** the socket binds or connects, then poll `socket` beside your
/// own sockets and `drain()` when it is readable, on the thread that owns them:
///
/// ```swift
/// let monitor = try ZmqSocketMonitor(router)   // before router.bind(…)
/// let ready = try ZmqSocket.poll([router, monitor.socket], timeoutMs: 250)
/// if ready[1] { for event in monitor.drain() where event.isFailure { log(event.operatorMessage) } }
/// ```
///
/// **Drain it.** libzmq sends events with a *blocking* send from its I/O thread; a monitor that
/// nobody reads would, once its queue filled, stall every connection of the context. This one's
/// queue is unbounded (receive high-water mark 0), so an unread monitor costs memory — about a
/// hundred bytes an event — rather than a hang; read it in the loop anyway. For the same reason
/// `close()` (and closing `socket`) first tells libzmq to stop monitoring, then closes the PAIR.
///
/// Peers: for a bound socket libzmq names only its own endpoint, so on ACCEPTED the monitor
/// asks the kernel for the new descriptor's peer (`getpeername`) and reports it on that
/// descriptor's later events. A connection that is already gone when `drain()` runs can't be
/// asked — reading promptly matters here too. Handshake events name no descriptor; see
/// `ZmqConnectionTracker` for when one is still tied to its connection.
///
/// One monitor per socket: libzmq keeps only the newest, and the one it replaced reports
/// `monitorStopped`.
///
/// Thread-safety as for `ZmqSocket`: one owner thread; `drain` takes an internal lock, hence
/// `@unchecked Sendable`.
public final class ZmqSocketMonitor: @unchecked Sendable {
    /// Which events to report (libzmq's `ZMQ_EVENT_*` bits).
    public struct Events: OptionSet, Sendable {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let connected = Events(rawValue: ZMQ_EVENT_CONNECTED)
        public static let connectDelayed = Events(rawValue: ZMQ_EVENT_CONNECT_DELAYED)
        public static let connectRetried = Events(rawValue: ZMQ_EVENT_CONNECT_RETRIED)
        public static let listening = Events(rawValue: ZMQ_EVENT_LISTENING)
        public static let bindFailed = Events(rawValue: ZMQ_EVENT_BIND_FAILED)
        public static let accepted = Events(rawValue: ZMQ_EVENT_ACCEPTED)
        public static let acceptFailed = Events(rawValue: ZMQ_EVENT_ACCEPT_FAILED)
        public static let closed = Events(rawValue: ZMQ_EVENT_CLOSED)
        public static let closeFailed = Events(rawValue: ZMQ_EVENT_CLOSE_FAILED)
        public static let disconnected = Events(rawValue: ZMQ_EVENT_DISCONNECTED)
        public static let monitorStopped = Events(rawValue: ZMQ_EVENT_MONITOR_STOPPED)
        public static let handshakeFailedNoDetail = Events(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
        public static let handshakeSucceeded = Events(rawValue: ZMQ_EVENT_HANDSHAKE_SUCCEEDED)
        public static let handshakeFailedProtocol = Events(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        public static let handshakeFailedAuth = Events(rawValue: ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

        /// Every v1 event (`ZMQ_EVENT_ALL`).
        public static let all = Events(rawValue: ZMQ_EVENT_ALL)
        public static let handshakeFailed: Events = [.handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuth]
        /// What the monitor subscribes to whatever is reported: without them it couldn't tie
        /// later events to connections.
        static let tracked: Events = [.accepted, .connected, .disconnected, .closed, .monitorStopped, .handshakeSucceeded, .handshakeFailed]
    }

    /// The PAIR socket events arrive on. Poll it with the owner's sockets; don't receive from
    /// it directly (`drain` does), and prefer `close()` on the monitor to closing it.
    public let socket: ZmqSocket
    /// The `inproc://` endpoint libzmq publishes the events on (unique per monitor).
    public let endpoint: String

    private let monitored: ZmqSocket
    private let reported: Events
    private let lock = NSLock()
    private var tracker: ZmqConnectionTracker  // guarded by `lock`

    /// Starts monitoring `monitored` (in its own context) and connects the PAIR that receives
    /// the events.
    ///
    /// - Parameter events: which events `drain` returns; failures worth logging are all in the
    ///   default. (The monitor subscribes to the ones it tracks connections by regardless.)
    /// - Throws: `ZmqError` if libzmq refuses (the socket or context is closed).
    public init(_ monitored: ZmqSocket, events: Events = .all) throws {
        let context = monitored.context
        let endpoint = "inproc://frontier.monitor.\(UUID().uuidString)"
        // Handshake events can be tied to connections only if every connection's ACCEPTED is
        // seen, and seen before its outcome (ZmqConnectionTracker).
        let attributes = context.ioThreads == 1 && monitored.lastEndpoint == nil
        let pair = try context.socket(.pair)
        do {
            try pair.setReceiveHighWaterMark(0)  // unbounded: libzmq must never block on us
            try monitored.startMonitor(endpoint: endpoint, events: events.union(.tracked).rawValue)
            do {
                try pair.connect(endpoint)
            } catch {
                monitored.stopMonitor(endpoint: endpoint)
                throw error
            }
        } catch {
            pair.close()
            throw error
        }
        // Closing the PAIR while libzmq still monitors would leave its next event blocked
        // forever in the I/O thread (libzmq issue #3575), so stop monitoring first.
        pair.setBeforeClose { [weak monitored] in monitored?.stopMonitor(endpoint: endpoint) }
        self.socket = pair
        self.endpoint = endpoint
        self.monitored = monitored
        self.reported = events
        self.tracker = ZmqConnectionTracker(attributesHandshakes: attributes)
    }

    deinit { close() }

    /// Every event waiting, oldest first, without blocking; empty when none is waiting or the
    /// monitor is closed.
    public func drain() -> [ZmqSocketEvent] {
        lock.withLock {
            var events: [ZmqSocketEvent] = []
            var batch = readWaiting(&events)
            while !batch.isEmpty {
                var addresses = lookUpNewConnections(in: batch)
                // A lookup is trusted only if its descriptor didn't end meanwhile: closed and
                // reused by a new connection, it would have named the wrong peer.
                let next = readWaiting(&events)
                let endedSince = Set(next.compactMap(\.descriptor))
                addresses = addresses.filter { !endedSince.contains($0.value.fd) }
                let limit = batch.contains { if case .disconnected = $0.kind { true } else { false } }
                    ? monitored.maxMessageSizeLimit : nil
                for (index, record) in batch.enumerated() {
                    let event = tracker.event(for: record, addresses: addresses[index]?.addresses, maxMessageSize: limit)
                    if reported.rawValue & Int32(record.eventId) != 0 { events.append(event) }
                }
                batch = next
            }
            return events
        }
    }

    /// Stops monitoring and closes the PAIR. Idempotent; the monitored socket stays open.
    public func close() {
        socket.close()  // runs stopMonitor first (setBeforeClose)
    }

    /// The monitor messages waiting now; an unreadable one, or a receive that fails other than
    /// by closing, is added to `events` as `.unreadable` rather than dropped.
    private func readWaiting(_ events: inout [ZmqSocketEvent]) -> [ZmqMonitorRecord] {
        var records: [ZmqMonitorRecord] = []
        while true {
            let frames: [Data]
            do {
                guard let received = try socket.receive(timeoutMs: 0) else { return records }
                frames = received
            } catch let error as ZmqError where error.isClosed || error.isTerminated {
                return records
            } catch {
                events.append(.unreadable("receive failed: \(error)"))
                return records
            }
            if let record = ZmqMonitorRecord(frames: frames) {
                records.append(record)
            } else {
                events.append(.unreadable("\(frames.count) frames of \(frames.map(\.count)) bytes, not a v1 event"))
            }
        }
    }

    /// The addresses of the connections accepted or made in `batch`, by index, read now.
    /// Skipped for a descriptor that a later record in the batch ends or reuses (it's gone,
    /// or someone else's); checked against the event's endpoint port otherwise.
    private func lookUpNewConnections(in batch: [ZmqMonitorRecord]) -> [Int: (fd: Int32, addresses: SocketAddresses)] {
        var found: [Int: (fd: Int32, addresses: SocketAddresses)] = [:]
        for (index, record) in batch.enumerated() {
            let inbound: Bool
            switch record.kind {
            case .accepted: inbound = true
            case .connected: inbound = false
            default: continue
            }
            guard let fd = record.descriptor,
                  !batch[(index + 1)...].contains(where: { $0.descriptor == fd }),
                  let addresses = SocketAddresses.of(fd: fd) else { continue }
            // ACCEPTED names the connection's local end, CONNECTED the peer we dialled.
            let expectedPort = SocketAddresses.port(of: record.endpoint)
            let port = SocketAddresses.port(of: inbound ? addresses.local : addresses.peer)
            guard expectedPort == nil || expectedPort == port else { continue }
            found[index] = (fd, addresses)
        }
        return found
    }
}

private extension ZmqMonitorRecord {
    /// The connection descriptor the event names, for the events whose value is one.
    var descriptor: Int32? {
        switch kind {
        case .accepted(let fd), .connected(let fd), .disconnected(let fd), .closed(let fd): fd
        default: nil
        }
    }
}
