#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import FrontierReport

public struct LiveViewError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    /// `errno` of the failing call, when a call failed.
    public var code: Int32?

    public init(_ message: String, code: Int32? = nil) {
        self.message = message
        self.code = code
    }

    static func system(_ function: String, _ code: Int32 = errno) -> LiveViewError {
        LiveViewError("\(function) failed: \(String(cString: strerror(code)))", code: code)
    }

    public var description: String { "live view: \(message)" }
}

/// The live view's HTTP/1.1 server: POSIX sockets, one background thread, one request per
/// connection (`Connection: close`), requests served one after another — enough for a few
/// browsers polling every 2 s. Answers come from `LiveViewRoutes`, fed `snapshot()`.
///
/// Robustness: a request head over `maxRequestBytes` gets 431, garbage gets 400, a client that
/// sends nothing (or too slowly) is dropped after `readTimeoutS`, a client that stops reading is
/// dropped after `writeTimeoutS`; none of these disturbs the next connection. Writes never raise
/// SIGPIPE. `stop()` wakes the thread through a pipe and waits for it to finish.
public final class LiveViewServer: @unchecked Sendable {
    // @unchecked Sendable: `state` is read and written only under `lock`; the serving thread gets
    // its descriptors as values when it starts and touches nothing else of `self` but the
    // immutable `host`, `settings` and `snapshot`.

    public struct Settings: Sendable, Equatable {
        /// The largest request head accepted.
        public var maxRequestBytes: Int
        /// How long a client has to send its whole request head.
        public var readTimeoutS: Double
        /// How long a client has to take the response.
        public var writeTimeoutS: Double

        public init(maxRequestBytes: Int = 16 * 1024, readTimeoutS: Double = 3, writeTimeoutS: Double = 10) {
            self.maxRequestBytes = maxRequestBytes
            self.readTimeoutS = readTimeoutS
            self.writeTimeoutS = writeTimeoutS
        }
    }

    public let host: String
    public let requestedPort: Int
    public let settings: Settings
    let snapshot: @Sendable () -> LiveSnapshot

    private struct State {
        var listener: Int32 = -1
        var wakeRead: Int32 = -1
        var wakeWrite: Int32 = -1
        var port: Int?
        var finished: DispatchSemaphore?
    }

    private let lock = NSLock()
    private var state = State()

    /// - Parameters:
    ///   - host: a numeric address or a name; loopback by default. "0.0.0.0" or "::" serve every interface.
    ///   - port: 0 picks a free port; read it from `port` after `start()`.
    public init(host: String = "127.0.0.1", port: Int = 0, settings: Settings = .init(),
                snapshot: @escaping @Sendable () -> LiveSnapshot) {
        self.host = host
        self.requestedPort = port
        self.settings = settings
        self.snapshot = snapshot
    }

    deinit { stop() }

    /// The bound port while running.
    public var port: Int? { lock.withLock { state.port } }

    public var isRunning: Bool { lock.withLock { state.finished != nil } }

    /// "http://127.0.0.1:8080/" while running (IPv6 hosts in brackets).
    public var url: String? {
        guard let port else { return nil }
        return "http://\(host.contains(":") ? "[\(host)]" : host):\(port)/"
    }

    /// Binds and listens, then serves on a background thread. Throws when the address cannot be
    /// bound (in use, not local, not an address) or when already running.
    public func start() throws {
        try lock.withLock {
            guard state.finished == nil else { throw LiveViewError("already running") }
            let listener = try LiveViewServer.listen(host: host, port: requestedPort)
            var fds: [Int32] = [-1, -1]
            guard pipe(&fds) == 0 else {
                let error = LiveViewError.system("pipe")
                close(listener)
                throw error
            }
            for fd in fds + [listener] { LiveViewServer.setNonBlocking(fd) }
            let finished = DispatchSemaphore(value: 0)
            state = State(listener: listener, wakeRead: fds[0], wakeWrite: fds[1],
                          port: LiveViewServer.boundPort(listener), finished: finished)
            let wake = fds[0]
            let thread = Thread { [self] in
                self.serve(listener: listener, wake: wake)
                finished.signal()
            }
            thread.name = "frontier-live-view"
            thread.start()
        }
    }

    /// Stops serving and returns once the serving thread has finished and the sockets are closed.
    /// Safe to call more than once, and when never started.
    public func stop() {
        let current: State = lock.withLock {
            let current = state
            state = State()
            return current
        }
        guard let finished = current.finished else { return }
        var byte: UInt8 = 1
        _ = write(current.wakeWrite, &byte, 1)
        finished.wait()
        close(current.listener)
        close(current.wakeRead)
        close(current.wakeWrite)
    }

    // MARK: - Serving (the background thread)

    private func serve(listener: Int32, wake: Int32) {
        while true {
            var fds = [pollfd(fd: listener, events: Int16(POLLIN), revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), -1)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if fds[1].revents != 0 { return }
            guard fds[0].revents & Int16(POLLIN) != 0 else { continue }
            let connection = accept(listener, nil, nil)
            if connection < 0 {
                switch errno {
                case EINTR, EAGAIN, EWOULDBLOCK, ECONNABORTED, EPROTO: continue
                case EMFILE, ENFILE, ENOBUFS, ENOMEM: usleep(50_000); continue // out of descriptors: let some close
                default: return
                }
            }
            LiveViewServer.setNonBlocking(connection)
            LiveViewServer.noSigPipe(connection)
            if !handle(connection, wake: wake) {
                close(connection)
                return
            }
            close(connection)
        }
    }

