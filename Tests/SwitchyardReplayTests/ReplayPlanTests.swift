import SwitchyardCapture
import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

let service = MACAddress("02:53:59:00:00:01")!
let client = MACAddress("02:53:59:00:00:02")!
let clientAgain = MACAddress("02:53:59:00:00:05")!
let stranger = MACAddress("02:aa:00:00:00:09")!

func udp(from: MACAddress, to: MACAddress, _ payload: String, ttl: UInt8 = 64) -> [UInt8] {
    let fromIP = from == service ? IPv4Address(10, 0, 0, 2) : IPv4Address(10, 0, 0, 1)
    let toIP = to == service ? IPv4Address(10, 0, 0, 2) : IPv4Address(10, 0, 0, 1)
    return UDPFrame.build(
        from: (from, fromIP, from == service ? 7007 : 12345),
        to: (to, toIP, to == service ? 7007 : 12345),
        payload: Array(payload.utf8),
        timeToLive: ttl
    ).bytes
}

func recording(_ frames: [[UInt8]], endpoints: [(String, MACAddress)]?) -> Recording {
    let recorded = frames.enumerated().map { RecordedFrame(number: $0 + 1, timestamp: CaptureTimestamp(totalNanoseconds: Int64($0) * 1000), bytes: $1) }
    let manifest = endpoints.map { list in
        RecordingManifest(capture: "s.pcap", endpoints: list.enumerated().map { RecordingManifest.Endpoint(id: UInt32($0 + 1), name: $1.0, mac: $1.1.description, createdNanoseconds: 0) })
    }
    return Recording(path: "s.pcap", frames: recorded, manifest: manifest)
}

let session = recording(
    [udp(from: client, to: service, "a"), udp(from: service, to: client, "a"), udp(from: client, to: service, "b"), udp(from: service, to: client, "b")],
    endpoints: [("svc_echo", service), ("cli1", client)]
)

@Suite struct ReplayPlanTests {
    @Test func liveEndpointsAreExpectedAndTheOthersPlayed() throws {
        let plan = try ReplayPlan.make(recording: session, live: ["svc_echo"], play: [], expect: [])
        #expect(plan.played.map(\.name) == ["cli1"])
        #expect(plan.expected.map(\.name) == ["svc_echo"])
        #expect(plan.steps.map(\.frame.number) == [1, 3])
        #expect(plan.steps.map { $0.expected.map(\.frame.number) } == [[2], [4]])
        #expect(plan.notes.isEmpty)
    }

    @Test func withNothingLiveTheAnsweringEndpointsAreExpected() throws {
        let plan = try ReplayPlan.make(recording: session, live: [], play: [], expect: [])
        #expect(plan.played.map(\.name) == ["cli1"])
        #expect(plan.expected.map(\.name) == ["svc_echo"])
        #expect(plan.notes == ["svc_echo is not on the fabric: expecting its frames (it only answered in the recording)"])
    }

    @Test func playAndExpectOverrideByNameOrMAC() throws {
        let plan = try ReplayPlan.make(recording: session, live: ["svc_echo", "cli1"], play: ["02:53:59:00:00:02"], expect: [])
        #expect(plan.played.map(\.name) == ["cli1"])
        let unknown = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: session, live: [], play: ["nobody"], expect: []) }
        #expect(unknown?.message == "\"nobody\" is no endpoint of the recording (its endpoints: svc_echo, cli1)")
        let everything = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: session, live: [], play: ["cli1", "svc_echo"], expect: []) }
        #expect(everything?.message.hasPrefix("nothing to compare") == true)
        let nothing = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: session, live: ["svc_echo", "cli1"], play: [], expect: []) }
        #expect(nothing?.message.hasPrefix("nothing to play") == true)
    }

    @Test func withoutAManifestPlayTakesMACs() throws {
        let bare = recording(session.frames.map(\.bytes), endpoints: nil)
        let missing = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: bare, live: [], play: [], expect: []) }
        #expect(missing?.message == "s.pcap has no manifest (s.manifest.json): say which endpoints to play with --play MAC")
        let byName = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: bare, live: [], play: ["cli1"], expect: []) }
        #expect(byName?.message == "s.pcap has no manifest, so --play takes MAC addresses, not \"cli1\"")
        let plan = try ReplayPlan.make(recording: bare, live: [], play: [client.description], expect: [])
        #expect(plan.played.map(\.name) == ["replay-025359000002"])
        #expect(plan.expectedFrameCount == 2)
    }

    @Test func framesReplayCannotAttributeOrSeeAreSkippedWithAReason() throws {
        let mixed = recording(
            [
                udp(from: service, to: client, "early"),
                udp(from: client, to: service, "a"),
                udp(from: stranger, to: service, "x"),
                udp(from: service, to: client, "a"),
            ],
            endpoints: [("svc_echo", service), ("cli1", client)]
        )
        let plan = try ReplayPlan.make(recording: mixed, live: ["svc_echo"], play: [], expect: [])
        #expect(plan.skipped.map(\.frame.number) == [1, 3])
        #expect(plan.skipped.map(\.reason) == ["sent before the first played frame", "sent from 02:aa:00:00:00:09, no endpoint of the recording"])
        #expect(plan.steps.count == 1 && plan.steps[0].expected.map(\.frame.number) == [4])
    }

    @Test func aClientRunTwiceIsOneEndpointWithTwoMACs() throws {
        let twice = recording(
            [udp(from: client, to: service, "a"), udp(from: service, to: client, "a"), udp(from: clientAgain, to: service, "b"), udp(from: service, to: clientAgain, "b")],
            endpoints: [("svc_echo", service), ("cli1", client), ("cli1", clientAgain)]
        )
        let plan = try ReplayPlan.make(recording: twice, live: ["svc_echo"], play: [], expect: [])
        #expect(plan.played.count == 1)
        #expect(plan.played[0].allMACs == [client, clientAgain])
        #expect(plan.steps.map(\.sender) == [0, 0])
        #expect(plan.steps.map { $0.expected.map(\.receiver) } == [[0], [0]])
    }
}

