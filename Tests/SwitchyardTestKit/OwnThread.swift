import Foundation

/// Runs `body`, which blocks (a socket call with a timeout, a poll), on a thread of its own
/// and awaits it: the concurrency pool has as many threads as cores, two here, and a test
/// that blocks one of them slows every other test and can starve the pool.
public func onOwnThread<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread {
            continuation.resume(with: Result { try body() })
        }
        thread.start()
    }
}
