import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle

/// The fabric daemon as a `Service`: binds, switches until graceful shutdown, then stops
/// accepting, closes every connection and returns.
///
/// All connections share one event loop thread: that is what makes switching deterministic
/// (frames leave in the order they were read) and the core lock-free.
public final class FabricServer: Service {
    private let configuration: ServerConfiguration
    private let logger: Logger

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
        let (seconds, attoseconds) = self.configuration.stallTimeout.components
        let stallTimeout = TimeAmount.nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
        let capture = self.configuration.capture
        let engine = try await eventLoop.submit {
            NIOLoopBound(
                FabricEngine(eventLoop: eventLoop, outboundQueueLimit: queueLimit, stallTimeout: stallTimeout, capture: capture, logger: logger),
                eventLoop: eventLoop
            )
        }.get()
        let bootstrap = ServerBootstrap(group: eventLoop)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                .writeBufferWaterMark,
                value: .init(low: queueLimit / 2, high: queueLimit)
            )
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 1024, initial: 64 * 1024, maximum: 256 * 1024)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = FabricConnectionHandler(engine: engine.value, allocator: channel.allocator)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }

        let serverChannel: any Channel
        do {
            serverChannel = try await bootstrap.bind(host: self.configuration.host, port: self.configuration.port).get()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw FabricServerError(code: .addressInUse, host: self.configuration.host, port: self.configuration.port, detail: "")
        } catch {
            throw FabricServerError(code: .cannotBind, host: self.configuration.host, port: self.configuration.port, detail: "\(error)")
        }
        if let address = serverChannel.localAddress {
            self.configuration.onListening(address)
        }
        self.logger.info("fabric listening", metadata: ["address": "\(serverChannel.localAddress.map { "\($0)" } ?? "?")"])

        // Runs until SIGINT/SIGTERM (through the ServiceGroup) or cancellation.
        try? await gracefulShutdown()

        self.logger.info("fabric shutting down")
        try? await serverChannel.close()
        try? await eventLoop.flatSubmit {
            engine.value.closeAllConnections()
        }.get()
    }
}
