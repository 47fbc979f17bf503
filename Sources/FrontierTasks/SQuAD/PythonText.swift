/// The pieces of Python's `str` semantics that SQuAD's reference code relies on, per Unicode
/// scalar (Python strings are sequences of code points, and so are these).
///
/// Swift's own notions differ in ways that would change scores: `Character.isWhitespace` is not
/// `str.isspace()` (U+001C–U+001F are space to Python), `String.lowercased()` does not apply
/// Python's final-sigma rule, and `String ==` is canonical equivalence where Python compares code
/// points ("é" ≠ "e\u{301}" in Python).
///
/// Checked against CPython 3.11 over every code point: `lower` and `isWordCharacter` agree except
/// on characters that Unicode 14 (Python's tables) leaves unassigned and later versions (Swift's)
/// assign.
enum PythonText {
    /// `str.isspace()`: bidirectional class WS, B or S, or category Zs (CPython's
    /// `_PyUnicode_IsWhitespace`, the set `str.split()` splits on).
    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x09...0x0D, 0x1C...0x20, 0x85, 0xA0, 0x1680, 0x2000...0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000:
            return true
        default:
            return false
        }
    }

    /// A word character of Python's `re` for `str` patterns (`\w`, and so `\b`): `str.isalnum()` or
    /// "_", where isalnum is a letter (Lu, Ll, Lt, Lm, Lo) or any numeric character. Combining marks
    /// are not word characters, so "a\u{301}" still contains the word "a" for `\b(a|an|the)\b`.
    static func isWordCharacter(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == "_" { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return true
        default:
            return scalar.properties.numericType != nil
        }
    }

    /// `str.lower()`: the full lowercase mapping of each code point (one may become several, e.g.
    /// "İ" → "i̇"), with capital sigma becoming final "ς" when it ends a word — CPython's
    /// `handle_capital_sigma`: preceded by a cased letter and not followed by one, skipping
    /// case-ignorable characters both ways.
    static func lower(_ scalars: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(scalars.count)
        for (i, scalar) in scalars.enumerated() {
            if scalar.isASCII {
                out.append(scalar.value >= 0x41 && scalar.value <= 0x5A ? Unicode.Scalar(UInt8(scalar.value + 32)) : scalar)
            } else if scalar.value == 0x3A3 {
                out.append(isFinalSigma(scalars, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else {
                out += scalar.properties.lowercaseMapping.unicodeScalars
            }
        }
        return out
    }

    private static func isFinalSigma(_ s: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0, s[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, s[j].properties.isCased else { return false }
        j = i + 1
        while j < s.count, s[j].properties.isCaseIgnorable { j += 1 }
        return j == s.count || !s[j].properties.isCased
    }
}
