import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import FrontierTransport


/// Helpers shared by the transport tests (`ZmqTransportTests`, `CurveAuthTests`).
enum ZmqTestSupport {
    /// Binds `socket` to an ephemeral loopback port and returns the resolved endpoint.
    static func bindLoopback(_ socket: ZmqSocket) throws -> String {
        try socket.bind("tcp://127.0.0.1:*")
        return try #require(socket.lastEndpoint)
    }

    static func port(of endpoint: String) throws -> UInt16 {
        try #require(endpoint.split(separator: ":").last.flatMap { UInt16($0) })
    }

    static func data(_ text: String) -> Data { Data(text.utf8) }

    /// Receives until `predicate` matches or `timeoutMs` passes; returns every message seen.
    static func drain(_ socket: ZmqSocket, forMs timeoutMs: Int) throws -> [[Data]] {
        var out: [[Data]] = []
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while Date() < deadline {
            if let m = try socket.receive(timeoutMs: 20) { out.append(m) }
        }
        return out
    }

    /// A plain POSIX TCP connection to 127.0.0.1:`port` (not ZeroMQ).
    final class RawConnection {
        let fd: Int32
        init(port: UInt16) throws {
            fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(fd >= 0)
            var addr = sockaddr_in()
            addr.sin_family = sa_family_t(AF_INET)
            addr.sin_port = port.bigEndian
            addr.sin_addr.s_addr = inet_addr("127.0.0.1")
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            #expect(rc == 0, "connect to port \(port): \(String(cString: strerror(errno)))")
        }
        /// Writes what the peer accepts; a reset connection is fine (that's the point).
        func write(_ bytes: [UInt8]) {
            _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        }
        func close() { _ = Glibc.close(fd) }
    }

    /// The 64-byte ZMTP 3.0 greeting for `mechanism`.
    static func greeting(mechanism: String, asServer: Bool = false) -> [UInt8] {
        var g: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0]
        var mech = Array(mechanism.utf8)
        mech += [UInt8](repeating: 0, count: 20 - mech.count)
        g += mech
        g.append(asServer ? 1 : 0)
        g += [UInt8](repeating: 0, count: 31)
        return g
    }

    static func randomBytes(_ n: Int, seed: UInt64) -> [UInt8] {
        var state = seed
        return (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
    }
}

/// Collects log lines from any thread.
final class LogLines: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var lines: [String] = []
    var sink: @Sendable (String) -> Void { { [self] line in lock.withLock { lines.append(line) } } }
    var all: [String] { lock.withLock { lines } }
}

/// The libzmq wrapper on loopback TCP: multipart round trips, timeouts, limits, errors,
/// shutdown, and a server that survives garbage.
@Suite struct ZmqTransportTests {
    typealias S = ZmqTestSupport

    @Test func routerDealerMultipartRoundTripKeepsTheRoutingId() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        try router.setRouterMandatory(true)
        let endpoint = try S.bindLoopback(router)
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:") && !endpoint.hasSuffix(":*"))

        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(S.data("agent-1"))
        try dealer.setHeartbeat(intervalMs: 200, timeoutMs: 1000, ttlMs: 2000)
        try dealer.setReconnect(intervalMs: 50, maxMs: 500)
        try dealer.connect(endpoint)

        let payload = Data((0..<300).map { UInt8($0 % 256) })
        #expect(try dealer.send([S.data("hello"), Data(), payload]))
        let got = try #require(try router.receive(timeoutMs: 3000))
        #expect(got == [S.data("agent-1"), S.data("hello"), Data(), payload])

        #expect(try router.send([got[0], S.data("reply"), S.data("x")]))
        #expect(try dealer.receive(timeoutMs: 3000) == [S.data("reply"), S.data("x")])

