import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import Testing

/// What every service does as a host, with no I/O: fragments in and out, ICMP echo over both
/// families, neighbour discovery, refusals reported once. Time is the test's.
@Suite struct ServiceHostTests {
    static let mac = MACAddress("02:53:59:00:00:02")!
    static let clientMAC = MACAddress("52:54:00:12:34:56")!
    static let ip = IPv4Address(10, 0, 0, 2)
    static let client = IPv4Address(10, 0, 0, 50)

    static func host(_ configure: (inout HostSettings) -> Void = { _ in }) -> ServiceHost {
        var settings = HostSettings()
        configure(&settings)
        return ServiceHost(mac: Self.mac, ip: Self.ip, settings: settings)
    }

    /// A UDP datagram from the client to the echo port as the client's kernel sends it at
    /// MTU 1500: fragments (identification `id`), each a frame.
    static func fragmentedRequest(_ size: Int, id: UInt16) throws -> [[UInt8]] {
        let whole = UDPFrame.build(from: (Self.clientMAC, Self.client, 40000), to: (Self.mac, Self.ip, 7007), payload: Array(repeating: 0x42, count: size))
        let packet = try #require(IPv4Packet(parsing: whole.payload))
        let pieces = try #require(IPv4Fragmenter.fragments(of: packet, mtu: 1500, identification: id))
        return pieces.map { EthernetFrame(destination: Self.mac, source: Self.clientMAC, etherType: .ipv4, payload: $0.bytes).bytes }
    }

    @Test func addressesAreLinkLocalAndTheDerivedUniqueLocalOne() {
        #expect(Self.host().ip6.map(\.description) == ["fe80::53:59ff:fe00:2", "fd53:5900::2"])
        #expect(Self.host { $0.uniqueLocal = .address(IPv6Address("fd00::7")!) }.ip6.map(\.description) == ["fe80::53:59ff:fe00:2", "fd00::7"])
        #expect(Self.host { $0.uniqueLocal = .none }.ip6.map(\.description) == ["fe80::53:59ff:fe00:2"])
    }

    @Test func fragmentsReachTheServiceAsOneDatagram() throws {
        var host = Self.host()
        let frames = try Self.fragmentedRequest(3000, id: 77)
        for frame in frames.dropLast() {
            guard case .consumed(nil) = host.receive(frame, now: .zero) else { Issue.record("a fragment is held"); return }
        }
        guard case .forService(let bytes) = host.receive(frames[frames.count - 1], now: .milliseconds(1)) else { Issue.record("not reassembled"); return }
        let udp = try #require(EthernetFrame(parsing: bytes).flatMap(UDPFrame.init(parsing:)))
        #expect(udp.checksumsValid && udp.udp.payload.count == 3000 && udp.ip.source == Self.client)
    }

