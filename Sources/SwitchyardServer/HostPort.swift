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

    /// Why a text is not a host and port; each flag words its own message from `code`.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// A stable code, open to more (a struct, not a closed enum).
        public struct Code: Hashable, Sendable, CustomStringConvertible {
            private enum Base: String, Hashable, Sendable {
                case badPort = "bad port"
                case missingHost = "missing host"
            }

            private let base: Base

            private init(_ base: Base) {
                self.base = base
            }

            /// No port, or one outside 1…65535.
            public static let badPort = Code(.badPort)
            public static let missingHost = Code(.missingHost)

            public var description: String { self.base.rawValue }
        }

        public let code: Code

        public init(code: Code) {
            self.code = code
        }

        public static let badPort = Failure(code: .badPort)
        public static let missingHost = Failure(code: .missingHost)

        public var description: String { self.code.description }
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
