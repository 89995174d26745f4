import Foundation
import Logging
@testable import SwitchyardCapture
import SwitchyardTestKit
import Testing

@Test(arguments: [
    ("/tmp/out.pcap", 1, "/tmp/out_00001.pcap"),
    ("/tmp/out.pcap", 42, "/tmp/out_00042.pcap"),
    ("rec", 3, "rec_00003"),
    ("/a.b/rec", 7, "/a.b/rec_00007"),
    ("dir/.hidden", 2, "dir/.hidden_00002"),
])
func rotatedFilesAreNumberedDumpcapStyle(base: String, index: Int, expected: String) {
    #expect(CaptureFileSet.numberedPath(base, index) == expected)
}

@Test func aFileRingKeepsTheNewestN() {
    var configuration = CaptureConfiguration(path: "/tmp/r.pcap")
    configuration.fileSizeLimit = 1_000_000
    configuration.fileCount = 2
    var files = CaptureFileSet(configuration: configuration)
    #expect(files.next() == ("/tmp/r_00001.pcap", nil))
    #expect(files.next() == ("/tmp/r_00002.pcap", nil))
    #expect(files.next() == ("/tmp/r_00003.pcap", "/tmp/r_00001.pcap"))
    #expect(files.kept == ["/tmp/r_00002.pcap", "/tmp/r_00003.pcap"])
}

@Test func sessionWritesEveryBatchedFrameInOrderAndSummarises() async throws {
    let path = try temporaryPath("session.pcap")
    var configuration = CaptureConfiguration(path: path)
    configuration.bufferBytes = 4096
    let session = try await CaptureSession.start(configuration, logger: Logger(label: "test"))
    let tap = CaptureTap(session: session)
    var blocked = 0
    for index in 0..<1000 {
        let frame = sampleFrame(index, payloadLength: 1000)
        frame.withUnsafeBytes { tap.record($0, timestamp: CaptureTimestamp(totalNanoseconds: Int64(index)), sender: 1) }
        if index % 10 == 9, tap.commit() {
            // Over the ring's limit: the fabric would pause its clients here.
            blocked += 1
            while session.ring.room.bytes == 0 {
                try await Task.sleep(for: .milliseconds(1))
            }
        }
    }
    let statistics = await session.finish()
    #expect(statistics.framesCaptured == 1000)
    #expect(statistics.framesDroppedByBuffer == 0)
    #expect(statistics.summary == "1000 frames captured, 0 dropped by capture buffer, 1 file")
    #expect(blocked == 100, "every 10-frame batch (10 KB) fills a 4 KiB ring")
    let records = try PcapReader(path: path).readAll()
    #expect(records.map(\.bytes) == (0..<1000).map { sampleFrame($0, payloadLength: 1000) })
    #expect(records.map(\.timestamp.totalNanoseconds) == (0..<1000).map(Int64.init))
}

/// The writer thread carries its name (Foundation on Linux names only the current thread, and
/// the kernel keeps 15 characters), so `top -H` and `perf` tell it from the switching thread;
/// and it runs 10 nice levels below the process, so that switching comes first on a busy machine.
@Test(.requires(.path("/proc/self/task", "procfs's task list")))
func theWriterThreadIsNamedAndYieldsToSwitching() async throws {
    /// The `comm` and nice value of a task's stat line (the name is in parentheses and may hold
    /// spaces; nice is the 17th field after it).
    func stat(_ path: String) -> (name: String, nice: Int)? {
        guard let line = try? String(contentsOfFile: path, encoding: .utf8),
              let open = line.firstIndex(of: "("), let close = line.lastIndex(of: ")") else { return nil }
        let fields = line[line.index(after: close)...].split(separator: " ")
        guard fields.count > 16, let nice = Int(fields[16]) else { return nil }
        return (String(line[line.index(after: open)..<close]), nice)
    }
    let session = try await CaptureSession.start(CaptureConfiguration(path: try temporaryPath("named.pcap")), logger: Logger(label: "test"))
    // The thread names itself once it runs, which may be a moment after the session starts.
    let writers = try await eventually("a thread named capture-writer") { () -> [(name: String, nice: Int)]? in
        let tasks = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/task").compactMap { stat("/proc/self/task/\($0)/stat") }
        let writers = tasks.filter { $0.name == "capture-writer" }
        return writers.isEmpty ? nil : writers
    }
    _ = await session.finish()
    let process = try #require(stat("/proc/self/stat"))
    #expect(writers.allSatisfy { $0.nice == min(19, process.nice + 10) }, "nice values: \(writers), process \(process.nice)")
}

/// The writer's plain-pcap loop flushes when a record would spill the stream buffer; when that
/// flush fails, every frame is counted once: none as captured, all as not written.
@Test(.requires(.path("/dev/full", "the full device")))
func aFailedSpillCountsEveryFrameAsNotWritten() async throws {
    var configuration = CaptureConfiguration(path: "/dev/full")
    configuration.bufferBytes = 64 << 20
    let session = try await CaptureSession.start(configuration, logger: Logger(label: "test"))
    let tap = CaptureTap(session: session)
    // 3 MB in batches of 100 frames: past the 1 MiB stream buffer twice.
    for index in 0..<3000 {
        let frame = sampleFrame(index, payloadLength: 1000)
        frame.withUnsafeBytes { tap.record($0, timestamp: CaptureTimestamp(totalNanoseconds: Int64(index)), sender: 1) }
        if index % 100 == 99 {
            #expect(!tap.commit())
        }
    }
    let statistics = await session.finish()
    #expect(statistics.framesCaptured == 0)
    #expect(statistics.framesNotWritten == 3000)
    #expect(statistics.writeError == "cannot write capture file /dev/full: No space left on device")
}

