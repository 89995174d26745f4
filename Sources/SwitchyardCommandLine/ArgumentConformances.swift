import ArgumentParser
import SwitchyardCapture
import SwitchyardPackets
import SwitchyardServices

extension ClockSpecification: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    public static var defaultCompletionKind: CompletionKind { .list(["system", "fixed:2026-01-01T00:00:00Z", "offset:0.5"]) }
}

extension PingClient.Resolution: ExpressibleByArgument {}

extension IPv4Address: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    /// Dotted quad in `--help`, not the integer behind it.
    public var defaultValueDescription: String { self.description }
}

extension IPAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    public var defaultValueDescription: String { self.description }
}

extension MACAddress: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    public var defaultValueDescription: String { self.description }
}

extension CaptureFormat: ExpressibleByArgument {}
extension CapturePoints: ExpressibleByArgument {}
