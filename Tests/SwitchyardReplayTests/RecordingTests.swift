import Foundation
import SwitchyardCapture
@testable import SwitchyardReplay
import Testing

func scratch(_ name: String) throws -> String {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-replay-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory.appendingPathComponent(name).path
}

@Suite struct RecordingTests {
    @Test func loadsFramesAndTheManifestBesideThem() throws {
        let path = try scratch("s.pcap")
        let dumper = try PcapDumper(path: path, snapshotLength: 262_144)
        for (index, frame) in session.frames.enumerated() {
            frame.bytes.withUnsafeBytes { try! dumper.write($0, originalLength: frame.bytes.count, timestamp: CaptureTimestamp(totalNanoseconds: Int64(index))) }
        }
        try dumper.close()
        try session.manifest!.write(path: RecordingManifest.path(forCapture: path))
        let loaded = try Recording.load(path: path)
        #expect(loaded.frames.map(\.bytes) == session.frames.map(\.bytes))
        #expect(loaded.frames.map(\.number) == [1, 2, 3, 4])
        #expect(loaded.manifest == session.manifest)
    }

    @Test func emptyTruncatedAndForeignFilesAreNamedWithTheirProblem() throws {
        let empty = try scratch("empty.pcap")
        try PcapDumper(path: empty, snapshotLength: 100).close()
        #expect(throws: ReplayError(.badRecording, "\(empty) holds no frames: nothing to replay")) { try Recording.load(path: empty) }

        let snapped = try scratch("snapped.pcap")
        let dumper = try PcapDumper(path: snapped, snapshotLength: 20)
        let frame = session.frames[0].bytes
        frame.withUnsafeBytes { try! dumper.write(UnsafeRawBufferPointer(rebasing: $0[0..<20]), originalLength: frame.count, timestamp: .now()) }
        try dumper.close()
        // A cut frame is kept (its flow is named) but never played or compared, and fails the run.
        let cut = try Recording.load(path: snapped)
        #expect(cut.warnings == ["\(snapped): frame 1 was cut to 20 of 43 bytes by the snapshot length: such frames are not replayed, and the replay cannot pass"])
        #expect(cut.frames[0].originalLength == 43)

        let text = try scratch("notes.pcap")
        try Data("not a capture".utf8).write(to: URL(fileURLWithPath: text))
        let error = #expect(throws: ReplayError.self) { try Recording.load(path: text) }
        #expect(error?.message.hasPrefix("cannot read \(text): ") == true)

        let badManifest = try scratch("m.pcap")
        let writer = try PcapDumper(path: badManifest, snapshotLength: 1000)
        frame.withUnsafeBytes { try! writer.write($0, originalLength: frame.count, timestamp: .now()) }
        try writer.close()
        try Data("{\"format\": 3}".utf8).write(to: URL(fileURLWithPath: RecordingManifest.path(forCapture: badManifest)))
        let manifestError = #expect(throws: ReplayError.self) { try Recording.load(path: badManifest) }
        #expect(manifestError?.message.contains("is not a Switchyard manifest") == true)
    }
}