    @Test func largeRepliesLeaveInFragmentsWithIdentificationsCountedFromOne() throws {
        var host = Self.host()
        let small = UDPFrame.build(from: (Self.mac, Self.ip, 7007), to: (Self.clientMAC, Self.client, 40000), payload: Array(repeating: 1, count: 1472))
        #expect(host.outgoing(small) == [small], "1,500 bytes fit")
        let large = UDPFrame.build(from: (Self.mac, Self.ip, 7007), to: (Self.clientMAC, Self.client, 40000), payload: Array(repeating: 1, count: 3000))
        for expected: UInt16 in [1, 2] {
            let parts = host.outgoing(large)
            let packets = try parts.map { try #require(IPv4Packet(parsing: $0.payload)) }
            #expect(packets.map(\.totalLength) == [1500, 1500, 68])
            #expect(packets.allSatisfy { $0.identification == expected && $0.isHeaderChecksumValid })
            #expect(parts.allSatisfy { $0.destination == Self.clientMAC && $0.source == Self.mac })
        }
        // The same replies from a fresh host are the same frames: nothing random.
        var again = Self.host()
        #expect(again.outgoing(large) == Self.host().outgoingOnce(large))
        var tight = Self.host { $0.mtu = 576 }
        #expect(tight.outgoing(large).count == 6, "ceil(3008 / 552)")
    }

    /// A request that came whole in a packet larger than the MTU shows the sender's link
    /// carries it: its answer goes whole too (protocol v1's jumbo datagrams).
    @Test func anAnswerToAWholeJumboRequestGoesWhole() throws {
        var host = Self.host()
        let request = UDPFrame.build(from: (Self.clientMAC, Self.client, 40000), to: (Self.mac, Self.ip, 7007), payload: Array(repeating: 7, count: 5000))
        guard case .forService = host.receive(request.bytes, now: .zero) else { Issue.record(); return }
        let reply = try #require(UDPFrame(parsing: request)).reply(from: Self.mac)
        #expect(host.outgoing(reply) == [reply])
        // After a fragmented request the path is the MTU again.
        for frame in try Self.fragmentedRequest(5000, id: 3) {
            _ = host.receive(frame, now: .zero)
        }
        #expect(host.outgoing(reply).count == 4)
    }

    @Test func aPingLargerThanTheMTUIsAnsweredInFragments() throws {
        var host = Self.host()
        var message: [UInt8] = [ICMPEcho.requestType, 0, 0, 0, 0x12, 0x34, 0, 1] + Array(repeating: 0x61, count: 3000)
        let checksum = InternetChecksum.compute(message)
        message[2] = UInt8(checksum >> 8)
        message[3] = UInt8(truncatingIfNeeded: checksum)
        let request = IPv4Packet(source: Self.client, destination: Self.ip, protocolNumber: .icmp, payload: message, identification: 5)
        let pieces = try #require(IPv4Fragmenter.fragments(of: request, mtu: 1500, identification: 5))
        var answer: EthernetFrame?
        for piece in pieces {
            if case .answered(let reply) = host.receive(EthernetFrame(destination: Self.mac, source: Self.clientMAC, etherType: .ipv4, payload: piece.bytes).bytes, now: .zero) {
                answer = reply
            }
        }
        let reply = try #require(answer)
        let whole = try #require(IPv4Packet(parsing: reply.payload))
        #expect(whole.payload.count == 3008 && whole.payload.first == ICMPEcho.replyType && InternetChecksum.compute(whole.payload) == 0)
        #expect(host.outgoing(reply).count == 3)
    }

    @Test func neighbourSolicitationAndICMPv6EchoAreAnsweredForOwnAddressesOnly() throws {
        var host = Self.host()
        let client = IPv6Address("fd53:5900::32")!
        for target in host.ip6 {
            let solicitation = NeighborDiscovery.solicitationFrame(from: (Self.clientMAC, client), target: target)
            guard case .answered(let advertisement) = host.receive(solicitation.bytes, now: .zero) else { Issue.record("NS for \(target)"); return }
            #expect(NeighborDiscovery.advertisedMAC(in: advertisement, for: target) == Self.mac)
            let ping = ICMPv6Echo.requestFrame(from: (Self.clientMAC, client), to: (Self.mac, target), identifier: 1, sequence: 2, data: [1, 2, 3])
            guard case .answered(let reply) = host.receive(ping.bytes, now: .zero) else { Issue.record("ping \(target)"); return }
            #expect(IPv6Packet(parsing: reply.payload)?.payload.first == ICMPv6Echo.replyType)
        }
        let other = NeighborDiscovery.solicitationFrame(from: (Self.clientMAC, client), target: IPv6Address("fd53:5900::3")!)
        guard case .forService = host.receive(other.bytes, now: .zero) else { Issue.record("another host's NS is not answered"); return }
    }

    /// IPv6: fragments in are put together (and a ping in fragments answered), a large reply
    /// leaves in fragments with identifications counted from 1.
    @Test func ipv6FragmentsBothWays() throws {
        var host = Self.host()
        let client = IPv6Address("fd53:5900::32")!
        let service = host.ip6[1]
        let request = UDPv6Frame.build(from: (Self.clientMAC, client, 40000), to: (Self.mac, service, 7007), payload: Array(repeating: 9, count: 3000))
        let pieces = IPv6Fragmenter.fragments(of: try #require(IPv6Packet(parsing: request.payload)), mtu: 1500, identification: 77)
        var delivered: [UInt8]?
        for piece in pieces.reversed() {
            if case .forService(let bytes) = host.receive(EthernetFrame(destination: Self.mac, source: Self.clientMAC, etherType: .ipv6, payload: piece.bytes).bytes, now: .zero) {
                delivered = bytes
            }
        }
        let udp = try #require(delivered.flatMap(EthernetFrame.init(parsing:)).flatMap(UDPv6Frame.init(parsing:)))
        #expect(udp.checksumValid && udp.udp.payload.count == 3000)
        let reply = udp.reply(from: Self.mac)
        for expected: UInt32 in [1, 2] {
            let parts = host.outgoing(reply)
            let packets = try parts.map { try #require(IPv6Packet(parsing: $0.payload)) }
            #expect(packets.map { IPv6Packet.headerLength + $0.payload.count } == [1496, 1496, 160])
            #expect(packets.allSatisfy { $0.nextHeader == IPv6Reassembler.fragmentHeader && $0.payload.bigEndianUInt32(at: 4) == expected })
        }
        // A whole 3,000-byte request shows the link carries it: the reply goes whole.
        guard case .forService = host.receive(request.bytes, now: .zero) else { Issue.record(); return }
        #expect(host.outgoing(reply) == [reply])
    }

    @Test func eachKindOfRefusalIsReportedOnce() throws {
        var host = Self.host { $0.reassembly = .init(datagrams: 2, heldBytes: 1 << 20, timeout: .seconds(30)) }
        var reported: [IPv4Reassembler.Refusal] = []
        for id in UInt16(1)...10 {
            let first = try Self.fragmentedRequest(3000, id: id)[0]
            if case .consumed(let refusal?) = host.receive(first, now: .seconds(Double(id) / 10)) {
                reported.append(refusal)
            }
        }
        #expect(reported == [.tooManyDatagrams])
        #expect(host.refusals[.tooManyDatagrams] == 8)
        #expect(host.timePassed(now: .seconds(60)) == .timedOut)
        #expect(host.timePassed(now: .seconds(90)) == nil)
        #expect(host.refusals[.timedOut] == 2)
    }
}

extension ServiceHost {
    /// One `outgoing` on a copy: what a fresh host sends first.
    func outgoingOnce(_ frame: EthernetFrame) -> [EthernetFrame] {
        var copy = self
        return copy.outgoing(frame)
    }
}
