#if canImport(Glibc)
import SwitchyardBase
import Glibc
#endif
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardCapture

/// The fabric daemon as a `Service`: binds, switches until graceful shutdown, then stops
/// accepting, closes every connection and returns.
///
/// All connections share one event loop thread: that is what makes switching deterministic
/// (frames leave in the order they were read) and the core lock-free.
public final class FabricServer: Service {
    let configuration: ServerConfiguration
    let logger: Logger

    /// Reads grow to 256 KiB: one read holds hundreds of small frames (batching is the design).
    static let maximumReadSize = 256 * 1024
    static let receiveAllocator = AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: maximumReadSize)

    public init(configuration: ServerConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        do {
            try await self.serve(on: group.next())
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func serve(on eventLoop: any EventLoop) async throws {
        let queueLimit = self.configuration.outboundQueueLimit
        let logger = self.logger
        let configuration = self.configuration
        // Filled in once the capture is open; no connection is accepted before that.
        let slot = try await eventLoop.submit { NIOLoopBound(EngineSlot(), eventLoop: eventLoop) }.get()
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.autoRead, value: false)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: queueLimit / 2, high: queueLimit)
            )
            .childChannelOption(.recvAllocator, value: Self.receiveAllocator)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard let engine = slot.value.engine else {
                        throw ChannelError.ioOnClosedChannel
                    }
                    let handler = FabricConnectionHandler(engine: engine, allocator: channel.allocator)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }

        let serverChannel = try await self.bind(bootstrap)
        defer {
            if let path = self.configuration.unixSocketPath {
                unlink(path)
            }
        }
        let tapListener: TapHandoffListener?
        do {
            tapListener = try configuration.tapHandoffPath.map { path throws(FabricServerError) in
                try TapHandoffListener(path: path, mode: configuration.unixSocketMode)
            }
        } catch {
            try? await serverChannel.close()
            throw error
        }
        // Stopped (its file removed) on every way out.
        defer { tapListener?.stop() }
        let qemuPorts: [BoundQEMUPort]
        let vxlanChannel: (any Channel)?
        do {
            qemuPorts = try await self.bindQEMUPorts(on: eventLoop, slot: slot, queueLimit: queueLimit)
            do {
                vxlanChannel = try await self.bindVXLAN(on: eventLoop)
            } catch {
                for port in qemuPorts {
                    try? await port.channel.close()
                }
                throw error
            }
        } catch {
            try? await serverChannel.close()
            throw error
        }
        defer {
            for port in qemuPorts {
                if let path = port.unixPath {
                    unlink(path)
                }
            }
        }
        // Bound: only now may the capture create (truncate) its file.
        var session: CaptureSession?
        do {
            if let capture = configuration.capture {
                session = try await CaptureSession.start(capture, logger: logger)
            }
        } catch {
            try? await serverChannel.close()
            for port in qemuPorts {
                try? await port.channel.close()
            }
            try? await vxlanChannel?.close()
            throw error
        }
        let started = session
        var vxlanSenders: [any Channel] = []
        defer {
            for sender in vxlanSenders {
                sender.close(promise: nil)
            }
        }
        do {
            try await eventLoop.submit {
                slot.value.engine = FabricEngine(eventLoop: eventLoop, configuration: configuration, capture: started, logger: logger)
            }.get()
            try await self.start(qemuPorts, engine: slot)
            if let vxlanChannel {
                vxlanSenders = await self.bindVXLANSenders(on: eventLoop)
                try await self.startVXLAN(vxlanChannel, senders: vxlanSenders, engine: slot)
            }
            try await serverChannel.setOption(.autoRead, value: true).get()
            tapListener?.start { arrival in
                eventLoop.execute {
                    guard let engine = slot.value.engine else {
                        close(arrival.descriptor)
                        close(arrival.handoff)
                        return
                    }
                    FabricServer.attachTap(arrival, on: eventLoop, engine: engine)
                }
            }
        } catch {
            // The capture started: it is finished on this path too (its summary reported).
            try? await serverChannel.close()
            for port in qemuPorts {
                try? await port.channel.close()
            }
            try? await vxlanChannel?.close()
            if let started {
                configuration.onCaptureFinished(await started.finish())
            }
            throw error
        }
        if let address = serverChannel.localAddress {
            self.configuration.onListening(address)
        }
        self.logger.info("fabric listening", metadata: [
            "address": "\(ListenAddress.describe(serverChannel.localAddress, unixPath: configuration.unixSocketPath))",
            "seed": "\(configuration.seed)",
            "rules": "\(configuration.rules.count)",
        ])
        if let tapListener {
            self.logger.info("taking TAP devices from switchyard-tap", metadata: ["socket": "\(tapListener.path)"])
        }

        // Runs until SIGINT/SIGTERM (through the ServiceGroup) or cancellation.
        try? await gracefulShutdown()

        self.logger.info("fabric shutting down")
        try? await serverChannel.close()
        tapListener?.stop()
        for port in qemuPorts where !port.isDatagram {
            try? await port.channel.close()
        }
        try? await eventLoop.flatSubmit {
            slot.value.engine?.closeAllConnections() ?? eventLoop.makeSucceededVoidFuture()
        }.get()
        if let started {
            configuration.onCaptureFinished(await started.finish())
        }
    }

    private func bind(_ bootstrap: ServerBootstrap) async throws -> any Channel {
        let host = self.configuration.host
        let port = self.configuration.port
        guard let path = self.configuration.unixSocketPath else {
            do {
                return try await bootstrap.bind(host: host, port: port).get()
            } catch let error as IOError where error.errnoCode == EADDRINUSE {
                throw FabricServerError(code: .addressInUse, host: host, port: port, detail: "")
            } catch {
                throw FabricServerError(code: .cannotBind, host: host, port: port, detail: "\(error)")
            }
        }
        return try await self.bindUnixSocket(bootstrap, path: path)
    }

    /// Binds a Unix-domain socket: a file nobody answers on is left over from a fabric that
    /// died and is replaced; one somebody answers on belongs to a running fabric: refused.
    /// The file gets `--unix-mode`.
    func bindUnixSocket(_ bootstrap: ServerBootstrap, path: String) async throws -> any Channel {
        let host = self.configuration.host
        let port = self.configuration.port
        if Self.someoneListens(at: path) {
            throw FabricServerError(code: .socketFileInUse, host: host, port: port, unixPath: path, detail: "")
        }
        let channel: any Channel
        do {
            channel = try await bootstrap.bind(unixDomainSocketPath: path, cleanupExistingSocketFile: true).get()
        } catch let error as IOError {
            throw FabricServerError(code: .cannotBind, host: host, port: port, unixPath: path, detail: String(cString: strerror(error.errnoCode)))
        } catch {
            throw FabricServerError(code: .cannotBind, host: host, port: port, unixPath: path, detail: "\(error)")
        }
        if let mode = self.configuration.unixSocketMode, chmod(path, mode_t(mode)) != 0 {
            let reason = String(cString: strerror(errno))
            try? await channel.close()
            throw FabricServerError(code: .cannotBind, host: host, port: port, unixPath: path, detail: "cannot set its mode: \(reason)")
        }
        return channel
    }

    static func someoneListens(at path: String, type: __socket_type = SOCK_STREAM) -> Bool {
        let socket = Glibc.socket(AF_UNIX, Int32(type.rawValue), 0)
        guard socket >= 0 else { return false }
        defer { close(socket) }
        return UnixSocketAddress.with(path: path) { connect(socket, $0, $1) == 0 } ?? false
    }
}

/// The engine, once the capture is open; read by the child channel initializers.
final class EngineSlot {
    var engine: FabricEngine?
}
