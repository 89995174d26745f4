import Foundation
import NIOCore
import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire
import SwitchyardTestSupport
import Testing

/// What users of tcpdump, tcpreplay and ping expect of the tools (issue: "every tool behaves like
/// a well-made Unix tool"): pipes that work, recordings never lost, errors that say what is wrong.
@Suite(.timeLimit(.minutes(3))) struct UnixHabitsTests {
    static let golden = Fixtures.echoSession

    /// The documented Wireshark pipe: one pcap header, then records, readable as a stream.
    @Test(.requires(.tcpdump))
    func liveSniffToStdoutPipesIntoTcpdump() async throws {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let sniff = try ChildProcess(URL(fileURLWithPath: "/bin/sh"), [
            "-c", "\"$0\" --port \"$1\" -w - -c 3 | tcpdump -nn -r -", Tools.executable("switchyard-sniff").path, "\(fabric.port)",
        ])
        defer { sniff.signal(SIGKILL) }
        _ = try await sniff.waitForLine(startingWith: "[sniff] listening", on: .stderr)
        try await Fixtures.sendFrames(5, port: fabric.port)
        #expect(try await sniff.waitForExit() == 0, "\(sniff.stderr)")
        // One line per frame (tcpdump adds indented hex lines for this unknown EtherType).
        #expect(sniff.stdout.split(separator: "\n").filter { !$0.hasPrefix("\t") }.count == 3, "\(sniff.stdout)")
        #expect(!sniff.stderr.contains("Invalid header"), "\(sniff.stderr)")
    }

    @Test(.requires(.all(.tcpdump, .tshark)))
    func liveSniffToAFileIsReadByTcpdumpAndTshark() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("live.pcap").path
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let sniff = try ChildProcess(Tools.executable("switchyard-sniff"), ["--port", "\(fabric.port)", "-w", path, "-c", "4"])
        defer { sniff.signal(SIGKILL) }
        _ = try await sniff.waitForLine(startingWith: "[sniff] listening", on: .stderr)
        try await Fixtures.sendFrames(4, port: fabric.port)
        #expect(try await sniff.waitForExit() == 0, "\(sniff.stderr)")
        let tcpdump = try await runCommand("tcpdump", ["-nn", "-r", path])
        #expect(tcpdump.status == 0, "\(tcpdump.stderr)")
        #expect(tcpdump.stdout.split(separator: "\n").filter { !$0.hasPrefix("\t") }.count == 4)
        let tshark = try await runCommand("tshark", ["-r", path])
        #expect(tshark.status == 0, "\(tshark.stderr)")
        #expect(tshark.stdout.split(separator: "\n").count == 4)
    }

    /// With no fabric, `-w FILE` leaves an existing file as it was.
    @Test func sniffWithoutAFabricDoesNotTouchItsOutputFile() async throws {
        let path = try Self.copyOfGolden()
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let sniff = try ChildProcess(Tools.executable("switchyard-sniff"), ["--port", "1", "-w", path])
        #expect(try await sniff.waitForExit() == 2)
        #expect(sniff.stderr.hasPrefix("switchyard-sniff: cannot reach fabric at 127.0.0.1:1"), "\(sniff.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    /// A fabric that cannot bind never opens (truncates) its capture file or manifest.
    @Test func aFailedStartLeavesAnExistingRecordingAlone() async throws {
        let path = try Self.copyOfGolden()
        let manifest = RecordingManifest.path(forCapture: path)
        let recording = try Data(contentsOf: URL(fileURLWithPath: path))
        let manifestBytes = try Data(contentsOf: URL(fileURLWithPath: manifest))
        let first = try await FabricProcess.ours()
        defer { first.process.signal(SIGKILL) }
        let second = try ChildProcess(Tools.executable("switchyardd"), ["--port", "\(first.port)", "--capture", path])
        #expect(try await second.waitForExit() == 1)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == recording, "the recording is untouched")
        #expect(try Data(contentsOf: URL(fileURLWithPath: manifest)) == manifestBytes, "its manifest too")
        #expect(!second.stderr.contains("frames captured"), "no capture summary for a capture that never started: \(second.stderr)")
        #expect(second.stderr.hasSuffix("address already in use (is another switchyardd running? stop it or pick another --port)\n"))
    }

    /// SIGKILL under a steady load: the file holds whole records, except where the kernel ended
    /// a multi-page `write(2)` at a page boundary (SIGKILL interrupts a write between pages);
    /// then every record before the cut is read. Our own writes always end at a record
    /// boundary (`PcapDumper` tests check that on disk).
    @Test(.requires(.tcpdump))
    func sigkillUnderLoadNeverLeavesAPartialRecord() async throws {
        let directory = try Tools.temporaryDirectory()
        for attempt in 0..<3 {
            let path = directory.appendingPathComponent("kill\(attempt).pcap").path
            let fabric = try await FabricProcess.ours(["--capture", path])
            let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
            let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
            // Odd-sized frames: a 4 KiB stdio buffer would end inside a record almost surely.
            try Fixtures.sendNumbered(6000, from: sender, a, to: b, size: 997 + attempt * 211)
            _ = try await Fixtures.waitForCapture(observer, written: UInt64(1500 * (attempt + 1)))
            fabric.process.signal(SIGKILL)
            try await fabric.process.waitForExit()
            await sender.close()
            await observer.close()
            let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int ?? 0
            let reader = try PcapReader(path: path)
            let records = try reader.readAll()
            let recordSize = 16 + 997 + attempt * 211
            if reader.truncation != nil {
                #expect(size % 4096 == 0, "a cut that is not the kernel's page boundary: \(size) bytes")
            } else {
                #expect(size == 24 + records.count * recordSize, "whole records only")
                let tcpdump = try await runCommand("tcpdump", ["-nn", "-r", path])
                #expect(tcpdump.status == 0, "attempt \(attempt): \(tcpdump.stderr)")
            }
            #expect(records.count >= 1500 * (attempt + 1) - 1000, "the records flushed before the kill are there")
        }
    }

    /// A recording whose last record was cut replays up to it, with a warning (as tcpdump reads it).
    @Test func replayAndSniffReadACutRecordingUpToTheCut() async throws {
        let path = try Self.copyOfGolden()
        let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        try bytes.dropLast(5).write(to: URL(fileURLWithPath: path))
        let sniff = try ChildProcess(Tools.executable("switchyard-sniff"), ["-nn", "-e", "-r", path])
        #expect(try await sniff.waitForExit() == 0, "\(sniff.stderr)")
        #expect(sniff.stdout.split(separator: "\n").count == 5, "the 5 whole frames of 6: \(sniff.stdout)")
        #expect(sniff.stderr.hasPrefix("switchyard-sniff: warning: \(path): truncated dump file"), "\(sniff.stderr)")

        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        defer { echo.signal(SIGKILL) }
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [path, "--port", "\(fabric.port)"])
        let status = try await replay.waitForExit()
        #expect(replay.stderr.contains("switchyard-replay: warning: \(path): truncated dump file"), "\(replay.stderr)")
        #expect(status == 0 || status == 1, "replayed, not refused: \(replay.stdout) \(replay.stderr)")
        #expect(replay.stdout.contains("replayed 3 frames"), "\(replay.stdout)")
    }

    /// A connection subscribed to its own endpoint that sends without reading is declared
    /// stalled and keeps being read: its frames to itself are dropped and counted.
    @Test func aConnectionNeverWaitsOnItself() async throws {
        try await withInProcessFabric(stallTimeout: .milliseconds(100)) { port in
            let raw = try await RawConnection.open(port: port)
            let a = MACAddress("02:00:00:00:0a:01")!
            let b = MACAddress("02:00:00:00:0a:02")!
            try await raw.write([
                Message(.hello, json: HelloRequest(clientName: "self")),
                Message(.endpointCreate, json: EndpointCreateRequest(name: "self-a", mac: a.description)),
                Message(.endpointCreate, json: EndpointCreateRequest(name: "self-b", mac: b.description)),
                Message(.subscribe, endpointID: 2, json: SubscribeRequest(endpointID: 2, promisc: false)),
            ])
            let frame = b.bytes + a.bytes + [0x88, 0xB5] + [UInt8](repeating: 7, count: 50)
            let batch = [Message](repeating: Message(.packetOut, endpointID: 1, payload: ByteBuffer(bytes: frame)), count: 1000)
            // 200,000 frames (14 MB): several times what the socket buffers and the queue cap hold.
            try await withTimeLimit(.seconds(60), "the fabric stopped reading a connection that waits on itself") {
                for _ in 0..<200 {
                    try await raw.write(batch)
                }
            }
            let observer = try await FabricClient.connect(port: port, clientName: "observer")
            let stats = try await observer.statistics()
            #expect(stats.framesSwitched >= 199_000, "\(stats.framesSwitched)")
            #expect(stats.connections.first?.stalled == true)
            #expect((stats.connections.first?.dropped ?? 0) > 0)
            await observer.close()
            await raw.close()
        }
    }

    @Test func aPayloadLongerThanOneDatagramIsAUsageError() async throws {
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "1", "--message", String(repeating: "A", count: 65_508)])
        #expect(try await ping.waitForExit() == 64)
        #expect(ping.stderr.contains("the payload has 65508 bytes; one UDP datagram carries at most 65507"), "\(ping.stderr)")
        #expect(!ping.stderr.contains("Fatal error") && !ping.stderr.contains("Backtrace"))
    }

    /// A device that cannot take the data: its own errno in the report, no manifest beside it.
    @Test(.requires(.path("/dev/full", "the full device")), .requires(Requirement { FileManager.default.fileExists(atPath: "/dev/full.manifest.json") ? "/dev/full.manifest.json exists already" : nil }))
    func aFullDeviceIsReportedAsFull() async throws {
        let manifest = "/dev/full.manifest.json"
        let fabric = try await FabricProcess.ours(["--capture", "/dev/full"])
        defer { fabric.process.signal(SIGKILL) }
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(100, from: sender, a, to: b, size: 200)
        let writeError = try await eventually("a write error in STATS", every: .milliseconds(50)) { try await observer.statistics().capture?.writeError }
        #expect(writeError == "cannot write capture file /dev/full: No space left on device")
        await sender.close()
        await observer.close()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        #expect(!FileManager.default.fileExists(atPath: manifest), "no manifest beside a device")
        try? FileManager.default.removeItem(atPath: manifest)
    }

    @Test(.requires(.tool("python3")))
    func replayWithoutAFabricStillWritesAValidJUnitReport() async throws {
        let directory = try Tools.temporaryDirectory()
        let junit = directory.appendingPathComponent("j.xml").path
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [Self.golden, "--port", "1", "--junit", junit])
        #expect(try await replay.waitForExit() == 2)
        #expect(replay.stderr.hasPrefix("switchyard-replay: cannot reach fabric at 127.0.0.1:1"), "\(replay.stderr)")
        let python = try #require(Tools.python3)
        let parsed = try await runCommand(python.path, ["-c", """
            import sys, xml.etree.ElementTree as E
            suite = E.parse(sys.argv[1]).getroot().find('testsuite')
            error = suite.find('testcase/error')
            print(suite.get('tests'), suite.get('errors'), error.get('message'))
            """, junit])
        #expect(parsed.status == 0, "\(parsed.stderr)")
        #expect(parsed.stdout.hasPrefix("1 1 cannot reach fabric at 127.0.0.1:1"), "\(parsed.stdout)")
    }

    /// `--write -`: the pcap alone on stdout, every text line on stderr.
    @Test(.requires(.tcpdump))
    func replayWritingToStdoutKeepsItsTextOnStderr() async throws {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        defer { echo.signal(SIGKILL) }
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [Self.golden, "--port", "\(fabric.port)", "--write", "-"])
        #expect(try await replay.waitForExit() == 0, "\(replay.stderr)")
        #expect(replay.stderr.contains("replayed 3 frames, expected 3 replies: 3 matched"), "\(replay.stderr)")
        let file = try Tools.temporaryDirectory().appendingPathComponent("received.pcap")
        try Data(replay.stdoutBytes).write(to: file)
        let tcpdump = try await runCommand("tcpdump", ["-nn", "-r", file.path])
        #expect(tcpdump.status == 0, "\(tcpdump.stderr)")
        #expect(tcpdump.stdout.contains("10.0.0.2.7007 > 10.0.0.1.12345"), "\(tcpdump.stdout)")
    }

    /// The bytes that went down the pipe are counted (ftell says -1 for a pipe).
    @Test func statsCountBytesWrittenToAPipe() async throws {
        let fabric = try await FabricProcess.ours(["--capture", "-", "--packet-buffered"], readyOn: .stderr)
        defer { fabric.process.signal(SIGKILL) }
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(10, from: sender, a, to: b, size: 64)
        let stats = try await Fixtures.waitForCapture(observer, written: 10)
        let expected: Int64 = 24 + 10 * (16 + 64)
        #expect(stats.capture?.bytesWritten == expected, "\(String(describing: stats.capture))")
        await sender.close()
        await observer.close()
    }

    @Test func manifestsAndStatsSpellOutNulls() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let endpoint = RecordingManifest.Endpoint(id: 1, name: "svc_echo", mac: "02:53:59:00:00:01", createdNanoseconds: 5)
        #expect(String(decoding: try encoder.encode(endpoint), as: UTF8.self) == #"{"closed_ns":null,"created_ns":5,"id":1,"mac":"02:53:59:00:00:01","name":"svc_echo"}"#)
        let capture = StatsReply.Capture(framesWritten: 1, framesDropped: 0, framesFiltered: 0, framesNotWritten: 0, bytesWritten: 40, files: 1, currentFile: nil, writeError: nil)
        let json = String(decoding: try encoder.encode(capture), as: UTF8.self)
        #expect(json.contains(#""write_error":null"#) && json.contains(#""current_file":null"#), "\(json)")
    }

    @Test func aManifestOfAnotherRecordingIsRefused() async throws {
        let other = Tools.packageRoot.appendingPathComponent("captures/ntp-session.manifest.json").path
        let replay = try ChildProcess(Tools.executable("switchyard-replay"), [Self.golden, "--port", "1", "--manifest", other])
        #expect(try await replay.waitForExit() == 2)
        #expect(replay.stderr.contains("does not match \(Self.golden): no frame of the recording was sent by one of its endpoints while it existed"), "\(replay.stderr)")
    }

    @Test func rotatedFilesContinueAnEarlierRunsNumbering() async throws {
        let directory = try Tools.temporaryDirectory()
        let base = directory.appendingPathComponent("ring.pcap").path
        for name in ["ring_00001.pcap", "ring_00007.pcap", "other_00009.pcap"] {
            try Data([1]).write(to: directory.appendingPathComponent(name))
        }
        let fabric = try await FabricProcess.ours(["--capture", base, "--capture-file-size", "1"])
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(names.contains("ring_00008.pcap"), "\(names)")
        #expect(try Data(contentsOf: directory.appendingPathComponent("ring_00007.pcap")) == Data([1]), "an earlier run's file is never overwritten")
    }

    @Test(arguments: [
        ("switchyardd", ["--capture", "x.pcap", "--capture-points", "both"], "--capture-points both needs pcapng"),
        ("switchyardd", ["--capture-format", "pcapng"], "--capture-format needs --capture FILE"),
        ("switchyardd", ["--capture", "x.pcap", "--capture-format", "ng"], "--capture-format"),
        ("switchyard-sniff", ["--format", "pcapng"], "--format needs -w FILE"),
        ("switchyard-ping", ["--count", "-1"], "--count must be at least 1, got -1"),
        ("switchyard-ping", ["--timeout", "0"], "--timeout must be more than 0 and at most 3600 seconds, got 0.0"),
        ("switchyard-arp", [], "missing subcommand"),
        ("switchyardd", ["--host", "127.example.invalid"], "--host 127.example.invalid: "),
    ])
    func usageErrorsSayWhatIsWrong(tool: String, arguments: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable(tool), arguments)
        #expect(try await process.waitForExit() == 64)
        #expect(process.stderr.contains(message), "\(process.stderr)")
    }

    @Test(arguments: [
        ("switchyard-echo", "--ttl <ttl>"),
        ("switchyard-ntpd", "--stratum <stratum>"),
    ])
    func everyOptionIsInTheHelp(tool: String, option: String) async throws {
        let process = try ChildProcess(Tools.executable(tool), ["--help"])
        #expect(try await process.waitForExit() == 0)
        #expect(process.stdout.contains(option), "\(process.stdout)")
    }

    @Test func defaultsAreShownAsAPersonWritesThem() async throws {
        let process = try ChildProcess(Tools.executable("switchyard-arp"), ["who-has", "--help"])
        #expect(try await process.waitForExit() == 0)
        let text = process.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        #expect(text.contains("(default: 10.0.0.250)"), "\(process.stdout)")
    }

    @Test(.requires(Requirement { LoopbackProbe.ipv6Available ? nil : "no IPv6 loopback on this machine" }))
    func ipv6HostsAreWrittenInBrackets() async throws {
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--host", "::1", "--port", "0", "--log-level", "info"])
        defer { process.signal(SIGKILL) }
        let line = try await process.waitForLine(startingWith: "[fabric] listening on ")
        #expect(line.hasPrefix("[fabric] listening on [::1]:"), "\(line)")
        let port = line.split(separator: ":").last.map(String.init) ?? "?"
        #expect(process.stderr.contains("address=[::1]:\(port)"), "\(process.stderr)")
    }

    // MARK: - Helpers

    /// A copy of the golden echo recording and its manifest in a fresh directory.
    static func copyOfGolden() throws -> String {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("keep.pcap").path
        try FileManager.default.copyItem(atPath: Self.golden, toPath: path)
        try FileManager.default.copyItem(atPath: RecordingManifest.path(forCapture: Self.golden), toPath: RecordingManifest.path(forCapture: path))
        return path
    }
}

