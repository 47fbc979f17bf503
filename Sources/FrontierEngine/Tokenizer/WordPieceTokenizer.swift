/// Greedy longest-match-first WordPiece, as HF `tokenizers` `models/wordpiece` does it.
///
/// Reproduced details: a word of more than `maxInputCharsPerWord` scalars (100, counted in Rust
/// `chars()`, i.e. Unicode scalars) is one [UNK]; if any position of a word has no matching piece the
/// whole word becomes one [UNK] (not just the unmatched rest); pieces after the first are looked up
/// with the "##" prefix; [UNK]'s offsets span the whole word.
struct WordPieceTokenizer: Sendable {
    let vocabulary: Vocabulary
    let unkId: Int32
    let maxInputCharsPerWord: Int

    init(vocabulary: Vocabulary, unkId: Int32, maxInputCharsPerWord: Int = 100) {
        self.vocabulary = vocabulary
        self.unkId = unkId
        self.maxInputCharsPerWord = maxInputCharsPerWord
    }

    /// Reusable per-call buffers, so a text costs no allocation per word.
    struct Scratch {
        var bytes: [UInt8] = []
        /// `byteOffsets[k]` is where scalar `k` of the word starts in `bytes`; one extra entry at the end.
        var byteOffsets: [Int] = []

        init() {
            bytes.reserveCapacity(64)
            byteOffsets.reserveCapacity(32)
        }
    }

    /// Appends the pieces of `words.scalars[word]` to `ids`/`offsets` (offsets in original scalars).
    func appendPieces(
        of word: Range<Int>, in words: WordBuffer, scratch: inout Scratch,
        ids: inout [Int32], offsets: inout [Range<Int>]
    ) {
        let wholeWord = Int(words.origins[word.lowerBound])..<(Int(words.origins[word.upperBound - 1]) + 1)
        let n = word.count
        if n > maxInputCharsPerWord {
            ids.append(unkId)
            offsets.append(wholeWord)
            return
        }
        // UTF-8 of the word: vocabulary keys are compared byte for byte.
        scratch.bytes.removeAll(keepingCapacity: true)
        scratch.byteOffsets.removeAll(keepingCapacity: true)
        for k in word {
            scratch.byteOffsets.append(scratch.bytes.count)
            Self.appendUTF8(words.scalars[k], to: &scratch.bytes)
        }
        scratch.byteOffsets.append(scratch.bytes.count)

        let firstPiece = ids.count
        let maxScalars = vocabulary.maxTokenScalars
        var start = 0
        var matchedAll = true
        scratch.bytes.withUnsafeBufferPointer { bytes in
            while start < n {
                // Nothing longer than the longest vocabulary entry can match, so start there instead of
                // at the end of the word; the first hit is still the longest one.
                var end = min(n, start + maxScalars)
                var found: Int32?
                while end > start {
                    let piece = UnsafeBufferPointer(
                        rebasing: bytes[scratch.byteOffsets[start]..<scratch.byteOffsets[end]])
                    if let id = vocabulary.lookup(piece, continuation: start > 0) {
                        found = id
                        break
                    }
                    end -= 1
                }
                guard let id = found else {
                    matchedAll = false
                    return
                }
                ids.append(id)
                offsets.append(
                    Int(words.origins[word.lowerBound + start])
                        ..< (Int(words.origins[word.lowerBound + end - 1]) + 1))
                start = end
            }
        }
        if !matchedAll {
            ids.removeSubrange(firstPiece...)
            offsets.removeSubrange(firstPiece...)
            ids.append(unkId)
            offsets.append(wholeWord)
        }
    }

    @inline(__always)
    static func appendUTF8(_ c: UInt32, to bytes: inout [UInt8]) {
        if c < 0x80 {
            bytes.append(UInt8(c))
        } else if c < 0x800 {
            bytes.append(UInt8(0xC0 | (c >> 6)))
            bytes.append(UInt8(0x80 | (c & 0x3F)))
        } else if c < 0x10000 {
            bytes.append(UInt8(0xE0 | (c >> 12)))
            bytes.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (c & 0x3F)))
        } else {
            bytes.append(UInt8(0xF0 | (c >> 18)))
            bytes.append(UInt8(0x80 | ((c >> 12) & 0x3F)))
            bytes.append(UInt8(0x80 | ((c >> 6) & 0x3F)))
            bytes.append(UInt8(0x80 | (c & 0x3F)))
        }
    }
}
