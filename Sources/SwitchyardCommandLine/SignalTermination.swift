import UnixSignals

/// Runs `body` until it returns or SIGINT/SIGTERM arrives; on a signal `body` is cancelled and
/// this returns normally, so a tool can flush and print its summary before exiting 0.
public func runUntilTerminated(_ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            try await body()
        }
        group.addTask {
            for await _ in await UnixSignalsSequence(trapping: .sigint, .sigterm) {
                return
            }
        }
        defer { group.cancelAll() }
        do {
            try await group.next()
        } catch is CancellationError {
            return
        }
    }
}