/// Whether ::1 can be bound here (containers may have IPv6 off).
enum LoopbackProbe {
    static let ipv6Available: Bool = {
        let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_in6()
        address.sin6_family = sa_family_t(AF_INET6)
        address.sin6_addr = in6addr_loopback
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0 }
        }
    }()
}

/// Replay on a terminal (through `script`, which gives it a pty): the roles before anything
/// is played, then a progress line while a flow waits for replies that never come (the
/// fabric drops everything the echo service sends).
@Suite(.timeLimit(.minutes(3))) struct ReplayTerminalTests {
    @Test(.requires(.tool("script", package: "bsdutils")))
    func aSlowReplayShowsProgressEverySecond() async throws {
        let rules = try Tools.temporaryDirectory().appendingPathComponent("mute.rules").path
        try "from svc_echo drop\n".write(toFile: rules, atomically: true, encoding: .utf8)
        let fabric = try await FabricProcess.ours(["--rules", rules])
        defer { fabric.process.signal(SIGKILL) }
        let echo = try await Fixtures.startEcho(fabric.port)
        let command = "\"$0\" \"$1\" --port \"$2\" --timeout 1.5"
        let replay = try ChildProcess(URL(fileURLWithPath: Tools.which("script")!), [
            "-qec", "sh -c '\(command)' \(Tools.executable("switchyard-replay").path) \(Fixtures.echoSession) \(fabric.port)", "/dev/null",
        ])
        #expect(try await replay.waitForExit(timeout: .seconds(60)) == 1)
        await echo.stop()
        let text = replay.stdout
        let roles = text.range(of: "expected svc_echo: it answered")
        // A redraw while the flow waits (each reply's timeout is 1.5 s): "0/1 flows, N s"
        // with N of 1 or more (2 on a loaded machine).
        let firstTick = ["1", "2", "3"].lazy.compactMap { text.range(of: "[replay] 0/1 flows, \($0) s") }.first
        #expect(roles != nil && firstTick != nil, "\(text)")
        if let roles, let firstTick {
            #expect(roles.lowerBound < firstTick.lowerBound, "the roles are said first")
        }
        #expect(text.contains("[replay] 1/1 flows"), "\(text)")
    }
}
