import NIOCore
import NIOPosix

/// The VXLAN socket: bound with reading off before the capture opens, started once the engine
/// exists (its uplink endpoints are made then).
extension FabricServer {
    /// Linux's SO_NO_CHECK: send UDP with checksum 0, as RFC 7348 allows and kernels do.
    private static let noChecksum = ChannelOptions.Types.SocketOption(level: SocketOptionLevel(SOL_SOCKET), name: 11)

    func bindVXLAN(on eventLoop: any EventLoop) async throws -> (any Channel)? {
        guard let vxlan = self.configuration.vxlan else { return nil }
        do {
            return try await DatagramBootstrap(group: eventLoop)
                .channelOption(.autoRead, value: false)
                .channelOption(.socketOption(.so_reuseaddr), value: 1)
                .channelOption(Self.noChecksum, value: 1)
                .channelOption(.recvAllocator, value: FixedSizeRecvByteBufferAllocator(capacity: 65_536))
                .channelOption(.maxMessagesPerRead, value: 64)
                .bind(host: vxlan.listenHost, port: vxlan.listenPort).get()
        } catch {
            throw FabricServerError(code: .cannotBind, host: vxlan.listenHost, port: vxlan.listenPort, detail: "VXLAN: \(error)")
        }
    }

    func startVXLAN(_ channel: any Channel, engine slot: NIOLoopBound<EngineSlot>) async throws {
        guard let vxlan = self.configuration.vxlan else { return }
        let remotes = try vxlan.remotes.map { remote in
            (name: remote.name, address: try SocketAddress(ipAddress: remote.host, port: remote.port))
        }
        let logger = self.logger
        try await channel.eventLoop.submit {
            guard let engine = slot.value.engine else { throw ChannelError.ioOnClosedChannel }
            let port = VXLANPort(vni: vxlan.vni, mtu: vxlan.mtu, remotes: remotes)
            let handler = FabricConnectionHandler(engine: engine, allocator: channel.allocator, transport: .vxlan(port))
            try channel.pipeline.syncOperations.addHandlers(VXLANAdapter(port: port, logger: logger), handler)
            engine.attachUplinks(port, connection: handler)
        }.get()
        try await channel.setOption(.autoRead, value: true).get()
        logger.info("VXLAN listening", metadata: [
            "address": "\(ListenAddress.describe(host: vxlan.listenHost, port: vxlan.listenPort))",
            "vni": "\(vxlan.vni)", "remotes": "\(vxlan.remotes.map { "\($0.name)=\($0.host):\($0.port)" })",
        ])
    }
}
