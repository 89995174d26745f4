import ArgumentParser
import Foundation
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardServices

@main
struct SwitchyardPing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-ping",
        abstract: "UDP ping to the echo service: endpoint cli1, 10.0.0.1:12345 to 10.0.0.2:7007.",
        discussion: "The payload is --message, else $PING_MSG, else \"marco polo\". Exit 0 when every ping was echoed, 1 otherwise."
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Payload to send (default: $PING_MSG, else \"marco polo\").")
    var message: String?

    @Option(help: "Seconds to wait for the service, for ARP and for each reply.")
    var timeout: Double = 3

    @Option(name: .shortAndLong, help: "Number of pings to send.")
    var count: Int = 1

    @Option(help: "How to learn the service's MAC: lookup (ENDPOINT_INFO, the default) or arp.")
    var resolve: PingClient.Resolution = .lookup

    @Option(help: "Seconds between pings with --count (ping -i); 0 sends each as soon as the last was answered.")
    var interval: Double = 0

    func validate() throws {
        guard self.timeout > 0, self.timeout <= 3600 else {
            throw ValidationError("--timeout must be between 0 and 3600 seconds, got \(self.timeout)")
        }
        guard self.count >= 1 else {
            throw ValidationError("--count must be at least 1, got \(self.count)")
        }
        guard self.interval >= 0, self.interval <= 3600 else {
            throw ValidationError("--interval must be between 0 and 3600 seconds, got \(self.interval)")
        }
    }

    func run() async throws {
        let text = self.message ?? ProcessInfo.processInfo.environment["PING_MSG"] ?? "marco polo"
        var ping = PingClient(payload: Array(text.utf8))
        ping.count = self.count
        ping.timeout = .milliseconds(Int64((self.timeout * 1000).rounded()))
        ping.resolution = self.resolve
        ping.interval = .milliseconds(Int64((self.interval * 1000).rounded()))
        let count = self.count
        try await ToolFailure.reporting("cli") {
            let client = try await self.connection.connect(clientName: "switchyard-ping")
            let report: PingClient.Report
            do {
                report = try await withTaskExecutorPreference(client.taskExecutor) {
                    try await ping.run(on: client) { line, isFailure in
                        isFailure ? StandardOutput.error(line) : StandardOutput.line(line)
                    }
                }
            } catch {
                await client.close()
                throw error
            }
            await client.close()
            if count > 1 {
                report.summary(target: "\(ping.serviceIP):\(ping.servicePort)").forEach(StandardOutput.line)
            }
            if report.received < report.sent {
                throw ExitCode(1)
            }
        }
    }
}

