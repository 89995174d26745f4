import SwitchyardCapture
import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

/// Learning noise from reports of runs: what varies is noise with its count of runs, what
/// never varies is not, a failed run teaches nothing. The masks then apply by kind of flow.
@Suite struct NoiseModelTests {
    typealias Engine = ReplayEngine<ContinuousClock.Instant>
    let t0 = ContinuousClock.now

    /// One replay of the echo session (two replies), the service answering with `replies`.
    func run(_ replies: [[UInt8]], noise: NoiseModel? = nil) throws -> ReplayReport {
        let frames = [udp(from: client, to: service, "a"), udp(from: service, to: client, "a"), udp(from: client, to: service, "b"), udp(from: service, to: client, "b")]
        let plan = try ReplayPlan.make(recording: recording(frames, endpoints: [("svc_echo", service), ("cli1", client)]), play: [], expect: [])
        var engine = Engine(plan: plan, report: ReplayReport(recordingPath: "s.pcap", plan: plan, start: 0), ourMACs: plan.played.map(\.recordedMAC), pacing: .topSpeed, timeout: .seconds(1), comparator: FrameComparator(ignoring: []), noise: noise)
        _ = engine.start(now: t0)
        for reply in replies {
            _ = engine.received(reply, receiver: 0, now: t0)
        }
        _ = engine.timePassed(now: t0 + .seconds(2))
        _ = engine.timePassed(now: t0 + .seconds(4))
        return engine.report
    }

    @Test func fieldsThatVaryAreNoiseAndCountedByRun() throws {
        var model = NoiseModel(recording: "s.pcap")
        // Run 1: the TTL of both replies differs; run 2: the TTL again; run 3: only the id.
        try model.learn(from: try self.run([udp(from: service, to: client, "a", ttl: 63), udp(from: service, to: client, "b", ttl: 63)]))
        try model.learn(from: try self.run([udp(from: service, to: client, "a", ttl: 63), udp(from: service, to: client, "b")]))
        try model.learn(from: try self.run([udp(from: service, to: client, "a", id: 9), udp(from: service, to: client, "b")]))
        #expect(model.runs == 3)
        #expect(model.noise == [
            .init(flows: "udp", field: "ipv4.id", runs: 1),
            .init(flows: "udp", field: "ipv4.ttl", runs: 2),
        ], "the payload never varied, the checksums go with what they cover")
        #expect(model.fields(for: "udp") == ["ipv4.id", "ipv4.ttl"] && model.fields(for: "dns").isEmpty)

        // Applied: a later run whose TTL differs passes, and the summary says the noise file hid it.
        let masked = try self.run([udp(from: service, to: client, "a", ttl: 63), udp(from: service, to: client, "b")], noise: model)
        #expect(masked.isIdentical)
        #expect(masked.summary.hasSuffix("; masked: ipv4.id 0 (noise file, stale), ipv4.ttl 1 (noise file)"), "\(masked.summary)")
        let regression = try self.run([udp(from: service, to: client, "a"), udp(from: service, to: client, "B")], noise: model)
        #expect(!regression.isIdentical, "noise masks its fields, not the payload")
    }

    @Test func aRunThatFailsOutrightTeachesNothing() throws {
        var model = NoiseModel(recording: "s.pcap")
        #expect(throws: NoiseModel.LearningFailed.self) { try model.learn(from: try self.run([udp(from: service, to: client, "a")])) }
        #expect(model.runs == 0 && model.noise.isEmpty)
        #expect(NoiseModel.path(forRecording: "dir/session.pcapng") == "dir/session.noise.json")
    }
}
