import SwitchyardBase
import SwitchyardFabric
import Testing

/// Every transition of `ConnectionFlowControl`, with time passed in: no sockets, no sleeps.
@Suite struct ConnectionFlowControlTests {
    static let me = ConnectionID(rawValue: 1)
    static let sender = ConnectionID(rawValue: 2)
    static let other = ConnectionID(rawValue: 3)
    static let start = MonotonicInstant(nanoseconds: 1_000_000_000)

    func fresh() -> ConnectionFlowControl {
        ConnectionFlowControl(connection: Self.me, stallTimeout: .milliseconds(200))
    }

    @Test func aFrameWithRoomIsQueued() {
        var flow = self.fresh()
        #expect(flow.admit(hasRoom: true, refusedByBudget: false) == .queue)
        #expect(flow.framesDropped == 0)
    }

    @Test func aFramePastTheCapHoldsItsSenderAndStartsTheClock() {
        var flow = self.fresh()
        #expect(flow.admit(hasRoom: false, refusedByBudget: false) == .queueOverCap)
        let actions = flow.queuedOverCap(from: Self.sender, now: Self.start)
        #expect(actions == [.hold(Self.sender), .scheduleStallCheck(Self.start.advanced(by: .milliseconds(200)))])
        #expect(flow.heldSenders == [Self.sender])
        // The same sender again: held once; the clock runs already.
        #expect(flow.queuedOverCap(from: Self.sender, now: Self.start.advanced(by: .milliseconds(10))) == [])
        #expect(flow.queuedOverCap(from: Self.other, now: Self.start) == [.hold(Self.other)])
    }

    @Test func aConnectionNeverHoldsItself() {
        var flow = self.fresh()
        let actions = flow.queuedOverCap(from: Self.me, now: Self.start)
        #expect(actions == [.scheduleStallCheck(Self.start.advanced(by: .milliseconds(200)))], "the clock starts, nobody is held")
        #expect(flow.heldSenders.isEmpty)
    }

    @Test func drainingReleasesEverySenderAndStopsTheClock() {
        var flow = self.fresh()
        _ = flow.writabilityChanged(false, now: Self.start)
        _ = flow.queuedOverCap(from: Self.sender, now: Self.start)
        _ = flow.queuedOverCap(from: Self.other, now: Self.start)
        let actions = flow.writabilityChanged(true, now: Self.start.advanced(by: .milliseconds(50)))
        #expect(actions == [.cancelStallCheck, .release([Self.sender, Self.other]), .reconsiderReading])
        #expect(flow.stallDeadline == nil && !flow.isStalled)
    }

    @Test func notDrainingWithinTheTimeoutIsAStall() {
        var flow = self.fresh()
        let unwritable = flow.writabilityChanged(false, now: Self.start)
        let deadline = Self.start.advanced(by: .milliseconds(200))
        #expect(unwritable == [.scheduleStallCheck(deadline), .reconsiderReading], "its own backed-up output starts the clock")
        _ = flow.queuedOverCap(from: Self.sender, now: Self.start.advanced(by: .milliseconds(1)))
        #expect(flow.stallCheckDue(now: deadline.advanced(by: .milliseconds(-1))) == [], "early: nothing")
        #expect(flow.stallCheckDue(now: deadline) == [.declaredStalled, .release([Self.sender]), .reconsiderReading])
        #expect(flow.isStalled)
        // Stalled and still full: its frames are dropped and counted, nobody is held.
        #expect(flow.admit(hasRoom: false, refusedByBudget: false) == .drop)
        #expect(flow.admit(hasRoom: false, refusedByBudget: false) == .drop)
        #expect(flow.framesDropped == 2)
        // Drained: no longer stalled, and told how many were dropped.
        let drained = flow.writabilityChanged(true, now: deadline.advanced(by: .seconds(1)))
        #expect(drained.contains(.drainedAfterStall(dropped: 2)))
        #expect(!flow.isStalled)
    }

