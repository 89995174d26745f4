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
}
