import NIOCore

/// Makes a UDP channel (`-netdev dgram`: one frame per datagram, no header) look like QEMU's
/// stream framing to the connection handler behind it: each datagram in becomes a
/// length-prefixed frame; each length-prefixed frame out becomes a datagram to the address the
/// VM was last heard from (nothing is sent before the VM has sent).
final class QEMUDatagramAdapter: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    private var peer: SocketAddress?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        self.peer = envelope.remoteAddress
        var framed = context.channel.allocator.buffer(capacity: QEMUStreamFraming.headerLength + envelope.data.readableBytes)
        QEMUStreamFraming.write(envelope.data, to: &framed)
        context.fireChannelRead(self.wrapInboundOut(framed))
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
