import ArgumentParser
import SwitchyardCapture
import SwitchyardCaptureOptions
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardServices
import SwitchyardSniffing

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
            filter expression, as for tcpdump. With -r it reads a recording instead of the fabric; a \
            recording whose last record was cut is read up to that record, with a warning. \
            Lines always show MACs and numeric addresses (-n, -nn and -e are accepted for habit). \
            SIGINT/SIGTERM finish the file and exit 0; exit 2 on errors (no fabric, bad file or \
            filter), 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Option(name: .customShort("c"), parsing: .unconditional, help: "Stop after this many frames.")
    var count: Int?

    @Option(name: .customShort("w"), help: ArgumentHelp("Write the frames to this pcap file (- for stdout) instead of printing them; a .pcapng name writes pcapng.", valueName: "file"))
    var writeFile: String?

    @Option(help: "Format for -w: pcap or pcapng (default: what the file name says, else pcap).")
    var format: CaptureFormat?

    @Option(name: .customShort("r"), help: ArgumentHelp("Read frames from this pcap or pcapng file instead of the fabric.", valueName: "file"))
    var readFile: String?

    @Option(help: "Name of the sniffer's endpoint (default: sniff-PID).")
    var name: String?

    @Flag(name: .customShort("n"), help: "Accepted as tcpdump's -n/-nn: addresses and ports are always numeric.")
    var numeric: Int

    @Flag(name: .customShort("e"), help: "Accepted as tcpdump's -e: the link-level header is always printed.")
    var linkLevel = false

    @Argument(parsing: .remaining, help: "BPF filter expression, e.g. udp port 7007.")
    var expression: [String] = []

    func validate() throws {
        if let count = self.count, count < 1 {
            throw ValidationError("-c must be at least 1, got \(count)")
        }
        if self.format != nil, self.writeFile == nil {
            throw ValidationError("--format needs -w FILE")
        }
    }

    func run() async throws {
        signal(SIGPIPE, SIG_IGN)
        let filterText = self.expression.joined(separator: " ")
        // A bad filter is reported before anything is opened or connected.
        do {
            _ = filterText.isEmpty ? nil : try PcapFilter(expression: filterText)
        } catch {
            StandardOutput.error("switchyard-sniff: \(error)")
            throw ToolExit.error
        }
        if let readFile = self.readFile {
            try self.readRecording(readFile, filterText: filterText)
        } else {
            try await self.sniffLive(filterText: filterText, writeFile: self.writeFile)
        }
    }

    private func readRecording(_ path: String, filterText: String) throws {
        do {
            let filter = filterText.isEmpty ? nil : try PcapFilter(expression: filterText)
            let reader = try PcapReader(path: path)
            let format = self.format
            let writer = try self.writeFile.map { (path: String) throws(PcapError) in
                try Self.output(path, format: format, interface: "switchyard-sniff")
            }
            let sniffer = Sniffer(filter: filter, limit: self.count, writer: writer) { StandardOutput.line($0) }
            try sniffer.read(reader)
            try writer?.close()
            if let warning = reader.truncation {
                StandardOutput.error("switchyard-sniff: warning: \(warning)")
            }
        } catch {
            StandardOutput.error("switchyard-sniff: \(error)")
            throw ToolExit.error
        }
    }

    private func sniffLive(filterText: String, writeFile: String?) async throws {
        let connection = self.connection
        let name = self.name ?? "sniff-\(getpid())"
        let count = self.count
        let format = self.format
        try await ToolFailure.reporting("switchyard-sniff") {
            do {
                try await runUntilTerminated {
                    // Connect first: an existing file is not truncated when there is no fabric.
                    try await connection.withClient(clientName: "switchyard-sniff") { client in
                        // Everything non-Sendable is made inside this task: the filter and the
                        // file, each exactly once.
                        let filter = try filterText.isEmpty ? nil : PcapFilter(expression: filterText)
                        let writer = try writeFile.map { try Self.output($0, format: format, interface: name) }
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
                }
            } catch let error as PcapError {
                StandardOutput.error("switchyard-sniff: \(error)")
                throw ToolExit.error
            }
        }
    }
}

extension SwitchyardSniff {
    /// The -w file: `--format`, else what its name implies.
    static func output(_ path: String, format: CaptureFormat?, interface: String) throws(PcapError) -> CaptureFileOutput {
        try CaptureFileOutput(
            path: path, format: format ?? CaptureFormat.implied(by: path),
            application: "switchyard-sniff \(SwitchyardVersion.current)", interface: interface
        )
    }
}

