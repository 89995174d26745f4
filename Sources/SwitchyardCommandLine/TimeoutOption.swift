import ArgumentParser

/// `--timeout SECONDS`, validated, as a `Duration`.
public struct TimeoutOptions: ParsableArguments, Sendable {
    @Option(help: "Seconds to wait for the service, for ARP and for the reply.")
    public var timeout: Double = 3

    public init() {}

    public func validate() throws {
        guard self.timeout > 0, self.timeout <= 3600 else {
            throw ValidationError("--timeout must be between 0 and 3600 seconds, got \(self.timeout)")
        }
    }

    public var duration: Duration { .milliseconds(Int64((self.timeout * 1000).rounded())) }
}
