import ArgumentParser
import Logging
import ServiceLifecycle
import SwitchyardCapture
import SwitchyardCommandLine
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules
import SwitchyardServer
import SwitchyardTap

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

@main
struct Switchyardd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyardd",
        abstract: "Switch raw Ethernet frames between Switchyard endpoints (protocol v1).",
        discussion: """
            Prints "[fabric] listening on HOST:PORT" when ready (on stderr when the capture goes \
            to stdout). Rotated captures are named NAME_00001.EXT, NAME_00002.EXT, ..., numbered \
            on from the highest number already there. SIGINT/SIGTERM: drain, close, exit 0. Exit 1 \
            when the address is taken, 2 when the capture cannot be written, 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @Option(help: "Address to listen on.")
    var host: String = "127.0.0.1"

    @Option(parsing: .unconditional, help: "TCP port to listen on (0 picks a free port).")
    var port: Int = 9999

    @Flag(help: "Allow listening on an address other than loopback (anyone who reaches it can join the fabric).")
    var allowRemote = false

    @Option(help: ArgumentHelp("Listen on this Unix-domain socket instead of TCP; switchyard-tap hands TAP devices to the fabric at PATH.tap.", valueName: "path"))
    var unix: String?

    @Option(help: ArgumentHelp("Permissions of the --unix socket file, in octal: who may join.", valueName: "mode"))
    var unixMode: String?

    @Option(name: .customLong("queue-kb"), parsing: .unconditional, help: "Per-connection outbound queue cap in KiB; past it senders are slowed, and after the stall timeout frames are dropped and counted.")
    var queueKiB: Int = ServerConfiguration.defaultOutboundQueueLimit / 1024

    @Option(name: .customLong("stall-timeout-ms"), parsing: .unconditional, help: "Milliseconds a subscriber over its queue cap may hold its senders back before frames to it are dropped.")
    var stallTimeoutMilliseconds: Int = ServerConfiguration.defaultStallTimeoutMilliseconds

    @Option(parsing: .unconditional, help: "Connections served at once; more are answered with ERROR and closed.")
    var maxConnections: Int = ServerConfiguration.defaultMaximumConnections

    @Option(parsing: .unconditional, help: "Endpoints one connection may own.")
    var maxEndpointsPerConnection: Int = FabricCore.defaultMaximumEndpointsPerConnection

    @Option(name: .customLong("max-buffered-mb"), parsing: .unconditional, help: "MiB all connections together may hold in queues and half-received messages.")
    var maxBufferedMiB: Int = ServerConfiguration.defaultBufferBudget / (1024 * 1024)

    @OptionGroup(title: "Capture") var capture: CaptureOptions

    @Option(name: .customLong("qemu"), help: ArgumentHelp("A port for QEMU NICs (-netdev stream/dgram/socket): each VM connected there is endpoint NAME (then NAME-2, ...). Repeatable.", valueName: "NAME=unix:PATH|NAME=tcp:HOST:PORT|NAME=udp:HOST:PORT"))
    var qemu: [String] = []

    @Option(name: .customLong("vxlan"), help: ArgumentHelp("A VXLAN remote (another fabric, a kernel VXLAN device, an OVS bridge): endpoint NAME. Repeatable.", valueName: "NAME=REMOTE_IP[:PORT]"))
    var vxlan: [String] = []

    @Option(name: .customLong("vxlan-vni"), parsing: .unconditional, help: "The VXLAN network identifier (24 bits).")
    var vxlanVNI: UInt32 = VXLANConfiguration.defaultVNI

    @Option(name: .customLong("vxlan-listen"), help: ArgumentHelp("Where VXLAN datagrams are received (default 127.0.0.1:4789; 0.0.0.0:4789 with --allow-remote).", valueName: "host:port"))
    var vxlanListen: String?

    @Option(name: .customLong("mac-start"), help: ArgumentHelp("First allocated MAC, 02:53:59:00:00:01 to 02:53:59:ff:ff:ff: fabrics joined by VXLAN each need their own range (v1's first endpoint is 02:53:59:00:00:01).", valueName: "mac"))
    var macStart: String?

    @Option(name: .customLong("vxlan-mtu"), parsing: .unconditional, help: "Largest outer IP packet; frames whose encapsulation (36 bytes + the frame) is larger are dropped and counted.")
    var vxlanMTU: Int = 1500

    @Option(name: .customLong("rules"), help: ArgumentHelp("Apply the rules in this file to every delivery (docs/rules.md).", valueName: "file"))
    var rulesFile: String?

    @Option(parsing: .unconditional, help: "Seed of the rules' random draws: the same seed and frames give the same drops, copies, corruptions and delays.")
    var seed: UInt64 = 0

    @OptionGroup var logging: LoggingOptions

    func validate() throws {
        guard (0...65535).contains(self.port) else {
            throw ValidationError("--port must be between 0 and 65535, got \(self.port)")
        }
        if self.unix == nil, !self.allowRemote {
            switch LoopbackCheck.classify(self.host) {
            case .loopback:
                break
            case .notLoopback(let address):
                throw ValidationError("\(self.host) is not a loopback address (\(address)): anyone who can reach it could join the fabric; pass --allow-remote to listen there anyway")
            case .unresolvable(let reason):
                throw ValidationError("--host \(self.host): \(reason)")
            }
        }
        if let mode = self.unixMode {
            guard self.unix != nil else {
                throw ValidationError("--unix-mode needs --unix PATH")
            }
            guard let value = UInt32(mode, radix: 8), value <= 0o777 else {
                throw ValidationError("--unix-mode must be octal permissions such as 0660, got \(mode)")
            }
        }
        if let path = self.unix, path.isEmpty {
            throw ValidationError("--unix needs a socket path")
        }
        guard self.queueKiB >= 64 else {
            throw ValidationError("--queue-kb must be at least 64, got \(self.queueKiB)")
        }
        guard self.maxConnections >= 1 else {
            throw ValidationError("--max-connections must be at least 1, got \(self.maxConnections)")
        }
        guard self.maxEndpointsPerConnection >= 1 else {
            throw ValidationError("--max-endpoints-per-connection must be at least 1, got \(self.maxEndpointsPerConnection)")
        }
        guard self.maxBufferedMiB >= 16 else {
            throw ValidationError("--max-buffered-mb must be at least 16, got \(self.maxBufferedMiB)")
        }
        var names: Set<String> = []
        for text in self.qemu {
            let specification: QEMUPortSpecification
            switch QEMUPortSpecification.parse(text) {
            case .success(let parsed):
                specification = parsed
            case .failure(let error):
                throw ValidationError(error.message)
            }
            guard names.insert(specification.name).inserted else {
                throw ValidationError("--qemu \(text): the name \(specification.name) is given twice")
            }
            switch specification.address {
            case .tcp(let host, _), .udp(let host, _):
                if !self.allowRemote, LoopbackCheck.classify(host) != .loopback {
                    throw ValidationError("--qemu \(text): \(host) is not a loopback address; pass --allow-remote to listen there anyway")
                }
            case .unix:
                break
            }
        }
        _ = try self.vxlanConfiguration()
        if let text = self.macStart {
            guard let mac = MACAddress(text), mac.rawValue >> 24 == 0x02_53_59, mac.rawValue & 0xFF_FFFF >= 1 else {
                throw ValidationError("--mac-start \(text): want a MAC from 02:53:59:00:00:01 to 02:53:59:ff:ff:ff")
            }
        }
        guard (0...60_000).contains(self.stallTimeoutMilliseconds) else {
            throw ValidationError("--stall-timeout-ms must be between 0 and 60000, got \(self.stallTimeoutMilliseconds)")
        }
    }

    func run() async throws {
        // A full disk or a closed capture pipe is a write error to report, not a reason to die.
        signal(SIGXFSZ, SIG_IGN)
        signal(SIGPIPE, SIG_IGN)
        let logger = self.logging.makeLogger(label: "switchyardd")

        var rules: [Rule] = []
        if let path = self.rulesFile {
            do {
                rules = try Self.loadRules(path)
            } catch {
                StandardOutput.error("switchyardd: \(error)")
                throw ToolExit.error
            }
        }
        let host = self.host
        let unixPath = self.unix
        let readyOnStderr = self.capture.path == "-"
        if unixPath == nil, LoopbackCheck.classify(host) != .loopback {
            logger.warning("listening on \(host), which is not loopback: anyone who can reach it can join the fabric")
        }
        // Checked by `validate`; read once here.
        let qemuPorts = try self.qemu.map { text throws(ValidationError) in
            switch QEMUPortSpecification.parse(text) {
            case .success(let port): return port
            case .failure(let error): throw ValidationError(error.message)
            }
        }
        let vxlan = try self.vxlanConfiguration()
        // Every other listener the flags open, the same way: each is a way onto the fabric.
        for port in qemuPorts {
            switch port.address {
            case .tcp(let portHost, _), .udp(let portHost, _):
                if LoopbackCheck.classify(portHost) != .loopback {
                    logger.warning("QEMU port \(port.name) listens on \(portHost), which is not loopback: anyone who can reach it can join the fabric as a VM")
                }
            case .unix:
                break
            }
        }
        if let vxlan, LoopbackCheck.classify(vxlan.listenHost) != .loopback {
            logger.warning("VXLAN listens on \(vxlan.listenHost), which is not loopback: VXLAN has no authentication, so only configured remotes' addresses are accepted, and those can be forged")
        }
        var configuration = ServerConfiguration(
            host: host,
            port: self.port,
            outboundQueueLimit: self.queueKiB * 1024,
            stallTimeout: .milliseconds(self.stallTimeoutMilliseconds),
            capture: self.capture.configuration.map { capture in
                var capture = capture
                capture.seed = self.seed
                capture.rules = rules.map(\.description)
                return capture
            },
            onListening: { address in
                let line = unixPath.map { "[fabric] listening on unix:\($0)" } ?? "[fabric] listening on \(ListenAddress.describe(host: host, port: address.port ?? 0))"
                readyOnStderr ? StandardOutput.error(line) : StandardOutput.line(line)
            }
        )
        configuration.unixSocketPath = unixPath
        configuration.tapHandoffPath = unixPath.map(TapHandoff.socketPath(forFabricAt:))
        configuration.maximumConnections = self.maxConnections
        configuration.maximumEndpointsPerConnection = self.maxEndpointsPerConnection
        configuration.bufferBudget = self.maxBufferedMiB * 1024 * 1024
        configuration.unixSocketMode = self.unixMode.flatMap { UInt32($0, radix: 8) }
        configuration.onCaptureFinished = { statistics in StandardOutput.error(statistics.summary) }
        configuration.qemuPorts = qemuPorts
        configuration.vxlan = vxlan
        configuration.firstAllocatedMAC = self.macStart.flatMap { MACAddress($0) }.map { $0.rawValue & 0xFF_FFFF } ?? 1
        configuration.seed = self.seed
        configuration.rules = rules
        let server = FabricServer(configuration: configuration, logger: logger)
        let group = ServiceGroup(
            configuration: .init(
                services: [.init(service: server)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger
            )
        )
        // The server finishes the capture (and prints its summary) on every path out of run.
        do {
            try await group.run()
        } catch let error as FabricServerError {
            StandardOutput.error("switchyardd: \(error)")
            throw ExitCode(1)
        } catch let error as PcapError {
            StandardOutput.error("switchyardd: \(error)")
            throw ToolExit.error
        }
    }

    /// The rules of a file, every one checked (BPF compiled); errors name the file and line.
    static func loadRules(_ path: String) throws -> [Rule] {
        let text = try TextFile.read(path, what: "rules file")
        return try RuleParser.parseFile(text, name: path).map(\.rule)
    }

    /// The VXLAN uplinks the flags ask for, checked; nil without --vxlan.
    func vxlanConfiguration() throws -> VXLANConfiguration? {
        guard !self.vxlan.isEmpty else {
            if self.vxlanListen != nil {
                throw ValidationError("--vxlan-listen needs --vxlan NAME=REMOTE_IP")
            }
            return nil
        }
        var remotes: [VXLANConfiguration.Remote] = []
        for text in self.vxlan {
            switch VXLANConfiguration.parseRemote(text) {
            case .success(let remote):
                guard !remotes.contains(where: { $0.name == remote.name }) else {
                    throw ValidationError("--vxlan \(text): the name \(remote.name) is given twice")
                }
                remotes.append(remote)
            case .failure(let error):
                throw ValidationError(error.message)
            }
        }
        var configuration = VXLANConfiguration(remotes: remotes)
        guard self.vxlanVNI < 1 << 24 else {
            throw ValidationError("--vxlan-vni must be below 16777216 (24 bits), got \(self.vxlanVNI)")
        }
        configuration.vni = self.vxlanVNI
        guard (100...65_535).contains(self.vxlanMTU) else {
            throw ValidationError("--vxlan-mtu must be between 100 and 65535, got \(self.vxlanMTU)")
        }
        configuration.mtu = self.vxlanMTU
        if let listen = self.vxlanListen {
            guard case .success(let address) = HostPort.parse(listen, portRequired: true), let port = address.port else {
                throw ValidationError("--vxlan-listen \(listen): want HOST:PORT")
            }
            configuration.listenHost = address.host
            configuration.listenPort = port
        } else if self.allowRemote {
            configuration.listenHost = "0.0.0.0"
        }
        if !self.allowRemote, LoopbackCheck.classify(configuration.listenHost) != .loopback {
            throw ValidationError("--vxlan-listen \(configuration.listenHost) is not loopback: VXLAN has no authentication; pass --allow-remote to listen there (on a private interface)")
        }
        return configuration
    }
}
