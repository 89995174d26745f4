import Foundation
import SwitchyardCapture
import SwitchyardTestSupport
import Testing

/// pcapng recordings, read back by Wireshark's own readers (tshark, capinfos), by libpcap and
/// by replay.
@Suite(.timeLimit(.minutes(3))) struct PcapngCaptureTests {

    /// Ping 3 times through echo with the fabric recording to `path` with `arguments`.
    static func recordPings(_ path: String, _ arguments: [String] = [], count: Int = 3, message: String = "marco polo", rules: String? = nil) async throws {
        var fabricArguments = ["--capture", path] + arguments
        if let rules {
            let rulesPath = path + ".rules"
            try rules.write(toFile: rulesPath, atomically: true, encoding: .utf8)
            fabricArguments += ["--rules", rulesPath, "--seed", "3"]
        }
        let fabric = try await FabricProcess.ours(fabricArguments)
        defer { fabric.process.signal(SIGKILL) }
        let echo = try await Fixtures.startEcho(fabric.port)
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--count", "\(count)", "--timeout", "0.5"], environment: ["PING_MSG": message])
        _ = try await ping.waitForExit()
        await echo.stop()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
    }

    static func fields(_ path: String, _ fields: [String], filter: String? = nil) async throws -> [[String]] {
        let arguments = ["-r", path] + (filter.map { ["-Y", $0] } ?? []) + ["-T", "fields"] + fields.flatMap { ["-e", $0] }
        let result = try await runCommand("tshark", arguments)
        #expect(result.status == 0, "\(result.stderr)")
        return result.stdout.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    @Test(.requires(.tshark))
    func eachFrameIsOnItsSendersInterface() async throws {
        let path = try temporaryPath("echo.pcapng")
        try await Self.recordPings(path)
        let rows = try await Self.fields(path, ["frame.interface_name", "frame.interface_description", "frame.packet_flags_direction", "frame.packet_id"])
        #expect(rows == (1...3).flatMap { ping in
            [
                ["cli1", "02:53:59:00:00:02 (v1 client)", "0x00000001", "\(2 * ping - 1)"],
                ["svc_echo", "02:53:59:00:00:01 (v1 client)", "0x00000001", "\(2 * ping)"],
            ]
        }, "sender, its MAC and kind, inbound, the fabric's sequence number: \(rows)")
        let selected = try await Self.fields(path, ["frame.number"], filter: #"frame.interface_name == "svc_echo""#)
        #expect(selected == [["2"], ["4"], ["6"]])

        let info = try await runCommand("capinfos", [path])
        #expect(info.stdout.contains("File type:           Wireshark/... - pcapng"), "\(info.stdout)")
        #expect(info.stdout.contains("Capture application: switchyardd "), "\(info.stdout)")
        #expect(info.stdout.contains("Capture comment:     switchyard fabric recording; seed 0; no rules"), "\(info.stdout)")
        #expect(info.stdout.contains("Number of interfaces in file: 2"), "\(info.stdout)")
        #expect(info.stdout.contains("Number of stat entries = 1"), "an Interface Statistics Block per interface at close: \(info.stdout)")

        // libpcap reads the same frames as the classic golden recording of this session holds.
        #expect(try PcapReader(path: path).readAll().map(\.bytes) == PcapReader(path: Fixtures.echoSession).readAll().map(\.bytes))
        let statistics = try Self.statisticsBlocks(path)
        #expect(statistics == [3, 3], "isb_ifrecv: frames each endpoint sent: \(statistics)")
    }

    /// `isb_ifrecv` of each Interface Statistics Block, read from the file's blocks.
    static func statisticsBlocks(_ path: String) throws -> [UInt64] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        func word(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var received: [UInt64] = []
        var position = 0
        while position + 12 <= bytes.count {
            let type = word(position)
            let length = word(position + 4)
            if type == 5 {
                var option = position + 20
                while option + 4 <= position + length - 4 {
                    let code = word(option) & 0xFFFF
                    let size = word(option) >> 16
                    if code == 4 {
                        received.append(UInt64(word(option + 4)) | UInt64(word(option + 8)) << 32)
                    }
                    if code == 0 { break }
                    option += 4 + ((size + 3) & ~3)
                }
            }
            position += max(length, 12)
        }
        return received
    }

    @Test(.requires(.tshark))
    func bothPointsShowEachDeliveryAndWhatARuleDidToIt() async throws {
        let path = try temporaryPath("lossy.pcapng")
        try await Self.recordPings(path, ["--capture-points", "both"], count: 6, rules: "to svc_echo loss 50%\nfrom svc_echo delay 10ms\n")
        let rows = try await Self.fields(path, ["frame.interface_name", "frame.packet_flags_direction", "frame.comment", "frame.packet_id"])
        let inbound = rows.filter { $0[1] == "0x00000001" }
        let outbound = rows.filter { $0[1] == "0x00000002" }
        #expect(inbound.filter { $0[0] == "cli1" }.count == 6, "\(rows)")
        #expect(outbound.filter { $0[0] == "svc_echo" }.count == 6, "every delivery to the service, delivered or not: \(rows)")
        let dropped = outbound.filter { $0[2] == "rule 1: dropped (loss)" }
        #expect(!dropped.isEmpty && dropped.count < 6, "seed 3 loses some of the six, not all: \(rows)")
        let echoes = inbound.filter { $0[0] == "svc_echo" }
        #expect(echoes.count == 6 - dropped.count)
        #expect(outbound.filter { $0[0] == "cli1" }.allSatisfy { $0[2] == "rule 2: delayed 10.000 ms" } && outbound.contains { $0[0] == "cli1" }, "\(rows)")
        // A delivery carries its frame's sequence number, right after it.
        for (index, row) in rows.enumerated() where row[1] == "0x00000002" {
            #expect(rows[index - 1][3] == row[3] && rows[index - 1][1] == "0x00000001", "\(rows)")
        }
        let malformed = try await Self.fields(path, ["frame.number"], filter: "_ws.malformed || _ws.expert.severity >= 8388608")
        #expect(malformed.isEmpty, "\(malformed)")

        // Replay plays the inbound frames only (the deliveries are the same frames again), on a
        // fabric with the same rules and seed: the same frames are lost again.
        let fabric = try await FabricProcess.ours(["--rules", path + ".rules", "--seed", "3"])
        let echo = try await Fixtures.startEcho(fabric.port)
        let replay = try await Fixtures.replay([path, "--port", "\(fabric.port)", "--timeout", "0.5"])
        let replies = echoes.count == 1 ? "1 reply" : "\(echoes.count) replies"
        #expect(replay.stdout.hasSuffix("replayed 6 frames, expected \(replies): \(echoes.count) matched, 0 differed, 0 missing; 0 unexpected\n"), "\(replay.stdout)")
        await echo.stop()
        await fabric.process.stop()
    }

    @Test(.requires(.tshark))
    func theFormatFlagRotationAndReplayWithoutAManifest() async throws {
        let directory = try Tools.temporaryDirectory()
        let base = directory.appendingPathComponent("big.pcap").path
        // 30 pings of 60,000 bytes each way: 3.6 MB, so several 1 MB files.
        try await Self.recordPings(base, ["--capture-format", "pcapng", "--capture-file-size", "1"], count: 30, message: String(repeating: "x", count: 60000))
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".pcap") && !$0.hasSuffix(".rules") }.sorted()
        #expect(files.count >= 3, "\(files)")
        var total = 0
        for file in files {
            let path = directory.appendingPathComponent(file).path
            let info = try await runCommand("capinfos", ["-t", path])
            #expect(info.stdout.contains("pcapng"), "--capture-format pcapng whatever the name: \(info.stdout)")
            let names = Set(try await Self.fields(path, ["frame.interface_name"]).map { $0[0] })
            #expect(names.isSubset(of: ["cli1", "svc_echo"]) && !names.isEmpty, "each file's section names its interfaces again: \(file) \(names)")
            total += try PcapReader(path: path).readAll().count
        }
        #expect(total == 60)

        // The first file replays with no manifest at all: its interfaces name the endpoints.
        let first = directory.appendingPathComponent(files[0]).path
        try FileManager.default.removeItem(atPath: RecordingManifest.path(forCapture: first))
        let fabric = try await FabricProcess.ours()
        let echo = try await Fixtures.startEcho(fabric.port)
        let replay = try await Fixtures.replay([first, "--port", "\(fabric.port)"])
        #expect(replay.exitStatus == 0, "\(replay.stdout) \(replay.stderr)")
        await echo.stop()
        await fabric.process.stop()
    }

    @Test(.requires(.tshark))
    func aKilledFabricLeavesAFileThatReadsToItsLastFlush() async throws {
        let path = try temporaryPath("killed.pcapng")
        let fabric = try await FabricProcess.ours(["--capture", path])
        defer { fabric.process.signal(SIGKILL) }
        let echo = try await Fixtures.startEcho(fabric.port)
        defer { echo.signal(SIGKILL) }
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--count", "5"])
        #expect(try await ping.waitForExit() == 0)
        // The writer flushes at least every 100 ms; wait (bounded) until the ten frames are on disk.
        try await eventually("ten frames on disk", every: .milliseconds(50)) { (try? PcapReader(path: path).readAll().count) == 10 }
        fabric.process.signal(SIGKILL)
        _ = try await fabric.process.waitForExit()
        let read = try await runCommand("tshark", ["-r", path])
        #expect(read.status == 0 && read.stdout.split(separator: "\n").count == 10, "\(read)")
        #expect(try PcapReader(path: path).readAll().count == 10)
    }

    @Test(.requires(.tshark))
    func sniffAndReplayWritePcapngToo() async throws {
        let directory = try Tools.temporaryDirectory()
        let sniffed = directory.appendingPathComponent("sniffed.pcapng").path
        let received = directory.appendingPathComponent("received.pcapng").path
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let echo = try await Fixtures.startEcho(fabric.port)
        let sniff = try ChildProcess(Tools.executable("switchyard-sniff"), ["--port", "\(fabric.port)", "-c", "6", "-w", sniffed, "--name", "watcher"])
        _ = try await sniff.waitForLine(startingWith: "[sniff] listening", on: .stderr)
        let replay = try await Fixtures.replay([Fixtures.echoSession, "--port", "\(fabric.port)", "--write", received])
        #expect(replay.exitStatus == 0)
        #expect(try await sniff.waitForExit() == 0, "\(sniff.stderr)")
        await echo.stop()
        let sniffedNames = try await Self.fields(sniffed, ["frame.interface_name"])
        #expect(sniffedNames == Array(repeating: ["watcher"], count: 6), "\(sniffedNames)")
        let receivedNames = try await Self.fields(received, ["frame.interface_name", "udp.length"])
        #expect(receivedNames.count == 3 && receivedNames.allSatisfy { $0 == ["switchyard-replay", "18"] }, "\(receivedNames)")
    }
}
