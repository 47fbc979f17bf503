import Foundation
import Testing
@testable import FrontierSupport

/// SHA-256 on both paths: the FIPS 180-4 examples, and the SHA-extensions path held to the
/// portable Swift rounds on every length around the block size and on a large buffer.
@Suite struct SHA256Tests {
    /// FIPS 180-4 (and its examples document): message → digest.
    static let vectors: [(String, String)] = [
        ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
        ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
        ("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
        ("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
        (String(repeating: "a", count: 1_000_000), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
    ]

    static var implementations: [SHA256.Implementation] {
        SHA256.Implementation.fastest == .shaExtensions ? [.portable, .shaExtensions] : [.portable]
    }

    private static func digest(_ bytes: [UInt8], _ implementation: SHA256.Implementation, splitAt split: Int? = nil) -> String {
        var hasher = SHA256(implementation: implementation)
        let cut = min(split ?? bytes.count, bytes.count)
        bytes[..<cut].withUnsafeBytes { hasher.update(bytes: $0) }
        bytes[cut...].withUnsafeBytes { hasher.update(bytes: $0) }
        return hasher.finalize()
    }

    @Test func theStandardVectorsOnEveryPathThisCPUHas() {
        for implementation in Self.implementations {
            for (message, expected) in Self.vectors {
                #expect(Self.digest(Array(message.utf8), implementation) == expected, "\(implementation), \(message.utf8.count) bytes")
                var byteWise = SHA256(implementation: implementation)
                byteWise.update(message.utf8.prefix(200))
                message.utf8.dropFirst(200).withContiguousStorageIfAvailable { byteWise.update(bytes: UnsafeRawBufferPointer($0)) }
                    ?? byteWise.update(Array(message.utf8.dropFirst(200)))
                #expect(byteWise.finalize() == expected, "\(implementation), byte-wise first, \(message.utf8.count) bytes")
            }
        }
        // The public hasher takes the fastest path.
        #expect(SHA256.hex("abc") == Self.vectors[1].1)
    }

    @Test(.enabled(if: SHA256.Implementation.fastest == .shaExtensions, "needs a CPU with the SHA extensions"))
    func theExtensionsAgreeWithThePortableRoundsOnEveryLengthUpTo300AndOnAMebibyte() {
        var generator = SplitMix64(seed: 2024)
        let bytes = (0..<(1 << 20)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        for length in 0...300 {
            let message = Array(bytes[0..<length])
            let split = Int(generator.next() % UInt64(length + 1))
            #expect(Self.digest(message, .shaExtensions, splitAt: split) == Self.digest(message, .portable), "length \(length), split \(split)")
        }
        #expect(Self.digest(bytes, .shaExtensions, splitAt: 777) == Self.digest(bytes, .portable))
        // Unaligned starts: the extension path loads with movdqu.
        #expect(Self.digest(Array(bytes[3..<(3 + 4096)]), .shaExtensions) == Self.digest(Array(bytes[3..<(3 + 4096)]), .portable))
    }
}
