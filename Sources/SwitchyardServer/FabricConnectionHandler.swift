import NIOCore
import SwitchyardFabric
import SwitchyardWire

/// Adapts one connection that carries frames to the `FabricEngine`: decodes every message of a
/// read in a loop, hands each to the engine, and keeps the connection's pending outbound batch.
///
/// Transports differ only in framing (`Transport`): a v1 client speaks the whole protocol; a
/// QEMU port carries frames only (4-byte length + frame; datagrams are adapted to that), and
/// its endpoint is made by the fabric. Switching, flow control, capture, rules and stats are
/// the same for all.
///
/// No protocol logic lives here; the core decides, this moves bytes. Flow control between
/// connections is in `FabricConnectionHandler+FlowControl.swift`.
final class FabricConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// After a framing error, how long the fabric keeps discarding input before it closes,
    /// so that the client reads the ERROR rather than a connection reset.
    static let lingerAfterFramingError: TimeAmount = .seconds(2)

    /// Pending output written before the end of the read once it reaches this size: the
    /// largest read, so that one read's frames to one destination leave in one write (at half
    /// of it, small frames took two writes per read).
    static let earlyFlushSize = FabricServer.maximumReadSize
    static let pendingCapacity = earlyFlushSize + ProtocolLimits.wireHeaderLength + ProtocolLimits.maximumFrameLength

    enum State {
        case idle
        case open
        /// Framing broke: ERROR sent, output closed, input discarded until close.
        case lingering
        case closed
    }

    /// What the bytes on this connection are.
    enum Transport {
        /// Protocol v1: messages with headers, control requests and replies.
        case v1
        /// A QEMU NIC: frames only; the port names the endpoint.
        case qemu(QEMUPort)
        /// VXLAN uplinks: one endpoint per remote, frames tagged with it (after the adapter).
        case vxlan(VXLANPort)
    }

    let engine: FabricEngine
    let transport: Transport
    /// `transport` is a QEMU port: kept as a plain flag for the per-frame paths (switching on
    /// the enum retains and releases its port).
    let isQEMU: Bool
    let isVXLAN: Bool
    /// The QEMU port endpoint's id, apart from its name for the same reason.
    var qemuEndpointID: UInt32?
    /// A QEMU port's endpoint, once its first frame has made it.
    var qemuEndpoint: (id: UInt32, name: String)?
    private(set) var state = State.idle
    private(set) var context: ChannelHandlerContext?
    private(set) var id = ConnectionID(rawValue: 0)
    /// Bytes received that do not yet make a whole message.
    private var inbound: ByteBuffer?
    /// Their count, as charged to the fabric's buffer budget.
    private(set) var inboundBytes = 0
    /// Bytes handed to the channel and not yet written to the socket, as charged to the budget.
    private(set) var queuedBytes = 0
    /// Messages for this connection since the last flush.
    private var pending: OutboundBatch
    /// What goes ahead of each frame sent on this connection.
    private let framing: OutboundBatch.Framing
    /// Set by the engine while this handler is in its touched list.
    var isTouched = false
    /// Holds, stalls and reading decisions (see `ConnectionFlowControl`); carried out by the
    /// FlowControl extension.
    var flow: ConnectionFlowControl
    var stallTimer: Scheduled<Void>?

    var framesDropped: UInt64 { self.flow.framesDropped }
    var isStalled: Bool { self.flow.isStalled }
    /// The largest frame this transport can carry out: a larger one is dropped and counted
    /// for this connection, and the connection keeps working (a UDP datagram cannot hold a
    /// 65,549-byte frame; sending it would fail the channel's write).
    let maximumFrameLength: Int
    /// Frames dropped because they were over `maximumFrameLength` (also in `framesDropped`).
    private(set) var framesTooBig: UInt64 = 0

    init(engine: FabricEngine, allocator: ByteBufferAllocator, transport: Transport = .v1, maximumFrameLength: Int = ProtocolLimits.maximumFrameLength) {
        self.engine = engine
        self.transport = transport
        self.maximumFrameLength = maximumFrameLength
        if case .qemu = transport {
            self.isQEMU = true
        } else {
            self.isQEMU = false
        }
        if case .vxlan = transport {
            self.isVXLAN = true
        } else {
            self.isVXLAN = false
        }
        self.framing = self.isQEMU ? .qemu : self.isVXLAN ? .vxlan : .packetIn
        self.pending = OutboundBatch(allocator: allocator, reservedCapacity: Self.pendingCapacity)
        self.flow = ConnectionFlowControl(connection: ConnectionID(rawValue: 0), stallTimeout: engine.stallTimeout)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            self.activate()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.activate()
        context.fireChannelActive()
    }

    private func activate() {
        guard case .idle = self.state, let context = self.context else { return }
        guard let id = self.engine.register(self) else {
            self.state = .closed
            var refusal = context.channel.allocator.buffer(capacity: 128)
            refusal.writeMessage(FabricCore.errorMessage("the fabric serves \(self.engine.maximumConnections) connections already; try again later"))
            let channel = context.channel
            context.writeAndFlush(self.wrapOutboundOut(refusal)).whenComplete { _ in channel.close(promise: nil) }
            return
        }
        self.state = .open
        self.id = id
        self.flow = ConnectionFlowControl(connection: id, stallTimeout: self.engine.stallTimeout)
        self.engine.logger.debug("connection opened", metadata: ["connection": "\(self.id.rawValue)"])
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deactivate()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deactivate()
        self.context = nil
    }

    private func deactivate() {
        switch self.state {
        case .open, .lingering:
            self.state = .closed
            if case .qemu(let port) = self.transport {
                if self.inboundBytes > 0 {
                    self.engine.qemuFramesRefused &+= 1
                }
                if self.inboundBytes > 0, port.halfFrameAtClose() {
                    self.engine.logger.notice("a VM left in the middle of a frame: its half is discarded (counted)", metadata: ["port": "\(port.address)"])
                }
                if let endpoint = self.qemuEndpoint {
                    port.release(endpoint.name)
                    self.engine.logger.info("VM disconnected", metadata: ["endpoint": "\(endpoint.name)"])
                }
            }
            self.engine.adjustBuffered(by: -self.inboundBytes - self.pending.count)
            self.inboundBytes = 0
            self.pending.removeAll()
            self.perform(self.flow.closed())
            self.engine.unregister(self.id, drops: self.framesDropped)
        case .idle, .closed:
            self.state = .closed
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard case .open = self.state else { return }
        var buffer = self.unwrapInboundIn(data)
        self.engine.beginRead()
        if var carried = self.inbound {
            // Complete the message the last read ended in with only the bytes it lacks, then
            // go on in this read's own buffer: appending the whole read to it would copy it.
            self.inbound = nil
            while buffer.readableBytes > 0 {
                let missing = self.bytesMissing(from: carried)
                guard missing > 0 else { break }
                var piece = buffer.readSlice(length: min(missing, buffer.readableBytes))!
                carried.writeBuffer(&piece)
            }
            guard self.handleMessages(in: &carried, context: context), case .open = self.state else { return }
            if carried.readableBytes > 0 {
                // Still not whole: this read was part of it.
                self.inbound = carried
                self.updateInboundBytes()
                return
            }
        }
        // A write during the read may have closed the connection: then nothing is kept or charged.
        guard self.handleMessages(in: &buffer, context: context), case .open = self.state else { return }
        if buffer.readableBytes > 0 {
            // Only the partial message is kept, in a buffer of its own: holding the read's
            // buffer would keep it from NIO's pool of receive buffers.
            var partial = context.channel.allocator.buffer(capacity: max(buffer.readableBytes, 256))
            partial.writeBuffer(&buffer)
            self.inbound = partial
        }
        self.updateInboundBytes()
    }

    /// Bytes `partial` (the start of a message or QEMU frame) lacks to be whole; 0 when it is
    /// whole, or when its length is one the decoder refuses (it reports that).
    private func bytesMissing(from partial: ByteBuffer) -> Int {
        guard let length = partial.getInteger(at: partial.readerIndex, as: UInt32.self) else {
            return 4 - partial.readableBytes
        }
        if self.isQEMU {
            guard Int(length) <= QEMUStreamFraming.maximumLength else { return 0 }
        } else {
            guard length >= ProtocolLimits.headerLength, length <= ProtocolLimits.maximumMessageLength else { return 0 }
        }
        return max(0, 4 + Int(length) - partial.readableBytes)
    }

    /// Handles every whole message (or frame) at the front of `buffer`; false when the
    /// connection was closed or broke its framing (nothing more is read from it).
    private func handleMessages(in buffer: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        if self.isQEMU, case .qemu(let port) = self.transport {
            return self.readQEMUFrames(&buffer, port: port, context: context)
        }
        if self.isVXLAN, case .vxlan(let port) = self.transport {
            // Whole frames only: the adapter makes one item per datagram.
            while let remote = buffer.readInteger(as: UInt32.self), let length = buffer.readInteger(as: UInt32.self),
                  let frame = buffer.readSlice(length: Int(length)) {
                guard let endpoint = port.remotes[Int(remote)].endpointID else { continue }
                self.engine.switchTransportFrame(frame, endpoint: endpoint, from: self)
            }
            return true
        }
        do {
            // PACKET_OUTs switch where they lie in the read buffer; anything else (control,
            // or a PACKET_OUT the fabric answers with ERROR) is decoded into a `Message`.
            while true {
                let switched = buffer.withUnsafeReadableBytes { self.engine.switchPacketOuts(in: $0, from: self) }
                buffer.moveReaderIndex(forwardBy: switched)
                guard let message = try MessageDecoder.decodeMessage(from: &buffer) else { break }
                self.engine.process(message, from: self)
            }
            return true
        } catch {
            self.engine.reportFramingError(error, on: self)
            self.startLingering(context: context)
            return false
        }
    }

    /// Charges the half-received message held now to the fabric's buffer budget.
    private func updateInboundBytes() {
        let held = self.inbound?.readableBytes ?? 0
        if held != self.inboundBytes {
            self.engine.adjustBuffered(by: held - self.inboundBytes)
            self.inboundBytes = held
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.engine.endOfRead()
        self.updateReading()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.perform(self.flow.writabilityChanged(context.channel.isWritable, now: self.now))
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.engine.logger.debug("connection error", metadata: ["connection": "\(self.id.rawValue)", "error": "\(error)"])
        context.close(promise: nil)
    }

    private func startLingering(context: ChannelHandlerContext) {
        self.state = .lingering
        self.inbound = nil
        self.engine.endOfRead()
        context.close(mode: .output, promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: Self.lingerAfterFramingError) {
            channel.close(promise: nil)
        }
    }

    // MARK: - Outbound, called by the engine on the event loop

    /// Appends a control reply. Replies are never dropped (a QEMU port has none).
    func enqueueReply(_ message: Message) {
        guard case .open = self.state, !self.isQEMU, !self.isVXLAN else { return }
        let before = self.pending.count
        self.pending.appendMessage(message)
        self.engine.adjustBuffered(by: self.pending.count - before)
    }

    /// Appends a PACKET_IN carrying `frame`. Never waits: over the queue cap the frame is
    /// still queued but the sender is told to hold off, and once this connection is stalled
    /// the frame is dropped and counted.
    @inline(__always)
    func enqueuePacketIn(endpoint: EndpointID, flags: MessageFlags, frame: UnsafeRawBufferPointer) -> EnqueueResult {
        guard case .open = self.state else {
            self.flow.countDropped()
            return .dropped
        }
        guard frame.count <= self.maximumFrameLength else {
            self.refuseTooBig(frame.count)
            return .dropped
        }
        let hasRoom = self.flow.isWritable && self.pending.count < self.engine.outboundQueueLimit
        let refused = self.engine.budget.refuses(backlog: self.queuedBytes + self.pending.count)
        let admission = self.flow.admit(hasRoom: hasRoom, refusedByBudget: refused)
        if case .drop = admission {
            return .dropped
        }
        let before = self.pending.count
        self.pending.appendFrame(frame, framing: self.framing, endpoint: endpoint, flags: flags)
        self.engine.adjustBuffered(by: self.pending.count - before)
        // A read can fan out to many connections: past this much, write now rather than hold
        // a read's worth of copies for every destination until the read ends.
        if self.pending.count >= Self.earlyFlushSize {
            self.flushPending()
        }
        return admission == .queue ? .queued : .queuedOverCap
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

    enum EnqueueResult {
        case queued
        /// Queued past the cap: the sender should pause until this connection drains.
        case queuedOverCap
        case dropped
    }

    func flushPending() {
        guard self.pending.count > 0, let context = self.context else { return }
        var batch = self.pending.take()
        let size = batch.readableBytes
        // Already counted against the budget when appended; now it waits for the socket.
        self.queuedBytes += size
        // No promise for the batch: a promise and its future cost more than the rest of a
        // flush (allocations, and generic metadata lookups when the future is freed), and
        // almost always the socket takes the whole batch before `writeAndFlush` returns.
        // The channel holds the batch's storage until it is written (or failed, at close),
        // so holding it alone now means it is out of the fabric's hands.
        context.writeAndFlush(self.wrapOutboundOut(batch), promise: nil)
        if batch.modifyIfUniquelyOwned({ _ in true }) == true {
            self.written(size)
            return
        }
        if Self.holdsNothing(context.channel) {
            // Written, but somebody else keeps the bytes: a test's channel, or datagrams that
            // still point into them.
            self.written(size)
            return
        }
        // The socket took only part. A zero-length write completes when everything ahead of
        // it has been written or failed: that is when these bytes leave the budget.
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(self.wrapOutboundOut(self.pending.emptyBuffer), promise: promise)
        promise.futureResult.whenComplete { _ in
            handler.value.written(size)
        }
    }

    /// Whether `channel` has written everything it was given; false when it cannot tell
    /// (closed: its pending writes fail, and so does the zero-length write after them).
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

    func close() -> EventLoopFuture<Void> {
        guard let context = self.context else {
            return self.engine.eventLoop.makeSucceededVoidFuture()
        }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(promise: promise)
        return promise.futureResult.recover { _ in }
    }
}

@available(*, unavailable)
extension FabricConnectionHandler: Sendable {}
