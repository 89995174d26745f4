import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardTestKit
import Testing
@testable import SwitchyardServices

/// Resolvers, pings and queries with an injected clock: retries, timeouts, intervals and round
/// trips to the nanosecond, in memory.
@Suite struct ClientTimingTests {
    static let me = MACAddress("02:53:59:00:00:0a")!
    static let service = MACAddress("02:53:59:00:00:01")!

    static func arpReply(to request: [UInt8]) -> [UInt8]? {
        guard let frame = EthernetFrame(parsing: request) else { return nil }
        return ARPPacket.replyFrame(to: frame, ownerOf: IPv4Address(10, 0, 0, 2), mac: Self.service)?.bytes
    }

    @Test func arpResendsEveryHalfSecondUntilTheTimeout() async throws {
        let clock = ManualClock()
        let exchange = ScriptedExchange(clock: clock) { _, _ in [] }
        let resolver = ARPResolver(endpointID: 1, mac: Self.me, ip: IPv4Address(10, 0, 0, 1))
        let mac = try await resolver.resolve(IPv4Address(10, 0, 0, 2), on: exchange, timeout: .seconds(2), clock: clock)
        #expect(mac == nil)
        #expect(exchange.sent.map(\.at) == [.zero, .milliseconds(500), .milliseconds(1000), .milliseconds(1500)])
        #expect(clock.now.offset == .seconds(2))
    }

    @Test func arpTakesTheAnswerThatComesAndSkipsTheRest() async throws {
        let clock = ManualClock()
        // Nobody answers the first two requests; the third is answered after 30 ms, behind an
        // unrelated frame.
        let exchange = ScriptedExchange(clock: clock) { frame, at in
            guard at >= .milliseconds(1000), let reply = Self.arpReply(to: frame) else { return [] }
            return [(.milliseconds(10), MACAddress.broadcast.bytes + Self.service.bytes + [0x88, 0xB5, 0, 0]), (.milliseconds(30), reply)]
        }
        let resolver = ARPResolver(endpointID: 1, mac: Self.me, ip: IPv4Address(10, 0, 0, 1))
        let mac = try await resolver.resolve(IPv4Address(10, 0, 0, 2), on: exchange, timeout: .seconds(3), clock: clock)
        #expect(mac == Self.service)
        #expect(exchange.sent.count == 3)
        #expect(clock.now.offset == .milliseconds(1030))
    }

    @Test func pingKeepsItsIntervalMeasuresRoundTripsAndCountsTimeouts() async throws {
        let clock = ManualClock()
        var ping = PingClient(payload: Array("hi".utf8))
        ping.count = 3
        ping.interval = .seconds(1)
        ping.timeout = .milliseconds(400)
        let request = UDPFrame.build(from: (Self.me, ping.ip, ping.port), to: (Self.service, EchoResponder.defaultIP, ping.servicePort), payload: ping.payload)
        let echo = UDPFrame(parsing: request)!.reply(from: Self.service).bytes
        // The second ping is never answered; the others after 2 ms.
        let exchange = ScriptedExchange(clock: clock) { _, at in at == .seconds(1) ? [] : [(.milliseconds(2), echo)] }
        var lines: [String] = []
        let report = try await ping.ping(request.bytes, from: 1, source: .v4(ping.ip), on: exchange, clock: clock, output: { line, _ in lines.append(line) }, progress: { _ in })
        #expect(report.sent == 3 && report.received == 2)
        #expect(report.roundTrips == [.milliseconds(2), .milliseconds(2)])
        #expect(exchange.sent.map(\.at) == [.zero, .seconds(1), .seconds(2)], "pings start on the interval, whatever the replies")
        #expect(lines.contains("[cli] timeout: no reply from 10.0.0.2:7007 within 0.4 s"))
        #expect(report.summary(target: "10.0.0.2:7007")[1] == "3 packets transmitted, 2 received, 33% packet loss")
    }

