
/// Lookups into the generated tables in BertUnicodeTables.swift.
enum BertUnicode {
    /// clean_text deletion set. U+FFFD and NUL are in the table as well.
    @inline(__always)
    static func isRemoved(_ c: UInt32) -> Bool {
        inRanges(c, BertUnicodeTables.removed)
    }

    @inline(__always)
    static func isCleanSpace(_ c: UInt32) -> Bool {
        if c == 0x09 || c == 0x0A || c == 0x0D { return true }
        if c < 0xA0 { return false }
        return BertUnicodeTables.cleanSpace.contains(c)
    }

    @inline(__always)
    static func isChinese(_ c: UInt32) -> Bool {
        c >= 0x3400 && inRanges(c, BertUnicodeTables.chinese)
    }

    /// BertPreTokenizer's `is_bert_punc`: ASCII punctuation (including `$+<=>^`|~`, which are symbols
    /// in Unicode) or a P* scalar by the old `unicode_categories` tables.
    @inline(__always)
    static func isPunctuation(_ c: UInt32) -> Bool {
        if c < 0x80 {
            return (c >= 0x21 && c <= 0x2F) || (c >= 0x3A && c <= 0x40) || (c >= 0x5B && c <= 0x60)
                || (c >= 0x7B && c <= 0x7E)
        }
        return inRanges(c, BertUnicodeTables.punctuation)
    }

    @inline(__always)
    static func isNonspacingMark(_ c: UInt32) -> Bool {
        inRanges(c, BertUnicodeTables.nonspacingMarks)
    }

    /// One step of canonical decomposition; the second scalar is 0 for singleton mappings.
    @inline(__always)
    static func canonicalDecomposition(_ c: UInt32) -> (UInt32, UInt32)? {
        let table = BertUnicodeTables.canonicalDecompositions
        guard let k = findKey(c, in: table, stride: 3) else { return nil }
        return (table[k + 1], table[k + 2])
    }

    /// Rust `to_lowercase` of a non-ASCII scalar; the second value is 0 unless it expands.
    static func lowercase(_ c: UInt32) -> (UInt32, UInt32) {
        let multi = BertUnicodeTables.lowercaseMulti
        if let k = findKey(c, in: multi, stride: 3) { return (multi[k + 1], multi[k + 2]) }
        let runs = BertUnicodeTables.lowercaseRuns
        // Last run whose first scalar is <= c.
        var lo = 0
        var hi = runs.count / 4
        while lo < hi {
            let mid = (lo + hi) / 2
            if UInt32(runs[mid * 4]) <= c { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return (c, 0) }
        let r = (lo - 1) * 4
        let first = UInt32(runs[r])
        let last = UInt32(runs[r + 1])
        let step = UInt32(runs[r + 2])
        guard c <= last, (c - first) % step == 0 else { return (c, 0) }
        return (UInt32(Int32(c) + runs[r + 3]), 0)
    }

    /// Canonical combining class as HF's NFD crate sees it, used only to order combining scalars.
    /// Below U+0300 every scalar is a starter.
    @inline(__always)
    static func combiningClass(_ c: UInt32) -> UInt32 {
        guard c >= 0x300 else { return 0 }
        let table = BertUnicodeTables.combiningClasses
        var lo = 0
        var hi = table.count / 3
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[mid * 3 + 1] < c { lo = mid + 1 } else { hi = mid }
        }
        return lo < table.count / 3 && table[lo * 3] <= c ? table[lo * 3 + 2] : 0
    }

    /// Membership in inclusive ranges stored flat as first, last, first, last, … (sorted).
    @inline(__always)
    static func inRanges(_ c: UInt32, _ table: [UInt32]) -> Bool {
        var lo = 0
        var hi = table.count / 2
        while lo < hi {
            let mid = (lo + hi) / 2
            if table[mid * 2 + 1] < c { lo = mid + 1 } else { hi = mid }
        }
        return lo < table.count / 2 && table[lo * 2] <= c
    }

    /// Index of the record whose first field is `c` in a table of sorted fixed-size records.
    @inline(__always)
    static func findKey(_ c: UInt32, in table: [UInt32], stride: Int) -> Int? {
        var lo = 0
        var hi = table.count / stride
        while lo < hi {
            let mid = (lo + hi) / 2
            let key = table[mid * stride]
            if key == c { return mid * stride }
            if key < c { lo = mid + 1 } else { hi = mid }
        }
        return nil
    }
}
