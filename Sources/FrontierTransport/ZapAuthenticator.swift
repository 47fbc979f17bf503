import Foundation

/// Decides which peers may complete a handshake with this context's CURVE (and, optionally,
/// plain) server sockets: the ZAP handler (RFC 27) at `inproc://zeromq.zap.01`.
///
/// - CURVE with a client key in `AuthorizedKeys` → "200", user id = the client's Z85 key (so
///   the server reads it as `ZmqMessage.userId`); any other key → "400".
/// - NULL → "200" only with `allowNull` (loopback, no-keys mode). libzmq asks about NULL
///   connections only on sockets with a ZAP domain (`setZapDomain`).
/// - Anything else (PLAIN, GSSAPI, malformed requests) → "400"/"500".
///
/// The authorised folder is re-checked on every request (`AuthorizedKeys.refresh`), so
/// adding or removing a `.pub` takes effect at the next connection.
///
/// Ordering matters, and libzmq 4.3 does not enforce it: a CURVE server whose context has no
/// ZAP handler accepts **every** client key. So `start()` before the server socket binds
/// (`ZmqSocket.bind` refuses otherwise) and `stop()` only after it is closed.
///
/// Runs on its own thread. Counters and the recent rejections are readable from any thread.
///
/// `@unchecked Sendable`: its own fields are immutable; everything that changes lives in
/// `State` (guarded by its lock) or `Worker` (owned by the authenticator's thread).
public final class ZapAuthenticator: @unchecked Sendable {
    public static let endpoint = "inproc://zeromq.zap.01"
    /// How many recent rejections are kept.
    public static let recentLimit = 32

    /// A refused handshake, for logs and the operator's "who's knocking" view.
    public struct Rejection: Sendable, Equatable {
        public var mechanism: String
        /// The Z85 public key the client presented (CURVE only).
        public var clientKey: String?
        public var address: String
        public var domain: String
        public var reason: String
    }

    private let context: ZmqContext
    private let initialKeys: AuthorizedKeys?
    private let allowNull: Bool
    private let log: (@Sendable (String) -> Void)?
    private let state = State()

    /// - Parameters:
    ///   - authorizedKeys: the allowed CURVE client keys; nil rejects every CURVE client.
    ///   - allowNull: accept NULL-mechanism (unauthenticated, unencrypted) peers.
    ///   - log: one line per decision and per change in the authorised folder, from the
    ///     authenticator's thread.
    public init(context: ZmqContext, authorizedKeys: AuthorizedKeys?, allowNull: Bool = false,
                log: (@Sendable (String) -> Void)? = nil) {
        self.context = context
        self.initialKeys = authorizedKeys
        self.allowNull = allowNull
        self.log = log
    }

    deinit { stop() }

    public var acceptedCount: Int { state.withLock { $0.accepted } }
    public var rejectedCount: Int { state.withLock { $0.rejected } }
    /// Oldest first, at most `recentLimit`.
    public var recentRejections: [Rejection] { state.withLock { $0.recent } }
    /// The Z85 key of the last rejected CURVE client.
    public var lastRejectedKey: String? { state.withLock { $0.recent.last(where: { $0.clientKey != nil })?.clientKey } }
    public var isRunning: Bool { state.withLock { $0.finished != nil } }

    /// Binds the ZAP endpoint (synchronously, so a server socket bound after this returns is
    /// covered) and starts answering. Throws `EADDRINUSE` if another handler is running in
    /// this context. A no-op while already running.
    public func start() throws {
        guard !isRunning else { return }
        let socket = try context.socket(.rep)
        try socket.bind(Self.endpoint)
        let finished = DispatchSemaphore(value: 0)
        state.withLock {
            $0.stopRequested = false
            $0.finished = finished
        }
        context.zapHandlerStarted()
        let worker = Worker(socket: socket, keys: initialKeys, allowNull: allowNull, log: log, state: state)
        let thread = Thread {
            worker.run()
            finished.signal()
        }
        thread.name = "frontier-zap"
        thread.start()
    }

    /// Stops answering and waits for the thread to finish (within ~50 ms). Idempotent.
    public func stop() {
        guard let finished = state.withLock({ s -> DispatchSemaphore? in
            s.stopRequested = true
            defer { s.finished = nil }
            return s.finished
        }) else { return }
        finished.wait()
        context.zapHandlerStopped()
    }

    // MARK: - Decision

    enum Decision: Equatable {
        case accept(userId: String, note: String)
        case reject(code: String, reason: String)
    }

