import Foundation
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import Synchronization
import Testing

/// A wall clock the test moves.
final class SteppedWallClock: WallClock {
    private let instant = Mutex<Int64>(1_767_225_600 * 1_000_000_000)  // 2026-01-01T00:00:00Z

    func now() -> Int64 { self.instant.withLock { $0 } }

    func advance(seconds: Int64) {
        self.instant.withLock { $0 += seconds * 1_000_000_000 }
    }
}

/// The DHCP server's decisions (RFC 2131 section 4.3), fed frames as a client sends them.
@Suite struct DHCPResponderTests {
    static let serverMAC = MACAddress("02:53:59:00:00:04")!
    static let alice = MACAddress("52:54:00:00:00:0a")!
    static let bob = MACAddress("52:54:00:00:00:0b")!

    let clock = SteppedWallClock()

    func responder(_ configure: (inout DHCPServerConfiguration) -> Void = { _ in }, leases: [DHCPLease] = []) -> DHCPResponder {
        var configuration = DHCPServerConfiguration()
        configure(&configuration)
        return DHCPResponder(mac: Self.serverMAC, configuration: configuration, clock: self.clock, leases: leases)
    }

    static func message(_ type: DHCPMessageType, from mac: MACAddress, xid: UInt32 = 0x0A0B_0C0D, options: [DHCPOption] = []) -> DHCPMessage {
        var message = DHCPMessage(op: .request, xid: xid)
        message.chaddr = mac.bytes
        message.options = [DHCPOption(code: DHCPOption.Code.messageType, data: [type.rawValue])] + options
        return message
    }

    /// From 0.0.0.0:68 to the broadcast address, as a client without an address sends.
    static func broadcast(_ message: DHCPMessage, from mac: MACAddress) -> [UInt8] {
        UDPFrame.build(
            from: (mac, IPv4Address(rawValue: 0), 68), to: (.broadcast, IPv4Address(rawValue: .max), 67), payload: message.bytes
        ).bytes
    }

    static func unicast(_ message: DHCPMessage, from mac: MACAddress, ip: IPv4Address) -> [UInt8] {
        UDPFrame.build(from: (mac, ip, 68), to: (serverMAC, DHCPServerConfiguration.defaultIP, 67), payload: message.bytes).bytes
    }

    /// The reply's frame, parsed, and its DHCP message.
    static func reply(_ answer: DHCPResponder.Answer?, sourceLocation: SourceLocation = #_sourceLocation) throws -> (UDPFrame, DHCPMessage) {
        guard case .reply(let frame, let message, _, _) = answer else {
            throw TestFailure("expected a reply, got \(String(describing: answer))")
        }
        let udp = try #require(UDPFrame(parsing: frame), sourceLocation: sourceLocation)
        #expect(udp.checksumsValid, sourceLocation: sourceLocation)
        #expect(DHCPMessage(parsing: udp.udp.payload) == message, "the frame holds the message", sourceLocation: sourceLocation)
        return (udp, message)
    }

    /// DISCOVER then REQUEST (selecting) for `mac`; the ACKed address.
    static func lease(_ responder: inout DHCPResponder, for mac: MACAddress, options: [DHCPOption] = []) throws -> IPv4Address {
        let (_, offer) = try Self.reply(responder.answer(Self.broadcast(Self.message(.discover, from: mac, options: options), from: mac)))
        #expect(offer.messageType == .offer)
        let request = Self.message(.request, from: mac, options: options + [
            .address(DHCPOption.Code.requestedAddress, offer.yiaddr), .address(DHCPOption.Code.serverIdentifier, DHCPServerConfiguration.defaultIP),
        ])
        let (_, ack) = try Self.reply(responder.answer(Self.broadcast(request, from: mac)))
        #expect(ack.messageType == .ack && ack.yiaddr == offer.yiaddr)
        return ack.yiaddr
    }

