import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import Testing

/// The echo service's decisions, frame in, frame out.
@Suite struct EchoResponderTests {
    static let echoMAC = MACAddress("02:53:59:00:00:01")!
    static let clientMAC = MACAddress("02:53:59:00:00:02")!
    let responder = EchoResponder(mac: Self.echoMAC)

    func request(to mac: MACAddress = Self.echoMAC, ip: IPv4Address = IPv4Address(10, 0, 0, 2), port: UInt16 = 7007, payload: String = "marco polo") -> [UInt8] {
        UDPFrame.build(from: (Self.clientMAC, IPv4Address(10, 0, 0, 1), 12345), to: (mac, ip, port), payload: Array(payload.utf8)).bytes
    }

    @Test func echoesWithAddressesAndPortsSwappedAndTheSamePayload() throws {
        guard case .echo(let reply, _) = self.responder.answer(self.request()) else {
            Issue.record("not echoed")
            return
        }
        let udp = try #require(UDPFrame(parsing: reply))
        #expect(reply.source == Self.echoMAC && reply.destination == Self.clientMAC)
        #expect(udp.ip.source == IPv4Address(10, 0, 0, 2) && udp.ip.destination == IPv4Address(10, 0, 0, 1))
        #expect(udp.udp.sourcePort == 7007 && udp.udp.destinationPort == 12345)
        #expect(Array(udp.udp.payload) == Array("marco polo".utf8))
        #expect(udp.ip.timeToLive == 64 && udp.checksumsValid)
    }

    @Test func datagramsToItsIPv6AddressesAreEchoedOverIPv6() throws {
        let service = IPv6Address("fd53:5900::2")!
        let responder = EchoResponder(mac: Self.echoMAC, ip6: [IPv6Address.linkLocal(for: Self.echoMAC), service])
        let client = IPv6Address("fd53:5900::1")!
        let request = UDPv6Frame.build(from: (Self.clientMAC, client, 12345), to: (Self.echoMAC, service, 7007), payload: Array("over six".utf8))
        guard case .echo6(let reply, _) = responder.answer(request.bytes) else {
            Issue.record("not echoed")
            return
        }
        let udp = try #require(UDPv6Frame(parsing: reply))
        #expect(udp.checksumValid && udp.ip.source == service && udp.ip.destination == client && udp.udp.destinationPort == 12345)
        #expect(Array(udp.udp.payload) == Array("over six".utf8) && udp.ip.hopLimit == 64)
        #expect(self.responder.answer(request.bytes) == nil, "without IPv6 addresses, IPv4 only")
        let elsewhere = UDPv6Frame.build(from: (Self.clientMAC, client, 12345), to: (Self.echoMAC, IPv6Address("fd53:5900::3")!, 7007), payload: [1])
        #expect(responder.answer(elsewhere.bytes) == nil)
    }

    @Test func aPaddedRequestIsEchoedWithoutThePadding() throws {
        // A 4-byte payload gives a 46-byte frame; Ethernet pads it to 60.
        let padded = self.request(payload: "ping") + [UInt8](repeating: 0, count: 14)
        guard case .echo(let reply, _) = self.responder.answer(padded) else {
            Issue.record("not echoed")
            return
        }
        #expect(reply.bytes.count == 46, "no padding in the echo")
    }

    @Test func answersARPForItsAddressOnly() {
        let ask = { (ip: IPv4Address) in ARPPacket.requestFrame(from: Self.clientMAC, ip: IPv4Address(10, 0, 0, 1), asking: ip).bytes }
        guard case .arpReply(let reply) = self.responder.answer(ask(IPv4Address(10, 0, 0, 2))) else {
            Issue.record("ARP for 10.0.0.2 not answered")
            return
        }
        #expect(reply.destination == Self.clientMAC)
        #expect(self.responder.answer(ask(IPv4Address(10, 0, 0, 3))) == nil)
    }

    @Test(arguments: [
        ("another MAC", MACAddress("02:53:59:00:00:09")!, IPv4Address(10, 0, 0, 2), UInt16(7007)),
        ("another IP", EchoResponderTests.echoMAC, IPv4Address(10, 0, 0, 9), UInt16(7007)),
        ("another port", EchoResponderTests.echoMAC, IPv4Address(10, 0, 0, 2), UInt16(7)),
    ])
    func ignoresWhatIsNotForIt(_ what: String, mac: MACAddress, ip: IPv4Address, port: UInt16) {
        #expect(self.responder.answer(self.request(to: mac, ip: ip, port: port)) == nil, "\(what)")
        #expect(self.responder.answer([1, 2, 3]) == nil, "garbage")
    }

    @Test func theTTLCanBeChangedForRegressionTooling() throws {
        let changed = EchoResponder(mac: Self.echoMAC, timeToLive: 63)
        guard case .echo(let reply, _) = changed.answer(self.request()) else {
            Issue.record("not echoed")
            return
        }
        #expect(try #require(UDPFrame(parsing: reply)).ip.timeToLive == 63)
    }
}
