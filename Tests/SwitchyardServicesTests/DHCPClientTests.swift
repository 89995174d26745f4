import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import SwitchyardTestKit
import Synchronization
import Testing

/// The DHCP client against the real responder, in memory and on a manual clock.
@Suite struct DHCPClientTests {
    static let mac = MACAddress("52:54:00:00:00:0a")!

    final class Server: Sendable {
        let responder: Mutex<DHCPResponder>

        init(_ responder: DHCPResponder) {
            self.responder = Mutex(responder)
        }
    }

    /// An exchange whose replies come from a `DHCPResponder` 1 ms after each frame.
    static func exchange(_ responder: DHCPResponder, clock: ManualClock) -> (ScriptedExchange, Server) {
        let server = Server(responder)
        let exchange = ScriptedExchange(clock: clock) { frame, _ in
            server.responder.withLock { server in
                guard case .reply(let reply, _, _, _) = server.answer(frame) else { return [] }
                return [(.milliseconds(1), reply.bytes)]
            }
        }
        return (exchange, server)
    }

    @Test func doraRenewAndRelease() async throws {
        let clock = ManualClock()
        var configuration = DHCPServerConfiguration()
        configuration.router = IPv4Address(10, 0, 0, 1)
        let (exchange, server) = Self.exchange(DHCPResponder(mac: MACAddress("02:53:59:00:00:04")!, configuration: configuration, clock: FixedWallClock(unixNanoseconds: 0)), clock: clock)
        var client = DHCPClient()
        client.renew = true
        client.release = true
        let lease = try await client.obtainLease(from: 1, mac: Self.mac, on: exchange, clock: clock)
        #expect(lease.address == IPv4Address(10, 0, 0, 100) && lease.mask == IPv4Address(255, 255, 255, 0))
        #expect(lease.routers == [IPv4Address(10, 0, 0, 1)] && lease.dns == [IPv4Address(10, 0, 0, 5)] && lease.ntp == [IPv4Address(10, 0, 0, 3)])
        #expect(lease.domain == "switchyard.test" && lease.leaseTime == 3600 && lease.server == IPv4Address(10, 0, 0, 4))
        #expect(lease.renewed && lease.released)
        let types = exchange.sent.compactMap { DHCPMessage(parsing: UDPFrame(parsing: EthernetFrame(parsing: $0.frame)!)!.udp.payload)?.messageType }
        #expect(types == [.discover, .request, .request, .release])
        #expect(server.responder.withLock { $0.table.lease(for: [1] + Self.mac.bytes)?.isActive(at: 0) } == false, "released")
        #expect(clock.now.offset == .milliseconds(3), "three answers, 1 ms each: no waiting beyond them")
    }

    @Test func noServerIsATimeoutAndANAKIsARefusal() async throws {
        let clock = ManualClock()
        let silent = ScriptedExchange(clock: clock) { _, _ in [] }
        var client = DHCPClient()
        client.timeout = .seconds(2)
        await #expect(throws: DHCPClient.Refusal.self) {
            _ = try await client.obtainLease(from: 1, mac: Self.mac, on: silent, clock: clock)
        }
        #expect(clock.now.offset == .seconds(2))

        let nakking = ScriptedExchange(clock: clock) { frame, _ in
            guard let udp = UDPFrame(parsing: EthernetFrame(parsing: frame)!), var message = DHCPMessage(parsing: udp.udp.payload) else { return [] }
            // Offer one address, then NAK the request.
            message.op = 2
            let type: DHCPMessageType = message.messageType == .discover ? .offer : .nak
            message.yiaddr = IPv4Address(10, 0, 0, 120)
            message.options = [DHCPOption(code: 53, data: [type.rawValue]), .address(54, IPv4Address(10, 0, 0, 4)), .text(56, "no")]
            let reply = UDPFrame.build(from: (MACAddress("02:53:59:00:00:04")!, IPv4Address(10, 0, 0, 4), 67), to: (.broadcast, IPv4Address(rawValue: .max), 68), payload: message.bytes)
            return [(.milliseconds(1), reply.bytes)]
        }
        do {
            _ = try await client.obtainLease(from: 1, mac: Self.mac, on: nakking, clock: clock)
            Issue.record("a NAK ends the exchange")
        } catch let refusal as DHCPClient.Refusal {
            #expect(refusal.description == "the server refused (DHCP NAK): no")
        }
    }
}
