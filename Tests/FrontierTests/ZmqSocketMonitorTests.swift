import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import FrontierTransport


/// `ZmqSocketMonitor` on loopback: each way a connection can fail at a CURVE coordinator is
/// reported, with the peer where libzmq lets it be known, and an unread monitor can't stall
/// the socket. Then the connection bookkeeping on its own, without sockets.
///
/// `FRONTIER_MONITOR_TRACE=1` prints the events each test saw.
@Suite struct ZmqSocketMonitorTests {
    typealias S = ZmqTestSupport

    /// A CURVE ROUTER with its authenticator, monitored from before it binds.
    struct Server {
        let ctx: ZmqContext
        let auth: ZapAuthenticator
        let router: ZmqSocket
        let monitor: ZmqSocketMonitor
        let endpoint: String
        let keys: CurveKeyPair

        init(authorized: URL) throws {
            ctx = try ZmqContext()
            keys = try CurveKeyPair.generate()
            auth = ZapAuthenticator(context: ctx, authorizedKeys: AuthorizedKeys(directory: authorized))
            try auth.start()
            router = try ctx.socket(.router)
            try router.setCurveServer(keys)
            try router.setZapDomain("frontier")
            monitor = try ZmqSocketMonitor(router)
            endpoint = try S.bindLoopback(router)
        }
    }