@Suite struct FrameComparatorTests {
    let comparator = FrameComparator(ignoring: [])

    @Test func identicalFramesMatch() {
        #expect(self.comparator.difference(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a")) == nil)
    }

    @Test func theFirstDifferingFieldIsNamedWithBothValues() {
        let ttl = self.comparator.difference(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a", ttl: 63))
        #expect(ttl?.description == "ipv4.ttl: expected 64, got 63")
        let payload = self.comparator.difference(expected: udp(from: service, to: client, "marco"), received: udp(from: service, to: client, "marxo"))
        #expect(payload?.description == "udp.payload[3]: expected 0x63 'c', got 0x78 'x'", "the payload, not the checksum before it that changed with it")
        var corrupted = udp(from: service, to: client, "marco")
        corrupted[40] ^= 0xFF
        #expect(self.comparator.difference(expected: udp(from: service, to: client, "marco"), received: corrupted)?.field == "udp.checksum", "a checksum alone is reported")
        let source = self.comparator.difference(expected: udp(from: service, to: client, "a"), received: udp(from: stranger, to: client, "a"))
        #expect(source?.description == "eth.src: expected 02:53:59:00:00:01, got 02:aa:00:00:00:09")
        let longer = self.comparator.difference(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a") + [0, 0])
        #expect(longer?.description == "frame.length: expected 43, got 45", "Ethernet padding after the datagram is a difference")
    }

    @Test func ignoringAFieldAlsoIgnoresTheChecksumsOverIt() {
        let ttlMasked = FrameComparator(ignoring: ["ipv4.ttl"])
        #expect(ttlMasked.difference(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a", ttl: 63)) == nil)
        let payloadMasked = FrameComparator(ignoring: ["udp.payload"])
        #expect(payloadMasked.difference(expected: udp(from: service, to: client, "abc"), received: udp(from: service, to: client, "abcdef")) != nil, "lengths still differ")
        #expect(payloadMasked.difference(expected: udp(from: service, to: client, "abc"), received: udp(from: service, to: client, "xyz")) == nil)
    }

    @Test func ntpFieldsAreNamed() {
        func ntp(stratum: UInt8, transmit: UInt64) -> [UInt8] {
            var packet = NTPPacket(mode: .server)
            packet.stratum = stratum
            packet.transmitTimestamp = NTPTimestamp(rawValue: transmit)
            return UDPFrame.build(from: (service, IPv4Address(10, 0, 0, 3), 123), to: (client, IPv4Address(10, 0, 0, 10), 40000), payload: packet.bytes).bytes
        }
        let masked = FrameComparator(ignoring: [])
        #expect(masked.difference(expected: ntp(stratum: 1, transmit: 5), received: ntp(stratum: 2, transmit: 5))?.description == "ntp.stratum: expected 1, got 2")
        #expect(masked.difference(expected: ntp(stratum: 1, transmit: 5), received: ntp(stratum: 1, transmit: 6))?.field == "ntp.transmit_ts")
        #expect(FrameComparator(ignoring: ["ntp.timestamps"]).difference(expected: ntp(stratum: 1, transmit: 5), received: ntp(stratum: 1, transmit: 6)) == nil)
    }
}

@Suite struct MACMapTests {
    @Test func rewritesEthernetAndARPAddresses() {
        var map = MACMap()
        map.map(service, to: stranger)
        let reply = ARPPacket.replyFrame(
            to: ARPPacket.requestFrame(from: client, ip: IPv4Address(10, 0, 0, 1), asking: IPv4Address(10, 0, 0, 2)),
            ownerOf: IPv4Address(10, 0, 0, 2),
            mac: service
        )!
        let mapped = EthernetFrame(parsing: map.apply(to: reply.bytes))!
        #expect(mapped.source == stranger && mapped.destination == client)
        #expect(ARPPacket(parsing: mapped.payload)?.senderHardwareAddress == stranger)
        #expect(map.apply(to: udp(from: client, to: service, "a")) == udp(from: client, to: stranger, "a").enumerated().map { index, byte in
            // IP and UDP bytes do not carry MACs: only the Ethernet destination changes.
            index < 6 ? stranger.bytes[index] : udp(from: client, to: service, "a")[index]
        })
    }
}

@Test func junitReportEscapesAndCountsFailures() {
    let plan = try! ReplayPlan.make(recording: session, live: ["svc_echo"], play: [], expect: [])
    var report = ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0)
    report.results = [
        .init(step: 0, expected: session.frames[1], verdict: .matched),
        .init(step: 1, expected: session.frames[3], verdict: .missing),
    ]
    let xml = JUnitReport.xml(for: report, suiteName: "s&<.pcap")
    #expect(xml.contains(#"<testsuite name="s&amp;&lt;.pcap" tests="2" failures="1""#))
    #expect(xml.contains("<failure message=\"frame 4 missing: "))
    #expect(report.summary == "replayed 0 frames, expected 2 replies: 1 matched, 0 differed, 1 missing; 0 unexpected")
}
