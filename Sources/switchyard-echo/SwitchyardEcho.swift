import ArgumentParser
import SwitchyardCommandLine
import SwitchyardServiceOptions
import SwitchyardServices

@main
struct SwitchyardEcho: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-echo",
        abstract: "UDP echo service: endpoint svc_echo, 10.0.0.2 and fd53:5900::2, UDP port 7007; answers ARP, ping and IPv6 neighbour discovery.",
        discussion: "Runs until SIGINT/SIGTERM (exit 0) or until the fabric goes away. Exit 2 when there is no fabric, 64 on bad flags.",
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup(title: "Host options") var host: HostOptions

    @Option(help: "IPv4 TTL of echoed datagrams (64 per protocol v1; change it only to test regression tooling).")
    var ttl: UInt8 = 64

    func run() async throws {
        let logger = self.logging.makeLogger(label: "switchyard-echo")
        var service = EchoService()
        service.hostSettings = self.host.settings
        service.timeToLive = self.ttl
        let configured = service
        let connection = self.connection
        try await ToolFailure.reporting("switchyard-echo") {
            // Runs until the fabric goes away or SIGINT/SIGTERM, then exits 0.
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-echo") { client in
                    // On the connection's event loop: each echo costs no thread hop.
                    try await withTaskExecutorPreference(client.taskExecutor) {
                        try await configured.run(on: client, logger: logger) { record in
                            StandardOutput.line("[svc_echo] ready: endpoint \(record.endpointID) mac \(record.mac) ip \(configured.ip) udp \(configured.port)")
                        }
                    }
                }
            }
        }
    }
}