    @Test func doraGivesTheLowestFreeAddressWithOptionsInTheRequestedOrder() throws {
        var server = self.responder { $0.router = IPv4Address(10, 0, 0, 1) }
        let discover = Self.message(.discover, from: Self.alice, options: [
            DHCPOption(code: DHCPOption.Code.parameterRequestList, data: [6, 3, 1, 42, 15, 51]),
            .text(DHCPOption.Code.hostName, "alice"),
        ])
        let (frame, offer) = try Self.reply(server.answer(Self.broadcast(discover, from: Self.alice)))
        #expect(offer.op == 2 && offer.xid == discover.xid && offer.yiaddr == IPv4Address(10, 0, 0, 100))
        // No broadcast flag: unicast to the client's MAC and the offered address (RFC 2131 section 4.1).
        #expect(frame.ethernet.destination == Self.alice && frame.ip.destination == IPv4Address(10, 0, 0, 100))
        #expect(frame.ip.source == DHCPServerConfiguration.defaultIP && frame.udp.sourcePort == 67 && frame.udp.destinationPort == 68)
        #expect(offer.options.map(\.code) == [53, 54, 51, 58, 59, 6, 3, 1, 42, 15, 12], "53, 54, lease times, then 55's order, then the echoed host name")
        #expect(offer.uint32Option(58) == 1800 && offer.uint32Option(59) == 3150)
        #expect(offer.textOption(12) == "alice")
        #expect(try Self.lease(&server, for: Self.alice) == IPv4Address(10, 0, 0, 100))
        #expect(try Self.lease(&server, for: Self.bob) == IPv4Address(10, 0, 0, 101))
        #expect(try Self.lease(&server, for: Self.alice) == IPv4Address(10, 0, 0, 100), "a client asking again gets the same address")
        #expect(server.table.boundLeases.map(\.address) == [IPv4Address(10, 0, 0, 100), IPv4Address(10, 0, 0, 101)])
    }

    @Test func theBroadcastFlagAndGiaddrDecideWhereRepliesGo() throws {
        var server = self.responder()
        var discover = Self.message(.discover, from: Self.alice)
        discover.flags = DHCPMessage.broadcastFlag
        let (broadcast, _) = try Self.reply(server.answer(Self.broadcast(discover, from: Self.alice)))
        #expect(broadcast.ethernet.destination == .broadcast && broadcast.ip.destination == IPv4Address(rawValue: .max))

        var relayed = Self.message(.discover, from: Self.bob)
        relayed.giaddr = IPv4Address(10, 0, 0, 1)
        relayed.hops = 1
        let relay = MACAddress("02:00:00:00:00:01")!
        let (toRelay, offer) = try Self.reply(server.answer(Self.broadcast(relayed, from: relay)))
        #expect(toRelay.ethernet.destination == relay && toRelay.ip.destination == IPv4Address(10, 0, 0, 1) && toRelay.udp.destinationPort == 67)
        #expect(offer.giaddr == IPv4Address(10, 0, 0, 1))
    }

    @Test func reservationsByMACAndByHostName() throws {
        var server = self.responder {
            $0.reservations = [
                DHCPServerConfiguration.Reservation("52:54:00:00:00:0b=10.0.0.150")!,
                DHCPServerConfiguration.Reservation("printer=10.0.0.20")!,
            ]
        }
        #expect(try Self.lease(&server, for: Self.bob) == IPv4Address(10, 0, 0, 150))
        #expect(try Self.lease(&server, for: Self.alice, options: [.text(12, "Printer")]) == IPv4Address(10, 0, 0, 20), "host names match in any case; outside the range is fine")
        let carol = MACAddress("52:54:00:00:00:0c")!
        #expect(try Self.lease(&server, for: carol) == IPv4Address(10, 0, 0, 100))
        // A reserved address is never offered to anyone else, even asked for.
        let (_, offer) = try Self.reply(server.answer(Self.broadcast(Self.message(.discover, from: MACAddress("52:54:00:00:00:0d")!, options: [
            .address(DHCPOption.Code.requestedAddress, IPv4Address(10, 0, 0, 150)),
        ]), from: MACAddress("52:54:00:00:00:0d")!)))
        #expect(offer.yiaddr == IPv4Address(10, 0, 0, 101))
    }

    @Test func requestStatesSelectingInitRebootRenewing() throws {
        var server = self.responder()
        let address = try Self.lease(&server, for: Self.alice)

        // Selecting another server: silence, and our offer is let go.
        _ = try Self.reply(server.answer(Self.broadcast(Self.message(.discover, from: Self.bob), from: Self.bob)))
        let elsewhere = Self.message(.request, from: Self.bob, options: [
            .address(DHCPOption.Code.requestedAddress, IPv4Address(10, 0, 0, 101)), .address(DHCPOption.Code.serverIdentifier, IPv4Address(10, 0, 0, 9)),
        ])
        guard case .silent = server.answer(Self.broadcast(elsewhere, from: Self.bob)) else {
            Issue.record("a REQUEST for another server gets no answer")
            return
        }

        // Init-reboot: its own address is ACKed; someone else's, or another network's, is NAKed, broadcast.
        let reboot = Self.message(.request, from: Self.alice, options: [.address(DHCPOption.Code.requestedAddress, address)])
        #expect(try Self.reply(server.answer(Self.broadcast(reboot, from: Self.alice))).1.messageType == .ack)
        let stolen = Self.message(.request, from: Self.bob, options: [.address(DHCPOption.Code.requestedAddress, address)])
        let (nakFrame, nak) = try Self.reply(server.answer(Self.broadcast(stolen, from: Self.bob)))
        #expect(nak.messageType == .nak && nak.yiaddr.rawValue == 0 && nak.option(DHCPOption.Code.leaseTime) == nil)
        #expect(nakFrame.ethernet.destination == .broadcast && nakFrame.ip.destination == IPv4Address(rawValue: .max))
        #expect(nak.textOption(DHCPOption.Code.message)?.contains("not available") == true)
        let moved = Self.message(.request, from: Self.bob, options: [.address(DHCPOption.Code.requestedAddress, IPv4Address(192, 168, 1, 5))])
        #expect(try Self.reply(server.answer(Self.broadcast(moved, from: Self.bob))).1.messageType == .nak)

        // Renewing: unicast from ciaddr, answered to ciaddr, lease extended by the clock.
        self.clock.advance(seconds: 1000)
        var renew = Self.message(.request, from: Self.alice)
        renew.ciaddr = address
        let (renewFrame, renewed) = try Self.reply(server.answer(Self.unicast(renew, from: Self.alice, ip: address)))
        #expect(renewed.messageType == .ack && renewed.ciaddr == address && renewed.yiaddr == address)
        #expect(renewFrame.ip.destination == address && renewFrame.ethernet.destination == Self.alice)
        #expect(server.table.lease(for: [1] + Self.alice.bytes)?.expiry == self.clock.now() / 1_000_000_000 + 3600)
    }

