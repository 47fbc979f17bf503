import CZMQ
import Foundation

/// One libzmq socket. Frames are `Data` throughout: `send` takes `[Data]`, `receive` returns
/// `[Data]`, one element per frame of a multipart message.
///
/// **One thread owns a socket.** libzmq sockets are not thread-safe; here every call takes an
/// internal lock, which gives the full memory barrier libzmq needs to move a socket between
/// threads, makes a whole multipart send or receive atomic, and lets `ZmqContext.shutdown()`
/// close a socket from another thread safely — hence `@unchecked Sendable`. But a `receive` or
/// `poll` holds that lock for its whole timeout, so sharing a socket between threads serialises
/// them behind each other's waits: create it, hand it to the thread that runs its loop, and let
/// only that thread use it.
///
/// Options (`ZmqSocketOptions.swift`) must be set before `bind`/`connect` to affect that
/// connection; CURVE and the ZAP domain in particular.
public final class ZmqSocket: @unchecked Sendable {
    public let type: ZmqSocketType
    /// Strong: the context is terminated only after its last socket is gone.
    let context: ZmqContext

    // Guarded by `lock`.
    private let lock = NSLock()
    private var handle: UnsafeMutableRawPointer?
    private var isCurveServer = false
    /// Run once by `close()` before the handle closes (a monitor's PAIR uses it to stop the
    /// monitoring first).
    private var beforeClose: (@Sendable () -> Void)?
    /// The inproc endpoint libzmq publishes this socket's events on, while monitored.
    private var monitorEndpoint: String?
    /// One reusable `zmq_msg_t`, allocated so its address is stable across libzmq calls.
    private let message: UnsafeMutablePointer<zmq_msg_t>

    init(context: ZmqContext, type: ZmqSocketType, handle: UnsafeMutableRawPointer) {
        self.context = context
        self.type = type
        self.handle = handle
        message = .allocate(capacity: 1)
    }

    deinit {
        close()
        message.deallocate()
    }

    /// Whether `close()` (or the context's shutdown) has happened.
    public var isClosed: Bool { lock.withLock { handle == nil } }

    /// Closes the socket; queued outgoing messages get the socket's linger. Idempotent.
    public func close() {
        let hook: (@Sendable () -> Void)? = lock.withLock {
            defer { beforeClose = nil }
            return handle == nil ? nil : beforeClose
        }
        hook?()
        let closed: Bool = lock.withLock {
            guard let h = handle else { return false }
            zmq_close(h)
            handle = nil
            return true
        }
        if closed { context.unregister(ObjectIdentifier(self)) }
    }

    /// For `ZmqContext.shutdown()`: after `zmq_ctx_shutdown` has released any blocked call.
    func closeForShutdown() {
        lock.withLock {
            guard let h = handle else { return }
            var zero: Int32 = 0
            zmq_setsockopt(h, ZMQ_LINGER, &zero, MemoryLayout<Int32>.size)
            zmq_close(h)
            handle = nil
        }
        context.unregister(ObjectIdentifier(self))
    }

    /// Runs `body` with the open handle under the lock; throws `isClosed` if it's closed.
    @discardableResult
    func withHandle<T>(_ operation: @autoclosure () -> String, _ body: (UnsafeMutableRawPointer) throws -> T) throws -> T {
        try lock.withLock {
            guard let h = handle else {
                throw ZmqError(code: ENOTSOCK, operation: operation(), message: "the socket is closed")
            }
            return try body(h)
        }
    }

    func markCurveServer() { lock.withLock { isCurveServer = true } }

    /// Sets what `close()` runs first, outside the lock. Not run by the context's shutdown,
    /// which closes every socket at once.
    func setBeforeClose(_ body: (@Sendable () -> Void)?) { lock.withLock { beforeClose = body } }

    // MARK: - Monitoring (for ZmqSocketMonitor)

    /// `zmq_socket_monitor`: libzmq binds a PAIR at `endpoint` (inproc, this context) and sends
    /// it `events` (`ZMQ_EVENT_*` bits) in the v1 format.
    /// libzmq keeps one monitor per socket: starting another stops the previous one.
    func startMonitor(endpoint: String, events: Int32) throws {
        try withHandle("monitor \(endpoint)") { h in
            try zmqCheck("monitor \(endpoint)") { zmq_socket_monitor(h, endpoint, events) }
            monitorEndpoint = endpoint
        }
    }

    /// Stops the monitoring that publishes on `endpoint` (libzmq sends MONITOR_STOPPED and
    /// closes its PAIR). A no-op when the socket is closed (closing stopped it) or a newer
    /// monitor has replaced that one.
    func stopMonitor(endpoint: String) {
        _ = try? withHandle("stop monitor") { h in
            guard monitorEndpoint == endpoint else { return }
            zmq_socket_monitor(h, nil, 0)
            monitorEndpoint = nil
        }
    }

    // MARK: - Endpoints

