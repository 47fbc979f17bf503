#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Testing
@testable import FrontierLiveView
@testable import FrontierReport
@testable import FrontierSupport


/// The live view: the request parser and the routes on their own, then the server over a real
/// loopback socket.
@Suite struct LiveViewTests {
    static func snapshot(done: Int = 40) -> LiveSnapshot {
        LiveSnapshot(gridName: "demo <grid>", total: 86, done: done, failed: 3, running: 2, pending: 86 - done - 5,
                     etaS: 754, startedAt: "2026-12-01T10:00:00Z",
                     agents: [.init(id: "agent-1", deviceClass: "amd-epyc-9654", state: "running", trialId: "p3-r1@amd",
                                    lastSeenAgoS: 1.2, completed: 20),
                              .init(id: "agent-2", deviceClass: "arm-neoverse-n1", state: "lost", lastSeenAgoS: 95)],
                     recentFailures: [.init(trialId: "p3-r2@amd", label: "magnitude 0.9 on amd", reason: "out of <memory>",
                                            at: "2026-12-01T10:12:00Z")],
                     records: Array(SyntheticSweep.records().prefix(done)))
    }

    // MARK: - Parser

    static func parse(_ text: String, limit: Int = 16 * 1024) -> LiveHTTPParser.Outcome {
        LiveHTTPParser.parse(Array(text.utf8), limit: limit)
    }

    @Test func parsesARequestHead() throws {
        guard case let .request(r) = Self.parse("GET /api/status?x=1 HTTP/1.1\r\nHost: localhost\r\nAccept:  */* \r\n\r\n") else {
            Issue.record("not parsed"); return
        }
        #expect(r.method == "GET")
        #expect(r.path == "/api/status")
        #expect(r.target == "/api/status?x=1")
        #expect(r.query == ["x": "1"])
        #expect(r.headers["host"] == "localhost")
        #expect(r.headers["accept"] == "*/*")
        guard case let .request(lf) = Self.parse("HEAD http://h:1/plots HTTP/1.0\n\n") else { Issue.record("bare LF"); return }
        #expect(lf.path == "/plots")
    }

    @Test func rejectsWhatIsNotARequest() {
        #expect(Self.parse("GET / HTTP/1.1\r\nHost: x\r\n") == .incomplete)
        #expect(Self.parse("") == .incomplete)
        let garbage: [(String, Int)] = [
            ("\u{1}\u{2}garbage\r\n\r\n", 400), ("GET /\r\n\r\n", 400), ("get / HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/2.0\r\n\r\n", 505), ("GET / FTP/1.0\r\n\r\n", 400), ("GET nope HTTP/1.1\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nno colon\r\n\r\n", 400), ("GET / HTTP/1.1\r\nbad name: x\r\n\r\n", 400),
        ]
        for (text, status) in garbage {
            guard case let .invalid(got, _) = Self.parse(text) else { Issue.record("accepted \(text.debugDescription)"); continue }
            #expect(got == status, "\(text.debugDescription)")
        }
        guard case .invalid(431, _) = Self.parse("GET / HTTP/1.1\r\nX: " + String(repeating: "a", count: 200), limit: 100) else {
            Issue.record("no 431"); return
        }
        guard case .invalid(400, _) = LiveHTTPParser.parse([0x47, 0x45, 0x54, 0x20, 0xFF, 0x0D, 0x0A, 0x0D, 0x0A]) else {
            Issue.record("invalid UTF-8 accepted"); return
        }
    }

    // MARK: - Routes

    static func route(_ method: String, _ path: String) -> LiveHTTPResponse {
        let request = LiveHTTPRequest(method: method, target: path, path: path, version: "HTTP/1.1", headers: [:])
        return LiveViewRoutes.respond(to: request) { snapshot() }
    }

