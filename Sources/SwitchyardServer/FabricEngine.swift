import Logging
import NIOCore
import SwitchyardCapture
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules
import SwitchyardWire

/// Runs the `FabricCore` on the fabric's one event loop and carries out what it decides.
///
/// Every connection handler lives on the same loop, so the core needs no locks and frames are
/// switched in exactly the order they were read. Deliveries are appended to each destination's
/// pending batch; `endOfRead()` writes every touched connection once and hands the read's
/// frames to the capture stage.
final class FabricEngine {
    var core: FabricCore
    private var handlers = ConnectionTable()
    private var touched: [FabricConnectionHandler] = []
    /// A delivery is under way: its destination is not retained, so the connection table
    /// must keep removed handlers (see `ConnectionTable`).
    private var isDelivering = false
    /// The core is in the middle of switching a frame (it calls back for each delivery): a
    /// connection a delivery closed (its write failed) is taken out of the core only after.
    private var isSwitching = false
    private var closedWhileSwitching: [(id: ConnectionID, drops: UInt64)] = []
    private var nextConnection: UInt64 = 1
    let outboundQueueLimit: Int
    let stallTimeout: Duration
    let logger: Logger
    let eventLoop: any EventLoop
    let capture: CaptureTap?
    /// `capture` for the per-frame call, not retained: a retain and a release per frame for a
    /// tap that `capture` keeps for the engine's whole life.
    private let unretainedCapture: Unmanaged<CaptureTap>?
    /// `--capture-points both`: deliveries are recorded as well (one test per delivery otherwise).
    let recordsDeliveries: Bool
    /// What a rule did to the delivery being made, for its capture record's comment.
    var deliveryNote: String?
    /// When the current read's frames arrived (one clock read per read, taken only when capturing).
    var readTimestamp = CaptureTimestamp(seconds: 0, nanoseconds: 0)
    /// The capture ring is full (`block` policy): no connection is read until it has room.
    private(set) var isCaptureBlocked = false
    private(set) var framesDelivered: UInt64 = 0
    private(set) var framesDropped: UInt64 = 0

    // Rules (see FabricEngine+Rules.swift).
    var rules: RuleSet
    /// `!rules.isEmpty`, kept apart (set wherever the rules change): the one test a frame pays
    /// when no rule is in force.
    var rulesInForce = false
    var delayLine = DelayLine()
    var delayTimer: Scheduled<Void>?
    var delayTimerDeadline: MonotonicInstant?
    /// Counts frames while rules are in force (a rule's BPF result is per frame).
    var frameNumber: UInt64 = 0
    /// Mirror and redirect deliveries of the current frame, carried out once the core is done.
    var retargeted: [Retarget] = []
    /// While rules are in force: the endpoints the current frame was delivered (or held) for,
    /// so that a mirror or redirect does not give one of them a second copy.
    var reachedThisFrame: [UInt32] = []
    var framesDroppedByRules: UInt64 = 0
    /// What QEMU ports refused: frames of length 0 or over the limit, halves at disconnect.
    var qemuFramesRefused: UInt64 = 0
    /// The VXLAN uplinks, if any (their counters are in STATS).
    var vxlanPort: VXLANPort?

