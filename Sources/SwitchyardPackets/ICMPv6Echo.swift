/// ICMPv6 echo (RFC 4443 section 4) as a host answers it: an echo request (type 128) to one
/// of the host's addresses gets an echo reply (type 129) with the request's identifier,
/// sequence number and data, from that address. A request with a wrong checksum gets nothing.
public enum ICMPv6Echo {
    public static let requestType: UInt8 = 128
    public static let replyType: UInt8 = 129

    /// The echo reply to `frame` when it is a well-formed echo request for one of `addresses`.
    public static func replyFrame(to frame: EthernetFrame, ownerOf addresses: [IPv6Address], mac: MACAddress, hopLimit: UInt8 = IPv6Packet.defaultHopLimit) -> EthernetFrame? {
        guard frame.etherType == .ipv6,
              let request = IPv6Packet(parsing: frame.payload),
              request.nextHeader == IPv6Packet.icmpv6, addresses.contains(request.destination),
              request.payload.count >= 8,
              request.payload[request.payload.startIndex] == Self.requestType,
              request.payload[request.payload.startIndex + 1] == 0,
              IPv6Packet.checksum(source: request.source, destination: request.destination, nextHeader: IPv6Packet.icmpv6, message: request.payload) == 0
        else { return nil }
        var message = Array(request.payload)
        message[0] = Self.replyType
        message[2] = 0
        message[3] = 0
        let checksum = IPv6Packet.checksum(source: request.destination, destination: request.source, nextHeader: IPv6Packet.icmpv6, message: message)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(truncatingIfNeeded: checksum)
        let reply = IPv6Packet(source: request.destination, destination: request.source, nextHeader: IPv6Packet.icmpv6, payload: message, hopLimit: hopLimit)
        return EthernetFrame(destination: frame.source, source: mac, etherType: .ipv6, payload: reply.bytes)
    }

    /// An echo request from `source` to `destination` (what `switchyard-ping -6` sends).
    public static func requestFrame(from source: (mac: MACAddress, ip: IPv6Address), to destination: (mac: MACAddress, ip: IPv6Address), identifier: UInt16, sequence: UInt16, data: [UInt8]) -> EthernetFrame {
        var message: [UInt8] = [Self.requestType, 0, 0, 0]
        message.appendBigEndian(identifier)
        message.appendBigEndian(sequence)
        message += data
        let checksum = IPv6Packet.checksum(source: source.ip, destination: destination.ip, nextHeader: IPv6Packet.icmpv6, message: message)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(truncatingIfNeeded: checksum)
        let packet = IPv6Packet(source: source.ip, destination: destination.ip, nextHeader: IPv6Packet.icmpv6, payload: message)
        return EthernetFrame(destination: destination.mac, source: source.mac, etherType: .ipv6, payload: packet.bytes)
    }
}
