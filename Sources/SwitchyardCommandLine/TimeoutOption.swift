import ArgumentParser

/// `--timeout SECONDS`, validated, as a `Duration`.
public struct TimeoutOptions: ParsableArguments, Sendable {
    /// The longest wait any tool accepts.
    public static let maximumSeconds = 3600.0

    @Option(parsing: .unconditional, help: "Seconds to wait for the service, for ARP and for the reply.")
    public var timeout: Double = 3

    public init() {}

    public func validate() throws {
        try Self.check(self.timeout)
    }

    public var duration: Duration { Self.duration(seconds: self.timeout) }

    /// The one check of a `--timeout` value, for tools whose timeout has its own help text.
    public static func check(_ seconds: Double, flag: String = "--timeout") throws {
        guard seconds > 0, seconds <= Self.maximumSeconds else {
            throw ValidationError("\(flag) must be more than 0 and at most \(Int(Self.maximumSeconds)) seconds, got \(seconds)")
        }
    }

    /// Seconds from the command line as a `Duration`, to the millisecond.
    public static func duration(seconds: Double) -> Duration {
        .milliseconds(Int64((seconds * 1000).rounded()))
    }
}
