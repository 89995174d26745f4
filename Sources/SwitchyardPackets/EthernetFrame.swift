/// An Ethernet II frame: destination, source, EtherType, payload (IEEE 802.3 clause 3).
/// No VLAN tags and no FCS: the fabric carries frames as endpoints hand them over.
public struct EthernetFrame: Hashable, Sendable {
    /// Bytes before the payload.
    public static let headerLength = 14

    public var destination: MACAddress
    public var source: MACAddress
    public var etherType: EtherType
    public var payload: ArraySlice<UInt8>

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType, payload: ArraySlice<UInt8>) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
        self.payload = payload
    }

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType, payload: [UInt8]) {
        self.init(destination: destination, source: source, etherType: etherType, payload: payload[...])
    }

    /// Parses the header; nil for fewer than 14 bytes. The payload keeps any padding.
    public init?(parsing bytes: [UInt8]) {
        guard bytes.count >= Self.headerLength,
              let destination = MACAddress(bytes: bytes, offset: 0),
              let source = MACAddress(bytes: bytes, offset: 6)
        else { return nil }
        self.destination = destination
        self.source = source
        self.etherType = EtherType(rawValue: bytes.bigEndianUInt16(at: 12))
        self.payload = bytes[Self.headerLength...]
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + self.payload.count)
        out += self.destination.bytes
        out += self.source.bytes
        out.appendBigEndian(self.etherType.rawValue)
        out += self.payload
        return out
    }
}

/// The EtherType field (IEEE 802 numbers).
public struct EtherType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public var rawValue: UInt16

    public init(rawValue: UInt16) {
        self.rawValue = rawValue
    }

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let ipv6 = EtherType(rawValue: 0x86DD)

    public var description: String {
        switch self {
        case .ipv4: "IPv4"
        case .arp: "ARP"
        case .ipv6: "IPv6"
        default: "0x" + String(self.rawValue, radix: 16)
        }
    }
}
