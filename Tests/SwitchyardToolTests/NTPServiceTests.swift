import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import SwitchyardTestSupport
import Testing

/// The NTP responder and client logic with fixed clocks, no sockets.
@Suite(.timeLimit(.minutes(3))) struct NTPResponderTests {
    static let server = MACAddress("02:53:59:00:00:01")!
    static let client = MACAddress("02:53:59:00:00:02")!
    static let instant: Int64 = 1_767_225_600 * 1_000_000_000  // 2026-01-01T00:00:00Z

    static func request(mode: NTPPacket.Mode = .client, payload: [UInt8]? = nil, transmit: Int64 = 42_000_000_000) -> [UInt8] {
        var packet = NTPPacket(mode: mode)
        packet.poll = 6
        packet.transmitTimestamp = NTPTimestamp(unixNanoseconds: transmit)
        return UDPFrame.build(
            from: (Self.client, IPv4Address(10, 0, 0, 10), 40000),
            to: (Self.server, IPv4Address(10, 0, 0, 3), 123),
            payload: payload ?? packet.bytes
        ).bytes
    }

    @Test func answersClientRequestsWithAServerPacketFromItsClock() throws {
        let responder = NTPResponder(mac: Self.server, clock: FixedWallClock(unixNanoseconds: Self.instant))
        guard case .ntpReply(let frame, _) = responder.answer(Self.request()) else {
            Issue.record("no reply")
            return
        }
        let udp = try #require(UDPFrame(parsing: frame))
        #expect(udp.checksumsValid)
        #expect(udp.ip.source == IPv4Address(10, 0, 0, 3) && udp.udp.sourcePort == 123 && udp.udp.destinationPort == 40000)
        #expect(frame.destination == Self.client && frame.source == Self.server)
        let reply = try #require(NTPPacket(parsing: udp.udp.payload))
        #expect(udp.udp.payload.count == 48)
        #expect((reply.leapIndicator, reply.version, reply.mode, reply.stratum) == (0, 4, .server, 1))
        #expect(reply.referenceIDText == "LOCL")
        #expect(reply.poll == 6 && reply.precision == -20)
        #expect(reply.originateTimestamp == NTPTimestamp(unixNanoseconds: 42_000_000_000), "originate = the request's transmit")
        let fixed = NTPTimestamp(unixNanoseconds: Self.instant)
        #expect(reply.receiveTimestamp == fixed && reply.transmitTimestamp == fixed && reply.referenceTimestamp == fixed)
        // The same request answered twice gives the same bytes: what makes replay bit for bit.
        guard case .ntpReply(let again, _) = responder.answer(Self.request()) else {
            Issue.record("the same request was not answered the second time")
            return
        }
        #expect(again.bytes == frame.bytes)
    }

    @Test func ignoresWhatIsNotAClientRequest() {
        let responder = NTPResponder(mac: Self.server, clock: FixedWallClock(unixNanoseconds: Self.instant))
        guard case .ignored(let short) = responder.answer(Self.request(payload: [UInt8](repeating: 0x1B, count: 47))) else {
            Issue.record("short request not ignored")
            return
        }
        #expect(short == "47-byte payload, shorter than an NTP packet")
        guard case .ignored(let mode) = responder.answer(Self.request(mode: .server)) else {
            Issue.record("server-mode packet not ignored")
            return
        }
        #expect(mode == "mode 4 (Server), not a client request")
        let elsewhere = UDPFrame.build(
            from: (Self.client, IPv4Address(10, 0, 0, 10), 40000),
            to: (Self.server, IPv4Address(10, 0, 0, 3), 7007),
            payload: [1, 2, 3]
        )
        #expect(responder.answer(elsewhere.bytes) == nil)
    }

    @Test func answersARPForItsAddressOnly() {
        let responder = NTPResponder(mac: Self.server, clock: SystemWallClock())
        let ask = ARPPacket.requestFrame(from: Self.client, ip: IPv4Address(10, 0, 0, 10), asking: IPv4Address(10, 0, 0, 3))
        guard case .arpReply(let reply) = responder.answer(ask.bytes) else {
            Issue.record("no ARP reply")
            return
        }
        let arp = ARPPacket(parsing: reply.payload)
        #expect(arp == ARPPacket(operation: .reply, senderHardwareAddress: Self.server, senderProtocolAddress: IPv4Address(10, 0, 0, 3), targetHardwareAddress: Self.client, targetProtocolAddress: IPv4Address(10, 0, 0, 10)))
        let other = ARPPacket.requestFrame(from: Self.client, ip: IPv4Address(10, 0, 0, 10), asking: IPv4Address(10, 0, 0, 2))
        #expect(responder.answer(other.bytes) == nil)
    }

    @Test func offsetAndDelayFollowRFC5905() {
        // Client 1 s behind the server, 20 ms each way, 5 ms in the server.
        let (offset, delay) = NTPClient.offsetAndDelay(t1: 10_000_000_000, t2: 11_020_000_000, t3: 11_025_000_000, t4: 10_045_000_000)
        #expect(abs(offset - 1.0) < 1e-9)
        #expect(abs(delay - 0.040) < 1e-9)
    }

    @Test(arguments: [
        ("system", true),
        ("fixed:2026-01-01T00:00:00Z", true),
        ("fixed:2026-01-01T00:00:00.25Z", true),
        ("offset:-1.5", true),
        ("fixed:yesterday", false),
        ("offset:abc", false),
        ("sundial", false),
    ])
    func clockSpecificationsParse(text: String, valid: Bool) {
        #expect((ClockSpecification(text) != nil) == valid)
    }

    @Test func fixedClocksGiveTheInstantNamed() {
        #expect(ClockSpecification("fixed:2026-01-01T00:00:00Z")?.clock.now() == Self.instant)
        #expect(ClockSpecification("fixed:2026-01-01T00:00:00.25Z")?.clock.now() == Self.instant + 250_000_000)
        #expect(ClockSpecification.format(unixNanoseconds: Self.instant + 1_500) == "2026-01-01T00:00:00.000001+00:00")
    }
}

extension NTPResponder.Answer: Equatable {
    public static func == (lhs: Self, rhs: Self) -> Bool {
        switch (lhs, rhs) {
        case (.arpReply(let a), .arpReply(let b)): a == b
        case (.ntpReply(let a, _), .ntpReply(let b, _)): a == b
        case (.ignored(let a), .ignored(let b)): a == b
        default: false
        }
    }
}
