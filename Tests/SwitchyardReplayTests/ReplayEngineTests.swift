import SwitchyardCapture
import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

/// The replay engine in memory: time is an instant the test advances by hand, so gated and
/// recorded pacing, timeouts and drift are checked in microseconds of real time.
@Suite struct ReplayEngineTests {
    typealias Engine = ReplayEngine<ContinuousClock.Instant>
    let t0 = ContinuousClock.now

    /// A session of two exchanges, `gaps` apart in the recording (nanoseconds from the first).
    func engine(_ pacing: Engine.Pacing, timeout: Duration = .seconds(1), times: [Int64] = [0, 1000, 2000, 3000]) throws -> (Engine, ReplayPlan) {
        let frames = [udp(from: client, to: service, "a"), udp(from: service, to: client, "a"), udp(from: client, to: service, "b"), udp(from: service, to: client, "b")]
        var recorded = recording(frames, endpoints: [("svc_echo", service), ("cli1", client)])
        for index in recorded.frames.indices {
            recorded.frames[index].timestamp = CaptureTimestamp(totalNanoseconds: times[index])
        }
        let plan = try ReplayPlan.make(recording: recorded, live: ["svc_echo"], play: [], expect: [])
        let report = ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0)
        let engine = Engine(
            plan: plan, expectedBytes: plan.steps.map { $0.expected.map(\.frame.bytes) }, report: report,
            ourMACs: [client], pacing: pacing, timeout: timeout, comparator: FrameComparator(ignoring: [])
        )
        return (engine, plan)
    }

    @Test func gatedSendsEachStepAfterTheLastOnesRepliesCame() throws {
        var (engine, _) = try self.engine(.gated)
        #expect(engine.start(now: t0) == [.send(0..<1), .wait(until: t0 + .seconds(1))])
        let t1 = t0 + .milliseconds(2)
        #expect(engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t1) == [.send(1..<2), .wait(until: t1 + .seconds(1))])
        #expect(engine.stepsDone == 1)
        let t2 = t1 + .milliseconds(3)
        #expect(engine.received(udp(from: service, to: client, "b"), receiver: 0, now: t2) == [.wait(until: t2 + .milliseconds(100))], "then a grace period for late extras")
        #expect(engine.timePassed(now: t2 + .milliseconds(100)) == [.finished])
        #expect(engine.report.matched == 2 && engine.report.isIdentical)
        #expect(engine.report.playedFrames == 2)
    }

    @Test func gatedGivesAStepUpAtItsTimeoutAndGoesOn() throws {
        var (engine, _) = try self.engine(.gated, timeout: .milliseconds(300))
        _ = engine.start(now: t0)
        #expect(engine.timePassed(now: t0 + .milliseconds(299)) == [.wait(until: t0 + .milliseconds(300))], "not yet")
        let late = t0 + .milliseconds(300)
        #expect(engine.timePassed(now: late) == [.send(1..<2), .wait(until: late + .milliseconds(300))])
        // The reply to the first exchange comes now: too late, it is checked against the second.
        let arrival = late + .milliseconds(1)
        #expect(engine.received(udp(from: service, to: client, "a"), receiver: 0, now: arrival) == [.wait(until: arrival + .milliseconds(100))])
        #expect(engine.timePassed(now: arrival + .milliseconds(100)) == [.finished])
        #expect(engine.report.missing == 1)
        #expect(engine.report.differed == 1, "the late 'a' differs from the expected 'b'")
    }

    @Test func recordedPacingKeepsTheGapsDividedBySpeedAndMeasuresDrift() throws {
        // Steps at 0 and 100 ms in the recording, played at double speed: 0 and 50 ms after start.
        var (engine, _) = try self.engine(.recorded(speed: 2), times: [0, 1_000, 100_000_000, 100_001_000])
        let start = t0 + Engine.recordedLeadTime
        #expect(engine.start(now: t0) == [.wait(until: start)])
        #expect(engine.timePassed(now: start) == [.send(0..<1), .wait(until: start + .milliseconds(50))])
        // Woken 3 ms late: sent at once, and the drift is reported.
        let late = start + .milliseconds(53)
        #expect(engine.timePassed(now: late) == [.send(1..<2), .wait(until: late + .seconds(1))])
        #expect(engine.report.worstSendDrift == .milliseconds(3))
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: late)
        #expect(engine.received(udp(from: service, to: client, "b"), receiver: 0, now: late) == [.wait(until: late + .milliseconds(100))])
        #expect(engine.timePassed(now: late + .milliseconds(100)) == [.finished])
        #expect(engine.report.isIdentical)
    }

    @Test func topSpeedSendsEverythingAtOnceInOneWritePerSender() throws {
        var (engine, _) = try self.engine(.topSpeed, timeout: .milliseconds(500))
        #expect(engine.start(now: t0) == [.send(0..<2), .wait(until: t0 + .milliseconds(500))])
        #expect(engine.stepsDone == 2)
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t0)
        #expect(engine.timePassed(now: t0 + .milliseconds(500)) == [.wait(until: t0 + .milliseconds(600))])
        #expect(engine.timePassed(now: t0 + .milliseconds(600)) == [.finished])
        #expect(engine.report.matched == 1 && engine.report.missing == 1)
    }

    @Test func ourOwnFramesAndOtherEndpointsCopiesOfAFloodAreNotCompared() throws {
        var (engine, _) = try self.engine(.gated)
        _ = engine.start(now: t0)
        #expect(engine.received(udp(from: client, to: service, "a"), receiver: 0, now: t0) == [], "our own send, echoed by a promiscuous path")
        let flood = MACAddress.broadcast.bytes + service.bytes + [0x88, 0xB5, 0, 0]
        #expect(engine.received(flood, receiver: 1, now: t0) == [], "a flood's copy to another played endpoint")
        _ = engine.received(flood, receiver: 0, now: t0)
        #expect(engine.report.results[0].verdict.isDifference, "the first played endpoint speaks for the flood")
    }

    @Test func extrasAreUnexpectedAndInterruptionStopsWithAPartialReport() throws {
        var (engine, _) = try self.engine(.gated)
        _ = engine.start(now: t0)
        _ = engine.received(udp(from: service, to: client, "a"), receiver: 0, now: t0)
        _ = engine.received(udp(from: service, to: client, "extra"), receiver: 0, now: t0)
        engine.interrupt()
        #expect(engine.isFinished)
        #expect(engine.report.interrupted && !engine.report.isIdentical)
        #expect(engine.report.matched == 1)
        #expect(engine.timePassed(now: t0 + .seconds(5)) == [], "nothing more after the interruption")
    }
}

