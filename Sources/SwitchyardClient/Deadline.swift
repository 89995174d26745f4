import SwitchyardPackets

/// Runs `operation`, throwing `FabricClientError` `.timeout` (with `message`) if it has not
/// finished within `duration`; the operation is cancelled then.
public func withTimeout<Result: Sendable>(
    _ duration: Duration,
    _ message: @autoclosure () -> String,
    operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let text = message()
    return try await withThrowingTaskGroup(of: Result?.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: duration)
            return nil
        }
        defer { group.cancelAll() }
        guard let first = try await group.next(), let result = first else {
            throw FabricClientError(.timeout, text)
        }
        return result
    }
}

extension Duration {
    /// Seconds as a person writes them: "3" for whole seconds, "0.5" otherwise.
    public var secondsDescription: String {
        let value = self.seconds
        return value == value.rounded() ? String(Int(value)) : String(value)
    }

    /// Milliseconds with three decimals, as ping and arping print round trips: "1.234".
    public var millisecondsDescription: String {
        DecimalText.fixed(self.seconds * 1e3, decimals: 3)
    }

    /// The duration in seconds, as a floating-point number.
    public var seconds: Double {
        Double(self.components.seconds) + Double(self.components.attoseconds) / 1e18
    }
}
