import Logging
import NIOConcurrencyHelpers
import SwitchyardServer

/// Runs a `FabricServer` in this process on a free port for the duration of `body`.
public func withInProcessFabric<Result: Sendable>(
    queueLimit: Int = ServerConfiguration.defaultOutboundQueueLimit,
    stallTimeout: Duration = ServerConfiguration.defaultStallTimeout,
    configure: @Sendable (inout ServerConfiguration) -> Void = { _ in },
    _ body: @escaping @Sendable (Int) async throws -> Result
) async throws -> Result {
    let port = NIOLockedValueBox<Int?>(nil)
    var logger = Logger(label: "test-fabric")
    logger.logLevel = .warning
    var configuration = ServerConfiguration(
        host: "127.0.0.1",
        port: 0,
        outboundQueueLimit: queueLimit,
        stallTimeout: stallTimeout,
        onListening: { address in port.withLockedValue { $0 = address.port } }
    )
    configure(&configuration)
    let server = FabricServer(configuration: configuration, logger: logger)
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask {
            try await server.run()
            return nil
        }
        // A bound against a fabric that never listens, not a timing claim: with the whole suite
        // running in parallel on two cores, binding can wait its turn for seconds.
        let bound = try await eventually("the in-process fabric to listen", within: .seconds(30), every: .milliseconds(5)) { port.withLockedValue { $0 } }
        let result = try await body(bound)
        group.cancelAll()
        return result
    }
}
