import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices

@main
struct SwitchyardDHCPD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-dhcpd",
        abstract: "DHCP server (RFC 2131): endpoint svc_dhcp, 10.0.0.4, UDP 67; leases 10.0.0.100-199 lowest first; answers ARP.",
        discussion: """
            Addresses are given deterministically: a client gets its reservation, else the address it \
            had, else the one it asks for if free, else the lowest free address nobody has held, else \
            the lowest free one. With --clock fixed:TIME \
            leases never age, so a recorded session replays bit for bit. --leases FILE keeps bound \
            leases across restarts (dnsmasq's layout: EXPIRY MAC IP HOSTNAME CLIENT-ID), rewritten \
            atomically after each change. Runs until SIGINT/SIGTERM (exit 0); exit 2 when there is no \
            fabric or the leases file cannot be read or written, 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup(title: "Host options") var host: HostOptions

    @Option(help: "Endpoint name.")
    var name = DHCPResponder.endpointName

    @Option(help: "The server's address (option 54).")
    var ip = DHCPServerConfiguration.defaultIP

    @Option(help: ArgumentHelp("The network clients are on (option 1 is its mask).", valueName: "network/prefix"))
    var subnet = "10.0.0.0/24"

    @Option(help: ArgumentHelp("Addresses to lease.", valueName: "first-last"))
    var range = "10.0.0.100-10.0.0.199"

    @Option(help: "Default gateway to hand out (option 3); none by default.")
    var router: IPv4Address?

    @Option(help: "DNS server to hand out (option 6); repeatable. Default: 10.0.0.5, switchyard-dns.")
    var dns: [IPv4Address] = []

    @Option(help: "NTP server to hand out (option 42); repeatable. Default: 10.0.0.3, switchyard-ntpd.")
    var ntp: [IPv4Address] = []

    @Option(help: "Domain name to hand out (option 15).")
    var domain = DNSResponder.defaultDomain

    @Option(help: "Lease time in seconds (option 51; T1 and T2 are 1/2 and 7/8 of it).")
    var leaseTime: UInt32 = 3600

    @Option(help: ArgumentHelp("Keep an address for a client: MAC=IP, or NAME=IP for the host name it sends (option 12); repeatable.", valueName: "client=ip"))
    var reserve: [String] = []

    @Option(help: "TFTP server for network boot (siaddr, option 66; with --boot-file, default 10.0.0.6: switchyard-tftpd).")
    var nextServer: IPv4Address?

    @Option(help: "Boot file for network boot (file field, option 67).")
    var bootFile: String?

    @Option(help: "Clock for lease times: system, fixed:2026-01-01T00:00:00Z or offset:SECONDS.")
    var clock = ClockSpecification("system")!

    @Option(help: ArgumentHelp("Keep leases in this file across restarts.", valueName: "file"))
    var leases: String?

    func validate() throws {
        _ = try self.serverConfiguration()
        guard self.leaseTime > 0 else { throw ValidationError("--lease-time must be at least 1 second") }
        guard !self.name.isEmpty else { throw ValidationError("--name needs an endpoint name") }
    }

    func serverConfiguration() throws -> DHCPServerConfiguration {
        var configuration = DHCPServerConfiguration()
        configuration.ip = self.ip
        guard let subnet = IPv4Subnet(self.subnet) else {
            throw ValidationError("--subnet \(self.subnet): expected NETWORK/PREFIX with no host bits, e.g. 10.0.0.0/24")
        }
        configuration.subnet = subnet
        guard let (first, last) = DHCPServerConfiguration.parseRange(self.range) else {
            throw ValidationError("--range \(self.range): expected FIRST-LAST, e.g. 10.0.0.100-10.0.0.199")
        }
        configuration.rangeStart = first
        configuration.rangeEnd = last
        configuration.router = self.router
        if !self.dns.isEmpty {
            configuration.dns = self.dns
        }
        if !self.ntp.isEmpty {
            configuration.ntp = self.ntp
        }
        configuration.domain = self.domain.isEmpty ? nil : self.domain
        configuration.leaseTime = self.leaseTime
        configuration.reservations = try self.reserve.map { text in
            guard let reservation = DHCPServerConfiguration.Reservation(text) else {
                throw ValidationError("--reserve \(text): expected MAC=IP or NAME=IP")
            }
            return reservation
        }
        // A boot file is fetched from switchyard-tftpd unless told otherwise.
        configuration.nextServer = self.nextServer ?? (self.bootFile != nil ? TFTPServer.defaultIP : nil)
        configuration.bootFile = self.bootFile
        if let problem = configuration.problem() {
            throw ValidationError(problem)
        }
        return configuration
    }

    func run() async throws {
        let logger = self.logging.makeLogger(label: "switchyard-dhcpd")
        var service = DHCPService()
        service.hostSettings = self.host.settings
        service.name = self.name
        service.configuration = try self.serverConfiguration()
        service.clock = self.clock.clock
        service.leasesPath = self.leases
        if let path = self.leases {
            do {
                service.leases = try DHCPLeaseFile.load(path)
                // Fail now, not at the first lease, if the file cannot be written.
                try DHCPLeaseFile.save(service.leases, to: path)
            } catch {
                StandardOutput.error("switchyard-dhcpd: \(error.description)")
                throw ToolExit.error
            }
        }
        let configured = service
        let connection = self.connection
        let name = self.name
        do {
            try await ToolFailure.reporting("switchyard-dhcpd") {
                try await runUntilTerminated {
                    try await connection.withClient(clientName: "switchyard-dhcpd") { client in
                        try await withTaskExecutorPreference(client.taskExecutor) {
                            try await configured.run(on: client, logger: logger) { record in
                                let pool = "\(configured.configuration.rangeStart)-\(configured.configuration.rangeEnd)"
                                StandardOutput.line("[\(name)] ready: endpoint \(record.endpointID) mac \(record.mac) ip \(configured.configuration.ip) udp 67 pool \(pool)")
                            }
                        }
                    }
                }
            }
        } catch let error as DHCPLeaseFile.FormatError {
            StandardOutput.error("switchyard-dhcpd: \(error.description)")
            throw ToolExit.error
        }
    }
}