    /// A `duplicate` rule answers a ping twice: the copy is marked DUP! as ping(8) marks it,
    /// counted apart, and never taken as the next ping's reply.
    @Test func duplicatedRepliesAreMarkedAndCountedApart() async throws {
        let clock = ManualClock()
        var ping = PingClient(payload: Array("hi".utf8))
        ping.count = 3
        ping.timeout = .milliseconds(400)
        let request = UDPFrame.build(from: (Self.me, ping.ip, ping.port), to: (Self.service, EchoResponder.defaultIP, ping.servicePort), payload: ping.payload)
        let echo = UDPFrame(parsing: request)!.reply(from: Self.service).bytes
        // The first two pings come back twice; the third is not answered at all.
        let exchange = ScriptedExchange(clock: clock) { _, at in
            at < .milliseconds(3) ? [(.milliseconds(2), echo), (.milliseconds(2), echo)] : []  // sent at 0, 2 and 4 ms
        }
        var lines: [String] = []
        let report = try await ping.ping(request.bytes, from: 1, source: .v4(ping.ip), on: exchange, clock: clock, output: { line, _ in lines.append(line) }, progress: { _ in })
        #expect(report.sent == 3 && report.received == 2 && report.duplicates == 2, "\(report)")
        #expect(lines.filter { $0.hasSuffix("(DUP!)") }.count == 2, "\(lines)")
        #expect(lines.contains("[cli] timeout: no reply from 10.0.0.2:7007 within 0.4 s"), "a copy of an earlier reply does not answer the third ping")
        #expect(report.summary(target: "10.0.0.2:7007")[1] == "3 packets transmitted, 2 received, +2 duplicates, 33% packet loss")
    }

    /// An echo that comes back in IPv4 fragments, out of order, is put together and counted
    /// as the reply; the round trip ends at its last fragment.
    @Test func anEchoInFragmentsIsPutTogether() async throws {
        let clock = ManualClock()
        var ping = PingClient(payload: Array(repeating: 0x61, count: 3000))
        ping.timeout = .milliseconds(400)
        let request = UDPFrame.build(from: (Self.me, ping.ip, ping.port), to: (Self.service, EchoResponder.defaultIP, ping.servicePort), payload: ping.payload)
        let echo = UDPFrame(parsing: request)!.reply(from: Self.service)
        let packet = IPv4Packet(parsing: echo.payload)!
        let fragments = IPv4Fragmenter.fragments(of: packet, mtu: 1500, identification: 1)!.map {
            EthernetFrame(destination: echo.destination, source: echo.source, etherType: .ipv4, payload: $0.bytes).bytes
        }
        let exchange = ScriptedExchange(clock: clock) { _, _ in
            [(.milliseconds(3), fragments[2]), (.milliseconds(4), fragments[0]), (.milliseconds(5), fragments[1])]
        }
        var lines: [String] = []
        let report = try await ping.ping(request.bytes, from: 1, source: .v4(ping.ip), on: exchange, clock: clock, output: { line, _ in lines.append(line) }, progress: { _ in })
        #expect(report.received == 1 && report.roundTrips == [.milliseconds(5)], "\(lines)")
    }

    @Test func ntpComputesOffsetAndDelayFromItsOwnClock() async throws {
        let waiting = ManualClock()
        var query = NTPClient()
        query.timeout = .seconds(1)
        // The client's clock reads the same when it sends and when the answer comes.
        query.clock = FixedWallClock(unixNanoseconds: 1_800_000_000_000_000_000)
        var request = NTPPacket(mode: .client)
        request.transmitTimestamp = NTPTimestamp(unixNanoseconds: 1_800_000_000_000_000_000)
        let frame = UDPFrame.build(from: (Self.me, query.ip, query.port), to: (Self.service, query.serviceIP, NTPPacket.port), payload: request.bytes)
        // The server's clock is half a second ahead.
        let responder = NTPResponder(mac: Self.service, clock: FixedWallClock(unixNanoseconds: 1_800_000_000_500_000_000))
        let exchange = ScriptedExchange(clock: waiting) { bytes, _ in
            guard case .ntpReply(let reply, _) = responder.answer(bytes) else { return [] }
            return [(.milliseconds(5), reply.bytes)]
        }
        let result = try await query.exchange(frame.bytes, request: request, t1: 1_800_000_000_000_000_000, from: 1, on: exchange, waitingClock: waiting)
        #expect(result.offset == 0.5)
        #expect(result.delay == 0)
        #expect(result.response.stratum == 1)
    }

    @Test func ntpWithoutAnAnswerTimesOutOnItsClock() async throws {
        let waiting = ManualClock()
        var query = NTPClient()
        query.timeout = .seconds(3)
        let exchange = ScriptedExchange(clock: waiting) { _, _ in [] }
        await #expect(throws: FabricClientError.self) {
            try await query.exchange([], request: NTPPacket(mode: .client), t1: 0, from: 1, on: exchange, waitingClock: waiting)
        }
        #expect(waiting.now.offset == .seconds(3))
    }
}
