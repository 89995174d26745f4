import Foundation
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
        #expect(echoReplay.stdout == "replayed 3 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected\n")
        let ntpReplay = try await Fixtures.replay([Fixtures.ntpSession, "--port", "\(fabric.port)"])
        #expect(ntpReplay.exitStatus == 0, "\(ntpReplay.stdout) \(ntpReplay.stderr)")
        #expect(ntpReplay.stdout == "replayed 1 frame, expected 1 reply: 1 matched, 0 differed, 0 missing; 0 unexpected\n")
        // The Linux kernel's ARP, nc and ntpdig, recorded in a namespace, played without it.
        let kernelReplay = try await Fixtures.replay([Fixtures.namespaceSession, "--port", "\(fabric.port)"])
        #expect(kernelReplay.exitStatus == 0, "\(kernelReplay.stdout) \(kernelReplay.stderr)")
        #expect(kernelReplay.stdout == "replayed 4 frames, expected 4 replies: 4 matched, 0 differed, 0 missing; 0 unexpected\n")
        for mode in [["--timing", "recorded"], ["--topspeed"]] {
            let paced = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)"] + mode)
            #expect(paced.exitStatus == 0, "\(mode): \(paced.stdout)")
        }
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
        #expect(replay.stdout == "replayed 3 frames, expected 3 replies: 3 matched, 0 differed, 0 missing; 0 unexpected\n")
        await echo.stop()
        await fabric.process.stop()
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
        #expect(replay.stdout.contains("svc_echo is not on the fabric: expecting its frames (it only answered in the recording)"))
        #expect(replay.stdout.contains(") missing: 02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 52: 10.0.0.2.7007 > 10.0.0.1.12345: UDP, length 10"))
        #expect(replay.stdout.hasSuffix("replayed 3 frames, expected 3 replies: 0 matched, 0 differed, 3 missing; 0 unexpected\n"))
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
        #expect(xml.contains(#"<testsuite name="echo-session.pcap" tests="3" failures="0""#))
        #expect(xml.components(separatedBy: "<testcase ").count == 4)
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
            ([bare], "switchyard-replay: \(bare) has no manifest (\(directory.path)/bare.manifest.json): say which endpoints to play with --play MAC"),
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
