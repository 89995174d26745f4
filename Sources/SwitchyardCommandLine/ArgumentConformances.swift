import ArgumentParser
import SwitchyardPackets

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
