import SwitchyardBase
import SwitchyardCapture
import SwitchyardFabric

/// The rules in force and their state: the decision engine. Lives on the fabric's event loop
/// (it owns compiled BPF programs); takes deliveries in switching order and returns decisions.
///
/// Indexed by endpoint: a delivery whose sender and destination no rule names, when no rule
/// names no endpoint, costs one lookup and never runs BPF (`applies`).
public struct RuleSet {
    public struct Entry {
        public let id: Int
        public let rule: Rule
        public internal(set) var counters = RuleCounters()
        let filter: PcapFilter?
        /// `from` and `to` resolved to endpoint ids (0, which no endpoint has, while the named
        /// endpoint does not exist), so matching compares integers.
        var fromID: UInt32?
        var toID: UInt32?
        /// `pass` alone: nothing to draw or count but the match.
        let passOnly: Bool
        /// Gilbert-Elliott state of `loss ... burst`: in a loss burst.
        var inBurst = false
        /// Release times of frames waiting in this rule's `rate` queue, oldest first.
        var rateQueue: [MonotonicInstant] = []
        var rateHead = 0
        var rateNextFree: MonotonicInstant?
    }

    public let seed: UInt64
    public private(set) var entries: [Entry] = []
    private var nextID = 1
    /// Endpoints that exist, by id and by name.
    private var names: [UInt32: String] = [:]
    private var ids: [String: UInt32] = [:]
    /// Rules with neither `from` nor `to`: they look at every delivery.
    // The two below are read per delivery by `applies`, inlined into the switching path.
    @usableFromInline var everyDelivery = false
    /// Endpoints some rule names in `from` or `to` (keys; the values are unused).
    @usableFromInline var named = SlotMap()
    /// Per rule: the frame its BPF result belongs to, and the result (one frame floods to many).
    private var filterFrame: [UInt64] = []
    private var filterResult: [Bool] = []
    /// Per rule: its filter, not retained (its entry holds it), for the per-frame call: a
    /// retain and a release per frame cost as much as a short BPF program.
    private var unretainedFilters: [Unmanaged<PcapFilter>?] = []

    public init(seed: UInt64) {
        self.seed = seed
    }

    public var isEmpty: Bool { self.entries.isEmpty }

    /// Adds a rule at the end; a bad BPF expression throws with libpcap's text.
    @discardableResult
    public mutating func add(_ rule: Rule) throws(PcapError) -> Int {
        let filter = try rule.match.map { (expression: String) throws(PcapError) in try PcapFilter(expression: expression) }
        let id = self.nextID
        self.nextID += 1
        // Indexed on its own: reindexing every rule on each add made adding n rules cost n².
        var entry = Entry(id: id, rule: rule, filter: filter, passOnly: rule.actions == [.pass])
        self.resolve(&entry)
        self.entries.append(entry)
        self.everyDelivery = self.everyDelivery || (rule.from == nil && rule.to == nil)
        self.filterFrame.append(.max)
        self.filterResult.append(false)
        self.unretainedFilters.append(filter.map(Unmanaged.passUnretained))
        return id
    }

    /// Resolves the entry's `from` and `to` to endpoint ids and notes them in `named`.
    private mutating func resolve(_ entry: inout Entry) {
        entry.fromID = entry.rule.from.map { self.ids[$0] ?? 0 }
        entry.toID = entry.rule.to.map { self.ids[$0] ?? 0 }
        if let from = entry.fromID, from != 0 {
            self.named.insert(UInt64(from), 0)
        }
        if let to = entry.toID, to != 0 {
            self.named.insert(UInt64(to), 0)
        }
    }

    /// Removes rule `id`; false when there is none.
    public mutating func remove(id: Int) -> Bool {
        guard let index = self.entries.firstIndex(where: { $0.id == id }) else { return false }
        self.entries.remove(at: index)
        self.reindex()
        return true
    }

    public mutating func removeAll() {
        self.entries.removeAll()
        self.reindex()
    }

    /// An endpoint was created: rules naming it apply from now on.
    public mutating func endpointAppeared(id: UInt32, name: String) {
        self.names[id] = name
        self.ids[name] = id
        self.reindex()
    }

