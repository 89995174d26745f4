import SwitchyardPackets

/// The replay's decisions as a value: which steps to send when, which arriving frame matches
/// which expected one, when a step or the whole replay gives up, and the report. No I/O, no
/// clock of its own: the caller passes `now` with every event and carries out the actions
/// (`Replayer` does that with a fabric connection and the event loop's timers), so every
/// pacing mode and timeout is tested in memory.
public struct ReplayEngine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Pacing: Sendable, Equatable {
        /// After each played frame, wait (up to the timeout) for the frames that followed it.
        case gated
        /// Keep the recorded gaps, divided by `speed`, against an absolute start.
        case recorded(speed: Double)
        /// Send every played frame at once.
        case topSpeed
    }

    public enum Action: Hashable, Sendable {
        /// Send the played frames of these steps, in order, now (one sender: one write).
        case send(Range<Int>)
        /// Wake the engine at this time (`timePassed`) unless a frame arrives first.
        case wait(until: Instant)
        /// The replay is over; `report` is final.
        case finished
    }

    private enum Phase: Sendable {
        case notStarted
        /// Gated: step `step` was sent; it may wait for its frames until `deadline`.
        case gated(step: Int, deadline: Instant)
        /// Recorded: `next` is the next step to send; step i is due at `start` + its offset.
        case scheduled(next: Int, start: Instant)
        /// Everything sent: waiting for the frames still outstanding until `deadline`.
        case draining(deadline: Instant)
        /// Everything settled: late extras (unexpected frames) are collected until `until`.
        case grace(until: Instant)
        case done
    }

    /// Delay from `start` to the first recorded send, so the first frame is not late already.
    public static var recordedLeadTime: Duration { .milliseconds(5) }
    /// The longest wait for late extras after the last exchange.
    public static var graceLimit: Duration { .milliseconds(100) }

    public private(set) var report: ReplayReport
    private var matcher: Matcher
    private let steps: [ReplayPlan.Step]
    private let ourMACs: Set<MACAddress>
    private let pacing: Pacing
    private let timeout: Duration
    private var phase = Phase.notStarted
    private var worstDrift = Duration.zero
    /// Steps whose exchange is over (gated) or whose frame was sent (recorded, top speed).
    public private(set) var stepsDone = 0

    /// - Parameters:
    ///   - expectedBytes: per step, the expected frames' bytes with their MACs mapped to the
    ///     live endpoints' (in `plan.steps[i].expected` order).
    ///   - ourMACs: the played endpoints' live MACs (frames from them are our own sends).
    public init(plan: ReplayPlan, expectedBytes: [[[UInt8]]], report: ReplayReport, ourMACs: Set<MACAddress>, pacing: Pacing, timeout: Duration, comparator: FrameComparator) {
        self.report = report
        self.steps = plan.steps
        self.ourMACs = ourMACs
        self.pacing = pacing
        self.timeout = timeout
        var matcher = Matcher(receivers: plan.played.count, comparator: comparator)
        for (index, step) in plan.steps.enumerated() {
            for (expected, bytes) in zip(step.expected, expectedBytes[index]) {
                var frame = expected.frame
                frame.bytes = bytes
                matcher.expect(frame, receiver: expected.receiver, step: index, in: &self.report)
            }
        }
        self.matcher = matcher
    }

    public var isFinished: Bool {
        if case .done = self.phase { true } else { false }
    }

    /// Starts the replay.
    public mutating func start(now: Instant) -> [Action] {
        guard case .notStarted = self.phase else { return [] }
        var actions: [Action] = []
        guard !self.steps.isEmpty else {
            self.enterGrace(now: now, into: &actions)
            return actions
        }
        switch self.pacing {
        case .gated:
            self.sendGated(0, now: now, into: &actions)
        case .topSpeed:
            var index = 0
            while index < self.steps.count {
                var end = index + 1
                while end < self.steps.count, self.steps[end].sender == self.steps[index].sender {
                    end += 1
                }
                actions.append(.send(index..<end))
                index = end
            }
            self.report.playedFrames = self.steps.count
            self.stepsDone = self.steps.count
            self.enterDraining(now: now, into: &actions)
        case .recorded:
            self.phase = .scheduled(next: 0, start: now.advanced(by: Self.recordedLeadTime))
            self.sendDue(now: now, into: &actions)
        }
        return actions
    }

    /// A frame arrived for played endpoint `receiver` (an index into `plan.played`).
    public mutating func received(_ bytes: [UInt8], receiver: Int, now: Instant) -> [Action] {
        if case .done = self.phase { return [] }
        guard let source = MACAddress(bytes: bytes, offset: 6), !self.ourMACs.contains(source),
              let destination = MACAddress(bytes: bytes, offset: 0)
        else { return [] }
        // A flooded frame reaches every played endpoint: the first one speaks for all.
        if !self.ourMACs.contains(destination), receiver != 0 {
            return []
        }
        self.matcher.arrived(bytes, receiver: receiver, step: self.currentStep, in: &self.report)
        var actions: [Action] = []
        switch self.phase {
        case .gated(let step, let deadline):
            if self.matcher.isStepComplete(step) {
                self.finishGated(step, now: now, into: &actions)
            } else {
                actions.append(.wait(until: deadline))
            }
        case .draining(let deadline):
            if self.matcher.isComplete {
                self.matcher.giveUp(in: &self.report)
                self.enterGrace(now: now, into: &actions)
            } else {
                actions.append(.wait(until: deadline))
            }
        case .scheduled:
            self.sendDue(now: now, into: &actions)
        case .grace(let until):
            actions.append(.wait(until: until))
        case .notStarted, .done:
            break
        }
        return actions
    }

    /// Time has passed (a `wait` ended with no frame, or any other wake-up).
    public mutating func timePassed(now: Instant) -> [Action] {
        var actions: [Action] = []
        switch self.phase {
        case .gated(let step, let deadline):
            if now >= deadline || self.matcher.isStepComplete(step) {
                self.finishGated(step, now: now, into: &actions)
            } else {
                actions.append(.wait(until: deadline))
            }
        case .scheduled:
            self.sendDue(now: now, into: &actions)
        case .draining(let deadline):
            if now >= deadline || self.matcher.isComplete {
                self.matcher.giveUp(in: &self.report)
                self.enterGrace(now: now, into: &actions)
            } else {
                actions.append(.wait(until: deadline))
            }
        case .grace(let until):
            if now >= until {
                self.finish(now: now, into: &actions)
            } else {
                actions.append(.wait(until: until))
            }
        case .notStarted, .done:
            break
        }
        return actions
    }

    /// SIGINT/SIGTERM: stop where it is; what was compared so far is the report.
    public mutating func interrupt() {
        guard !self.isFinished else { return }
        self.report.interrupted = true
        self.phase = .done
    }

    /// The step a frame arriving now belongs to (for "unexpected after frame N").
    private var currentStep: Int {
        switch self.phase {
        case .gated(let step, _): step
        case .scheduled(let next, _): max(0, next - 1)
        case .notStarted: 0
        case .draining, .grace, .done: max(0, self.steps.count - 1)
        }
    }

    private mutating func sendGated(_ step: Int, now: Instant, into actions: inout [Action]) {
        var step = step
        while step < self.steps.count {
            actions.append(.send(step..<(step + 1)))
            self.report.playedFrames += 1
            guard self.matcher.isStepComplete(step) else {
                let deadline = now.advanced(by: self.timeout)
                self.phase = .gated(step: step, deadline: deadline)
                actions.append(.wait(until: deadline))
                return
            }
            // Nothing to wait for after this one.
            self.stepsDone = step + 1
            step += 1
        }
        self.enterGrace(now: now, into: &actions)
    }

    private mutating func finishGated(_ step: Int, now: Instant, into actions: inout [Action]) {
        self.matcher.giveUp(step: step, in: &self.report)
        self.stepsDone = step + 1
        self.sendGated(step + 1, now: now, into: &actions)
    }

    private mutating func sendDue(now: Instant, into actions: inout [Action]) {
        guard case .scheduled(var next, let start) = self.phase, case .recorded(let speed) = self.pacing else { return }
        let first = self.steps[0].frame.timestamp.totalNanoseconds
        while next < self.steps.count {
            let target = Self.target(start: start, first: first, step: self.steps[next], speed: speed)
            guard target <= now else {
                self.phase = .scheduled(next: next, start: start)
                actions.append(.wait(until: target))
                return
            }
            actions.append(.send(next..<(next + 1)))
            self.worstDrift = max(self.worstDrift, target.duration(to: now))
            self.report.playedFrames += 1
            next += 1
            self.stepsDone = next
        }
        self.report.worstSendDrift = self.worstDrift
        self.enterDraining(now: now, into: &actions)
    }

    /// When a step is due: its recorded offset divided by the speed, after `start`. Recorded
    /// times are untrusted input: an out-of-range offset is clamped, not trapped on.
    static func target(start: Instant, first: Int64, step: ReplayPlan.Step, speed: Double) -> Instant {
        let offset = Double(step.frame.timestamp.totalNanoseconds &- first) / speed
        let nanoseconds = Int64(exactly: offset.rounded()) ?? (offset < 0 ? 0 : Int64.max / 4)
        return start.advanced(by: .nanoseconds(max(0, nanoseconds)))
    }

    private mutating func enterDraining(now: Instant, into actions: inout [Action]) {
        if self.matcher.isComplete {
            self.matcher.giveUp(in: &self.report)
            self.enterGrace(now: now, into: &actions)
            return
        }
        let deadline = now.advanced(by: self.timeout)
        self.phase = .draining(deadline: deadline)
        actions.append(.wait(until: deadline))
    }

    private mutating func enterGrace(now: Instant, into actions: inout [Action]) {
        let until = now.advanced(by: min(self.timeout, Self.graceLimit))
        self.phase = .grace(until: until)
        actions.append(.wait(until: until))
    }

    private mutating func finish(now: Instant, into actions: inout [Action]) {
        self.phase = .done
        actions.append(.finished)
    }
}
