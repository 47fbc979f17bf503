import Foundation

/// A WordPiece vocabulary: token text ↔ id, where the id is the token's line number in `vocab.txt`.
///
/// Lookups compare exact UTF-8 bytes, like the Rust `HashMap<String, u32>` in `tokenizers`. A Swift
/// `Dictionary<String, _>` would not do: `String` equality is canonical equivalence, so "é" and
/// "e\u{301}" would collide although HF treats them as different tokens. The table is also what makes
/// WordPiece cheap: a candidate piece is looked up straight from the word's byte buffer (optionally
/// behind the "##" prefix) without building a `String` per candidate.
public struct Vocabulary: Sendable {
    /// Token text by id, exactly as read (the file's line, without its line terminator).
    private let tokens: [String]
    /// UTF-8 of all tokens back to back; token `i` is `keyBytes[keyStarts[i] ..< keyStarts[i + 1]]`.
    private let keyBytes: [UInt8]
    private let keyStarts: [Int32]
    /// Open-addressing hash table (linear probing) of ids; -1 marks an empty slot.
    private let slots: [Int32]
    private let slotMask: Int
    /// Longest token in Unicode scalars: WordPiece never needs to try a longer candidate.
    let maxTokenScalars: Int

    /// Ids are the indices into `tokens`. When a token occurs twice, lookups return the later id, as
    /// HF's vocab loaders do (both the Rust `read_file` and Python `load_vocab` overwrite in a map).
    public init(tokens: [String]) throws {
        try self.init(tokens: tokens, source: nil)
    }

    /// Reads a `vocab.txt`: one token per line, id = line index (counting from 0).
    ///
    /// Lines end at "\n", "\r\n" or "\r" and only the terminator is removed — the same lines Python's
    /// `open(..., "r").readlines()` + `rstrip("\n")` give in transformers' `load_vocab`, so empty lines
    /// and tokens with trailing spaces keep their ids. A final line terminator does not start an extra
    /// (empty) token.
    public init(contentsOf url: URL) throws {
        let path = url.path
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) {
                throw TokenizerError.vocabularyNotFound(path: path)
            }
            let reason = isDirectory.boolValue ? "it is a directory" : "\(error.localizedDescription)"
            throw TokenizerError.vocabularyUnreadable(path: path, reason: reason)
        }
        if data.isEmpty { throw TokenizerError.vocabularyEmpty(path: path) }
        let bytes = [UInt8](data)
        var tokens: [String] = []
        tokens.reserveCapacity(bytes.count / 6)
        var lineStart = 0
        var i = 0
        func appendLine(_ end: Int) throws {
            guard let token = String(validating: bytes[lineStart..<end], as: UTF8.self) else {
                throw TokenizerError.vocabularyNotUTF8(path: path, line: tokens.count + 1)
            }
            tokens.append(token)
        }
        while i < bytes.count {
            let b = bytes[i]
            if b == 0x0A || b == 0x0D {
                try appendLine(i)
                i += (b == 0x0D && i + 1 < bytes.count && bytes[i + 1] == 0x0A) ? 2 : 1
                lineStart = i
            } else {
                i += 1
            }
        }
        if lineStart < bytes.count { try appendLine(bytes.count) }
        try self.init(tokens: tokens, source: path)
    }

    init(tokens: [String], source: String?) throws {
        guard !tokens.isEmpty else { throw TokenizerError.vocabularyEmpty(path: source) }
        var keyBytes: [UInt8] = []
        var keyStarts: [Int32] = [0]
        keyBytes.reserveCapacity(tokens.count * 8)
        keyStarts.reserveCapacity(tokens.count + 1)
        var maxScalars = 0
        for token in tokens {
            keyBytes.append(contentsOf: token.utf8)
            keyStarts.append(Int32(keyBytes.count))
            maxScalars = max(maxScalars, token.unicodeScalars.count)
        }
        var capacity = 16
        while capacity < tokens.count * 2 { capacity <<= 1 }
        var slots = [Int32](repeating: -1, count: capacity)
        let mask = capacity - 1
        keyBytes.withUnsafeBufferPointer { all in
            for id in tokens.indices {
                let key = UnsafeBufferPointer(rebasing: all[Int(keyStarts[id])..<Int(keyStarts[id + 1])])
                var slot = Int(truncatingIfNeeded: Vocabulary.hash(key, continuation: false)) & mask
                while true {
                    let occupant = slots[slot]
                    if occupant < 0 {
                        slots[slot] = Int32(id)
                        break
                    }
                    let other = UnsafeBufferPointer(
                        rebasing: all[Int(keyStarts[Int(occupant)])..<Int(keyStarts[Int(occupant) + 1])])
                    if other.elementsEqual(key) {
                        slots[slot] = Int32(id)  // duplicate line: the later id wins, as in HF
                        break
                    }
                    slot = (slot + 1) & mask
                }
            }
        }
        self.tokens = tokens
        self.keyBytes = keyBytes
        self.keyStarts = keyStarts
        self.slots = slots
        self.slotMask = mask
        self.maxTokenScalars = maxScalars
    }

    /// Number of ids (lines), duplicates included.
    public var count: Int { tokens.count }

    public func id(of token: String) -> Int32? {
        var token = token
        return token.withUTF8 { lookup($0, continuation: false) }
    }

    /// The line the id came from. For a duplicated token this is still the line's text, although
    /// `id(of:)` of that text returns the later id.
    public func token(of id: Int32) -> String? {
        guard id >= 0, Int(id) < tokens.count else { return nil }
        return tokens[Int(id)]
    }

    /// Id of `bytes`, or of "##" + `bytes` when `continuation` (WordPiece's continuing-subword prefix),
    /// without materialising the prefixed key.
    func lookup(_ bytes: UnsafeBufferPointer<UInt8>, continuation: Bool) -> Int32? {
        let prefix = continuation ? 2 : 0
        var slot = Int(truncatingIfNeeded: Vocabulary.hash(bytes, continuation: continuation)) & slotMask
        return keyBytes.withUnsafeBufferPointer { all -> Int32? in
            while true {
                let id = slots[slot]
                if id < 0 { return nil }
                let start = Int(keyStarts[Int(id)])
                let end = Int(keyStarts[Int(id) + 1])
                if end - start == bytes.count + prefix {
                    var equal = true
                    if continuation {
                        equal = all[start] == 0x23 && all[start + 1] == 0x23
                    }
                    if equal {
                        var k = 0
                        let base = start + prefix
                        while k < bytes.count {
                            if all[base + k] != bytes[k] { equal = false; break }
                            k += 1
                        }
                    }
                    if equal { return id }
                }
                slot = (slot + 1) & slotMask
            }
        }
    }

    /// FNV-1a, 64-bit; "##" is hashed first for continuation pieces so it equals the stored key's hash.
    @inline(__always)
    private static func hash(_ bytes: UnsafeBufferPointer<UInt8>, continuation: Bool) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        if continuation {
            h = (h ^ 0x23) &* 0x0000_0100_0000_01B3
            h = (h ^ 0x23) &* 0x0000_0100_0000_01B3
        }
        for b in bytes {
            h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01B3
        }
        // Fold the high bits in: the table index uses only the low ones.
        return h ^ (h >> 29)
    }
}
