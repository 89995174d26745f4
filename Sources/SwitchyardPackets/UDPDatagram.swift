/// A UDP datagram (RFC 768).
public struct UDPDatagram: Hashable, Sendable {
    /// Bytes of the UDP header (RFC 768).
    public static let headerLength = 8

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// The checksum as read from the wire (0 = none was sent).
    public var checksum: UInt16
    public var payload: ArraySlice<UInt8>

    public init(sourcePort: UInt16, destinationPort: UInt16, payload: [UInt8]) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.checksum = 0
        self.payload = payload[...]
    }

    /// Parses the datagram inside an IPv4 payload. The payload ends at the UDP Length field,
    /// never at the end of the buffer. Nil when the length field is impossible.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.headerLength else { return nil }
        let length = Int(bytes.bigEndianUInt16(at: 4))
        guard length >= Self.headerLength, length <= bytes.count else { return nil }
        self.sourcePort = bytes.bigEndianUInt16(at: 0)
        self.destinationPort = bytes.bigEndianUInt16(at: 2)
        self.checksum = bytes.bigEndianUInt16(at: 6)
        self.payload = bytes[(bytes.startIndex + Self.headerLength)..<(bytes.startIndex + length)]
    }

    public var length: Int { Self.headerLength + self.payload.count }

    /// The checksum over the IPv4 pseudo-header, header and payload (RFC 768). A computed
    /// zero is sent as 0xFFFF, since zero on the wire means "no checksum".
    public func computeChecksum(source: IPv4Address, destination: IPv4Address) -> UInt16 {
        var sum = InternetChecksum()
        sum.add(UInt16(source.rawValue >> 16))
        sum.add(UInt16(truncatingIfNeeded: source.rawValue))
        sum.add(UInt16(destination.rawValue >> 16))
        sum.add(UInt16(truncatingIfNeeded: destination.rawValue))
        sum.add(UInt16(IPProtocol.udp.rawValue))
        sum.add(UInt16(self.length))
        sum.add(self.sourcePort)
        sum.add(self.destinationPort)
        sum.add(UInt16(self.length))
        sum.add(self.payload)
        let value = sum.value
        return value == 0 ? 0xFFFF : value
    }

    /// True when no checksum was sent or the one sent is right.
    public func isChecksumValid(source: IPv4Address, destination: IPv4Address) -> Bool {
        self.checksum == 0 || self.checksum == self.computeChecksum(source: source, destination: destination)
    }

    /// Header with the real checksum for these addresses, then the payload.
    public func bytes(source: IPv4Address, destination: IPv4Address) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(self.length)
        out.appendBigEndian(self.sourcePort)
        out.appendBigEndian(self.destinationPort)
        out.appendBigEndian(UInt16(self.length))
        out.appendBigEndian(self.computeChecksum(source: source, destination: destination))
        out += self.payload
        return out
    }
}
