/// ICMP echo (RFC 792), as a host answers it: an echo request (type 8, code 0) to the host's
/// address gets an echo reply (type 0) with the request's identifier, sequence number and data,
/// from the host's address, with a fresh checksum. A request whose IPv4 header or ICMP
/// checksum is wrong, or that is a fragment, gets nothing (RFC 1122 3.2.2.6, 3.2.1.3).
public enum ICMPEcho {
    public static let requestType: UInt8 = 8
    public static let replyType: UInt8 = 0
    /// Type, code, checksum, identifier, sequence number.
    public static let headerLength = 8

    /// The echo reply to `frame` when it is a well-formed echo request for `ip`; nil otherwise.
    public static func replyFrame(to frame: EthernetFrame, ownerOf ip: IPv4Address, mac: MACAddress, timeToLive: UInt8 = IPv4Packet.defaultTTL) -> EthernetFrame? {
        guard frame.etherType == .ipv4,
              let request = IPv4Packet(parsing: frame.payload),
              request.protocolNumber == .icmp, request.destination == ip, !request.isFragment, request.isHeaderChecksumValid,
              request.payload.count >= Self.headerLength,
              request.payload[request.payload.startIndex] == Self.requestType,
              request.payload[request.payload.startIndex + 1] == 0,
              InternetChecksum.compute(request.payload) == 0
        else { return nil }
        var message = Array(request.payload)
        message[0] = Self.replyType
        message[2] = 0
        message[3] = 0
        let checksum = InternetChecksum.compute(message)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(truncatingIfNeeded: checksum)
        let reply = IPv4Packet(source: ip, destination: request.source, protocolNumber: .icmp, payload: message, timeToLive: timeToLive)
        return EthernetFrame(destination: frame.source, source: mac, etherType: .ipv4, payload: reply.bytes)
    }
}
