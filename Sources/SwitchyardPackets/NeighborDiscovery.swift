/// IPv6 neighbour discovery (RFC 4861) as a host answers it: a neighbour solicitation for one
/// of its addresses gets a solicited advertisement with its link-layer address.
public enum NeighborDiscovery {
    public static let solicitationType: UInt8 = 135
    public static let advertisementType: UInt8 = 136
    static let etherType: UInt16 = 0x86DD
    static let icmpv6: UInt8 = 58

    /// The target of a well-formed neighbour solicitation (hop limit 255, code 0, from a
    /// unicast address: a duplicate-address probe from `::` is not answered), with its sender.
    public static func solicitation(in bytes: [UInt8]) -> (target: [UInt8], source: [UInt8], sourceMAC: MACAddress)? {
        guard bytes.count >= 14 + 40 + 24, UInt16(bytes[12]) << 8 | UInt16(bytes[13]) == Self.etherType,
              bytes[14] >> 4 == 6, bytes[20] == Self.icmpv6, bytes[21] == 255,
              bytes[54] == Self.solicitationType, bytes[55] == 0,
              let sourceMAC = MACAddress(bytes: bytes, offset: 6)
        else { return nil }
        let source = Array(bytes[22..<38])
        guard !source.allSatisfy({ $0 == 0 }) else { return nil }
        return (Array(bytes[62..<78]), source, sourceMAC)
    }

    /// The solicited advertisement answering `request` for `target`, from `mac`.
    public static func advertisementFrame(answering request: [UInt8], mac: MACAddress) -> [UInt8]? {
        guard let solicitation = Self.solicitation(in: request) else { return nil }
        // Flags: solicited and override; the target link-layer address option (type 2).
        var message: [UInt8] = [Self.advertisementType, 0, 0, 0, 0x60, 0, 0, 0]
        message += solicitation.target
        message += [2, 1] + mac.bytes
        var sum = InternetChecksum()
        sum.add(solicitation.target)
        sum.add(solicitation.source)
        sum.add(UInt16(0))
        sum.add(UInt16(message.count))
        sum.add(UInt16(0))
        sum.add(UInt16(Self.icmpv6))
        sum.add(message)
        let checksum = sum.value
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(truncatingIfNeeded: checksum)
        var frame = solicitation.sourceMAC.bytes + mac.bytes + [0x86, 0xDD]
        frame += [0x60, 0, 0, 0]
        frame.appendBigEndian(UInt16(message.count))
        frame += [Self.icmpv6, 255]
        frame += solicitation.target + solicitation.source
        return frame + message
    }

    /// A neighbour solicitation from `source` for `target`, to its solicited-node group, with
    /// the source link-layer address option (what `switchyard-ping --resolve arp` sends).
    public static func solicitationFrame(from source: (mac: MACAddress, ip: IPv6Address), target: IPv6Address) -> EthernetFrame {
        var message: [UInt8] = [Self.solicitationType, 0, 0, 0, 0, 0, 0, 0]
        message += target.bytes
        message += [1, 1] + source.mac.bytes
        let group = target.solicitedNodeMulticast
        let checksum = IPv6Packet.checksum(source: source.ip, destination: group, nextHeader: Self.icmpv6, message: message)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(truncatingIfNeeded: checksum)
        let packet = IPv6Packet(source: source.ip, destination: group, nextHeader: Self.icmpv6, payload: message, hopLimit: 255)
        return EthernetFrame(destination: group.multicastMAC, source: source.mac, etherType: .ipv6, payload: packet.bytes)
    }

    /// The link-layer address a well-formed solicited advertisement for `target` gives (its
    /// target link-layer address option, else the frame's source).
    public static func advertisedMAC(in frame: EthernetFrame, for target: IPv6Address) -> MACAddress? {
        guard frame.etherType == .ipv6, let packet = IPv6Packet(parsing: frame.payload),
              packet.nextHeader == Self.icmpv6, packet.hopLimit == 255, packet.payload.count >= 24
        else { return nil }
        let message = Array(packet.payload)
        guard message[0] == Self.advertisementType, message[1] == 0, message[4] & 0x40 != 0,
              IPv6Address(bytes: message[8..<24]) == target,
              IPv6Packet.checksum(source: packet.source, destination: packet.destination, nextHeader: Self.icmpv6, message: message) == 0
        else { return nil }
        var offset = 24
        while offset + 8 <= message.count, message[offset + 1] > 0 {
            if message[offset] == 2, message[offset + 1] == 1 {
                return MACAddress(bytes: message, offset: offset + 2)
            }
            offset += Int(message[offset + 1]) * 8
        }
        return frame.source
    }
}