    static func folder() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("frontier-monitor-\(UUID().uuidString)")
    }

    /// Polls `monitors` together and collects their events (one list each) until `done` holds
    /// or `timeoutMs` passes. Returns whether `done` held; `events` keeps everything seen.
    static func collect(_ monitors: [ZmqSocketMonitor], into events: inout [[ZmqSocketEvent]], timeoutMs: Int = 5000,
                        until done: ([[ZmqSocketEvent]]) -> Bool) throws -> Bool {
        if events.count < monitors.count { events += Array(repeating: [], count: monitors.count - events.count) }
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while !done(events) {
            let left = Int(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { return false }
            for (index, ready) in try ZmqSocket.poll(monitors.map(\.socket), timeoutMs: left).enumerated() where ready {
                events[index] += monitors[index].drain()
            }
        }
        return true
    }

    static func collect(_ monitor: ZmqSocketMonitor, into events: inout [ZmqSocketEvent], timeoutMs: Int = 5000,
                        until done: ([ZmqSocketEvent]) -> Bool) throws -> Bool {
        var lists = [events]
        defer { events = lists[0] }
        return try collect([monitor], into: &lists, timeoutMs: timeoutMs) { done($0[0]) }
    }

    static func trace(_ label: String, _ events: [ZmqSocketEvent]) {
        guard ProcessInfo.processInfo.environment["FRONTIER_MONITOR_TRACE"] != nil else { return }
        print("[\(label)]")
        for event in events { print("  \(event)\n    → \(event.operatorMessage)") }
    }

    /// The client's own addresses (`127.0.0.1:port`), from its monitor's CONNECTED events.
    static func localAddresses(_ events: [ZmqSocketEvent]) -> Set<String> {
        Set(events.compactMap { event in
            if case .connected = event.kind { event.connection?.localAddress } else { nil }
        })
    }

    static func isDisconnect(_ event: ZmqSocketEvent) -> Bool {
        if case .disconnected = event.kind { true } else { false }
    }

    /// Connects a DEALER configured by `configure` to `server`, and collects both sides' events
    /// until the server reports a handshake failure and the client has had a moment to see its
    /// side. Returns (server events, client events).
    static func failedHandshake(at server: Server, label: String,
                                configure: ((ZmqSocket) throws -> Void)? = nil) throws -> (ZmqSocketEvent, [ZmqSocketEvent]) {
        let dealer = try server.ctx.socket(.dealer)
        try configure?(dealer)
        let clientMonitor = try ZmqSocketMonitor(dealer)
        try dealer.connect(server.endpoint)
        var events: [[ZmqSocketEvent]] = []
        let seen = try collect([server.monitor, clientMonitor], into: &events) { $0[0].contains { $0.isFailure } }
        _ = try collect([server.monitor, clientMonitor], into: &events, timeoutMs: 300) { $0[1].contains { $0.isFailure } }
        trace("\(label): server", events[0])
        trace("\(label): client", events[1])
        #expect(seen, "no handshake failure within 5 s; saw \(events[0])")
        let failure = try #require(events[0].first { $0.isFailure })
        #expect(failure.endpoint == server.endpoint)
        // Named only if it is the client's connection; otherwise said to be unknown.
        if let peer = failure.connection?.peerAddress {
            #expect(failure.connection?.match == .onlyHandshakeInProgress)
            #expect(peer.hasPrefix("127.0.0.1:") && "tcp://\(peer)" != server.endpoint)
            let client = localAddresses(events[1])
            #expect(client.isEmpty || client.contains(peer), "peer \(peer), client \(client)")
            #expect(failure.operatorMessage.contains(peer))
        } else {
            #expect(failure.operatorMessage.contains("doesn't say which peer"))
        }
        return (failure, events[1])
    }

    /// Waits until the server has accepted `connection`: libzmq sends its greeting on accept,
    /// right after emitting ACCEPTED.
    static func awaitGreeting(_ connection: S.RawConnection, timeoutMs: Int32 = 5000) -> Bool {
        var item = pollfd(fd: connection.fd, events: Int16(POLLIN), revents: 0)
        guard poll(&item, 1, timeoutMs) == 1 else { return false }
        var buffer = [UInt8](repeating: 0, count: 64)
        return recv(connection.fd, &buffer, buffer.count, 0) > 0
    }

    // MARK: - Failures at a CURVE server

    @Test func aClientWithTheWrongServerKeyIsReportedAsACurveFailure() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let agent = try CurveKeyPair.generate()
        try AuthorizedKeys.install(publicKey: agent.publicKey, name: "agent", in: dir)
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }

        let notTheServer = try CurveKeyPair.generate()
        let (failure, client) = try Self.failedHandshake(at: server, label: "wrong server key") {
            try $0.setCurveClient(serverPublicKey: notTheServer.publicKey, keyPair: agent)
        }
        #expect(failure.kind == .handshakeFailedProtocol(.zmtpCryptographic))
        #expect(failure.operatorMessage.contains("wrong coordinator.pub"), "\(failure.operatorMessage)")
        #expect(failure.operatorMessage.contains(server.endpoint))
        // The server just hangs up: the client learns nothing more specific.
        let clientSide = try #require(client.first { if case .handshakeFailedNoDetail = $0.kind { true } else { false } },
                                      "\(client)")
        #expect(clientSide.operatorMessage.contains("wrong coordinator.pub"), "\(clientSide.operatorMessage)")
        #expect(server.auth.acceptedCount == 0)
    }

    @Test func aClientWithoutCurveIsReportedAsAMechanismMismatch() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }

        let (failure, client) = try Self.failedHandshake(at: server, label: "no CURVE")  // NULL mechanism
        #expect(failure.kind == .handshakeFailedProtocol(.zmtpMechanismMismatch))
        #expect(failure.operatorMessage.contains("without CURVE"))
        #expect(failure.operatorMessage.contains("must set the coordinator's public key"))
        #expect(client.contains { $0.kind == .handshakeFailedProtocol(.zmtpMechanismMismatch) }, "\(client)")
        // The authenticator never hears of it: without the monitor this failure is silent.
        #expect(server.auth.acceptedCount == 0 && server.auth.rejectedCount == 0)
    }

    /// With the connection's ACCEPTED read before its handshake fails, the failure names the
    /// peer exactly (a raw TCP client here, so the test decides when the greeting goes out).
    @Test func aFailureNamesThePeerWhenItsConnectionWasSeen() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }
        let raw = try S.RawConnection(port: try S.port(of: server.endpoint))
        defer { raw.close() }
        let mine = try #require(SocketAddresses.of(fd: raw.fd)?.local)
        #expect(Self.awaitGreeting(raw))

        var events: [ZmqSocketEvent] = []
        #expect(try Self.collect(server.monitor, into: &events) { $0.contains { if case .accepted = $0.kind { true } else { false } } })
        raw.write(S.greeting(mechanism: "NULL"))
        #expect(try Self.collect(server.monitor, into: &events) { $0.contains(where: Self.isDisconnect) })
        Self.trace("raw NULL greeting: server", events)
        let failure = try #require(events.first { $0.isFailure })
        #expect(failure.kind == .handshakeFailedProtocol(.zmtpMechanismMismatch))
        #expect(failure.connection?.peerAddress == mine)
        #expect(failure.operatorMessage.contains("from \(mine) (the only connection then in its handshake)"))
        let gone = try #require(events.first(where: Self.isDisconnect))
        #expect(gone.operatorMessage == "Connection from \(mine) closed after its handshake failed.")
    }

    @Test func aClientWhoseKeyIsNotAuthorizedIsReportedAsAnAuthFailure() throws {
        let dir = Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let server = try Server(authorized: dir)
        defer { server.auth.stop() }

        let stranger = try CurveKeyPair.generate()  // the right server key, but not in authorized/
        let (failure, client) = try Self.failedHandshake(at: server, label: "unauthorised key") {
            try $0.setCurveClient(serverPublicKey: server.keys.publicKey, keyPair: stranger)
        }
        #expect(failure.kind == .handshakeFailedAuth(zapStatus: 400))
        #expect(failure.operatorMessage.contains("not in authorized/"), "\(failure.operatorMessage)")
        // CURVE sends the client an ERROR, so the agent's side knows too.
        let clientSide = try #require(client.first { $0.kind == .handshakeFailedAuth(zapStatus: 400) }, "\(client)")
        #expect(clientSide.operatorMessage.contains("refused this client's key"), "\(clientSide.operatorMessage)")
        #expect(server.auth.lastRejectedKey == stranger.publicKey)
    }

    @Test func anOversizeFrameIsReportedAsADisconnectOfThatClient() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        try router.setMaxMessageSize(bytes: 1024)
        let monitor = try ZmqSocketMonitor(router)
        let endpoint = try S.bindLoopback(router)
        let dealer = try ctx.socket(.dealer)
        let clientMonitor = try ZmqSocketMonitor(dealer)
        try dealer.connect(endpoint)

        // Both sides' view of the connection, read while it lives; the client's own end comes
        // from its side.
        var events: [[ZmqSocketEvent]] = []
        #expect(try Self.collect([monitor, clientMonitor], into: &events) {
            $0[0].contains { $0.kind == .handshakeSucceeded } && !Self.localAddresses($0[1]).isEmpty
        })
        let clientAddress = try #require(Self.localAddresses(events[1]).first)
        #expect(clientAddress.hasPrefix("127.0.0.1:") && "tcp://\(clientAddress)" != endpoint)
        let accepted = try #require(events[0].first { if case .accepted = $0.kind { true } else { false } })
        #expect(accepted.connection?.peerAddress == clientAddress)
        #expect(accepted.connection?.direction == .inbound)
        #expect(accepted.endpoint == endpoint, "ACCEPTED names the server's own end")

        try dealer.send([Data(count: 4096)])
        let dropped = try Self.collect([monitor, clientMonitor], into: &events) { $0[0].contains(where: Self.isDisconnect) }
        Self.trace("oversize frame: server", events[0])
        Self.trace("oversize frame: client", events[1])
        #expect(dropped, "no DISCONNECTED within 5 s; saw \(events[0])")
        let disconnect = try #require(events[0].first(where: Self.isDisconnect))
        #expect(disconnect.connection?.peerAddress == clientAddress)
        #expect(disconnect.connection?.fd == accepted.connection?.fd)
        #expect(disconnect.endpoint == endpoint)
        #expect(disconnect.maxMessageSize == 1024)
        #expect(disconnect.operatorMessage
            == "Connection from \(clientAddress) closed (agent exited, network loss, or ZeroMQ dropped it for a frame over 1024 bytes).")
        #expect(try router.receive(timeoutMs: 0) == nil)
    }

    // MARK: - The monitor's own safety

    /// libzmq sends events with a blocking send from its I/O thread; with a bounded queue, a
    /// burst the owner hasn't read yet would stall every connection of the socket.
    @Test func anUnreadMonitorNeverStallsTheSocket() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        let monitor = try ZmqSocketMonitor(router)
        let endpoint = try S.bindLoopback(router)
        let port = try S.port(of: endpoint)
        // Each connect-and-close makes ACCEPTED, HANDSHAKE_FAILED_NO_DETAIL and DISCONNECTED:
        // 3 600 events, beyond libzmq's default 1 000 + 1 000 queue.
        // Each waits for libzmq's greeting, so the test goes at libzmq's pace (no full accept
        // backlog) and notices at once if libzmq's I/O thread stalls.
        let connections = 1200
        for index in 0..<connections {
            let raw = try S.RawConnection(port: port)
            defer { raw.close() }
            guard Self.awaitGreeting(raw) else {
                Issue.record("connection \(index + 1): no greeting within 5 s; the socket stalled")
                _ = monitor.drain()  // unblocks libzmq's I/O thread, so the test can end
                return
            }
        }
        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(S.data("after"))
        try dealer.connect(endpoint)
        try dealer.send(S.data("still served?"))
        #expect(try router.receive(timeoutMs: 5000) == [S.data("after"), S.data("still served?")])

        var events: [ZmqSocketEvent] = []
        let all = try Self.collect(monitor, into: &events) { events in
            events.filter { if case .disconnected = $0.kind { true } else { false } }.count >= connections
        }
        #expect(all, "\(events.count) events")
        let noDetail = events.filter { if case .handshakeFailedNoDetail = $0.kind { true } else { false } }
        #expect(noDetail.count == connections)
        #expect(!events.contains { if case .unreadable = $0.kind { true } else { false } })
    }

    /// Closing the PAIR directly must stop libzmq's monitoring first, or libzmq's next event
    /// would block its I/O thread forever.
    @Test func closingTheMonitorSocketStopsMonitoringFirst() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        let monitor = try ZmqSocketMonitor(router)
        let endpoint = try S.bindLoopback(router)
        monitor.socket.close()
        #expect(monitor.drain().isEmpty)
        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(S.data("d"))
        try dealer.connect(endpoint)
        try dealer.send(S.data("x"))
        #expect(try router.receive(timeoutMs: 5000) == [S.data("d"), S.data("x")])
        monitor.close()  // idempotent
    }

    /// libzmq keeps one monitor per socket; closing the replaced one must not stop the new one.
    @Test func aSecondMonitorReplacesTheFirst() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        let first = try ZmqSocketMonitor(router)
        let second = try ZmqSocketMonitor(router)
        var old: [ZmqSocketEvent] = []
        #expect(try Self.collect(first, into: &old) { $0.contains { $0.kind == .monitorStopped } })
        first.close()
        let endpoint = try S.bindLoopback(router)
        let dealer = try ctx.socket(.dealer)
        try dealer.connect(endpoint)
        var events: [ZmqSocketEvent] = []
        #expect(try Self.collect(second, into: &events) { $0.contains { $0.kind == .handshakeSucceeded } }, "\(events)")
    }

    @Test func aMonitorStartedAfterBindReportsHandshakesWithoutGuessingAPeer() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        let endpoint = try S.bindLoopback(router)
        let monitor = try ZmqSocketMonitor(router, events: [.handshakeSucceeded, .disconnected])
        let dealer = try ctx.socket(.dealer)
        try dealer.connect(endpoint)
        var events: [ZmqSocketEvent] = []
        #expect(try Self.collect(monitor, into: &events) { $0.contains { $0.kind == .handshakeSucceeded } })
        #expect(events.allSatisfy { if case .disconnected = $0.kind { true } else { $0.kind == .handshakeSucceeded } })
        #expect(events.first { $0.kind == .handshakeSucceeded }?.connection == nil)
    }

    @Test func socketAddressesReadBothEndsOverIPv6() throws {
        let listener = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        let client = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(listener); close(client) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        let size = socklen_t(MemoryLayout<sockaddr_in6>.size)
        func call(_ body: (UnsafePointer<sockaddr>) -> Int32) -> Int32 {
            withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1, body) }
        }
        #expect(call { bind(listener, $0, size) } == 0 && listen(listener, 1) == 0)
        #expect(SocketAddresses.of(fd: listener) == nil, "a listener has no peer")
        var bound = sockaddr_in6()
        var length = size
        _ = withUnsafeMutablePointer(to: &bound) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) } }
        address.sin6_port = bound.sin6_port
        #expect(call { connect(client, $0, size) } == 0)
        let ends = try #require(SocketAddresses.of(fd: client))
        #expect(ends.peer == "[::1]:\(UInt16(bigEndian: bound.sin6_port))")
        #expect(ends.local.hasPrefix("[::1]:") && ends.local != ends.peer)
        #expect(SocketAddresses.port(of: ends.peer) == UInt16(bigEndian: bound.sin6_port))
        #expect(SocketAddresses.of(fd: -1) == nil)
    }

    // MARK: - The bookkeeping, without sockets

    typealias E = ZmqSocketMonitor.Events

    static func record(_ event: E, _ value: Int32 = 0, _ endpoint: String = "tcp://127.0.0.1:5555") -> ZmqMonitorRecord {
        ZmqMonitorRecord(eventId: UInt16(event.rawValue), value: UInt32(bitPattern: value), endpoint: endpoint)
    }

    static func record(_ event: E, _ error: ZmqProtocolError) -> ZmqMonitorRecord {
        ZmqMonitorRecord(eventId: UInt16(event.rawValue), value: error.rawValue, endpoint: "tcp://127.0.0.1:5555")
    }

    static func peer(_ port: Int) -> SocketAddresses { SocketAddresses(local: "127.0.0.1:5555", peer: "127.0.0.1:\(port)") }

    @Test func v1MessagesDecodeInHostByteOrder() throws {
        var head = Data()
        withUnsafeBytes(of: UInt16(0x0200)) { head.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(17)) { head.append(contentsOf: $0) }
        let record = try #require(ZmqMonitorRecord(frames: [head, S.data("tcp://127.0.0.1:5555")]))
        #expect(record == ZmqMonitorRecord(eventId: 0x0200, value: 17, endpoint: "tcp://127.0.0.1:5555"))
        #expect(record.kind == .disconnected(fd: 17))
        #expect(ZmqMonitorRecord(frames: [head]) == nil)
        #expect(ZmqMonitorRecord(frames: [head.prefix(5), S.data("x")]) == nil)
        #expect(ZmqSocketEvent.Kind(id: 0x2000, value: 0x1100_0002)
            == .handshakeFailedProtocol(.zmtpMechanismMismatch))
        #expect(ZmqProtocolError(rawValue: 0x1100_0001).name == "ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC")
        #expect(ZmqProtocolError(rawValue: 0x1234_5678).name == "protocol error 0x12345678")
        #expect(ZmqSocketEvent.Kind(id: 0x8000, value: 3) == .unknown(id: 0x8000, value: 3))
    }

    @Test func aHandshakeEventIsTiedOnlyToTheOnlyConnectionInItsHandshake() {
        var tracker = ZmqConnectionTracker(attributesHandshakes: true)
        _ = tracker.event(for: Self.record(.accepted, 10), addresses: Self.peer(40010), maxMessageSize: nil)
        let failed = tracker.event(for: Self.record(.handshakeFailedProtocol, .zmtpMechanismMismatch),
                                   addresses: nil, maxMessageSize: nil)
        #expect(failed.connection?.peerAddress == "127.0.0.1:40010")
        #expect(failed.connection?.match == .onlyHandshakeInProgress)
        #expect(failed.operatorMessage.contains("from 127.0.0.1:40010 (the only connection then in its handshake)"))
        let gone = tracker.event(for: Self.record(.disconnected, 10), addresses: nil, maxMessageSize: 1024)
        #expect(gone.operatorMessage == "Connection from 127.0.0.1:40010 closed after its handshake failed.")
        #expect(tracker.liveConnections.isEmpty)

        // Two in their handshakes: outcomes are tied to neither...
        _ = tracker.event(for: Self.record(.accepted, 11), addresses: Self.peer(40011), maxMessageSize: nil)
        _ = tracker.event(for: Self.record(.accepted, 12), addresses: Self.peer(40012), maxMessageSize: nil)
        let first = tracker.event(for: Self.record(.handshakeFailedAuth, 400), addresses: nil, maxMessageSize: nil)
        #expect(first.connection == nil)
        #expect(first.operatorMessage.contains("doesn't say which peer") && first.operatorMessage.contains("not in authorized/"))
        // ...but when one leaves, its outcome must have been that one (libzmq emits each
        // connection's outcome before its DISCONNECTED), so the next belongs to the other.
        let left = tracker.event(for: Self.record(.disconnected, 11), addresses: nil, maxMessageSize: nil)
        #expect(left.connection?.handshake == .unknown)
        let second = tracker.event(for: Self.record(.handshakeSucceeded), addresses: nil, maxMessageSize: nil)
        #expect(second.connection?.peerAddress == "127.0.0.1:40012")
        #expect(tracker.liveConnections[12]?.handshake == .succeeded)

        // Two outcomes for two connections settle both, so a newcomer starts clean.
        _ = tracker.event(for: Self.record(.accepted, 13), addresses: Self.peer(40013), maxMessageSize: nil)
        _ = tracker.event(for: Self.record(.accepted, 14), addresses: Self.peer(40014), maxMessageSize: nil)
        #expect(tracker.event(for: Self.record(.handshakeSucceeded), addresses: nil, maxMessageSize: nil).connection == nil)
        #expect(tracker.event(for: Self.record(.handshakeSucceeded), addresses: nil, maxMessageSize: nil).connection == nil)
        #expect(tracker.liveConnections[13]?.handshake == .unknown && tracker.liveConnections[14]?.handshake == .unknown)
        _ = tracker.event(for: Self.record(.accepted, 15), addresses: Self.peer(40015), maxMessageSize: nil)
        let newcomer = tracker.event(for: Self.record(.handshakeFailedNoDetail, ECONNRESET), addresses: nil, maxMessageSize: nil)
        #expect(newcomer.connection?.peerAddress == "127.0.0.1:40015")

        // A code CURVE also reports after a handshake (a corrupt MESSAGE) is not pinned on the
        // newcomer while connections that finished theirs are alive.
        _ = tracker.event(for: Self.record(.accepted, 16), addresses: Self.peer(40016), maxMessageSize: nil)
        let stray = tracker.event(for: Self.record(.handshakeFailedProtocol, .zmtpCryptographic),
                                  addresses: nil, maxMessageSize: nil)
        #expect(stray.connection == nil)
        #expect(stray.operatorMessage.contains("wrong coordinator.pub"))
    }

    @Test func aReusedDescriptorIsANewConnection() {
        var tracker = ZmqConnectionTracker(attributesHandshakes: true)
        _ = tracker.event(for: Self.record(.accepted, 20), addresses: Self.peer(40020), maxMessageSize: nil)
        _ = tracker.event(for: Self.record(.accepted, 20), addresses: Self.peer(40021), maxMessageSize: nil)
        let handshake = tracker.event(for: Self.record(.handshakeSucceeded), addresses: nil, maxMessageSize: nil)
        #expect(handshake.connection?.peerAddress == "127.0.0.1:40021")
        let gone = tracker.event(for: Self.record(.disconnected, 20), addresses: nil, maxMessageSize: nil)
        #expect(gone.operatorMessage == "Connection from 127.0.0.1:40021 closed (agent exited, network loss, or ZeroMQ dropped it after a protocol error).")
        // A descriptor the monitor never saw accepted: said so, not guessed.
        let unknown = tracker.event(for: Self.record(.disconnected, 21), addresses: nil, maxMessageSize: nil)
        #expect(unknown.connection == nil)
        #expect(unknown.operatorMessage.contains("opened before monitoring began"))
    }

    @Test func withoutAttributionNoHandshakeEventIsTied() {
        var tracker = ZmqConnectionTracker(attributesHandshakes: false)
        _ = tracker.event(for: Self.record(.accepted, 30), addresses: Self.peer(40030), maxMessageSize: nil)
        #expect(tracker.event(for: Self.record(.handshakeSucceeded), addresses: nil, maxMessageSize: nil).connection == nil)
        let gone = tracker.event(for: Self.record(.disconnected, 30), addresses: nil, maxMessageSize: 2048)
        #expect(gone.connection?.peerAddress == "127.0.0.1:40030")
        #expect(gone.maxMessageSize == 2048)
        #expect(gone.operatorMessage.contains("a frame over 2048 bytes"))
    }
}
