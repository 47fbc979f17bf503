import CZMQ
import Foundation

/// A libzmq context: the I/O threads and the `inproc://` namespace its sockets share.
///
/// Ownership: every `ZmqSocket` keeps its context alive, so the context is terminated
/// (`zmq_ctx_term`) only after its last socket is gone, and `deinit` never blocks on a socket
/// someone still holds. `shutdown()` ends everything now, from any thread: blocked calls on every
/// socket return `ETERM` (`ZmqError.isTerminated`), every socket still open is closed with
/// linger 0, and the context is terminated; sockets used afterwards throw `isClosed`.
///
/// Thread-safe: libzmq contexts are; the socket registry and flags are guarded by `lock`, hence
/// `@unchecked Sendable`.
public final class ZmqContext: @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    /// Linger given to each new socket: how long `close()` keeps trying to deliver queued
    /// messages. libzmq's default is forever, which makes termination hang on a dead peer.
    public let defaultLingerMs: Int
    /// libzmq I/O threads. `ZmqSocketMonitor` ties handshake events to connections only with
    /// one, where libzmq's events keep the order connections go through.
    let ioThreads: Int

    private struct WeakSocket { weak var socket: ZmqSocket? }
    // Guarded by `lock`.
    private let lock = NSLock()
    private var sockets: [ObjectIdentifier: WeakSocket] = [:]
    private var terminated = false
    private var zapHandlers = 0

    /// - Parameters:
    ///   - ioThreads: libzmq I/O threads (one is plenty below a few hundred MB/s).
    ///   - defaultLingerMs: linger for new sockets (0: queued messages are dropped on close).
    public init(ioThreads: Int = 1, defaultLingerMs: Int = 0) throws {
        guard let handle = zmq_ctx_new() else { throw ZmqError.last("zmq_ctx_new") }
        self.handle = handle
        self.defaultLingerMs = defaultLingerMs
        self.ioThreads = ioThreads
        if ioThreads != 1 {
            try zmqCheck("set ZMQ_IO_THREADS \(ioThreads)") { zmq_ctx_set(handle, ZMQ_IO_THREADS, Int32(ioThreads)) }
        }
    }

    deinit {
        // Every socket held a strong reference to us, so all of them are closed by now.
        terminate()
    }

    /// Whether libzmq was built with CURVE (libsodium); Debian's is.
    public static var hasCurve: Bool { zmq_has("curve") != 0 }

    /// The linked libzmq's version, e.g. `"4.3.4"`.
    public static var libraryVersion: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        zmq_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    public func socket(_ type: ZmqSocketType) throws -> ZmqSocket {
        let socket: ZmqSocket = try lock.withLock {
            guard !terminated else {
                throw ZmqError(code: ETERM, operation: "create \(type) socket", message: "the context was shut down")
            }
            guard let raw = zmq_socket(handle, type.rawValue) else { throw ZmqError.last("create \(type) socket") }
            let socket = ZmqSocket(context: self, type: type, handle: raw)
            sockets[ObjectIdentifier(socket)] = WeakSocket(socket: socket)
            return socket
        }
        try socket.setLinger(ms: defaultLingerMs)
        return socket
    }

    /// Interrupts every blocked call, closes every socket still open (linger 0) and terminates
    /// the context. Idempotent; safe from any thread, including while other threads are inside
    /// `receive` on this context's sockets.
    public func shutdown() {
        let open: [ZmqSocket] = lock.withLock {
            guard !terminated else { return [] }
            terminated = true
            return sockets.values.compactMap(\.socket)
        }
        // Makes blocking calls on all sockets return ETERM, releasing the socket locks they hold.
        zmq_ctx_shutdown(handle)
        for socket in open { socket.closeForShutdown() }
        terminate()
    }

    public var isShutDown: Bool { lock.withLock { terminated } }

    private var handleTerminated = false  // guarded by `lock`
    private func terminate() {
        let run: Bool = lock.withLock {
            terminated = true
            if handleTerminated { return false }
            handleTerminated = true
            return true
        }
        guard run else { return }
        // Blocks until every socket is closed and its linger has expired; retries EINTR.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    // MARK: - For ZmqSocket and ZapAuthenticator

    func raw<T>(_ body: (UnsafeMutableRawPointer) -> T) -> T { body(handle) }

    func unregister(_ socket: ObjectIdentifier) {
        lock.withLock { _ = sockets.removeValue(forKey: socket) }
    }

    func zapHandlerStarted() { lock.withLock { zapHandlers += 1 } }
    func zapHandlerStopped() { lock.withLock { zapHandlers -= 1 } }
    /// Whether a `ZapAuthenticator` is bound in this context: without one, libzmq 4.3's CURVE
    /// server accepts every client key (encryption without authentication).
    var hasZapHandler: Bool { lock.withLock { zapHandlers > 0 } }
}
