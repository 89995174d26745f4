import Foundation
import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire
import SwitchyardTestSupport
import Testing

/// `switchyardd --capture` as users run it, with the files read back by libpcap, tcpdump and tshark.
@Suite(.timeLimit(.minutes(3))) struct CaptureProcessTests {
    @Test(.requires(.all(.tcpdump, .tshark)))
    func echoSessionIsReadableByLibpcapTcpdumpAndTshark() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("session.pcap").path
        let fabric = try await FabricProcess.ours(["--capture", path])
        let echo = try ChildProcess(Tools.executable("switchyard-echo"), ["--port", "\(fabric.port)"])
        _ = try await echo.waitForLine(startingWith: "[svc_echo] ready")
        let ping = try ChildProcess(Tools.executable("switchyard-ping"), ["--port", "\(fabric.port)", "--count", "3", "--resolve", "arp"])
        #expect(try await ping.waitForExit() == 0)
        await echo.stop()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        #expect(fabric.process.stderr.contains("8 frames captured, 0 dropped by capture buffer, 1 file\n"))

        let records = try PcapReader(path: path).readAll()
        #expect(records.count == 8)
        #expect(FrameSummary.describe(records[0].bytes) == "02:53:59:00:00:02 > ff:ff:ff:ff:ff:ff, ARP, length 42: Request who-has 10.0.0.2 tell 10.0.0.1")
        #expect(FrameSummary.describe(records[3].bytes) == "02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 52: 10.0.0.2.7007 > 10.0.0.1.12345: UDP, length 10")
        #expect(zip(records, records.dropFirst()).allSatisfy { $0.timestamp <= $1.timestamp }, "switching order, non-decreasing times")
        let magic = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(4)
        #expect(Array(magic) == [0x4D, 0x3C, 0xB2, 0xA1], "nanosecond pcap")

        let tcpdump = try await runCommand("tcpdump", ["-nn", "-e", "-r", path])
        #expect(tcpdump.status == 0)
        let lines = tcpdump.stdout.split(separator: "\n")
        #expect(lines.count == 8)
        #expect(lines[0].contains("Request who-has 10.0.0.2 tell 10.0.0.1"))
        #expect(lines[1].contains("Reply 10.0.0.2 is-at 02:53:59:00:00:01"))
        #expect(lines.filter { $0.contains("10.0.0.1.12345 > 10.0.0.2.7007") }.count == 3)

        let tshark = try await runCommand("tshark", [
            "-r", path, "-o", "ip.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
            "-Y", "udp", "-T", "fields", "-e", "ip.checksum.status", "-e", "udp.checksum.status",
        ])
        #expect(tshark.status == 0, "\(tshark.stderr)")
        // 1 = Good, 0 = Bad (tshark -G values).
        #expect(tshark.stdout.split(separator: "\n") == Array(repeating: "1\t1", count: 6))

        let sniff = try ChildProcess(Tools.executable("switchyard-sniff"), ["-r", path, "udp"])
        #expect(try await sniff.waitForExit() == 0)
        #expect(sniff.stdout.split(separator: "\n").count == 6)
    }

    @Test func blockModeRecordsEveryFrameOfA100000FrameRun() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("block.pcap").path
        // A 1 MiB ring: far smaller than the run, so the fabric must pause its clients.
        let fabric = try await FabricProcess.ours(["--capture", path, "--capture-buffer", "1"])
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (receiver, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(100_000, from: sender, a, to: b, size: 128)
        let stats = try await Fixtures.waitForCapture(receiver, written: 100_000)
        #expect(stats.framesSwitched == 100_000)
        #expect(stats.capture?.framesWritten == 100_000)
        #expect(stats.capture?.framesDropped == 0)
        await sender.close()
        await receiver.close()
        fabric.process.signal(SIGINT)
        #expect(try await fabric.process.waitForExit() == 0)
        #expect(fabric.process.stderr.contains("100000 frames captured, 0 dropped by capture buffer, 1 file"))
        let records = try PcapReader(path: path).readAll()
        #expect(records.count == 100_000)
        #expect(records.enumerated().allSatisfy { index, record in record.bytes == Fixtures.frame(from: a, to: b, index: index, size: 128) })
    }

    /// Drops forced: the capture goes to a pipe nobody reads, so the writer blocks, the 1 MiB
    /// ring fills, and with `drop` switching goes on while every frame not recorded is counted.
    @Test func dropModeCountsEveryFrameItCouldNotRecord() async throws {
        let process = try ChildProcess(
            Tools.executable("switchyardd"),
            ["--port", "0", "--capture", "-", "--capture-buffer", "1", "--capture-overflow", "drop"],
            readStandardOutput: false
        )
        let fabric = try await FabricProcess.attach(process, readyOn: .stderr)
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(20_000, from: sender, a, to: b, size: 1500)
        // Switching goes on while the writer is stuck: every frame is switched, most dropped.
        var stats = try await eventually("20,000 frames switched", within: .seconds(30), every: .milliseconds(20)) { () -> StatsReply? in
            let stats = try await observer.statistics()
            return stats.framesSwitched >= 20_000 ? stats : nil
        }
        #expect(stats.framesSwitched == 20_000, "switching went on")
        #expect((stats.capture?.framesDropped ?? 0) > 10_000, "most of 30 MB could not be recorded: \(String(describing: stats.capture))")
        // Unstick the writer (its pipe breaks): the frames still in the ring are then counted
        // as not written, and every frame is accounted for.
        process.closeUnreadOutput()
        stats = try await Fixtures.waitForCapture(observer, written: 20_000)
        let capture = try #require(stats.capture)
        #expect(capture.framesWritten + capture.framesDropped + capture.framesNotWritten == 20_000, "\(capture)")
        #expect(capture.writeError?.contains("Broken pipe") == true, "\(capture)")
        await sender.close()
        await observer.close()
        fabric.process.signal(SIGKILL)
        try await fabric.process.waitForExit()
    }

    @Test(.requires(.tcpdump))
    func rotationKeepsExactlyNBoundedReadableFiles() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("ring.pcap").path
        let fabric = try await FabricProcess.ours(["--capture", path, "--capture-file-size", "1", "--capture-files", "3"])
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(4000, from: sender, a, to: b, size: 1400)
        _ = try await Fixtures.waitForCapture(observer, written: 4000)
        await sender.close()
        await observer.close()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        let all = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(all.filter { $0.hasSuffix(".manifest.json") } == ["ring_00004.manifest.json", "ring_00005.manifest.json", "ring_00006.manifest.json"])
        let files = all.filter { $0.hasSuffix(".pcap") }
        // 4000 records of 1416 bytes (5.7 MB) make 6 files of at most 1,000,000 bytes; the newest 3 stay.
        #expect(files == ["ring_00004.pcap", "ring_00005.pcap", "ring_00006.pcap"])
        for file in files {
            let full = directory.appendingPathComponent(file).path
            let size = try FileManager.default.attributesOfItem(atPath: full)[.size] as! Int
            #expect(size <= 1_000_000)
            let tcpdump = try await runCommand("tcpdump", ["-nn", "-r", full])
            #expect(tcpdump.status == 0, "\(file): \(tcpdump.stderr)")
        }
        #expect(fabric.process.stderr.contains("4000 frames captured, 0 dropped by capture buffer, 6 files"))
    }

    @Test(.requires(.tcpdump))
    func sigkillLeavesAFileReadableToTheLastFlush() async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("killed.pcap").path
        let fabric = try await FabricProcess.ours(["--capture", path])
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(3000, from: sender, a, to: b, size: 700)
        _ = try await Fixtures.waitForCapture(observer, written: 3000)
        // Written means buffered: wait for the flush (at most 100 ms later) to reach the file.
        let size = 24 + 3000 * (16 + 700)
        try await eventually("the file to reach \(size) bytes") { (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) == size }
        fabric.process.signal(SIGKILL)
        try await fabric.process.waitForExit()
        let tcpdump = try await runCommand("tcpdump", ["-nn", "-r", path])
        #expect(tcpdump.status == 0, "\(tcpdump.stderr)")
        // One line per frame (tcpdump adds hex lines, indented, for this unknown EtherType).
        #expect(tcpdump.stdout.split(separator: "\n").filter { !$0.hasPrefix("\t") && !$0.hasPrefix(" ") }.count == 3000)
        #expect(try PcapReader(path: path).readAll().count == 3000)
        await sender.close()
        await observer.close()
    }

    @Test func captureToStdoutIsAPcapStreamAndTheReadyLineMovesToStderr() async throws {
        let fabric = try await FabricProcess.ours(["--capture", "-"], readyOn: .stderr)
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (observer, b) = try await Fixtures.endpoint("b", port: fabric.port)
        try Fixtures.sendNumbered(50, from: sender, a, to: b, size: 64)
        _ = try await Fixtures.waitForCapture(observer, written: 50)
        await sender.close()
        await observer.close()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        let file = try Tools.temporaryDirectory().appendingPathComponent("stdout.pcap")
        try Data(fabric.process.stdoutBytes).write(to: file)
        let records = try PcapReader(path: file.path).readAll()
        #expect(records.map(\.bytes) == (0..<50).map { Fixtures.frame(from: a, to: b, index: $0) })
    }

    @Test(arguments: [
        (["--capture-filter", "udp prt 7"], "switchyardd: invalid filter \"udp prt 7\": "),
        ([] as [String], "switchyardd: cannot write capture file /nonexistent-dir/x.pcap: No such file or directory"),
    ])
    func badCaptureSettingsStopTheDaemonBeforeItListens(extra: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--port", "0", "--capture", "/nonexistent-dir/x.pcap"] + extra)
        #expect(try await process.waitForExit() == 2)
        #expect(process.stdout.isEmpty, "nothing started")
        let lines = process.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(lines.first?.hasPrefix(message) == true, "\(process.stderr)")
    }

    @Test func aDirectoryIsNotACaptureFile() async throws {
        let directory = try Tools.temporaryDirectory()
        let process = try ChildProcess(Tools.executable("switchyardd"), ["--port", "0", "--capture", directory.path])
        #expect(try await process.waitForExit() == 2)
        #expect(process.stderr == "switchyardd: cannot write capture file \(directory.path): Is a directory\n")
    }

    @Test(arguments: [
        (["--capture-filter", "udp"], "--capture-filter needs --capture FILE"),
        (["--capture", "x.pcap", "--capture-files", "3"], "--capture-files needs --capture-file-size or --capture-duration"),
        (["--capture", "-", "--capture-file-size", "1"], "rotation (--capture-file-size, --capture-duration) needs a file, not stdout"),
        (["--capture", "x.pcap", "--snaplen", "0"], "--snaplen must be between 1 and 262144, got 0"),
        (["--capture", "x.pcap", "--capture-overflow", "sometimes"], "--capture-overflow"),
    ])
    func badCaptureFlagsAreUsageErrors(arguments: [String], message: String) async throws {
        let process = try ChildProcess(Tools.executable("switchyardd"), arguments)
        let status = try await process.waitForExit()
        #expect(status == 64, "argument-parser's usage error")
        #expect(process.stderr.contains(message), "\(process.stderr)")
    }

    /// Classic pcap through libpcap's stdio stream; pcapng through the sink's direct writes.
    @Test(.enabled(if: ProcessInfo.processInfo.environment["SWITCHYARD_SANITIZER"] != "thread", "ThreadSanitizer's runtime cannot start under a file-size limit (ulimit -f)"), arguments: ["pcap", "pcapng"])
    func diskFullKeepsSwitchingAndReportsWhatWasNotWritten(format: String) async throws {
        let directory = try Tools.temporaryDirectory()
        let path = directory.appendingPathComponent("full.\(format)").path
        // A 256 KiB file-size limit stands for a full disk: writes past it fail with EFBIG.
        let shell = try ChildProcess(URL(fileURLWithPath: "/bin/bash"), [
            "-c", "ulimit -f 256 && exec \"$0\" --port 0 --capture \"$1\"", Tools.executable("switchyardd").path, path,
        ])
        let fabric = try await FabricProcess.attach(shell)
        let (sender, a) = try await Fixtures.endpoint("a", port: fabric.port)
        let (receiver, b) = try await Fixtures.endpoint("b", port: fabric.port, subscribe: true)
        try Fixtures.sendNumbered(2000, from: sender, a, to: b, size: 1000)
        var received = 0
        while received < 2000, try await receiver.nextFrame(timeout: .seconds(10)) != nil {
            received += 1
        }
        #expect(received == 2000, "switching goes on")
        var stats = try await Fixtures.waitForCapture(receiver, written: 2000)
        // Writes reach the file at flushes (at least every 100 ms): wait for the one that fails.
        stats = try await eventually("a write error in STATS", every: .milliseconds(50)) { () -> StatsReply? in
            let stats = try await receiver.statistics()
            return stats.capture?.writeError == nil ? nil : stats
        }
        // The errno of the failed write itself (EFBIG under ulimit -f), read before anything
        // else can overwrite it.
        #expect(stats.capture?.writeError == "cannot write capture file \(path): File too large", "\(String(describing: stats.capture))")
        #expect((stats.capture?.framesWritten ?? 0) + (stats.capture?.framesNotWritten ?? 0) == 2000)
        await sender.close()
        await receiver.close()
        fabric.process.signal(SIGTERM)
        #expect(try await fabric.process.waitForExit() == 0)
        let errors = fabric.process.stderr.split(separator: "\n").filter { $0.contains("capture stopped") }
        #expect(errors.count == 1, "logged once: \(fabric.process.stderr)")
        #expect(fabric.process.stderr.contains("not written: cannot write capture file \(path): "), "\(fabric.process.stderr)")
        // What the file holds is whole: exactly the frames counted as written, no part of one,
        // and those are the frames that fit (1000-byte frames under a 256 KiB limit).
        #expect((200...262).contains(stats.capture?.framesWritten ?? 0), "\(String(describing: stats.capture))")
        let size = (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
        #expect(try PcapReader(path: path).readAll().count == stats.capture.map { Int($0.framesWritten) } ?? -1, "\(size) bytes, \(String(describing: stats.capture))")
    }
}
