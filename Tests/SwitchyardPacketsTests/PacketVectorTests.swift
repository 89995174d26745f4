import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// Frames produced by scapy 2.8.0 (PyPI), e.g.
/// `raw(Ether(dst=..., src=...)/IP(src=..., dst=..., ttl=64, id=0, flags=0)/UDP(sport=..., dport=...)/Raw(...))`,
/// so our builders and checksums are checked against an independent implementation.
enum ScapyVectors {
    static let udpRequest = hex("02535900000202535900000108004500002600000000401166c50a0000010a00000230391b5f0012746b6d6172636f20706f6c6f")
    static let udpReply = hex("02535900000102535900000208004500002600000000401166c50a0000020a0000011b5f30390012746b6d6172636f20706f6c6f")
    static let arpRequest = hex("ffffffffffff025359000001080600010800060400010253590000010a0000010000000000000a000002")
    static let arpReply = hex("025359000001025359000002080600010800060400020253590000020a0000020253590000010a000001")
    /// TTL 63, id 0x1234, odd-length payload "abc", NTP ports.
    static let udpOdd = hex("02535900000302535900000a08004500001f123400003f11558e0a00000a0a0000039c40007b000b8aad616263")
    /// Payload 0x0000a03b: the UDP checksum computes to 0 and is sent as 0xffff (RFC 768).
    static let udpChecksumFFFF = hex("02535900000202535900000108004500002000000000401166cb0a0000010a00000230391b5f000cffff0000a03b")

    static func hex(_ text: String) -> [UInt8] {
        hexBytes(text)
    }
}

let client = (mac: MACAddress("02:53:59:00:00:01")!, ip: IPv4Address(10, 0, 0, 1), port: UInt16(12345))
let echo = (mac: MACAddress("02:53:59:00:00:02")!, ip: IPv4Address(10, 0, 0, 2), port: UInt16(7007))

@Test func udpFrameBuildMatchesScapy() {
    let frame = UDPFrame.build(from: client, to: echo, payload: Array("marco polo".utf8))
    #expect(frame.bytes == ScapyVectors.udpRequest)
}

@Test func udpFrameWithTTLIdentificationAndOddPayloadMatchesScapy() {
    let frame = UDPFrame.build(
        from: (MACAddress("02:53:59:00:00:0a")!, IPv4Address(10, 0, 0, 10), 40000),
        to: (MACAddress("02:53:59:00:00:03")!, IPv4Address(10, 0, 0, 3), 123),
        payload: Array("abc".utf8),
        timeToLive: 63,
        identification: 0x1234
    )
    #expect(frame.bytes == ScapyVectors.udpOdd)
}

@Test func udpChecksumOfZeroIsSentAsAllOnes() {
    let frame = UDPFrame.build(from: client, to: echo, payload: [0x00, 0x00, 0xA0, 0x3B])
    #expect(frame.bytes == ScapyVectors.udpChecksumFFFF)
    let parsed = UDPFrame(parsing: EthernetFrame(parsing: frame.bytes)!)!
    #expect(parsed.udp.checksum == 0xFFFF)
    #expect(parsed.checksumsValid)
}

@Test func replySwapsAddressesAndPorts() {
    let request = UDPFrame(parsing: EthernetFrame(parsing: ScapyVectors.udpRequest)!)!
    #expect(request.checksumsValid)
    #expect(request.reply(from: echo.mac).bytes == ScapyVectors.udpReply)
}

@Test func paddedFrameIsParsedByIPAndUDPLengthsNotFrameLength() {
    let padded = ScapyVectors.udpRequest + [UInt8](repeating: 0, count: 60 - ScapyVectors.udpRequest.count)
    let parsed = UDPFrame(parsing: EthernetFrame(parsing: padded)!)
    #expect(parsed?.udp.payload.elementsEqual("marco polo".utf8) == true)
    #expect(parsed?.reply(from: echo.mac).bytes == ScapyVectors.udpReply, "the reply carries no padding")
}

