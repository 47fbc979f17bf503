import Foundation

/// A parsed HTTP/1.x request head (the live view reads no bodies).
public struct LiveHTTPRequest: Sendable, Equatable {
    public var method: String
    /// The request target as sent.
    public var target: String
    /// The target's path, without the query.
    public var path: String
    /// The query's `name=value` pairs (no percent-decoding: the live view's names are plain).
    public var query: [String: String] = [:]
    public var version: String
    /// Header names lowercased; a repeated header keeps its last value.
    public var headers: [String: String]
}

/// An HTTP response; `Content-Length` and `Connection: close` are added when serialised.
public struct LiveHTTPResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, contentType: String = "text/plain; charset=utf-8", headers: [(String, String)] = [], body: Data) {
        self.status = status
        self.headers = [("Content-Type", contentType), ("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")] + headers
        self.body = body
    }

    /// A plain-text response for an error status: the reason phrase and a line of detail.
    public static func error(_ status: Int, _ detail: String, headers: [(String, String)] = []) -> LiveHTTPResponse {
        LiveHTTPResponse(status: status, headers: headers, body: Data("\(status) \(reason(status)): \(detail)\n".utf8))
    }

    public static func reason(_ status: Int) -> String {
        switch status {
        case 200: "OK"
        case 204: "No Content"
        case 400: "Bad Request"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 408: "Request Timeout"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }

    /// The bytes on the wire; a HEAD response has the GET's headers and no body.
    public func serialised(includeBody: Bool = true) -> Data {
        var head = "HTTP/1.1 \(status) \(LiveHTTPResponse.reason(status))\r\n"
        for (name, value) in headers { head += "\(name): \(value)\r\n" }
        head += "Content-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        var out = Data(head.utf8)
        if includeBody { out.append(body) }
        return out
    }

    public static func == (a: LiveHTTPResponse, b: LiveHTTPResponse) -> Bool {
        a.status == b.status && a.body == b.body && a.headers.map { [$0.0, $0.1] } == b.headers.map { [$0.0, $0.1] }
    }
}

/// The request-head parser: pure, fed the bytes received so far.
public enum LiveHTTPParser {
    public enum Outcome: Sendable, Equatable {
        /// The head is not complete yet; read more.
        case incomplete
        case request(LiveHTTPRequest)
        /// Answer with this status and close.
        case invalid(status: Int, detail: String)
    }

    /// Parses a request head ending in CRLF CRLF (bare LF line ends are accepted too). A head
    /// longer than `limit` bytes is 431; a malformed one 400; a version other than HTTP/1.0 or
    /// HTTP/1.1 is 505.
    public static func parse(_ bytes: [UInt8], limit: Int = 16 * 1024) -> Outcome {
        guard let end = headEnd(bytes) else {
            return bytes.count >= limit ? .invalid(status: 431, detail: "request head over \(limit) bytes") : .incomplete
        }
        if end > limit { return .invalid(status: 431, detail: "request head over \(limit) bytes") }
        // Lines split on LF bytes (a Swift Character would keep CR LF together), CR dropped.
        var lines: [String] = []
        for raw in bytes[..<end].split(separator: 0x0A, omittingEmptySubsequences: false) {
            let line = raw.last == 0x0D ? raw.dropLast() : raw[...]
            guard let text = String(bytes: line, encoding: .utf8) else {
                return .invalid(status: 400, detail: "request head is not UTF-8")
            }
            lines.append(text)
        }
        while lines.last?.isEmpty == true { lines.removeLast() }
        guard let requestLine = lines.first else { return .invalid(status: 400, detail: "empty request") }
        let parts = requestLine.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .invalid(status: 400, detail: "malformed request line") }
        let method = String(parts[0]), target = String(parts[1]), version = String(parts[2])
        guard !method.isEmpty, method.unicodeScalars.allSatisfy({ ("A"..."Z").contains($0) || $0 == "-" || $0 == "_" }) else {
            return .invalid(status: 400, detail: "malformed method")
        }
        guard version.hasPrefix("HTTP/") else { return .invalid(status: 400, detail: "malformed version") }
        guard version == "HTTP/1.1" || version == "HTTP/1.0" else { return .invalid(status: 505, detail: "only HTTP/1.0 and HTTP/1.1") }
        var path = target
        if let scheme = ["http://", "https://"].first(where: { target.lowercased().hasPrefix($0) }) {
            // Absolute form: drop the scheme and authority.
            let rest = target.dropFirst(scheme.count)
            path = rest.firstIndex(of: "/").map { String(rest[$0...]) } ?? "/"
        }
        guard path.hasPrefix("/"), !path.contains(where: { $0.isWhitespace || $0.asciiValue.map { $0 < 0x20 } ?? false }) else {
            return .invalid(status: 400, detail: "malformed request target")
        }
        var query: [String: String] = [:]
        if let q = path.firstIndex(where: { $0 == "?" || $0 == "#" }) {
            if path[q] == "?" {
                let rest = path[path.index(after: q)...].prefix { $0 != "#" }
                for pair in rest.split(separator: "&") {
                    let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    query[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
                }
            }
            path = String(path[..<q])
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return .invalid(status: 400, detail: "malformed header line") }
            let name = line[..<colon]
            guard !name.isEmpty, !name.contains(where: { $0.isWhitespace }) else {
                return .invalid(status: 400, detail: "malformed header name")
            }
            headers[name.lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return .request(LiveHTTPRequest(method: method, target: target, path: path, query: query, version: version,
                                        headers: headers))
    }

    /// The index just past the blank line ending the head, if received.
    static func headEnd(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x0A {
                if i + 1 < bytes.count, bytes[i + 1] == 0x0A { return i + 2 }
                if i + 2 < bytes.count, bytes[i + 1] == 0x0D, bytes[i + 2] == 0x0A { return i + 3 }
            }
            i += 1
        }
        return nil
    }
}
