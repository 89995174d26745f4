/// The one way a test waits for something to happen: `condition` is tried every `interval`
/// until it holds; past `limit` the wait fails with `what` (and the last value seen), never
/// hangs. Real time, for real processes and sockets; code under a `ManualClock` needs none.
public func eventually(
    _ what: @autoclosure () -> String,
    within limit: Duration = .seconds(10),
    every interval: Duration = .milliseconds(10),
    _ condition: () async throws -> Bool
) async throws {
    _ = try await eventually(what(), within: limit, every: interval) { try await condition() ? () : nil }
}

/// `eventually` for a value: the first non-nil result of `probe`.
public func eventually<Value>(
    _ what: @autoclosure () -> String,
    within limit: Duration = .seconds(10),
    every interval: Duration = .milliseconds(10),
    _ probe: () async throws -> Value?
) async throws -> Value {
    let clock = ContinuousClock()
    let deadline = clock.now.advanced(by: limit)
    while true {
        if let value = try await probe() {
            return value
        }
        guard clock.now < deadline else {
            throw TestFailure("waited \(limit) for \(what()) in vain")
        }
        try await Task.sleep(for: interval)
    }
}
