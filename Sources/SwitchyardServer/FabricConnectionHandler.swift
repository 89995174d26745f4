import NIOCore
import SwitchyardFabric
import SwitchyardWire

/// Adapts one channel to the fabric: its bytes in go to its `Transport`, which finds the
/// frames and hands them to the engine's pipeline; its `FabricConnection` holds what goes out.
///
/// Generic over the transport, one specialisation each (v1, QEMU stream, QEMU datagrams,
/// VXLAN): the per-frame work is the transport's own concrete code. What is common lives here:
/// frames and messages cut across reads are completed with only the bytes they lack, a partial
/// one is kept in a buffer of its own and charged to the budget, and each read ends with phase 2
/// (`FabricEngine.endOfRead`).
final class FabricConnectionHandler<Transport: FrameTransport>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let connection: FabricConnection
    private(set) var transport: Transport
    /// Bytes received that do not yet make a whole message or frame.
    private var inbound: ByteBuffer?

    init(engine: FabricEngine, allocator: ByteBufferAllocator, transport: Transport, maximumFrameLength: Int = ProtocolLimits.maximumFrameLength) {
        self.transport = transport
        self.connection = FabricConnection(
            engine: engine, allocator: allocator, header: transport.frameHeader,
            carriesReplies: Transport.carriesReplies, acceptsOffloads: transport.acceptsOffloads, maximumFrameLength: maximumFrameLength,
            deviceWriter: transport.deviceWriter
        )
    }

    private var engine: FabricEngine { self.connection.engine }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            self.open(context: context)
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.open(context: context)
        context.fireChannelActive()
    }

    private func open(context: ChannelHandlerContext) {
        guard case .idle = self.connection.state else { return }
        self.connection.open(context: context)
        if self.connection.isOpen {
            self.transport.connectionOpened(self.connection, engine: self.engine)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.deactivate()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.deactivate()
        self.connection.detach()
    }

    private func deactivate() {
        // A channel whose read failed closes without `channelReadComplete`: its pass ends first.
        self.engine.endOfReadIfSwitching()
        let held = self.connection.inboundBytes
        if self.connection.closed() {
            self.inbound = nil
            self.transport.connectionClosed(heldBytes: held, engine: self.engine)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard self.connection.isOpen else { return }
        var buffer = self.unwrapInboundIn(data)
        self.engine.beginRead()
        if var carried = self.inbound {
            // Complete the message the last read ended in with only the bytes it lacks, then
            // go on in this read's own buffer: appending the whole read to it would copy it.
            self.inbound = nil
            while buffer.readableBytes > 0 {
                let missing = Transport.bytesMissing(from: carried)
                guard missing > 0 else { break }
                var piece = buffer.readSlice(length: min(missing, buffer.readableBytes))!
                carried.writeBuffer(&piece)
            }
            guard self.readFrames(in: &carried) else { return }
            if carried.readableBytes > 0 {
                // Still not whole: this read was part of it.
                self.inbound = carried
                self.connection.chargeInbound(carried.readableBytes)
                return
            }
        }
        guard self.readFrames(in: &buffer) else { return }
        if buffer.readableBytes > 0 {
            // Only the partial message is kept, in a buffer of its own: holding the read's
            // buffer would keep it from NIO's pool of receive buffers.
            var partial = context.channel.allocator.buffer(capacity: max(buffer.readableBytes, 256))
            partial.writeBuffer(&buffer)
            self.inbound = partial
        }
        self.connection.chargeInbound(self.inbound?.readableBytes ?? 0)
    }

    /// Hands every whole frame or message at the front of `buffer` to the transport; false
    /// when nothing more is read from this connection (it closes in phase 2).
    private func readFrames(in buffer: inout ByteBuffer) -> Bool {
        let outcome = self.transport.readFrames(&buffer, on: self.connection, engine: self.engine)
        guard outcome != .readOn else { return true }
        // Input is discarded from here on; the close is phase 2's.
        self.connection.state = .lingering
        self.inbound = nil
        self.connection.chargeInbound(0)
        self.engine.closeAtEndOfRead(self.connection, lingering: outcome == .lingerAfterError)
        return false
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        self.engine.endOfRead()
        self.connection.updateReading()
        context.fireChannelReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        self.connection.writabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        self.engine.logger.debug("connection error", metadata: ["connection": "\(self.connection.id.rawValue)", "error": "\(error)"])
        self.engine.endOfReadIfSwitching()
        context.close(promise: nil)
    }
}

extension FabricConnectionHandler where Transport == V1Transport {
    /// A protocol v1 connection (TCP or a Unix socket).
    convenience init(engine: FabricEngine, allocator: ByteBufferAllocator) {
        self.init(engine: engine, allocator: allocator, transport: V1Transport())
    }
}

@available(*, unavailable)
extension FabricConnectionHandler: Sendable {}
