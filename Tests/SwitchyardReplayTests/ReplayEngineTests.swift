import SwitchyardCapture
import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

/// The replay engine in memory: time is an instant the test advances by hand, so gated and
/// recorded pacing, timeouts, concurrency and drift are checked in microseconds of real time.
@Suite struct ReplayEngineTests {
    typealias Engine = ReplayEngine<ContinuousClock.Instant>
    let t0 = ContinuousClock.now

    func engine(
        _ pacing: Engine.Pacing, timeout: Duration = .seconds(1), frames: [[UInt8]]? = nil, times: [Int64]? = nil,
        endpoints: [(String, MACAddress)] = [("svc_echo", service), ("cli1", client)], absent: Set<Int> = [], ignoring: Set<String> = []
    ) throws -> Engine {
        let frames = frames ?? [udp(from: client, to: service, "a"), udp(from: service, to: client, "a"), udp(from: client, to: service, "b"), udp(from: service, to: client, "b")]
        var recorded = recording(frames, endpoints: endpoints)
        for index in recorded.frames.indices {
            recorded.frames[index].timestamp = CaptureTimestamp(totalNanoseconds: times?[index] ?? Int64(index) * 1000)
        }
        let plan = try ReplayPlan.make(recording: recorded, play: [], expect: [])
        let report = ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0)
        return Engine(plan: plan, report: report, ourMACs: plan.played.map(\.recordedMAC), pacing: pacing, timeout: timeout, comparator: FrameComparator(ignoring: ignoring), absent: absent)
    }

    func sent(_ actions: [Engine.Action]) -> [String] {
        actions.flatMap { action -> [String] in
            guard case .send(let frames, _) = action else { return [] }
            return frames.map { frame in
                UDPFrame(parsing: EthernetFrame(parsing: frame)!).map { String(decoding: $0.udp.payload, as: UTF8.self) } ?? FrameSummary.describe(frame)
            }
        }
    }

    @Test func gatedSendsEachFrameAfterTheRepliesBeforeItInItsFlow() throws {
        var engine = try self.engine(.gated)
        #expect(engine.start(now: t0) == [.send([udp(from: client, to: service, "a")], from: 0), .wait(until: t0 + .seconds(1))])
        let t1 = t0 + .milliseconds(2)
        #expect(engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t1) == [.send([udp(from: client, to: service, "b")], from: 0), .wait(until: t1 + .seconds(1))])
        let t2 = t1 + .milliseconds(3)
        #expect(engine.received(udp(from: service, to: client, "b"), receiver: 0, now: t2) == [.wait(until: t2 + .milliseconds(100))], "then a grace period for late extras")
        #expect(engine.timePassed(now: t2 + .milliseconds(100)) == [.finished])
        #expect(engine.report.matched == 2 && engine.report.isIdentical)
        #expect(engine.report.playedFrames == 2 && engine.flowsDone == 1)
    }

    /// The report counts what each mask hid, names the stale ones, and knows when masks left
    /// nothing compared.
    @Test func theReportSaysWhatEachMaskDid() throws {
        var engine = try self.engine(.topSpeed, ignoring: ["ipv4.ttl", "dns.id"])
        _ = engine.start(now: t0)
        _ = engine.received(udp(from: service, to: client, "a", ttl: 63), receiver: 0, now: t0)
        _ = engine.received(udp(from: service, to: client, "b"), receiver: 0, now: t0)
        _ = engine.timePassed(now: t0 + .seconds(2))
        #expect(engine.isFinished)
        #expect(engine.report.masks.map { "\($0.name) \($0.hid)" } == ["dns.id 0", "ipv4.ttl 1"])
        #expect(engine.report.staleMasks.map(\.name) == ["dns.id"])
        #expect(engine.report.summary.hasSuffix("; masked: dns.id 0 (--ignore, stale), ipv4.ttl 1 (--ignore)"), "\(engine.report.summary)")
        #expect(engine.report.details().contains("stale mask: --ignore dns.id hid nothing in this run"))
        #expect(!engine.report.masksHideEverything && engine.report.comparisons == 2)

        var report = engine.report
        report.fullyMaskedComparisons = report.comparisons
        #expect(report.masksHideEverything, "every compared frame fully masked: nothing was checked")
    }

    /// One flow, three replies recorded. Whatever comes (one missing, one extra, one changed),
    /// the final report lines the frames up as diff would: the rest still match.
    @Test func aMissingAnExtraAndAChangedReplyAreToldApart() throws {
        let recorded = ["a", "b", "c"].flatMap { [udp(from: client, to: service, $0), udp(from: service, to: client, $0)] }
        func run(_ replies: [String]) throws -> ReplayReport {
            var engine = try self.engine(.topSpeed, frames: recorded)
            _ = engine.start(now: t0)
            for reply in replies {
                _ = engine.received(udp(from: service, to: client, reply), receiver: 0, now: t0)
            }
            // The timeout for the missing, then the grace period for late extras.
            _ = engine.timePassed(now: t0 + .seconds(5))
            _ = engine.timePassed(now: t0 + .seconds(10))
            #expect(engine.isFinished)
            return engine.report
        }
        func verdicts(_ report: ReplayReport) -> [String] {
            report.results.map { result in
                switch result.verdict {
                case .matched: "matched"
                case .missing: "missing"
                case .differed(let difference, _): difference.field
                }
            }
        }
        let missing = try run(["b", "c"])
        #expect(verdicts(missing) == ["missing", "matched", "matched"], "not: a differs, b differs, c missing")
        #expect(missing.unexpected.isEmpty)
        let extra = try run(["a", "x", "b", "c"])
        #expect(verdicts(extra) == ["matched", "matched", "matched"])
        #expect(extra.unexpected.count == 1 && extra.unexpected[0].flow == 0)
        let changed = try run(["a", "B", "c"])
        #expect(verdicts(changed) == ["matched", "udp.payload[0]", "matched"])
        #expect(changed.unexpected.isEmpty)
        let clean = try run(["a", "b", "c"])
        #expect(verdicts(clean) == ["matched", "matched", "matched"] && clean.isIdentical)
    }

    @Test func gatedGivesAReplyUpAtItsTimeoutAndGoesOn() throws {
        var engine = try self.engine(.gated, timeout: .milliseconds(300))
        _ = engine.start(now: t0)
        #expect(engine.timePassed(now: t0 + .milliseconds(299)) == [.wait(until: t0 + .milliseconds(300))], "not yet")
        let late = t0 + .milliseconds(300)
        #expect(self.sent(engine.timePassed(now: late)) == ["b"])
        // The reply to the first exchange comes now: too late, it is checked against the second.
        let arrival = late + .milliseconds(1)
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: arrival)
        #expect(engine.report.missing == 1)
        #expect(engine.report.differed == 1, "the late 'a' differs from the expected 'b'")
    }

    @Test func independentFlowsRunSideBySide() throws {
        // Two clients' exchanges overlapped in the recording: neither waits for the other.
        let other = MACAddress("02:53:59:00:00:07")!
        let frames = [
            udp(from: client, to: service, "a"),
            UDPFrame.build(from: (other, IPv4Address(10, 0, 0, 7), 5000), to: (service, IPv4Address(10, 0, 0, 2), 7007), payload: Array("x".utf8)).bytes,
            udp(from: service, to: client, "a"),
            UDPFrame.build(from: (service, IPv4Address(10, 0, 0, 2), 7007), to: (other, IPv4Address(10, 0, 0, 7), 5000), payload: Array("x".utf8)).bytes,
        ]
        var engine = try self.engine(.gated, frames: frames, endpoints: [("svc_echo", service), ("cli1", client), ("cli2", other)])
        let first = engine.start(now: t0)
        #expect(self.sent(first) == ["a", "x"], "both flows begin at once")
        #expect(first.contains(.send([frames[0]], from: 0)) && first.contains(.send([frames[1]], from: 1)))
        _ = engine.received(frames[3], receiver: 1, now: t0)
        _ = engine.received(frames[2], receiver: 0, now: t0)
        #expect(engine.report.matched == 2, "replies in another order than recorded still match their own flows")
    }

    @Test func aFlowThatBeganAfterAnotherEndedWaitsForIt() throws {
        let serverIP = IPv4Address(10, 0, 0, 2), clientIP = IPv4Address(10, 0, 0, 1)
        let request = arpRequest(from: client, ip: clientIP, asking: serverIP)
        let frames = [request, arpReply(to: request, owner: serverIP, mac: service), udp(from: client, to: service, "a"), udp(from: service, to: client, "a")]
        var engine = try self.engine(.gated, frames: frames)
        #expect(engine.start(now: t0) == [.send([request], from: 0), .wait(until: t0 + .seconds(1))], "the datagram waits for the ARP exchange")
        #expect(self.sent(engine.received(frames[1], receiver: 0, now: t0)) == ["a"])
    }

    @Test func backgroundNeverShiftsAComparisonAndPlayedEndpointsAnswerARP() throws {
        var engine = try self.engine(.gated)
        _ = engine.start(now: t0)
        // The live server's kernel asks who has the client's address, and sends an MLD report.
        let ask = arpRequest(from: service, ip: IPv4Address(10, 0, 0, 2), asking: IPv4Address(10, 0, 0, 1))
        let answer = engine.received(ask, receiver: 0, now: t0)
        #expect(answer.first == .send([arpReply(to: ask, owner: IPv4Address(10, 0, 0, 1), mac: client)], from: 0))
        _ = engine.received(icmp6(from: service, type: 143), receiver: 0, now: t0)
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t0)
        #expect(engine.report.matched == 1 && engine.report.differed == 0)
        #expect(engine.report.liveBackground == 2)
        #expect(engine.report.newBackgroundKinds == ["MLD"], "a kind the recording never had is a note")
    }

    @Test func playedEndpointsAnswerNeighbourSolicitationsForTheirIPv6Addresses() throws {
        let clientAddress: [UInt8] = [0xfd, 0x53, 0x59, 0] + Array(repeating: 0, count: 11) + [0x61]
        let serviceAddress: [UInt8] = [0xfd, 0x53, 0x59, 0] + Array(repeating: 0, count: 11) + [0x60]
        func udp6(from: MACAddress, to: MACAddress, _ source: [UInt8], _ destination: [UInt8], ports: (UInt16, UInt16)) -> [UInt8] {
            let body: [UInt8] = [UInt8(ports.0 >> 8), UInt8(ports.0 & 0xFF), UInt8(ports.1 >> 8), UInt8(ports.1 & 0xFF), 0, 10, 0, 0, 0x68, 0x69]
            return to.bytes + from.bytes + [0x86, 0xDD, 0x60, 0, 0, 0, 0, UInt8(body.count), 17, 64] + source + destination + body
        }
        let frames = [udp6(from: client, to: service, clientAddress, serviceAddress, ports: (40000, 7)), udp6(from: service, to: client, serviceAddress, clientAddress, ports: (7, 40000))]
        var engine = try self.engine(.gated, frames: frames)
        _ = engine.start(now: t0)
        // The live server asks who has the client's address (to the solicited-node group).
        let solicitedNode: [UInt8] = [0xff, 0x02] + Array(repeating: 0, count: 9) + [1, 0xff, 0, 0, 0x61]
        let icmp: [UInt8] = [135, 0, 0, 0, 0, 0, 0, 0] + clientAddress + [1, 1] + service.bytes
        let solicitation = [0x33, 0x33, 0xff, 0, 0, 0x61] + service.bytes + [0x86, 0xDD, 0x60, 0, 0, 0, 0, UInt8(icmp.count), 58, 255] + serviceAddress + solicitedNode + icmp
        guard case .send(let answer, from: 0)? = engine.received(solicitation, receiver: 0, now: t0).first, let advertisement = answer.first else {
            Issue.record("no neighbour advertisement")
            return
        }
        #expect(Array(advertisement[0..<12]) == service.bytes + client.bytes)
        #expect(advertisement[54] == 136 && Array(advertisement[62..<78]) == clientAddress, "a solicited advertisement for the client's address")
        #expect(Array(advertisement[80..<86]) == client.bytes, "with the client's link-layer address")
        var sum = InternetChecksum()
        sum.add(Array(advertisement[22..<54]))
        sum.add(UInt16(0))
        sum.add(UInt16(advertisement.count - 54))
        sum.add(UInt16(0))
        sum.add(UInt16(58))
        sum.add(Array(advertisement[54...]))
        #expect(sum.value == 0, "the ICMPv6 checksum over the pseudo-header is right")
        _ = engine.received(frames[1], receiver: 0, now: t0)
        #expect(engine.report.matched == 1, "the IPv6 datagram flow matched")
    }

    @Test func anAbsentServiceIsMissingAtOnce() throws {
        var engine = try self.engine(.gated, absent: [0])
        let actions = engine.start(now: t0)
        #expect(self.sent(actions) == ["a", "b"], "nothing waits for a service that is not there")
        #expect(engine.report.missing == 2)
    }

    @Test func recordedPacingKeepsTheGapsDividedBySpeedAndMeasuresDrift() throws {
        // Sends at 0 and 100 ms in the recording, played at double speed: 0 and 50 ms after start.
        var engine = try self.engine(.recorded(speed: 2), times: [0, 1_000, 100_000_000, 100_001_000])
        let start = t0 + Engine.recordedLeadTime
        #expect(engine.start(now: t0) == [.wait(until: start)])
        #expect(engine.timePassed(now: start) == [.send([udp(from: client, to: service, "a")], from: 0), .wait(until: start + .milliseconds(50))])
        // Woken 3 ms late: sent at once, and the drift is reported.
        let late = start + .milliseconds(53)
        #expect(self.sent(engine.timePassed(now: late)) == ["b"])
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: late)
        #expect(engine.received(udp(from: service, to: client, "b"), receiver: 0, now: late) == [.wait(until: late + .milliseconds(100))])
        #expect(engine.timePassed(now: late + .milliseconds(100)) == [.finished])
        #expect(engine.report.worstSendDrift == .milliseconds(3))
        #expect(engine.report.isIdentical)
    }

    @Test func topSpeedSendsEverythingAtOnceInOneWritePerSender() throws {
        var engine = try self.engine(.topSpeed, timeout: .milliseconds(500))
        #expect(engine.start(now: t0) == [.send([udp(from: client, to: service, "a"), udp(from: client, to: service, "b")], from: 0), .wait(until: t0 + .milliseconds(500))])
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t0)
        #expect(engine.timePassed(now: t0 + .milliseconds(500)) == [.wait(until: t0 + .milliseconds(600))])
        #expect(engine.timePassed(now: t0 + .milliseconds(600)) == [.finished])
        #expect(engine.report.matched == 1 && engine.report.missing == 1)
    }

    @Test func ourOwnFramesAndOtherEndpointsCopiesOfAFloodAreNotCompared() throws {
        var engine = try self.engine(.gated)
        _ = engine.start(now: t0)
        #expect(engine.received(udp(from: client, to: service, "a"), receiver: 0, now: t0) == [], "our own send, echoed by a promiscuous path")
        let flood = MACAddress.broadcast.bytes + service.bytes + [0x88, 0xB5, 0, 0]
        #expect(engine.received(flood, receiver: 1, now: t0) == [], "a flood's copy to another played endpoint")
        _ = engine.received(flood, receiver: 0, now: t0)
        #expect(engine.report.unexpected.isEmpty && engine.report.liveBackground == 1, "a flood of no recorded flow is background")
    }

    @Test func extrasAreUnexpectedAndInterruptionStopsWithAPartialReport() throws {
        var engine = try self.engine(.gated)
        _ = engine.start(now: t0)
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t0)
        _ = engine.received(udp(from: service, to: client, "b"), receiver: 0, now: t0)
        _ = engine.received(udp(from: service, to: client, "extra"), receiver: 0, now: t0)
        #expect(engine.report.unexpected.map(\.flow) == [0], "an extra in a recorded flow is named by it")
        engine.interrupt()
        #expect(engine.isFinished)
        #expect(engine.report.interrupted && !engine.report.isIdentical)
        #expect(engine.timePassed(now: t0 + .seconds(5)) == [], "nothing more after the interruption")
    }

    @Test func aTCPConnectionRunsThroughTheEngine() throws {
        var engine = try self.engine(.gated, frames: tcpSession(), endpoints: [("web", service), ("cli1", client)])
        let syn = engine.start(now: t0)
        #expect(syn.first == .send([tcpSession()[0]], from: 0))
        let liveISN: UInt32 = 7000
        let synAck = tcp(from: service, seq: liveISN, ack: 101, [.syn, .ack], options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 9, echoReply: 1), .noOperation, .windowScale(7)])
        guard case .send(let frames, _) = engine.received(synAck, receiver: 0, now: t0).first else {
            Issue.record("nothing sent after the SYN-ACK")
            return
        }
        #expect(frames.count == 2)
        _ = engine.received(tcp(from: service, seq: liveISN + 1, ack: 108, [.ack], "hello, world"), receiver: 0, now: t0)
        #expect(engine.endOfBatch(now: t0).count == 1, "the server's bytes are acknowledged once per batch")
        #expect(engine.endOfBatch(now: t0).isEmpty)
        let fin = engine.received(tcp(from: service, seq: liveISN + 13, ack: 108, [.fin, .ack]), receiver: 0, now: t0)
        #expect(fin.contains { if case .send = $0 { true } else { false } }, "the client's FIN waited for the server's")
        #expect(engine.endOfBatch(now: t0).isEmpty, "the FIN carried the acknowledgment")
        _ = engine.received(tcp(from: service, seq: liveISN + 14, ack: 109, [.ack]), receiver: 0, now: t0)
        _ = engine.timePassed(now: t0 + .milliseconds(1))
        #expect(engine.timePassed(now: t0 + .milliseconds(200)) == [.finished])
        #expect(engine.report.connections.map(\.outcome) == [.matched])
        #expect(engine.report.isIdentical)
        #expect(engine.report.summary == "replayed 5 frames and 1 TCP connection, expected 0 replies: 0 matched, 0 differed, 0 missing; streams: 1 matched, 0 differed, 0 missing; 0 unexpected")
    }
}
