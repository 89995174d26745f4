import NIOCore
import SwitchyardCapture
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules
import SwitchyardWire

/// A delivery to another endpoint than the frame's destination (mirror, redirect), done once
/// the core has finished with the frame.
struct Retarget {
    var endpoint: UInt32
    var frame: ByteBuffer
    var delay: Duration
    var copies: Int
    /// The mirroring rule's id (its `mirrored` counter counts copies delivered); nil for a redirect.
    var mirroredBy: Int?
}

/// Carrying out the rules' decisions: drops, copies, corruption, holding frames on the delay
/// line (an event-loop timer against absolute deadlines), mirror and redirect; and the
/// RULES_REQUEST control messages.
extension FabricEngine {
    /// The event loop's clock as the rules' instant.
    var now: MonotonicInstant {
        MonotonicInstant(nanoseconds: Int64(truncatingIfNeeded: self.eventLoop.now.uptimeNanoseconds))
    }

    func deliverUnderRules(_ delivery: Delivery, sender: UInt32, frame: UnsafeRawBufferPointer, from handler: FabricConnectionHandler) {
        let decision: RuleDecision
        switch self.rules.verdict(sender: sender, destination: delivery.endpoint, frame: frame, frameNumber: self.frameNumber, now: self.now) {
        case .none:
            self.deliver(delivery, frame, from: handler)
            return
        case .passed(let rule):
            // The note is set and cleared only when deliveries are recorded: storing nil over
            // nil still calls the runtime to release the old string, per delivery.
            guard self.recordsDeliveries else {
                self.deliver(delivery, frame, from: handler)
                return
            }
            self.deliveryNote = Self.note(RuleDecision(rule: rule))
            self.deliver(delivery, frame, from: handler)
            self.deliveryNote = nil
            return
        case .decided(let decided):
            decision = decided
        }
        // A mirror sees each matched frame as it was sent, whatever happens to it after.
        for target in decision.mirrors {
            // One copy per target and switching, however many deliveries matched.
            if !self.retargeted.contains(where: { $0.endpoint == target && $0.mirroredBy != nil }) {
                self.retargeted.append(Retarget(endpoint: target, frame: ByteBuffer(bytes: frame), delay: .zero, copies: 1, mirroredBy: decision.rule))
            }
        }
        guard !decision.dropped else {
            self.framesDroppedByRules &+= 1
            if self.recordsDeliveries, let capture = self.capture {
                capture.recordDelivery(frame, timestamp: self.readTimestamp, receiver: delivery.endpoint, note: Self.note(decision))
            }
            return
        }
        if decision.corruption == nil, decision.redirect == nil, decision.delay <= .zero, decision.copies == 1 {
            // Matched and passed as it is: no copy.
            self.deliveryNote = self.recordsDeliveries ? Self.note(decision) : nil
            self.deliver(delivery, frame, from: handler)
            self.deliveryNote = nil
            return
        }
        var bytes = ByteBuffer(bytes: frame)
        if let corruption = decision.corruption {
            Self.flip(corruption, in: &bytes)
        }
        if let redirect = decision.redirect {
            self.retargeted.append(Retarget(endpoint: redirect, frame: bytes, delay: decision.delay, copies: decision.copies, mirroredBy: nil))
            return
        }
        if self.recordsDeliveries {
            self.deliveryNote = Self.note(decision)
        }
        let now = self.now
        for _ in 0..<decision.copies {
            self.deliver(delivery, bytes, after: decision.delay, now: now, from: handler)
        }
        self.deliveryNote = nil
    }

    /// What the rule did, as a capture comment: `rule 3: dropped (loss)`, `rule 1: delayed 20 ms, duplicated`.
    static func note(_ decision: RuleDecision) -> String {
        var actions: [String] = []
        if decision.dropped {
            actions.append("dropped" + (decision.reason.map { " (\($0))" } ?? ""))
        } else {
            if decision.delay > .zero {
                let (seconds, attoseconds) = decision.delay.components
                let microseconds = seconds * 1_000_000 + attoseconds / 1_000_000_000_000
                actions.append("delayed \(microseconds / 1000).\(DecimalText.zeroPadded(microseconds % 1000, width: 3)) ms")
            }
            if decision.copies > 1 {
                actions.append("duplicated")
            }
            if let corruption = decision.corruption {
                actions.append("corrupted byte \(corruption.offset)")
            }
            if actions.isEmpty {
                actions.append("matched" + (decision.reason.map { " (\($0))" } ?? ""))
            }
        }
        return "rule \(decision.rule): " + actions.joined(separator: ", ")
    }

    /// Mirror and redirect deliveries of the frame just switched.
    func deliverRetargeted(from handler: FabricConnectionHandler) {
        let now = self.now
        let work = self.retargeted
        self.retargeted.removeAll(keepingCapacity: true)
        for retarget in work {
            // An endpoint gets a frame at most once per switching, whatever the reasons
            // (flood, promiscuous copy, mirror, redirect); a rule's copies stay copies.
            guard !self.reachedThisFrame.contains(retarget.endpoint) else { continue }
            self.reachedThisFrame.append(retarget.endpoint)
            let deliveries = self.core.deliveries(to: retarget.endpoint)
            if let rule = retarget.mirroredBy, !deliveries.isEmpty {
                self.rules.countMirrored(rule: rule)
            }
            for delivery in deliveries {
                for _ in 0..<retarget.copies {
                    self.deliver(delivery, retarget.frame, after: retarget.delay, now: now, from: handler)
                }
            }
        }
    }

