import Foundation
import SwitchyardTestSupport
import Testing

/// The DHCP and DNS tools as a user runs them: output, exit codes, and one-line errors for bad
/// flags and files.
@Suite(.timeLimit(.minutes(3))) struct DHCPDNSProcessTests {
    @Test func theClientsPrintWhatTheyGot() async throws {
        let directory = try Tools.temporaryDirectory()
        let hosts = directory.appendingPathComponent("hosts").path
        try "10.0.0.60 web www\n".write(toFile: hosts, atomically: true, encoding: .utf8)
        try await Fixtures.withDHCPAndDNS(dhcpArguments: ["--router", "10.0.0.1", "--lease-time", "600"]) { fabric in
            let port = "\(fabric.port)"
            let dhcp = try ChildProcess(Tools.executable("switchyard-dhcp"), ["--port", port, "--hostname", "laptop", "--renew", "--release"])
            #expect(try await dhcp.waitForExit() == 0, "\(dhcp.stderr)")
            #expect(dhcp.stdout == """
                [cli_dhcp] lease 10.0.0.100 mask 255.255.255.0 from 10.0.0.4 for 600 s
                [cli_dhcp] router 10.0.0.1 dns 10.0.0.5 ntp 10.0.0.3 domain switchyard.test
                [cli_dhcp] renewed 10.0.0.100 with 10.0.0.4
                [cli_dhcp] released 10.0.0.100

                """)
            let second = try ChildProcess(Tools.executable("switchyard-dhcp"), ["--port", port, "--name", "cli_two", "--mac", "52:54:00:aa:bb:cc"])
            #expect(try await second.waitForExit() == 0, "\(second.stderr)")
            #expect(second.stdout.hasPrefix("[cli_two] lease 10.0.0.101 "), "10.0.0.100 is still remembered for cli_dhcp: \(second.stdout)")

            let dig = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", port, "ntp.switchyard.test"])
            #expect(try await dig.waitForExit() == 0)
            #expect(dig.stdout.contains(";; ->>HEADER<<- opcode: QUERY, status: NOERROR, id: 1\n;; flags: qr aa rd; QUERY: 1, ANSWER: 1, AUTHORITY: 0, ADDITIONAL: 0\n"), "\(dig.stdout)")
            #expect(dig.stdout.hasSuffix(";; ANSWER SECTION:\nntp.switchyard.test.\t60\tIN\tA\t10.0.0.3\n"), "\(dig.stdout)")
            let reverse = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", port, "-x", "10.0.0.4", "--short", "--resolve", "arp"])
            #expect(try await reverse.waitForExit() == 0)
            #expect(reverse.stdout == "dhcp.switchyard.test.\n")
            let missing = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", port, "nope.switchyard.test"])
            #expect(try await missing.waitForExit() == 0, "an answer, even NXDOMAIN, is success (as dig)")
            #expect(missing.stdout.contains("status: NXDOMAIN"))
        }
    }

    @Test func withoutServicesTheClientsTimeOut() async throws {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let dhcp = try ChildProcess(Tools.executable("switchyard-dhcp"), ["--port", "\(fabric.port)", "--timeout", "0.5"])
        #expect(try await dhcp.waitForExit() == 1)
        #expect(dhcp.stderr == "switchyard-dhcp: timeout: no DHCP offer within 0.5 s (is switchyard-dhcpd running?)\n")
        let dig = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", "\(fabric.port)", "--timeout", "0.5", "echo.switchyard.test"])
        #expect(try await dig.waitForExit() == 1)
        #expect(dig.stderr.hasPrefix("switchyard-dig: timeout: "), "\(dig.stderr)")
    }

    @Test(arguments: [
        (["--subnet", "10.0.0.1/24"], "--subnet 10.0.0.1/24: expected NETWORK/PREFIX"),
        (["--range", "10.0.0.9"], "--range 10.0.0.9: expected FIRST-LAST"),
        (["--range", "10.0.0.200-10.0.0.255"], "the subnet's broadcast address"),
        (["--reserve", "52:54:00:00:00:01"], "--reserve 52:54:00:00:00:01: expected MAC=IP or NAME=IP"),
        (["--reserve", "a=10.0.0.4"], "is the server's own --ip"),
        (["--router", "192.168.0.1"], "--router 192.168.0.1 is not in --subnet 10.0.0.0/24"),
        (["--lease-time", "0"], "--lease-time must be at least 1 second"),
        (["--ip", "10.0.0.256"], "--ip"),
    ])
    func dhcpdFlagsAreChecked(arguments: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable("switchyard-dhcpd"), ["--port", "1"] + arguments)
        #expect(try await process.waitForExit() == 64)
        #expect(process.stderr.contains(message), "\(process.stderr)")
        #expect(!process.stderr.contains("Fatal error"))
    }

    @Test(arguments: [
        (["--record", "web"], "--record web: expected NAME=IPV4"),
        (["--record", "web.example.com.=10.0.0.1"], "outside the domain"),
        (["--domain", "a..b"], "--domain a..b is not a valid domain name"),
    ])
    func dnsFlagsAreChecked(arguments: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable("switchyard-dns"), ["--port", "1"] + arguments)
        #expect(try await process.waitForExit() == 64)
        #expect(process.stderr.contains(message), "\(process.stderr)")
    }

    @Test(arguments: [
        (["-x", "10.0.0.2", "echo"], "give a NAME or -x IP, not both"),
        (["echo.switchyard.test", "BOGUS"], "unknown record type 'BOGUS'"),
        (["--bufsize", "100", "echo"], "--bufsize must be at least 512"),
        ([], "missing NAME (or -x IP)"),
    ])
    func digArgumentsAreChecked(arguments: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", "1"] + arguments)
        #expect(try await process.waitForExit() == 64)
        #expect(process.stderr.contains(message), "\(process.stderr)")
    }

    @Test func aBadOrUnwritableLeasesFileStopsTheServerAtStart() async throws {
        let directory = try Tools.temporaryDirectory()
        let bad = directory.appendingPathComponent("bad-leases").path
        try "1767229200 52:54:00:00:00:0a 10.0.0.100 alice *\ngarbage\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let before = try Data(contentsOf: URL(fileURLWithPath: bad))
        let process = try ChildProcess(Tools.executable("switchyard-dhcpd"), ["--port", "1", "--leases", bad])
        #expect(try await process.waitForExit() == 2)
        #expect(process.stderr == "switchyard-dhcpd: \(bad):2: expected 'EXPIRY MAC IP HOSTNAME CLIENT-ID', got 'garbage'\n")
        #expect(try Data(contentsOf: URL(fileURLWithPath: bad)) == before, "a file it cannot read is left alone")

        let unwritable = directory.appendingPathComponent("no-such-directory/leases").path
        let second = try ChildProcess(Tools.executable("switchyard-dhcpd"), ["--port", "1", "--leases", unwritable])
        #expect(try await second.waitForExit() == 2)
        #expect(second.stderr == "switchyard-dhcpd: cannot write leases file \(unwritable): No such file or directory\n")
    }
}
