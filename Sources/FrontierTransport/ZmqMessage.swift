import Foundation

/// A whole multipart message as received, with the connection's metadata.
public struct ZmqMessage: Sendable, Equatable {
    public var frames: [Data]
    /// The ZAP `User-Id` of the connection it came in on. Under `ZapAuthenticator` this is the
    /// peer's Z85 CURVE public key; nil for connections that ZAP never saw (plain NULL without
    /// a ZAP domain).
    public var userId: String?
    /// The peer's IP address as libzmq saw it (`Peer-Address`), nil for inproc/ipc.
    public var peerAddress: String?

    public init(frames: [Data], userId: String? = nil, peerAddress: String? = nil) {
        self.frames = frames
        self.userId = userId
        self.peerAddress = peerAddress
    }
}
