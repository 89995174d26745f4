import ArgumentParser
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServiceOptions
import SwitchyardServices

@main
struct SwitchyardTFTPD: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-tftpd",
        abstract: "TFTP server (RFC 1350, read-only): endpoint svc_tftp, 10.0.0.6, UDP 69; answers ARP and ICMP echo.",
        discussion: """
            Serves the files below --root, like tftpd-hpa --secure: absolute paths, ".." and \
            symbolic links leading out of the root are refused (error 2), write requests too. \
            Options: blksize (up to what --mtu carries unfragmented: --mtu less 32 bytes), tsize, timeout, windowsize. \
            Each transfer's port is chosen in order from 49152, so a recorded boot replays bit for \
            bit. Runs until SIGINT/SIGTERM (exit 0); exit 2 when there is no fabric or the root \
            cannot be read, 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup(title: "Host options") var host: HostOptions

    @Option(help: ArgumentHelp("The directory to serve.", valueName: "dir"))
    var root: String

    @Option(help: "The service's IPv4 address.")
    var ip = TFTPServer.defaultIP

    @Option(help: "Name of the service's endpoint.")
    var name = TFTPServer.endpointName

    func validate() throws {
        guard !self.name.isEmpty else { throw ValidationError("--name needs an endpoint name") }
    }

    func run() async throws {
        let logger = self.logging.makeLogger(label: "switchyard-tftpd")
        guard let root = TFTPRoot(self.root) else {
            StandardOutput.error("switchyard-tftpd: cannot serve \(self.root): not a readable directory")
            throw ToolExit.error
        }
        var service = TFTPService(root: root)
        service.hostSettings = self.host.settings
        service.ip = self.ip
        service.name = self.name
        let configured = service
        let connection = self.connection
        try await ToolFailure.reporting("switchyard-tftpd") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-tftpd") { client in
                    try await withTaskExecutorPreference(client.taskExecutor) {
                        try await configured.run(on: client, logger: logger) { record in
                            StandardOutput.line("[\(configured.name)] ready: endpoint \(record.endpointID) mac \(record.mac) ip \(configured.ip) udp 69 root \(root.path.isEmpty ? "/" : root.path)")
                        }
                    }
                }
            }
        }
    }
}