    private func deliver(_ delivery: Delivery, _ frame: ByteBuffer, after delay: Duration, now: MonotonicInstant, from handler: FabricConnectionHandler) {
        guard delay > .zero else {
            frame.withUnsafeReadableBytes { self.deliver(delivery, $0, from: handler) }
            return
        }
        // Recorded when held, with the delay in its comment (the release has no sender to record under).
        if self.recordsDeliveries, let capture = self.capture {
            frame.withUnsafeReadableBytes { capture.recordDelivery($0, timestamp: self.readTimestamp, receiver: delivery.endpoint, note: self.deliveryNote) }
        }
        // `frame` is the rules' own copy, never a slice of a read buffer.
        guard self.delayLine.hold(frame, for: delivery, until: now.advanced(by: delay)) else {
            self.framesDroppedByRules &+= 1
            return
        }
        self.scheduleDelayTimer()
    }

    /// One timer, for the earliest deadline on the line.
    private func scheduleDelayTimer() {
        guard let earliest = self.delayLine.earliest else { return }
        if let scheduled = self.delayTimerDeadline, scheduled <= earliest {
            return
        }
        self.delayTimer?.cancel()
        self.delayTimerDeadline = earliest
        let engine = NIOLoopBound(self, eventLoop: self.eventLoop)
        self.delayTimer = self.eventLoop.scheduleTask(deadline: .uptimeNanoseconds(UInt64(max(0, earliest.nanoseconds)))) {
            engine.value.releaseHeldFrames()
        }
    }

    private func releaseHeldFrames() {
        self.delayTimer = nil
        self.delayTimerDeadline = nil
        for held in self.delayLine.takeDue(now: self.now) {
            held.frame.withUnsafeReadableBytes { self.deliver(held.delivery, $0, from: nil) }
        }
        self.endOfRead()
        self.scheduleDelayTimer()
    }

    static func flip(_ corruption: (offset: Int, mask: UInt8), in frame: inout ByteBuffer) {
        if let byte = frame.getInteger(at: frame.readerIndex + corruption.offset, as: UInt8.self) {
            frame.setInteger(byte ^ corruption.mask, at: frame.readerIndex + corruption.offset)
        }
    }

    // MARK: - RULES_REQUEST

    /// Lists, adds, deletes or clears rules; answers RULES, or ERROR (rules unchanged).
    func rulesRequest(_ message: Message) -> Message {
        let request: RulesRequest
        do {
            request = try ControlJSON.decode(RulesRequest.self, from: message.payload)
        } catch {
            return Rejection(.badPayload, "RULES_REQUEST: \(error.description)").message
        }
        let operation: RulesOperation
        switch request.operation {
        case .success(let parsed): operation = parsed
        case .failure(let invalid): return Rejection(.badRule, invalid.message).message
        }
        var added: Int?
        switch operation {
        case .list:
            break
        case .add(let text):
            do {
                guard let rule = try RuleParser.parse(text) else {
                    return Rejection(.badRule, "the rule is empty").message
                }
                added = try self.rules.add(rule)
            } catch let error as RuleParser.SyntaxError {
                return Rejection(.badRule, error.message).message
            } catch let error as PcapError {
                return Rejection(.badRule, error.message).message
            } catch {
                return Rejection(.badRule, "\(error)").message
            }
            self.logger.info("rule added", metadata: ["id": "\(added ?? 0)", "rule": "\(text)"])
        case .delete(let id):
            guard self.rules.remove(id: id) else {
                return Rejection(.unknownRule, "no rule \(id) (switchyard-ctl rules lists them)").message
            }
            self.logger.info("rule deleted", metadata: ["id": "\(id)"])
        case .clear:
            self.rules.removeAll()
            self.logger.info("rules cleared")
        }
        if operation != .list {
            self.rulesInForce = !self.rules.isEmpty
            if let capture = self.capture {
                // An add is told as an add: describing (and copying) every rule in force on
                // each of 10,000 adds would cost more than the adds.
                if case .add = operation {
                    capture.ruleAdded(self.rules.entries[self.rules.entries.count - 1].rule.description)
                } else {
                    capture.rulesChanged(self.rules.entries.map(\.rule.description))
                }
            }
        }
        if let added {
            // The rule added, not every rule in force: `list` is for that.
            let entry = self.rules.entries[self.rules.entries.count - 1]
            return Message(.rules, json: RulesReply(seed: self.rules.seed, rules: [Self.replyEntry(entry)], added: added))
        }
        return Message(.rules, json: RulesReply(seed: self.rules.seed, rules: self.ruleEntries, added: nil))
    }

    var ruleEntries: [RulesReply.Entry] {
        self.rules.entries.map(Self.replyEntry)
    }

    private static func replyEntry(_ entry: RuleSet.Entry) -> RulesReply.Entry {
        let c = entry.counters
        return RulesReply.Entry(
            id: entry.id, rule: entry.rule.description, matched: c.matched, dropped: c.dropped, duplicated: c.duplicated,
            delayed: c.delayed, corrupted: c.corrupted, reordered: c.reordered, mirrored: c.mirrored, redirected: c.redirected
        )
    }
}
