import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices
import Synchronization

@main
struct SwitchyardNTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-ntp",
        abstract: "NTP client: endpoint cli_ntp, 10.0.0.10:40000; prints the server time, clock offset and round-trip delay.",
        discussion: "Exit 0 on a valid reply, 1 when none came (timeout, SIGINT/SIGTERM), 2 on errors (no fabric), 64 on bad flags.",
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var timeout: TimeoutOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "How to learn the service's MAC: lookup (ENDPOINT_INFO, the default) or arp.")
    var resolve: PingClient.Resolution = .lookup

    @Option(help: "This client's clock: system, fixed:2026-01-01T00:00:00Z or offset:SECONDS.")
    var clock = ClockSpecification("system")!

    func run() async throws {
        var query = NTPClient()
        query.timeout = self.timeout.duration
        query.resolution = self.resolve
        query.clock = self.clock.clock
        let configured = query
        let connection = self.connection
        let answer = Mutex<NTPClient.Result?>(nil)
        try await ToolFailure.reporting("switchyard-ntp") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-ntp") { client in
                    let result = try await configured.query(on: client)
                    answer.withLock { $0 = result }
                }
            }
            guard let result = answer.withLock({ $0 }) else {
                throw ToolExit.negative
            }
            let reference = result.response.referenceIDText ?? "?"
            StandardOutput.line("[cli_ntp] server time \(ClockSpecification.format(unixNanoseconds: result.serverTime)) (stratum \(result.response.stratum), ref \(reference))")
            StandardOutput.line("[cli_ntp] offset \(Self.signed(result.offset)) s, delay \(Self.fixed(result.delay)) s")
        }
    }

    /// Six decimals, as the original client prints them.
    static func fixed(_ value: Double) -> String {
        DecimalText.fixed(value, decimals: 6)
    }

    static func signed(_ value: Double) -> String {
        let text = Self.fixed(value)
        return text.hasPrefix("-") ? text : "+" + text
    }
}
