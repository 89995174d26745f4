import SwitchyardBase
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules
import SwitchyardWire
import Testing

@testable import SwitchyardServer

/// Phase 1 on its own: the pipeline switches into destinations that only record, with no
/// channel, no event loop and a clock the test moves.
@Suite struct SwitchingPipelineTests {
    /// Records every delivery; `refusing` connections drop what they are given.
    final class RecordedDestinations: FrameDestinations {
        var deliveries: [(connection: UInt64, endpoint: UInt32, frame: [UInt8], sender: UInt64?)] = []
        var refusing: Set<UInt64> = []

        func deliver(_ frame: UnsafeRawBufferPointer, to delivery: Delivery, from sender: ConnectionID?, offload: VirtioNetHeader?) -> Bool {
            guard !self.refusing.contains(delivery.connection.rawValue) else { return false }
            self.deliveries.append((delivery.connection.rawValue, delivery.endpoint, Array(frame), sender?.rawValue))
            return true
        }
    }

    final class Clock: @unchecked Sendable {
        var now = MonotonicInstant(nanoseconds: 1_000_000_000)
    }

    /// Three connections, each with one subscribed endpoint: a (1), b (2), c (3).
    static func lab(rules: [String] = []) throws -> (SwitchingPipeline<RecordedDestinations>, RecordedDestinations, Clock, [String: UInt32]) {
        var core = FabricCore()
        var ids: [String: UInt32] = [:]
        for (index, name) in ["a", "b", "c"].enumerated() {
            let connection = ConnectionID(rawValue: UInt64(index + 1))
            core.connectionOpened(connection)
            core.welcome(connection)
            let endpoint = try core.createEndpoint(name: name, mac: MACAddress("02:00:00:00:00:0\(index + 1)"), owner: connection)
            _ = core.subscribe(connection, to: endpoint.id)
            ids[name] = endpoint.id
        }
        var ruleSet = RuleSet(seed: 7)
        for text in rules {
            _ = try ruleSet.add(try #require(try RuleParser.parse(text)))
        }
        // As the engine tells the rules of each endpoint it makes.
        for (name, id) in ids.sorted(by: { $0.value < $1.value }) {
            ruleSet.endpointAppeared(id: id, name: name)
        }
        let destinations = RecordedDestinations()
        let clock = Clock()
        let pipeline = SwitchingPipeline(core: core, rules: ruleSet, destinations: destinations, capture: nil, clock: { clock.now })
        return (pipeline, destinations, clock, ids)
    }

    static func frame(to destination: String, from source: String, tag: UInt8) -> [UInt8] {
        MACAddressText.bytes(destination) + MACAddressText.bytes(source) + [0x88, 0xB5, tag, tag, tag, tag]
    }

    @discardableResult
    static func send(_ bytes: [UInt8], from endpoint: UInt32, connection: UInt64, through pipeline: SwitchingPipeline<RecordedDestinations>) -> Bool {
        bytes.withUnsafeBytes { pipeline.switchFrame($0, version: ProtocolLimits.version, endpoint: endpoint, from: ConnectionID(rawValue: connection)) }
    }

    @Test func framesGoToTheirDestinationsInTheOrderTheyCameWithTheSenderToHold() throws {
        let (pipeline, destinations, _, ids) = try Self.lab()
        Self.send(Self.frame(to: "ff:ff:ff:ff:ff:ff", from: "02:00:00:00:00:01", tag: 1), from: ids["a"]!, connection: 1, through: pipeline)
        Self.send(Self.frame(to: "02:00:00:00:00:01", from: "02:00:00:00:00:03", tag: 2), from: ids["c"]!, connection: 3, through: pipeline)
        #expect(destinations.deliveries.map(\.connection) == [2, 3, 1], "flooded to b and c, then unicast to a (learned)")
        #expect(destinations.deliveries.map(\.sender) == [1, 1, 3])
        #expect(destinations.deliveries.map { $0.frame[14] } == [1, 1, 2])
        #expect(pipeline.framesDelivered == 3)
        #expect(pipeline.core.statistics.framesSwitched == 2)
    }

    @Test func aFrameTheCoreRefusesIsLeftForTheDecoderAndCountsNothing() throws {
        let (pipeline, destinations, _, ids) = try Self.lab()
        #expect(!Self.send([1, 2, 3], from: ids["a"]!, connection: 1, through: pipeline), "shorter than an Ethernet header")
        #expect(!Self.send(Self.frame(to: "02:00:00:00:00:02", from: "02:00:00:00:00:01", tag: 1), from: ids["b"]!, connection: 1, through: pipeline), "not its endpoint")
        #expect(destinations.deliveries.isEmpty)
        #expect(pipeline.framesDelivered == 0 && pipeline.framesDropped == 0)
    }

    @Test func aDestinationThatRefusesIsCountedAsDroppedAndTheOthersStillGetTheFrame() throws {
        let (pipeline, destinations, _, ids) = try Self.lab()
        destinations.refusing = [2]
        Self.send(Self.frame(to: "ff:ff:ff:ff:ff:ff", from: "02:00:00:00:00:01", tag: 1), from: ids["a"]!, connection: 1, through: pipeline)
        #expect(destinations.deliveries.map(\.connection) == [3])
        #expect(pipeline.framesDelivered == 1 && pipeline.framesDropped == 1)
    }

    /// Rules in phase 1: a drop, and a delay held on the line until the clock (the test's)
    /// passes its deadline; the release is delivered with no sender to hold.
    @Test func rulesDropAndHoldByTheInjectedClock() throws {
        let (pipeline, destinations, clock, ids) = try Self.lab(rules: ["to b drop", "to c delay 20ms"])
        Self.send(Self.frame(to: "ff:ff:ff:ff:ff:ff", from: "02:00:00:00:00:01", tag: 1), from: ids["a"]!, connection: 1, through: pipeline)
        #expect(destinations.deliveries.isEmpty, "b's copy dropped, c's held")
        #expect(pipeline.framesDroppedByRules == 1)
        #expect(pipeline.delayLine.earliest == clock.now.advanced(by: .milliseconds(20)))
        clock.now = clock.now.advanced(by: .milliseconds(19))
        pipeline.releaseHeldFrames(now: clock.now)
        #expect(destinations.deliveries.isEmpty)
        clock.now = clock.now.advanced(by: .milliseconds(1))
        pipeline.releaseHeldFrames(now: clock.now)
        #expect(destinations.deliveries.map(\.connection) == [3])
        #expect(destinations.deliveries.map(\.sender) == [nil], "a held frame's sender is not waiting")
        #expect(pipeline.delayLine.earliest == nil)
    }

    @Test func changingTheRulesKeepsTheirFastPathFlagTrue() throws {
        let (pipeline, destinations, _, ids) = try Self.lab()
        #expect(!pipeline.rulesInForce)
        _ = try pipeline.updateRules { try $0.add(try #require(try RuleParser.parse("to b drop"))) }
        #expect(pipeline.rulesInForce)
        Self.send(Self.frame(to: "02:00:00:00:00:02", from: "02:00:00:00:00:01", tag: 1), from: ids["a"]!, connection: 1, through: pipeline)
        #expect(destinations.deliveries.isEmpty)
        pipeline.updateRules { $0.removeAll() }
        #expect(!pipeline.rulesInForce)
        Self.send(Self.frame(to: "02:00:00:00:00:02", from: "02:00:00:00:00:01", tag: 2), from: ids["a"]!, connection: 1, through: pipeline)
        #expect(destinations.deliveries.map { $0.frame[14] } == [2])
    }
}