@Test func dropPolicyCountsWhatDoesNotFit() async throws {
    let path = try temporaryPath("drop.pcap")
    var configuration = CaptureConfiguration(path: path)
    configuration.bufferBytes = 1000
    configuration.overflow = .drop
    let session = try await CaptureSession.start(configuration, logger: Logger(label: "test"))
    let tap = CaptureTap(session: session)
    for index in 0..<100 {
        let frame = sampleFrame(index, payloadLength: 100)
        frame.withUnsafeBytes { tap.record($0, timestamp: .now(), sender: 1) }
    }
    #expect(!tap.commit(), "drop never asks the fabric to pause")
    let statistics = await session.finish()
    #expect(statistics.framesCaptured + statistics.framesDroppedByBuffer == 100)
    #expect(statistics.framesDroppedByBuffer >= 90, "one read of 100 frames does not fit a 1000-byte ring")
    #expect(try PcapReader(path: path).readAll().count == Int(statistics.framesCaptured))
}

@Test func filterAndRotationApplyInTheWriter() async throws {
    let path = try temporaryPath("rot.pcap")
    var configuration = CaptureConfiguration(path: path)
    configuration.fileSizeLimit = 10_000
    configuration.fileCount = 3
    configuration.filter = "udp"
    let session = try await CaptureSession.start(configuration, logger: Logger(label: "test"))
    let tap = CaptureTap(session: session)
    for index in 0..<400 {
        let frame = sampleFrame(index, payloadLength: 200)
        frame.withUnsafeBytes { tap.record($0, timestamp: .now(), sender: 1) }
        let notUDP = [UInt8](repeating: 0xFF, count: 12) + [0x88, 0xB5, 0, 0]
        notUDP.withUnsafeBytes { tap.record($0, timestamp: .now(), sender: 1) }
        _ = tap.commit()
    }
    let statistics = await session.finish()
    #expect(statistics.framesFiltered == 400)
    #expect(statistics.framesCaptured == 400)
    let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
    let all = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    let files = all.filter { $0.hasSuffix(".pcap") }
    #expect(files.count == 3)
    #expect(all.filter { $0.hasSuffix(".manifest.json") }.count == 3, "each kept file has its manifest; expired ones lose theirs too")
    #expect(files.last == "rot_\(String(format: "%05d", statistics.files)).pcap")
    for file in files {
        let full = directory.appendingPathComponent(file).path
        let size = try FileManager.default.attributesOfItem(atPath: full)[.size] as! Int
        #expect(size <= 10_000, "\(file) is \(size) bytes")
        #expect(try !PcapReader(path: full).readAll().isEmpty)
    }
}

@Test func invalidFilterStopsTheSessionBeforeAnyFileIsMade() async throws {
    let path = try temporaryPath("never.pcap")
    var configuration = CaptureConfiguration(path: path)
    configuration.filter = "not a filter ((("
    await #expect(throws: PcapError.self) { try await CaptureSession.start(configuration, logger: Logger(label: "test")) }
    #expect(!FileManager.default.fileExists(atPath: path))
}

/// A read larger than `CaptureBatch.handOverBytes` (a TAP device's 64 frames of 64 KiB) is
/// handed to the ring in parts as it is switched: the writer is woken before the read ends,
/// and the file still holds every frame in order.
@Test func aLargeReadIsHandedOverInPartsAndKeepsItsOrder() async throws {
    let path = try temporaryPath("handover.pcapng")
    var configuration = CaptureConfiguration(path: path)
    configuration.format = .pcapng
    let session = try await CaptureSession.start(configuration, logger: Logger(label: "test"))
    let tap = CaptureTap(session: session)
    let frames = (0..<40).map { sampleFrame($0, payloadLength: 64_000) }
    for (index, frame) in frames.enumerated() {
        frame.withUnsafeBytes { tap.record($0, timestamp: CaptureTimestamp(totalNanoseconds: Int64(index)), sender: 1) }
    }
    #expect(session.ring.writerWakeups >= 1, "handed over and woken before the read ends")
    #expect(!tap.commit())
    let statistics = await session.finish()
    #expect(statistics.framesCaptured == 40)
    #expect(try PcapReader(path: path).readAll().map(\.bytes) == frames)
}

/// In drop mode a read's frames fit the room the ring had at its first frame, however many
/// hand-overs it makes: what was handed over counts against that room.
@Test func aLargeReadInDropModeFitsTheRoomItStartedWith() async throws {
    let path = try temporaryPath("handover-drop.pcapng")
    var configuration = CaptureConfiguration(path: path)
    configuration.format = .pcapng
    configuration.bufferBytes = 1_572_864
    configuration.overflow = .drop
    let session = try await CaptureSession.start(configuration, logger: Logger(label: "test"))
    let tap = CaptureTap(session: session)
    let frames = (0..<40).map { sampleFrame($0, payloadLength: 64_000) }
    for frame in frames {
        frame.withUnsafeBytes { tap.record($0, timestamp: .now(), sender: 1) }
    }
    #expect(!tap.commit(), "drop never asks the fabric to pause")
    let statistics = await session.finish()
    let fitting = configuration.bufferBytes / frames[0].count
    #expect(statistics.framesCaptured == UInt64(fitting), "\(fitting) frames fit the ring")
    #expect(statistics.framesDroppedByBuffer == UInt64(40 - fitting))
    #expect(try PcapReader(path: path).readAll().map(\.bytes) == Array(frames.prefix(fitting)))
}
