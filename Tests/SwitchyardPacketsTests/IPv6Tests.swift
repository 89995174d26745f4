import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// IPv6 as a host speaks it, against frames scapy 2.5 made (the commands are beside each).
@Suite struct IPv6Tests {
    static let mac = MACAddress("02:53:59:00:00:02")!
    static let clientMAC = MACAddress("52:54:00:12:34:56")!
    static let service = IPv6Address("fd53:5900::2")!
    static let client = IPv6Address("fd53:5900::32")!

    /// `Ether(dst=mac,src=cmac)/IPv6(src="fd53:5900::32",dst="fd53:5900::2")/
    /// ICMPv6EchoRequest(id=0x1234,seq=7,data=bytes(range(16)))` and its reply.
    static let echoRequest = hexBytes("02535900000252540012345686dd6000000000183a40fd535900000000000000000000000032fd5359000000000000000000000000028000885512340007000102030405060708090a0b0c0d0e0f")
    static let echoReply = hexBytes("52540012345602535900000286dd6000000000183a40fd535900000000000000000000000002fd5359000000000000000000000000328100875512340007000102030405060708090a0b0c0d0e0f")
    /// `…/IPv6(src=client,dst="ff02::1:ff00:2",hlim=255)/ICMPv6ND_NS(tgt=service)/ICMPv6NDOptSrcLLAddr(lladdr=cmac)`
    static let solicitation = hexBytes("3333ff00000252540012345686dd6000000000203afffd535900000000000000000000000032ff0200000000000000000001ff0000028700460400000000fd5359000000000000000000000000020101525400123456")
    /// `…/ICMPv6ND_NA(tgt=service,R=0,S=1,O=1)/ICMPv6NDOptDstLLAddr(lladdr=mac)`
    static let advertisement = hexBytes("52540012345602535900000286dd6000000000203afffd535900000000000000000000000002fd5359000000000000000000000000328800b71b60000000fd5359000000000000000000000000020201025359000002")
    /// `…/UDP(sport=40000,dport=7007)/b"hello v6"` and the echo of it.
    static let udp = hexBytes("02535900000252540012345686dd6000000000101140fd535900000000000000000000000032fd5359000000000000000000000000029c401b5f0010e12968656c6c6f207636")
    static let udpEcho = hexBytes("52540012345602535900000286dd6000000000101140fd535900000000000000000000000002fd5359000000000000000000000000321b5f9c400010e12968656c6c6f207636")

    @Test func addressesParseAndPrintAsRFC5952Says() throws {
        #expect(IPv6Address("fd53:5900::2")?.description == "fd53:5900::2")
        #expect(IPv6Address("FE80:0:0:0:0053:59ff:FE00:0002")?.description == "fe80::53:59ff:fe00:2")
        #expect(IPv6Address("::")?.description == "::")
        #expect(IPv6Address("1:2:3:4:5:6:7:8")?.description == "1:2:3:4:5:6:7:8")
        for bad in ["", ":", "1::2::3", "1:2:3:4:5:6:7:8:9", "12345::", "g::1", "::ffff:10.0.0.1", "fe80::1%eth0", "1:2:3:4:5:6:7:8::"] {
            #expect(IPv6Address(bad) == nil, "'\(bad)'")
        }
    }

    @Test func theLinkLocalAddressComesFromTheMACByModifiedEUI64() {
        #expect(IPv6Address.linkLocal(for: Self.mac).description == "fe80::53:59ff:fe00:2")
        #expect(IPv6Address.linkLocal(for: Self.clientMAC).description == "fe80::5054:ff:fe12:3456")
        #expect(Self.service.solicitedNodeMulticast.description == "ff02::1:ff00:2")
        #expect(Self.service.solicitedNodeMulticast.multicastMAC.description == "33:33:ff:00:00:02")
    }

    @Test func anEchoRequestGetsScapysReply() throws {
        let frame = try #require(EthernetFrame(parsing: Self.echoRequest))
        #expect(ICMPv6Echo.replyFrame(to: frame, ownerOf: [Self.service], mac: Self.mac)?.bytes == Self.echoReply)
        #expect(ICMPv6Echo.replyFrame(to: frame, ownerOf: [Self.client], mac: Self.mac) == nil, "another host's address")
        var damaged = Self.echoRequest
        damaged[damaged.count - 1] ^= 1
        #expect(ICMPv6Echo.replyFrame(to: try #require(EthernetFrame(parsing: damaged)), ownerOf: [Self.service], mac: Self.mac) == nil, "bad checksum")
        let made = ICMPv6Echo.requestFrame(from: (Self.clientMAC, Self.client), to: (Self.mac, Self.service), identifier: 0x1234, sequence: 7, data: Array(0..<16))
        #expect(made.bytes == Self.echoRequest)
    }

    @Test func aSolicitationGetsScapysAdvertisement() {
        #expect(NeighborDiscovery.advertisementFrame(answering: Self.solicitation, mac: Self.mac) == Self.advertisement)
    }

    @Test func udpOverIPv6IsParsedAndEchoedWithScapysChecksum() throws {
        let frame = try #require(EthernetFrame(parsing: Self.udp))
        let udp = try #require(UDPv6Frame.addressed(to: Self.mac, addresses: [Self.service], port: 7007, in: frame))
        #expect(udp.checksumValid)
        #expect(Array(udp.udp.payload) == Array("hello v6".utf8))
        #expect(udp.reply(from: Self.mac).bytes == Self.udpEcho)
        #expect(UDPv6Frame.addressed(to: Self.mac, addresses: [Self.service], port: 7008, in: frame) == nil)
        var zeroChecksum = Self.udp
        zeroChecksum[14 + 40 + 6] = 0
        zeroChecksum[14 + 40 + 7] = 0
        #expect(UDPv6Frame(parsing: try #require(EthernetFrame(parsing: zeroChecksum))) == nil, "RFC 8200: a zero UDP checksum is not allowed over IPv6")
    }

    @Test func truncatedIPv6IsRefused() {
        for length in [0, 14, 14 + 39, Self.udp.count - 1] {
            let bytes = Array(Self.udp.prefix(length))
            let frame = EthernetFrame(parsing: bytes)
            #expect(frame.flatMap { UDPv6Frame(parsing: $0) } == nil, "\(length) bytes")
        }
    }
}
