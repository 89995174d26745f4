import SwitchyardFabric
import SwitchyardWire

/// What transports report to the engine to be counted in STATS (they never touch the
/// engine's counters themselves).
enum TransportEvent {
    /// A QEMU port refused a frame: length 0 or over the limit, or half a frame at disconnect.
    case qemuFrameRefused
    /// A TAP device sent a frame longer than the fabric switches.
    case tapFrameRefused
    /// A TAP device refused a frame written to it (it is down, or the frame is too large).
    case tapWriteRefused
    /// An offloaded frame (`VirtioNetHeader`) for an endpoint that takes no offloads that
    /// could not be resolved (not TCP over IPv4 or IPv6 as its header says).
    case offloadUnresolved
}

/// The engine's counts of `TransportEvent`s.
struct TransportCounters {
    private(set) var qemuFramesRefused: UInt64 = 0
    private(set) var tapFramesRefused: UInt64 = 0
    private(set) var tapWritesRefused: UInt64 = 0
    private(set) var offloadsUnresolved: UInt64 = 0

    mutating func count(_ event: TransportEvent) {
        switch event {
        case .qemuFrameRefused:
            self.qemuFramesRefused &+= 1
        case .tapFrameRefused:
            self.tapFramesRefused &+= 1
        case .tapWriteRefused:
            self.tapWritesRefused &+= 1
        case .offloadUnresolved:
            self.offloadsUnresolved &+= 1
        }
    }
}

/// Builds the STATS reply from the fabric's parts: the core's counters, the pipeline's
/// deliveries and rules, each connection, the capture, the transports' counts and the budget.
struct StatsBuilder {
    let engine: FabricEngine

    func reply() -> StatsReply {
        let pipeline = self.engine.pipeline
        let core = pipeline.core.statistics
        let captureStatistics = pipeline.capture.map { tap -> StatsReply.Capture in
            let s = tap.session.statistics
            return StatsReply.Capture(
                framesWritten: s.framesCaptured,
                framesDropped: s.framesDroppedByBuffer,
                framesFiltered: s.framesFiltered,
                framesNotWritten: s.framesNotWritten,
                bytesWritten: s.bytesWritten,
                files: s.files,
                currentFile: s.currentFile,
                writeError: s.writeError
            )
        }
        var reply = StatsReply(
            framesSwitched: core.framesSwitched,
            framesFlooded: core.framesFlooded,
            framesDelivered: pipeline.framesDelivered,
            framesDropped: pipeline.framesDropped,
            framesRejected: core.framesRejected,
            endpoints: pipeline.core.allEndpoints.count,
            connections: self.engine.registry.all.map {
                StatsReply.Connection(id: $0.id.rawValue, dropped: $0.framesDropped, stalled: $0.isStalled, tooBig: $0.framesTooBig > 0 ? $0.framesTooBig : nil)
            },
            capture: captureStatistics
        )
        reply.seed = pipeline.rules.seed
        reply.rules = ControlPlane.entries(of: pipeline.rules)
        reply.framesDroppedByRules = pipeline.framesDroppedByRules
        reply.qemuFramesRefused = self.engine.transportCounters.qemuFramesRefused
        reply.tapFramesRefused = self.engine.transportCounters.tapFramesRefused
        reply.tapWritesRefused = self.engine.transportCounters.tapWritesRefused
        reply.offloadsUnresolved = self.engine.transportCounters.offloadsUnresolved
        reply.vxlanDatagramsRefused = self.engine.vxlanPort?.datagramsRefused
        reply.vxlanFramesTooBig = self.engine.vxlanPort?.framesTooBig
        reply.macConflicts = core.macConflicts
        reply.bufferedBytes = self.engine.registry.budget.bufferedBytes
        reply.bufferBudget = self.engine.registry.budget.limit
        return reply
    }
}
