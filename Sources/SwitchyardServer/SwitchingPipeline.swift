import NIOCore
import SwitchyardBase
import SwitchyardCapture
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules

/// Phase 1 of every read: switches each frame into its destinations' pending batches, with
/// the rules, the delay line and the capture tap. Does no I/O: it never writes, flushes,
/// closes or changes a channel's reading, so no connection can go away while a frame is being
/// switched (what the unretained lookups rely on). What must happen after (flushes, the
/// delay-line timer, capture commits) is left for phase 2 in `FabricEngine`.
///
/// Generic over where deliveries go, so that it is tested without a channel; the fabric's is
/// the `ConnectionRegistry` (one specialisation, no existential on the per-frame path).
final class SwitchingPipeline<Destinations: FrameDestinations> {
    var core: FabricCore
    let destinations: Destinations
    /// The rules' clock (the event loop's; a manual one in tests).
    let clock: () -> MonotonicInstant
    let capture: CaptureTap?
    /// `capture` for the per-frame call, not retained: a retain and a release per frame for a
    /// tap that `capture` keeps for the pipeline's whole life.
    private let unretainedCapture: Unmanaged<CaptureTap>?
    /// `--capture-points both`: deliveries are recorded as well (one test per delivery otherwise).
    let recordsDeliveries: Bool
    /// When the current read's frames arrived (one clock read per read, taken only when capturing).
    var readTimestamp = CaptureTimestamp(seconds: 0, nanoseconds: 0)

    // Rules (see SwitchingPipeline+Rules.swift).
    /// Mutated per frame (counters, rate state); which rules exist changes only through
    /// `updateRules`, which keeps `rulesInForce`.
    var rules: RuleSet
    /// `!rules.isEmpty`, kept apart (set wherever the rules change): the one test a frame pays
    /// when no rule is in force.
    private(set) var rulesInForce = false
    var delayLine = DelayLine()
    /// Counts frames while rules are in force (a rule's BPF result is per frame).
    var frameNumber: UInt64 = 0
    /// Mirror and redirect deliveries of the current frame, carried out once the core is done.
    var retargeted: [Retarget] = []
    /// While rules are in force: the endpoints the current frame was delivered (or held) for,
    /// so that a mirror or redirect does not give one of them a second copy.
    var reachedThisFrame: [UInt32] = []
    /// What a rule did to the delivery being made, for its capture record's comment.
    var deliveryNote: String?

    private(set) var framesDelivered: UInt64 = 0
    private(set) var framesDropped: UInt64 = 0
    var framesDroppedByRules: UInt64 = 0

    init(core: FabricCore, rules: RuleSet, destinations: Destinations, capture: CaptureTap?, clock: @escaping () -> MonotonicInstant) {
        self.core = core
        self.rules = rules
        self.rulesInForce = !rules.isEmpty
        self.destinations = destinations
        self.capture = capture
        self.unretainedCapture = capture.map(Unmanaged.passUnretained)
        self.recordsDeliveries = capture?.recordsDeliveries ?? false
        self.clock = clock
    }

    /// Changes the rules in force (a RULES_REQUEST, or a test).
    func updateRules<Result>(_ body: (inout RuleSet) throws -> Result) rethrows -> Result {
        defer { self.rulesInForce = !self.rules.isEmpty }
        return try body(&self.rules)
    }

    /// Switches one frame sent by endpoint `endpoint` of connection `sender` where it lies (in
    /// the read buffer, or a frame of another transport) when the core switches it as it is
    /// (see `FabricCore.switchPacketOut`): each delivery goes into its destination's batch and
    /// the frame is recorded. False, with nothing done, when the message must be answered
    /// instead. Nothing here keeps `frame`: what must outlive the read (a delayed, mirrored or
    /// redirected frame) is copied by the rules' path.
    @inline(__always)
    func switchFrame(_ frame: UnsafeRawBufferPointer, version: UInt16, endpoint: EndpointID, from sender: ConnectionID, offload: VirtioNetHeader? = nil) -> Bool {
        // One test per frame when no rule is in force; with rules, one cheap index test per
        // delivery before any rule is tried.
        let ruled = self.rulesInForce
        if ruled {
            self.frameNumber &+= 1
        }
        let route = self.core.switchPacketOut(version: version, endpointID: endpoint, frame: frame, from: sender) { delivery in
            if ruled {
                self.reachedThisFrame.append(delivery.endpoint)
                if self.rules.applies(sender: endpoint, destination: delivery.endpoint) {
                    self.deliverUnderRules(delivery, sender: endpoint, frame: frame, from: sender, offload: offload)
                    return
                }
            }
            self.deliver(delivery, frame, from: sender, offload: offload)
        }
        guard route != nil else {
            if ruled {
                self.frameNumber &-= 1
            }
            return false
        }
        if !self.retargeted.isEmpty {
            self.deliverRetargeted(from: sender, offload: offload)
        }
        if ruled {
            self.reachedThisFrame.removeAll(keepingCapacity: true)
        }
        if let capture = self.unretainedCapture {
            assert(capture.takeUnretainedValue() === self.capture, "the unretained capture tap is not the pipeline's")
            let timestamp = self.readTimestamp
            capture._withUnsafeGuaranteedRef { $0.record(frame, timestamp: timestamp, sender: endpoint) }
        }
        return true
    }

    /// One delivery into its destination's batch (`sender` nil for a frame a rule held back:
    /// its sender is not waiting).
    @inline(__always)
    func deliver(_ delivery: Delivery, _ frame: UnsafeRawBufferPointer, from sender: ConnectionID?, offload: VirtioNetHeader?) {
        if self.recordsDeliveries, sender != nil, let capture = self.capture {
            capture.recordDelivery(frame, timestamp: self.readTimestamp, receiver: delivery.endpoint, note: self.deliveryNote)
        }
        if self.destinations.deliver(frame, to: delivery, from: sender, offload: offload) {
            self.framesDelivered &+= 1
        } else {
            self.framesDropped &+= 1
        }
    }

    /// Delivers the held frames whose time has come (a pass of its own: phase 2 follows).
    func releaseHeldFrames(now: MonotonicInstant) {
        for held in self.delayLine.takeDue(now: now) {
            held.frame.withUnsafeReadableBytes { self.deliver(held.delivery, $0, from: nil, offload: held.offload) }
        }
    }
}

@available(*, unavailable)
extension SwitchingPipeline: Sendable {}