    @Test func leasesExpireByTheServicesClock() throws {
        var server = self.responder { $0.rangeEnd = IPv4Address(10, 0, 0, 100) }
        #expect(try Self.lease(&server, for: Self.alice) == IPv4Address(10, 0, 0, 100))
        guard case .ignored(let reason) = server.answer(Self.broadcast(Self.message(.discover, from: Self.bob), from: Self.bob)) else {
            Issue.record("a full pool offers nothing")
            return
        }
        #expect(reason.contains("no free address"))
        self.clock.advance(seconds: 3601)
        #expect(try Self.lease(&server, for: Self.bob) == IPv4Address(10, 0, 0, 100), "alice's lease ran out")
    }

    @Test func releaseDeclineAndInform() throws {
        var server = self.responder()
        let address = try Self.lease(&server, for: Self.alice)
        var release = Self.message(.release, from: Self.alice, options: [.address(DHCPOption.Code.serverIdentifier, DHCPServerConfiguration.defaultIP)])
        release.ciaddr = address
        guard case .silent(_, let changed) = server.answer(Self.unicast(release, from: Self.alice, ip: address)), changed else {
            Issue.record("RELEASE is silent and changes the leases")
            return
        }
        #expect(server.table.lease(for: [1] + Self.alice.bytes)?.isActive(at: self.clock.now() / 1_000_000_000) == false)
        #expect(try Self.lease(&server, for: Self.alice) == address, "the released address comes back to its client")

        let decline = Self.message(.decline, from: Self.alice, options: [.address(DHCPOption.Code.requestedAddress, address)])
        guard case .silent = server.answer(Self.broadcast(decline, from: Self.alice)) else {
            Issue.record("DECLINE is silent")
            return
        }
        #expect(try Self.lease(&server, for: Self.alice) == IPv4Address(10, 0, 0, 101), "a declined address is out of the pool")

        var inform = Self.message(.inform, from: Self.bob, options: [DHCPOption(code: 55, data: [1, 6])])
        inform.ciaddr = IPv4Address(10, 0, 0, 30)
        let (frame, ack) = try Self.reply(server.answer(Self.unicast(inform, from: Self.bob, ip: IPv4Address(10, 0, 0, 30))))
        #expect(ack.messageType == .ack && ack.yiaddr.rawValue == 0 && ack.option(DHCPOption.Code.leaseTime) == nil)
        #expect(ack.options.map(\.code) == [53, 54, 1, 6])
        #expect(frame.ip.destination == IPv4Address(10, 0, 0, 30))
    }

    @Test func bootOptionsAndClientIdentifiers() throws {
        var server = self.responder {
            $0.nextServer = IPv4Address(10, 0, 0, 4)
            $0.bootFile = "switchyard.ipxe"
        }
        let identified = Self.message(.discover, from: Self.alice, options: [DHCPOption(code: 61, data: [0xFF, 1, 2, 3])])
        let (_, offer) = try Self.reply(server.answer(Self.broadcast(identified, from: Self.alice)))
        #expect(offer.siaddr == IPv4Address(10, 0, 0, 4) && DHCPMessage.text(ofField: offer.file) == "switchyard.ipxe")
        #expect(offer.textOption(66) == "10.0.0.4" && offer.textOption(67) == "switchyard.ipxe")
        // Same MAC, another client id: another client.
        let other = Self.message(.discover, from: Self.alice, options: [DHCPOption(code: 61, data: [0xFF, 9, 9, 9])])
        #expect(try Self.reply(server.answer(Self.broadcast(other, from: Self.alice))).1.yiaddr == IPv4Address(10, 0, 0, 101))
    }