    let maximumConnections: Int
    /// Bytes held for all connections: written but not yet sent, and half-received messages.
    private(set) var budget: BufferBudget
    private var connectionsRefused = 0
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
        self.maximumConnections = configuration.maximumConnections
        self.budget = BufferBudget(limit: configuration.bufferBudget)
        self.rules = RuleSet(seed: configuration.seed)
        for rule in configuration.rules {
            // Checked by whoever configured the fabric (switchyardd stops on a bad rule); one
            // libpcap refuses here all the same is said, not dropped in silence.
            do {
                _ = try self.rules.add(rule)
            } catch {
                logger.error("rule not in force: \(rule): \(error.message)")
            }
        }
        self.rulesInForce = !self.rules.isEmpty
        self.core = FabricCore(maximumEndpointsPerConnection: configuration.maximumEndpointsPerConnection, firstAllocatedMAC: configuration.firstAllocatedMAC)
        self.logger = logger
        self.capture = capture.map(CaptureTap.init(session:))
        self.unretainedCapture = self.capture.map(Unmanaged.passUnretained)
        self.recordsDeliveries = self.capture?.recordsDeliveries ?? false
        self.touched.reserveCapacity(64)
        if let capture {
            let engine = NIOLoopBound(self, eventLoop: eventLoop)
            capture.ring.setOnSpace {
                eventLoop.execute { engine.value.captureHasRoom() }
            }
        }
    }

    /// Registers a new connection; nil when the fabric already serves its maximum.
    func register(_ handler: FabricConnectionHandler) -> ConnectionID? {
        guard self.handlers.count < self.maximumConnections else {
            self.connectionsRefused += 1
            // One line for the first refusal and then every 100th: a flood must not flood the log.
            if self.connectionsRefused % 100 == 1 {
                self.logger.warning("refusing connections: \(self.maximumConnections) already (switchyardd --max-connections)", metadata: ["refused": "\(self.connectionsRefused)"])
            }
            return nil
        }
        let id = ConnectionID(rawValue: self.nextConnection)
        self.nextConnection += 1
        self.core.connectionOpened(id)
        self.handlers.insert(handler, for: id)
        return id
    }

    func unregister(_ id: ConnectionID, drops: UInt64) {
        if self.isSwitching {
            self.closedWhileSwitching.append((id, drops))
            return
        }
        self.handlers.remove(id)
        let removed = self.core.connectionClosed(id)
        for endpoint in removed {
            self.rules.endpointGone(id: endpoint.id)
        }
        if let capture = self.capture, !removed.isEmpty {
            let now = CaptureTimestamp.now()
            for endpoint in removed {
                capture.endpointClosed(id: endpoint.id, at: now)
            }
            self.endOfRead()
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

    /// The handler of a connection, if it is still open.
    func handler(for connection: ConnectionID) -> FabricConnectionHandler? {
        self.handlers[connection]
    }

    /// Counts bytes held for a connection (positive) or released (negative) against the budget.
    @inline(__always)
    func adjustBuffered(by delta: Int) {
        if let transition = self.budget.adjust(by: delta) {
            self.budgetCrossed(transition)
        }
    }

    /// The rare slow path of `adjustBuffered`: entering or leaving the over-budget state.
    private func budgetCrossed(_ transition: BufferBudget.Transition) {
        switch transition {
        case .reached:
            self.logger.warning("buffer budget of \(self.budget.limit / (1024 * 1024)) MiB reached: connections that are behind get no more frames (switchyardd --max-buffered-mb)")
        case .cleared:
            self.logger.info("buffered bytes back under budget")
        }
        self.updateReadingOfAll()
    }

    /// A read is about to be processed.
    @inline(__always)
    func beginRead() {
        if self.capture != nil {
            self.readTimestamp = CaptureTimestamp.now()
        }
    }

    /// Handles one decoded message from `handler`'s connection.
    func process(_ message: Message, from handler: FabricConnectionHandler) {
        if message.header.type == .packetOut,
           message.payload.withUnsafeReadableBytes({
               self.switchFrame($0, version: message.header.version, endpoint: message.header.endpointID, from: handler)
           }) {
            return
        }
        // Every PACKET_OUT that switches took the branch above, so nothing is delivered here.
        let outcome = self.core.handle(message, from: handler.id) { _ in }
        switch outcome {
        case .switched:
            break
        case .reply(let reply):
            self.capture?.discardDeliveries()
            handler.enqueueReply(reply)
            self.markTouched(handler)
        case .rejected(let rejection):
            handler.enqueueReply(rejection.message)
            self.markTouched(handler)
        case .endpointCreated(let endpoint):
            self.endpointAppeared(endpoint)
            handler.enqueueReply(Message(.endpointCreated, json: endpoint.record))
            self.markTouched(handler)
        case .statisticsRequested:
            handler.enqueueReply(Message(.stats, json: self.statistics()))
            self.markTouched(handler)
        case .rulesRequested:
            handler.enqueueReply(self.rulesRequest(message))
            self.markTouched(handler)
        }
    }

    /// Switches the PACKET_OUTs at the front of `bytes` (a v1 read) in place, without making a
    /// `Message` or a `ByteBuffer` for them, and returns how many bytes they took. It stops at
    /// the first message that is not a PACKET_OUT the fabric switches as it is, and at a
    /// message not wholly read yet: the decoder takes it from there, with every check and
    /// ERROR of the protocol.
    @inline(__always)
    func switchPacketOuts(in bytes: UnsafeRawBufferPointer, from handler: FabricConnectionHandler) -> Int {
        let header = ProtocolLimits.wireHeaderLength
        let packetOut = MessageType.packetOut.rawValue
        var offset = 0
        while bytes.count - offset >= header {
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            let type = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            guard type == packetOut, length >= ProtocolLimits.headerLength,
                  bytes.count - offset - 4 >= length
            else { break }
            let version = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))
            let endpointID = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
            let frame = UnsafeRawBufferPointer(start: bytes.baseAddress! + offset + header, count: length - ProtocolLimits.headerLength)
            guard self.switchFrame(frame, version: version, endpoint: endpointID, from: handler) else {
                break
            }
            offset += 4 + length
        }
        return offset
    }

    /// The QEMU stream framing's counterpart of `switchPacketOuts`: the whole frames at the
    /// front of `bytes` from a VM whose endpoint is `endpoint`. Stops at a length the fabric
    /// refuses or cannot be QEMU's, and at a frame not wholly read: the decoder counts or
    /// refuses it.
    @inline(__always)
    func switchQEMUFrames(in bytes: UnsafeRawBufferPointer, endpoint: EndpointID, from handler: FabricConnectionHandler) -> Int {
        let header = QEMUStreamFraming.headerLength
        var offset = 0
        while bytes.count - offset >= header {
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            guard bytes.count - offset - header >= length,
                  self.switchFrame(UnsafeRawBufferPointer(start: bytes.baseAddress! + offset + header, count: length), version: ProtocolLimits.version, endpoint: endpoint, from: handler)
            else { break }
            offset += header + length
        }
        return offset
    }

    /// A frame from a transport that carries frames only (QEMU, VXLAN), sent by `endpoint`.
    func switchTransportFrame(_ frame: ByteBuffer, endpoint: EndpointID, from handler: FabricConnectionHandler) {
        if !frame.withUnsafeReadableBytes({ self.switchFrame($0, version: ProtocolLimits.version, endpoint: endpoint, from: handler) }) {
            // Counted as the core counts a refused PACKET_OUT (the transport has no ERROR to send).
            self.process(Message(header: MessageHeader(type: .packetOut, endpointID: endpoint), payload: frame), from: handler)
        }
    }

    /// Switches one frame sent by endpoint `endpoint` where it lies (in the read buffer, or a
    /// frame of another transport) when the core switches it as it is (see
    /// `FabricCore.switchPacketOut`): appends each delivery to its destination's batch and
    /// records the frame. False, with nothing done, when the message must be answered instead.
    /// Nothing here keeps `frame`: what must outlive the read (a delayed, mirrored or
    /// redirected frame) is copied by the rules' path.
    @inline(__always)
    func switchFrame(_ frame: UnsafeRawBufferPointer, version: UInt16, endpoint: EndpointID, from handler: FabricConnectionHandler) -> Bool {
        // One test per frame when no rule is in force; with rules, one cheap index test per
        // delivery before any rule is tried.
        let ruled = self.rulesInForce
        if ruled {
            self.frameNumber &+= 1
        }
        self.isSwitching = true
        let route = self.core.switchPacketOut(version: version, endpointID: endpoint, frame: frame, from: handler.id) { delivery in
            if ruled {
                self.reachedThisFrame.append(delivery.endpoint)
                if self.rules.applies(sender: endpoint, destination: delivery.endpoint) {
                    self.deliverUnderRules(delivery, sender: endpoint, frame: frame, from: handler)
                    return
                }
            }
            self.deliver(delivery, frame, from: handler)
        }
        self.isSwitching = false
        guard route != nil else {
            if ruled {
                self.frameNumber &-= 1
            }
            return false
        }
        if !self.retargeted.isEmpty {
            self.deliverRetargeted(from: handler)
        }
        if ruled {
            self.reachedThisFrame.removeAll(keepingCapacity: true)
        }
        if let capture = self.unretainedCapture {
            let timestamp = self.readTimestamp
            capture._withUnsafeGuaranteedRef { $0.record(frame, timestamp: timestamp, sender: endpoint) }
        }
        if !self.closedWhileSwitching.isEmpty {
            self.unregisterClosedWhileSwitching()
        }
        return true
    }

    private func unregisterClosedWhileSwitching() {
        let closed = self.closedWhileSwitching
        self.closedWhileSwitching.removeAll()
        for connection in closed {
            self.unregister(connection.id, drops: connection.drops)
        }
    }

    /// One PACKET_IN to `delivery`'s connection, with flow control: a destination over its
    /// cap holds `sender` (nil for a frame a rule held back: its sender is not waiting).
    @inline(__always)
    func deliver(_ delivery: Delivery, _ frame: UnsafeRawBufferPointer, from sender: FabricConnectionHandler?) {
        guard let handler = self.handlers.unretained(delivery.connection) else { return }
        self.isDelivering = true
        handler._withUnsafeGuaranteedRef { destination in
            if self.recordsDeliveries, sender != nil, let capture = self.capture {
                capture.recordDelivery(frame, timestamp: self.readTimestamp, receiver: delivery.endpoint, note: self.deliveryNote)
            }
            switch destination.enqueuePacketIn(endpoint: delivery.endpoint, flags: delivery.flags, frame: frame) {
            case .queued:
                self.framesDelivered &+= 1
                self.markTouched(destination)
            case .queuedOverCap:
                self.framesDelivered &+= 1
                self.markTouched(destination)
                if let sender {
                    destination.hold(sender)
                }
            case .dropped:
                self.framesDropped &+= 1
            }
        }
        self.isDelivering = false
    }

    /// A new endpoint: the capture's manifest and the rules learn of it.
    private func endpointAppeared(_ endpoint: Endpoint, kind: String = "v1 client") {
        self.capture?.endpointCreated(id: endpoint.id, name: endpoint.name, mac: endpoint.mac.description, kind: kind, at: self.readTimestamp)
        self.rules.endpointAppeared(id: endpoint.id, name: endpoint.name)
    }

    /// Makes the endpoint of a QEMU port's VM (owned by its connection, as a v1 client's
    /// endpoints are), named by the port and with the VM's MAC when that MAC can be an
    /// endpoint's (not a group address, not taken); else with an allocated one, and the VM's
    /// MAC is learned as any source MAC is. nil when the fabric refuses (its limits).
    func attachPortEndpoint(port: QEMUPort, mac: MACAddress?, connection handler: FabricConnectionHandler) -> (id: UInt32, name: String)? {
        self.core.welcome(handler.id)
        let name = port.claimName { self.core.endpoint(named: $0) != nil }
        let endpoint: Endpoint
        do {
            do {
                endpoint = try self.core.createEndpoint(name: name, mac: mac, owner: handler.id)
            } catch let rejection where [.macInUse, .groupMAC].contains(rejection.code) {
                endpoint = try self.core.createEndpoint(name: name, mac: nil, owner: handler.id)
            }
        } catch {
            port.release(name)
            self.logger.warning("cannot make the VM's endpoint", metadata: ["port": "\(port.address)", "reason": "\(error)"])
            return nil
        }
        // The port receives its endpoint's frames, as a v1 client that subscribed would.
        self.core.subscribe(handler.id, to: endpoint.id)
        self.endpointAppeared(endpoint, kind: "QEMU port")
        return (endpoint.id, endpoint.name)
    }

    /// Makes one uplink endpoint per VXLAN remote, owned by the VXLAN socket's connection,
    /// subscribed by it, and marked for split horizon.
    func attachUplinks(_ port: VXLANPort, connection handler: FabricConnectionHandler) {
        self.vxlanPort = port
        self.core.welcome(handler.id)
        for (index, remote) in port.remotes.enumerated() {
            let endpoint: Endpoint
            do {
                endpoint = try self.core.createEndpoint(name: remote.name, mac: nil, owner: handler.id)
            } catch {
                self.logger.error("cannot make the VXLAN remote's endpoint", metadata: ["remote": "\(remote.name)", "reason": "\(error)"])
                continue
            }
            self.core.subscribe(handler.id, to: endpoint.id)
            self.core.markUplink(endpoint.id)
            port.setEndpoint(endpoint.id, forRemote: index)
            self.endpointAppeared(endpoint, kind: "VXLAN remote")
        }
    }

    /// Queues ERROR for a connection whose framing broke.
    func reportFramingError(_ error: FramingError, on handler: FabricConnectionHandler) {
        handler.enqueueReply(FabricCore.errorMessage(error.description))
        self.markTouched(handler)
    }

    @inline(__always)
    func markTouched(_ handler: FabricConnectionHandler) {
        if !handler.isTouched {
            handler.isTouched = true
            self.touched.append(handler)
        }
    }

    /// One write and flush per connection that got anything during this read; the read's
    /// frames go to the capture ring in one piece.
    func endOfRead() {
        for handler in self.touched {
            handler.isTouched = false
            handler.flushPending()
        }
        self.touched.removeAll(keepingCapacity: true)
        if !self.loggedMACConflict, self.core.statistics.macConflicts > 0, let conflict = self.core.firstMACConflict {
            self.loggedMACConflict = true
            self.logger.warning(
                "\(conflict.sender) sent a frame from \(conflict.mac), the MAC of local endpoint \(conflict.owner): two fabrics joined by VXLAN allocate from one range? Give each its own (switchyardd --mac-start). Counted in STATS as mac_conflicts; logged once"
            )
        }
        if !self.isDelivering {
            self.handlers.releaseRetired()
        }
        if let capture = self.capture, capture.commit(), !self.isCaptureBlocked {
            // Lossless recording: stop reading every client (TCP backpressure) until the
            // writer catches up.
            self.isCaptureBlocked = true
            self.logger.debug("capture ring full: pausing clients")
            self.updateReadingOfAll()
        }
    }

    private func captureHasRoom() {
        guard self.isCaptureBlocked else { return }
        self.isCaptureBlocked = false
        self.updateReadingOfAll()
    }

    private func updateReadingOfAll() {
        self.handlers.forEach { $0.updateReading() }
    }

    /// Closes every client connection (shutdown); returns when all have closed.
    func closeAllConnections() -> EventLoopFuture<Void> {
        let futures = self.handlers.all.map { $0.close() }
        return EventLoopFuture.andAllComplete(futures, on: self.eventLoop)
    }

    func statistics() -> StatsReply {
        let core = self.core.statistics
        let captureStatistics = self.capture.map { tap -> StatsReply.Capture in
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
            framesDelivered: self.framesDelivered,
            framesDropped: self.framesDropped,
            framesRejected: core.framesRejected,
            endpoints: self.core.allEndpoints.count,
            connections: self.handlers.all.map {
                StatsReply.Connection(id: $0.id.rawValue, dropped: $0.framesDropped, stalled: $0.isStalled, tooBig: $0.framesTooBig > 0 ? $0.framesTooBig : nil)
            },
            capture: captureStatistics
        )
        reply.seed = self.rules.seed
        reply.rules = self.ruleEntries
        reply.framesDroppedByRules = self.framesDroppedByRules
        reply.qemuFramesRefused = self.qemuFramesRefused
        reply.vxlanDatagramsRefused = self.vxlanPort?.datagramsRefused
        reply.vxlanFramesTooBig = self.vxlanPort?.framesTooBig
        reply.macConflicts = core.macConflicts
        reply.bufferedBytes = self.budget.bufferedBytes
        reply.bufferBudget = self.budget.limit
        return reply
    }
}
