#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `HOST:PORT` a service listens on (`[v6]:PORT` for IPv6 literals), and whether it is
/// reachable from this machine only: the one case where the service may run without keys.
public struct ListenAddress: Sendable, Equatable {
    public let host: String
    public let port: Int

    public init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty else { return nil }
        self.host = host
        self.port = port
    }

    /// True for an IPv4 literal in 127.0.0.0/8, the IPv6 literal ::1 (or an IPv4-mapped
    /// 127.x address), and the name `localhost` exactly. Any other name is not loopback, whatever
    /// it starts with: `127.example.com` is a DNS name anyone can point anywhere, and a name
    /// that resolves to loopback today may not tomorrow. Literals are parsed, not compared as
    /// text, so `127.1` or `0x7f.0.0.1` (which inet_pton refuses) are refused too.
    public var isLoopback: Bool {
        if host == "localhost" { return true }
        if let address = IPAddressBytes(ipv4: host) { return address.bytes[0] == 127 }
        if let address = IPAddressBytes(ipv6: host) {
            let bytes = address.bytes
            if bytes == [UInt8](repeating: 0, count: 15) + [1] { return true }
            let mappedPrefix = [UInt8](repeating: 0, count: 10) + [0xFF, 0xFF]
            return Array(bytes.prefix(12)) == mappedPrefix && bytes[12] == 127
        }
        return false
    }
}

/// An address literal's bytes in network order, parsed by inet_pton: the one place the
/// service calls it.
struct IPAddressBytes {
    let bytes: [UInt8]

    init?(ipv4 text: String) {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &address) { Array($0) }
    }

    init?(ipv6 text: String) {
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        bytes = withUnsafeBytes(of: &address) { Array($0) }
    }
}