    @Test func routesAnswerAsDocumented() throws {
        let page = Self.route("GET", "/")
        #expect(page.status == 200)
        let html = String(decoding: page.body, as: UTF8.self)
        #expect(html.contains("demo &lt;grid&gt;"))
        #expect(html.contains("out of &lt;memory&gt;"))
        #expect(html.contains("12 min 34 s"))
        #expect(html.contains("<noscript><meta http-equiv=\"refresh\""))
        #expect(html.contains("fetch(\"api/status?records=0\""))
        #expect(html.contains("class=\"pt\""))
        let status = Self.route("GET", "/api/status")
        #expect(status.headers.contains { $0.0 == "Content-Type" && $0.1 == "application/json" })
        #expect(try JSONCoding.decoder.decode(LiveSnapshot.self, from: status.body) == Self.snapshot())
        #expect(String(decoding: status.body, as: UTF8.self).contains("\"recent_failures\""))
        var light = LiveHTTPRequest(method: "GET", target: "/api/status?records=0", path: "/api/status", version: "HTTP/1.1", headers: [:])
        light.query = ["records": "0"]
        let lean = try JSONCoding.decoder.decode(LiveSnapshot.self, from: LiveViewRoutes.respond(to: light) { Self.snapshot() }.body)
        #expect(lean.records.isEmpty)
        #expect(lean.done == Self.snapshot().done)
        #expect(Self.route("GET", "/plots").status == 200)
        #expect(Self.route("GET", "/nope").status == 404)
        let post = Self.route("POST", "/")
        #expect(post.status == 405)
        #expect(post.headers.contains { $0.0 == "Allow" && $0.1 == "GET, HEAD" })
        #expect(String(decoding: LiveViewRoutes.respond(to: .init(method: "GET", target: "/plots", path: "/plots", version: "HTTP/1.1", headers: [:])) { LiveSnapshot(gridName: "empty") }.body, as: UTF8.self).contains("No accepted trials yet"))
    }

    @Test func durations() {
        #expect(LiveViewPage.duration(nil) == "unknown")
        #expect(LiveViewPage.duration(42.4) == "42 s")
        #expect(LiveViewPage.duration(754) == "12 min 34 s")
        #expect(LiveViewPage.duration(3 * 3600 + 720) == "3 h 12 min")
    }

    // MARK: - Over a socket