        // Nothing more: nil after roughly the timeout, not an error and not early.
        let start = Date()
        #expect(try dealer.receive(timeoutMs: 150) == nil)
        #expect(Date().timeIntervalSince(start) >= 0.12)
        #expect(try router.receive(timeoutMs: 0) == nil)
    }

    @Test func routerMandatoryReportsAnUnknownPeer() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        try router.setRouterMandatory(true)
        _ = try S.bindLoopback(router)
        let error = try #require(throws: ZmqError.self) { try router.send([S.data("nobody"), S.data("x")]) }
        #expect(error.isHostUnreachable)
    }

    @Test func dontWaitReturnsFalseWhenNothingCanTakeTheMessage() throws {
        let ctx = try ZmqContext()
        let dealer = try ctx.socket(.dealer)  // no peer at all
        #expect(try dealer.send([S.data("x")], dontWait: true) == false)
        #expect(throws: ZmqError.self) { try dealer.send([Data]()) }
    }

    @Test func pollReportsWhichSocketIsReadable() throws {
        let ctx = try ZmqContext()
        let a = try ctx.socket(.pair), b = try ctx.socket(.pair)
        let c = try ctx.socket(.pair), d = try ctx.socket(.pair)
        try a.bind("inproc://poll-ab")
        try b.connect("inproc://poll-ab")
        try c.bind("inproc://poll-cd")
        try d.connect("inproc://poll-cd")
        #expect(try ZmqSocket.poll([a, c], timeoutMs: 50) == [false, false])
        try b.send(S.data("to a"))
        #expect(try ZmqSocket.poll([a, c, a], timeoutMs: 2000) == [true, false, true])
        #expect(try a.receive(timeoutMs: 0) == [S.data("to a")])
    }

    @Test func errorsSayWhatWasBeingDone() throws {
        let ctx = try ZmqContext()
        let first = try ctx.socket(.router)
        let endpoint = try S.bindLoopback(first)
        let second = try ctx.socket(.router)
        let error = try #require(throws: ZmqError.self) { try second.bind(endpoint) }
        #expect(error.code == EADDRINUSE)
        #expect(error.description == "bind \(endpoint): Address already in use")

        let bad = try #require(throws: ZmqError.self) { try second.connect("nonsense://x") }
        #expect(bad.description.hasPrefix("connect nonsense://x: "))

        second.close()
        second.close()  // idempotent
        #expect(second.isClosed)
        let closed = try #require(throws: ZmqError.self) { try second.send(S.data("x")) }
        #expect(closed.isClosed)
        #expect(second.lastEndpoint == nil)
    }

    @Test func shutdownInterruptsABlockedReceiveOnAnotherThread() throws {
        let ctx = try ZmqContext()
        let socket = try ctx.socket(.dealer)
        try socket.connect("tcp://127.0.0.1:9")  // nobody there; nothing will arrive
        let outcome = OutcomeBox()
        let done = DispatchSemaphore(value: 0)
        Thread {
            do {
                _ = try socket.receive(timeoutMs: 20_000)
                outcome.set("returned")
            } catch let error as ZmqError {
                outcome.set(error.isTerminated ? "ETERM" : "\(error)")
            } catch {
                outcome.set("\(error)")
            }
            done.signal()
        }.start()
        Thread.sleep(forTimeInterval: 0.1)
        let start = Date()
        ctx.shutdown()
        #expect(done.wait(timeout: .now() + 5) == .success)
        #expect(Date().timeIntervalSince(start) < 2)
        #expect(outcome.value == "ETERM")
        #expect(socket.isClosed)
        #expect(throws: ZmqError.self) { try ctx.socket(.dealer) }
        ctx.shutdown()  // idempotent
    }

    @Test func contextAndSocketsReleaseInAnyOrder() throws {
        // A socket keeps its context alive; releasing either first must neither hang nor crash.
        var ctx: ZmqContext? = try ZmqContext()
        var socket: ZmqSocket? = try ctx!.socket(.dealer)
        try socket!.connect("tcp://127.0.0.1:9")
        try socket!.send(S.data("queued, dropped at close"))
        ctx = nil
        #expect(socket!.context.isShutDown == false)
        socket = nil
        let other = try ZmqContext()
        _ = try other.socket(.router)
        #expect(Bool(true))
    }

    @Test func oversizeFramesDisconnectThePeerAndTheServerCarriesOn() throws {
        let ctx = try ZmqContext()
        let router = try ctx.socket(.router)
        try router.setMaxMessageSize(bytes: 1024)
        let endpoint = try S.bindLoopback(router)

        let bad = try ctx.socket(.dealer)
        try bad.setRoutingId(S.data("bad"))
        try bad.connect(endpoint)
        try bad.send([S.data("big"), Data(count: 4096)])

        let good = try ctx.socket(.dealer)
        try good.setRoutingId(S.data("good"))
        try good.connect(endpoint)
        Thread.sleep(forTimeInterval: 0.1)  // let the oversize frame reach the router first
        try good.send(S.data("ping"))

        let seen = try S.drain(router, forMs: 500)
        #expect(seen.contains([S.data("good"), S.data("ping")]))
        #expect(!seen.contains { $0.first == S.data("bad") }, "oversize message delivered: \(seen.map { $0.map(\.count) })")
        try router.send([S.data("good"), S.data("pong")])
        #expect(try good.receive(timeoutMs: 3000) == [S.data("pong")])

        // The limit is per frame, not per message: three 600-byte frames pass.
        let chunks = [Data](repeating: Data(count: 600), count: 3)
        try good.send(chunks)
        #expect(try router.receive(timeoutMs: 3000) == [S.data("good")] + chunks)
    }

    /// Junk must never crash or wedge the server. What it may do differs: a plain socket
    /// still speaks the legacy ZMTP 1.0 framing (chosen when the first byte isn't 0xFF), so
    /// random bytes can arrive as "messages" from made-up peers — the coordinator must treat
    /// every frame as untrusted. With a ZAP domain set, libzmq refuses legacy peers outright and
    /// nothing but the real client gets through.
    @Test(arguments: [false, true])
    func garbageOnTheWireNeitherCrashesNorWedgesTheServer(zapDomain: Bool) throws {
        let ctx = try ZmqContext()
        let auth = ZapAuthenticator(context: ctx, authorizedKeys: nil, allowNull: true)
        if zapDomain { try auth.start() }
        defer { auth.stop() }
        let router = try ctx.socket(.router)
        try router.setMaxMessageSize(bytes: 64 * 1024)
        try router.setHandshakeInterval(ms: 2000)
        if zapDomain { try router.setZapDomain("frontier") }
        let endpoint = try S.bindLoopback(router)
        let port = try S.port(of: endpoint)

        // Random junk, several times.
        for seed in 1...5 as ClosedRange<UInt64> {
            let c = try S.RawConnection(port: port)
            c.write(S.randomBytes(4096, seed: seed))
            c.close()
        }
        // A valid greeting, then a frame header claiming 2^64-1 bytes, then junk.
        let huge = try S.RawConnection(port: port)
        huge.write(S.greeting(mechanism: "NULL") + [0x06] + [UInt8](repeating: 0xFF, count: 8) + S.randomBytes(512, seed: 9))
        // A greeting for a mechanism the server doesn't speak.
        let curve = try S.RawConnection(port: port)
        curve.write(S.greeting(mechanism: "CURVE") + S.randomBytes(200, seed: 10))
        // Connects, says half a greeting, and stays open while the real client works.
        let silent = try S.RawConnection(port: port)
        silent.write(Array(S.greeting(mechanism: "NULL").prefix(10)))
        defer { silent.close(); huge.close(); curve.close() }

        let dealer = try ctx.socket(.dealer)
        try dealer.setRoutingId(S.data("real"))
        try dealer.connect(endpoint)
        try dealer.send(S.data("still there?"))
        var junk: [[Data]] = []
        let deadline = Date().addingTimeInterval(3)
        var real: [Data]?
        while real == nil, Date() < deadline, let m = try router.receive(timeoutMs: 3000) {
            if m.first == S.data("real") { real = m } else { junk.append(m) }
        }
        #expect(real == [S.data("real"), S.data("still there?")])
        try router.send([S.data("real"), S.data("yes")])
        #expect(try dealer.receive(timeoutMs: 3000) == [S.data("yes")])
        if zapDomain {
            junk += try S.drain(router, forMs: 100)
            #expect(junk.isEmpty, "junk delivered despite the ZAP domain: \(junk.map { $0.map(\.count) })")
        }
    }
}

/// A value set on one thread and read on another.
final class OutcomeBox: @unchecked Sendable {
    // Guarded by `lock`.
    private let lock = NSLock()
    private var stored: String?
    func set(_ value: String) { lock.withLock { stored = value } }
    var value: String? { lock.withLock { stored } }
}
