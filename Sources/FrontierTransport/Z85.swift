import CZMQ
import Foundation

/// ZeroMQ's Z85 text encoding (RFC 32), in which CURVE keys are written: 32 bytes ↔ 40 characters.
enum Z85 {
    static let alphabet = Set(
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#".utf8)

    /// Length of a CURVE key in Z85 characters.
    static let keyLength = 40

    /// `bytes.count` must be a multiple of 4.
    static func encode<Bytes: Collection>(_ bytes: Bytes) -> String? where Bytes.Element == UInt8 {
        let input = Array(bytes)
        guard input.count % 4 == 0 else { return nil }
        var out = [CChar](repeating: 0, count: input.count * 5 / 4 + 1)
        let ok = input.withUnsafeBufferPointer { src in
            zmq_z85_encode(&out, src.baseAddress, src.count) != nil
        }
        guard ok else { return nil }
        return String(nulTerminated: out)
    }

    /// Strict: only the alphabet, a multiple of 5 characters, and canonical (re-encodes to the
    /// same text, which rejects 5-character groups above 2³²).
    static func decode(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard !utf8.isEmpty, utf8.count % 5 == 0, utf8.allSatisfy(alphabet.contains) else { return nil }
        var out = [UInt8](repeating: 0, count: utf8.count * 4 / 5)
        let ok = text.withCString { zmq_z85_decode(&out, $0) != nil }
        guard ok, encode(out) == text else { return nil }
        return out
    }

    /// A 40-character Z85 string that decodes to a 32-byte key.
    static func isCurveKey(_ text: String) -> Bool {
        text.utf8.count == keyLength && decode(text)?.count == 32
    }
}

extension String {
    /// The text before the first NUL of a C buffer libzmq filled.
    init(nulTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
