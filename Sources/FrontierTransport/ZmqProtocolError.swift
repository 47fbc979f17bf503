import CZMQ

/// The value of a `ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL` monitor event: which rule of ZMTP,
/// CurveZMQ or ZAP a handshake broke (`ZMQ_PROTOCOL_ERROR_*` in zmq.h, stable API since 4.3).
///
/// Kept as a raw value with named constants rather than a closed enum, so a code a newer
/// libzmq adds still reaches the log (as its hex value) instead of being dropped.
public struct ZmqProtocolError: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    private init(_ value: Int32) { rawValue = UInt32(bitPattern: value) }

    // ZMTP framing and commands (zmtp_engine, null/curve mechanisms).
    public static let zmtpUnspecified = Self(ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED)
    public static let zmtpUnexpectedCommand = Self(ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND)
    public static let zmtpInvalidSequence = Self(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE)
    public static let zmtpKeyExchange = Self(ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE)
    public static let zmtpMalformedCommandUnspecified = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED)
    public static let zmtpMalformedCommandMessage = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE)
    public static let zmtpMalformedCommandHello = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO)
    public static let zmtpMalformedCommandInitiate = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE)
    public static let zmtpMalformedCommandError = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR)
    public static let zmtpMalformedCommandReady = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY)
    public static let zmtpMalformedCommandWelcome = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME)
    public static let zmtpInvalidMetadata = Self(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA)
    /// A CURVE box would not open. On a server, at HELLO this is the client encrypting to the
    /// wrong server public key (libzmq's own comment: "cannot open client HELLO -- wrong server
    /// key?"); at INITIATE, a damaged or forged handshake.
    public static let zmtpCryptographic = Self(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
    /// The peers' greetings name different security mechanisms (CURVE against NULL or PLAIN).
    public static let zmtpMechanismMismatch = Self(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
    // The ZAP handler's reply broke RFC 27 (zap_client.cpp).
    public static let zapUnspecified = Self(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED)
    public static let zapMalformedReply = Self(ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY)
    public static let zapBadRequestId = Self(ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID)
    public static let zapBadVersion = Self(ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION)
    public static let zapInvalidStatusCode = Self(ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE)
    public static let zapInvalidMetadata = Self(ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA)
    public static let wsUnspecified = Self(ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED)

    private static let names: [ZmqProtocolError: String] = [
        .zmtpUnspecified: "ZMTP_UNSPECIFIED",
        .zmtpUnexpectedCommand: "ZMTP_UNEXPECTED_COMMAND",
        .zmtpInvalidSequence: "ZMTP_INVALID_SEQUENCE",
        .zmtpKeyExchange: "ZMTP_KEY_EXCHANGE",
        .zmtpMalformedCommandUnspecified: "ZMTP_MALFORMED_COMMAND_UNSPECIFIED",
        .zmtpMalformedCommandMessage: "ZMTP_MALFORMED_COMMAND_MESSAGE",
        .zmtpMalformedCommandHello: "ZMTP_MALFORMED_COMMAND_HELLO",
        .zmtpMalformedCommandInitiate: "ZMTP_MALFORMED_COMMAND_INITIATE",
        .zmtpMalformedCommandError: "ZMTP_MALFORMED_COMMAND_ERROR",
        .zmtpMalformedCommandReady: "ZMTP_MALFORMED_COMMAND_READY",
        .zmtpMalformedCommandWelcome: "ZMTP_MALFORMED_COMMAND_WELCOME",
        .zmtpInvalidMetadata: "ZMTP_INVALID_METADATA",
        .zmtpCryptographic: "ZMTP_CRYPTOGRAPHIC",
        .zmtpMechanismMismatch: "ZMTP_MECHANISM_MISMATCH",
        .zapUnspecified: "ZAP_UNSPECIFIED",
        .zapMalformedReply: "ZAP_MALFORMED_REPLY",
        .zapBadRequestId: "ZAP_BAD_REQUEST_ID",
        .zapBadVersion: "ZAP_BAD_VERSION",
        .zapInvalidStatusCode: "ZAP_INVALID_STATUS_CODE",
        .zapInvalidMetadata: "ZAP_INVALID_METADATA",
        .wsUnspecified: "WS_UNSPECIFIED",
    ]

    /// The zmq.h name, so a log line can be searched for; a code this build doesn't know is
    /// shown in hex.
    public var name: String {
        Self.names[self].map { "ZMQ_PROTOCOL_ERROR_\($0)" } ?? "protocol error 0x\(String(rawValue, radix: 16))"
    }

    public var description: String { name }

    /// A failure to open or check a CURVE box, or a bad key exchange: what a client with the
    /// wrong server key, or a forged handshake, produces.
    public var isCurveCryptography: Bool { self == .zmtpCryptographic || self == .zmtpKeyExchange }

    /// The ZAP handler's reply was malformed (libzmq's 0x2xxxxxxx range): the authenticator is at
    /// fault, not the client.
    public var isZapReplyError: Bool { rawValue & 0xF000_0000 == 0x2000_0000 }
}
