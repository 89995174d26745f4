import Logging
import NIOCore

/// VXLAN encapsulation (RFC 7348) between the UDP socket and the connection handler.
///
/// In: a datagram from a configured remote with the I flag and our VNI becomes, for the
/// handler, `[UInt32 remote index][UInt32 length][frame]`; anything else is dropped and
/// counted, never switched. Out: the handler's `[UInt32 endpoint id][UInt32 length][frame]`
/// become datagrams to that endpoint's remote: 8-byte header (I flag, 24-bit VNI), the frame
/// without FCS.
final class VXLANAdapter: ChannelDuplexHandler {
    typealias InboundIn = AddressedEnvelope<ByteBuffer>
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = AddressedEnvelope<ByteBuffer>

    /// VXLAN header bytes.
    static let headerLength = 8
    /// The I flag: the VNI is valid (RFC 7348 section 5).
    static let validVNI: UInt8 = 0x08

    let port: VXLANPort
    let logger: Logger

    init(port: VXLANPort, logger: Logger) {
        self.port = port
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        var datagram = envelope.data
        guard let remote = self.port.remoteIndex(of: envelope.remoteAddress) else {
            return self.refuse("a datagram from \(envelope.remoteAddress), which is not a configured remote")
        }
        guard datagram.readableBytes >= Self.headerLength + 14,
              let flags = datagram.readInteger(as: UInt8.self),
              datagram.moveReaderIndex(forwardBy: 3) == (),
              let vniField = datagram.readInteger(as: UInt32.self)
        else {
            return self.refuse("a datagram too short for VXLAN and an Ethernet header")
        }
        guard flags & Self.validVNI != 0 else {
            return self.refuse("a datagram with the I flag clear")
        }
        guard vniField >> 8 == self.port.vni else {
            return self.refuse("a datagram for VNI \(vniField >> 8), not \(self.port.vni)")
        }
        var framed = context.channel.allocator.buffer(capacity: 8 + datagram.readableBytes)
        framed.writeInteger(UInt32(remote))
        framed.writeInteger(UInt32(datagram.readableBytes))
        framed.writeImmutableBuffer(datagram)
        context.fireChannelRead(self.wrapInboundOut(framed))
    }

    private func refuse(_ what: String) {
        self.port.datagramsRefused &+= 1
        if self.port.firstTime(what.components(separatedBy: " ").prefix(4).joined(separator: " ")) {
            self.logger.notice("VXLAN: dropped \(what) (counted in STATS as vxlan_datagrams_refused; logged once)")
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var batch = self.unwrapOutboundIn(data)
        while let endpoint = batch.readInteger(as: UInt32.self), let length = batch.readInteger(as: UInt32.self),
              let frame = batch.readSlice(length: Int(length)) {
            guard let remote = self.port.address(ofEndpoint: endpoint) else { continue }
            guard frame.readableBytes + VXLANPort.overhead <= self.port.mtu else {
                self.port.framesTooBig &+= 1
                if self.port.firstTime("mtu") {
                    self.logger.notice("VXLAN: a \(frame.readableBytes)-byte frame needs \(frame.readableBytes + VXLANPort.overhead) bytes encapsulated, over --vxlan-mtu \(self.port.mtu): dropped and counted (logged once)")
                }
                continue
            }
            var datagram = context.channel.allocator.buffer(capacity: Self.headerLength + frame.readableBytes)
            datagram.writeInteger(Self.validVNI)
            datagram.writeRepeatingByte(0, count: 3)
            datagram.writeInteger(self.port.vni << 8)
            datagram.writeImmutableBuffer(frame)
            context.write(self.wrapOutboundOut(AddressedEnvelope(remoteAddress: remote, data: datagram)), promise: nil)
        }
        promise?.succeed()
    }
}

@available(*, unavailable)
extension VXLANAdapter: Sendable {}
