import Foundation
import FrontierAnalysis

/// Text helpers of the report: escaping, numbers, file names. Pure.
public enum ReportFormat {
    /// Escapes text for HTML and SVG content and attribute values (`& < > " '`).
    public static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            // Control characters other than tab and newlines are not allowed in HTML or XML text.
            case "\u{0}"..."\u{8}", "\u{B}", "\u{C}", "\u{E}"..."\u{1F}", "\u{7F}": out += "\u{FFFD}"
            default: out.unicodeScalars.append(character)
            }
        }
        return out
    }

    /// A value for reading: `digits` significant digits, trailing zeros kept (column alignment),
    /// scientific below 1e-3 and from 1e6; "–" when missing or not finite.
    public static func number(_ value: Double?, digits: Int = 3) -> String {
        guard let value, value.isFinite else { return "–" }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude < 1e-3 || magnitude >= 1e6 { return String(format: "%.\(max(digits - 1, 0))e", value) }
        let decimals = max(0, digits - 1 - Int(floor(log10(magnitude))))
        return String(format: "%.\(decimals)f", value)
    }

    /// A metric on the natural scale shown as points (× 100) with two decimals.
    public static func points(_ metric: Double?) -> String {
        guard let metric, metric.isFinite else { return "–" }
        return String(format: "%.2f", metric * 100)
    }

    /// A ratio as "0.42×".
    public static func ratio(_ value: Double?) -> String {
        guard let value, value.isFinite else { return "–" }
        return number(value, digits: 2) + "×"
    }

    /// An interval as "[4.55, 4.70]" (`digits` significant digits, as `number`); with
    /// `points`, the metric × 100 with two decimals as `points` writes it. Empty for nil.
    public static func interval(_ interval: ConfidenceInterval?, digits: Int = 3, points: Bool = false) -> String {
        guard let interval else { return "" }
        let f: (Double) -> String = points ? { Self.points($0) } : { number($0, digits: digits) }
        return "[\(f(interval.low)), \(f(interval.high))]"
    }

    /// A value with its interval when it has one: "4.61 [4.55, 4.70]".
    public static func number(_ value: Double?, _ interval: ConfidenceInterval?, digits: Int = 3) -> String {
        guard value != nil, let interval else { return number(value, digits: digits) }
        return number(value, digits: digits) + " " + Self.interval(interval, digits: digits)
    }

    /// A metric as points with its interval in points: "89.84 [87.90, 91.50]".
    public static func points(_ metric: Double?, _ interval: ConfidenceInterval?) -> String {
        guard metric != nil, let interval else { return points(metric) }
        return points(metric) + " " + Self.interval(interval, points: true)
    }

    /// A value, its unit, then its interval: "4.61 ms [4.55, 4.70]".
    public static func number(_ value: Double?, _ interval: ConfidenceInterval?, unit: String, digits: Int = 3) -> String {
        guard value != nil else { return number(value, digits: digits) }
        return number(value, digits: digits) + " " + unit + (interval.map { " " + Self.interval($0, digits: digits) } ?? "")
    }

    /// Points, "pt", then the interval in points: "89.84 pt [87.90, 91.50]".
    public static func points(_ metric: Double?, _ interval: ConfidenceInterval?, unit: String) -> String {
        guard metric != nil else { return points(metric) }
        return points(metric) + " " + unit + (interval.map { " " + Self.interval($0, points: true) } ?? "")
    }

    /// A ratio with its interval: "0.42× [0.40, 0.45]".
    public static func ratio(_ value: Double?, _ interval: ConfidenceInterval?) -> String {
        guard value != nil, let interval else { return ratio(value) }
        return ratio(value) + " " + Self.interval(interval, digits: 2)
    }

    /// The time of day of an RFC 3339 timestamp ("2026-12-01T12:03:10.5Z" → "12:03:10"); the
    /// text unchanged when it is not one.
    public static func clock(_ timestamp: String) -> String {
        guard let t = timestamp.firstIndex(of: "T") else { return timestamp }
        let time = timestamp[timestamp.index(after: t)...].prefix { $0.isNumber || $0 == ":" }
        return time.isEmpty ? timestamp : String(time)
    }

    /// Which baseline measurement(s) a ratio was taken against, for a sentence: "baseline
    /// agent-1/baseline#3 measured 12:03:10, 2 trials earlier", "3 paired baselines (…; …)",
    /// or "the baseline configuration's median".
    public static func baselineUsed(_ used: [BaselineUse]) -> String {
        func one(_ u: BaselineUse) -> String {
            var text = u.id
            if let at = u.measuredAt { text += " measured " + clock(at) }
            if let n = u.trialsBefore { text += n == 0 ? ", just before" : ", \(n) trial\(n == 1 ? "" : "s") earlier" }
            return text
        }
        let paired = used.filter(\.paired)
        if paired.isEmpty { return "the baseline configuration's median" }
        if paired.count == 1 { return "baseline " + one(paired[0]) }
        return "\(paired.count) paired baselines (" + paired.map(one).joined(separator: "; ") + ")"
    }

    /// A pick's ratio as a report states it: the ratio with its interval, or, when the verdict
    /// says the difference is inside the noise, that instead of a flattering number.
    public static func verdict(_ pick: FrontierSummary.Pick) -> String {
        let r = ratio(pick.ratio, pick.ratioInterval)
        switch pick.verdict {
        case .indistinguishable?: return "indistinguishable from baseline: \(r)"
        case .noChangeBeyondNoise?: return "no change beyond noise: \(r)"
        case .worse?: return "\(r), worse than baseline"
        case .baseline?: return "the baseline itself"
        case .pointValues?: return "\(r), no intervals"
        case .better?, nil: return r
        }
    }

    /// A tick label: as few digits as the tick step needs, trailing zeros dropped.
    public static func tick(_ value: Double, step: Double? = nil) -> String {
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if magnitude < 1e-3 || magnitude >= 1e6 {
            let exponent = Int(floor(log10(magnitude)))
            let mantissa = value / pow(10, Double(exponent))
            return trimmed(String(format: "%.2f", mantissa)) + "e" + String(exponent)
        }
        let decimals: Int
        if let step, step > 0 {
            decimals = max(0, -Int(floor(log10(step) + 1e-9)))
        } else {
            decimals = max(0, 2 - Int(floor(log10(magnitude))))
        }
        return trimmed(String(format: "%.\(min(decimals, 6))f", value))
    }

    static func trimmed(_ text: String) -> String {
        guard text.contains(".") else { return text }
        var out = text
        while out.hasSuffix("0") { out.removeLast() }
        if out.hasSuffix(".") { out.removeLast() }
        return out
    }

    /// A value for CSV and machine reading: the shortest text that reads back as the same
    /// Double; empty when missing, "nan"/"inf"/"-inf" when not finite.
    public static func exact(_ value: Double?) -> String {
        guard let value else { return "" }
        if value.isNaN { return "nan" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        return "\(value)"
    }

    /// A file-name part: lowercase ASCII letters, digits, `.`, `_` and `-`; anything else becomes
    /// `-`, runs of `-` collapse, leading and trailing `-`/`.` are dropped; "x" when nothing is left.
    public static func fileName(_ text: String) -> String {
        var out = ""
        for scalar in text.lowercased().unicodeScalars {
            let keep = ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) || scalar == "." || scalar == "_"
            if keep {
                out.unicodeScalars.append(scalar)
            } else if !out.hasSuffix("-") {
                out += "-"
            }
        }
        while let first = out.first, first == "-" || first == "." { out.removeFirst() }
        while let last = out.last, last == "-" || last == "." { out.removeLast() }
        return out.isEmpty ? "x" : String(out.prefix(80))
    }
}

/// RFC 4180 CSV: fields with a comma, quote, CR or LF (or surrounding spaces) in double quotes,
/// quotes doubled, records ended by CRLF.
public enum ReportCSV {
    public static func field(_ text: String) -> String {
        let needsQuotes = text.contains { $0 == "," || $0 == "\"" || $0 == "\r" || $0 == "\n" || $0 == "\r\n" }
            || text.first == " " || text.last == " "
        guard needsQuotes else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    public static func record(_ fields: [String]) -> String {
        fields.map(field).joined(separator: ",") + "\r\n"
    }

    public static func document(header: [String], rows: [[String]]) -> String {
        record(header) + rows.map(record).joined()
    }
}