    /// `tcp://127.0.0.1:*` binds an ephemeral port; read it back with `lastEndpoint`.
    public func bind(_ endpoint: String) throws {
        try requireAuthenticatorIfCurveServer("bind \(endpoint)")
        try withHandle("bind \(endpoint)") { h in
            try zmqCheck("bind \(endpoint)") { zmq_bind(h, endpoint) }
        }
    }

    public func connect(_ endpoint: String) throws {
        try requireAuthenticatorIfCurveServer("connect \(endpoint)")
        try withHandle("connect \(endpoint)") { h in
            try zmqCheck("connect \(endpoint)") { zmq_connect(h, endpoint) }
        }
    }

    public func disconnect(_ endpoint: String) throws {
        try withHandle("disconnect \(endpoint)") { h in
            try zmqCheck("disconnect \(endpoint)") { zmq_disconnect(h, endpoint) }
        }
    }

    /// Takes the endpoint as bound: after binding `tcp://127.0.0.1:*`, pass `lastEndpoint`.
    public func unbind(_ endpoint: String) throws {
        try withHandle("unbind \(endpoint)") { h in
            try zmqCheck("unbind \(endpoint)") { zmq_unbind(h, endpoint) }
        }
    }

    /// The endpoint of the last `bind`/`connect`, with a wildcard port resolved
    /// (`tcp://127.0.0.1:41873`); nil when closed or never bound.
    public var lastEndpoint: String? {
        try? withHandle("get ZMQ_LAST_ENDPOINT") { h -> String? in
            var buffer = [CChar](repeating: 0, count: 1024)
            var size = buffer.count
            try zmqCheck("get ZMQ_LAST_ENDPOINT") { zmq_getsockopt(h, ZMQ_LAST_ENDPOINT, &buffer, &size) }
            let text = String(nulTerminated: buffer)
            return text.isEmpty ? nil : text
        }
    }

    /// libzmq 4.3's CURVE server falls back to accepting *every* client key when no ZAP handler
    /// is bound in its context; refusing here turns that silent hole into an error.
    private func requireAuthenticatorIfCurveServer(_ operation: String) throws {
        guard lock.withLock({ isCurveServer }), !context.hasZapHandler else { return }
        throw ZmqError(code: EACCES, operation: operation, message:
            "CURVE server socket but no ZapAuthenticator is running in its context "
            + "(start one before binding; without it libzmq accepts every client key)")
    }

    // MARK: - Messages

    /// Sends one multipart message (`frames.count` ≥ 1), atomically.
    ///
    /// - Returns: `false` only when it wasn't queued because it would block: with `dontWait`
    ///   (high-water mark reached, or no peer yet on a DEALER), or after the send timeout.
    /// - Throws: `ZmqError`; `isHostUnreachable` for a ROUTER with `setRouterMandatory(true)`
    ///   and an unknown routing id, `isTerminated` after `ZmqContext.shutdown()`.
    @discardableResult
    public func send(_ frames: [Data], dontWait: Bool = false) throws -> Bool {
        guard !frames.isEmpty else {
            throw ZmqError(code: EINVAL, operation: "send", message: "a message needs at least one frame")
        }
        return try withHandle("send") { h in
            for (index, frame) in frames.enumerated() {
                var flags: Int32 = index < frames.count - 1 ? ZMQ_SNDMORE : 0
                if dontWait { flags |= ZMQ_DONTWAIT }
                while true {
                    let rc = frame.withUnsafeBytes { zmq_send(h, $0.baseAddress, $0.count, flags) }
                    if rc >= 0 { break }
                    let code = zmq_errno()
                    if code == EINTR { continue }
                    // libzmq applies the high-water mark to a message's first frame only, so
                    // a would-block can't strand half a message.
                    if code == EAGAIN && index == 0 { return false }
                    throw ZmqError(code: code, operation: "send frame \(index + 1) of \(frames.count)")
                }
            }
            return true
        }
    }

    /// Sends a one-frame message.
    @discardableResult
    public func send(_ frame: Data, dontWait: Bool = false) throws -> Bool {
        try send([frame], dontWait: dontWait)
    }

    /// The next whole multipart message, or nil if none arrives within `timeoutMs`
    /// (negative: wait forever; 0: don't wait). `EINTR` is retried with the time left.
    public func receive(timeoutMs: Int) throws -> [Data]? {
        try receiveMessage(timeoutMs: timeoutMs)?.frames
    }

