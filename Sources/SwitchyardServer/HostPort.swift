/// A host and port as the daemon's flags write them: `HOST:PORT`, `[IPv6]:PORT`, or, where the
/// port may be left out, a bare host or IPv6 address. The one parser of `--qemu`, `--vxlan` and
/// `--vxlan-listen` addresses; each flag words its own error.
public struct HostPort: Hashable, Sendable {
    public var host: String
    /// Nil when the text had none (only where `portRequired` is false).
    public var port: Int?

    public init(host: String, port: Int?) {
        self.host = host
        self.port = port
    }

    public enum Failure: Error, Hashable, Sendable {
        /// No port, or one outside 1…65535.
        case badPort
        case missingHost
    }

    /// With `portRequired`, the last colon outside brackets starts the port (`::1:7000` is
    /// host `::1`); without, an unbracketed text with several colons is a bare IPv6 address.
    public static func parse(_ text: some StringProtocol, portRequired: Bool) -> Result<HostPort, Failure> {
        let text = String(text)
        var host: String
        var portText: Substring?
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            host = String(text[text.index(after: text.startIndex)..<close])
            let rest = text[text.index(after: close)...]
            if rest.hasPrefix(":") {
                portText = rest.dropFirst()
            } else if !rest.isEmpty {
                return .failure(.badPort)
            }
        } else if let colon = text.lastIndex(of: ":"), portRequired || text.filter({ $0 == ":" }).count == 1 {
            host = String(text[..<colon])
            portText = text[text.index(after: colon)...]
        } else {
            host = text
        }
        var port: Int?
        if let portText {
            guard let value = Int(portText), (1...65535).contains(value) else { return .failure(.badPort) }
            port = value
        } else if portRequired {
            return .failure(.badPort)
        }
        guard !host.isEmpty else { return .failure(.missingHost) }
        return .success(HostPort(host: host, port: port))
    }
}
