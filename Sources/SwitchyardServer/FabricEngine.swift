import Logging
import NIOCore
import SwitchyardBase
import SwitchyardCapture
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules
import SwitchyardWire

/// Runs the fabric on its one event loop: every read is one two-phase pass.
///
/// - Phase 1 (`channelRead`, a delay-line release): the connection's transport finds the
///   frames and the `SwitchingPipeline` switches each into its destinations' pending batches;
///   control requests are answered into the sender's batch. No I/O: nothing is written,
///   flushed or closed, and no reading changes, so no connection can leave the registry while
///   a frame is switched (`assertNotSwitching` checks it in debug builds).
/// - Phase 2 (`endOfRead`): each touched connection is flushed once; then the closes the read
///   asked for, the reading decisions, and removals of connections that closed during the
///   flushes; the read's frames go to the capture ring in one commit, and the delay-line timer
///   is set for the earliest held frame.
///
/// Every connection lives on the same loop, so nothing needs a lock and frames are switched
/// in exactly the order they were read.
final class FabricEngine {
    typealias Pipeline = SwitchingPipeline<ConnectionRegistry>

    let pipeline: Pipeline
    let registry: ConnectionRegistry
    let control: ControlPlane
    let outboundQueueLimit: Int
    let stallTimeout: Duration
    let logger: Logger
    let eventLoop: any EventLoop
    private(set) var transportCounters = TransportCounters()
    /// Makes offloaded frames into what a wire carries for connections that take no offloads.
    var offloadResolver = OffloadResolver()
    /// The VXLAN uplinks, if any (their counters are in STATS).
    var vxlanPort: VXLANPort?
    /// The capture ring is full (`block` policy): no connection is read until it has room.
    private(set) var isCaptureBlocked = false

    /// Phase 2's lists: kept between reads for their storage.
    private var flushing: [FabricConnection] = []
    private var closing: [(connection: FabricConnection, lingering: Bool)] = []
    private var reconsidering: [FabricConnection] = []
    /// Connections that closed during phase 2's flushes: removed once the flushes are done.
    private var closedDuringFlush: [(id: ConnectionID, drops: UInt64)] = []
    private var isFlushing = false
    private var delayTimer: Scheduled<Void>?
    private var delayTimerDeadline: MonotonicInstant?
    private var loggedMACConflict = false

    init(
        eventLoop: any EventLoop,
        configuration: ServerConfiguration,
        capture: CaptureSession?,
        logger: Logger
    ) {
        self.eventLoop = eventLoop
        self.outboundQueueLimit = configuration.outboundQueueLimit
        self.stallTimeout = configuration.stallTimeout
        self.logger = logger
        self.control = ControlPlane(logger: logger)
        var rules = RuleSet(seed: configuration.seed)
        for rule in configuration.rules {
            // Checked by whoever configured the fabric (switchyardd stops on a bad rule); one
            // libpcap refuses here all the same is said, not dropped in silence.
            do {
                _ = try rules.add(rule)
            } catch {
                logger.error("rule not in force: \(rule): \(error.message)")
            }
        }
        let registry = ConnectionRegistry(maximumConnections: configuration.maximumConnections, bufferBudget: configuration.bufferBudget)
        self.registry = registry
        self.pipeline = SwitchingPipeline(
            core: FabricCore(maximumEndpointsPerConnection: configuration.maximumEndpointsPerConnection, firstAllocatedMAC: configuration.firstAllocatedMAC),
            rules: rules,
            destinations: registry,
            capture: capture.map(CaptureTap.init(session:)),
            clock: { MonotonicInstant(nanoseconds: Int64(truncatingIfNeeded: eventLoop.now.uptimeNanoseconds)) }
        )
        if let capture {
            let engine = NIOLoopBound(self, eventLoop: eventLoop)
            capture.ring.setOnSpace {
                eventLoop.execute { engine.value.captureHasRoom() }
            }
        }
    }

    var now: MonotonicInstant {
        self.pipeline.clock()
    }

    // MARK: - Connections

    /// Registers a new connection; nil when the fabric already serves its maximum.
    func register(_ connection: FabricConnection) -> ConnectionID? {
        guard let id = self.registry.insert(connection) else {
            // One line for the first refusal and then every 100th: a flood must not flood the log.
            if self.registry.connectionsRefused % 100 == 1 {
                self.logger.warning("refusing connections: \(self.registry.maximumConnections) already (switchyardd --max-connections)", metadata: ["refused": "\(self.registry.connectionsRefused)"])
            }
            return nil
        }
        self.pipeline.core.connectionOpened(id)
        return id
    }

