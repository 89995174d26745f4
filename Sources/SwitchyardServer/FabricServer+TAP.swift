#if canImport(Glibc)
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import SwitchyardFabric
import SwitchyardTap

/// TAP devices handed to the fabric (`TapHandoffListener`): each becomes a connection of the
/// TAP transport on the event loop, watched through the socket it came on.
extension FabricServer {
    /// Attaches a handed-over device; runs on the event loop. Answers OK or ERROR on the
    /// handoff socket; from then on either side closing detaches the device.
    static func attachTap(_ arrival: TapHandoffListener.Arrival, on eventLoop: any EventLoop, engine: FabricEngine) {
        let logger = engine.logger
        let handoff = arrival.handoff
        let bound = NIOLoopBound((engine: engine, answer: TapAnswer()), eventLoop: eventLoop)
        NIOPipeBootstrap(group: eventLoop)
            .channelOption(.maxMessagesPerRead, value: UInt(TapTransport.readsPerWakeUp))
            .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: TapTransport.readSize))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (engine, answer) = bound.value
                    let writer = TapDeviceWriter(descriptor: arrival.descriptor, virtio: arrival.virtio) { code in
                        engine.count(.tapWriteRefused)
                        if engine.transportCounters.tapWritesRefused == 1 {
                            logger.notice(
                                "a TAP device refused a frame (\(String(cString: strerror(code)))): dropped and counted in STATS as tap_writes_refused; logged once",
                                metadata: ["device": "\(arrival.device)"]
                            )
                        }
                    }
                    let transport = TapTransport(name: arrival.name, mac: arrival.mac, writer: writer) { result in
                        answer.given = true
                        switch result {
                        case .success(let endpoint):
                            _ = TapHandoff.send("OK \(endpoint.id) \(endpoint.name)", on: handoff)
                        case .failure(let rejection):
                            _ = TapHandoff.send("ERROR \(rejection.message)", on: handoff)
                            channel.close(promise: nil)
                        }
                    }
                    let handler = FabricConnectionHandler(engine: engine, allocator: channel.allocator, transport: transport)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .takingOwnershipOfDescriptor(input: arrival.descriptor)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    // The descriptor is still ours.
                    close(arrival.descriptor)
                    _ = TapHandoff.send("ERROR the fabric cannot read the device: \(error)", on: handoff)
                    close(handoff)
                case .success(let channel):
                    if !bound.value.answer.given {
                        // The fabric refused the connection (its limit): the channel is closing.
                        _ = TapHandoff.send("ERROR the fabric serves its maximum of connections already; try again later", on: handoff)
                    }
                    Self.watch(handoff, of: channel, on: eventLoop, logger: logger)
                }
            }
    }

    /// The handoff socket's end (switchyard-tap gone, or it asks to detach) closes the device's
    /// channel; the channel's close, whatever its cause, closes the socket after it, so that
    /// switchyard-tap sees the end only once the fabric holds the device no more.
    private static func watch(_ handoff: Int32, of tapChannel: any Channel, on eventLoop: any EventLoop, logger: Logger) {
        NIOPipeBootstrap(group: eventLoop)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TapHandoffWatcher(device: tapChannel))
                }
            }
            .takingOwnershipOfDescriptor(input: handoff)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    logger.warning("cannot watch a TAP device's handoff socket: detaching it", metadata: ["error": "\(error)"])
                    close(handoff)
                    tapChannel.close(promise: nil)
                case .success(let watcher):
                    tapChannel.closeFuture.whenComplete { _ in watcher.close(promise: nil) }
                }
            }
    }
}

/// Whether a handed-over device was answered (OK or ERROR) as its endpoint was made.
final class TapAnswer {
    var given = false
}

/// Closes the device's channel when the handoff socket ends.
final class TapHandoffWatcher: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    let device: any Channel

    init(device: any Channel) {
        self.device = device
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // switchyard-tap says nothing after ATTACH; anything it sends is ignored.
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .inputClosed = event as? ChannelEvent {
            self.device.close(promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.device.close(promise: nil)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension TapHandoffWatcher: Sendable {}
