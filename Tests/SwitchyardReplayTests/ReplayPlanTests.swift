import SwitchyardCapture
import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

let service = MACAddress("02:53:59:00:00:01")!
let client = MACAddress("02:53:59:00:00:02")!
let clientAgain = MACAddress("02:53:59:00:00:05")!
let stranger = MACAddress("02:aa:00:00:00:09")!

func udp(from: MACAddress, to: MACAddress, _ payload: String, ttl: UInt8 = 64, id: UInt16 = 0) -> [UInt8] {
    let fromIP = from == service ? IPv4Address(10, 0, 0, 2) : IPv4Address(10, 0, 0, 1)
    let toIP = to == service ? IPv4Address(10, 0, 0, 2) : IPv4Address(10, 0, 0, 1)
    return UDPFrame.build(
        from: (from, fromIP, from == service ? 7007 : 12345),
        to: (to, toIP, to == service ? 7007 : 12345),
        payload: Array(payload.utf8),
        timeToLive: ttl,
        identification: id
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

func arpRequest(from mac: MACAddress, ip: IPv4Address, asking target: IPv4Address) -> [UInt8] {
    ARPPacket.requestFrame(from: mac, ip: ip, asking: target).bytes
}

func arpReply(to request: [UInt8], owner ip: IPv4Address, mac: MACAddress) -> [UInt8] {
    ARPPacket.replyFrame(to: EthernetFrame(parsing: request)!, ownerOf: ip, mac: mac)!.bytes
}

/// An IPv6 frame with an ICMPv6 message of `type` (checksum not computed: classification only).
func icmp6(from mac: MACAddress, type: UInt8, source: [UInt8] = [0xfe, 0x80] + Array(repeating: 0, count: 13) + [1]) -> [UInt8] {
    let destination: [UInt8] = [0xff, 0x02] + Array(repeating: 0, count: 13) + [2]
    let body: [UInt8] = [type, 0, 0, 0] + Array(repeating: 0, count: 20)
    let header: [UInt8] = [0x60, 0, 0, 0, 0, UInt8(body.count), 58, 255] + source + destination
    return [0x33, 0x33, 0, 0, 0, 2] + mac.bytes + [0x86, 0xDD] + header + body
}

@Suite struct ReplayPlanTests {
    @Test func rolesComeFromTheRecordingNotFromWhoIsLive() throws {
        let plan = try ReplayPlan.make(recording: session, play: [], expect: [])
        #expect(plan.played.map(\.name) == ["cli1"])
        #expect(plan.expected.map(\.name) == ["svc_echo"])
        #expect(plan.played[0].reason == "it started udp 10.0.0.1:12345 → 10.0.0.2:7007 (frame 1)")
        #expect(plan.expected[0].reason == "it answered udp 10.0.0.1:12345 → 10.0.0.2:7007 (frame 2)")
        #expect(plan.flows.count == 1, "one 5-tuple, one flow")
        #expect(plan.flows[0].events.map(\.frame.number) == [1, 2, 3, 4])
        #expect(plan.flows[0].events.map(\.isPlayed) == [true, false, true, false])
        #expect(plan.expectedFrameCount == 2 && plan.playedFrameCount == 2)
    }

    @Test func playAndExpectOverrideByNameOrMAC() throws {
        let plan = try ReplayPlan.make(recording: session, play: [], expect: ["02:53:59:00:00:01"])
        #expect(plan.expected.map(\.name) == ["svc_echo"] && plan.expected[0].reason == "--expect")
        let unknown = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: session, play: ["nobody"], expect: []) }
        #expect(unknown?.message == "\"nobody\" is no endpoint of the recording (its endpoints: svc_echo, cli1)")
        let everything = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: session, play: ["cli1", "svc_echo"], expect: []) }
        #expect(everything?.message.hasPrefix("nothing to compare") == true)
        let nothing = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: session, play: [], expect: ["cli1", "svc_echo"]) }
        #expect(nothing?.message.hasPrefix("nothing to play") == true)
    }

    @Test func withoutAManifestEndpointsAreTheirMACs() throws {
        let bare = recording(session.frames.map(\.bytes), endpoints: nil)
        let plan = try ReplayPlan.make(recording: bare, play: [], expect: [])
        #expect(plan.played.map(\.name) == ["replay-025359000002"])
        #expect(plan.expected.map(\.name) == ["replay-025359000001"])
        #expect(plan.expectedFrameCount == 2)
        let byName = #expect(throws: ReplayError.self) { try ReplayPlan.make(recording: bare, play: ["cli1"], expect: []) }
        #expect(byName?.message == "s.pcap has no manifest, so --play and --expect take MAC addresses, not \"cli1\"")
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
        // The service spoke first on the flow, so the roles are said, not guessed.
        let plan = try ReplayPlan.make(recording: mixed, play: ["cli1"], expect: ["svc_echo"])
        #expect(plan.skipped.map(\.frame.number) == [1, 3])
        #expect(plan.skipped.map(\.reason) == ["sent before the first played frame", "sent from 02:aa:00:00:00:09, no endpoint of the recording"])
        #expect(plan.flows.count == 1 && plan.flows[0].events.map(\.frame.number) == [2, 4])
    }

    @Test func aClientRunTwiceIsOneEndpointWithTwoMACs() throws {
        let twice = recording(
            [udp(from: client, to: service, "a"), udp(from: service, to: client, "a"), udp(from: clientAgain, to: service, "b"), udp(from: service, to: clientAgain, "b")],
            endpoints: [("svc_echo", service), ("cli1", client), ("cli1", clientAgain)]
        )
        let plan = try ReplayPlan.make(recording: twice, play: [], expect: [])
        #expect(plan.played.count == 1)
        #expect(plan.played[0].allMACs == [client, clientAgain])
        #expect(plan.flows.flatMap(\.events).map(\.participant) == [0, 0, 0, 0])
    }

    @Test func whatHostsSendOnTheirOwnIsBackground() throws {
        let serverIP = IPv4Address(10, 0, 0, 2), clientIP = IPv4Address(10, 0, 0, 1)
        let request = arpRequest(from: client, ip: clientIP, asking: serverIP)
        let askedByServer = arpRequest(from: service, ip: serverIP, asking: clientIP)
        let frames = [
            icmp6(from: client, type: 133),                                   // router solicitation
            icmp6(from: service, type: 143),                                  // MLDv2 report
            arpRequest(from: client, ip: IPv4Address(rawValue: 0), asking: clientIP), // ARP probe
            request, arpReply(to: request, owner: serverIP, mac: service),
            udp(from: client, to: service, "a"),
            askedByServer, arpReply(to: askedByServer, owner: clientIP, mac: client),
            udp(from: service, to: client, "a"),
            UDPFrame.build(from: (service, serverIP, 5353), to: (MACAddress("01:00:5e:00:00:fb")!, IPv4Address(224, 0, 0, 251), 5353), payload: [0, 0, 0, 0]).bytes,
        ]
        let plan = try ReplayPlan.make(recording: recording(frames, endpoints: [("svc_echo", service), ("cli1", client)]), play: [], expect: [])
        #expect(plan.played.map(\.name) == ["cli1"] && plan.expected.map(\.name) == ["svc_echo"])
        #expect(plan.background.map(\.frame.number) == [1, 2, 3, 7, 8, 10])
        #expect(plan.background.map(\.reason) == [
            "IPv6 router solicitation", "MLD", "ARP probe",
            "an address request from an endpoint under test (played endpoints answer it themselves)",
            "an address request from an endpoint under test (played endpoints answer it themselves)",
            "mDNS",
        ])
        #expect(plan.flows.map(\.label) == ["arp 10.0.0.1 ↔ 10.0.0.2", "udp 10.0.0.1:12345 → 10.0.0.2:7007"])
        #expect(plan.flows.map { $0.events.map(\.frame.number) } == [[4, 5], [6, 9]])
    }

    @Test func aUDPReplyFromAnotherPortJoinsItsFlow() throws {
        // TFTP: the request goes to port 69, the data comes from a fresh port.
        let serverIP = IPv4Address(10, 0, 0, 6), clientIP = IPv4Address(10, 0, 0, 50)
        let frames = [
            UDPFrame.build(from: (client, clientIP, 2000), to: (service, serverIP, 69), payload: [0, 1]).bytes,
            UDPFrame.build(from: (service, serverIP, 49152), to: (client, clientIP, 2000), payload: [0, 3, 0, 1]).bytes,
            UDPFrame.build(from: (client, clientIP, 2000), to: (service, serverIP, 49152), payload: [0, 4, 0, 1]).bytes,
        ]
        let plan = try ReplayPlan.make(recording: recording(frames, endpoints: [("svc_tftp", service), ("cli1", client)]), play: [], expect: [])
        #expect(plan.expected.map(\.name) == ["svc_tftp"], "the server answered; it did not start a flow of its own")
        #expect(plan.flows.count == 1 && plan.flows[0].events.count == 3)
    }

    @Test func aTCPConnectionIsReadAsStreams() throws {
        let plan = try ReplayPlan.make(recording: recording(tcpSession(), endpoints: [("web", service), ("cli1", client)]), play: [], expect: [])
        #expect(plan.played.map(\.name) == ["cli1"])
        #expect(plan.flows.count == 1)
        let connection = try #require(plan.flows[0].connection)
        #expect(plan.flows[0].label == "tcp.stream 0: 10.0.0.1:40000 → 10.0.0.2:80")
        #expect(connection.clientSegments.map { String(decoding: $0.payload, as: UTF8.self) } == ["GET /\r\n", ""])
        #expect(connection.clientSegments.map(\.serverPosition) == [0, 13], "the FIN waited for 12 bytes and the server's FIN")
        #expect(String(decoding: connection.serverStream, as: UTF8.self) == "hello, world")
        #expect(connection.serverEnding == .fin && connection.clientEnding == .fin)
    }

    @Test func framesCutByTheSnapshotLengthAreNeverAPass() throws {
        var cutTCP = recording(tcpSession(), endpoints: [("web", service), ("cli1", client)])
        cutTCP.frames[5].originalLength = cutTCP.frames[5].bytes.count
        cutTCP.frames[5].bytes = Array(cutTCP.frames[5].bytes.prefix(50))
        let tcpPlan = try ReplayPlan.make(recording: cutTCP, play: [], expect: [])
        #expect(tcpPlan.flows.map(\.skipReason) == ["its segments were cut by the snapshot length (frame 6 was cut to 50 of 61 bytes by the snapshot length)"])

        var cutUDP = session
        cutUDP.frames[1].originalLength = cutUDP.frames[1].bytes.count
        cutUDP.frames[1].bytes = Array(cutUDP.frames[1].bytes.prefix(40))
        let udpPlan = try ReplayPlan.make(recording: cutUDP, play: [], expect: [])
        #expect(udpPlan.skipped.map(\.reason) == ["cut to 40 of 43 bytes by the snapshot length: it cannot be replayed bit for bit"])
        #expect(udpPlan.cutFrames == 1)
        let report = ReplayReport(recordingPath: "s.pcap", plan: udpPlan, start: 0)
        #expect(!report.isIdentical)
        #expect(report.summary.hasSuffix("; 0 unexpected; 1 frame cut by the snapshot length, not replayed"))
    }

    @Test func aClaimedLengthOfFourGiBIsNotAllocated() throws {
        var hostile = session
        hostile.frames[1].originalLength = Int(UInt32.max)
        let plan = try ReplayPlan.make(recording: hostile, play: [], expect: [])
        #expect(plan.cutFrames == 1, "found by FuzzRecording: the frame was padded to its claimed 4 GiB")
    }

    @Test func aConnectionWithoutItsSYNIsSkippedWithTheReason() throws {
        let cut = Array(tcpSession().dropFirst(3))
        let plan = try ReplayPlan.make(recording: recording(cut, endpoints: [("web", service), ("cli1", client)]), play: ["cli1"], expect: ["web"])
        #expect(plan.flows.count == 1 && plan.flows[0].connection == nil)
        #expect(plan.flows[0].skipReason == "its SYN is not in the recording (it began before the capture)")
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

    /// A mask says what it hid: the fields it names differed (not the checksums over them),
    /// and a comparison of which every field is masked compared nothing.
    @Test func masksSayWhatTheyHid() {
        let masks = FrameComparator(ignoring: ["ipv4.ttl", "udp.payload", "ipv4.id"])
        #expect(masks.maskNames == ["ipv4.id", "ipv4.ttl", "udp.payload"])
        let ttl = masks.compare(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a", ttl: 63))
        #expect(ttl.difference == nil && ttl.hiddenBy == ["ipv4.ttl"] && !ttl.fullyMasked)
        let both = masks.compare(expected: udp(from: service, to: client, "abc"), received: udp(from: service, to: client, "xyz", ttl: 63))
        #expect(both.difference == nil && both.hiddenBy == ["ipv4.ttl", "udp.payload"])
        let same = masks.compare(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a"))
        #expect(same.hiddenBy.isEmpty, "nothing differed, nothing hidden")
        let unmasked = masks.compare(expected: udp(from: service, to: client, "a"), received: udp(from: stranger, to: client, "a", ttl: 63))
        #expect(unmasked.difference?.field == "eth.src" && unmasked.hiddenBy == ["ipv4.ttl"], "a mask hides its field even when another differs")

        // A frame of an EtherType nothing decodes: its header and the rest, all masked.
        let raw = client.bytes + service.bytes + [0x88, 0xB5] + Array("whatever".utf8)
        let everything = FrameComparator(ignoring: ["eth.dst", "eth.src", "eth.type", "frame.padding"])
        #expect(everything.compare(expected: raw, received: raw).fullyMasked)
        #expect(!everything.compare(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a")).fullyMasked)
        #expect(!FrameComparator(ignoring: []).compare(expected: udp(from: service, to: client, "a"), received: udp(from: service, to: client, "a")).fullyMasked)
    }

    @Test func tcpHeaderFieldsAreNamedAndMaskable() {
        let expected = tcp(from: service, seq: 5000, ack: 101, [.syn, .ack])
        var changed = TCPFrame(parsing: expected)!
        changed.tcp.window = 600
        #expect(self.comparator.difference(expected: expected, received: changed.bytes)?.description == "tcp.window: expected 502, got 600")
        #expect(FrameComparator(ignoring: ["tcp.window"]).difference(expected: expected, received: changed.bytes) == nil, "the TCP checksum goes with the field")
        #expect(FrameFields.isMaskable("tcp.seq") && FrameFields.isMaskable("tcp.payload"))
        // Options beyond 40 bytes are left off whole, never cut mid-option.
        let blocks = (0..<4).map { TCPSegment.SACKBlock(left: UInt32($0) * 10, right: UInt32($0) * 10 + 5) }
        let crowded = TCPSegment(sourcePort: 1, destinationPort: 2, sequenceNumber: 0, acknowledgmentNumber: 0, flags: .ack, window: 1,
                                 options: [.noOperation, .noOperation, .timestamps(value: 1, echoReply: 2), .sack(blocks)])
        let parsed = TCPSegment(parsing: crowded.bytes(source: tcpClientIP, destination: tcpServerIP)[...])
        #expect(parsed?.options == [.noOperation, .noOperation, .timestamps(value: 1, echoReply: 2)])
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

@Test func junitReportHasACasePerFlowAndCountsFailures() throws {
    let plan = try ReplayPlan.make(recording: session, play: [], expect: [])
    var report = ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0)
    report.results = [
        .init(flow: 0, expected: session.frames[1], verdict: .matched),
        .init(flow: 0, expected: session.frames[3], verdict: .missing),
    ]
    report.absent = ["svc<ntp>"]
    let xml = JUnitReport.xml(for: report, suiteName: "s&<.pcap")
    #expect(xml.contains(#"<testsuite name="s&amp;&lt;.pcap" tests="2" failures="2""#))
    #expect(xml.contains(#"<testcase classname="s&amp;&lt;.pcap" name="udp 10.0.0.1:12345 → 10.0.0.2:7007">"#))
    #expect(xml.contains("<failure message=\"frame 4 (+0.000003 s) missing: "))
    #expect(xml.contains("svc&lt;ntp&gt; is not on the fabric"))
    #expect(report.summary == "replayed 0 frames, expected 2 replies: 1 matched, 0 differed, 1 missing; 0 unexpected")
    #expect(!report.isIdentical)
}