    /// A connection has closed: its endpoints go. During phase 2's flushes, once they are done.
    func unregister(_ id: ConnectionID, drops: UInt64) {
        if self.isFlushing {
            self.closedDuringFlush.append((id, drops))
            return
        }
        self.registry.remove(id)
        let removed = self.pipeline.core.connectionClosed(id)
        for endpoint in removed {
            self.pipeline.rules.endpointGone(id: endpoint.id)
        }
        if let capture = self.pipeline.capture, !removed.isEmpty {
            let now = CaptureTimestamp.now()
            for endpoint in removed {
                capture.endpointClosed(id: endpoint.id, at: now)
            }
            self.commitCapture()
        }
        self.logger.debug(
            "connection closed",
            metadata: [
                "connection": "\(id.rawValue)",
                "endpoints": "\(removed.map { "\($0.id) \($0.name)" })",
                "dropped": "\(drops)",
            ]
        )
        if drops > 0 {
            self.logger.info("connection closed after frames to it were dropped", metadata: ["connection": "\(id.rawValue)", "dropped": "\(drops)"])
        }
    }

    /// Counts bytes held for a connection (positive) or released (negative) against the budget.
    @inline(__always)
    func adjustBuffered(by delta: Int) {
        if let transition = self.registry.adjustBuffered(by: delta) {
            self.budgetCrossed(transition)
        }
    }

    /// The rare slow path of `adjustBuffered`: entering or leaving the over-budget state.
    private func budgetCrossed(_ transition: BufferBudget.Transition) {
        switch transition {
        case .reached:
            self.logger.warning("buffer budget of \(self.registry.budget.limit / (1024 * 1024)) MiB reached: connections that are behind get no more frames (switchyardd --max-buffered-mb)")
        case .cleared:
            self.logger.info("buffered bytes back under budget")
        }
        self.reconsiderReadingOfAll()
    }

    func count(_ event: TransportEvent) {
        self.transportCounters.count(event)
    }

    // MARK: - Phase 1

    /// A read is about to be processed: phase 1 begins (or goes on, for the next read of the
    /// same wake-up).
    @inline(__always)
    func beginRead() {
        self.registry.isSwitching = true
        if self.pipeline.capture != nil {
            self.pipeline.readTimestamp = CaptureTimestamp.now()
        }
    }

    /// Finishes a pass that will get no `channelReadComplete` (NIO closes a channel whose read
    /// failed without one): a connection closes only outside phase 1.
    func endOfReadIfSwitching() {
        if self.registry.isSwitching {
            self.endOfRead()
        }
    }

    /// Checks the two-phase rule in debug builds: `what` (I/O) never happens in phase 1.
    @inline(__always)
    func assertNotSwitching(_ what: @autoclosure () -> String) {
        assert(!self.registry.isSwitching, "\(what()) in phase 1 of a read: I/O belongs to phase 2")
    }

    /// A frame from a transport that carries frames only (QEMU, VXLAN), sent by `endpoint`.
    func switchFrame(_ frame: ByteBuffer, endpoint: EndpointID, from connection: FabricConnection, offload: VirtioNetHeader? = nil) {
        if !frame.withUnsafeReadableBytes({ self.pipeline.switchFrame($0, version: ProtocolLimits.version, endpoint: endpoint, from: connection.id, offload: offload) }) {
            // Counted as the core counts a refused PACKET_OUT (the transport has no ERROR to send).
            self.process(Message(header: MessageHeader(type: .packetOut, endpointID: endpoint), payload: frame), from: connection)
        }
    }

    /// Handles one decoded message from `connection`.
    func process(_ message: Message, from connection: FabricConnection) {
        if message.header.type == .packetOut,
           message.payload.withUnsafeReadableBytes({
               self.pipeline.switchFrame($0, version: message.header.version, endpoint: message.header.endpointID, from: connection.id)
           }) {
            return
        }
        // Every PACKET_OUT that switches took the branch above, so nothing is delivered here.
        let outcome = self.pipeline.core.handle(message, from: connection.id) { _ in }
        switch outcome {
        case .switched:
            break
        case .reply(let reply):
            self.pipeline.capture?.discardDeliveries()
            connection.enqueueReply(reply)
        case .rejected(let rejection):
            connection.enqueueReply(rejection.message)
        case .endpointCreated(let endpoint):
            self.endpointAppeared(endpoint, kind: "v1 client")
            connection.enqueueReply(Message(.endpointCreated, json: endpoint.record))
        case .statisticsRequested:
            connection.enqueueReply(Message(.stats, json: self.statistics()))
        case .rulesRequested:
            connection.enqueueReply(self.control.answerRulesRequest(message, pipeline: self.pipeline))
        }
    }

    /// Makes an endpoint the fabric owns for a transport (a QEMU VM's, a VXLAN remote's):
    /// owned and subscribed by `connection`, as a v1 client's that subscribed would be. With
    /// `fallingBackToAllocated`, a MAC that cannot be an endpoint's (a group address, taken)
    /// gives way to an allocated one.
    func makeOwnedEndpoint(name: String, mac: MACAddress?, fallingBackToAllocated: Bool, owner connection: FabricConnection, kind: String) throws(Rejection) -> Endpoint {
        self.pipeline.core.welcome(connection.id)
        let endpoint: Endpoint
        do {
            endpoint = try self.pipeline.core.createEndpoint(name: name, mac: mac, owner: connection.id)
        } catch let rejection where fallingBackToAllocated && mac != nil && [.macInUse, .groupMAC].contains(rejection.code) {
            endpoint = try self.pipeline.core.createEndpoint(name: name, mac: nil, owner: connection.id)
        }
        self.pipeline.core.subscribe(connection.id, to: endpoint.id)
        self.endpointAppeared(endpoint, kind: kind)
        return endpoint
    }

