import ArgumentParser
import Logging

/// `--log-level`, shared by every tool; logs go to stderr so stdout stays for data.
public struct LoggingOptions: ParsableArguments, Sendable {
    @Option(help: "Log level: trace, debug, info, notice, warning, error or critical.")
    public var logLevel: Logger.Level = .info

    public init() {}

    /// A stderr logger at the chosen level.
    public func makeLogger(label: String) -> Logger {
        var logger = Logger(label: label) { label in StreamLogHandler.standardError(label: label) }
        logger.logLevel = self.logLevel
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
