/// An address of either IP family, where a tool takes both (`switchyard-ping fd53:5900::2`).
public enum IPAddress: Hashable, Sendable, CustomStringConvertible {
    case v4(IPv4Address)
    case v6(IPv6Address)

    /// Dotted quad, else RFC 4291 text.
    public init?(_ text: String) {
        if let address = IPv4Address(text) {
            self = .v4(address)
        } else if let address = IPv6Address(text) {
            self = .v6(address)
        } else {
            return nil
        }
    }

    public var description: String {
        switch self {
        case .v4(let address): address.description
        case .v6(let address): address.description
        }
    }

    /// `10.0.0.2:7007`, `[fd53:5900::2]:7007`.
    public func withPort(_ port: UInt16) -> String {
        switch self {
        case .v4(let address): "\(address):\(port)"
        case .v6(let address): "[\(address)]:\(port)"
        }
    }
}
