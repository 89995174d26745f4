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

    /// Between this adapter and its connection handler each frame carries its endpoint (the
    /// remote it goes to or came from) and its length ahead of it, 4 bytes each.
    static let framingLength = 8

    let port: VXLANPort
    let logger: Logger
    /// Sockets bound to source ports in 49152–65535 (empty: send from the listening socket).
    let senders: [any Channel]
    private var used: [Bool]

    init(port: VXLANPort, senders: [any Channel], logger: Logger) {
        self.port = port
        self.logger = logger
        self.senders = senders
        self.used = Array(repeating: false, count: senders.count)
    }

    /// The sender for a frame: a hash of its destination and source MACs, so one flow keeps
    /// one source port and flows spread over them.
    private func sender(for frame: ByteBuffer) -> Int? {
        guard !self.senders.isEmpty, let high = frame.getInteger(at: frame.readerIndex, as: UInt64.self),
              let low = frame.getInteger(at: frame.readerIndex + 8, as: UInt32.self)
        else { return nil }
        var hash = high ^ (UInt64(low) << 16) ^ 0x9E37_79B9_7F4A_7C15
        hash = (hash ^ (hash >> 31)) &* 0xBF58_476D_1CE4_E5B9
        return Int((hash ^ (hash >> 29)) % UInt64(self.senders.count))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let envelope = self.unwrapInboundIn(data)
        guard let remote = self.port.remoteIndex(of: envelope.remoteAddress) else {
            return self.refuse("a datagram from \(envelope.remoteAddress), which is not a configured remote")
        }
        guard envelope.data.readableBytes < VXLANPort.receiveSliceLength else {
            // Cannot happen with today's limits; if it does, never switch a cut frame.
            return self.refuse("a datagram cut to \(envelope.data.readableBytes) bytes by the receive buffer")
        }
        let datagram: ByteBuffer
        switch VXLANHeader.decapsulate(envelope.data, vni: self.port.vni) {
        case .success(let frame):
            datagram = frame
        case .failure(let refusal):
            return self.refuse(refusal.description)
        }
        var framed = context.channel.allocator.buffer(capacity: Self.framingLength + datagram.readableBytes)
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
            var datagram = context.channel.allocator.buffer(capacity: VXLANHeader.length + frame.readableBytes)
            VXLANHeader.encapsulate(frame, vni: self.port.vni, into: &datagram)
            let envelope = AddressedEnvelope(remoteAddress: remote, data: datagram)
            if let index = self.sender(for: frame) {
                self.senders[index].write(envelope, promise: nil)
                self.used[index] = true
            } else {
                context.write(self.wrapOutboundOut(envelope), promise: nil)
            }
        }
        for index in self.used.indices where self.used[index] {
            self.senders[index].flush()
            self.used[index] = false
        }
        promise?.succeed()
    }
}

@available(*, unavailable)
extension VXLANAdapter: Sendable {}