    /// Reads one request, answers it and closes gently. Returns false when stop() was asked for.
    private func handle(_ connection: Int32, wake: Int32) -> Bool {
        let readDeadline = LiveViewServer.now() + settings.readTimeoutS
        var received: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        var response: LiveHTTPResponse?
        var includeBody = true
        reading: while response == nil {
            switch LiveViewServer.wait(connection, for: Int16(POLLIN), wake: wake, until: readDeadline) {
            case .stop: return false
            case .timeout:
                if !received.isEmpty { response = .error(408, "the request head did not arrive in time") }
                break reading
            case .ready: break
            }
            let n = read(connection, &chunk, chunk.count)
            if n < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                return true
            }
            if n == 0 {
                if !received.isEmpty { response = .error(400, "the connection closed before the request head ended") }
                break
            }
            received += chunk[..<n]
            switch LiveHTTPParser.parse(received, limit: settings.maxRequestBytes) {
            case .incomplete: continue
            case let .invalid(status, detail): response = .error(status, detail)
            case let .request(request):
                includeBody = request.method != "HEAD"
                response = LiveViewRoutes.respond(to: request, snapshot: snapshot)
            }
        }
        guard let response else { return true }
        let bytes = [UInt8](response.serialised(includeBody: includeBody))
        let writeDeadline = LiveViewServer.now() + settings.writeTimeoutS
        var sent = 0
        while sent < bytes.count {
            switch LiveViewServer.wait(connection, for: Int16(POLLOUT), wake: wake, until: writeDeadline) {
            case .stop: return false
            case .timeout: return true
            case .ready: break
            }
            let n = bytes[sent...].withUnsafeBytes { LiveViewServer.send(connection, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK { continue }
                return true
            }
            sent += n
        }
        // Half-close, then drain what the client still sends (briefly), so the close does not
        // reset the connection before the client has read the response.
        shutdown(connection, Int32(SHUT_WR))
        let drainDeadline = LiveViewServer.now() + 0.5
        var drained = 0
        while drained < 64 * 1024,
              case .ready = LiveViewServer.wait(connection, for: Int16(POLLIN), wake: wake, until: drainDeadline) {
            let n = read(connection, &chunk, chunk.count)
            if n < 0, errno == EINTR || errno == EAGAIN { continue }
            if n <= 0 { break }
            drained += n
        }
        return true
    }

    private enum Readiness { case ready, timeout, stop }

    private static func wait(_ fd: Int32, for events: Int16, wake: Int32, until deadline: Double) -> Readiness {
        while true {
            let remaining = deadline - now()
            if remaining <= 0 { return .timeout }
            var fds = [pollfd(fd: fd, events: events, revents: 0), pollfd(fd: wake, events: Int16(POLLIN), revents: 0)]
            let ready = poll(&fds, nfds_t(fds.count), Int32(min(remaining * 1000, 60_000).rounded(.up)))
            if ready < 0 {
                if errno == EINTR { continue }
                return .timeout
            }
            if fds[1].revents != 0 { return .stop }
            if fds[0].revents != 0 { return .ready } // readable, writable, or hung up / error: the read or write says which
            if ready == 0 { continue }
        }
    }

    // MARK: - Socket calls

    private static func listen(host: String, port: Int) throws -> Int32 {
        guard (0...65535).contains(port) else { throw LiveViewError("port \(port) is out of range") }
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let first = list else {
            throw LiveViewError("cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
        }
        defer { freeaddrinfo(first) }
        var lastError = LiveViewError("no address for '\(host)'")
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let info = entry {
            entry = info.pointee.ai_next
            let fd = socket(info.pointee.ai_family, info.pointee.ai_socktype, info.pointee.ai_protocol)
            guard fd >= 0 else { lastError = .system("socket"); continue }
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            var one: Int32 = 1
            _ = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
            if bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) != 0 {
                lastError = LiveViewError("cannot bind \(host):\(port): \(String(cString: strerror(errno)))", code: errno)
                close(fd)
                continue
            }
            if systemListen(fd, 64) != 0 {
                lastError = .system("listen")
                close(fd)
                continue
            }
            return fd
        }
        throw lastError
    }

    private static func boundPort(_ fd: Int32) -> Int? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let ok = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) == 0 }
        }
        guard ok else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) } }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) } }
        default:
            return nil
        }
    }

    private static func setNonBlocking(_ fd: Int32) {
        let flags = fcntl(fd, F_GETFL, 0)
        if flags >= 0 { _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK) }
    }

    private static func noSigPipe(_ fd: Int32) {
        #if canImport(Darwin)
        var one: Int32 = 1
        _ = setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
        #endif
    }

    private static func send(_ fd: Int32, _ bytes: UnsafeRawPointer, _ count: Int) -> Int {
        #if canImport(Glibc)
        return Glibc.send(fd, bytes, count, Int32(MSG_NOSIGNAL))
        #else
        return Darwin.send(fd, bytes, count, 0)
        #endif
    }

    private static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }
}

/// `listen(2)`, named apart from `LiveViewServer.listen(host:port:)`.
private func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 {
    #if canImport(Glibc)
    return Glibc.listen(fd, backlog)
    #else
    return Darwin.listen(fd, backlog)
    #endif
}
