import Foundation
import SwitchyardPackets
import SwitchyardTestSupport
import Testing

/// `switchyardd` as a user runs it: ready line, signals, exit codes, error text.
@Suite(.timeLimit(.minutes(3))) struct DaemonProcessTests {
    @Test(arguments: [SIGTERM, SIGINT])
    func printsOneReadyLineAndExitsZeroOnSignal(signal: Int32) async throws {
        let fabric = try await FabricProcess.ours()
        #expect(fabric.process.stdout == "[fabric] listening on 127.0.0.1:\(fabric.port)\n", "exactly one line on stdout")
        fabric.process.signal(signal)
        #expect(try await fabric.process.waitForExit(timeout: .seconds(10)) == 0)
    }

    @Test func portInUseIsOneClearLineAndExitOne() async throws {
        let first = try await FabricProcess.ours()
        defer { first.process.signal(SIGKILL) }
        let second = try ChildProcess(Tools.executable("switchyardd"), ["--port", "\(first.port)"])
        #expect(try await second.waitForExit() == 1)
        let lines = second.stderr.split(separator: "\n").filter { !$0.contains(" info ") && !$0.contains(" notice ") }
        #expect(lines == ["switchyardd: cannot listen on 127.0.0.1:\(first.port): address already in use (is another switchyardd running? stop it or pick another --port)"])
        #expect(second.stdout.isEmpty)
        await first.process.stop()
    }

    @Test(arguments: [["--port", "abc"], ["--port", "70000"], ["--bogus"], ["--queue-kb", "1"]])
    func badFlagsGetAUsageErrorAndNonZeroExit(arguments: [String]) async throws {
        let process = try ChildProcess(Tools.executable("switchyardd"), arguments)
        let status = try await process.waitForExit()
        #expect(status == 64, "a usage error, as the README says")
        #expect(process.stderr.contains("Error:"), "\(process.stderr)")
        #expect(!process.stderr.contains("Backtrace") && !process.stderr.contains("Fatal error"))
    }

    @Test func helpDescribesTheTool() async throws {
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--help"])
        #expect(try await process.waitForExit() == 0)
        #expect(process.stdout.contains("Switch raw Ethernet frames between Switchyard endpoints"))
        #expect(process.stdout.contains("--port"))
    }
}

