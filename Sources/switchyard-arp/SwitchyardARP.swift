import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardServices

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct SwitchyardARP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-arp",
        abstract: "ARP on a Switchyard fabric, like arping.",
        version: SwitchyardVersion.current,
        subcommands: [WhoHas.self]
    )

    /// A bare `switchyard-arp` names no action: a usage error, not success.
    /// Options may come before the subcommand too.
    static func main() async {
        await Self.main(SubcommandArguments.reordered(Array(CommandLine.arguments.dropFirst()), subcommands: Set(Self.configuration.subcommands.compactMap { $0.configuration.commandName })))
    }

    func run() async throws {
        throw ValidationError("missing subcommand: switchyard-arp who-has IP")
    }
}

struct WhoHas: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "who-has",
        abstract: "Broadcast ARP requests for an IPv4 address and print the MAC that answers.",
        discussion: "Exit 0 when an answer came, 1 when none did (timeout or SIGINT/SIGTERM), 2 on errors, 64 on bad flags."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var timeout: TimeoutOptions
    @OptionGroup var logging: LoggingOptions

    @Option(name: .customLong("source-ip"), help: "Sender IPv4 address in the requests.")
    var sourceIP = IPv4Address(10, 0, 0, 250)

    @Argument(help: "The IPv4 address to resolve, e.g. 10.0.0.2.")
    var target: IPv4Address

    func run() async throws {
        let connection = self.connection
        let timeout = self.timeout.duration
        let sourceIP = self.sourceIP
        let target = self.target
        try await ToolFailure.reporting("switchyard-arp") {
            let termination = try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-arp") { client in
                    let me = try await AttachedEndpoint.attach("arp-\(getpid())", on: client)
                    let resolver = ARPResolver(endpointID: me.id, mac: me.mac, ip: sourceIP)
                    let clock = ContinuousClock()
                    let start = clock.now
                    guard let mac = try await resolver.resolve(target, on: client, timeout: timeout) else {
                        throw FabricClientError(.timeout, "timeout: no ARP reply for \(target) within \(timeout.secondsDescription) s")
                    }
                    let elapsed = start.duration(to: clock.now)
                    StandardOutput.line("\(target) is-at \(mac) (\(elapsed.millisecondsDescription) ms)")
                }
            }
            if termination == .signalled {
                throw ToolExit.negative
            }
        }
    }
}
