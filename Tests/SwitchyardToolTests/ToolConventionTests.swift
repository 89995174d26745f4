import Foundation
import SwitchyardCommandLine
import SwitchyardTestKit
import SwitchyardTestSupport
import Testing

/// docs/conventions.md, checked for every executable: a new tool is added to `all` and
/// inherits every check.
@Suite(.timeLimit(.minutes(3))) struct ToolConventionTests {
    struct Tool: Sendable, CustomStringConvertible {
        var name: String
        /// Arguments that make it a client of the fabric (before --port), if it is one.
        var clientArguments: [String]?
        /// Exit status for a bad flag (replay's contract is 0/1/2).
        var usageStatus: Int32 = 64
        /// Exit status after SIGTERM while it waits for the fabric's answer.
        var terminatedStatus: Int32
        /// For a tool of subcommands, the one whose help lists the options.
        var subcommand: String?
        var description: String { self.name }
    }

    static let all: [Tool] = [
        Tool(name: "switchyardd", clientArguments: nil, terminatedStatus: 0),
        Tool(name: "switchyard-echo", clientArguments: [], terminatedStatus: 0),
        Tool(name: "switchyard-ntpd", clientArguments: [], terminatedStatus: 0),
        Tool(name: "switchyard-dhcpd", clientArguments: [], terminatedStatus: 0),
        Tool(name: "switchyard-dns", clientArguments: [], terminatedStatus: 0),
        Tool(name: "switchyard-tftpd", clientArguments: ["--root", "/"], terminatedStatus: 0),
        Tool(name: "switchyard-dhcp", clientArguments: [], terminatedStatus: 1),
        Tool(name: "switchyard-dig", clientArguments: ["echo.switchyard.test"], terminatedStatus: 1),
        Tool(name: "switchyard-sniff", clientArguments: [], terminatedStatus: 0),
        Tool(name: "switchyard-ping", clientArguments: [], terminatedStatus: 1),
        Tool(name: "switchyard-ntp", clientArguments: [], terminatedStatus: 1),
        Tool(name: "switchyard-arp", clientArguments: ["who-has", "10.0.0.2"], terminatedStatus: 1, subcommand: "who-has"),
        Tool(name: "switchyard-ctl", clientArguments: ["rules"], terminatedStatus: 2, subcommand: "rules"),
        Tool(name: "switchyard-tap", clientArguments: ["--name", "conventions"], terminatedStatus: 0),
        Tool(name: "switchyard-extcap", clientArguments: ["--extcap-interface", "switchyard", "--capture", "--fifo", "/dev/null"], terminatedStatus: 0),
        Tool(name: "switchyard-stats", clientArguments: [], terminatedStatus: 2),
        Tool(name: "switchyard-replay", clientArguments: [Fixtures.echoSession], usageStatus: 2, terminatedStatus: 2),
    ]

    /// Every executable the package builds is in `all`.
    @Test func everyExecutableIsChecked() throws {
        let manifest = try String(contentsOf: Tools.packageRoot.appendingPathComponent("Package.swift"), encoding: .utf8)
        let executables = manifest.split(separator: "\n")
            .filter { $0.contains(".executable(name:") }
            .compactMap { $0.split(separator: "\"").dropFirst().first.map(String.init) }
        #expect(Set(executables) == Set(Self.all.map(\.name)))
    }

    /// The tools that capture or read captures link libpcap; the others do not (their
    /// modules do not depend on Capture).
    static let capturing: Set<String> = ["switchyardd", "switchyard-sniff", "switchyard-extcap", "switchyard-replay"]

    @Test(.requires(.tool("ldd", package: "libc-bin")), arguments: Self.all)
    func onlyTheToolsThatCaptureLinkLibpcap(tool: Tool) async throws {
        let ldd = try ChildProcess(URL(fileURLWithPath: Tools.which("ldd")!), [Tools.executable(tool.name).path])
        #expect(try await ldd.waitForExit() == 0)
        #expect(ldd.stdout.contains("libpcap") == Self.capturing.contains(tool.name), "\(ldd.stdout)")
    }

    @Test(arguments: Self.all)
    func helpListsVersionAndLogLevel(tool: Tool) async throws {
        let helpArguments = tool.subcommand.map { [$0, "--help"] } ?? ["--help"]
        let help = try ChildProcess(Tools.executable(tool.name), helpArguments)
        #expect(try await help.waitForExit() == 0)
        #expect(help.stdout.contains("--log-level"), "\(help.stdout)")
        #expect(help.stdout.contains("--version"), "\(help.stdout)")
        #expect(help.stderr.isEmpty)
        let version = try ChildProcess(Tools.executable(tool.name), ["--version"])
        #expect(try await version.waitForExit() == 0)
        #expect(version.stdout == SwitchyardVersion.current + "\n")
    }

    @Test(arguments: Self.all)
    func aBadFlagIsAUsageError(tool: Tool) async throws {
        let process = try ChildProcess(Tools.executable(tool.name), (tool.clientArguments ?? []) + ["--no-such-flag"])
        #expect(try await process.waitForExit() == tool.usageStatus)
        #expect(process.stderr.contains("--no-such-flag"), "\(process.stderr)")
        #expect(!process.stderr.contains("Backtrace") && !process.stderr.contains("Fatal error"))
    }

    @Test(arguments: Self.all.filter { $0.clientArguments != nil })
    func anUnreachableFabricIsAnErrorWithTheToolsPrefix(tool: Tool) async throws {
        // Port 1: nothing listens there.
        let process = try ChildProcess(Tools.executable(tool.name), tool.clientArguments! + ["--port", "1"])
        #expect(try await process.waitForExit() == 2)
        #expect(process.stderr.hasPrefix("\(tool.name): cannot reach fabric at 127.0.0.1:1: "), "\(process.stderr)")
        #expect(process.stderr.split(separator: "\n").count == 1, "one line: \(process.stderr)")
        #expect(process.stdout.isEmpty)
    }

    /// The connection options before the subcommand work as they do after it.
    @Test(arguments: Self.all.filter { $0.subcommand != nil })
    func connectionOptionsMayComeBeforeTheSubcommand(tool: Tool) async throws {
        let process = try ChildProcess(Tools.executable(tool.name), ["--port", "1", "--log-level", "error"] + tool.clientArguments!)
        #expect(try await process.waitForExit() == 2)
        #expect(process.stderr.hasPrefix("\(tool.name): cannot reach fabric at 127.0.0.1:1: "), "\(process.stderr)")
        let help = try ChildProcess(Tools.executable(tool.name), ["--help"])
        #expect(try await help.waitForExit() == 0, "the root's own flags stay the root's")
        #expect(help.stdout.contains("SUBCOMMANDS"), "\(help.stdout)")
    }

    /// A file named on the command line that cannot be read (or written) is an error, exit 2,
    /// with the tool's prefix and the system's reason; never a usage error.
    @Test(arguments: [
        ("switchyard-dns", ["--port", "1", "--hosts", "/nonexistent/hosts"], "switchyard-dns: cannot read hosts file /nonexistent/hosts: No such file or directory"),
        ("switchyardd", ["--port", "0", "--rules", "/nonexistent/lab.rules"], "switchyardd: cannot read rules file /nonexistent/lab.rules: No such file or directory"),
        ("switchyardd", ["--port", "0", "--capture", "/nonexistent/dir/x.pcap"], "switchyardd: "),
        ("switchyard-replay", ["/nonexistent/session.pcap"], "switchyard-replay: "),
        ("switchyard-sniff", ["-r", "/nonexistent/x.pcap"], "switchyard-sniff: "),
        ("switchyard-dhcpd", ["--port", "1", "--leases", "/nonexistent/dir/leases"], "switchyard-dhcpd: "),
    ])
    func aFileThatCannotBeReadIsAnError(tool: String, arguments: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable(tool), arguments)
        #expect(try await process.waitForExit() == 2, "\(process.stderr)")
        #expect(process.stderr.hasPrefix(message), "\(process.stderr)")
        #expect(process.stderr.split(separator: "\n").count == 1, "one line: \(process.stderr)")
    }

    @Test func aHostsFileWithABadLineIsAnError() async throws {
        let path = try temporaryPath("bad.hosts")
        try "10.0.0.80 web\nnot-an-address web2\n".write(toFile: path, atomically: true, encoding: .utf8)
        let process = try ChildProcess(Tools.executable("switchyard-dns"), ["--port", "1", "--hosts", path])
        #expect(try await process.waitForExit() == 2, "\(process.stderr)")
        #expect(process.stderr.hasPrefix("switchyard-dns: "), "\(process.stderr)")
    }

    /// SIGTERM while the tool waits for a fabric that never answers.
    @Test(arguments: Self.all)
    func sigtermEndsTheToolWithItsDocumentedStatus(tool: Tool) async throws {
        guard let arguments = tool.clientArguments else {
            let fabric = try await FabricProcess.ours()
            fabric.process.signal(SIGTERM)
            #expect(try await fabric.process.waitForExit() == tool.terminatedStatus)
            return
        }
        let silent = try await SilentFabric.start()
        let process = try ChildProcess(Tools.executable(tool.name), arguments + ["--port", "\(silent.port)"])
        try await silent.waitForConnections(1)
        process.signal(SIGTERM)
        let status = try await process.waitForExit()
        await silent.stop()
        #expect(status == tool.terminatedStatus, "\(process.stderr)")
        #expect(!process.stderr.contains("Backtrace"))
    }
}
