import NIOCore
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardWire

/// One open connection as the fabric sees it, whatever its transport: the frames and replies
/// pending for it, its flow control, and what it holds against the fabric's buffer budget.
///
/// The connection registry holds these; deliveries append to `pending` during a read's phase 1
/// and the engine flushes each touched connection once in phase 2 (see `FabricEngine`). Bytes
/// in are the business of its `FabricConnectionHandler`, which owns it.
final class FabricConnection {
    enum State {
        case idle
        case open
        /// Framing broke: ERROR queued, input discarded until close.
        case lingering
        case closed
    }

    /// After a framing error, how long the fabric keeps discarding input before it closes,
    /// so that the client reads the ERROR rather than a connection reset.
    static let lingerAfterFramingError: TimeAmount = .seconds(2)

    /// Room a batch reserves: the largest read and the largest message.
    static let pendingCapacity = FabricServer.maximumReadSize + ProtocolLimits.wireHeaderLength + ProtocolLimits.maximumFrameLength

    let engine: FabricEngine
    /// What goes ahead of each frame sent here.
    let header: FrameHeaderWriter
    /// Whether control replies can be sent (v1); other transports have none.
    let carriesReplies: Bool
    /// Whether offloaded frames go out as they are (a TAP device with virtio-net headers);
    /// else each is resolved into what a wire carries first (`OffloadResolver`).
    let acceptsOffloads: Bool
    /// The largest frame this transport can carry out: a larger one is dropped and counted
    /// for this connection, and the connection keeps working (a UDP datagram cannot hold a
    /// 65,549-byte frame; sending it would fail the channel's write).
    let maximumFrameLength: Int
    /// Writes each frame as it is delivered (a TAP device): such a connection's batch stays
    /// empty.
    let deviceWriter: TapDeviceWriter?
    var state = State.idle
    private(set) var context: ChannelHandlerContext?
    private(set) var id = ConnectionID(rawValue: 0)
    /// The half-received message its handler holds, as charged to the budget.
    private(set) var inboundBytes = 0
    /// Bytes handed to the channel and not yet written to the socket, as charged to the budget.
    private(set) var queuedBytes = 0
    /// Messages for this connection since the last flush.
    private var pending: OutboundBatch
    /// Set by the registry while this connection is in its touched list.
    var isTouched = false
    /// Holds, stalls and reading decisions (see `ConnectionFlowControl`); carried out by the
    /// FlowControl extension.
    var flow: ConnectionFlowControl
    var stallTimer: Scheduled<Void>?
    /// Frames dropped because they were over `maximumFrameLength` (also in `framesDropped`).
    private(set) var framesTooBig: UInt64 = 0

    var framesDropped: UInt64 { self.flow.framesDropped }
    var isStalled: Bool { self.flow.isStalled }
    var isOpen: Bool {
        if case .open = self.state { true } else { false }
    }

    init(
        engine: FabricEngine, allocator: ByteBufferAllocator, header: FrameHeaderWriter, carriesReplies: Bool, acceptsOffloads: Bool = false,
        maximumFrameLength: Int, deviceWriter: TapDeviceWriter? = nil
    ) {
        self.engine = engine
        self.deviceWriter = deviceWriter
        self.header = header
        self.carriesReplies = carriesReplies
        self.acceptsOffloads = acceptsOffloads
        self.maximumFrameLength = maximumFrameLength
        self.pending = OutboundBatch(allocator: allocator, reservedCapacity: Self.pendingCapacity)
        self.flow = ConnectionFlowControl(connection: ConnectionID(rawValue: 0), stallTimeout: engine.stallTimeout)
    }

