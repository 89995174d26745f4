import ArgumentParser

/// Where a tool finds the fabric; every Switchyard tool takes these.
public struct ConnectionOptions: ParsableArguments, Sendable {
    @Option(help: "Fabric address.")
    public var host: String = "127.0.0.1"

    @Option(help: "Fabric TCP port.")
    public var port: Int = 9999

    public init() {}

    public func validate() throws {
        guard (1...65535).contains(self.port) else {
            throw ValidationError("--port must be between 1 and 65535, got \(self.port)")
        }
    }
}
