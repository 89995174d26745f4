import Foundation
import SwitchyardTestSupport
import Testing

/// switchyard-ntpd, switchyard-ntp and switchyard-arp as processes, and with the reference peer.
@Suite(.timeLimit(.minutes(3))) struct NTPProcessTests {
    @Test(.requires(.tshark))
    func clientQueriesTheResponderAndTsharkDecodesTheReply() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("ntp.pcap").path
        let fabric = try await FabricProcess.ours(["--capture", path])
        let ntpd = try ChildProcess(Tools.executable("switchyard-ntpd"), ["--port", "\(fabric.port)", "--clock", "fixed:2026-01-01T00:00:00Z"])
        #expect(try await ntpd.waitForLine(startingWith: "[svc_ntp] ready") == "[svc_ntp] ready: endpoint 1 mac 02:53:59:00:00:01 ip 10.0.0.3 udp 123")
        let ntp = try ChildProcess(Tools.executable("switchyard-ntp"), ["--port", "\(fabric.port)", "--clock", "fixed:2026-01-01T00:00:00Z", "--resolve", "arp"])
        #expect(try await ntp.waitForExit() == 0, "\(ntp.stderr)")
        #expect(ntp.stdout == """
            [cli_ntp] server time 2026-01-01T00:00:00.000000+00:00 (stratum 1, ref LOCL)
            [cli_ntp] offset +0.000000 s, delay 0.000000 s

            """)
        let arp = try ChildProcess(Tools.executable("switchyard-arp"), ["who-has", "--port", "\(fabric.port)", "10.0.0.3"])
        #expect(try await arp.waitForExit() == 0)
        #expect(arp.stdout.hasPrefix("10.0.0.3 is-at 02:53:59:00:00:01 ("))
        let nobody = try ChildProcess(Tools.executable("switchyard-arp"), ["who-has", "--port", "\(fabric.port)", "--timeout", "0.3", "10.0.0.99"])
        #expect(try await nobody.waitForExit() == 1)
        #expect(nobody.stderr == "switchyard-arp: timeout: no ARP reply for 10.0.0.99 within 0.3 s\n")
        ntpd.signal(SIGTERM)
        #expect(try await ntpd.waitForExit() == 0, "services exit 0 on SIGTERM")
        fabric.process.signal(SIGTERM)
        try await fabric.process.waitForExit()

        let tshark = try await runCommand("tshark", ["-r", path, "-Y", "ntp", "-T", "fields", "-e", "ntp.flags.vn", "-e", "ntp.flags.mode", "-e", "ntp.stratum", "-e", "ntp.refid"])
        #expect(tshark.stdout.split(separator: "\n") == ["4\t3\t0\t00000000", "4\t4\t1\t4c4f434c"], "v4 client request, v4 server reply, stratum 1, LOCL")
    }

    @Test func clientWithoutAServerTimesOut() async throws {
        let fabric = try await FabricProcess.ours()
        let ntp = try ChildProcess(Tools.executable("switchyard-ntp"), ["--port", "\(fabric.port)", "--timeout", "0.4"])
        #expect(try await ntp.waitForExit() == 1)
        #expect(ntp.stderr == "switchyard-ntp: timeout: endpoint \"svc_ntp\" not found within 0.4 s (is switchyard-ntpd running?)\n")
        await fabric.process.stop()
    }

    @Test(arguments: [["--clock", "sundial"], ["--clock", "fixed:soon"]])
    func badClocksAreUsageErrors(arguments: [String]) async throws {
        let ntpd = try ChildProcess(Tools.executable("switchyard-ntpd"), arguments)
        #expect(try await ntpd.waitForExit() == 64)
        #expect(ntpd.stderr.contains("--clock"))
    }

    @Test(.requires(.peer), arguments: Fixtures.FabricKind.allCases)
    func interoperatesWithThePeersNTPToolsBothWays(fabricKind: Fixtures.FabricKind) async throws {
        let fabric = try await (fabricKind == .ours ? FabricProcess.ours() : FabricProcess.peer())
        let ours = try ChildProcess(Tools.executable("switchyard-ntpd"), ["--port", "\(fabric.port)"])
        _ = try await ours.waitForLine(startingWith: "[svc_ntp] ready")
        for resolve in ["lookup", "arp"] {
            let peerClient = try ChildProcess(Tools.python3!, [Tools.peerScript("cli_ntp.py"), "--port", "\(fabric.port)", "--resolve", resolve])
            #expect(try await peerClient.waitForExit() == 0, "\(peerClient.stderr)")
            #expect(peerClient.stdout.contains("(stratum 1, ref LOCL)"))
            #expect(peerClient.stdout.contains("[cli_ntp] offset "))
        }
        ours.signal(SIGTERM)
        try await ours.waitForExit()

        let theirs = try ChildProcess(Tools.python3!, ["-u", Tools.peerScript("svc_ntp.py"), "--port", "\(fabric.port)", "-q"])
        _ = try await theirs.waitForLine(startingWith: "[svc_ntp] ready")
        for resolve in ["lookup", "arp"] {
            let ourClient = try ChildProcess(Tools.executable("switchyard-ntp"), ["--port", "\(fabric.port)", "--resolve", resolve])
            #expect(try await ourClient.waitForExit() == 0, "\(ourClient.stderr)")
            #expect(ourClient.stdout.contains("(stratum 1, ref LOCL)"))
        }
        await theirs.stop()
        await fabric.process.stop()
    }
}
