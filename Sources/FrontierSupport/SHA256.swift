import CSHA256
import Foundation

/// FIPS 180-4 SHA-256: key fingerprints, the hashes tools/make_goldens.py commits, and the
/// content addresses of artifacts (Linux Foundation has no CryptoKit, and one small hash does
/// not justify a crypto package).
///
/// Whole blocks go to the CPU's SHA extensions when it has them (CSHA256): an artifact upload
/// hashes a 90 MB checkpoint, which the portable Swift rounds below do at about 110 MB/s and the
/// extensions at well over 1 GB/s (docs/artifacts.md has the measurements). The Swift rounds
/// stay as the portable path and as the reference the tests hold the fast path to.
public struct SHA256: Sendable {
    /// Who compresses the blocks.
    enum Implementation: Sendable {
        /// The Swift rounds of `compressPortably(_:)`: any CPU.
        case portable
        /// x86 sha256rnds2 / sha256msg1 / sha256msg2, through CSHA256.
        case shaExtensions

        /// The fastest this CPU runs, checked once per process.
        static let fastest: Implementation = fsha256_has_extensions() != 0 ? .shaExtensions : .portable
    }

    private let implementation: Implementation
    private var state: [UInt32] = [
        0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
    ]
    private var pending: [UInt8] = []
    private var length: UInt64 = 0

    private static let k: [UInt32] = [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ]

    public init() { self.init(implementation: .fastest) }

    /// A hasher on a chosen path (the tests compare the two).
    init(implementation: Implementation) {
        self.implementation = implementation
    }

    public mutating func update<S: Sequence>(_ bytes: S) where S.Element == UInt8 {
        for byte in bytes {
            pending.append(byte)
            length &+= 1
            if pending.count == 64 {
                compress(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Contiguous bytes: whole blocks are compressed straight from the buffer (the byte-wise
    /// path above appends each byte to a block first, too slow for a checkpoint's 90 MB).
    public mutating func update(bytes buffer: UnsafeRawBufferPointer) {
        var offset = 0
        while offset < buffer.count, !pending.isEmpty {
            pending.append(buffer[offset])
            length &+= 1
            offset += 1
            if pending.count == 64 {
                compress(pending)
                pending.removeAll(keepingCapacity: true)
            }
        }
        let whole = (buffer.count - offset) / 64 * 64
        if whole > 0 {
            compress(blocks: UnsafeRawBufferPointer(rebasing: buffer[offset..<(offset + whole)]))
            length &+= UInt64(whole)
            offset += whole
        }
        if offset < buffer.count { update(buffer[offset...]) }
    }

    /// The hex digest of a file, read in 1 MiB pieces.
    public static func hex(ofFileAt path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            chunk.withUnsafeBytes { hasher.update(bytes: $0) }
        }
        return hasher.finalize()
    }

    public mutating func finalize() -> String {
        let bitLength = length &* 8
        var tail = pending + [0x80]
        while tail.count % 64 != 56 { tail.append(0) }
        for shift in stride(from: 56, through: 0, by: -8) { tail.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift))) }
        for start in stride(from: 0, to: tail.count, by: 64) { compress(Array(tail[start..<(start + 64)])) }
        return state.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 8 - hex.count) + hex
        }.joined()
    }

    public static func hex(_ text: String) -> String {
        var hasher = SHA256()
        hasher.update(text.utf8)
        return hasher.finalize()
    }

    private mutating func compress(_ block: [UInt8]) {
        block.withUnsafeBytes { compress(blocks: $0) }
    }

    /// Whole 64-byte blocks, on this hasher's path.
    private mutating func compress(blocks: UnsafeRawBufferPointer) {
        let count = blocks.count / 64
        guard count > 0 else { return }
        switch implementation {
        case .shaExtensions:
            state.withUnsafeMutableBufferPointer { words in
                fsha256_compress_extensions(words.baseAddress!, blocks.baseAddress!.assumingMemoryBound(to: UInt8.self), count)
            }
        case .portable:
            for start in stride(from: 0, to: count * 64, by: 64) {
                compressPortably(UnsafeRawBufferPointer(rebasing: blocks[start..<(start + 64)]))
            }
        }
    }

    /// The message schedule lives on the stack: a checkpoint's 90 MB is 1.4 M blocks, and an
    /// array per block was as many heap allocations.
    private mutating func compressPortably(_ block: UnsafeRawBufferPointer) {
        func rotr(_ x: UInt32, _ n: UInt32) -> UInt32 { (x >> n) | (x << (32 - n)) }
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: 64) { w in
            for i in 0..<16 {
                w[i] = UInt32(block[4 * i]) << 24 | UInt32(block[4 * i + 1]) << 16 | UInt32(block[4 * i + 2]) << 8 | UInt32(block[4 * i + 3])
            }
            for i in 16..<64 {
                let s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)
                let s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)
                w[i] = w[i - 16] &+ s0 &+ w[i - 7] &+ s1
            }
            var (a, b, c, d, e, f, g, h) = (state[0], state[1], state[2], state[3], state[4], state[5], state[6], state[7])
            for i in 0..<64 {
                let t1 = h &+ (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) &+ ((e & f) ^ (~e & g)) &+ Self.k[i] &+ w[i]
                let t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) &+ ((a & b) ^ (a & c) ^ (b & c))
                (h, g, f, e, d, c, b, a) = (g, f, e, d &+ t1, c, b, a, t1 &+ t2)
            }
            state[0] &+= a; state[1] &+= b; state[2] &+= c; state[3] &+= d
            state[4] &+= e; state[5] &+= f; state[6] &+= g; state[7] &+= h
        }
    }
}
