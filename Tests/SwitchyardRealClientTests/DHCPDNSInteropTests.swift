import Foundation
import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardServices
import SwitchyardTestSupport
import Testing

/// switchyard-dhcpd and switchyard-dns with clients we did not write: busybox udhcpc and dig in a
/// network namespace behind switchyard-tap, and an unmodified QEMU VM's iPXE ROM.
@Suite(.timeLimit(.minutes(5))) struct DHCPDNSInteropTests {
    static let clock = Fixtures.fixedClock


    @Test(.requires(.all(.namespaces, .tool("udhcpc", package: "udhcpc"), .tool("dig", package: "bind9-dnsutils"))))
    func udhcpcGetsALeaseAndDigResolvesBothWays() async throws {
        let directory = try Tools.temporaryDirectory()
        let leases = directory.appendingPathComponent("leases").path
        let capture = directory.appendingPathComponent("ns-dhcp-dns.pcap").path
        // udhcpc's own script would rewrite /etc/resolv.conf (the host's, from inside `ip netns
        // exec`); this one only configures the device and says what it got.
        let script = directory.appendingPathComponent("udhcpc.sh").path
        try """
            #!/bin/sh
            case "$1" in
            bound|renew) ip addr add "$ip/$subnet" dev "$interface" && echo "bound $ip/$subnet dns $dns domain $domain lease $lease server $serverid" ;;
            esac
            """.write(toFile: script, atomically: true, encoding: .utf8)
        #expect(chmod(script, 0o755) == 0)

        try await Fixtures.withDHCPAndDNS(fabricArguments: ["--capture", capture], dhcpArguments: ["--leases", leases]) { fabric in
            let namespace = try await NetworkNamespace()
            _ = try await namespace.run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1", "net.ipv6.conf.default.disable_ipv6=1"])
            let tap = try ChildProcess(Tools.executable("switchyard-tap"), ["--port", "\(fabric.port)", "--name", "ns1", "--netns", namespace.name, "--tap", "sy0"])
            defer { tap.signal(SIGKILL) }
            _ = try await tap.waitForLine(startingWith: "[tap] ready")

            let udhcpc = try await namespace.run(["udhcpc", "-i", "sy0", "-f", "-q", "-n", "-t", "3", "-T", "1", "-s", script])
            #expect(udhcpc.status == 0, "\(udhcpc)")
            #expect(udhcpc.stdout.contains("bound 10.0.0.100/255.255.255.0 dns 10.0.0.5 domain switchyard.test lease 3600 server 10.0.0.4"), "\(udhcpc)")

            let forward = try await namespace.run(["dig", "@10.0.0.5", "echo.switchyard.test", "+short", "+tries=1", "+time=3"])
            #expect(forward.status == 0 && forward.stdout == "10.0.0.2\n", "\(forward)")
            let reverse = try await namespace.run(["dig", "@10.0.0.5", "-x", "10.0.0.2", "+short", "+tries=1", "+time=3"])
            #expect(reverse.status == 0 && reverse.stdout == "echo.switchyard.test.\n", "\(reverse)")
            let missing = try await namespace.run(["dig", "@10.0.0.5", "nope.switchyard.test", "+tries=1", "+time=3"])
            #expect(missing.stdout.contains("status: NXDOMAIN") && missing.stdout.contains("flags: qr aa rd;"), "\(missing)")
            let outside = try await namespace.run(["dig", "@10.0.0.5", "example.com", "+tries=1", "+time=3"])
            #expect(outside.stdout.contains("status: REFUSED"), "\(outside)")

            tap.signal(SIGTERM)
            #expect(try await tap.waitForExit() == 0)
        }
        let saved = try String(contentsOfFile: leases, encoding: .utf8)
        #expect(saved.hasPrefix("1767229200 ") && saved.contains(" 10.0.0.100 "), "one lease, ending an hour after the fixed clock: \(saved)")
        let tshark = try await runCommand("tshark", ["-r", capture, "-Y", "dhcp || dns", "-T", "fields", "-e", "dhcp.option.dhcp", "-e", "dns.flags.rcode"])
        let fields = tshark.stdout.split(separator: "\n").map(String.init)
        #expect(["1", "2", "3", "5"].allSatisfy { type in fields.contains { $0.hasPrefix(type + "\t") } }, "DISCOVER, OFFER, REQUEST, ACK in the capture: \(fields)")
        #expect(fields.contains("\t3") && fields.contains("\t5"), "NXDOMAIN and REFUSED in the capture: \(fields)")
    }

    static let vmMAC = MACAddress("52:54:00:12:34:57")!

    /// iPXE (the NIC's ROM) gets a lease and asks the next server for the boot file by TFTP,
    /// from the leased address.
    @Test(.requires(.qemu))
    func anUnmodifiedVMsIPXEGetsALeaseAndAsksForTheBootFile() async throws {
        let directory = try Tools.temporaryDirectory()
        let socket = directory.appendingPathComponent("vm.sock").path
        let capture = directory.appendingPathComponent("ipxe.pcap").path
        try await Fixtures.withDHCPAndDNS(
            fabricArguments: ["--qemu", "vm=unix:\(socket)", "--capture", capture],
            dhcpArguments: ["--next-server", "10.0.0.4", "--boot-file", "switchyard.ipxe"]
        ) { fabric in
            let watcher = try await FabricClient.connect(port: fabric.port, clientName: "watch")
            _ = try await AttachedEndpoint.attach("watch", on: watcher, promiscuous: true)
            let vm = try ChildProcess(URL(fileURLWithPath: Tools.which("qemu-system-x86_64")!), [
                "-machine", "pc", "-accel", "tcg", "-m", "128", "-display", "none", "-serial", "null", "-monitor", "none",
                "-no-reboot", "-boot", "n", "-netdev", "stream,id=n0,server=off,addr.type=unix,addr.path=\(socket)",
                "-device", "e1000,netdev=n0,mac=\(Self.vmMAC)",
            ])
            defer { vm.signal(SIGKILL) }
            let clock = ContinuousClock()
            let request = try await watcher.awaitFrame(until: clock.now.advanced(by: .seconds(120)), on: clock) { frame -> UDPFrame? in
                guard let ethernet = EthernetFrame(parsing: frame.bytes), let udp = UDPFrame(parsing: ethernet),
                      udp.udp.destinationPort == 69, udp.udp.payload.first == 0, udp.udp.payload.dropFirst().first == 1
                else { return nil }
                return udp
            }
            let rrq = try #require(request, "no TFTP read request within 120 s; VM stderr: \(vm.stderr)")
            #expect(rrq.ethernet.source == Self.vmMAC && rrq.ip.source == IPv4Address(10, 0, 0, 100) && rrq.ip.destination == IPv4Address(10, 0, 0, 4))
            let file = rrq.udp.payload.dropFirst(2).prefix { $0 != 0 }
            #expect(String(decoding: file, as: UTF8.self) == "switchyard.ipxe")
            vm.signal(SIGKILL)
            await watcher.close()
        }
        let summaries = try PcapReader(path: capture).readAll().map { FrameSummary.describe($0.bytes) }
        #expect(summaries.contains { $0.contains("DHCP ACK") && $0.contains("your-ip 10.0.0.100") }, "\(summaries)")
    }
}
