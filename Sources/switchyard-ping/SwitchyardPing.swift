import ArgumentParser
import Foundation
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices
import Synchronization

@main
struct SwitchyardPing: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-ping",
        abstract: "UDP ping to the echo service: endpoint cli1, 10.0.0.1:12345 to 10.0.0.2:7007 (or fd53:5900::1 to an IPv6 address).",
        discussion: """
            The payload is --message, else $PING_MSG, else "marco polo". Exit 0 when every ping was \
            echoed, 1 otherwise (no reply, service not found), 2 on errors (no fabric), 64 on bad \
            flags. SIGINT/SIGTERM stop it: with --count it prints its statistics first, as ping does.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Argument(help: "The echo service's address, IPv4 or IPv6 (fd53:5900::2 is switchyard-echo's).")
    var destination = IPAddress.v4(EchoResponder.defaultIP)

    @Option(help: "Payload to send (default: $PING_MSG, else \"marco polo\"; at most 65507 bytes).")
    var message: String?

    @Option(parsing: .unconditional, help: "Seconds to wait for the service, for ARP and for each reply.")
    var timeout: Double = 3

    @Option(name: .shortAndLong, parsing: .unconditional, help: "Number of pings to send.")
    var count: Int = 1

    @Option(help: "How to learn the service's MAC: lookup (ENDPOINT_INFO) or arp.")
    var resolve: PingClient.Resolution = .lookup

    @Option(parsing: .unconditional, help: "Seconds between pings with --count (ping -i); 0 sends each as soon as the last was answered.")
    var interval: Double = 0

    func validate() throws {
        try TimeoutOptions.check(self.timeout)
        guard self.count >= 1 else {
            throw ValidationError("--count must be at least 1, got \(self.count)")
        }
        guard self.interval >= 0, self.interval <= 3600 else {
            throw ValidationError("--interval must be between 0 and 3600 seconds, got \(self.interval)")
        }
        let length = self.payload.count
        let limit = UDPMessage.maximumPayloadLength(to: self.destination)
        guard length <= limit else {
            throw ValidationError("the payload has \(length) bytes; one UDP datagram carries at most \(limit)")
        }
    }

    private var payload: [UInt8] {
        Array((self.message ?? ProcessInfo.processInfo.environment["PING_MSG"] ?? "marco polo").utf8)
    }

    func run() async throws {
        var ping = PingClient(payload: self.payload)
        ping.count = self.count
        ping.timeout = TimeoutOptions.duration(seconds: self.timeout)
        ping.resolution = self.resolve
        ping.interval = TimeoutOptions.duration(seconds: self.interval)
        ping.serviceIP = self.destination
        let configured = ping
        let count = self.count
        let connection = self.connection
        // What was sent and answered so far: a signal ends the run, not the statistics.
        let tally = Mutex(PingClient.Report())
        try await ToolFailure.reporting("switchyard-ping") {
            let termination = try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-ping") { client in
                    _ = try await withTaskExecutorPreference(client.taskExecutor) {
                        try await configured.run(on: client) { line, isFailure in
                            isFailure ? StandardOutput.error(line) : StandardOutput.line(line)
                        } progress: { report in
                            tally.withLock { $0 = report }
                        }
                    }
                }
            }
            let report = tally.withLock { $0 }
            if count > 1 || termination == .signalled {
                report.summary(target: configured.serviceIP.withPort(configured.servicePort)).forEach(StandardOutput.line)
            }
            if report.received < report.sent || report.sent == 0 {
                throw ToolExit.negative
            }
        }
    }
}
