import ArgumentParser
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices
import Synchronization

@main
struct SwitchyardDig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-dig",
        abstract: "DNS lookup: endpoint cli_dig, 10.0.0.11; one UDP query to switchyard-dns, dig-like answer lines.",
        discussion: """
            Exit 0 when the server answered (whatever the status, as dig), 1 when nothing came \
            (timeout, SIGINT/SIGTERM), 2 on errors (no fabric), 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var timeout: TimeoutOptions
    @OptionGroup var logging: LoggingOptions

    @Argument(help: "The name to look up.")
    var name: String?

    @Argument(help: "Record type: A, AAAA, PTR, SOA, NS, ANY, TYPEnnn.")
    var type: String?

    @Option(help: "The DNS server's address, IPv4 or IPv6 (fd53:5900::5 is switchyard-dns's).")
    var server = IPAddress.v4(DNSResponder.defaultIP)

    @Option(name: .customShort("x"), help: ArgumentHelp("Reverse lookup: the PTR name of this address.", valueName: "ip"))
    var reverse: IPv4Address?

    @Option(help: "How to learn the server's MAC: lookup (ENDPOINT_INFO of svc_dns, the default) or arp.")
    var resolve: PingClient.Resolution = .lookup

    @Option(help: "Query id.")
    var id: UInt16 = 1

    @Option(help: ArgumentHelp("Send EDNS (RFC 6891) advertising this UDP size.", valueName: "bytes"))
    var bufsize: UInt16?

    @Flag(help: "Print only the answers' data, as dig +short.")
    var short = false

    func question() throws -> DNSQuestion {
        if let reverse = self.reverse {
            guard self.name == nil else { throw ValidationError("give a NAME or -x IP, not both") }
            return DNSQuestion(name: DNSName.reverse(reverse), type: DNSRecord.RecordType.ptr)
        }
        guard let text = self.name else { throw ValidationError("missing NAME (or -x IP)") }
        guard let name = DNSName(text) else { throw ValidationError("'\(text)' is not a valid DNS name") }
        var type = DNSRecord.RecordType.a
        if let typeText = self.type {
            guard let parsed = DNSRecord.RecordType.parse(typeText) else {
                throw ValidationError("unknown record type '\(typeText)' (A, AAAA, PTR, SOA, NS, CNAME, MX, TXT, ANY, TYPEnnn)")
            }
            type = parsed
        }
        return DNSQuestion(name: name, type: type)
    }

    func validate() throws {
        _ = try self.question()
        if let size = self.bufsize, size < 512 {
            throw ValidationError("--bufsize must be at least 512 (RFC 6891), got \(size)")
        }
    }

    func run() async throws {
        var dns = DNSClient()
        dns.timeout = self.timeout.duration
        dns.server = self.server
        dns.resolution = self.resolve
        dns.id = self.id
        dns.ednsSize = self.bufsize
        let configured = dns
        let question = try self.question()
        let connection = self.connection
        let answer = Mutex<DNSMessage?>(nil)
        try await ToolFailure.reporting("switchyard-dig") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-dig") { client in
                    let reply = try await configured.ask(question, on: client)
                    answer.withLock { $0 = reply }
                }
            }
            guard let reply = answer.withLock({ $0 }) else { throw ToolExit.negative }
            for line in self.short ? DNSClient.shortLines(for: reply) : DNSClient.lines(for: reply) {
                StandardOutput.line(line)
            }
        }
    }
}
