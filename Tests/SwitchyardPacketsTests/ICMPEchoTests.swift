import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// A host's answer to ICMP echo, against frames scapy made: `Ether()/IP(id=1234, flags="DF")/
/// ICMP(id=0x1234, seq=7)/Raw(bytes(range(56)))` and the reply a host sends (id 0, TTL 64).
@Suite struct ICMPEchoTests {
    static let request = hexBytes("02535900000252540012345608004500005404d24000400121a40a0000320a0000020800eeb112340007000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")
    static let reply = hexBytes("52540012345602535900000208004500005400000000400166760a0000020a0000320000f6b112340007000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637")
    static let mac = MACAddress("02:53:59:00:00:02")!
    static let ip = IPv4Address(10, 0, 0, 2)

    func answer(_ bytes: [UInt8], ip: IPv4Address = Self.ip) -> [UInt8]? {
        EthernetFrame(parsing: bytes).flatMap { ICMPEcho.replyFrame(to: $0, ownerOf: ip, mac: Self.mac) }?.bytes
    }

    @Test func anEchoRequestGetsScapysReply() {
        #expect(self.answer(Self.request) == Self.reply)
    }

    /// Ethernet padding after the IP packet is not echoed: only the packet's data is.
    @Test func paddingIsNotEchoed() {
        var request = Self.request
        request += [0, 0, 0, 0]
        #expect(self.answer(request) == Self.reply)
    }

    @Test func requestsTheHostMustNotAnswerGetNothing() {
        #expect(self.answer(Self.request, ip: IPv4Address(10, 0, 0, 3)) == nil, "another host's address")
        var badICMP = Self.request
        badICMP[badICMP.count - 1] ^= 1
        #expect(self.answer(badICMP) == nil, "a bad ICMP checksum")
        var badIP = Self.request
        badIP[14 + 8] = 63
        #expect(self.answer(badIP) == nil, "a bad header checksum")
        var reply = Self.request
        reply[34] = ICMPEcho.replyType
        #expect(self.answer(reply) == nil, "a reply is not answered")
        var fragment = Self.request
        fragment[14 + 6] = 0x20  // more fragments
        #expect(self.answer(fragment) == nil, "a fragment is not answered alone")
        #expect(self.answer(Array(Self.request.prefix(14 + 20 + 4))) == nil, "cut short")
    }
}
