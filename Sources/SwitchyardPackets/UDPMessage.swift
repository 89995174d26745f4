/// A UDP datagram in an Ethernet frame over either IP family: what a client that speaks both
/// needs of `UDPFrame` and `UDPv6Frame`.
public struct UDPMessage: Hashable, Sendable {
    public var ethernet: EthernetFrame
    public var source: IPAddress
    public var destination: IPAddress
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var payload: ArraySlice<UInt8>

    public init?(parsing frame: EthernetFrame) {
        if let udp = UDPFrame(parsing: frame) {
            (self.source, self.destination) = (.v4(udp.ip.source), .v4(udp.ip.destination))
            (self.sourcePort, self.destinationPort, self.payload) = (udp.udp.sourcePort, udp.udp.destinationPort, udp.udp.payload)
        } else if let udp = UDPv6Frame(parsing: frame) {
            (self.source, self.destination) = (.v6(udp.ip.source), .v6(udp.ip.destination))
            (self.sourcePort, self.destinationPort, self.payload) = (udp.udp.sourcePort, udp.udp.destinationPort, udp.udp.payload)
        } else {
            return nil
        }
        self.ethernet = frame
    }

    /// The frame carrying `payload`; nil when the two addresses are of different families.
    public static func build(
        from source: (mac: MACAddress, ip: IPAddress, port: UInt16),
        to destination: (mac: MACAddress, ip: IPAddress, port: UInt16),
        payload: [UInt8]
    ) -> EthernetFrame? {
        switch (source.ip, destination.ip) {
        case (.v4(let from), .v4(let to)):
            UDPFrame.build(from: (source.mac, from, source.port), to: (destination.mac, to, destination.port), payload: payload)
        case (.v6(let from), .v6(let to)):
            UDPv6Frame.build(from: (source.mac, from, source.port), to: (destination.mac, to, destination.port), payload: payload)
        default:
            nil
        }
    }

    /// The most one datagram carries to `address`'s family.
    public static func maximumPayloadLength(to address: IPAddress) -> Int {
        switch address {
        case .v4: UDPFrame.maximumPayloadLength
        case .v6: UDPv6Frame.maximumPayloadLength
        }
    }
}
