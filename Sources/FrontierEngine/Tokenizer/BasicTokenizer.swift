/// Words of one text segment after BERT normalisation, ready for WordPiece.
///
/// The normalised scalars are kept (words back to back, whitespace dropped) together with the index of
/// the original scalar each one came from. That per-scalar origin is all HF's `NormalizedString`
/// alignments amount to for BertNormalizer: every step deletes a scalar, replaces it, or expands it
/// into several that all align to it (NFD, `to_lowercase`, the spaces around CJK), so a token's
/// original span is always `origins[first] ..< origins[last] + 1`.
struct WordBuffer {
    var scalars: [UInt32] = []
    var origins: [Int32] = []
    /// Word ranges into `scalars`, in text order; each punctuation scalar is a word of its own.
    var words: [Range<Int>] = []
    /// Whether the scalar is the first one produced from its source scalar (HF: a change of 0) rather
    /// than one inserted after it (change 1). Only NFD's canonical ordering needs to know.
    private var leads: [Bool] = []
    private var wordStart = 0
    /// Number of non-spacing marks in the current word still waiting to be dropped (strip_accents).
    private var pendingMarks = 0

    /// Marks a non-spacing mark that strip_accents will drop; it stays in `scalars` until the word
    /// ends because it still takes part in NFD's canonical ordering (see `pushDecomposed`).
    private static let markFlag: UInt32 = 0x8000_0000

    init() {
        scalars.reserveCapacity(256)
        origins.reserveCapacity(256)
        leads.reserveCapacity(256)
        words.reserveCapacity(64)
    }

    mutating func removeAll() {
        scalars.removeAll(keepingCapacity: true)
        origins.removeAll(keepingCapacity: true)
        leads.removeAll(keepingCapacity: true)
        words.removeAll(keepingCapacity: true)
        wordStart = 0
        pendingMarks = 0
    }

    /// Ends the current word (BertPreTokenizer's whitespace split, `SplitDelimiterBehavior::Removed`).
    @inline(__always)
    mutating func endWord() {
        if pendingMarks > 0 { dropMarks() }
        if scalars.count > wordStart { words.append(wordStart..<scalars.count) }
        wordStart = scalars.count
    }

    /// Adds one normalised scalar. Punctuation becomes a word of its own, as BertPreTokenizer's
    /// `SplitDelimiterBehavior::Isolated` split does.
    @inline(__always)
    mutating func push(_ scalar: UInt32, origin: Int32, lead: Bool = true) {
        if BertUnicode.isPunctuation(scalar) {
            endWord()
            append(scalar, origin, lead)
            endWord()
        } else {
            append(scalar, origin, lead)
        }
    }

    @inline(__always)
    private mutating func append(_ scalar: UInt32, _ origin: Int32, _ lead: Bool) {
        scalars.append(scalar)
        origins.append(origin)
        leads.append(lead)
    }

    /// Adds a scalar of an NFD decomposition (`isMark`: a non-spacing mark strip_accents will drop;
    /// `lead`: the first scalar of its source's decomposition).
    ///
    /// NFD puts each run of combining scalars into canonical order, so a scalar with a non-zero
    /// combining class moves in front of preceding ones with a higher class. HF's alignment crate
    /// sorts (scalar, change) pairs together and `NormalizedString::transform` then hands the
    /// original positions out in order: each lead scalar takes the next source scalar's origin, each
    /// non-lead one the origin of the lead before it. `realignRun` replays that, so offsets match
    /// HF even for reordered marks. Marks stay until the word ends for the same reason: their
    /// position still decides which origin a kept scalar gets.
    @inline(__always)
    mutating func pushDecomposed(_ scalar: UInt32, origin: Int32, lead: Bool, isMark: Bool) {
        let ccc = BertUnicode.combiningClass(scalar)
        if ccc == 0 && !isMark {
            push(scalar, origin: origin, lead: lead)
            return
        }
        append(isMark ? scalar | Self.markFlag : scalar, origin, lead)
        if isMark { pendingMarks += 1 }
        guard ccc != 0 else { return }
        let end = scalars.count
        var i = end - 1
        while i > wordStart, BertUnicode.combiningClass(scalars[i - 1] & ~Self.markFlag) > ccc {
            scalars.swapAt(i, i - 1)
            origins.swapAt(i, i - 1)
            leads.swapAt(i, i - 1)
            i -= 1
        }
        if i < end - 1 { realignRun(i..<end) }
    }

    /// Reassigns `origins` over `run` after a reordering: the lead scalars' origins, in increasing
    /// order, go to the lead positions in order; other positions repeat the last lead's origin.
    private mutating func realignRun(_ run: Range<Int>) {
        // The origins moved with their scalars, so the lead positions still hold exactly the origins
        // to hand out; they only need sorting back into text order.
        var consumed: [Int32] = []
        consumed.reserveCapacity(run.count)
        for k in run where leads[k] { consumed.append(origins[k]) }
        consumed.sort()
        var next = 0
        var last = run.lowerBound > 0 ? origins[run.lowerBound - 1] : consumed.first ?? 0
        for k in run {
            if leads[k] {
                last = consumed[next]
                next += 1
            }
            origins[k] = last
        }
    }

