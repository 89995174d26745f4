import Foundation
import SwitchyardCapture
import SwitchyardTestSupport
import Testing

/// switchyard-sniff and switchyard-stats as processes.
@Suite(.timeLimit(.minutes(3))) struct SniffStatsProcessTests {
    @Test func sniffPrintsFilteredFramesAndStopsAfterCount() async throws {
        let fabric = try await FabricProcess.ours()
        let sniff = try ChildProcess(Tools.executable("switchyard-sniff"), ["--port", "\(fabric.port)", "-c", "2", "udp", "port", "7007"])
        let ready = try await sniff.waitForLine(startingWith: "[sniff] listening on", on: .stderr)
        #expect(ready.hasSuffix("(promiscuous), filter: udp port 7007"))
        let directory = try Tools.temporaryDirectory()
        let written = directory.appendingPathComponent("sniffed.pcap").path
        let writer = try ChildProcess(Tools.executable("switchyard-sniff"), ["--port", "\(fabric.port)", "-w", written, "--name", "writer"])
        _ = try await writer.waitForLine(startingWith: "[sniff] listening on", on: .stderr)

        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--resolve", "arp"])
        #expect(try await ping.waitForExit() == 0)

        #expect(try await sniff.waitForExit() == 0, "stops by itself after -c 2")
        let lines = sniff.stdout.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[0].hasSuffix("02:53:59:00:00:04 > 02:53:59:00:00:03, IPv4, length 52: 10.0.0.1.12345 > 10.0.0.2.7007: UDP, length 10"), "\(lines[0])")
        #expect(lines[1].hasSuffix("02:53:59:00:00:03 > 02:53:59:00:00:04, IPv4, length 52: 10.0.0.2.7007 > 10.0.0.1.12345: UDP, length 10"), "\(lines[1])")
        #expect(sniff.stderr.hasSuffix("2 frames captured\n"))

        writer.signal(SIGINT)
        #expect(try await writer.waitForExit() == 0)
        #expect(writer.stderr.hasSuffix("4 frames captured\n"), "\(writer.stderr)")
        #expect(try PcapReader(path: written).readAll().count == 4, "ARP request, reply, ping, echo")

        let stats = try ChildProcess(Tools.executable("switchyard-stats"), ["--port", "\(fabric.port)"])
        #expect(try await stats.waitForExit() == 0)
        #expect(stats.stdout.contains("frames switched:  4 (1 flooded, 0 refused)"), "\(stats.stdout)")
        #expect(stats.stdout.contains("capture:          off"))
        let json = try ChildProcess(Tools.executable("switchyard-stats"), ["--port", "\(fabric.port)", "--json"])
        #expect(try await json.waitForExit() == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["frames_switched"] as? Int == 4)
        #expect(object?["endpoints"] as? Int == 1, "only the echo service is still connected (sniffers and ping have gone)")
        await echo.stop()
        await fabric.process.stop()
    }

    @Test func sniffRefusesBadFiltersAndBadFilesWithExitTwo() async throws {
        let badFilter = try ChildProcess(Tools.executable("switchyard-sniff"), ["-r", "/dev/null", "udp", "prt", "7"])
        #expect(try await badFilter.waitForExit() == 2)
        #expect(badFilter.stderr.hasPrefix("switchyard-sniff: invalid filter \"udp prt 7\": "))
        let directory = try Tools.temporaryDirectory()
        let notPcap = directory.appendingPathComponent("notes.txt")
        try Data("not a capture".utf8).write(to: notPcap)
        let badFile = try ChildProcess(Tools.executable("switchyard-sniff"), ["-r", notPcap.path])
        #expect(try await badFile.waitForExit() == 2)
        #expect(badFile.stderr.hasPrefix("switchyard-sniff: cannot read \(notPcap.path): "), "\(badFile.stderr)")
        #expect(badFile.stderr.split(separator: "\n").count == 1)
    }
}
