import SwitchyardPackets

/// The replay's decisions as a value: which played frames to send when, which arriving frame
/// belongs to which flow and matches which expected one, when a flow or the whole replay
/// gives up, and the report. No I/O, no clock of its own: the caller passes `now` with every
/// event and carries out the actions (`Replayer` does that with a fabric connection and the
/// event loop's timers), so every pacing mode and timeout is tested in memory.
///
/// Flows run side by side: each waits only for its own replies. With gated pacing a flow
/// begins once every flow that had ended before it began in the recording has ended here
/// (so a lease comes before the DNS query that needed it), and flows begin in recorded order.
public struct ReplayEngine<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public enum Pacing: Sendable, Equatable {
        /// Each flow sends its next frame once the replies before it (in its flow) came.
        case gated
        /// Keep the recorded gaps, divided by `speed`, against one absolute start.
        case recorded(speed: Double)
        /// Send every played frame at once.
        case topSpeed
    }

    public enum Action: Hashable, Sendable {
        /// Send these frames, in order, from played endpoint `from` (an index into `plan.played`).
        case send([[UInt8]], from: Int)
        /// Wake the engine at this time (`timePassed`) unless a frame arrives first.
        case wait(until: Instant)
        /// The replay is over; `report` is final.
        case finished
    }

    private struct FlowState: Sendable {
        var started = false
        var complete = false
        /// Next event to play or wait for.
        var cursor = 0
        var lastSend: Instant?
        var startedAt: Instant?
        /// Per event: its result's index in the report (expected events only).
        var resultOfEvent: [Int: Int] = [:]
        var settled: Set<Int> = []
        /// Its expected events in order, and the first that may still be unsettled.
        var expected: [Int] = []
        var expectedHead = 0
        var unsettled = 0
        /// When it wants to be woken, as of its last `advance`.
        var wake: Instant?
        var tcp: TCPReplay<Instant>?
        /// Every live frame taken as this flow's, in arrival order: what the final alignment
        /// lines up with the expected frames.
        var arrivals: [[UInt8]] = []

        mutating func settle(_ event: Int) {
            if self.settled.insert(event).inserted {
                self.unsettled -= 1
            }
        }

        /// The first expected event still waiting for its frame.
        mutating func firstUnsettled() -> Int? {
            while self.expectedHead < self.expected.count, self.settled.contains(self.expected[self.expectedHead]) {
                self.expectedHead += 1
            }
            return self.expectedHead < self.expected.count ? self.expected[self.expectedHead] : nil
        }
    }

    /// Delay from `start` to the first recorded send, so the first frame is not late already.
    public static var recordedLeadTime: Duration { .milliseconds(5) }
    /// The longest wait for late extras after the last exchange.
    public static var graceLimit: Duration { .milliseconds(100) }

    public private(set) var report: ReplayReport
    private let plan: ReplayPlan
    private let ourMACs: [MACAddress]
    private let ourMACSet: Set<MACAddress>
    private let pacing: Pacing
    private let timeout: Duration
    private let comparator: FrameComparator
    /// `--ignore` and the noise file's fields, for the kinds of flow the noise file names.
    private let kindComparators: [String: FrameComparator]
    private let isCompared: @Sendable ([UInt8]) -> Bool
    private var flows: [FlowState]
    private var nextToStart = 0
    /// Flows in the order they ended in the recording, and how many of them have ended here.
    private let byEnd: [Int]
    private var endedPrefix = 0
    /// Per flow: how many flows (in `byEnd` order) ended in the recording before it began.
    private let endedBefore: [Int]
    private var active: Set<Int> = []
    /// Connections that received segments since the last `endOfBatch` (finished ones too: a
    /// server's late FIN still gets its ACK).
    private var touched: Set<Int> = []
    /// Live flow lookup: recorded keys to their flows, in recorded order.
    private var flowsByKey: [FlowKey: [Int]] = [:]
    private var fragments: [FrameClass.FragmentID: Int] = [:]
    /// Addresses played endpoints have used so far: they answer ARP for them, as hosts do.
    private var ownedAddresses: [IPv4Address: Int] = [:]
    /// The same for IPv6 (neighbour solicitations).
    private var ownedAddresses6: [[UInt8]: Int] = [:]
    private var recordedBackgroundKinds: Set<String>
    private var startedAt: Instant?
    private var graceUntil: Instant?
    private var finishedFlag = false
    private var worstDrift = Duration.zero
    public private(set) var flowsDone = 0

    /// - Parameters:
    ///   - plan: the plan with its frames' MACs mapped to the live endpoints'.
    ///   - ourMACs: the played endpoints' live MACs, by index in `plan.played`.
    ///   - absent: indices in `plan.expected` of endpoints that are not on the fabric: their
    ///     frames are missing at once, and nothing waits for them.
    ///   - isCompared: `--expect-filter`; expected frames it refuses are not compared.
    public init(
        plan: ReplayPlan, report: ReplayReport, ourMACs: [MACAddress], pacing: Pacing, timeout: Duration,
        comparator: FrameComparator, noise: NoiseModel? = nil, tcpShift: UInt32 = 0, absent: Set<Int> = [], isCompared: @escaping @Sendable ([UInt8]) -> Bool = { _ in true }
    ) {
        var report = report
        var plan = plan
        // --expect-filter: what it leaves out is background, not a frame to wait for.
        for flowIndex in plan.flows.indices {
            let before = plan.flows[flowIndex].events.count
            plan.flows[flowIndex].events.removeAll { !$0.isPlayed && !isCompared($0.frame.bytes) }
            report.filteredOut += before - plan.flows[flowIndex].events.count
        }
        report.plan = plan
        let ignored = Set(comparator.maskNames)
        let noiseByKind = noise?.byKind ?? [:]
        report.masks = comparator.maskNames.map { ReplayReport.MaskUse(name: $0, source: "--ignore") }
            + Set(noiseByKind.values.flatMap { $0 }).subtracting(ignored).sorted().map { ReplayReport.MaskUse(name: $0, source: "noise file") }
        self.kindComparators = noiseByKind.mapValues { FrameComparator(ignoring: ignored.union($0)) }
        self.plan = plan
        self.ourMACs = ourMACs
        self.ourMACSet = Set(ourMACs)
        self.pacing = pacing
        self.timeout = timeout
        self.comparator = comparator
        self.isCompared = isCompared
        var kinds = Set(plan.background.map(\.reason))
        for frame in plan.background {
            if let kind = Self.openedByEndpointUnderTest(FrameClass.of(frame.frame.bytes)) { kinds.insert(kind) }
        }
        self.recordedBackgroundKinds = kinds
        var flows = Array(repeating: FlowState(), count: plan.flows.count)
        for (flowIndex, flow) in plan.flows.enumerated() {
            for (eventIndex, event) in flow.events.enumerated() where !event.isPlayed {
                flows[flowIndex].resultOfEvent[eventIndex] = report.results.count
                report.results.append(ReplayReport.ExpectedResult(flow: flowIndex, expected: event.frame, verdict: .missing))
                flows[flowIndex].expected.append(eventIndex)
                flows[flowIndex].unsettled += 1
                if let sender = event.sender, absent.contains(sender) {
                    flows[flowIndex].settle(eventIndex)
                }
            }
            if let connection = flow.connection {
                let streamMasks = ignored.union(noiseByKind[flow.key.kind.name] ?? [])
                flows[flowIndex].tcp = TCPReplay(recorded: connection, timeout: timeout, streams: StreamComparator(masks: streamMasks), shift: tcpShift)
            }
            var keys: Set<FlowKey> = [flow.key]
            for event in flow.events {
                if let key = FrameClass.of(event.frame.bytes).key { keys.insert(key) }
            }
            for key in keys {
                self.flowsByKey[key, default: []].append(flowIndex)
            }
        }
        self.flows = flows
        self.report = report
        let byEnd = plan.flows.indices.sorted { (plan.flows[$0].end, $0) < (plan.flows[$1].end, $1) }
        self.byEnd = byEnd
        let ends = byEnd.map { plan.flows[$0].end }
        self.endedBefore = plan.flows.map { flow in
            // Binary search: flows whose last frame came before this one's first.
            var low = 0, high = ends.count
            while low < high {
                let middle = (low + high) / 2
                if ends[middle] < flow.start { low = middle + 1 } else { high = middle }
            }
            return low
        }
    }

    public var isFinished: Bool { self.finishedFlag }

    /// Starts the replay.
    public mutating func start(now: Instant) -> [Action] {
        guard self.startedAt == nil else { return [] }
        self.startedAt = now
        var actions: [Action] = []
        self.pump(now: now, only: [], into: &actions)
        return actions
    }

    /// A frame arrived for played endpoint `receiver` (an index into `plan.played`).
    public mutating func received(_ bytes: [UInt8], receiver: Int, now: Instant) -> [Action] {
        guard !self.finishedFlag, self.startedAt != nil else { return [] }
        guard let source = MACAddress(bytes: bytes, offset: 6), !self.ourMACSet.contains(source),
              let destination = MACAddress(bytes: bytes, offset: 0)
        else { return [] }
        // A flooded frame reaches every played endpoint: the first one speaks for all.
        if destination.isGroup, receiver != 0 {
            return []
        }
        var actions: [Action] = []
        let touched = self.arrived(bytes, destination: destination, receiver: receiver, now: now, into: &actions)
        self.pump(now: now, only: touched.map { [$0] } ?? [], into: &actions)
        return actions
    }

    /// Every frame that had arrived has been given to `received`: acknowledge what the live
    /// servers sent (one ACK per connection per batch).
    public mutating func endOfBatch(now: Instant) -> [Action] {
        var actions: [Action] = []
        let touched = self.touched.sorted()
        self.touched.removeAll(keepingCapacity: true)
        for index in touched {
            guard let ack = self.flows[index].tcp?.takeAcknowledgment(), let client = self.plan.flows[index].connectionClient else { continue }
            actions.append(.send([ack], from: client))
            self.report.playedFrames += 1
        }
        return actions
    }

    /// Time has passed (a `wait` ended with no frame, or any other wake-up).
    public mutating func timePassed(now: Instant) -> [Action] {
        guard !self.finishedFlag, self.startedAt != nil else { return [] }
        var actions: [Action] = []
        for index in self.active.sorted() {
            if let frames = self.flows[index].tcp?.timePassed(now: now), !frames.isEmpty, let client = self.plan.flows[index].connectionClient {
                actions.append(.send(frames, from: client))
                self.report.playedFrames += frames.count
            }
        }
        self.pump(now: now, only: nil, into: &actions)
        return actions
    }

    /// SIGINT/SIGTERM: stop where it is; what was compared so far is the report.
    public mutating func interrupt() {
        guard !self.finishedFlag else { return }
        self.report.interrupted = true
        self.conclude()
    }

    /// The masks for a flow: `--ignore`, and the noise file's for its kind.
    private func comparator(for flowIndex: Int) -> FrameComparator {
        self.kindComparators[self.plan.flows[flowIndex].key.kind.name] ?? self.comparator
    }

    /// The end: connections closed, each flow's frames lined up once more, the masks tallied.
    private mutating func conclude() {
        self.finishConnections()
        for flowIndex in self.flows.indices where self.flows[flowIndex].tcp == nil {
            self.realign(flowIndex)
        }
        self.report.tallyMasks()
        self.finishedFlag = true
    }

    /// Lines a flow's expected frames up with what arrived in it, as diff lines up two files
    /// (the longest run of equal frames), so one missing or extra reply does not make every
    /// later one a difference: between equal pairs, frames side by side are changed, the rest
    /// missing or unexpected. Online, each arrival was taken by the first frame still waiting;
    /// that stays the verdict where the flow is too large to align (more than 250,000 pairs).
    private mutating func realign(_ flowIndex: Int) {
        let arrivals = self.flows[flowIndex].arrivals
        let resultIndices = self.flows[flowIndex].expected.compactMap { self.flows[flowIndex].resultOfEvent[$0] }
        let unexpectedHere = self.report.unexpected.indices.filter { self.report.unexpected[$0].flow == flowIndex }
        let clean = resultIndices.allSatisfy { if case .matched = self.report.results[$0].verdict { true } else { false } }
        guard !arrivals.isEmpty, !(clean && unexpectedHere.isEmpty), resultIndices.count * arrivals.count <= 250_000 else { return }
        let expected = resultIndices.map { self.report.results[$0].expected.bytes }
        let comparator = self.comparator(for: flowIndex)
        let comparisons = expected.map { e in arrivals.map { comparator.compare(expected: e, received: $0) } }
        let pairs = Alignment.longestCommonPairs(expected.count, arrivals.count) { comparisons[$0][$1].difference == nil }
        var assigned = Array(repeating: false, count: arrivals.count)
        var nextExpected = 0
        var nextArrival = 0
        for (e, a) in pairs + [(expected.count, arrivals.count)] {
            // The run between two equal pairs: side by side, changed; left over, missing or extra.
            var i = nextExpected
            var j = nextArrival
            while i < e {
                let result = resultIndices[i]
                if j < a {
                    self.report.record(comparisons[i][j], received: arrivals[j], at: result)
                    assigned[j] = true
                    j += 1
                } else {
                    self.report.results[result].verdict = .missing
                    self.report.results[result].hiddenBy = []
                    self.report.results[result].fullyMasked = false
                }
                i += 1
            }
            if e < expected.count {
                self.report.record(comparisons[e][a], received: arrivals[a], at: resultIndices[e])
                assigned[a] = true
            }
            nextExpected = e + 1
            nextArrival = a + 1
        }
        self.report.unexpected.removeAll { $0.flow == flowIndex }
        for (index, bytes) in arrivals.enumerated() where !assigned[index] {
            self.report.unexpected.append(ReplayReport.Unexpected(flow: flowIndex, bytes: bytes))
        }
    }

    // MARK: - Arrivals

    /// Takes a live frame; returns the flow it moved on, if any.
    private mutating func arrived(_ bytes: [UInt8], destination: MACAddress, receiver: Int, now: Instant, into actions: inout [Action]) -> Int? {
        let frameClass = FrameClass.of(bytes)
        if frameClass.isResolution, frameClass.role == .opens {
            self.answerAddressRequest(bytes, into: &actions)
        }
        if let kind = frameClass.background {
            self.countBackground(kind)
            return nil
        }
        guard self.isCompared(bytes) else {
            self.countBackground(nil)
            return nil
        }
        guard let flowIndex = self.liveFlow(of: frameClass, bytes: bytes) else {
            if frameClass.isResolution, frameClass.role == .opens {
                self.countBackground(nil)
            } else if let kind = Self.openedByEndpointUnderTest(frameClass) {
                // An exchange the service began on its own (a DHCP server's ping of the address
                // it is about to offer): no played endpoint takes part, so it is background.
                self.countBackground(kind)
            } else if destination.isGroup {
                self.countBackground("a \(frameClass.key?.description.split(separator: " ").first ?? "frame") flood of no recorded flow")
            } else {
                self.report.unexpected.append(ReplayReport.Unexpected(flow: nil, bytes: bytes))
            }
            return nil
        }
        if self.flows[flowIndex].tcp != nil {
            guard let segment = TCPFrame(parsing: bytes), let client = self.plan.flows[flowIndex].connectionClient else { return nil }
            self.touched.insert(flowIndex)
            if let frames = self.flows[flowIndex].tcp?.received(segment, now: now), !frames.isEmpty {
                actions.append(.send(frames, from: client))
                self.report.playedFrames += frames.count
            }
            return flowIndex
        }
        // The first expected frame of the flow still outstanding.
        guard let eventIndex = self.flows[flowIndex].firstUnsettled(), let resultIndex = self.flows[flowIndex].resultOfEvent[eventIndex] else {
            if frameClass.isResolution {
                self.countBackground(nil)
            } else {
                self.report.unexpected.append(ReplayReport.Unexpected(flow: flowIndex, bytes: bytes))
                self.flows[flowIndex].arrivals.append(bytes)
            }
            return nil
        }
        let flow = self.plan.flows[flowIndex]
        self.flows[flowIndex].settle(eventIndex)
        self.flows[flowIndex].arrivals.append(bytes)
        self.report.record(self.comparator(for: flowIndex).compare(expected: flow.events[eventIndex].frame.bytes, received: bytes), received: bytes, at: resultIndex)
        return flowIndex
    }

    /// The background kind of a frame that opens an exchange (an echo request, a query, a SYN)
    /// from an endpoint under test; nil for any other frame.
    static func openedByEndpointUnderTest(_ frameClass: FrameClass) -> String? {
        guard frameClass.role == .opens, !frameClass.isResolution, let key = frameClass.key else { return nil }
        return "\(key.description.split(separator: " ").first ?? "an") exchange an endpoint under test began"
    }

    private mutating func countBackground(_ kind: String?) {
        self.report.liveBackground += 1
        if let kind, !self.recordedBackgroundKinds.contains(kind) {
            self.recordedBackgroundKinds.insert(kind)
            self.report.newBackgroundKinds.append(kind)
        }
    }

    /// The recorded flow a live frame belongs to: of the flows with its key, the first that
    /// has begun and still waits for something, else the last that has begun.
    private mutating func liveFlow(of frameClass: FrameClass, bytes: [UInt8]) -> Int? {
        if let fragment = frameClass.fragment, let known = self.fragments[fragment] {
            return known
        }
        guard var key = frameClass.key else { return nil }
        var candidates = self.flowsByKey[key] ?? []
        if candidates.isEmpty, key.kind == .udp {
            // A reply from another port of the host the flow's opener wrote to (TFTP).
            if let source = FlowTracker.source(of: bytes) {
                let destination = key.low == source ? key.high : key.low
                candidates = self.flowsByKey.first { entry in
                    entry.key.kind == .udp && (entry.key.low == destination || entry.key.high == destination)
                        && (entry.key.low.address == source.address || entry.key.high.address == source.address)
                }?.value ?? []
                if !candidates.isEmpty {
                    self.flowsByKey[key] = candidates
                }
            }
            if candidates.isEmpty {
                // An ICMP error quoting a DNS query names only its 5-tuple.
                key.kind = .dns
                candidates = self.flowsByKey.first { $0.key.kind == .dns && $0.key.low == key.low && $0.key.high == key.high }?.value ?? []
            }
        }
        let begun = candidates.filter { self.flows[$0].started }
        let flow = begun.first { !self.flows[$0].complete } ?? begun.last
        if let flow, let fragment = frameClass.fragment {
            self.fragments[fragment] = flow
        }
        return flow
    }

    /// A played endpoint answers ARP (and neighbour solicitations) for the addresses it has
    /// used, whenever it is asked.
    private mutating func answerAddressRequest(_ bytes: [UInt8], into actions: inout [Action]) {
        if let solicitation = NeighborDiscovery.solicitation(in: bytes) {
            if let owner = self.ownedAddresses6[solicitation.target],
               let advertisement = NeighborDiscovery.advertisementFrame(answering: bytes, mac: self.ourMACs[owner]) {
                actions.append(.send([advertisement], from: owner))
            }
            return
        }
        guard let frame = EthernetFrame(parsing: bytes), frame.etherType == .arp,
              let request = ARPPacket(parsing: frame.payload), request.operation == .request,
              let owner = self.ownedAddresses[request.targetProtocolAddress],
              let reply = ARPPacket.replyFrame(to: frame, ownerOf: request.targetProtocolAddress, mac: self.ourMACs[owner])
        else { return }
        actions.append(.send([reply.bytes], from: owner))
    }

    // MARK: - Sending and waiting

    /// Starts what may start, sends what is due, gives up what waited too long, and says when
    /// to wake next. `only`: the flows that can have changed (an arrival touches one); nil
    /// for all (time passed). The others' wake-up times stay as their last `advance` left them.
    private mutating func pump(now: Instant, only: [Int]?, into actions: inout [Action]) {
        guard let startedAt = self.startedAt, !self.finishedFlag else { return }
        if let until = self.graceUntil {
            if now >= until {
                self.conclude()
                actions.append(.finished)
            } else {
                actions.append(.wait(until: until))
            }
            return
        }
        var startWake: Instant?
        var toAdvance = only ?? self.active.sorted()
        var progressed = true
        while progressed {
            progressed = false
            // Begin flows in recorded order, each when its turn has come.
            startFlows: while self.nextToStart < self.plan.flows.count {
                let index = self.nextToStart
                switch self.pacing {
                case .gated:
                    guard self.endedPrefix >= self.endedBefore[index] else { break startFlows }
                case .recorded(let speed):
                    let due = self.due(self.plan.flows[index].start, start: startedAt, speed: speed)
                    guard due <= now else {
                        startWake = due
                        break startFlows
                    }
                case .topSpeed:
                    break
                }
                self.flows[index].started = true
                self.flows[index].startedAt = now
                self.active.insert(index)
                self.nextToStart += 1
                toAdvance.append(index)
                if self.flows[index].tcp != nil {
                    self.own(self.plan.flows[index].connection!.synFrame.ip.source, by: self.plan.flows[index].connectionClient!)
                    if let frames = self.flows[index].tcp?.start(now: now) {
                        actions.append(.send(frames, from: self.plan.flows[index].connectionClient!))
                        self.report.playedFrames += frames.count
                    }
                }
            }
            for index in toAdvance where self.active.contains(index) {
                if self.advance(index, now: now, startedAt: startedAt, into: &actions) {
                    progressed = true
                }
            }
            toAdvance = []
        }
        if self.nextToStart == self.plan.flows.count, self.active.isEmpty {
            if let drift = self.recordedDrift {
                self.report.worstSendDrift = drift
            }
            let until = now.advanced(by: min(self.timeout, Self.graceLimit))
            self.graceUntil = until
            actions.append(.wait(until: until))
            return
        }
        var wake = startWake
        for index in self.active {
            if let time = self.flows[index].wake {
                wake = wake.map { min($0, time) } ?? time
            }
        }
        if let wake {
            actions.append(.wait(until: wake))
        }
    }

    private var recordedDrift: Duration? {
        if case .recorded = self.pacing { self.worstDrift } else { nil }
    }

    /// Moves one flow on as far as it can go now. True when it completed.
    private mutating func advance(_ index: Int, now: Instant, startedAt: Instant, into actions: inout [Action]) -> Bool {
        self.flows[index].wake = nil
        func wakeAt(_ instant: Instant) {
            self.flows[index].wake = instant
        }
        let flow = self.plan.flows[index]
        if flow.skipReason != nil {
            return self.complete(index)
        }
        if self.flows[index].tcp != nil {
            if self.flows[index].tcp!.isDone {
                return self.complete(index)
            }
            if let time = self.flows[index].tcp!.wakeTime {
                wakeAt(time)
            }
            return false
        }
        var batch: [[UInt8]] = []
        var batchSender = -1
        func flush() {
            if !batch.isEmpty {
                actions.append(.send(batch, from: batchSender))
                batch = []
            }
        }
        while self.flows[index].cursor < flow.events.count {
            let eventIndex = self.flows[index].cursor
            let event = flow.events[eventIndex]
            if event.isPlayed {
                if case .recorded(let speed) = self.pacing {
                    let due = self.due(event.frame.timestamp.totalNanoseconds, start: startedAt, speed: speed)
                    guard due <= now else {
                        wakeAt(due)
                        break
                    }
                    self.worstDrift = max(self.worstDrift, due.duration(to: now))
                }
                if batchSender != event.participant { flush() }
                batchSender = event.participant
                batch.append(event.frame.bytes)
                self.noteOwnership(event)
                self.report.playedFrames += 1
                self.flows[index].lastSend = now
                self.flows[index].cursor += 1
                continue
            }
            if self.flows[index].settled.contains(eventIndex) || self.pacing != .gated {
                self.flows[index].cursor += 1
                continue
            }
            let deadline = (self.flows[index].lastSend ?? self.flows[index].startedAt ?? now).advanced(by: self.timeout)
            guard now >= deadline else {
                wakeAt(deadline)
                break
            }
            // Given up: missing (its result says so already).
            self.flows[index].settle(eventIndex)
            self.flows[index].cursor += 1
        }
        flush()
        guard self.flows[index].cursor == flow.events.count else { return false }
        // Everything sent: what is still outstanding waits until the timeout after the last send.
        guard self.flows[index].unsettled > 0 else { return self.complete(index) }
        let deadline = (self.flows[index].lastSend ?? self.flows[index].startedAt ?? now).advanced(by: self.timeout)
        guard now >= deadline else {
            wakeAt(deadline)
            return false
        }
        for event in self.flows[index].expected {
            self.flows[index].settle(event)
        }
        return self.complete(index)
    }

    private mutating func complete(_ index: Int) -> Bool {
        guard !self.flows[index].complete else { return false }
        self.flows[index].complete = true
        self.active.remove(index)
        self.flowsDone += 1
        while self.endedPrefix < self.byEnd.count, self.flows[self.byEnd[self.endedPrefix]].complete {
            self.endedPrefix += 1
        }
        return true
    }

    private mutating func noteOwnership(_ event: ReplayPlan.Event) {
        let bytes = event.frame.bytes
        if bytes.count >= 54, bytes[12] == 0x86, bytes[13] == 0xDD {
            let source = Array(bytes[22..<38])
            if !source.allSatisfy({ $0 == 0 }), self.ownedAddresses6[source] == nil {
                self.ownedAddresses6[source] = event.participant
            }
            return
        }
        guard bytes.count >= 34, bytes[12] == 0x08 else { return }
        if bytes[13] == 0x00 {
            self.own(IPv4Address(rawValue: bytes.bigEndianUInt32(at: 26)), by: event.participant)
        } else if bytes[13] == 0x06, let arp = ARPPacket(parsing: bytes[14...]) {
            self.own(arp.senderProtocolAddress, by: event.participant)
        }
    }

    private mutating func own(_ address: IPv4Address, by participant: Int) {
        guard address.rawValue != 0, self.ownedAddresses[address] == nil else { return }
        self.ownedAddresses[address] = participant
    }

    private func due(_ recorded: Int64, start: Instant, speed: Double) -> Instant {
        let first = self.plan.flows.first?.start ?? recorded
        let offset = Double(recorded &- first) / speed
        let nanoseconds = Int64(exactly: offset.rounded()) ?? (offset < 0 ? 0 : Int64.max / 4)
        return start.advanced(by: Self.recordedLeadTime + .nanoseconds(max(0, nanoseconds)))
    }

    /// The connections' verdicts go into the report once nothing more can change them.
    private mutating func finishConnections() {
        guard self.report.connections.isEmpty else { return }
        for (index, state) in self.flows.enumerated() {
            guard let tcp = state.tcp, state.started else { continue }
            let conclusion = tcp.conclusion
            self.report.connections.append(ReplayReport.ConnectionResult(
                flow: index, outcome: conclusion.outcome, serverBytes: tcp.receivedCount, expectedBytes: tcp.recorded.serverStream.count,
                hiddenBy: conclusion.hiddenBy, differingFields: conclusion.differingFields
            ))
        }
        for (index, state) in self.flows.enumerated() where state.tcp != nil && !state.started {
            self.report.connections.append(ReplayReport.ConnectionResult(flow: index, outcome: .missing("not played (interrupted)"), serverBytes: 0, expectedBytes: self.plan.flows[index].connection!.serverStream.count))
        }
    }
}
