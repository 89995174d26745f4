import ArgumentParser
import SwitchyardCommandLine
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices

@main
struct SwitchyardNTPD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-ntpd",
        abstract: "NTP responder: endpoint svc_ntp, 10.0.0.3, UDP 123; answers ARP and NTPv4 client requests.",
        discussion: """
            With --clock fixed:TIME every timestamp it writes is TIME, so a recorded session replays \
            bit for bit. Runs until SIGINT/SIGTERM (exit 0); exit 2 when there is no fabric, 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup(title: "Host options") var host: HostOptions

    @Option(help: "Clock to serve: system, fixed:2026-01-01T00:00:00Z or offset:SECONDS.")
    var clock = ClockSpecification("system")!

    @Option(help: "Stratum to advertise (1 per protocol v1; change it only to test regression tooling).")
    var stratum: UInt8 = 1

    func run() async throws {
        let logger = self.logging.makeLogger(label: "switchyard-ntpd")
        var service = NTPService()
        service.hostSettings = self.host.settings
        service.clock = self.clock.clock
        service.stratum = self.stratum
        let connection = self.connection
        let configured = service
        try await ToolFailure.reporting("switchyard-ntpd") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-ntpd") { client in
                    try await withTaskExecutorPreference(client.taskExecutor) {
                        try await configured.run(on: client, logger: logger) { record in
                            StandardOutput.line("[svc_ntp] ready: endpoint \(record.endpointID) mac \(record.mac) ip \(configured.ip) udp 123")
                        }
                    }
                }
            }
        }
    }
}