    public mutating func endpointGone(id: UInt32) {
        if let name = self.names.removeValue(forKey: id) {
            self.ids[name] = nil
        }
        self.reindex()
    }

    private mutating func reindex() {
        self.everyDelivery = self.entries.contains { $0.rule.from == nil && $0.rule.to == nil }
        self.named = SlotMap()
        var entries = self.entries
        for index in entries.indices {
            self.resolve(&entries[index])
        }
        self.entries = entries
        self.filterFrame = Array(repeating: .max, count: self.entries.count)
        self.filterResult = Array(repeating: false, count: self.entries.count)
        self.unretainedFilters = self.entries.map { $0.filter.map(Unmanaged.passUnretained) }
    }

    /// Whether any rule could match a delivery between these endpoints (the cheap test).
    @inlinable @inline(__always)
    public func applies(sender: UInt32, destination: UInt32) -> Bool {
        self.everyDelivery || self.named.value(for: UInt64(sender)) != nil || self.named.value(for: UInt64(destination)) != nil
    }

    /// The verdict of the first rule matching this delivery: none (deliver as is), a plain
    /// `pass` (no `RuleDecision` to build and release), or the decision of its actions.
    /// `frameNumber` identifies the frame (all deliveries of one frame share it).
    public mutating func verdict(
        sender: UInt32,
        destination: UInt32,
        frame: UnsafeRawBufferPointer,
        frameNumber: UInt64,
        now: @autoclosure () -> MonotonicInstant
    ) -> RuleVerdict {
        guard self.applies(sender: sender, destination: destination) else { return .none }
        for index in self.entries.indices {
            if let from = self.entries[index].fromID, from != sender { continue }
            if let to = self.entries[index].toID, to != destination { continue }
            if let filter = self.unretainedFilters[index] {
                // The unretained filter's invariant (docs/architecture.md, "Unsafe code").
                assert(filter.takeUnretainedValue() === self.entries[index].filter, "a rule's unretained filter is not its entry's")
                if self.filterFrame[index] != frameNumber {
                    self.filterFrame[index] = frameNumber
                    self.filterResult[index] = filter._withUnsafeGuaranteedRef { $0.matches(frame, originalLength: frame.count) }
                }
                guard self.filterResult[index] else { continue }
            }
            if self.entries[index].passOnly {
                self.entries[index].counters.matched &+= 1
                return .passed(rule: self.entries[index].id)
            }
            return .decided(self.apply(index, frameLength: frame.count, now: now))
        }
        return .none
    }

