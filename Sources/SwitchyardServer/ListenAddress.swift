import NIOCore

/// How the fabric writes where it listens: `127.0.0.1:9999`, `[::1]:9999`, `unix:/path`.
public enum ListenAddress {
    /// `host:port`, with an IPv6 host in brackets (RFC 3986), as a user types it back.
    public static func describe(host: String, port: Int) -> String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    static func describe(_ address: SocketAddress?, unixPath: String?) -> String {
        if let unixPath {
            return "unix:\(unixPath)"
        }
        guard let address, let ip = address.ipAddress, let port = address.port else { return "?" }
        return Self.describe(host: ip, port: port)
    }
}
