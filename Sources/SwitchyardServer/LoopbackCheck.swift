#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Whether a `--host` is loopback, decided on the addresses it resolves to, never on its
/// text (`127.example.com` is a name, not 127.0.0.0/8).
public enum LoopbackCheck {
    public enum Verdict: Equatable, Sendable {
        /// Every address it resolves to is in 127.0.0.0/8 or is ::1.
        case loopback
        /// It resolves to this address, which is not loopback.
        case notLoopback(String)
        /// It cannot be resolved; the reason is getaddrinfo's.
        case unresolvable(String)
    }

    public static func classify(_ host: String) -> Verdict {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        var status = getaddrinfo(host, nil, &hints, &result)
        if status != 0 {
            // AI_ADDRCONFIG hides ::1 where no interface has IPv6: ask again without it.
            hints.ai_flags = 0
            status = getaddrinfo(host, nil, &hints, &result)
        }
        guard status == 0, let first = result else {
            return .unresolvable(String(cString: gai_strerror(status)))
        }
        defer { freeaddrinfo(first) }
        var entry: UnsafeMutablePointer<addrinfo>? = first
        while let current = entry {
            if let address = current.pointee.ai_addr {
                switch Int32(address.pointee.sa_family) {
                case AF_INET:
                    let ipv4 = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr.s_addr }
                    let value = UInt32(bigEndian: ipv4)
                    if value >> 24 != 127 {
                        return .notLoopback(Self.text(value))
                    }
                case AF_INET6:
                    let bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in
                        withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) }
                    }
                    if bytes != Array(repeating: 0, count: 15) + [1] {
                        return .notLoopback("an IPv6 address other than ::1")
                    }
                default:
                    return .notLoopback("an address of family \(address.pointee.sa_family)")
                }
            }
            entry = current.pointee.ai_next
        }
        return .loopback
    }

    private static func text(_ value: UInt32) -> String {
        [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xFF) }.joined(separator: ".")
    }
}