    /// Sends `bytes` to the server and returns everything it answers until it closes.
    static func exchange(_ port: Int, _ bytes: [UInt8], halfClose: Bool = true) throws -> String {
        let fd = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
        guard fd >= 0 else { throw LiveViewError("socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw LiveViewError("connect", code: errno) }
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
            guard n > 0 else { break }
            sent += n
        }
        if halfClose { shutdown(fd, Int32(SHUT_WR)) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n <= 0 { break }
            out += chunk[..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func get(_ port: Int, _ path: String, method: String = "GET") throws -> String {
        try exchange(port, Array("\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".utf8))
    }

    static func body(_ response: String) -> String {
        response.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
    }

    @Test func servesOverLoopback() throws {
        let server = LiveViewServer(port: 0) { LiveViewTests.snapshot() }
        try server.start()
        defer { server.stop() }
        let port = try #require(server.port)
        #expect(port > 0)
        #expect(server.url == "http://127.0.0.1:\(port)/")

        let page = try Self.get(port, "/")
        #expect(page.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(page.contains("Content-Type: text/html; charset=utf-8\r\n"))
        #expect(page.contains("Connection: close\r\n"))
        #expect(Self.body(page).contains("Frontier live: <span id=\"grid\">demo &lt;grid&gt;</span>"))

        let status = try Self.get(port, "/api/status")
        #expect(status.hasPrefix("HTTP/1.1 200 OK\r\n"))
        let length = status.components(separatedBy: "Content-Length: ")[1].prefix { $0.isNumber }
        #expect(Int(length) == Self.body(status).utf8.count)
        #expect(try JSONCoding.decoder.decode(LiveSnapshot.self, from: Data(Self.body(status).utf8)) == Self.snapshot())

        #expect(try Self.get(port, "/missing").hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        let post = try Self.get(port, "/", method: "POST")
        #expect(post.hasPrefix("HTTP/1.1 405 Method Not Allowed\r\n"))
        #expect(post.contains("Allow: GET, HEAD\r\n"))
        let head = try Self.get(port, "/api/status", method: "HEAD")
        #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        #expect(Self.body(head).isEmpty)
    }

    @Test func garbageIsAnsweredAndTheServerCarriesOn() throws {
        let server = LiveViewServer(port: 0, settings: .init(maxRequestBytes: 1024, readTimeoutS: 0.5)) { LiveViewTests.snapshot(done: 5) }
        try server.start()
        defer { server.stop() }
        let port = try #require(server.port)
        #expect(try Self.exchange(port, [0, 1, 2, 0xFF, 0x0D, 0x0A, 0x0D, 0x0A]).hasPrefix("HTTP/1.1 400 Bad Request\r\n"))
        #expect(try Self.exchange(port, Array("GARBAGE".utf8)).hasPrefix("HTTP/1.1 400 Bad Request\r\n")) // closed mid-head
        #expect(try Self.exchange(port, []).isEmpty) // connect and close: nothing to answer
        #expect(try Self.exchange(port, Array("GET / HTTP/1.1\r\nX: ".utf8) + Array(repeating: 0x61, count: 5000))
            .hasPrefix("HTTP/1.1 431 "))
        #expect(try Self.exchange(port, Array("GET / HTTP/1.1\r\n".utf8), halfClose: false).hasPrefix("HTTP/1.1 408 ")) // too slow
        #expect(try Self.exchange(port, Array("GET / HTTP/3\r\n\r\n".utf8)).hasPrefix("HTTP/1.1 505 "))
        #expect(try Self.get(port, "/api/status").hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func stopJoinsAndClosesTheSocket() throws {
        let server = LiveViewServer(port: 0) { LiveViewTests.snapshot(done: 1) }
        #expect(!server.isRunning)
        server.stop() // never started: nothing to do
        try server.start()
        #expect(throws: LiveViewError.self) { try server.start() }
        let port = try #require(server.port)
        #expect(server.isRunning)
        // A client holding a connection open without sending must not keep stop() waiting.
        let idle = socket(AF_INET, Int32(SOCK_STREAM_VALUE), 0)
        defer { close(idle) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(idle, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        usleep(100_000)
        let started = Date()
        server.stop()
        #expect(Date().timeIntervalSince(started) < 2)
        #expect(!server.isRunning)
        #expect(server.port == nil)
        #expect(throws: LiveViewError.self) { try Self.get(port, "/") }
        server.stop()
        // And it can serve again.
        try server.start()
        defer { server.stop() }
        #expect(try Self.get(server.port!, "/api/status").hasPrefix("HTTP/1.1 200 OK\r\n"))
    }

    @Test func aBusyPortIsAnError() throws {
        let first = LiveViewServer(port: 0) { LiveViewTests.snapshot(done: 1) }
        try first.start()
        defer { first.stop() }
        let second = LiveViewServer(port: first.port!) { LiveViewTests.snapshot(done: 1) }
        #expect(throws: LiveViewError.self) { try second.start() }
        #expect(throws: LiveViewError.self) { try LiveViewServer(host: "no such host.invalid", port: 0) { LiveViewTests.snapshot() }.start() }
    }

    /// Not a check: with FRONTIER_LIVE_SERVE_S set, serves a sweep that progresses by one trial a
    /// second on FRONTIER_LIVE_PORT (default 8765) for that long, for `scripts/check-report.sh --url`.
    /// Otherwise the runner reports it skipped.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["FRONTIER_LIVE_SERVE_S"].flatMap(Double.init) != nil,
                   "manual: serves the live view for a browser check only with FRONTIER_LIVE_SERVE_S=seconds"))
    func serveForTheBrowserCheck() throws {
        let environment = ProcessInfo.processInfo.environment
        let seconds = try #require(environment["FRONTIER_LIVE_SERVE_S"].flatMap(Double.init))
        let port = environment["FRONTIER_LIVE_PORT"].flatMap(Int.init) ?? 8765
        let start = Date()
        let server = LiveViewServer(port: port) {
            let done = min(20 + Int(Date().timeIntervalSince(start)), 80)
            var s = LiveViewTests.snapshot(done: done)
            s.etaS = Double(80 - done) * 2
            return s
        }
        try server.start()
        print("serving the live view on \(server.url!) for \(seconds) s")
        Thread.sleep(forTimeInterval: seconds)
        server.stop()
    }
}

#if canImport(Glibc)
private let SOCK_STREAM_VALUE = SOCK_STREAM.rawValue
#else
private let SOCK_STREAM_VALUE = SOCK_STREAM
#endif
