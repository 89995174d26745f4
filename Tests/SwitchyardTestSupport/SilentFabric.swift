import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A TCP listener that accepts connections and never answers: a tool connected to it waits
/// for WELCOME forever, which is the moment to test how it takes SIGINT/SIGTERM.
public final class SilentFabric: Sendable {
    private let channel: any Channel
    private let accepted: NIOLockedValueBox<Int>
    public let port: Int

    public static func start() async throws -> SilentFabric {
        let accepted = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                accepted.withLockedValue { $0 += 1 }
                return channel.eventLoop.makeSucceededVoidFuture()
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return SilentFabric(channel: channel, accepted: accepted)
    }

    private init(channel: any Channel, accepted: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.accepted = accepted
        self.port = channel.localAddress?.port ?? 0
    }

    /// Waits until `count` connections have been accepted.
    public func waitForConnections(_ count: Int, timeout: Duration = .seconds(20)) async throws {
        try await eventually("\(count) clients to connect to the silent fabric", within: timeout) { self.accepted.withLockedValue { $0 } >= count }
    }

    public func stop() async {
        try? await self.channel.close()
    }
}
