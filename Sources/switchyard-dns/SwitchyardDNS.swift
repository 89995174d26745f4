import ArgumentParser
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices

@main
struct SwitchyardDNS: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-dns",
        abstract: "Authoritative DNS server: endpoint svc_dns, 10.0.0.5 and fd53:5900::5, UDP 53; A, AAAA, PTR, SOA and NS for its domain; answers ARP and ping.",
        discussion: """
            Knows echo, ntp, dhcp and dns in its domain (the project's services) plus --record and \
            --hosts names; short names are put under the domain. Unknown names in the domain get \
            NXDOMAIN, other types of a known name an empty NOERROR, names outside REFUSED (no \
            recursion). Answers over 512 bytes (or the query's EDNS size, at most 1232) are \
            truncated with TC set. Runs until SIGINT/SIGTERM (exit 0); exit 2 when there is no fabric, \
            64 on bad flags or a bad hosts file.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup(title: "Host options") var host: HostOptions

    @Option(help: "Endpoint name.")
    var name = DNSResponder.endpointName

    @Option(help: "The server's address.")
    var ip = DNSResponder.defaultIP

    @Option(help: "The domain it is authoritative for.")
    var domain = DNSResponder.defaultDomain

    @Option(help: ArgumentHelp("An A record (and its PTR) or, for an IPv6 address, an AAAA record; repeatable.", valueName: "name=ip"))
    var record: [String] = []

    @Option(help: ArgumentHelp("Records from an /etc/hosts-format file (IPv4 and IPv6 lines).", valueName: "file"))
    var hosts: String?

    @Option(help: "TTL of every answer, in seconds.")
    var ttl: UInt32 = 60

    func validate() throws {
        // The flags alone: a hosts file is read in `run`, where a file that cannot be read or
        // parsed is an error (exit 2), not a usage error.
        _ = try self.zone(readingHosts: false)
        guard !self.name.isEmpty else { throw ValidationError("--name needs an endpoint name") }
    }

    func zone(readingHosts: Bool) throws -> DNSZone {
        guard let domain = DNSName(self.domain), !domain.labels.isEmpty else {
            throw ValidationError("--domain \(self.domain) is not a valid domain name")
        }
        var zone = DNSResponder.defaultZone(domain: domain, dnsIP: self.ip, dnsIP6: try self.host.uniqueLocal())
        do {
            for text in self.record {
                try zone.add(record: text)
            }
        } catch {
            throw ValidationError(error.description)
        }
        guard readingHosts, let path = self.hosts else { return zone }
        do {
            let text = try TextFile.read(path, what: "hosts file")
            try zone.add(hostsFile: text, path: path)
        } catch let error as DNSZone.RecordError {
            StandardOutput.error("switchyard-dns: \(error.description)")
            throw ToolExit.error
        } catch let error as TextFile.ReadError {
            StandardOutput.error("switchyard-dns: \(error.description)")
            throw ToolExit.error
        }
        return zone
    }

    func run() async throws {
        let logger = self.logging.makeLogger(label: "switchyard-dns")
        var service = DNSService()
        service.hostSettings = self.host.settings
        service.name = self.name
        service.ip = self.ip
        service.zone = try self.zone(readingHosts: true)
        service.ttl = self.ttl
        let configured = service
        let connection = self.connection
        try await ToolFailure.reporting("switchyard-dns") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-dns") { client in
                    try await withTaskExecutorPreference(client.taskExecutor) {
                        try await configured.run(on: client, logger: logger) { record in
                            StandardOutput.line("[\(configured.name)] ready: endpoint \(record.endpointID) mac \(record.mac) ip \(configured.ip) udp 53 domain \(configured.zone.domain) (\(configured.zone.recordCount) records)")
                        }
                    }
                }
            }
        }
    }
}
