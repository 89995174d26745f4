import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import SwitchyardCapture
import SwitchyardTestSupport
import Testing

/// switchyard-replay against real services, with the golden recordings in captures/.
@Suite(.timeLimit(.minutes(3))) struct ReplayProcessTests {
    @Test func goldenRecordingsReplayWithoutDifferences() async throws {
        let fabric = try await FabricProcess.ours()
        let echo = try await Fixtures.startEcho(fabric.port)
        let ntpd = try await Fixtures.startNTP(fabric.port)
        let echoReplay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)"])
        #expect(echoReplay.exitStatus == 0, "\(echoReplay.stdout) \(echoReplay.stderr)")
        #expect(echoReplay.stdout.hasSuffix("replayed 3 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected\n"))
        let ntpReplay = try await Fixtures.replay([Fixtures.ntpSession, "--port", "\(fabric.port)"])
        #expect(ntpReplay.exitStatus == 0, "\(ntpReplay.stdout) \(ntpReplay.stderr)")
        #expect(ntpReplay.stdout.hasSuffix("replayed 1 frame, expected 1 reply: 1 matched, 0 differed, 0 missing; 0 unexpected\n"))
        // The Linux kernel's ARP, nc and ntpdig, recorded in a namespace, played without it.
        let kernelReplay = try await Fixtures.replay([Fixtures.namespaceSession, "--port", "\(fabric.port)"])
        #expect(kernelReplay.exitStatus == 0, "\(kernelReplay.stdout) \(kernelReplay.stderr)")
        #expect(kernelReplay.stdout.hasSuffix("replayed 4 frames, expected 4 replies: 4 matched, 0 differed, 0 missing; 0 unexpected\n"))
        for mode in [["--timing", "recorded"], ["--topspeed"]] {
            let paced = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)"] + mode)
            #expect(paced.exitStatus == 0, "\(mode): \(paced.stdout)")
        }
        // Without its manifest, a recording's endpoints are its MACs, and the roles still show.
        let directory = try Tools.temporaryDirectory()
        let bare = directory.appendingPathComponent("bare.pcap").path
        try FileManager.default.copyItem(atPath: Fixtures.echoSession, toPath: bare)
        let bareReplay = try await Fixtures.replay([bare, "--port", "\(fabric.port)"])
        #expect(bareReplay.exitStatus == 0, "\(bareReplay.stdout) \(bareReplay.stderr)")
        #expect(bareReplay.stdout.hasPrefix("played replay-025359000002: it started udp"))
        // --expect-filter: only what it accepts is compared; the rest is background.
        let filtered = try await Fixtures.replay([Fixtures.namespaceSession, "--port", "\(fabric.port)", "--expect-filter", "udp port 7007"])
        #expect(filtered.exitStatus == 0, "\(filtered.stdout)")
        #expect(filtered.stdout.hasSuffix("expected 1 reply: 1 matched, 0 differed, 0 missing; 0 unexpected; 3 background frames, not compared\n"), "\(filtered.stdout)")
        await echo.stop()
        await ntpd.stop()
        await fabric.process.stop()
    }

    @Test(.requires(.tool("editcap", package: "wireshark-common")))
    func pcapngRecordingsReplayToo() async throws {
        let directory = try Tools.temporaryDirectory()
        let pcapng = directory.appendingPathComponent("echo-session.pcapng").path
        let convert = try await runCommand("editcap", ["-F", "pcapng", Fixtures.echoSession, pcapng])
        #expect(convert.status == 0, "\(convert.stderr)")
        try FileManager.default.copyItem(
            atPath: Tools.packageRoot.appendingPathComponent("captures/echo-session.manifest.json").path,
            toPath: directory.appendingPathComponent("echo-session.manifest.json").path
        )
        let fabric = try await FabricProcess.ours()
        let echo = try await Fixtures.startEcho(fabric.port)
        let replay = try await Fixtures.replay([pcapng, "--port", "\(fabric.port)"])
        #expect(replay.exitStatus == 0, "\(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.hasSuffix("replayed 3 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected\n"))
        await echo.stop()
        await fabric.process.stop()
    }

    /// `--html`: one self-contained page a person opens from a CI artefact. It parses as XML,
    /// has the ladder and the differing field side by side, fetches nothing, and Chromium
    /// renders it.
    @Test(.requires(.tool("chromium", package: "chromium")))
    func theHTMLReportParsesAndRenders() async throws {
        let fabric = try await FabricProcess.ours()
        let echo = try await Fixtures.startEcho(fabric.port, ["--ttl", "63"])
        let page = try temporaryPath("report.html")
        let replay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--html", page])
        #expect(replay.exitStatus == 1)
        await echo.stop()
        await fabric.process.stop()

        let data = try Data(contentsOf: URL(fileURLWithPath: page))
        let document = try XMLDocument(data: data)
        let text = String(decoding: data, as: UTF8.self)
        #expect(try document.nodes(forXPath: "//*[local-name()='svg']").count == 1, "one ladder for the one flow")
        #expect(try document.nodes(forXPath: "//*[local-name()='g'][@class='differed']").count == 3, "three replies differed")
        #expect(try document.nodes(forXPath: "//*[local-name()='g'][@class='played']").count == 3)
        #expect(try document.nodes(forXPath: "//*[local-name()='tr'][@class='changed']/*[1]").compactMap(\.stringValue).contains("ipv4.ttl"))
        #expect(text.contains("frame 2 differs: ipv4.ttl: expected 64, got 63"))
        #expect(!text.contains("<script"), "no scripts")
        #expect(!text.contains(" src=") && !text.contains("@import") && !text.contains("url("), "self-contained")

        let png = try temporaryPath("report.png")
        let chromium = try await runCommand(Tools.which("chromium") ?? "chromium", [
            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,700", "--screenshot=\(png)", "file://\(page)",
        ])
        #expect(chromium.status == 0, "\(chromium.stderr)")
        let image = try Data(contentsOf: URL(fileURLWithPath: png))
        #expect(image.starts(with: [0x89, 0x50, 0x4E, 0x47]) && image.count > 10_000, "a PNG with something drawn: \(image.count) bytes")
    }

    @Test func aChangedServiceFailsWithTheFieldNamed() async throws {
        let fabric = try await FabricProcess.ours()
        let echo = try await Fixtures.startEcho(fabric.port, ["--ttl", "63"])
        let ntpd = try await Fixtures.startNTP(fabric.port, ["--stratum", "2"])
        let echoReplay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)"])
        #expect(echoReplay.exitStatus == 1)
        #expect(echoReplay.stdout.contains("frame 2 (+"))
        #expect(echoReplay.stdout.contains(") differs: ipv4.ttl: expected 64, got 63\n"))
        #expect(echoReplay.stdout.hasSuffix("replayed 3 frames, expected 3 replies: 0 matched, 3 differed, 0 missing; 0 unexpected\n"))
        let masked = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--ignore", "ipv4.ttl"])
        #expect(masked.exitStatus == 0, "masking ipv4.ttl masks the header checksum too: \(masked.stdout)")
        #expect(masked.stdout.hasSuffix("0 unexpected; masked: ipv4.ttl 3 (--ignore)\n"), "the summary says what the mask hid: \(masked.stdout)")
        // A mask that hides nothing is named stale; --strict-masks fails on it.
        let stale = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--ignore", "ipv4.ttl", "--ignore", "dns.id"])
        #expect(stale.exitStatus == 0, "\(stale.stdout)")
        #expect(stale.stdout.contains("stale mask: --ignore dns.id hid nothing in this run\n"), "\(stale.stdout)")
        #expect(stale.stdout.hasSuffix("masked: dns.id 0 (--ignore, stale), ipv4.ttl 3 (--ignore)\n"), "\(stale.stdout)")
        let strict = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--ignore", "ipv4.ttl", "--ignore", "dns.id", "--strict-masks"])
        #expect(strict.exitStatus == 1)
        #expect(strict.stderr == "switchyard-replay: --strict-masks: dns.id hid nothing in this run\n", "\(strict.stderr)")

        let ntpReplay = try await Fixtures.replay([Fixtures.ntpSession, "--port", "\(fabric.port)"])
        #expect(ntpReplay.exitStatus == 1)
        #expect(ntpReplay.stdout.contains("differs: ntp.stratum: expected 1, got 2"), "\(ntpReplay.stdout)")
        await echo.stop()
        await ntpd.stop()
        await fabric.process.stop()
    }

    @Test func aStoppedServiceShowsAsMissingFrames() async throws {
        let fabric = try await FabricProcess.ours()
        let replay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--timeout", "0.2"])
        #expect(replay.exitStatus == 1)
        #expect(replay.stdout.hasPrefix("""
            played cli1: it started udp 10.0.0.1:12345 → 10.0.0.2:7007 (frame 1)
            expected svc_echo: it answered udp 10.0.0.1:12345 → 10.0.0.2:7007 (frame 2); it is NOT on the fabric, so its frames will be missing
            svc_echo is not on the fabric: its frames are missing

            """), "\(replay.stdout)")
        #expect(replay.stdout.contains(") missing: 02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 52: 10.0.0.2.7007 > 10.0.0.1.12345: UDP, length 10"))
        #expect(replay.stdout.hasSuffix("replayed 3 frames, expected 3 replies: 0 matched, 0 differed, 3 missing; 0 unexpected\n"))
        await fabric.process.stop()
    }

    /// The issue's case: a session with echo, NTP, DHCP and DNS, replayed with only the echo
    /// service stopped. Roles come from the recording, so the echo service is expected (and
    /// missing), never played.
    @Test func oneStoppedServiceOfManyFailsNamingIt() async throws {
        let fabric = try await FabricProcess.ours()
        let ntpd = try await Fixtures.startNTP(fabric.port)
        let replay = try await Fixtures.replay([Fixtures.namespaceSession, "--port", "\(fabric.port)", "--timeout", "0.3"])
        #expect(replay.exitStatus == 1, "\(replay.stdout)")
        #expect(replay.stdout.contains("expected svc_echo: it answered udp 10.0.0.50:40529 → 10.0.0.2:7007 (frame 4); it is NOT on the fabric"))
        #expect(replay.stdout.contains("\nsvc_echo is not on the fabric: its frames are missing\n"))
        #expect(replay.stdout.contains("expected svc_ntp: it answered udp 10.0.0.50:38371 → 10.0.0.3:123 (frame 8)\n"))
        #expect(!replay.stdout.contains("played svc_echo"))
        #expect(replay.stdout.hasSuffix("2 matched, 0 differed, 2 missing; 0 unexpected\n"), "\(replay.stdout)")
        await ntpd.stop()
        await fabric.process.stop()
    }

    @Test func aRestartedServiceWithANewMACIsMappedByName() async throws {
        let fabric = try await FabricProcess.ours()
        let first = try await Fixtures.startEcho(fabric.port)
        first.signal(SIGTERM)
        try await first.waitForExit()
        // The second run gets 02:53:59:00:00:02, which is also the recorded client's MAC.
        let echo = try await Fixtures.startEcho(fabric.port)
        #expect(echo.stdout.contains("mac 02:53:59:00:00:02"))
        let replay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)"])
        #expect(replay.exitStatus == 0, "\(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.hasSuffix("3 matched, 0 differed, 0 missing; 0 unexpected\n"))
        await echo.stop()
        await fabric.process.stop()
    }

    @Test func aReplayRecordedAgainHoldsTheSameFramesInTheSameOrder() async throws {
        let directory = try Tools.temporaryDirectory()
        let again = directory.appendingPathComponent("again.pcap").path
        let received = directory.appendingPathComponent("received.pcap").path
        let junit = directory.appendingPathComponent("junit.xml").path
        let fabric = try await FabricProcess.ours(["--capture", again])
        let echo = try await Fixtures.startEcho(fabric.port)
        let replay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--write", received, "--junit", junit, "-q"])
        #expect(replay.exitStatus == 0)
        await echo.stop()
        fabric.process.signal(SIGTERM)
        try await fabric.process.waitForExit()
        let original = try PcapReader(path: Fixtures.echoSession).readAll().map(\.bytes)
        #expect(try PcapReader(path: again).readAll().map(\.bytes) == original)
        #expect(try PcapReader(path: received).readAll().map(\.bytes) == [original[1], original[3], original[5]])
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        #expect(xml.contains(#"<testsuite name="echo-session.pcap" tests="1" failures="0""#), "one flow: \(xml)")
        #expect(xml.contains(#"name="udp 10.0.0.1:12345 → 10.0.0.2:7007"/>"#))
    }

    @Test func regeneratingTheEchoRecordingGivesTheSameFrameBytes() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("echo.pcap").path
        let fabric = try await FabricProcess.ours(["--capture", path])
        let echo = try await Fixtures.startEcho(fabric.port)
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--count", "3"], environment: ["PING_MSG": "marco polo"])
        #expect(try await ping.waitForExit() == 0)
        await echo.stop()
        fabric.process.signal(SIGTERM)
        try await fabric.process.waitForExit()
        #expect(try PcapReader(path: path).readAll().map(\.bytes) == PcapReader(path: Fixtures.echoSession).readAll().map(\.bytes))
    }

    @Test func badRecordingsAndFlagsExitTwoWithOneLine() async throws {
        let fabric = try await FabricProcess.ours()
        let directory = try Tools.temporaryDirectory()
        let text = directory.appendingPathComponent("notes.pcap").path
        try Data("not a capture".utf8).write(to: URL(fileURLWithPath: text))
        let bare = directory.appendingPathComponent("bare.pcap").path
        try FileManager.default.copyItem(atPath: Fixtures.echoSession, toPath: bare)
        let cases: [([String], String)] = [
            ([text], "switchyard-replay: cannot read \(text): "),
            (["/nonexistent/x.pcap"], "switchyard-replay: cannot read /nonexistent/x.pcap: "),
            ([bare, "--play", "cli1"], "switchyard-replay: \(bare) has no manifest, so --play and --expect take MAC addresses, not \"cli1\""),
            ([Fixtures.echoSession, "--expect-filter", "udp and ((("], "Error: --expect-filter: invalid filter \"udp and (((\": "),
            ([Fixtures.echoSession, "--ignore", "ipv4.colour"], "Error: --ignore ipv4.colour: no such field"),
            ([Fixtures.echoSession, "--map", "nonsense"], "Error: --map nonsense: want OLD_MAC=NEW_MAC"),
            ([Fixtures.echoSession, "--bogus"], "Error: Unknown option '--bogus'"),
            ([Fixtures.echoSession, "--play", "nobody"], "switchyard-replay: \"nobody\" is no endpoint of the recording (its endpoints: svc_echo, cli1)"),
        ]
        for (arguments, message) in cases {
            let replay = try await Fixtures.replay(arguments + ["--port", "\(fabric.port)"])
            #expect(replay.exitStatus == 2, "\(arguments)")
            #expect(replay.stderr.hasPrefix(message), "\(arguments): \(replay.stderr)")
            #expect(!replay.stderr.contains("Backtrace"))
        }
        await fabric.process.stop()
        // Port 1: nothing listens there.
        let noFabric = try await Fixtures.replay([Fixtures.echoSession, "--port", "1"])
        #expect(noFabric.exitStatus == 2)
        #expect(noFabric.stderr == "switchyard-replay: cannot reach fabric at 127.0.0.1:1: Connection refused\n")
    }
}