    /// The channel is active: joins the fabric, or is refused with ERROR and closed.
    func open(context: ChannelHandlerContext) {
        guard case .idle = self.state else { return }
        self.context = context
        guard let id = self.engine.register(self) else {
            self.state = .closed
            var refusal = context.channel.allocator.buffer(capacity: 128)
            refusal.writeMessage(FabricCore.errorMessage("the fabric serves \(self.engine.registry.maximumConnections) connections already; try again later"))
            let channel = context.channel
            context.writeAndFlush(NIOAny(refusal)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        self.state = .open
        self.id = id
        self.flow = ConnectionFlowControl(connection: id, stallTimeout: self.engine.stallTimeout)
        self.engine.logger.debug("connection opened", metadata: ["connection": "\(id.rawValue)"])
    }

    /// The channel has gone: what it held leaves the budget and the fabric forgets it. Returns
    /// whether it was open (the transport's endpoint policy then has its say).
    func closed() -> Bool {
        switch self.state {
        case .open, .lingering:
            self.state = .closed
            self.deviceWriter?.invalidate()
            self.engine.adjustBuffered(by: -self.inboundBytes - self.pending.count)
            self.inboundBytes = 0
            self.pending.removeAll()
            self.perform(self.flow.closed())
            self.engine.unregister(self.id, drops: self.framesDropped)
            return true
        case .idle, .closed:
            self.state = .closed
            return false
        }
    }

    func detach() {
        self.context = nil
    }

    /// Charges the half-received message its handler holds now to the buffer budget.
    func chargeInbound(_ held: Int) {
        if held != self.inboundBytes {
            self.engine.adjustBuffered(by: held - self.inboundBytes)
            self.inboundBytes = held
        }
    }

    // MARK: - Phase 1: queueing, no I/O

    /// Appends a control reply. Replies are never dropped (transports without replies get none).
    func enqueueReply(_ message: Message) {
        guard case .open = self.state, self.carriesReplies else { return }
        let before = self.pending.count
        self.pending.appendMessage(message)
        self.engine.adjustBuffered(by: self.pending.count - before)
        self.engine.registry.markTouched(self)
    }

    /// Appends a frame for `endpoint`. Never waits: over the queue cap the frame is still
    /// queued but the sender is told to hold off, and once this connection is stalled the
    /// frame is dropped and counted. The flush is phase 2's. A TAP device's frame is written
    /// at once instead (`TapDeviceWriter`): it never waits, so it is never held or stalled.
    @inline(__always)
    func enqueuePacketIn(endpoint: EndpointID, flags: MessageFlags, frame: UnsafeRawBufferPointer, offload: VirtioNetHeader? = nil) -> EnqueueResult {
        if let offload, !self.acceptsOffloads {
            return self.enqueueResolved(endpoint: endpoint, flags: flags, frame: frame, offload: offload)
        }
        guard case .open = self.state else {
            self.flow.countDropped()
            return .dropped
        }
        guard frame.count <= self.maximumFrameLength else {
            self.refuseTooBig(frame.count)
            return .dropped
        }
        if let writer = self.deviceWriter {
            writer.write(frame, offload: offload?.words ?? (0, 0))
            return .written
        }
        let hasRoom = self.flow.isWritable && self.pending.count < self.engine.outboundQueueLimit
        let refused = self.engine.registry.budget.refuses(backlog: self.queuedBytes + self.pending.count)
        let admission = self.flow.admit(hasRoom: hasRoom, refusedByBudget: refused)
        if case .drop = admission {
            return .dropped
        }
        let before = self.pending.count
        self.pending.appendFrame(frame, header: self.header, endpoint: endpoint, flags: flags, offload: offload?.words ?? (0, 0))
        self.engine.adjustBuffered(by: self.pending.count - before)
        return admission == .queue ? .queued : .queuedOverCap
    }

    /// The rare path of `enqueuePacketIn`: an offloaded frame for a connection that takes
    /// none goes as the segments (or the checksummed frame) a wire would carry; one the
    /// resolver cannot handle is dropped and counted.
    @inline(never)
    private func enqueueResolved(endpoint: EndpointID, flags: MessageFlags, frame: UnsafeRawBufferPointer, offload: VirtioNetHeader) -> EnqueueResult {
        var result = EnqueueResult.dropped
        let resolved = self.engine.offloadResolver.resolve(frame, header: offload) { segment in
            switch self.enqueuePacketIn(endpoint: endpoint, flags: flags, frame: segment) {
            case .queued where result == .dropped: result = .queued
            case .queuedOverCap: result = .queuedOverCap
            default: break
            }
        }
        if !resolved {
            self.engine.count(.offloadUnresolved)
            self.flow.countDropped()
        }
        return result
    }

    enum EnqueueResult {
        case queued
        /// Written already (a TAP device): nothing to flush.
        case written
        /// Queued past the cap: the sender should pause until this connection drains.
        case queuedOverCap
        case dropped
    }

    /// The rare path of `enqueuePacketIn`: a frame this transport cannot carry.
    private func refuseTooBig(_ length: Int) {
        self.flow.countDropped()
        self.framesTooBig &+= 1
        if self.framesTooBig == 1 {
            self.engine.logger.notice(
                "a \(length)-byte frame is over this connection's limit of \(self.maximumFrameLength) bytes: dropped and counted in its STATS entry (logged once per connection)",
                metadata: ["connection": "\(self.id.rawValue)"]
            )
        }
    }

    // MARK: - Phase 2: I/O

    /// Writes and flushes what is pending, once per read.
    func flushPending() {
        self.engine.assertNotSwitching("a flush")
        guard self.pending.count > 0, let context = self.context else { return }
        let batch = self.pending.take()
        let size = batch.readableBytes
        // Already counted against the budget when appended; now it waits for the socket.
        self.queuedBytes += size
        // No promise for the batch: a promise and its future cost more than the rest of a
        // flush, and almost always the socket takes the whole batch before `writeAndFlush`
        // returns, which the channel's count of buffered bytes says.
        context.writeAndFlush(NIOAny(batch), promise: nil)
        if Self.holdsNothing(context.channel) {
            self.written(size)
            return
        }
        // The socket took only part (or the channel cannot say). A zero-length write
        // completes when everything ahead of it has been written or failed: that is when
        // these bytes leave the budget.
        let connection = NIOLoopBound(self, eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(NIOAny(self.pending.emptyBuffer), promise: promise)
        promise.futureResult.whenComplete { _ in
            connection.value.written(size)
        }
    }

    /// Whether `channel` has written everything it was given; false when it cannot tell
    /// (a test's channel, or closed: its pending writes fail, and so does the zero-length write
    /// after them).
    private static func holdsNothing(_ channel: any Channel) -> Bool {
        guard let options = channel.syncOptions,
              let buffered = try? options.getOption(ChannelOptions.bufferedWritableBytes) else {
            return false
        }
        return buffered == 0
    }

    /// `size` bytes of this connection's output are out of the fabric's hands.
    private func written(_ size: Int) {
        self.queuedBytes -= size
        self.engine.adjustBuffered(by: -size)
    }

    /// Phase 2 of a read whose framing broke: the ERROR is flushed; the output closes, and the
    /// connection after `linger` (so that the client reads the ERROR, not a reset).
    func closeOutputAndLinger(_ linger: TimeAmount) {
        self.engine.assertNotSwitching("a close")
        guard let context = self.context else { return }
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: linger) {
            channel.close(promise: nil)
        }
    }

    /// Closes the connection; the future completes when it has closed.
    func close() -> EventLoopFuture<Void> {
        self.engine.assertNotSwitching("a close")
        guard let context = self.context else {
            return self.engine.eventLoop.makeSucceededVoidFuture()
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(promise: promise)
        return promise.futureResult.recover { _ in }
    }
}

@available(*, unavailable)
extension FabricConnection: Sendable {}