    /// A new endpoint: the capture's manifest and the rules learn of it.
    private func endpointAppeared(_ endpoint: Endpoint, kind: String) {
        self.pipeline.capture?.endpointCreated(id: endpoint.id, name: endpoint.name, mac: endpoint.mac.description, kind: kind, at: self.pipeline.readTimestamp)
        self.pipeline.rules.endpointAppeared(id: endpoint.id, name: endpoint.name)
    }

    /// Queues ERROR for a connection whose framing broke.
    func reportFramingError(_ error: FramingError, on connection: FabricConnection) {
        connection.enqueueReply(FabricCore.errorMessage(error.description))
    }

    /// The read asks for `connection` to close in phase 2 (after its ERROR, if any, is
    /// flushed); `lingering` closes the output and the connection later.
    func closeAtEndOfRead(_ connection: FabricConnection, lingering: Bool) {
        self.closing.append((connection, lingering))
    }

    /// Flow control wants `connection`'s reading decided again: now outside phase 1, else in
    /// its phase 2.
    func reconsiderReading(of connection: FabricConnection) {
        if self.registry.isSwitching {
            self.reconsidering.append(connection)
        } else {
            connection.updateReading()
        }
    }

    private func reconsiderReadingOfAll() {
        self.registry.forEach { self.reconsiderReading(of: $0) }
    }

    // MARK: - Phase 2

    /// Phase 2: one write and flush per connection that got anything during the read; then
    /// what the read asked for; the read's frames go to the capture ring in one piece.
    func endOfRead() {
        self.registry.isSwitching = false
        self.isFlushing = true
        let touched = self.registry.takeTouched(reusing: &self.flushing)
        for connection in touched {
            connection.flushPending()
        }
        self.flushing = touched
        self.isFlushing = false
        if !self.closing.isEmpty {
            let closing = self.closing
            self.closing.removeAll(keepingCapacity: true)
            for (connection, lingering) in closing {
                if lingering {
                    connection.closeOutputAndLinger(FabricConnection.lingerAfterFramingError)
                } else {
                    _ = connection.close()
                }
            }
        }
        if !self.reconsidering.isEmpty {
            let reconsidering = self.reconsidering
            self.reconsidering.removeAll(keepingCapacity: true)
            for connection in reconsidering {
                connection.updateReading()
            }
        }
        if !self.closedDuringFlush.isEmpty {
            let closed = self.closedDuringFlush
            self.closedDuringFlush.removeAll()
            for (id, drops) in closed {
                self.unregister(id, drops: drops)
            }
        }
        if !self.loggedMACConflict, self.pipeline.core.statistics.macConflicts > 0, let conflict = self.pipeline.core.firstMACConflict {
            self.loggedMACConflict = true
            self.logger.warning(
                "\(conflict.sender) sent a frame from \(conflict.mac), the MAC of local endpoint \(conflict.owner): two fabrics joined by VXLAN allocate from one range? Give each its own (switchyardd --mac-start). Counted in STATS as mac_conflicts; logged once"
            )
        }
        self.commitCapture()
        self.scheduleDelayTimer()
    }

    /// Hands what the capture tap gathered to the ring; with the `block` policy a full ring
    /// stops reading every client (TCP backpressure) until the writer catches up.
    private func commitCapture() {
        if let capture = self.pipeline.capture, capture.commit(), !self.isCaptureBlocked {
            self.isCaptureBlocked = true
            self.logger.debug("capture ring full: pausing clients")
            self.reconsiderReadingOfAll()
        }
    }

    private func captureHasRoom() {
        guard self.isCaptureBlocked else { return }
        self.isCaptureBlocked = false
        self.reconsiderReadingOfAll()
    }

    /// One timer, for the earliest deadline on the delay line.
    private func scheduleDelayTimer() {
        guard let earliest = self.pipeline.delayLine.earliest else { return }
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

    /// The delay-line timer: its frames are a pass of their own.
    private func releaseHeldFrames() {
        self.delayTimer = nil
        self.delayTimerDeadline = nil
        self.registry.isSwitching = true
        self.pipeline.releaseHeldFrames(now: self.now)
        self.endOfRead()
    }

    // MARK: - Shutdown and STATS

    /// Closes every client connection (shutdown); returns when all have closed.
    func closeAllConnections() -> EventLoopFuture<Void> {
        let futures = self.registry.all.map { $0.close() }
        return EventLoopFuture.andAllComplete(futures, on: self.eventLoop)
    }

    func statistics() -> StatsReply {
        StatsBuilder(engine: self).reply()
    }
}

@available(*, unavailable)
extension FabricEngine: Sendable {}
