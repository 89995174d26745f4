import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardServices
import Synchronization

@main
struct SwitchyardDHCP: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-dhcp",
        abstract: "DHCP client: endpoint cli_dhcp; DISCOVER, OFFER, REQUEST, ACK, and prints the lease.",
        discussion: """
            --renew sends one renewal to the server after the lease (RENEWING state), --release gives \
            the address back at the end. The transaction id is the MAC's low 32 bits, so the same \
            client sends the same bytes every run. Exit 0 with a lease, 1 when none came (timeout, a \
            NAK, SIGINT/SIGTERM), 2 on errors (no fabric), 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var timeout: TimeoutOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "Endpoint name.")
    var name = DHCPClient.endpointName

    @Option(help: "Client MAC (chaddr and frame source); the endpoint's own by default.")
    var mac: MACAddress?

    @Option(help: "Host name to send (option 12); the endpoint name by default.")
    var hostname: String?

    @Flag(help: "After the lease, renew it once (a unicast REQUEST to the server).")
    var renew = false

    @Flag(help: "Release the lease before exiting.")
    var release = false

    func validate() throws {
        guard !self.name.isEmpty else { throw ValidationError("--name needs an endpoint name") }
        if let hostname = self.hostname, hostname.utf8.count > 255 {
            throw ValidationError("--hostname is \(hostname.utf8.count) bytes; option 12 holds 255")
        }
    }

    func run() async throws {
        var dhcp = DHCPClient()
        dhcp.timeout = self.timeout.duration
        dhcp.endpointName = self.name
        dhcp.mac = self.mac
        dhcp.hostName = self.hostname
        dhcp.renew = self.renew
        dhcp.release = self.release
        let configured = dhcp
        let connection = self.connection
        let name = self.name
        let outcome = Mutex<Result<DHCPClient.Lease, DHCPClient.Refusal>?>(nil)
        try await ToolFailure.reporting("switchyard-dhcp") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-dhcp") { client in
                    do {
                        let lease = try await configured.obtainLease(on: client)
                        outcome.withLock { $0 = .success(lease) }
                    } catch let refusal as DHCPClient.Refusal {
                        outcome.withLock { $0 = .failure(refusal) }
                    }
                }
            }
            switch outcome.withLock({ $0 }) {
            case .success(let lease):
                for line in Self.lines(lease, name: name) {
                    StandardOutput.line(line)
                }
            case .failure(let refusal):
                StandardOutput.error("switchyard-dhcp: \(refusal.description)")
                throw ToolExit.negative
            case nil:
                throw ToolExit.negative
            }
        }
    }

    static func lines(_ lease: DHCPClient.Lease, name: String) -> [String] {
        func list(_ addresses: [IPv4Address]) -> String {
            addresses.isEmpty ? "none" : addresses.map(\.description).joined(separator: ",")
        }
        var lines = [
            "[\(name)] lease \(lease.address) mask \(lease.mask?.description ?? "none") from \(lease.server) for \(lease.leaseTime.map { "\($0) s" } ?? "an unstated time")",
            "[\(name)] router \(list(lease.routers)) dns \(list(lease.dns)) ntp \(list(lease.ntp)) domain \(lease.domain ?? "none")",
        ]
        if lease.renewed {
            lines.append("[\(name)] renewed \(lease.address) with \(lease.server)")
        }
        if lease.released {
            lines.append("[\(name)] released \(lease.address)")
        }
        return lines
    }
}
