import SwitchyardBase
import SwitchyardFabric
import SwitchyardRules
import Testing

/// The decision engine without sockets: same seed, same decisions; distributions; bursts;
/// first match; the endpoint index.
@Suite struct RuleSetTests {
    static let t0 = MonotonicInstant(nanoseconds: 1_000_000_000)
    /// A 60-byte UDP frame (10.0.0.1:12345 → 10.0.0.2:7007).
    static let udp: [UInt8] = [0x02, 0x53, 0x59, 0, 0, 2, 0x02, 0x53, 0x59, 0, 0, 1, 0x08, 0x00,
        0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x1B, 0x5F, 0, 26, 0, 0]
        + [UInt8](repeating: 0x61, count: 18)

    func ruleSet(_ lines: [String], seed: UInt64 = 1) throws -> RuleSet {
        var rules = RuleSet(seed: seed)
        for line in lines {
            try rules.add(try #require(try RuleParser.parse(line)))
        }
        rules.endpointAppeared(id: 1, name: "cli1")
        rules.endpointAppeared(id: 2, name: "svc_echo")
        rules.endpointAppeared(id: 3, name: "sniff")
        return rules
    }

    func decide(_ rules: inout RuleSet, from sender: UInt32 = 1, to destination: UInt32 = 2, frame: UInt64, bytes: [UInt8] = Self.udp) -> RuleDecision? {
        bytes.withUnsafeBytes { rules.decide(sender: sender, destination: destination, frame: $0, frameNumber: frame, now: Self.t0) }
    }

    @Test func verdictsSortNoMatchPlainPassAndActions() throws {
        var rules = try self.ruleSet(["match 'udp port 7007' pass", "to svc_echo loss 100%", "to sniff delay 1ms"])
        func verdict(to destination: UInt32, _ bytes: [UInt8] = Self.udp, frame: UInt64) -> RuleVerdict {
            bytes.withUnsafeBytes { rules.verdict(sender: 1, destination: destination, frame: $0, frameNumber: frame, now: Self.t0) }
        }
        #expect(verdict(to: 2, frame: 1) == .passed(rule: 1))
        var arp = Self.udp
        arp[12] = 0x08
        arp[13] = 0x06
        guard case .decided(let lost) = verdict(to: 2, arp, frame: 2) else {
            Issue.record("rule 2 decides for a frame rule 1 does not pass")
            return
        }
        #expect(lost.dropped && lost.rule == 2)
        #expect(verdict(to: 1, arp, frame: 3) == .none, "no rule names cli1 as destination and none matches")
        #expect(rules.entries.map(\.counters.matched) == [1, 1, 0])
    }

    @Test func theSameSeedGivesTheSameDecisionsAndAnotherSeedOthers() throws {
        let lines = ["to svc_echo loss 30% duplicate 10% corrupt 10% delay 10ms jitter 5ms"]
        func run(_ seed: UInt64) throws -> [RuleDecision?] {
            var rules = try self.ruleSet(lines, seed: seed)
            return (0..<500).map { self.decide(&rules, frame: UInt64($0)) }
        }
        #expect(try run(42) == run(42))
        #expect(try run(42) != run(43))
    }

    @Test(arguments: [("loss 20%", 0.20), ("duplicate 7%", 0.07), ("corrupt 3%", 0.03), ("reorder 50%", 0.50)])
    func sharesAreWithinToleranceOver100000Draws(action: String, expected: Double) throws {
        var rules = try self.ruleSet(["to svc_echo \(action)"], seed: 2026)
        var hits = 0
        for frame in 0..<100_000 {
            let decision = try #require(self.decide(&rules, frame: UInt64(frame)))
            if decision.dropped || decision.copies == 2 || decision.corruption != nil || decision.delay > .zero {
                hits += 1
            }
        }
        let share = Double(hits) / 100_000
        // Four standard deviations of a binomial(100000, p): a true share never misses this.
        let tolerance = 4 * (expected * (1 - expected) / 100_000).squareRoot()
        #expect(abs(share - expected) < tolerance, "\(action): \(share)")
    }

    @Test func gilbertElliottLossHasItsMeanBurstLengthAndRate() throws {
        var rules = try self.ruleSet(["loss 10% burst 4"], seed: 9)
        var lost = 0
        var bursts: [Int] = []
        var run = 0
        for frame in 0..<200_000 {
            if try #require(self.decide(&rules, frame: UInt64(frame))).dropped {
                lost += 1
                run += 1
            } else if run > 0 {
                bursts.append(run)
                run = 0
            }
        }
        let rate = Double(lost) / 200_000
        let meanBurst = Double(bursts.reduce(0, +)) / Double(bursts.count)
        #expect(abs(rate - 0.10) < 0.01, "long-run loss \(rate)")
        #expect(abs(meanBurst - 4) < 0.25, "mean burst \(meanBurst)")
    }

