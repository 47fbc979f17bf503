#if canImport(Glibc)
import Glibc
#endif

/// A TCP port for a test's coordinator child process, which needs a number before it starts.
///
/// Drawn below Linux's ephemeral range (32768–60999 by default), where the kernel hands out the
/// source ports of every outgoing connection the rest of the suite makes — a draw from 20000–60000
/// once collided with one ("bind tcp://127.0.0.1:48710: Address already in use") — and checked by
/// binding it on all interfaces for a moment. Another process may still take it between the check
/// and the child's bind; the range makes that unlikely rather than impossible.
enum LoopbackPort {
    static func free() -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20000..<32000)
            if isFree(port) { return port }
        }
        return Int.random(in: 20000..<32000)
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr = in_addr(s_addr: INADDR_ANY)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}
