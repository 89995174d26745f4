import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// IPv6 fragments (RFC 8200 section 4.5): ours match scapy's, and reassembly takes them in
/// every order and refuses what RFC 5722 and the bounds refuse.
@Suite struct IPv6ReassemblerTests {
    static let client = IPv6Address("fd53:5900::32")!
    static let service = IPv6Address("fd53:5900::2")!
    static let mac = MACAddress("02:53:59:00:00:02")!
    static let clientMAC = MACAddress("52:54:00:12:34:56")!

    /// `IPv6(src=client,dst=service)/UDP(sport=40000,dport=7007)/(bytes(range(256))*12)`.
    static func datagram() throws -> IPv6Packet {
        let frame = UDPv6Frame.build(from: (Self.clientMAC, Self.client, 40000), to: (Self.mac, Self.service, 7007), payload: Array((0..<12).flatMap { _ in 0..<256 }.map(UInt8.init)))
        return try #require(IPv6Packet(parsing: frame.payload))
    }

    /// The first 60 bytes of each of scapy 2.5's `fragment6(IPv6(…)/IPv6ExtHdrFragment(id=0x1234)/UDP(…)/…, 1500)`.
    static let scapyFragments = [
        "6000000005b02c40fd535900000000000000000000000032fd53590000000000000000000000000211000001000012349c401b5f0c08806500010203",
        "6000000005b02c40fd535900000000000000000000000032fd535900000000000000000000000002110005a900001234a0a1a2a3a4a5a6a7a8a9aaab",
        "6000000000c02c40fd535900000000000000000000000032fd53590000000000000000000000000211000b500000123448494a4b4c4d4e4f50515253",
    ]

    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    @Test func fragmentsAreScapysBytes() throws {
        let pieces = IPv6Fragmenter.fragments(of: try Self.datagram(), mtu: 1500, identification: 0x1234)
        #expect(pieces.map { $0.bytes.count } == [1496, 1496, 232])
        #expect(pieces.map { Self.hex(Array($0.bytes.prefix(60))) } == Self.scapyFragments)
        #expect(IPv6Fragmenter.fragments(of: try Self.datagram(), mtu: 9000, identification: 1).count == 1, "what fits is sent whole")
    }

    @Test func everyOrderGivesThePacketBack() throws {
        let whole = try Self.datagram()
        let pieces = IPv6Fragmenter.fragments(of: whole, mtu: 1500, identification: 9)
        for order in [[0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 2, 1], [0, 0, 2, 2, 1]] {
            var reassembler = IPv6Reassembler()
            var last: IPv6Reassembler.Outcome?
            for index in order {
                last = reassembler.add(pieces[index], now: .zero)
            }
            guard case .complete(let got) = last else { Issue.record("\(order): \(String(describing: last))"); continue }
            #expect(got == whole, "\(order)")
            #expect(UDPv6Frame(parsing: EthernetFrame(destination: Self.mac, source: Self.clientMAC, etherType: .ipv6, payload: got.bytes))?.checksumValid == true)
            #expect(reassembler.inProgress == 0 && reassembler.heldBytes == 0)
        }
    }

    @Test func overlapsAtomicFragmentsAndHeadersBeforeTheFragmentHeader() throws {
        let whole = try Self.datagram()
        var pieces = IPv6Fragmenter.fragments(of: whole, mtu: 1500, identification: 9)
        var reassembler = IPv6Reassembler()
        _ = reassembler.add(pieces[0], now: .zero)
        // The second fragment 8 bytes early: it overlaps the first, and the packet is dropped.
        var payload = Array(pieces[1].payload)
        let field = UInt16(payload[2]) << 8 | UInt16(payload[3])
        let earlier = field - (1 << 3)
        payload[2] = UInt8(earlier >> 8)
        payload[3] = UInt8(truncatingIfNeeded: earlier)
        pieces[1].payload = payload[...]
        guard case .refused(.overlapping) = reassembler.add(pieces[1], now: .zero) else { Issue.record("overlap accepted"); return }
        #expect(reassembler.inProgress == 0)

        // An atomic fragment (offset 0, no more: RFC 6946) is whole at once.
        let atomic = IPv6Fragmenter.fragments(of: whole, mtu: 65_535, identification: 1)[0]
        var one = atomic
        one.nextHeader = IPv6Reassembler.fragmentHeader
        one.payload = ([IPv6Packet.udp, 0, 0, 0, 0, 0, 0, 7] + Array(whole.payload))[...]
        guard case .complete(let got) = reassembler.add(one, now: .zero) else { Issue.record("atomic fragment held"); return }
        #expect(got == whole)

        var behindHopByHop = pieces[0]
        behindHopByHop.nextHeader = 0
        guard case .refused(.unsupportedHeaders) = reassembler.add(behindHopByHop, now: .zero) else { Issue.record(); return }
        #expect(reassembler.refusals == [.overlapping: 1, .unsupportedHeaders: 1])
    }

    @Test func aMissingLastFragmentTimesOut() throws {
        let pieces = IPv6Fragmenter.fragments(of: try Self.datagram(), mtu: 1500, identification: 9)
        var reassembler = IPv6Reassembler(limits: .init(timeout: .seconds(30)))
        _ = reassembler.add(pieces[0], now: .zero)
        _ = reassembler.add(pieces[1], now: .seconds(1))
        reassembler.expire(now: .seconds(30))
        #expect(reassembler.inProgress == 0 && reassembler.heldBytes == 0 && reassembler.refusals == [.timedOut: 1])
    }
}