    @Test func corruptionFlipsOneBitPastTheEthernetHeader() throws {
        var rules = try self.ruleSet(["corrupt 100%"])
        for frame in 0..<1000 {
            let corruption = try #require(self.decide(&rules, frame: UInt64(frame))?.corruption)
            #expect((14..<Self.udp.count).contains(corruption.offset))
            #expect(corruption.mask.nonzeroBitCount == 1)
        }
    }

    @Test func jitterStaysWithinTheDelayPlusOrMinusTheJitter() throws {
        var rules = try self.ruleSet(["delay 10ms jitter 4ms"])
        var seen: Set<Duration> = []
        for frame in 0..<2000 {
            let delay = try #require(self.decide(&rules, frame: UInt64(frame))).delay
            #expect(delay >= .milliseconds(6) && delay <= .milliseconds(14), "\(delay)")
            seen.insert(delay)
        }
        #expect(seen.count > 1000, "the delays vary")
    }

    @Test func theFirstMatchingRuleDecides() throws {
        var rules = try self.ruleSet(["match 'udp port 7007' pass", "to svc_echo drop"])
        #expect(self.decide(&rules, frame: 1)?.dropped == false, "the udp frame passes by rule 1")
        let arp = [UInt8](repeating: 0xFF, count: 6) + [0x02, 0x53, 0x59, 0, 0, 1, 0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        #expect(self.decide(&rules, frame: 2, bytes: arp)?.dropped == true, "anything else to svc_echo is dropped by rule 2")
        #expect(rules.entries.map(\.counters.matched) == [1, 1])
    }

    /// Each rule's filter is called through an unretained reference kept beside the rules:
    /// after removals and additions every rule must still run its own filter, and a copy of
    /// the set taken before a removal must still run the removed rule's.
    @Test func filtersFollowTheirRulesThroughRemovalsAndCopies() throws {
        var rules = try self.ruleSet(["match 'arp' drop", "match 'udp port 7007' drop", "match 'udp port 9' pass"])
        let before = rules
        let removedFirst = rules.remove(id: 1)
        let removedSecond = rules.remove(id: 2)
        #expect(removedFirst && removedSecond)
        try rules.add(try #require(try RuleParser.parse("match 'udp port 7007' delay 1ms")))
        let decision = try #require(self.decide(&rules, frame: 1))
        #expect(decision.rule == 4 && !decision.dropped && decision.delay == .milliseconds(1))

        var old = before
        let arp = [UInt8](repeating: 0xFF, count: 6) + [0x02, 0x53, 0x59, 0, 0, 1, 0x08, 0x06] + [UInt8](repeating: 0, count: 28)
        #expect(self.decide(&old, frame: 1, bytes: arp)?.rule == 1, "the copy still has rule 1 and its filter")
        #expect(self.decide(&old, frame: 2)?.rule == 2)
        rules.removeAll()
        #expect(self.decide(&rules, frame: 2) == nil)
    }

    @Test func rulesAreIndexedByEndpointAndApplyOnceTheEndpointExists() throws {
        var rules = RuleSet(seed: 0)
        try rules.add(try #require(try RuleParser.parse("to later drop")))
        #expect(!rules.applies(sender: 1, destination: 7), "no endpoint named later yet: nothing to test")
        rules.endpointAppeared(id: 7, name: "later")
        #expect(rules.applies(sender: 1, destination: 7))
        #expect(!rules.applies(sender: 1, destination: 2), "deliveries that no rule names are not looked at")
        rules.endpointGone(id: 7)
        #expect(!rules.applies(sender: 1, destination: 7))
    }

    @Test func mirrorAndRedirectNameTheirTargets() throws {
        var rules = try self.ruleSet(["from cli1 mirror sniff", "to cli1 redirect nobody"])
        #expect(self.decide(&rules, frame: 1)?.mirrors == [3])
        let redirected = try #require(self.decide(&rules, from: 2, to: 1, frame: 2))
        #expect(redirected.dropped, "a redirect to an endpoint that does not exist has nowhere to go")
    }

    @Test func aRateQueuesFramesAndDropsPastItsLimit() throws {
        var rules = try self.ruleSet(["rate 10pps limit 3"])
        // All at one instant: the first leaves at once, the next three wait their turn.
        let delays = (0..<6).map { self.decide(&rules, frame: UInt64($0)) }
        #expect(delays.prefix(4).map { $0?.delay } == [.zero, .milliseconds(100), .milliseconds(200), .milliseconds(300)])
        #expect(delays.suffix(2).allSatisfy { $0?.dropped == true }, "three wait already")
    }
}

extension RuleSet {
    /// The decision of the first rule matching a delivery, as a value (nil: deliver as is):
    /// `verdict` with a plain pass made a decision too, for the tests to compare.
    mutating func decide(
        sender: UInt32,
        destination: UInt32,
        frame: UnsafeRawBufferPointer,
        frameNumber: UInt64,
        now: @autoclosure () -> MonotonicInstant
    ) -> RuleDecision? {
        switch self.verdict(sender: sender, destination: destination, frame: frame, frameNumber: frameNumber, now: now()) {
        case .none: nil
        case .passed(let rule): RuleDecision(rule: rule)
        case .decided(let decision): decision
        }
    }
}
