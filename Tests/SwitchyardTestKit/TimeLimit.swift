import Foundation

/// Runs `body`, failing with `message` if it takes longer than `limit` (a bound, not a wait).
public func withTimeLimit(_ limit: Duration, _ message: String, _ body: @escaping @Sendable () async throws -> Void) async throws {
    try await withThrowingTaskGroup(of: Bool.self) { group in
        group.addTask {
            try await body()
            return true
        }
        group.addTask {
            try await Task.sleep(for: limit)
            return false
        }
        defer { group.cancelAll() }
        guard try await group.next() == true else {
            throw TestFailure(message)
        }
    }
}
