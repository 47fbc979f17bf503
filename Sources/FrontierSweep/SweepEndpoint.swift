import Foundation

/// ZeroMQ endpoints as Frontier's commands take them. The one rule they enforce: traffic that
/// leaves the machine is CURVE-encrypted and authenticated, so a plain connection is allowed
/// only on loopback (and ipc/inproc, which never leave it).
public enum SweepEndpoint {
    public static func host(_ endpoint: String) -> String? {
        guard endpoint.hasPrefix("tcp://") else { return nil }
        var rest = endpoint.dropFirst("tcp://".count)
        if rest.hasPrefix("[") {
            guard let close = rest.firstIndex(of: "]") else { return nil }
            return String(rest[rest.index(after: rest.startIndex)..<close])
        }
        if let colon = rest.lastIndex(of: ":") { rest = rest[..<colon] }
        // `tcp://eth0;10.0.0.5:5555` (source;destination): the destination decides.
        if let semicolon = rest.lastIndex(of: ";") { rest = rest[rest.index(after: semicolon)...] }
        return String(rest)
    }

    public static func isLoopback(_ endpoint: String) -> Bool {
        if endpoint.hasPrefix("ipc://") || endpoint.hasPrefix("inproc://") { return true }
        guard let host = host(endpoint)?.lowercased() else { return false }
        return host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }

    /// `HOST:PORT` or `:PORT` or `PORT` → a tcp endpoint, for flags that take an address.
    public static func normalise(_ text: String) -> String {
        if text.contains("://") { return text }
        if Int(text) != nil { return "tcp://127.0.0.1:\(text)" }
        if text.hasPrefix(":") { return "tcp://127.0.0.1\(text)" }
        return "tcp://\(text)"
    }
}
