import SwitchyardPackets
import SwitchyardReplay
import SwitchyardResponders
import SwitchyardServices

/// Any bytes as a DNS message: a parse error or a message that encodes and parses back to
/// itself; truncation to 512 bytes keeps it parseable; dig-style text of it never traps. The
/// same bytes as a query to the server get a reply within the UDP limit or silence, and the
/// replay's field layout takes the reply.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let message = try? DNSMessage(parsing: bytes[...]) {
        let encoded = message.encoded()
        let again = try? DNSMessage(parsing: encoded[...])
        precondition(again == message, "a parsed message encodes and parses back to itself")
        let cut = message.encoded(limit: DNSMessage.classicUDPLimit)
        precondition((try? DNSMessage(parsing: cut[...])) != nil, "a truncated message still parses")
        _ = DNSClient.lines(for: message)
    }
    let domain = DNSName("switchyard.test")!
    var zone = DNSResponder.defaultZone(domain: domain, dnsIP: DNSResponder.defaultIP)
    for index in 1...40 {
        zone.add(domain.prepending("big"), IPv4Address(10, 0, 1, UInt8(index)))
    }
    let responder = DNSResponder(mac: MACAddress("02:53:59:00:00:05")!, zone: zone, ttl: 60)
    if case .success(let response) = responder.respond(to: bytes[...]) {
        precondition(response.bytes.count <= DNSResponder.advertisedUDPSize, "\(response.bytes.count) bytes")
        let reply = try? DNSMessage(parsing: response.bytes[...])
        precondition(reply?.isResponse == true, "the server's reply parses")
        let client = (mac: MACAddress("02:53:59:00:00:0b")!, ip: IPv4Address(10, 0, 0, 11), port: UInt16(40053))
        let frame = UDPFrame.build(from: (responder.mac, responder.ip, DNSMessage.port), to: client, payload: response.bytes).bytes
        _ = FrameFields.layout(of: frame)
    }
    return 0
}
