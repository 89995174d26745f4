import NIOCore
import NIOPosix

/// The VXLAN socket: bound with reading off before the capture opens, started once the engine
/// exists (its uplink endpoints are made then).
extension FabricServer {
    /// Linux's SO_NO_CHECK: send UDP with checksum 0, as RFC 7348 allows and kernels do.
    private static let noChecksum = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: 11)

    /// Sockets the fabric sends encapsulated frames from, bound to ports in 49152–65535: the
    /// UDP source port of each datagram is picked by a hash of the inner frame's addresses
    /// (RFC 7348 section 5: entropy for ECMP), one socket per port.
    func bindVXLANSenders(on eventLoop: any EventLoop) async -> [any Channel] {
        guard let vxlan = self.configuration.vxlan else { return [] }
        var senders: [any Channel] = []
        for index in 0..<VXLANPort.sourcePorts {
            // Spread over the range; a port in use is skipped for the next one in its stride.
            for attempt in 0..<8 {
                let port = 49152 + index * (16384 / VXLANPort.sourcePorts) + (Int.random(in: 0..<128) + attempt * 128) % (16384 / VXLANPort.sourcePorts)
                if let channel = try? await DatagramBootstrap(group: eventLoop)
                    .channelOption(.autoRead, value: false)
                    .channelOption(Self.noChecksum, value: 1)
                    .channelOption(.socketOption(.so_sndbuf), value: 4 << 20)
                    .bind(host: vxlan.listenHost, port: port).get() {
                    senders.append(channel)
                    break
                }
            }
        }
        return senders
    }

    func bindVXLAN(on eventLoop: any EventLoop) async throws -> (any Channel)? {
        guard let vxlan = self.configuration.vxlan else { return nil }
        do {
            return try await DatagramBootstrap(group: eventLoop)
                .channelOption(.autoRead, value: false)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(Self.noChecksum, value: 1)
                // A vector read splits the buffer evenly between its messages: each gets room
                // for the largest datagram and one byte more, so a full slice means cut.
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: VXLANPort.vectorReadMessages * VXLANPort.receiveSliceLength))
                .channelOption(.maxMessagesPerRead, value: 64)
                // UDP has no flow control: room for bursts, and many datagrams per syscall.
                .channelOption(.socketOption(.so_rcvbuf), value: 8 << 20)
                .channelOption(.datagramVectorReadMessageCount, value: VXLANPort.vectorReadMessages)
                .bind(host: vxlan.listenHost, port: vxlan.listenPort).get()
        } catch {
            throw FabricServerError(code: .cannotBind, host: vxlan.listenHost, port: vxlan.listenPort, detail: "VXLAN: \(error)")
        }
    }

    func startVXLAN(_ channel: any Channel, senders: [any Channel], engine slot: NIOLoopBound<EngineSlot>) async throws {
        guard let vxlan = self.configuration.vxlan else { return }
        let remotes = try vxlan.remotes.map { remote in
            (name: remote.name, address: try SocketAddress(ipAddress: remote.host, port: remote.port))
        }
        let logger = self.logger
        try await channel.eventLoop.submit {
            guard let engine = slot.value.engine else { throw ChannelError.ioOnClosedChannel }
            let port = VXLANPort(vni: vxlan.vni, mtu: vxlan.mtu, remotes: remotes)
            let transport = VXLANTransport(port: port)
            let handler = FabricConnectionHandler(engine: engine, allocator: channel.allocator, transport: transport)
            try channel.pipeline.syncOperations.addHandlers(VXLANAdapter(port: port, senders: senders, logger: logger), handler)
            transport.attachUplinks(connection: handler.connection, engine: engine)
        }.get()
        try await channel.setOption(.autoRead, value: true).get()
        logger.info("VXLAN listening", metadata: [
            "address": "\(ListenAddress.describe(host: vxlan.listenHost, port: vxlan.listenPort))",
            "vni": "\(vxlan.vni)", "remotes": "\(vxlan.remotes.map { "\($0.name)=\($0.host):\($0.port)" })",
        ])
    }
}
