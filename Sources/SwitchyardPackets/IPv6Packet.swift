/// An IPv6 packet (RFC 8200) without extension headers: what our services send and answer.
public struct IPv6Packet: Hashable, Sendable {
    public static let headerLength = 40
    /// Hop limit our services send with (as the IPv4 TTL).
    public static let defaultHopLimit: UInt8 = 64

    public var trafficClass: UInt8
    public var flowLabel: UInt32
    public var nextHeader: UInt8
    public var hopLimit: UInt8
    public var source: IPv6Address
    public var destination: IPv6Address
    public var payload: ArraySlice<UInt8>

    public static let icmpv6: UInt8 = 58
    public static let udp: UInt8 = 17

    public init(source: IPv6Address, destination: IPv6Address, nextHeader: UInt8, payload: [UInt8], hopLimit: UInt8 = Self.defaultHopLimit) {
        self.trafficClass = 0
        self.flowLabel = 0
        self.nextHeader = nextHeader
        self.hopLimit = hopLimit
        self.source = source
        self.destination = destination
        self.payload = payload[...]
    }

    /// Parses the fixed header; the payload ends at Payload Length, so Ethernet padding is
    /// dropped. Nil when the version is not 6 or the packet is truncated.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.headerLength, bytes[bytes.startIndex] >> 4 == 6 else { return nil }
        let start = bytes.startIndex
        let length = Int(bytes.bigEndianUInt16(at: 4))
        guard Self.headerLength + length <= bytes.count,
              let source = IPv6Address(bytes: bytes[(start + 8)..<(start + 24)]),
              let destination = IPv6Address(bytes: bytes[(start + 24)..<(start + 40)])
        else { return nil }
        let first = bytes.bigEndianUInt32(at: 0)
        self.trafficClass = UInt8(truncatingIfNeeded: first >> 20)
        self.flowLabel = first & 0xF_FFFF
        self.nextHeader = bytes[start + 6]
        self.hopLimit = bytes[start + 7]
        self.source = source
        self.destination = destination
        self.payload = bytes[(start + Self.headerLength)..<(start + Self.headerLength + length)]
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.headerLength + self.payload.count)
        out.appendBigEndian(UInt32(6) << 28 | UInt32(self.trafficClass) << 20 | self.flowLabel)
        out.appendBigEndian(UInt16(self.payload.count))
        out.append(self.nextHeader)
        out.append(self.hopLimit)
        out += self.source.bytes
        out += self.destination.bytes
        out += self.payload
        return out
    }

    /// The checksum of an upper-layer message (ICMPv6, UDP) over the IPv6 pseudo-header
    /// (RFC 8200 section 8.1) and `message`, whose checksum field holds what it holds (zero to
    /// compute one; the sent value to check, giving 0 when right).
    public static func checksum(source: IPv6Address, destination: IPv6Address, nextHeader: UInt8, message: some Collection<UInt8>) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(source.bytes)
        sum.add(destination.bytes)
        sum.add(UInt16(truncatingIfNeeded: message.count >> 16))
        sum.add(UInt16(truncatingIfNeeded: message.count))
        sum.add(UInt16(0))
        sum.add(UInt16(nextHeader))
        sum.add(message)
        return sum.value
    }
}