    @Test func aStaleCheckAfterDrainingDoesNothing() {
        var flow = self.fresh()
        _ = flow.writabilityChanged(false, now: Self.start)
        _ = flow.writabilityChanged(true, now: Self.start.advanced(by: .milliseconds(10)))
        #expect(flow.stallCheckDue(now: Self.start.advanced(by: .seconds(1))) == [])
        #expect(!flow.isStalled)
    }

    @Test func aCheckWhileWritableAgainDoesNotStall() {
        var flow = self.fresh()
        _ = flow.queuedOverCap(from: Self.sender, now: Self.start)
        // Queued past the cap while writable (the pending batch was large), and it kept up.
        #expect(flow.stallCheckDue(now: Self.start.advanced(by: .milliseconds(200))) == [])
        #expect(!flow.isStalled)
    }

    @Test func readingFollowsOutputHoldsCaptureAndBudget() {
        var flow = self.fresh()
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == nil, "reading already")
        #expect(flow.readingDecision(captureBlocked: true, budgetPaused: false) == false)
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == true)
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: true) == false)
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == true)
        _ = flow.heldByDestination()
        _ = flow.heldByDestination()
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == false)
        _ = flow.releasedByDestination()
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == nil, "one destination still holds it")
        _ = flow.releasedByDestination()
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == true)
    }

    @Test func aConnectionWhoseOutputBacksUpIsReadAgainOnceStalled() {
        var flow = self.fresh()
        _ = flow.writabilityChanged(false, now: Self.start)
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == false, "not read while its output is blocked")
        _ = flow.stallCheckDue(now: Self.start.advanced(by: .milliseconds(200)))
        #expect(flow.readingDecision(captureBlocked: false, budgetPaused: false) == true, "stalled: read again, its frames dropped")
    }

    @Test func closingReleasesEverySender() {
        var flow = self.fresh()
        _ = flow.queuedOverCap(from: Self.sender, now: Self.start)
        #expect(flow.closed() == [.cancelStallCheck, .release([Self.sender])])
        #expect(flow.heldSenders.isEmpty)
    }

    @Test func aFrameRefusedByTheBudgetIsDroppedAndCounted() {
        var flow = self.fresh()
        #expect(flow.admit(hasRoom: true, refusedByBudget: true) == .drop)
        #expect(flow.framesDropped == 1)
    }
}

@Suite struct BufferBudgetTests {
    @Test func crossingTheLimitAndClearingAtThreeQuarters() {
        var budget = BufferBudget(limit: 1000, behindThreshold: 100, largeMessageThreshold: 50)
        #expect(budget.adjust(by: 1000) == nil, "at the limit is not over it")
        #expect(budget.adjust(by: 1) == .reached)
        #expect(budget.adjust(by: 500) == nil)
        #expect(budget.adjust(by: -700) == nil, "801: still over until below 750")
        #expect(budget.adjust(by: -52) == .cleared)
        #expect(!budget.isOverBudget)
    }

    /// Over budget, the greediest are stopped first: a connection that is behind gets no more
    /// frames and one growing a large message or not reading is not read; the rest go on.
    @Test func overBudgetTheGreediestAreStoppedFirst() {
        var budget = BufferBudget(limit: 1000, behindThreshold: 100, largeMessageThreshold: 50)
        #expect(!budget.refuses(backlog: 10_000), "under budget nobody is refused")
        _ = budget.adjust(by: 2000)
        #expect(budget.refuses(backlog: 101), "behind: refused")
        #expect(!budget.refuses(backlog: 100), "keeping up: still served")
        #expect(budget.pausesReading(inboundBytes: 51, isWritable: true), "growing a large message")
        #expect(budget.pausesReading(inboundBytes: 0, isWritable: false), "not reading its own output")
        #expect(!budget.pausesReading(inboundBytes: 50, isWritable: true), "a small sender that reads goes on")
    }
}