    /// The policy, apart from sockets and threads.
    static func decide(_ request: ZapRequest, keys: AuthorizedKeys?, allowNull: Bool) -> Decision {
        guard request.version == "1.0" else {
            return .reject(code: "500", reason: "unsupported ZAP version \(request.version.debugDescription)")
        }
        switch request.mechanism {
        case "CURVE":
            guard request.credentials.count == 1, let key = CurveKeyPair.z85(rawKey: request.credentials[0]) else {
                return .reject(code: "400", reason: "malformed CURVE credentials")
            }
            guard let keys else { return .reject(code: "400", reason: "no authorised keys are configured") }
            guard let file = keys.file(for: key) else {
                return .reject(code: "400", reason: "key not in \(keys.directory.path)")
            }
            return .accept(userId: key, note: "authorised by \(file)")
        case "NULL":
            return allowNull ? .accept(userId: "", note: "NULL allowed")
                : .reject(code: "400", reason: "unauthenticated (NULL) connections are not allowed; use CURVE keys")
        default:
            return .reject(code: "400", reason: "mechanism \(request.mechanism) is not accepted")
        }
    }

    // MARK: - Thread

    /// Shared between the owner and the worker thread; every field is guarded by `lock`.
    private final class State: @unchecked Sendable {
        struct Fields {
            var accepted = 0
            var rejected = 0
            var recent: [Rejection] = []
            var stopRequested = false
            var finished: DispatchSemaphore?
        }
        private let lock = NSLock()
        private var fields = Fields()
        func withLock<T>(_ body: (inout Fields) -> T) -> T { lock.withLock { body(&fields) } }
    }

    /// What the thread owns: the REP socket and its copy of the authorised keys. Used only on
    /// that thread after `start()` hands it over, hence `@unchecked Sendable`.
    private final class Worker: @unchecked Sendable {
        let socket: ZmqSocket
        var keys: AuthorizedKeys?
        let allowNull: Bool
        let log: (@Sendable (String) -> Void)?
        let state: State

        init(socket: ZmqSocket, keys: AuthorizedKeys?, allowNull: Bool, log: (@Sendable (String) -> Void)?, state: State) {
            self.socket = socket
            self.keys = keys
            self.allowNull = allowNull
            self.log = log
            self.state = state
        }

        func run() {
            defer { socket.close() }
            while !state.withLock({ $0.stopRequested }) {
                let frames: [Data]?
                do {
                    frames = try socket.receive(timeoutMs: 50)
                } catch let error as ZmqError where error.isTerminated || error.isClosed {
                    return  // context shut down
                } catch {
                    log?("ZAP: receive failed: \(error)")
                    Thread.sleep(forTimeInterval: 0.05)
                    continue
                }
                guard let frames else { continue }
                let reply = answer(frames)
                do {
                    try socket.send(reply.frames)
                } catch let error as ZmqError where error.isTerminated || error.isClosed {
                    return
                } catch {
                    log?("ZAP: reply failed: \(error)")
                }
            }
        }

        private func answer(_ frames: [Data]) -> ZapReply {
            guard let request = ZapRequest(frames: frames) else {
                reject(Rejection(mechanism: "?", clientKey: nil, address: "", domain: "", reason: "malformed ZAP request (\(frames.count) frames)"))
                return ZapReply(requestId: frames.count > 1 ? frames[1] : Data(), statusCode: "500",
                                statusText: "malformed request", userId: "")
            }
            if request.mechanism == "CURVE" { keys?.refresh(log: log) }
            switch ZapAuthenticator.decide(request, keys: keys, allowNull: allowNull) {
            case .accept(let userId, let note):
                state.withLock { $0.accepted += 1 }
                log?("ZAP: accepted \(request.mechanism)\(userId.isEmpty ? "" : " key \(userId)") from \(request.address) (\(note))")
                return ZapReply(requestId: request.requestId, statusCode: "200", statusText: "OK", userId: userId)
            case .reject(let code, let reason):
                let key = request.mechanism == "CURVE" ? request.credentials.first.flatMap(CurveKeyPair.z85(rawKey:)) : nil
                reject(Rejection(mechanism: request.mechanism, clientKey: key, address: request.address,
                                 domain: request.domain, reason: reason))
                return ZapReply(requestId: request.requestId, statusCode: code, statusText: reason, userId: "")
            }
        }

        private func reject(_ rejection: Rejection) {
            state.withLock {
                $0.rejected += 1
                $0.recent.append(rejection)
                if $0.recent.count > ZapAuthenticator.recentLimit { $0.recent.removeFirst($0.recent.count - ZapAuthenticator.recentLimit) }
            }
            log?("ZAP: rejected \(rejection.mechanism)\(rejection.clientKey.map { " key \($0)" } ?? "") from \(rejection.address): \(rejection.reason)")
        }
    }
}
