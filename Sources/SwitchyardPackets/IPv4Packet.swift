/// An IPv4 packet (RFC 791).
public struct IPv4Packet: Hashable, Sendable {
    /// Header bytes without options (RFC 791 section 3.1, IHL 5).
    public static let minimumHeaderLength = 20
    /// Time to live our services send with, as the facts page fixes.
    public static let defaultTTL: UInt8 = 64

    public var typeOfService: UInt8
    public var identification: UInt16
    /// Flags (3 bits) and fragment offset (13 bits), as on the wire.
    public var flagsAndFragmentOffset: UInt16
    public var timeToLive: UInt8
    public var protocolNumber: IPProtocol
    /// The checksum as read from the wire; `bytes` always writes a freshly computed one.
    public var headerChecksum: UInt16
    public var source: IPv4Address
    public var destination: IPv4Address
    public var options: [UInt8]
    public var payload: ArraySlice<UInt8>

    public init(
        source: IPv4Address,
        destination: IPv4Address,
        protocolNumber: IPProtocol,
        payload: [UInt8],
        timeToLive: UInt8 = Self.defaultTTL,
        identification: UInt16 = 0,
        typeOfService: UInt8 = 0
    ) {
        self.typeOfService = typeOfService
        self.identification = identification
        self.flagsAndFragmentOffset = 0
        self.timeToLive = timeToLive
        self.protocolNumber = protocolNumber
        self.headerChecksum = 0
        self.source = source
        self.destination = destination
        self.options = []
        self.payload = payload[...]
        self.headerChecksum = InternetChecksum.compute(self.headerBytes(checksum: 0))
    }

    /// Parses a packet; the payload ends at Total Length, so Ethernet padding is dropped.
    /// Nil when the header is malformed or the packet is truncated.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.minimumHeaderLength else { return nil }
        let first = bytes[bytes.startIndex]
        let headerLength = Int(first & 0x0F) * 4
        let totalLength = Int(bytes.bigEndianUInt16(at: 2))
        guard first >> 4 == 4,
              headerLength >= Self.minimumHeaderLength,
              totalLength >= headerLength,
              totalLength <= bytes.count
        else { return nil }
        let start = bytes.startIndex
        self.typeOfService = bytes[start + 1]
        self.identification = bytes.bigEndianUInt16(at: 4)
        self.flagsAndFragmentOffset = bytes.bigEndianUInt16(at: 6)
        self.timeToLive = bytes[start + 8]
        self.protocolNumber = IPProtocol(rawValue: bytes[start + 9])
        self.headerChecksum = bytes.bigEndianUInt16(at: 10)
        self.source = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 12))
        self.destination = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 16))
        self.options = Array(bytes[(start + Self.minimumHeaderLength)..<(start + headerLength)])
        self.payload = bytes[(start + headerLength)..<(start + totalLength)]
    }

    public var headerLength: Int { Self.minimumHeaderLength + self.options.count }
    public var totalLength: Int { self.headerLength + self.payload.count }

    /// True when the header's checksum field matches its contents.
    public var isHeaderChecksumValid: Bool {
        self.headerChecksum == InternetChecksum.compute(self.headerBytes(checksum: 0))
    }

    /// True when this is the whole datagram, not a fragment.
    public var isFragment: Bool { self.flagsAndFragmentOffset & 0x3FFF != 0 }

    private func headerBytes(checksum: UInt16) -> [UInt8] {
        precondition(self.options.count % 4 == 0, "IPv4 options must pad to 32-bit words")
        var out: [UInt8] = []
        out.reserveCapacity(self.headerLength)
        out.append(0x40 | UInt8(self.headerLength / 4))
        out.append(self.typeOfService)
        out.appendBigEndian(UInt16(self.totalLength))
        out.appendBigEndian(self.identification)
        out.appendBigEndian(self.flagsAndFragmentOffset)
        out.append(self.timeToLive)
        out.append(self.protocolNumber.rawValue)
        out.appendBigEndian(checksum)
        out.appendBigEndian(self.source.rawValue)
        out.appendBigEndian(self.destination.rawValue)
        out += self.options
        return out
    }

    /// Header with a correct checksum, then the payload.
    public var bytes: [UInt8] {
        var header = self.headerBytes(checksum: 0)
        let checksum = InternetChecksum.compute(header)
        header[10] = UInt8(checksum >> 8)
        header[11] = UInt8(truncatingIfNeeded: checksum)
        return header + self.payload
    }
}

/// The IPv4 Protocol field (IANA protocol numbers).
public struct IPProtocol: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8

    public init(rawValue: UInt8) {
        self.rawValue = rawValue
    }

    public static let icmp = IPProtocol(rawValue: 1)
    public static let udp = IPProtocol(rawValue: 17)
}
