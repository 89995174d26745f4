import ArgumentParser
import SwitchyardCapture
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardServices
import SwitchyardSniffing

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Wireshark's extcap interface (doc/extcap.adoc in Wireshark's sources): Wireshark runs this
/// to list the interface, its link type and its options, then to capture into a FIFO it reads.
@main
struct SwitchyardExtcap: AsyncParsableCommand {
    static let interface = "switchyard"

    static let configuration = CommandConfiguration(
        commandName: "switchyard-extcap",
        abstract: "Wireshark capture interface \"switchyard\": every frame the fabric switches, live.",
        discussion: """
            Wireshark and tshark run it (scripts/install-wireshark.sh puts it in their extcap folder): \
            --extcap-interfaces, --extcap-dlts, --extcap-config, then --capture --fifo PATH \
            [--extcap-capture-filter BPF] with the fabric's --host/--port or --unix. It joins the \
            fabric as a promiscuous endpoint and streams pcapng into the FIFO until SIGTERM or \
            until the reader closes the FIFO (exit 0). Exit 2 when there is no fabric or the filter \
            is bad, 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Flag(name: .customLong("extcap-interfaces"), help: "List the interfaces this tool provides.")
    var listInterfaces = false

    @Option(name: .customLong("extcap-version"), help: ArgumentHelp("Wireshark's version (passed by Wireshark).", valueName: "version"))
    var wiresharkVersion: String?

    @Option(name: .customLong("extcap-interface"), help: ArgumentHelp("The interface to work on (switchyard).", valueName: "name"))
    var interface: String?

    @Flag(name: .customLong("extcap-dlts"), help: "List the interface's link types.")
    var listLinkTypes = false

    @Flag(name: .customLong("extcap-config"), help: "List the interface's options (shown in Wireshark's dialog).")
    var listConfiguration = false

    @Flag(help: "Capture into --fifo.")
    var capture = false

    @Option(help: ArgumentHelp("The FIFO (or file) to write the capture to.", valueName: "path"))
    var fifo: String?

    @Option(name: .customLong("extcap-capture-filter"), help: ArgumentHelp("BPF filter (tcpdump syntax).", valueName: "expression"))
    var filter: String?

    @Option(help: "Name of the capturing endpoint on the fabric (default: wireshark-PID).")
    var name: String?

    func validate() throws {
        let phases = [self.listInterfaces, self.listLinkTypes, self.listConfiguration, self.capture].filter { $0 }.count
        guard phases == 1 else {
            throw ValidationError("give one of --extcap-interfaces, --extcap-dlts, --extcap-config or --capture")
        }
        if !self.listInterfaces {
            guard let interface = self.interface else {
                throw ValidationError("--extcap-interface \(Self.interface) is needed")
            }
            guard interface == Self.interface else {
                throw ValidationError("no interface \"\(interface)\" here (this tool provides \"\(Self.interface)\")")
            }
        }
        if self.capture {
            guard let fifo = self.fifo, !fifo.isEmpty else {
                throw ValidationError("--capture needs --fifo PATH")
            }
        }
        if self.name?.isEmpty == true {
            throw ValidationError("--name needs an endpoint name")
        }
    }

    func run() async throws {
        if self.listInterfaces {
            StandardOutput.line("extcap {version=\(SwitchyardVersion.current)}")
            StandardOutput.line("interface {value=\(Self.interface)}{display=Switchyard fabric}")
        } else if self.listLinkTypes {
            StandardOutput.line("dlt {number=1}{name=EN10MB}{display=Ethernet}")
        } else if self.listConfiguration {
            for line in Self.configurationLines {
                StandardOutput.line(line)
            }
        } else {
            try await self.runCapture()
        }
    }

    /// The options Wireshark shows in the interface's dialog, passed back on --capture.
    static let configurationLines = [
        "arg {number=0}{call=--host}{display=Fabric host}{type=string}{default=127.0.0.1}{tooltip=Address of switchyardd's TCP listener}{group=Fabric}",
        "arg {number=1}{call=--port}{display=Fabric port}{type=unsigned}{range=1,65535}{default=9999}{tooltip=switchyardd's TCP port}{group=Fabric}",
        "arg {number=2}{call=--unix}{display=Fabric Unix socket}{type=fileselect}{mustexist=true}{required=false}{tooltip=switchyardd's Unix socket, instead of host and port}{group=Fabric}",
        "arg {number=3}{call=--name}{display=Endpoint name}{type=string}{required=false}{tooltip=Name of the capturing endpoint on the fabric (default: wireshark-PID)}{group=Fabric}",
    ]

    private func runCapture() async throws {
        // A closed FIFO is a write error (EPIPE), not a signal that kills us.
        signal(SIGPIPE, SIG_IGN)
        let fifo = self.fifo!
        do {
            try await self.capture(into: fifo)
        } catch {
            // The error is on stderr, where Wireshark shows it; the reader must also see the
            // FIFO's end, or it waits in open(2) for a writer that never comes.
            Self.releaseReader(of: fifo)
            throw error
        }
    }

    /// Opens and closes `path` for writing when it is a FIFO and a reader waits on it (within
    /// a few seconds): the reader gets end of file at once.
    static func releaseReader(of path: String) {
        var status = stat()
        guard stat(path, &status) == 0, status.st_mode & S_IFMT == S_IFIFO else { return }
        for _ in 0..<60 {
            let descriptor = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC)
            if descriptor >= 0 {
                close(descriptor)
                return
            }
            guard errno == ENXIO else { return }
            // No reader yet (Wireshark opens it after starting us).
            usleep(50_000)
        }
    }

    private func capture(into fifo: String) async throws {
        let filterText = self.filter ?? ""
        do {
            _ = filterText.isEmpty ? nil : try PcapFilter(expression: filterText)
        } catch {
            StandardOutput.error("switchyard-extcap: \(error)")
            throw ToolExit.error
        }
        let connection = self.connection
        let name = self.name ?? "wireshark-\(getpid())"
        try await ToolFailure.reporting("switchyard-extcap") {
            do {
                try await runUntilTerminated {
                    try await connection.withClient(clientName: "switchyard-extcap") { client in
                        let filter = try filterText.isEmpty ? nil : PcapFilter(expression: filterText)
                        let output = try CaptureFileOutput(
                            path: fifo, format: .pcapng,
                            application: "switchyard-extcap \(SwitchyardVersion.current)", interface: name
                        )
                        // Wireshark learns the link type from the header at once, before any frame.
                        try output.flush()
                        let sniffer = Sniffer(filter: filter, limit: nil, writer: output) { _ in }
                        sniffer.flushesEachFrame = true
                        do {
                            try await sniffer.sniff(on: client, endpointName: name) { _ in }
                        } catch is CancellationError {
                        }
                        try? output.close()
                    }
                }
            } catch let error as PcapError {
                // The reader went away: the capture is over, as Wireshark asked.
                if error.code == .writeFailed, error.message.hasSuffix(String(cString: strerror(EPIPE))) {
                    return
                }
                StandardOutput.error("switchyard-extcap: \(error)")
                throw ToolExit.error
            }
        }
    }
}
