import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardServices

@main
struct SwitchyardNTP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-ntp",
        abstract: "NTP client: endpoint cli_ntp, 10.0.0.10:40000; prints the server time, clock offset and round-trip delay.",
        discussion: "Exit 0 on a valid reply, 1 otherwise."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var timeout: TimeoutOptions

    @Option(help: "How to learn the service's MAC: lookup (ENDPOINT_INFO, the default) or arp.")
    var resolve: PingClient.Resolution = .lookup

    @Option(help: "This client's clock: system, fixed:2026-01-01T00:00:00Z or offset:SECONDS.")
    var clock = ClockSpecification("system")!

    func run() async throws {
        var query = NTPClient()
        query.timeout = self.timeout.duration
        query.resolution = self.resolve
        query.clock = self.clock.clock
        try await ToolFailure.reporting("cli_ntp") {
            let client = try await self.connection.connect(clientName: "switchyard-ntp")
            let result: NTPClient.Result
            do {
                result = try await query.query(on: client)
            } catch {
                await client.close()
                throw error
            }
            await client.close()
            let reference = result.response.referenceIDText ?? "?"
            StandardOutput.line("[cli_ntp] server time \(ClockSpecification.format(unixNanoseconds: result.serverTime)) (stratum \(result.response.stratum), ref \(reference))")
            StandardOutput.line("[cli_ntp] offset \(Self.signed(result.offset)) s, delay \(Self.fixed(result.delay)) s")
        }
    }

    /// Six decimals, as the original client prints them.
    static func fixed(_ value: Double) -> String {
        let micros = Int64((abs(value) * 1e6).rounded())
        let fraction = String(micros % 1_000_000)
        return (value < 0 && micros != 0 ? "-" : "") + "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    static func signed(_ value: Double) -> String {
        let text = Self.fixed(value)
        return text.hasPrefix("-") ? text : "+" + text
    }
}
