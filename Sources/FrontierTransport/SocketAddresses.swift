import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Both ends of a TCP connection, read from the kernel by descriptor, as `"ip:port"` text.
///
/// libzmq's v1 monitor events name a bound socket's own endpoint, never the peer, but
/// ACCEPTED carries the new connection's descriptor: `getpeername` on it, while the connection
/// lives, is the only way to learn who connected.
struct SocketAddresses: Sendable, Equatable {
    /// Our end: `"127.0.0.1:5555"`, `"[::1]:5555"`.
    var local: String
    /// The other end: `"127.0.0.1:40312"`.
    var peer: String

    /// nil unless `fd` is a connected IPv4/IPv6 socket (closed, reused for something else,
    /// or a Unix socket all give nil).
    static func of(fd: Int32) -> SocketAddresses? {
        guard let local = address(of: fd, peer: false), let peer = address(of: fd, peer: true) else { return nil }
        return SocketAddresses(local: local, peer: peer)
    }

    /// The port at the end of `"ip:port"` or `"tcp://host:port"`.
    static func port(of text: String) -> UInt16? {
        guard let colon = text.lastIndex(of: ":") else { return nil }
        return UInt16(text[text.index(after: colon)...])
    }

    private static func address(of fd: Int32, peer: Bool) -> String? {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let rc = withUnsafeMutablePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                peer ? getpeername(fd, address, &length) : getsockname(fd, address, &length)
            }
        }
        guard rc == 0 else { return nil }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { inet in
                    let address = withUnsafePointer(to: inet.pointee.sin_addr) { text(family: AF_INET, $0) }
                    return address.map { "\($0):\(UInt16(bigEndian: inet.pointee.sin_port))" }
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) { pointer in
                pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { inet6 in
                    let address = withUnsafePointer(to: inet6.pointee.sin6_addr) { text(family: AF_INET6, $0) }
                    return address.map { "[\($0)]:\(UInt16(bigEndian: inet6.pointee.sin6_port))" }
                }
            }
        default:
            return nil
        }
    }

    /// `inet_ntop` of the `in_addr`/`in6_addr` at `address`.
    private static func text(family: Int32, _ address: UnsafeRawPointer) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(family, address, &buffer, socklen_t(buffer.count)) != nil else { return nil }
        return String(nulTerminated: buffer)
    }
}