/// The matcher alone: per receiver, in order; give-ups per step and at the end.
@Suite struct MatcherTests {
    @Test func framesMatchInOrderPerReceiverAndGiveUpsMarkTheRestMissing() throws {
        let plan = try ReplayPlan.make(recording: session, live: ["svc_echo"], play: [], expect: [])
        var report = ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0)
        var matcher = Matcher(receivers: 1, comparator: FrameComparator(ignoring: []))
        matcher.expect(plan.steps[0].expected[0].frame, receiver: 0, step: 0, in: &report)
        matcher.expect(plan.steps[1].expected[0].frame, receiver: 0, step: 1, in: &report)
        #expect(!matcher.isStepComplete(0) && !matcher.isComplete)
        matcher.arrived(udp(from: service, to: client, "a"), receiver: 0, step: 0, in: &report)
        #expect(matcher.isStepComplete(0) && !matcher.isStepComplete(1))
        matcher.giveUp(step: 1, in: &report)
        #expect(matcher.isComplete)
        matcher.arrived(udp(from: service, to: client, "late"), receiver: 0, step: 1, in: &report)
        #expect(report.matched == 1 && report.missing == 1 && report.unexpected.count == 1)
    }

    @Test func aChangedFieldIsADifferenceNamedByTheComparator() throws {
        let plan = try ReplayPlan.make(recording: session, live: ["svc_echo"], play: [], expect: [])
        var report = ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0)
        var matcher = Matcher(receivers: 1, comparator: FrameComparator(ignoring: []))
        matcher.expect(plan.steps[0].expected[0].frame, receiver: 0, step: 0, in: &report)
        matcher.arrived(udp(from: service, to: client, "a", ttl: 63), receiver: 0, step: 0, in: &report)
        guard case .differed(let difference, _) = report.results[0].verdict else {
            Issue.record("not a difference: \(report.results[0].verdict)")
            return
        }
        #expect(difference.description.hasPrefix("ipv4.ttl: expected 64, got 63"), "\(difference.description)")
    }
}

extension ReplayReport.Verdict {
    var isDifference: Bool {
        if case .differed = self { true } else { false }
    }
}
