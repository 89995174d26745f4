import ArgumentParser
import Foundation
import SwitchyardClient
import SwitchyardCommandLine
import SwitchyardPackets
import SwitchyardServices
import SwitchyardTap
import Synchronization

@main
struct SwitchyardTapCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "switchyard-tap",
        abstract: "Attach a Linux TAP device (and the network namespace it is in) to the fabric as endpoint NAME.",
        discussion: """
            Creates a TAP device, optionally moves it into the existing network namespace --netns, \
            gives it --address and brings it up, and makes it fabric endpoint NAME with the TAP's \
            MAC: the kernel's own ARP, UDP, ICMP and DHCP clients then talk to fabric services. \
            With --unix, the device's descriptor is handed to the fabric (at PATH.tap), which \
            reads and writes it itself ("mode: descriptor"); over TCP, or to a fabric without \
            that socket, this tool carries the frames both ways as a v1 client ("mode: bridged"). \
            Needs root (CAP_NET_ADMIN) and /dev/net/tun; uses iproute2's ip for the namespace and \
            address. SIGINT/SIGTERM remove the device and exit 0; exit 2 on errors (no fabric, no \
            permission, a failed ip command, the fabric gone), 64 on bad flags.
            """,
        version: SwitchyardVersion.current
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var logging: LoggingOptions

    @Option(help: "The fabric endpoint's name.")
    var name: String

    @Option(help: ArgumentHelp("The TAP device's name (default: the kernel's choice, tapN).", valueName: "ifname"))
    var tap: String?

    @Option(help: ArgumentHelp("Move the device into this existing network namespace.", valueName: "ns"))
    var netns: String?

    @Option(help: ArgumentHelp("IPv4 address and prefix for the device, e.g. 10.0.0.50/24.", valueName: "address/prefix"))
    var address: String?

    @Option(parsing: .unconditional, help: "The device's MTU.")
    var mtu: Int = 1500

    /// Whether the kernel may hand the fabric large TCP segments and checksums to fill in.
    enum Offloads: String, ExpressibleByArgument, CaseIterable {
        case on, off
    }

    @Option(help: ArgumentHelp("In descriptor mode, let the kernel hand over large TCP segments and checksums to fill in (virtio-net headers, as QEMU's TAP backend does); the fabric passes them on to devices that take them and cuts them into wire-size segments for the rest. Bridged mode never offloads.", valueName: "on|off"))
    var offloads: Offloads = .on

    func validate() throws {
        guard !self.name.isEmpty else { throw ValidationError("--name needs an endpoint name") }
        if let tap = self.tap, tap.isEmpty || tap.utf8.count > 15 {
            throw ValidationError("--tap \(tap): an interface name has 1 to 15 characters")
        }
        guard (68...65_535).contains(self.mtu) else {
            throw ValidationError("--mtu must be between 68 and 65535, got \(self.mtu)")
        }
        if let address = self.address {
            let parts = address.split(separator: "/")
            guard parts.count == 2, IPv4Address(String(parts[0])) != nil, let prefix = Int(parts[1]), (0...32).contains(prefix) else {
                throw ValidationError("--address \(address): want an IPv4 address and prefix such as 10.0.0.50/24")
            }
        }
    }

    func run() async throws {
        let connection = self.connection
        let name = self.name
        let requested = self.tap
        let configuration = self
        let where_ = [self.netns.map { "netns \($0)" }, self.address].compactMap { $0 }.joined(separator: ", ")
        let handoffPath = self.connection.unix.map(TapHandoff.socketPath(forFabricAt:))
        if let handoffPath, FileManager.default.fileExists(atPath: handoffPath) {
            try await ToolFailure.reporting("switchyard-tap") {
                try await runUntilTerminated {
                    try await configuration.runHandingOver(to: handoffPath, where: where_)
                }
            }
            return
        }
        let bridged = "[tap] mode: bridged (\(handoffPath == nil ? "the fabric is reached over TCP: no descriptor passing" : "the fabric takes no descriptors at \(handoffPath!)"); this tool carries the frames)"
        try await ToolFailure.reporting("switchyard-tap") {
            try await runUntilTerminated {
                try await connection.withClient(clientName: "switchyard-tap") { client in
                    // Said once the fabric answered: an unreachable fabric is one error line.
                    StandardOutput.line(bridged)
                    // After the fabric answered: no device is made for a fabric that is not there.
                    // It goes with its descriptor when `device` is released, at the end of this.
                    let device: TapDevice
                    do {
                        device = try TapDevice(name: requested)
                    } catch {
                        throw FabricClientError(.invalidRequest, "\(error)")
                    }
                    let setup = configuration.setupCommands(device: device.name)
                    let me = try await client.createEndpoint(name: name, mac: device.mac)
                    try await client.subscribe(endpointID: me.endpointID)
                    for command in setup {
                        try Self.ip(command)
                    }
                    StandardOutput.line("[tap] ready: endpoint \(me.endpointID) \(name) mac \(device.mac) on \(device.name)\(where_.isEmpty ? "" : " (\(where_))")")
                    try await Self.bridge(device, client: client, endpointID: me.endpointID)
                }
            }
        }
    }

    /// The `ip` commands that place and configure the device.
    func setupCommands(device: String) -> [[String]] {
        var commands: [[String]] = []
        let inNamespace = self.netns.map { ["-n", $0] } ?? []
        if let netns = self.netns {
            commands.append(["link", "set", "dev", device, "netns", netns])
        }
        commands.append(inNamespace + ["link", "set", "dev", device, "mtu", "\(self.mtu)"])
        if let address = self.address {
            commands.append(inNamespace + ["addr", "add", address, "dev", device])
        }
        commands.append(inNamespace + ["link", "set", "dev", device, "up"])
        return commands
    }

    /// Runs `ip ARGS`; its complaint becomes this tool's one-line error.
    static func ip(_ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/sbin/ip")
        process.arguments = arguments
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw FabricClientError(.invalidRequest, "cannot run ip (iproute2): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let text = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw FabricClientError(.invalidRequest, "ip \(arguments.joined(separator: " ")): \(text)")
        }
    }

    /// Frames both ways until the connection ends or the task is cancelled: a thread reads the
    /// device (a blocking read, polled so it notices the end), this task writes to it.
    static func bridge(_ device: TapDevice, client: FabricClient, endpointID: UInt32) async throws {
        let stop = Mutex(false)
        let finished = DispatchSemaphore(value: 0)
        let reader = Thread {
            defer { finished.signal() }
            while !stop.withLock({ $0 }) {
                do {
                    guard let frame = try device.read(timeoutMilliseconds: 100) else { continue }
                    guard frame.count >= 14 else { continue }
                    try client.send(frame: frame, from: endpointID)
                } catch {
                    StandardOutput.error("switchyard-tap: \(error)")
                    return
                }
            }
        }
        reader.name = "switchyard-tap reader"
        reader.start()
        defer {
            stop.withLock { $0 = true }
            finished.wait()
        }
        // A frame the device refuses (over what the kernel takes) is dropped and counted; the
        // bridge goes on.
        var refused = 0
        defer {
            if refused > 0 {
                StandardOutput.error("[tap] \(refused) frame\(refused == 1 ? "" : "s") refused by the device and dropped")
            }
        }
        for try await frame in client.frames {
            if let reason = device.write(frame.bytes) {
                refused += 1
                if refused == 1 {
                    StandardOutput.error("switchyard-tap: warning: the device refused a \(frame.bytes.count)-byte frame (\(reason)): dropped; later ones are counted, not logged")
                }
            }
        }
    }
}
