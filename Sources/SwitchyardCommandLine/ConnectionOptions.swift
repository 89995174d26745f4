import ArgumentParser
import SwitchyardClient

/// Where a tool finds the fabric; every Switchyard tool takes these.
public struct ConnectionOptions: ParsableArguments, Sendable {
    @Option(help: "Fabric address.")
    public var host: String = "127.0.0.1"

    @Option(parsing: .unconditional, help: "Fabric TCP port.")
    public var port: Int = 9999

    @Option(help: ArgumentHelp("Fabric Unix-domain socket (instead of --host and --port).", valueName: "path"))
    public var unix: String?

    public init() {}

    public func validate() throws {
        guard (1...65535).contains(self.port) else {
            throw ValidationError("--port must be between 1 and 65535, got \(self.port)")
        }
        if let path = self.unix, path.isEmpty {
            throw ValidationError("--unix needs a socket path")
        }
    }
}

extension ConnectionOptions {
    /// Where these options say the fabric is.
    public var address: FabricAddress {
        if let path = self.unix {
            return .unix(path: path)
        }
        return .tcp(host: self.host, port: self.port)
    }

    /// The address for a person: "127.0.0.1:9999" or "unix:/run/switchyard.sock".
    public var addressDescription: String { self.address.description }
}
