import Foundation
import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardTestSupport
import Testing

/// `switchyard-tap`: a Linux network namespace as a fabric client. The kernel's own ARP, UDP
/// and NTP clients talk to the fabric's services. Needs root, iproute2 and /dev/net/tun (CI
/// has them); elsewhere these tests are skipped with the reason.
@Suite(.timeLimit(.minutes(5))) struct NamespaceTests {
    static let clock = "fixed:2026-01-01T00:00:00Z"

    /// How switchyard-tap joins: bridging frames over a v1 TCP connection, or handing the
    /// device's descriptor to a fabric on a Unix socket, which then carries it itself.
    enum Mode: String, CaseIterable, Sendable {
        case bridged
        case descriptor
    }

    /// A fabric (recording to `capture` if given), echo and NTP services, and a namespace behind
    /// switchyard-tap as endpoint ns1 at 10.0.0.50/24 (and, with `ipv6`, fd53:5900::32/64).
    struct Lab {
        let fabric: ChildProcess
        /// How every client reaches the fabric: `--port N` or `--unix PATH`.
        let connect: [String]
        let services: [ChildProcess]
        let tap: ChildProcess
        let namespace: NetworkNamespace
        /// The TAP device's name inside the namespace.
        let device: String
        let echoMAC: String

        static func start(capture: String? = nil, ipv6: Bool = false, mode: Mode = .bridged) async throws -> Lab {
            let captureArguments = capture.map { ["--capture", $0] } ?? []
            let fabric: ChildProcess
            let connect: [String]
            switch mode {
            case .bridged:
                let process = try await FabricProcess.ours(captureArguments)
                (fabric, connect) = (process.process, ["--port", "\(process.port)"])
            case .descriptor:
                let path = try temporaryPath("fabric.sock")
                fabric = try ChildProcess(Tools.executable("switchyardd"), ["--unix", path] + captureArguments)
                _ = try await fabric.waitForLine(startingWith: "[fabric] listening on unix:")
                connect = ["--unix", path]
            }
            let echo = try ChildProcess(Tools.executable("switchyard-echo"), connect)
            let echoReady = try await echo.waitForLine(startingWith: "[svc_echo] ready")
            let ntpd = try ChildProcess(Tools.executable("switchyard-ntpd"), connect + ["--clock", Fixtures.fixedClock])
            _ = try await ntpd.waitForLine(startingWith: "[svc_ntp] ready")
            let namespace = try await NetworkNamespace()
            if !ipv6 {
                // No IPv6 chatter (router solicitations, DAD): the session holds what the test does.
                _ = try await namespace.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
            }
            let tap = try ChildProcess(Tools.executable("switchyard-tap"), connect + [
                "--name", "ns1", "--netns", namespace.name, "--address", "10.0.0.50/24",
            ])
            let modeLine = try await tap.waitForLine(startingWith: "[tap] mode: ")
            guard modeLine.hasPrefix("[tap] mode: \(mode.rawValue) ") else { throw TestFailure("switchyard-tap says \(modeLine), want \(mode)") }
            let tapReady = try await tap.waitForLine(startingWith: "[tap] ready")
            let device = try Self.word(after: "on", in: tapReady)
            if ipv6 {
                let added = try await namespace.run(["ip", "-6", "addr", "add", "fd53:5900::32/64", "dev", device, "nodad"])
                guard added.status == 0 else { throw TestFailure("ip -6 addr add: \(added.stderr)") }
            }
            return Lab(fabric: fabric, connect: connect, services: [echo, ntpd], tap: tap, namespace: namespace, device: device, echoMAC: try Self.word(after: "mac", in: echoReady))
        }

        /// The word after `key` in a ready line (`mac 02:53:…`, `on tap0`).
        static func word(after key: String, in line: String) throws -> String {
            let words = line.split(separator: " ")
            guard let index = words.firstIndex(where: { $0 == key }), index + 1 < words.count else {
                throw TestFailure("no '\(key) …' in \(line)")
            }
            return String(words[index + 1])
        }

        func stop() async throws {
            self.tap.signal(SIGTERM)
            #expect(try await self.tap.waitForExit() == 0, "\(self.tap.stderr)")
            for service in self.services {
                service.signal(SIGTERM)
                _ = try await service.waitForExit()
            }
            self.fabric.signal(SIGTERM)
            #expect(try await self.fabric.waitForExit() == 0)
        }
    }

    @Test(.requires(.namespaces), arguments: Mode.allCases)
    func theKernelsClientsTalkToFabricServices(mode: Mode) async throws {
        let capture = try temporaryPath("ns.pcap")
        let lab = try await Lab.start(capture: capture, mode: mode)
        let echoed = try await lab.namespace.run(["nc", "-u", "-w", "1", "10.0.0.2", "7007"], input: "hello from a namespace")
        #expect(echoed.stdout == "hello from a namespace\n", "\(echoed)")
        let ntp = try await lab.namespace.run(["ntpdig", "-t", "3", "10.0.0.3"])
        #expect(ntp.status == 0, "\(ntp)")
        #expect(ntp.stdout.hasPrefix("2026-01-01 00:00:00.0 (+0000) "), "ntpdig prints the fixed server time and its offset: \(ntp.stdout)")
        let neighbours = try await lab.namespace.run(["ip", "neigh"])
        #expect(neighbours.stdout.contains("10.0.0.2 dev") && neighbours.stdout.contains("lladdr 02:53:59:00:00:01"), "the kernel's ARP was answered: \(neighbours.stdout)")
        try await lab.stop()
        let links = try await lab.namespace.run(["ip", "-o", "link"])
        #expect(!links.stdout.contains("tap"), "the device is removed on SIGTERM: \(links.stdout)")

        let tshark = try await runCommand("tshark", ["-r", capture, "-Y", "udp.port == 7007 || ntp || arp", "-T", "fields", "-e", "frame.protocols"])
        let protocols = tshark.stdout.split(separator: "\n")
        #expect(protocols.contains { $0.hasSuffix(":arp") }, "\(tshark.stdout)")
        #expect(protocols.contains { $0.hasSuffix(":ntp") }, "\(tshark.stdout)")
        #expect(protocols.filter { $0.contains(":udp:data") }.count == 2, "the datagram and its echo: \(tshark.stdout)")
    }

    /// Every service answers ICMP echo for its address, as a host does: the kernel's own ping
    /// gets its replies, and tcpdump reads them back from the capture.
    @Test(.requires(.all(.namespaces, .tcpdump, .tool("ping", package: "iputils-ping"))), arguments: Mode.allCases)
    func theKernelsPingIsAnsweredByEveryService(mode: Mode) async throws {
        let capture = try temporaryPath("ping.pcap")
        let lab = try await Lab.start(capture: capture, mode: mode)
        for (address, what) in [("10.0.0.2", "the echo service"), ("10.0.0.3", "the NTP service")] {
            let ping = try await lab.namespace.run(["ping", "-c", "2", "-i", "0.2", "-W", "2", "-s", "100", address])
            #expect(ping.status == 0, "\(what): \(ping.stdout) \(ping.stderr)")
            #expect(ping.stdout.contains("2 packets transmitted, 2 received, 0% packet loss"), "\(what): \(ping.stdout)")
            #expect(ping.stdout.contains("108 bytes from \(address): icmp_seq=1 ttl=64"), "id, sequence and data echoed: \(ping.stdout)")
        }
        try await lab.stop()
        let read = try await runCommand("tcpdump", ["-nn", "-r", capture, "icmp"])
        let replies = read.stdout.split(separator: "\n").filter { $0.contains("ICMP echo reply") }
        #expect(replies.count == 4, "\(read.stdout)")
        #expect(replies.allSatisfy { $0.contains("> 10.0.0.50: ICMP echo reply, id ") }, "\(read.stdout)")
    }

    /// A session between the kernel and the echo service, recorded, replays against the echo
    /// service with the namespace gone: replay plays the kernel's frames as endpoint ns1.
    @Test(.requires(.namespaces))
    func aNamespaceSessionReplaysWithTheNamespaceGone() async throws {
        let capture = try temporaryPath("ns-echo.pcap")
        do {
            let lab = try await Lab.start(capture: capture)
            let echoed = try await lab.namespace.run(["nc", "-u", "-w", "1", "10.0.0.2", "7007"], input: "marco polo")
            #expect(echoed.stdout == "marco polo\n")
            try await lab.stop()
        }
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        defer { echo.signal(SIGKILL) }
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [capture, "--port", "\(fabric.port)", "--expect", "svc_echo"])
        #expect(try await replay.waitForExit() == 0, "\(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.contains(" 0 differed, 0 missing; 0 unexpected"), "\(replay.stdout)")
    }

    @Test func withoutPermissionOrDeviceTheToolSaysSo() async throws {
        guard getuid() != 0 else {
            // As root the device can be made; check the other refusal: a namespace that does not exist.
            let fabric = try await FabricProcess.ours()
            defer { fabric.process.signal(SIGKILL) }
            let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--port", "\(fabric.port)", "--name", "x", "--netns", "sy-does-not-exist"])
            #expect(try await tap.waitForExit() == 2)
            #expect(tap.stderr.hasPrefix("switchyard-tap: ip link set dev "), "\(tap.stderr)")
            return
        }
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--port", "\(fabric.port)", "--name", "x"])
        #expect(try await tap.waitForExit() == 2)
        #expect(tap.stderr.hasPrefix("switchyard-tap: cannot create a TAP device: "), "\(tap.stderr)")
    }
}
