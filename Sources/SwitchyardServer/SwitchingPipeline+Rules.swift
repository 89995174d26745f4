import NIOCore
import SwitchyardBase
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

/// Carrying out the rules' decisions in phase 1: drops, copies, corruption, holding frames on
/// the delay line (against absolute deadlines; the engine runs its timer), mirror and redirect.
extension SwitchingPipeline {
    func deliverUnderRules(_ delivery: Delivery, sender: UInt32, frame: UnsafeRawBufferPointer, from connection: ConnectionID, offload: VirtioNetHeader?) {
        let decision: RuleDecision
        switch self.rules.verdict(sender: sender, destination: delivery.endpoint, frame: frame, frameNumber: self.frameNumber, now: self.clock()) {
        case .none:
            self.deliver(delivery, frame, from: connection, offload: offload)
            return
        case .passed(let rule):
            // The note is set and cleared only when deliveries are recorded: storing nil over
            // nil still calls the runtime to release the old string, per delivery.
            guard self.recordsDeliveries else {
                self.deliver(delivery, frame, from: connection, offload: offload)
                return
            }
            self.deliveryNote = Self.note(RuleDecision(rule: rule))
            self.deliver(delivery, frame, from: connection, offload: offload)
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
            self.deliver(delivery, frame, from: connection, offload: offload)
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
        let now = self.clock()
        for _ in 0..<decision.copies {
            self.deliver(delivery, bytes, after: decision.delay, now: now, from: connection, offload: offload)
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
    func deliverRetargeted(from connection: ConnectionID, offload: VirtioNetHeader?) {
        let now = self.clock()
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
                    self.deliver(delivery, retarget.frame, after: retarget.delay, now: now, from: connection, offload: offload)
                }
            }
        }
    }

    private func deliver(_ delivery: Delivery, _ frame: ByteBuffer, after delay: Duration, now: MonotonicInstant, from connection: ConnectionID, offload: VirtioNetHeader?) {
        guard delay > .zero else {
            frame.withUnsafeReadableBytes { self.deliver(delivery, $0, from: connection, offload: offload) }
            return
        }
        // Recorded when held, with the delay in its comment (the release has no sender to record under).
        if self.recordsDeliveries, let capture = self.capture {
            frame.withUnsafeReadableBytes { capture.recordDelivery($0, timestamp: self.readTimestamp, receiver: delivery.endpoint, note: self.deliveryNote) }
        }
        // `frame` is the rules' own copy, never a slice of a read buffer.
        guard self.delayLine.hold(frame, offload: offload, for: delivery, until: now.advanced(by: delay)) else {
            self.framesDroppedByRules &+= 1
            return
        }
    }

    static func flip(_ corruption: (offset: Int, mask: UInt8), in frame: inout ByteBuffer) {
        if let byte = frame.getInteger(at: frame.readerIndex + corruption.offset, as: UInt8.self) {
            frame.setInteger(byte ^ corruption.mask, at: frame.readerIndex + corruption.offset)
        }
    }
}
