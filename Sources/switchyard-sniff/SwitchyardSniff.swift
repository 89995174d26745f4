import ArgumentParser
import SwitchyardCapture
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardServices

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct SwitchyardSniff: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-sniff",
        abstract: "Print every frame the fabric switches, one tcpdump-like line each, or write them to a pcap file.",
        discussion: """
            Joins the fabric as a promiscuous endpoint (sniff-PID). Trailing arguments are a BPF \
            filter expression, as for tcpdump. With -r it reads a recording instead of the fabric.
            """
    )

    @OptionGroup var connection: ConnectionOptions

    @Option(name: .customShort("c"), help: "Stop after this many frames.")
    var count: Int?

    @Option(name: .customShort("w"), help: ArgumentHelp("Write the frames to this pcap file (- for stdout) instead of printing them.", valueName: "file"))
    var writeFile: String?

    @Option(name: .customShort("r"), help: ArgumentHelp("Read frames from this pcap or pcapng file instead of the fabric.", valueName: "file"))
    var readFile: String?

    @Option(help: "Name of the sniffer's endpoint (default: sniff-PID).")
    var name: String?

    @Argument(parsing: .remaining, help: "BPF filter expression, e.g. udp port 7007.")
    var expression: [String] = []

    func validate() throws {
        if let count = self.count, count < 1 {
            throw ValidationError("-c must be at least 1, got \(count)")
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let filterText = self.expression.joined(separator: " ")
        let filter: PcapFilter?
        let writer: PcapDumper?
        do {
            filter = filterText.isEmpty ? nil : try PcapFilter(expression: filterText)
            writer = try self.writeFile.map { (path: String) throws(PcapError) in try PcapDumper(path: path, snapshotLength: CaptureConfiguration.defaultSnapshotLength) }
        } catch {
            StandardOutput.error("switchyard-sniff: \(error)")
            throw ExitCode(2)
        }
        let sniffer = Sniffer(filter: filter, limit: self.count, writer: writer) { StandardOutput.line($0) }

        if let readFile = self.readFile {
            do {
                try sniffer.read(try PcapReader(path: readFile))
                try writer?.close()
            } catch {
                StandardOutput.error("switchyard-sniff: \(error)")
                throw ExitCode(2)
            }
            return
        }
        try await self.sniffLive(filterText: filterText, writeFile: self.writeFile)
    }

    private func sniffLive(filterText: String, writeFile: String?) async throws {
        let connection = self.connection
        let name = self.name ?? "sniff-\(getpid())"
        let count = self.count
        try await ToolFailure.reporting("switchyard-sniff") {
            let client = try await connection.connect(clientName: "switchyard-sniff")
            try await runUntilTerminated {
                // Everything non-Sendable is made inside this task: the filter and the file.
                let filter = try filterText.isEmpty ? nil : PcapFilter(expression: filterText)
                let writer = try writeFile.map { try PcapDumper(path: $0, snapshotLength: CaptureConfiguration.defaultSnapshotLength) }
                let sniffer = Sniffer(filter: filter, limit: count, writer: writer) { StandardOutput.line($0) }
                do {
                    try await sniffer.sniff(on: client, endpointName: name) { record in
                        StandardOutput.error("[sniff] listening on \(connection.addressDescription) as endpoint \(record.endpointID) \(record.name) (promiscuous)\(filterText.isEmpty ? "" : ", filter: \(filterText)")")
                    }
                } catch is CancellationError {
                    // SIGINT/SIGTERM: finish the file and report, like tcpdump.
                }
                try writer?.close()
                StandardOutput.error("\(sniffer.frameCount) frame\(sniffer.frameCount == 1 ? "" : "s") captured")
            }
            await client.close()
        }
    }
}
