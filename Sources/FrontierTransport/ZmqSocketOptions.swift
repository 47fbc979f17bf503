import CZMQ
import Foundation

/// Socket options. Set them before `bind`/`connect`: most apply to connections made afterwards.
extension ZmqSocket {
    private func set(_ option: Int32, _ name: String, int value: Int) throws {
        guard let v = Int32(exactly: value) else {
            throw ZmqError(code: EINVAL, operation: "set \(name) \(value)", message: "out of range")
        }
        var raw = v
        try withHandle("set \(name) \(value)") { h in
            try zmqCheck("set \(name) \(value)") { zmq_setsockopt(h, option, &raw, MemoryLayout<Int32>.size) }
        }
    }

    private func set(_ option: Int32, _ name: String, bytes: [UInt8], shown: String) throws {
        try withHandle("set \(name) \(shown)") { h in
            try zmqCheck("set \(name) \(shown)") {
                bytes.withUnsafeBytes { zmq_setsockopt(h, option, $0.baseAddress, $0.count) }
            }
        }
    }

    /// How long `close()` keeps trying to deliver queued messages (0: drop them; -1: forever,
    /// which also makes the context's termination wait forever). New sockets get the context's
    /// `defaultLingerMs`.
    public func setLinger(ms: Int) throws { try set(ZMQ_LINGER, "ZMQ_LINGER", int: ms) }

    /// ZMQ_MAXMSGSIZE: a peer that sends a larger *frame* is disconnected (libzmq checks each
    /// frame of a multipart message, not their sum). -1: no limit.
    public func setMaxMessageSize(bytes: Int) throws {
        var raw = Int64(bytes)  // the one option that is an int64_t
        try withHandle("set ZMQ_MAXMSGSIZE \(bytes)") { h in
            try zmqCheck("set ZMQ_MAXMSGSIZE \(bytes)") { zmq_setsockopt(h, ZMQ_MAXMSGSIZE, &raw, MemoryLayout<Int64>.size) }
        }
    }

    /// ZMQ_MAXMSGSIZE as set; nil when unlimited (-1) or the socket is closed.
    var maxMessageSizeLimit: Int? {
        let raw = try? withHandle("get ZMQ_MAXMSGSIZE") { h -> Int64 in
            var value: Int64 = -1
            var size = MemoryLayout<Int64>.size
            try zmqCheck("get ZMQ_MAXMSGSIZE") { zmq_getsockopt(h, ZMQ_MAXMSGSIZE, &value, &size) }
            return value
        }
        guard let raw, raw >= 0 else { return nil }
        return Int(raw)
    }

    /// The identity a DEALER/REQ presents to a ROUTER (1–255 bytes, first byte not 0), which
    /// the ROUTER then sees as a message's first frame. Set before `connect`.
    public func setRoutingId(_ id: Data) throws {
        try set(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", bytes: Array(id), shown: "(\(id.count) bytes)")
    }

    /// ZMTP heartbeats: a PING every `intervalMs`; the connection is dropped when nothing
    /// arrives for `timeoutMs` (libzmq's default is `intervalMs`); `ttlMs` asks the peer to drop
    /// it after that long without traffic from us (sent in deciseconds, at most 6 553 500 ms).
    /// 0 turns a part off.
    public func setHeartbeat(intervalMs: Int, timeoutMs: Int? = nil, ttlMs: Int? = nil) throws {
        try set(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL", int: intervalMs)
        if let timeoutMs { try set(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT", int: timeoutMs) }
        if let ttlMs { try set(ZMQ_HEARTBEAT_TTL, "ZMQ_HEARTBEAT_TTL", int: ttlMs) }
    }

    /// Reconnection back-off after a dropped or refused connection: starts at `intervalMs`,
    /// doubles up to `maxMs` (0: stay at `intervalMs`).
    public func setReconnect(intervalMs: Int, maxMs: Int = 0) throws {
        try set(ZMQ_RECONNECT_IVL, "ZMQ_RECONNECT_IVL", int: intervalMs)
        try set(ZMQ_RECONNECT_IVL_MAX, "ZMQ_RECONNECT_IVL_MAX", int: maxMs)
    }

    /// Messages queued per peer before `send` blocks or drops (0: unlimited).
    public func setSendHighWaterMark(_ messages: Int) throws { try set(ZMQ_SNDHWM, "ZMQ_SNDHWM", int: messages) }
    public func setReceiveHighWaterMark(_ messages: Int) throws { try set(ZMQ_RCVHWM, "ZMQ_RCVHWM", int: messages) }

    /// How long a blocking `send` waits before returning false (-1: forever).
    public func setSendTimeout(ms: Int) throws { try set(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO", int: ms) }

    /// ROUTER: sending to an unknown routing id throws `isHostUnreachable` instead of silently
    /// dropping the message.
    public func setRouterMandatory(_ on: Bool) throws { try set(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY", int: on ? 1 : 0) }

    /// Queue outgoing messages only on completed connections (no queueing to a peer that
    /// isn't there yet, or whose handshake was refused).
    public func setImmediate(_ on: Bool) throws { try set(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", int: on ? 1 : 0) }

    /// Time allowed for a new connection's ZMTP/CURVE handshake (0: no limit; default 30 s).
    /// Short values shed peers that connect and say nothing.
    public func setHandshakeInterval(ms: Int) throws { try set(ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL", int: ms) }

    /// The ZAP domain sent with each handshake. CURVE consults ZAP with or without it; a NULL
    /// (plain) socket consults ZAP only when a domain is set.
    ///
    /// Set one on every listening socket, plain ones too: it also makes libzmq refuse legacy
    /// ZMTP 1.0/2.0 peers. Without it a plain socket falls back to ZMTP 1.0 framing whenever a
    /// connection's first byte isn't 0xFF, so random bytes arrive as messages from made-up peers.
    public func setZapDomain(_ domain: String) throws {
        try set(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", bytes: Array(domain.utf8), shown: domain)
    }

    /// Makes this socket a CURVE server with `keyPair` (the coordinator's). Which clients get
    /// in is the `ZapAuthenticator`'s decision, so one must be running in this context before
    /// this socket binds or connects — `bind` refuses otherwise.
    public func setCurveServer(_ keyPair: CurveKeyPair) throws {
        try set(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", int: 1)
        try set(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", bytes: Array(keyPair.secretKey.utf8), shown: "(secret)")
        try set(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", bytes: Array(keyPair.publicKey.utf8), shown: keyPair.publicKey)
        markCurveServer()
    }

    /// Makes this socket a CURVE client of the server whose public key is `serverPublicKey`
    /// (Z85), authenticating as `keyPair` (the agent's).
    public func setCurveClient(serverPublicKey: String, keyPair: CurveKeyPair) throws {
        guard Z85.isCurveKey(serverPublicKey) else {
            throw ZmqError(code: EINVAL, operation: "set ZMQ_CURVE_SERVERKEY",
                           message: "not a 40-character Z85 CURVE public key: \(serverPublicKey.debugDescription)")
        }
        try set(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", bytes: Array(serverPublicKey.utf8), shown: serverPublicKey)
        try set(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", bytes: Array(keyPair.publicKey.utf8), shown: keyPair.publicKey)
        try set(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", bytes: Array(keyPair.secretKey.utf8), shown: "(secret)")
    }

    /// SUB: receive messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: Data = Data()) throws {
        try set(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE", bytes: Array(prefix), shown: "(\(prefix.count) bytes)")
    }

    public func unsubscribe(_ prefix: Data = Data()) throws {
        try set(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE", bytes: Array(prefix), shown: "(\(prefix.count) bytes)")
    }
}
