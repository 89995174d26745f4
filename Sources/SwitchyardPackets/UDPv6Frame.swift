/// An Ethernet frame carrying IPv6/UDP (no extension headers): the IPv6 side of `UDPFrame`.
public struct UDPv6Frame: Hashable, Sendable {
    public var ethernet: EthernetFrame
    public var ip: IPv6Packet
    public var udp: UDPDatagram

    /// The largest UDP payload one IPv6 packet carries without a jumbogram.
    public static let maximumPayloadLength = 65_535 - 8

    /// Parses Ethernet → IPv6 → UDP. A zero checksum is refused: RFC 8200 section 8.1 makes it
    /// mandatory over IPv6. Nil for anything else.
    public init?(parsing frame: EthernetFrame) {
        guard frame.etherType == .ipv6,
              let ip = IPv6Packet(parsing: frame.payload),
              ip.nextHeader == IPv6Packet.udp,
              let udp = UDPDatagram(parsing: ip.payload),
              udp.checksum != 0
        else { return nil }
        self.ethernet = frame
        self.ip = ip
        self.udp = udp
    }

    /// The datagram in `frame` if it is addressed to this host: to `mac` (or a multicast
    /// group), one of `addresses`, and `port`.
    public static func addressed(to mac: MACAddress, addresses: [IPv6Address], port: UInt16, in frame: EthernetFrame) -> UDPv6Frame? {
        guard frame.destination == mac || frame.destination.isGroup,
              let udp = UDPv6Frame(parsing: frame),
              addresses.contains(udp.ip.destination),
              udp.udp.destinationPort == port
        else { return nil }
        return udp
    }

    /// The UDP checksum is right.
    public var checksumValid: Bool {
        IPv6Packet.checksum(source: self.ip.source, destination: self.ip.destination, nextHeader: IPv6Packet.udp, message: self.ip.payload.prefix(self.udp.length)) == 0
    }

    public static func build(
        from source: (mac: MACAddress, ip: IPv6Address, port: UInt16),
        to destination: (mac: MACAddress, ip: IPv6Address, port: UInt16),
        payload: [UInt8],
        hopLimit: UInt8 = IPv6Packet.defaultHopLimit
    ) -> EthernetFrame {
        precondition(payload.count <= Self.maximumPayloadLength, "UDP payload longer than one IPv6 packet")
        var message: [UInt8] = []
        message.reserveCapacity(8 + payload.count)
        message.appendBigEndian(source.port)
        message.appendBigEndian(destination.port)
        message.appendBigEndian(UInt16(8 + payload.count))
        message.appendBigEndian(UInt16(0))
        message += payload
        var checksum = IPv6Packet.checksum(source: source.ip, destination: destination.ip, nextHeader: IPv6Packet.udp, message: message)
        if checksum == 0 {
            checksum = 0xFFFF
        }
        message[6] = UInt8(checksum >> 8)
        message[7] = UInt8(truncatingIfNeeded: checksum)
        let packet = IPv6Packet(source: source.ip, destination: destination.ip, nextHeader: IPv6Packet.udp, payload: message, hopLimit: hopLimit)
        return EthernetFrame(destination: destination.mac, source: source.mac, etherType: .ipv6, payload: packet.bytes)
    }

    /// The answer from `mac`: MACs, addresses and ports swapped, same payload (or `payload`).
    public func reply(from mac: MACAddress, payload: [UInt8]? = nil, hopLimit: UInt8 = IPv6Packet.defaultHopLimit) -> EthernetFrame {
        Self.build(
            from: (mac, self.ip.destination, self.udp.destinationPort),
            to: (self.ethernet.source, self.ip.source, self.udp.sourcePort),
            payload: payload ?? Array(self.udp.payload),
            hopLimit: hopLimit
        )
    }
}
