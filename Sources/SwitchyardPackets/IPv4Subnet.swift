/// An IPv4 network in CIDR form (`10.0.0.0/24`).
public struct IPv4Subnet: Hashable, Sendable, CustomStringConvertible {
    public var network: IPv4Address
    public var prefixLength: Int

    /// Host bits must be zero: `10.0.0.1/24` is a typo for a network, so it is refused.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let address = IPv4Address(String(parts[0])),
              parts[1].allSatisfy(\.isASCII), let length = Int(parts[1]), (0...32).contains(length)
        else { return nil }
        self.network = address
        self.prefixLength = length
        guard address.rawValue & ~self.maskValue == 0 else { return nil }
    }

    private var maskValue: UInt32 {
        self.prefixLength == 0 ? 0 : UInt32.max << (32 - self.prefixLength)
    }

    public var mask: IPv4Address { IPv4Address(rawValue: self.maskValue) }
    public var broadcast: IPv4Address { IPv4Address(rawValue: self.network.rawValue | ~self.maskValue) }

    public func contains(_ address: IPv4Address) -> Bool {
        address.rawValue & self.maskValue == self.network.rawValue
    }

    public var description: String { "\(self.network)/\(self.prefixLength)" }
}
