import NIOCore

/// A QEMU NIC on a datagram port (`-netdev dgram`): one frame per UDP datagram, no header.
///
/// `QEMUDatagramAdapter` (below, in the channel ahead of the handler) hands each datagram's
/// bytes on as they are (each read is one frame: `bytesMissing` is 0), up to 64 per wake-up,
/// and sends each frame out as a datagram of its own, all of a flush in one `sendmmsg`. The
/// endpoint policy is the stream port's; what differs is the limit on what can go out (a
/// datagram holds at most 65,507 bytes over IPv4).
struct QEMUDatagramTransport: FrameTransport {
    private var stream: QEMUStreamTransport

    init(port: QEMUPort) {
        self.stream = QEMUStreamTransport(port: port)
    }

    /// The largest frame a datagram can carry out: the largest UDP payload.
    static func maximumFrameLength(isIPv6: Bool) -> Int {
        isIPv6 ? 65_535 - 8 : 65_535 - 20 - 8
    }

    static var outboundHeader: FrameHeaderWriter { QEMUStreamTransport.outboundHeader }

    static func bytesMissing(from partial: ByteBuffer) -> Int { 0 }

    mutating func readFrames(_ buffer: inout ByteBuffer, on connection: FabricConnection, engine: FabricEngine) -> TransportReadOutcome {
        let frame = buffer
        buffer.moveReaderIndex(to: buffer.writerIndex)
        self.stream.switchWholeFrame(frame, on: connection, engine: engine)
        return .readOn
    }

    mutating func connectionClosed(heldBytes: Int, engine: FabricEngine) {
        self.stream.connectionClosed(heldBytes: heldBytes, engine: engine)
    }
}

/// Between a UDP channel and the connection handler: each datagram's bytes go in as one frame
/// (no copy); each length-prefixed frame of the handler's batches goes out as a datagram to the
/// address the VM was last heard from (nothing is sent before the VM has sent).
final class QEMUDatagramAdapter: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private var peer: SocketAddress?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        self.peer = envelope.remoteAddress
        context.fireChannelRead(self.wrapInboundOut(envelope.data))
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var batch = self.unwrapOutboundIn(data)
        guard let peer = self.peer else {
            promise?.succeed()
            return
        }
        // The handler's batch holds whole frames only; each is one datagram.
        while let length = batch.readInteger(as: UInt32.self), let frame = batch.readSlice(length: Int(length)) {
            context.write(self.wrapOutboundOut(AddressedEnvelope(remoteAddress: peer, data: frame)), promise: nil)
        }
        promise?.succeed()
    }
}

@available(*, unavailable)
extension QEMUDatagramAdapter: Sendable {}
