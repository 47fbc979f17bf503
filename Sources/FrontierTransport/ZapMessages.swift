import Foundation

/// A ZAP 1.0 request (RFC 27) as the REP socket at `inproc://zeromq.zap.01` receives it (the
/// envelope already stripped): version, request id, domain, address, identity, mechanism, then
/// the mechanism's credentials (CURVE: one 32-byte client public key; NULL: none).
struct ZapRequest: Equatable, Sendable {
    var version: String
    var requestId: Data
    var domain: String
    var address: String
    var identity: Data
    var mechanism: String
    var credentials: [Data]

    init(version: String = "1.0", requestId: Data = Data("1".utf8), domain: String = "", address: String = "",
         identity: Data = Data(), mechanism: String, credentials: [Data] = []) {
        self.version = version
        self.requestId = requestId
        self.domain = domain
        self.address = address
        self.identity = identity
        self.mechanism = mechanism
        self.credentials = credentials
    }

    /// Nil when there are fewer than the six fixed frames.
    init?(frames: [Data]) {
        guard frames.count >= 6 else { return nil }
        version = String(decoding: frames[0], as: UTF8.self)
        requestId = frames[1]
        domain = String(decoding: frames[2], as: UTF8.self)
        address = String(decoding: frames[3], as: UTF8.self)
        identity = frames[4]
        mechanism = String(decoding: frames[5], as: UTF8.self)
        credentials = Array(frames[6...])
    }

    var frames: [Data] {
        [Data(version.utf8), requestId, Data(domain.utf8), Data(address.utf8), identity, Data(mechanism.utf8)] + credentials
    }
}

/// A ZAP 1.0 reply: version, request id, status code, status text, user id, metadata.
struct ZapReply: Equatable, Sendable {
    var requestId: Data
    /// "200" accepted, "300" temporary failure, "400" rejected, "500" internal/malformed.
    var statusCode: String
    var statusText: String
    /// Becomes the connection's `User-Id` property (`ZmqMessage.userId`).
    var userId: String

    var frames: [Data] {
        [Data("1.0".utf8), requestId, Data(statusCode.utf8), Data(statusText.utf8), Data(userId.utf8), Data()]
    }

    var accepted: Bool { statusCode == "200" }
}
