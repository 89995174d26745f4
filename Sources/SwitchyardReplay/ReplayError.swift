/// Why a replay could not run (exit status 2): a bad recording, no fabric, a bad option.
public struct ReplayError: Error, Hashable, Sendable, CustomStringConvertible {
    public enum Code: Hashable, Sendable {
        case badRecording
        case noFabric
        case badOptions
        case fabricRefused
        /// SIGINT/SIGTERM arrived.
        case interrupted
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { self.message }
}