@Test func corruptedChecksumsAreDetected() {
    var bytes = ScapyVectors.udpRequest
    bytes[bytes.count - 1] ^= 0xFF
    let parsed = UDPFrame(parsing: EthernetFrame(parsing: bytes)!)!
    #expect(parsed.ip.isHeaderChecksumValid)
    #expect(!parsed.udp.isChecksumValid(source: parsed.ip.source, destination: parsed.ip.destination))
    bytes = ScapyVectors.udpRequest
    bytes[22] = 63  // TTL changed, header checksum not updated
    #expect(!UDPFrame(parsing: EthernetFrame(parsing: bytes)!)!.ip.isHeaderChecksumValid)
}

@Test func arpRequestAndReplyMatchScapy() {
    let request = ARPPacket.requestFrame(from: client.mac, ip: client.ip, asking: echo.ip)
    #expect(request.bytes == ScapyVectors.arpRequest)
    let reply = ARPPacket.replyFrame(to: EthernetFrame(parsing: ScapyVectors.arpRequest)!, ownerOf: echo.ip, mac: echo.mac)
    #expect(reply?.bytes == ScapyVectors.arpReply)
    #expect(ARPPacket.replyFrame(to: EthernetFrame(parsing: ScapyVectors.arpRequest)!, ownerOf: IPv4Address(10, 0, 0, 9), mac: echo.mac) == nil)
}

@Test(arguments: [
    [UInt8](),
    [UInt8](repeating: 0, count: 13),
])
func framesShorterThanAnEthernetHeaderAreRejected(bytes: [UInt8]) {
    #expect(EthernetFrame(parsing: bytes) == nil)
}

@Test func truncatedAndMalformedIPv4IsRejected() {
    let frame = EthernetFrame(parsing: ScapyVectors.udpRequest)!
    #expect(IPv4Packet(parsing: frame.payload.dropLast()) == nil, "total length beyond the data")
    var badVersion = Array(frame.payload)
    badVersion[0] = 0x65
    #expect(IPv4Packet(parsing: badVersion[...]) == nil)
    var shortIHL = Array(frame.payload)
    shortIHL[0] = 0x44
    #expect(IPv4Packet(parsing: shortIHL[...]) == nil)
    var badUDPLength = Array(frame.payload)
    badUDPLength[25] = 0xFF
    #expect(IPv4Packet(parsing: badUDPLength[...]).flatMap { UDPDatagram(parsing: $0.payload) } == nil)
}

@Test(arguments: [
    ("02:53:59:00:00:07", UInt64(0x0253_5900_0007)),
    ("FF:ff:FF:ff:FF:ff", UInt64(0xFFFF_FFFF_FFFF)),
])
func macAddressesParseInEitherCaseAndPrintLowerCase(text: String, value: UInt64) {
    let mac = MACAddress(text)
    #expect(mac?.rawValue == value)
    #expect(mac?.description == text.lowercased())
}

@Test(arguments: ["not-a-mac", "02:53:59:00:00", "02:53:59:00:00:0g", "02:53:59:00:00:01:02", "0253590000aa", "", "2:53:59:00:00:01"])
func invalidMACTextIsRejected(text: String) {
    #expect(MACAddress(text) == nil)
}

@Test func groupBitMarksBroadcastAndMulticast() {
    #expect(MACAddress.broadcast.isGroup)
    #expect(MACAddress("01:00:5e:00:00:01")!.isGroup)
    #expect(!MACAddress("02:53:59:00:00:01")!.isGroup)
}

@Test(arguments: ["10.0.0.2", "255.255.255.255", "0.0.0.0"])
func ipv4TextRoundTrips(text: String) {
    #expect(IPv4Address(text)?.description == text)
}

@Test(arguments: ["10.0.0", "10.0.0.256", "a.b.c.d", "10..0.1", "1.2.3.4.5"])
func invalidIPv4TextIsRejected(text: String) {
    #expect(IPv4Address(text) == nil)
}
