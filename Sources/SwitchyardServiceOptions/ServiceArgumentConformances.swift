import ArgumentParser
import SwitchyardResponders
import SwitchyardServices

extension ClockSpecification: ExpressibleByArgument {
    public init?(argument: String) {
        self.init(argument)
    }

    public static var defaultCompletionKind: CompletionKind { .list(["system", "fixed:2026-01-01T00:00:00Z", "offset:0.5"]) }
}

extension PingClient.Resolution: ExpressibleByArgument {}
