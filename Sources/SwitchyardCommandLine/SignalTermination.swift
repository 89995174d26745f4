import UnixSignals

/// How `runUntilTerminated` ended.
public enum Termination: Sendable, Equatable {
    /// The body returned.
    case finished
    /// SIGINT or SIGTERM arrived and the body was cancelled.
    case signalled
}

/// Runs `body` until it returns or SIGINT/SIGTERM arrives; on a signal `body` is cancelled and
/// this returns `.signalled`, so a tool can flush and print its summary before it exits with
/// the code its conventions give (docs/conventions.md).
@discardableResult
public func runUntilTerminated(_ body: @escaping @Sendable () async throws -> Void) async throws -> Termination {
    // Trapping starts here, before the body: a signal that arrives at any moment after this
    // is seen (the sequence's initialiser installs the handlers).
    let signals = await UnixSignalsSequence(trapping: .sigint, .sigterm)
    return try await withThrowingTaskGroup(of: Termination.self) { group in
        group.addTask {
            try await body()
            return .finished
        }
        group.addTask {
            for await _ in signals {
                return .signalled
            }
            return .finished
        }
        defer { group.cancelAll() }
        do {
            return try await group.next() ?? .finished
        } catch is CancellationError {
            return .signalled
        }
    }
}