    /// strip_accents' filter step: removes the marks of the current word, position and origin both,
    /// which is what HF's `NormalizedString::filter` does to its alignments.
    private mutating func dropMarks() {
        var kept = wordStart
        for k in wordStart..<scalars.count where scalars[k] & Self.markFlag == 0 {
            scalars[kept] = scalars[k]
            origins[kept] = origins[k]
            leads[kept] = leads[k]
            kept += 1
        }
        scalars.removeSubrange(kept...)
        origins.removeSubrange(kept...)
        leads.removeSubrange(kept...)
        pendingMarks = 0
    }
}

/// BertNormalizer followed by BertPreTokenizer, as in HF `tokenizers` (`normalizers/bert.rs`,
/// `pre_tokenizers/bert.rs`), fused into one pass over the scalars of a segment.
///
/// HF runs the normaliser steps one after another over the whole string (clean_text,
/// handle_chinese_chars, strip_accents = NFD then drop non-spacing marks, lowercase) and then splits
/// on whitespace and punctuation. Every step acts scalar by scalar except NFD's canonical ordering,
/// which `WordBuffer.pushDecomposed` handles, so one fused pass gives the same string and alignments.
/// The character classes come from `BertUnicodeTables`, measured from the Rust library, because it
/// mixes Unicode versions (see tools/check_tokenizer.py).
struct BasicTokenizer: Sendable {
    let lowercase: Bool
    let stripAccents: Bool
    let tokenizeChineseChars: Bool

    /// `stripAccents == nil` follows `lowercase`, which is what BertNormalizer does with
    /// `strip_accents: None` (`self.strip_accents.unwrap_or(self.lowercase)`).
    init(lowercase: Bool, stripAccents: Bool?, tokenizeChineseChars: Bool) {
        self.lowercase = lowercase
        self.stripAccents = stripAccents ?? lowercase
        self.tokenizeChineseChars = tokenizeChineseChars
    }

    /// Normalises `text[range]` and appends its words to `out`; origins are indices into `text`.
    func appendWords(of text: UnsafeBufferPointer<UInt32>, range: Range<Int>, to out: inout WordBuffer) {
        for i in range {
            var c = text[i]
            let origin = Int32(truncatingIfNeeded: i)
            // clean_text: delete NUL, U+FFFD and control characters, turn whitespace into U+0020.
            if c < 0x80 {
                if c <= 0x20 || c == 0x7F {
                    if c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D {
                        out.endWord()
                    }
                    continue
                }
                // ASCII needs neither NFD nor the lower-casing table.
                if lowercase, c >= 0x41, c <= 0x5A { c |= 0x20 }
                out.push(c, origin: origin)
                continue
            }
            if BertUnicode.isRemoved(c) { continue }
            if BertUnicode.isCleanSpace(c) {
                out.endWord()
                continue
            }
            // handle_chinese_chars: spaces around the ideograph make it a word of its own.
            let isolate = tokenizeChineseChars && BertUnicode.isChinese(c)
            if isolate { out.endWord() }
            if stripAccents {
                var lead = true
                appendDecomposed(c, origin: origin, lead: &lead, to: &out)
            } else {
                let (a, b) = lowercased(c)
                out.push(a, origin: origin)
                if b != 0 { out.push(b, origin: origin, lead: false) }
            }
            if isolate { out.endWord() }
        }
        out.endWord()
    }

    /// strip_accents: the scalar's NFD, whose non-spacing marks `WordBuffer` drops at the word's end.
    /// `lead` is true until the first scalar of the decomposition has been added.
    private func appendDecomposed(_ c: UInt32, origin: Int32, lead: inout Bool, to out: inout WordBuffer) {
        if c >= 0xAC00, c <= 0xD7A3 {
            // Hangul syllables decompose arithmetically into two or three jamo (Unicode ch. 3.12);
            // jamo are starters without case, so they go straight in.
            let s = c - 0xAC00
            out.push(0x1100 + s / 588, origin: origin, lead: lead)
            out.push(0x1161 + (s % 588) / 28, origin: origin, lead: false)
            if s % 28 != 0 { out.push(0x11A7 + s % 28, origin: origin, lead: false) }
            lead = false
            return
        }
        if c >= 0xC0, let (first, second) = BertUnicode.canonicalDecomposition(c) {
            appendDecomposed(first, origin: origin, lead: &lead, to: &out)
            if second != 0 { appendDecomposed(second, origin: origin, lead: &lead, to: &out) }
            return
        }
        if c >= 0x300, BertUnicode.isNonspacingMark(c) {
            out.pushDecomposed(c, origin: origin, lead: lead, isMark: true)
            lead = false
            return
        }
        // lowercase runs after strip_accents in HF; no scalar with a non-zero combining class has a
        // lower-case mapping, so lower-casing before the canonical ordering gives the same result.
        let (a, b) = lowercased(c)
        out.pushDecomposed(a, origin: origin, lead: lead, isMark: false)
        if b != 0 { out.pushDecomposed(b, origin: origin, lead: false, isMark: false) }
        lead = false
    }

    /// lowercase: Rust `char::to_lowercase`, which may give two scalars (U+0130 → "i\u{307}").
    @inline(__always)
    private func lowercased(_ c: UInt32) -> (UInt32, UInt32) {
        guard lowercase else { return (c, 0) }
        if c < 0x80 { return (c >= 0x41 && c <= 0x5A ? c | 0x20 : c, 0) }
        return BertUnicode.lowercase(c)
    }
}
