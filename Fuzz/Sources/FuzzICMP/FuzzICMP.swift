import SwitchyardPackets

/// Any bytes as a frame to a service's address: no echo reply, or one a host would send: to
/// the request's sender from the service, both checksums right, type 0, and the request's
/// identifier, sequence number and data unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let ip = IPv4Address(10, 0, 0, 2)
    let mac = MACAddress("02:53:59:00:00:02")!
    guard let frame = EthernetFrame(parsing: bytes), let reply = ICMPEcho.replyFrame(to: frame, ownerOf: ip, mac: mac) else { return 0 }
    let request = IPv4Packet(parsing: frame.payload)!
    let answer = IPv4Packet(parsing: reply.payload)!
    precondition(reply.source == mac && reply.destination == frame.source)
    precondition(answer.isHeaderChecksumValid && answer.source == ip && answer.destination == request.source && answer.protocolNumber == .icmp)
    precondition(InternetChecksum.compute(answer.payload) == 0, "the reply's ICMP checksum holds")
    precondition(answer.payload.first == ICMPEcho.replyType && answer.payload.dropFirst(4).elementsEqual(request.payload.dropFirst(4)))
    return 0
}