/// The echo service and ping client as processes against our fabric.
@Suite(.timeLimit(.minutes(3))) struct EchoPingProcessTests {
    @Test func pingGetsItsEchoAndPrintsTheSeedsLines() async throws {
        let fabric = try await FabricProcess.ours()
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        let ready = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        #expect(ready == "[svc_echo] ready: endpoint 1 mac 02:53:59:00:00:01 ip 10.0.0.2 udp 7007")

        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)"], environment: ["PING_MSG": "marco polo"])
        #expect(try await ping.waitForExit() == 0, "\(ping.stderr)")
        #expect(ping.stdout == """
            [cli] sent 10 bytes to 10.0.0.2:7007 b'marco polo'
            [cli] got reply from 10.0.0.2:7007 b'marco polo'

            """)

        let custom = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--message", "it's", "--count", "3", "--resolve", "arp"])
        #expect(try await custom.waitForExit() == 0, "\(custom.stderr)")
        let lines = custom.stdout.split(separator: "\n")
        #expect(lines.filter { $0 == #"[cli] got reply from 10.0.0.2:7007 b"it's""# }.count == 3)
        #expect(lines.contains("3 packets transmitted, 3 received, 0% packet loss"))
        #expect(lines.last?.hasPrefix("rtt min/avg/max = ") == true)

        await echo.stop()
        await fabric.process.stop()
    }

    /// IPv6 between our own tools: ping and dig to the services' IPv6 addresses (by lookup and
    /// by neighbour solicitation), a 5,000-byte echo that comes back in one frame as it went
    /// (protocol v1's tools expect that), --ip6 moving an address and a bad --ip6.
    @Test func pingAndDigReachTheServicesOverIPv6AndLargeEchoesComeBackWhole() async throws {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        defer { echo.signal(SIGKILL) }
        let ready = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let dns = try ChildProcess(Tools.executable("switchyard-dns"), ["--port", "\(fabric.port)", "--ip6", "fd53:5900::53", "--record", "web=fd53:5900::80"])
        defer { dns.signal(SIGKILL) }
        _ = try await dns.waitForLine(startingWith: "[svc_dns] ready")
        let mac = try #require(MACAddress(String(ready.split(separator: " ")[5])))

        for arguments in [["fd53:5900::2"], ["fd53:5900::2", "--resolve", "arp"], ["\(IPv6Address.linkLocal(for: mac))", "--resolve", "arp"]] {
            let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)"] + arguments)
            #expect(try await ping.waitForExit() == 0, "\(arguments): \(ping.stdout) \(ping.stderr)")
            #expect(ping.stdout.contains("[cli] got reply from [\(arguments[0])]:7007 b'marco polo'"), "\(ping.stdout)")
        }
        let large = String(repeating: "z", count: 5000)
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--message", large])
        #expect(try await ping.waitForExit() == 0, "\(ping.stderr)")
        #expect(ping.stdout.hasSuffix("[cli] got reply from 10.0.0.2:7007 b'\(large)'\n"))

        for (server, name, answer) in [("fd53:5900::53", "web", "fd53:5900::80"), ("fd53:5900::53", "dns", "fd53:5900::53"), ("10.0.0.5", "echo", "fd53:5900::2")] {
            let dig = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", "\(fabric.port)", "--server", server, "--resolve", "arp", "\(name).switchyard.test", "AAAA", "--short"])
            #expect(try await dig.waitForExit() == 0, "\(dig.stderr)")
            #expect(dig.stdout == answer + "\n", "\(server) \(name)")
        }
        let noDefault = try ChildProcess(Tools.executable("switchyard-dig"), ["--port", "\(fabric.port)", "--server", "fd53:5900::5", "--resolve", "arp", "--timeout", "0.5", "dns.switchyard.test"])
        #expect(try await noDefault.waitForExit() == 1)
        #expect(noDefault.stderr == "switchyard-dig: timeout: no neighbour advertisement for fd53:5900::5 within 0.5 s\n", "--ip6 moved it")

        let bad = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)", "--ip6", "fe80::1"])
        #expect(try await bad.waitForExit() == 64)
        #expect(bad.stderr.contains("--ip6 takes a unicast IPv6 address outside fe80::/10"), "\(bad.stderr)")
    }

    @Test func pingWithoutEchoTimesOutWithAClearMessage() async throws {
        let fabric = try await FabricProcess.ours()
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--timeout", "0.5"])
        #expect(try await ping.waitForExit() == 1)
        #expect(ping.stderr == "switchyard-ping: timeout: endpoint \"svc_echo\" not found within 0.5 s (is switchyard-echo running?)\n")
        await fabric.process.stop()
    }

    @Test func toolsWithoutAFabricSayWhereTheyLooked() async throws {
        // Port 1: nothing listens there (a port freed by a fabric here could be reused at once
        // by another test's fabric).
        let port = 1
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(port)"])
        #expect(try await ping.waitForExit() == 2)
        #expect(ping.stderr.hasPrefix("switchyard-ping: cannot reach fabric at 127.0.0.1:\(port): "), "\(ping.stderr)")
        #expect(ping.stderr.split(separator: "\n").count == 1)
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(port)"])
        #expect(try await echo.waitForExit() == 2)
        #expect(echo.stderr.hasPrefix("switchyard-echo: cannot reach fabric at 127.0.0.1:\(port): "), "\(echo.stderr)")
    }
}

/// Who may connect: loopback TCP by default, Unix-domain sockets with file permissions.
@Suite(.timeLimit(.minutes(3))) struct AccessTests {
    @Test func nonLoopbackAddressesNeedAllowRemote() async throws {
        let refused = try ChildProcess(Tools.executable("switchyardd"), ["--host", "0.0.0.0", "--port", "0"])
        #expect(try await refused.waitForExit() == 64)
        #expect(refused.stderr.contains("0.0.0.0 is not a loopback address (0.0.0.0): anyone who can reach it could join the fabric; pass --allow-remote to listen there anyway"))
        let allowed = try await FabricProcess.ours(["--host", "0.0.0.0", "--allow-remote"])
        #expect(allowed.process.stderr.contains("which is not loopback: anyone who can reach it can join the fabric"))
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(allowed.port)", "--timeout", "0.3"])
        #expect(try await ping.waitForExit() == 1, "reachable (the service is simply not there)")
        #expect(ping.stderr.contains("not found within 0.3 s"))
        await allowed.process.stop()
    }

    /// Every listener off loopback is warned of, not only the v1 one: VXLAN, and QEMU's TCP
    /// and UDP ports. In a namespace of the test's own, so "every address" is its loopback.
    @Test(.requires(.namespaces))
    func everyNonLoopbackListenerIsWarnedOf() async throws {
        let namespace = try await NetworkNamespace()
        #expect(try await runCommand("ip", ["-n", namespace.name, "link", "set", "lo", "up"]).status == 0)
        let fabric = try ChildProcess(URL(fileURLWithPath: Tools.which("ip")!), [
            "netns", "exec", namespace.name, Tools.executable("switchyardd").path, "--port", "0", "--allow-remote",
            "--vxlan", "r=127.0.0.2", "--vxlan-listen", "0.0.0.0:4789",
            "--qemu", "vmu=udp:0.0.0.0:5555", "--qemu", "vmt=tcp:0.0.0.0:5556", "--qemu", "quiet=udp:127.0.0.1:5557",
        ])
        defer { fabric.signal(SIGKILL) }
        _ = try await FabricProcess.attach(fabric)
        #expect(fabric.stderr.contains("VXLAN listens on 0.0.0.0, which is not loopback"), "\(fabric.stderr)")
        #expect(fabric.stderr.contains("QEMU port vmu listens on 0.0.0.0, which is not loopback"), "\(fabric.stderr)")
        #expect(fabric.stderr.contains("QEMU port vmt listens on 0.0.0.0, which is not loopback"), "\(fabric.stderr)")
        #expect(!fabric.stderr.contains("QEMU port quiet"), "a loopback port is not warned of")
        #expect(!fabric.stderr.contains("listening on 127.0.0.1, which is not loopback"))
    }

    @Test func everyToolWorksOverAUnixSocketWithTheModeAsked() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("fabric.sock").path
        let fabric = try ChildProcess(Tools.executable("switchyardd"), ["--unix", path, "--unix-mode", "0660", "--capture", directory.appendingPathComponent("u.pcap").path])
        #expect(try await fabric.waitForLine(startingWith: "[fabric] listening on") == "[fabric] listening on unix:\(path)")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        #expect((attributes[.posixPermissions] as? Int) == 0o660)
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--unix", path])
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let ntpd = try ChildProcess(Tools.executable("switchyard-ntpd"), ["--unix", path, "--clock", "fixed:2026-01-01T00:00:00Z"])
        _ = try await ntpd.waitForLine(startingWith: "[svc_ntp] ready")
        let commands: [(String, [String])] = [
            ("switchyard-ping", ["--unix", path, "--resolve", "arp"]),
            ("switchyard-ntp", ["--unix", path]),
            ("switchyard-arp", ["who-has", "--unix", path, "10.0.0.2"]),
            ("switchyard-stats", ["--unix", path]),
            ("switchyard-replay", [Fixtures.echoSession, "--unix", path]),
        ]
        for (tool, arguments) in commands {
            let process = try ChildProcess(Tools.executable(tool), arguments)
            #expect(try await process.waitForExit() == 0, "\(tool): \(process.stdout) \(process.stderr)")
        }
        let second = try ChildProcess(Tools.executable("switchyardd"), ["--unix", path])
        #expect(try await second.waitForExit() == 1)
        #expect(second.stderr.contains("cannot listen on unix:\(path): a fabric is already listening there"))
        await echo.stop()
        await ntpd.stop()
        fabric.signal(SIGTERM)
        #expect(try await fabric.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed at exit")
    }
}