    /// `receive`, plus the connection's ZAP user id (the peer's CURVE key under
    /// `ZapAuthenticator`) and peer address.
    public func receiveMessage(timeoutMs: Int) throws -> ZmqMessage? {
        try withHandle("receive") { h in
            guard try Self.pollLocked([h], timeoutMs: timeoutMs, operation: "receive")[0] else { return nil }
            var result = ZmqMessage(frames: [])
            while true {
                zmq_msg_init(message)
                defer { zmq_msg_close(message) }
                // The first frame without waiting (the poll said one is there, but a spurious
                // wake-up is allowed); later frames of a multipart message arrive with it.
                let flags: Int32 = result.frames.isEmpty ? ZMQ_DONTWAIT : 0
                var rc: Int32
                repeat { rc = zmq_msg_recv(message, h, flags) } while rc < 0 && zmq_errno() == EINTR
                if rc < 0 {
                    let code = zmq_errno()
                    if code == EAGAIN && result.frames.isEmpty { return nil }
                    throw ZmqError(code: code, operation: "receive frame \(result.frames.count + 1)")
                }
                let size = zmq_msg_size(message)
                result.frames.append(size == 0 ? Data() : Data(bytes: zmq_msg_data(message), count: size))
                if result.userId == nil, let value = zmq_msg_gets(message, "User-Id") {
                    result.userId = String(cString: value)
                }
                if result.peerAddress == nil, let value = zmq_msg_gets(message, "Peer-Address") {
                    result.peerAddress = String(cString: value)
                }
                if zmq_msg_more(message) == 0 { return result }
            }
        }
    }

    /// Which of `sockets` have a message ready, waiting up to `timeoutMs` (negative: forever)
    /// for at least one. Holds every socket's lock meanwhile, so call it from their owner thread.
    public static func poll(_ sockets: [ZmqSocket], timeoutMs: Int) throws -> [Bool] {
        guard !sockets.isEmpty else { return [] }
        // Lock each distinct socket once, in a fixed order, so two pollers can't deadlock.
        var seen = Set<ObjectIdentifier>()
        let distinct = sockets.filter { seen.insert(ObjectIdentifier($0)).inserted }
            .sorted { ObjectIdentifier($0) < ObjectIdentifier($1) }
        for socket in distinct { socket.lock.lock() }
        defer { for socket in distinct.reversed() { socket.lock.unlock() } }
        var handles: [UnsafeMutableRawPointer] = []
        for socket in sockets {
            guard let h = socket.handle else {
                throw ZmqError(code: ENOTSOCK, operation: "poll", message: "a socket is closed")
            }
            handles.append(h)
        }
        return try pollLocked(handles, timeoutMs: timeoutMs, operation: "poll")
    }

    /// `poll`, plus plain file descriptors waited on for readability in the same `zmq_poll`
    /// (a pipe that another thread writes to): a loop can then sleep until a message, a
    /// wake-up or its deadline, whichever comes first, instead of checking flags on a timer.
    /// `sockets` may be empty; reading what made a descriptor readable is the caller's job.
    public static func poll(_ sockets: [ZmqSocket], fileDescriptors: [Int32], timeoutMs: Int) throws
        -> (sockets: [Bool], fileDescriptors: [Bool]) {
        var seen = Set<ObjectIdentifier>()
        let distinct = sockets.filter { seen.insert(ObjectIdentifier($0)).inserted }
            .sorted { ObjectIdentifier($0) < ObjectIdentifier($1) }
        for socket in distinct { socket.lock.lock() }
        defer { for socket in distinct.reversed() { socket.lock.unlock() } }
        var items: [zmq_pollitem_t] = []
        for socket in sockets {
            guard let h = socket.handle else {
                throw ZmqError(code: ENOTSOCK, operation: "poll", message: "a socket is closed")
            }
            items.append(zmq_pollitem_t(socket: h, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0))
        }
        for fd in fileDescriptors {
            items.append(zmq_pollitem_t(socket: nil, fd: fd, events: Int16(ZMQ_POLLIN), revents: 0))
        }
        let ready = try pollLocked(&items, timeoutMs: timeoutMs, operation: "poll")
        return (Array(ready.prefix(sockets.count)), Array(ready.dropFirst(sockets.count)))
    }

    /// `zmq_poll` for readability; the caller holds the sockets' locks.
    private static func pollLocked(_ handles: [UnsafeMutableRawPointer], timeoutMs: Int, operation: String) throws -> [Bool] {
        var items = handles.map { zmq_pollitem_t(socket: $0, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        return try pollLocked(&items, timeoutMs: timeoutMs, operation: operation)
    }

    private static func pollLocked(_ items: inout [zmq_pollitem_t], timeoutMs: Int, operation: String) throws -> [Bool] {
        guard !items.isEmpty else { return [] }
        let deadline = timeoutMs > 0 ? DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMs) * 1_000_000 : 0
        var wait = timeoutMs
        while true {
            let rc = zmq_poll(&items, Int32(items.count), wait)
            if rc >= 0 { break }
            let code = zmq_errno()
            guard code == EINTR else { throw ZmqError(code: code, operation: operation) }
            if timeoutMs > 0 {
                let now = DispatchTime.now().uptimeNanoseconds
                if now >= deadline { return items.map { _ in false } }
                wait = Int((deadline - now + 999_999) / 1_000_000)
            }
        }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}