    @Test func arpIsAnsweredAndOtherTrafficIsNotOurs() throws {
        var server = self.responder()
        let arp = ARPPacket.requestFrame(from: Self.alice, ip: IPv4Address(10, 0, 0, 100), asking: DHCPServerConfiguration.defaultIP)
        guard case .arpReply(let reply) = server.answer(arp.bytes) else {
            Issue.record("ARP for the server's address is answered")
            return
        }
        #expect(reply.source == Self.serverMAC)
        let elsewhere = UDPFrame.build(from: (Self.alice, IPv4Address(10, 0, 0, 100), 68), to: (.broadcast, IPv4Address(rawValue: .max), 7007), payload: [1, 2, 3])
        #expect(server.answer(elsewhere.bytes) == nil)
        #expect(server.answer([1, 2, 3]) == nil)
        let junk = UDPFrame.build(from: (Self.alice, IPv4Address(rawValue: 0), 68), to: (.broadcast, IPv4Address(rawValue: .max), 67), payload: Array(repeating: 0xAB, count: 300))
        guard case .ignored = server.answer(junk.bytes) else {
            Issue.record("garbage to port 67 is counted and ignored")
            return
        }
        var bootReply = Self.message(.offer, from: Self.alice)
        bootReply.op = 2
        guard case .ignored = server.answer(Self.broadcast(bootReply, from: Self.alice)) else {
            Issue.record("a BOOTREPLY is not answered")
            return
        }
    }

    @Test func theSameFramesGiveTheSameBytes() throws {
        func session() throws -> [[UInt8]] {
            var server = self.responder()
            var out: [[UInt8]] = []
            for mac in [Self.alice, Self.bob, Self.alice] {
                let discover = Self.broadcast(Self.message(.discover, from: mac), from: mac)
                if case .reply(let frame, _, _, _) = server.answer(discover) {
                    out.append(frame.bytes)
                }
            }
            return out
        }
        let first = try session()
        #expect(first.count == 3)
        #expect(try session() == first)
    }

    @Test func leasesSurviveARestartThroughTheLeasesFile() throws {
        var server = self.responder()
        _ = try Self.lease(&server, for: Self.alice, options: [.text(12, "alice")])
        _ = try Self.lease(&server, for: Self.bob)
        let text = DHCPLeaseFile.format(server.table.boundLeases)
        #expect(text == """
            1767229200 52:54:00:00:00:0a 10.0.0.100 alice 01:52:54:00:00:00:0a
            1767229200 52:54:00:00:00:0b 10.0.0.101 * 01:52:54:00:00:00:0b

            """)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("leases-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try DHCPLeaseFile.save(server.table.boundLeases, to: path)
        var restarted = self.responder(leases: try DHCPLeaseFile.load(path))
        #expect(try Self.lease(&restarted, for: Self.bob) == IPv4Address(10, 0, 0, 101))
        #expect(try DHCPLeaseFile.load(path + ".missing").isEmpty, "no file yet: no leases")
        #expect(throws: DHCPLeaseFile.FormatError.self) { try DHCPLeaseFile.parse("1767229200 52:54:00:00:00:0a nonsense * *\n", path: "x") }
        do {
            _ = try DHCPLeaseFile.parse("# comment\n\n1 2 3\n", path: "leases")
        } catch {
            #expect(error.description.hasPrefix("leases:3: expected 'EXPIRY MAC IP HOSTNAME CLIENT-ID'"), "\(error)")
        }
    }

    @Test(arguments: [
        ("10.0.1.4", "10.0.0.0/24", "10.0.0.100", "10.0.0.199", "--ip 10.0.1.4 is not in --subnet 10.0.0.0/24"),
        ("10.0.0.4", "10.0.0.0/24", "10.0.0.199", "10.0.0.100", "ends before it starts"),
        ("10.0.0.4", "10.0.0.0/24", "10.0.0.200", "10.0.0.255", "the subnet's broadcast address"),
        ("10.0.0.4", "10.0.0.0/24", "10.0.0.100", "10.0.1.10", "is not inside --subnet"),
    ])
    func badConfigurationsAreNamed(ip: String, subnet: String, first: String, last: String, problem: String) {
        var configuration = DHCPServerConfiguration()
        configuration.ip = IPv4Address(ip)!
        configuration.subnet = IPv4Subnet(subnet)!
        configuration.rangeStart = IPv4Address(first)!
        configuration.rangeEnd = IPv4Address(last)!
        #expect(configuration.problem()?.contains(problem) == true, "\(configuration.problem() ?? "no problem")")
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
