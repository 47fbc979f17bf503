import Foundation

/// Timestamps for fleet log lines: RFC 3339 in UTC with milliseconds
/// (`2026-12-06T19:37:28.412Z`), so that the coordinator's and every agent's lines from
/// different machines sort and line up.
public enum LogTime {
    /// The current time as RFC 3339 with milliseconds, UTC.
    public static func now() -> String {
        var tv = timeval()
        gettimeofday(&tv, nil)
        return format(seconds: Int(tv.tv_sec), milliseconds: Int(tv.tv_usec) / 1000)
    }

    /// `seconds` since the Unix epoch plus `milliseconds` (0–999), as RFC 3339, UTC.
    public static func format(seconds: Int, milliseconds: Int) -> String {
        var t = time_t(seconds)
        var parts = tm()
        gmtime_r(&t, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
                      Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), milliseconds)
    }

    /// `line` with the current time in front, as every fleet log line is written.
    public static func stamped(_ line: String) -> String { "\(now()) \(line)" }
}
