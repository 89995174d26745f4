/// An Ethernet frame carrying IPv4/UDP, flattened into the fields services work with.
public struct UDPFrame: Hashable, Sendable {
    public var ethernet: EthernetFrame
    public var ip: IPv4Packet
    public var udp: UDPDatagram

    /// The largest UDP payload one IPv4 datagram carries: a total length of 65,535 (RFC 791)
    /// less the 20-byte IPv4 header and the 8-byte UDP header (RFC 768).
    public static let maximumPayloadLength = 65_535 - 20 - 8

    /// Parses Ethernet → IPv4 → UDP; nil when the frame is anything else, a fragment or malformed.
    public init?(parsing frame: EthernetFrame) {
        guard frame.etherType == .ipv4,
              let ip = IPv4Packet(parsing: frame.payload),
              ip.protocolNumber == .udp, !ip.isFragment,
              let udp = UDPDatagram(parsing: ip.payload)
        else { return nil }
        self.ethernet = frame
        self.ip = ip
        self.udp = udp
    }

    /// The UDP datagram in `frame` if it is addressed to this host: to `mac` (or broadcast),
    /// `ip` and `port`. What every service checks before answering.
    public static func addressed(to mac: MACAddress, ip: IPv4Address, port: UInt16, in frame: EthernetFrame) -> UDPFrame? {
        guard frame.destination == mac || frame.destination == .broadcast,
              let udp = UDPFrame(parsing: frame),
              udp.ip.destination == ip,
              udp.udp.destinationPort == port
        else { return nil }
        return udp
    }

    /// Both checksums (IPv4 header and UDP) are right.
    public var checksumsValid: Bool {
        self.ip.isHeaderChecksumValid && self.udp.isChecksumValid(source: self.ip.source, destination: self.ip.destination)
    }

    /// Builds a frame: IPv4 TOS 0, flags 0, no options, real checksums, no Ethernet padding.
    /// `payload` must be at most `maximumPayloadLength` bytes (callers check user input).
    public static func build(
        from source: (mac: MACAddress, ip: IPv4Address, port: UInt16),
        to destination: (mac: MACAddress, ip: IPv4Address, port: UInt16),
        payload: [UInt8],
        timeToLive: UInt8 = IPv4Packet.defaultTTL,
        identification: UInt16 = 0
    ) -> EthernetFrame {
        precondition(payload.count <= Self.maximumPayloadLength, "UDP payload longer than one IPv4 datagram")
        let udp = UDPDatagram(sourcePort: source.port, destinationPort: destination.port, payload: payload)
        let ip = IPv4Packet(
            source: source.ip,
            destination: destination.ip,
            protocolNumber: .udp,
            payload: udp.bytes(source: source.ip, destination: destination.ip),
            timeToLive: timeToLive,
            identification: identification
        )
        return EthernetFrame(destination: destination.mac, source: source.mac, etherType: .ipv4, payload: ip.bytes)
    }

    /// The answer to this datagram from `mac`: MACs, IPs and ports swapped, same payload
    /// (or `payload`), TTL 64 unless told otherwise, id 0.
    public func reply(from mac: MACAddress, payload: [UInt8]? = nil, timeToLive: UInt8 = IPv4Packet.defaultTTL) -> EthernetFrame {
        Self.build(
            from: (mac, self.ip.destination, self.udp.destinationPort),
            to: (self.ethernet.source, self.ip.source, self.udp.sourcePort),
            payload: payload ?? Array(self.udp.payload),
            timeToLive: timeToLive
        )
    }
}
