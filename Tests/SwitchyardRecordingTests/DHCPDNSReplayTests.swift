import Foundation
import SwitchyardCapture
import SwitchyardTestSupport
import Testing

/// The golden DHCP and DNS recordings (captures/, made by scripts/make-captures.sh): read by
/// Wireshark without complaint, replayed bit for bit, and a changed answer named by its field.
@Suite(.timeLimit(.minutes(3))) struct DHCPDNSReplayTests {
    static let dhcpSession = Tools.packageRoot.appendingPathComponent("captures/dhcp-session.pcap").path
    static let dnsSession = Tools.packageRoot.appendingPathComponent("captures/dns-session.pcap").path
    /// What captures/dns-session.pcap was recorded against: 40 addresses for big.switchyard.test.
    static let dnsArguments = (1...40).flatMap { ["--record", "big=10.0.1.\($0)"] }

    static func withService(_ tool: String, _ arguments: [String], ready: String, _ body: (Int) async throws -> Void) async throws {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let service = try ChildProcess(Tools.executable(tool), ["--port", "\(fabric.port)"] + arguments)
        defer { service.signal(SIGKILL) }
        _ = try await service.waitForLine(startingWith: ready)
        try await body(fabric.port)
        await service.stop()
        await fabric.process.stop()
    }

    @Test(.requires(.tshark))
    func wiresharkReadsTheRecordingsAsTheSessionsTheyAre() async throws {
        let dhcp = try await runCommand("tshark", ["-r", Self.dhcpSession, "-T", "fields", "-e", "dhcp.option.dhcp", "-e", "dhcp.ip.your", "-e", "dhcp.option.ip_address_lease_time", "-e", "_ws.malformed"])
        #expect(dhcp.stdout == """
            1\t0.0.0.0\t\t
            2\t10.0.0.100\t3600\t
            3\t0.0.0.0\t\t
            5\t10.0.0.100\t3600\t
            3\t0.0.0.0\t\t
            5\t10.0.0.100\t3600\t
            7\t0.0.0.0\t\t

            """, "DISCOVER, OFFER, REQUEST, ACK, renewal REQUEST and ACK, RELEASE: \(dhcp)")
        let dns = try await runCommand("tshark", ["-r", Self.dnsSession, "-Y", "dns.flags.response == 1", "-T", "fields", "-e", "dns.qry.name", "-e", "dns.flags.rcode", "-e", "dns.flags.truncated", "-e", "dns.count.answers", "-e", "_ws.malformed"])
        #expect(dns.stdout == """
            echo.switchyard.test\t0\t0\t1\t
            2.0.0.10.in-addr.arpa\t0\t0\t1\t
            nope.switchyard.test\t3\t0\t0\t
            example.com\t5\t0\t0\t
            echo.switchyard.test\t0\t0\t1\t
            big.switchyard.test\t0\t1\t29\t

            """, "A, PTR, NXDOMAIN, REFUSED, AAAA, truncated: \(dns)")
    }

    @Test func theGoldenSessionsReplayWithoutDifferences() async throws {
        try await Self.withService("switchyard-dhcpd", ["--clock", Fixtures.fixedClock], ready: "[svc_dhcp] ready") { port in
            let replay = try await Fixtures.replay([Self.dhcpSession, "--port", "\(port)"])
            #expect(replay.exitStatus == 0, "\(replay.stdout) \(replay.stderr)")
            #expect(replay.stdout.hasSuffix("replayed 4 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected\n"))
        }
        try await Self.withService("switchyard-dns", Self.dnsArguments, ready: "[svc_dns] ready") { port in
            let replay = try await Fixtures.replay([Self.dnsSession, "--port", "\(port)"])
            #expect(replay.exitStatus == 0, "\(replay.stdout) \(replay.stderr)")
            #expect(replay.stdout.hasSuffix("replayed 6 frames, expected 6 replies: 6 matched, 0 differed, 0 missing; 0 unexpected\n"))
        }
    }

    @Test func aChangedLeaseTimeOrTTLIsNamed() async throws {
        try await Self.withService("switchyard-dhcpd", ["--clock", Fixtures.fixedClock, "--lease-time", "600"], ready: "[svc_dhcp] ready") { port in
            let replay = try await Fixtures.replay([Self.dhcpSession, "--port", "\(port)"])
            #expect(replay.exitStatus == 1)
            #expect(replay.stdout.contains(") differs: dhcp.option.51: expected 3600, got 600\n"), "\(replay.stdout)")
            #expect(replay.stdout.hasSuffix("3 differed, 0 missing; 0 unexpected\n"))
        }
        // The lease times masked, and a fresh server (the one above holds a lease now).
        try await Self.withService("switchyard-dhcpd", ["--clock", Fixtures.fixedClock, "--lease-time", "600"], ready: "[svc_dhcp] ready") { port in
            let masked = try await Fixtures.replay([
                Self.dhcpSession, "--port", "\(port)", "--ignore", "dhcp.option.51", "--ignore", "dhcp.option.58", "--ignore", "dhcp.option.59",
            ])
            #expect(masked.exitStatus == 0, "\(masked.stdout)")
        }
        try await Self.withService("switchyard-dns", Self.dnsArguments + ["--ttl", "30"], ready: "[svc_dns] ready") { port in
            let replay = try await Fixtures.replay([Self.dnsSession, "--port", "\(port)"])
            #expect(replay.exitStatus == 1)
            #expect(replay.stdout.contains(") differs: dns.answer.ttl: expected 60, got 30\n"), "\(replay.stdout)")
            #expect(replay.stdout.contains(") differs: dns.authority.ttl: expected 60, got 30\n"), "\(replay.stdout)")
            let masked = try await Fixtures.replay([
                Self.dnsSession, "--port", "\(port)", "--ignore", "dns.answer.ttl", "--ignore", "dns.authority.ttl", "--ignore", "dns.authority.rdata",
            ])
            #expect(masked.exitStatus == 0, "the SOA's minimum is the TTL too: \(masked.stdout)")
        }
    }

    @Test func optionFieldNamesAreChecked() async throws {
        let replay = try await Fixtures.replay([Self.dhcpSession, "--port", "1", "--ignore", "dhcp.option.256"])
        #expect(replay.exitStatus == 2)
        #expect(replay.stderr.hasPrefix("Error: --ignore dhcp.option.256: no such field"), "\(replay.stderr)")
    }

    @Test func regeneratingTheDHCPRecordingGivesTheSameFrameBytes() async throws {
        let path = try temporaryPath("dhcp.pcap")
        let fabric = try await FabricProcess.ours(["--capture", path])
        let dhcpd = try ChildProcess(Tools.executable("switchyard-dhcpd"), ["--port", "\(fabric.port)", "--clock", Fixtures.fixedClock])
        _ = try await dhcpd.waitForLine(startingWith: "[svc_dhcp] ready")
        let client = try ChildProcess(Tools.executable("switchyard-dhcp"), ["--port", "\(fabric.port)", "--renew", "--release"])
        #expect(try await client.waitForExit() == 0)
        await dhcpd.stop()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0, "the capture is finished on SIGTERM")
        #expect(try PcapReader(path: path).readAll().map(\.bytes) == PcapReader(path: Self.dhcpSession).readAll().map(\.bytes))
    }
}
