/// `switchyardd --vxlan NAME=REMOTE_IP[:PORT]... [--vxlan-vni 42] [--vxlan-listen HOST:PORT]
/// [--vxlan-mtu 1500]`: the fabric's VXLAN uplinks.
public struct VXLANConfiguration: Hashable, Sendable {
    public struct Remote: Hashable, Sendable {
        public var name: String
        public var host: String
        public var port: Int

        public init(name: String, host: String, port: Int) {
            self.name = name
            self.host = host
            self.port = port
        }
    }

    /// IANA's VXLAN port (RFC 7348).
    public static let defaultPort = 4789
    public static let defaultVNI: UInt32 = 42

    public var remotes: [Remote]
    public var vni = Self.defaultVNI
    public var listenHost = "127.0.0.1"
    public var listenPort = Self.defaultPort
    /// Largest outer IP packet (as a kernel device's MTU).
    public var mtu = 1500

    public init(remotes: [Remote]) {
        self.remotes = remotes
    }

    /// Parses `NAME=IP`, `NAME=IP:PORT`, `NAME=[IPv6]:PORT`; the reason when it is not one.
    public static func parseRemote(_ text: String) -> Result<Remote, ParseError> {
        let parts = text.split(separator: "=", maxSplits: 1)
        guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
            return .failure(ParseError(message: "--vxlan \(text): want NAME=REMOTE_IP or NAME=REMOTE_IP:PORT"))
        }
        let address: HostPort
        switch HostPort.parse(parts[1], portRequired: false) {
        case .success(let parsed): address = parsed
        case .failure(let failure) where failure.code == .missingHost: return .failure(ParseError(message: "--vxlan \(text): the remote's address is missing"))
        case .failure: return .failure(ParseError(message: "--vxlan \(text): the port must be from 1 to 65535"))
        }
        let host = address.host
        let port = address.port ?? Self.defaultPort
        guard Self.isIPAddress(host) else {
            return .failure(ParseError(message: "--vxlan \(text): \(host) is not an IP address (VXLAN remotes are addresses, not names)"))
        }
        return .success(Remote(name: String(parts[0]), host: host, port: port))
    }

    static func isIPAddress(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    public struct ParseError: Error, Hashable, Sendable, CustomStringConvertible {
        public var message: String
        public var description: String { self.message }
    }
}

#if canImport(Glibc)
import Glibc
#endif