    /// Carries out rule `index`'s actions for one matched delivery.
    /// `now` is read only by a rule that needs the time (`rate`): a clock read per delivery
    /// would cost more than the rest of a rule.
    private mutating func apply(_ index: Int, frameLength: Int, now: () -> MonotonicInstant) -> RuleDecision {
        let id = self.entries[index].id
        let count = self.entries[index].counters.matched
        self.entries[index].counters.matched &+= 1
        var decision = RuleDecision(rule: id)
        var draw: UInt64 = 0
        func unit() -> Double {
            defer { draw += 1 }
            return DeterministicDraw.unit(seed: self.seed, rule: UInt64(id), count: count, draw: draw)
        }
        for action in self.entries[index].rule.actions {
            switch action {
            case .drop:
                decision.dropped = true
                decision.reason = "drop"
            case .pass:
                break
            case .loss(let share, let burst):
                let lost: Bool
                if let burst {
                    // Gilbert-Elliott: Good→Bad with p, Bad→Good with r = 1/burst; every frame
                    // in Bad is lost. p = P / ((1-P)·burst) makes the long-run loss P.
                    let leave = 1 / burst
                    let enter = share.fraction / ((1 - share.fraction) * burst)
                    let step = unit()
                    self.entries[index].inBurst = self.entries[index].inBurst ? step >= leave : step < enter
                    lost = self.entries[index].inBurst
                } else {
                    lost = unit() < share.fraction
                }
                if lost {
                    decision.dropped = true
                    decision.reason = "loss"
                }
            case .duplicate(let share):
                if unit() < share.fraction {
                    decision.copies = 2
                }
            case .corrupt(let share):
                let chosen = unit() < share.fraction
                let position = unit()
                let bit = unit()
                if chosen, frameLength > 0 {
                    // Past the Ethernet header when there is more: the frame still reaches its
                    // destination, damaged.
                    let start = frameLength > 14 ? 14 : 0
                    let offset = start + min(frameLength - start - 1, Int(position * Double(frameLength - start)))
                    decision.corruption = (offset, UInt8(1) << UInt8(min(7, Int(bit * 8))))
                }
            case .delay(let delay, let jitter):
                var held = delay
                let spread = unit()
                if jitter > .zero {
                    // Uniform in [delay - jitter, delay + jitter], to the nanosecond.
                    let range = Double(jitter.components.seconds) * 2e9 + Double(jitter.components.attoseconds) / 5e8
                    held = delay - jitter + .nanoseconds(Int64((spread * range).rounded(.down)))
                }
                decision.delay += held
            case .reorder(let share):
                if unit() < share.fraction {
                    decision.reason = decision.reason ?? "reorder"
                    self.entries[index].counters.reordered &+= 1
                    decision.delay += max(.milliseconds(1), self.delayOf(index))
                }
            case .rate(let rate, let limit):
                if !decision.dropped, !self.queueForRate(index, rate: rate, limit: limit, bytes: frameLength, now: now(), delay: &decision.delay) {
                    decision.dropped = true
                    decision.reason = "rate limit"
                }
            case .mirror(let name):
                if let target = self.ids[name] {
                    decision.mirrors.append(target)
                }
            case .redirect(let name):
                if let target = self.ids[name] {
                    decision.redirect = target
                } else {
                    // The target does not exist (yet): the frame has nowhere to go.
                    decision.dropped = true
                    decision.reason = "redirect to absent \(name)"
                }
            }
        }
        self.count(decision, index)
        return decision
    }

    private func delayOf(_ index: Int) -> Duration {
        for case .delay(let delay, _) in self.entries[index].rule.actions {
            return delay
        }
        return .zero
    }

    /// Puts a frame in rule `index`'s rate queue: false when `limit` frames wait already.
    private mutating func queueForRate(_ index: Int, rate: Rate, limit: Int, bytes: Int, now: MonotonicInstant, delay: inout Duration) -> Bool {
        // Frames released by now have left the queue.
        while self.entries[index].rateHead < self.entries[index].rateQueue.count,
              self.entries[index].rateQueue[self.entries[index].rateHead] <= now {
            self.entries[index].rateHead += 1
        }
        if self.entries[index].rateHead > 1024, self.entries[index].rateHead * 2 > self.entries[index].rateQueue.count {
            self.entries[index].rateQueue.removeFirst(self.entries[index].rateHead)
            self.entries[index].rateHead = 0
        }
        let waiting = self.entries[index].rateQueue.count - self.entries[index].rateHead
        guard waiting < limit else { return false }
        let start = max(now.advanced(by: delay), self.entries[index].rateNextFree ?? now)
        let release = start
        self.entries[index].rateNextFree = start.advanced(by: rate.cost(bytes: bytes))
        self.entries[index].rateQueue.append(release)
        delay = now.duration(to: release)
        return true
    }

    private mutating func count(_ decision: RuleDecision, _ index: Int) {
        if decision.dropped {
            self.entries[index].counters.dropped &+= 1
            return
        }
        if decision.copies > 1 {
            self.entries[index].counters.duplicated &+= 1
        }
        if decision.delay > .zero {
            self.entries[index].counters.delayed &+= 1
        }
        if decision.corruption != nil {
            self.entries[index].counters.corrupted &+= 1
        }
        if decision.redirect != nil {
            self.entries[index].counters.redirected &+= 1
        }
    }

    /// Rule `id` delivered a mirror copy. Counted by whoever delivers it: an endpoint that got
    /// the frame already in the same switching (flooded, promiscuous) gets no second copy, and
    /// that is not counted.
    public mutating func countMirrored(rule id: Int) {
        if let index = self.entries.firstIndex(where: { $0.id == id }) {
            self.entries[index].counters.mirrored &+= 1
        }
    }
}
