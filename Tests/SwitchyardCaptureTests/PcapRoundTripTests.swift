import Foundation
@testable import SwitchyardCapture
import SwitchyardPackets
import SwitchyardTestKit
import Testing

func sampleFrame(_ index: Int, payloadLength: Int = 10) -> [UInt8] {
    UDPFrame.build(
        from: (MACAddress("02:53:59:00:00:01")!, IPv4Address(10, 0, 0, 1), 12345),
        to: (MACAddress("02:53:59:00:00:02")!, IPv4Address(10, 0, 0, 2), 7007),
        payload: [UInt8](repeating: UInt8(index & 0xFF), count: payloadLength)
    ).bytes
}

@Test func dumperWritesWhatLibpcapReadsBackWithNanoseconds() throws {
    let path = try temporaryPath("round.pcap")
    let dumper = try PcapDumper(path: path, snapshotLength: 262_144)
    let stamps = (0..<5).map { CaptureTimestamp(seconds: 1_767_225_600 + Int64($0), nanoseconds: UInt32(123_456_789 + $0)) }
    for (index, stamp) in stamps.enumerated() {
        let frame = sampleFrame(index)
        frame.withUnsafeBytes { try! dumper.write($0, originalLength: frame.count, timestamp: stamp) }
    }
    try dumper.close()

    let magic = try Data(contentsOf: URL(fileURLWithPath: path)).prefix(4)
    #expect(Array(magic) == [0x4D, 0x3C, 0xB2, 0xA1], "nanosecond pcap magic 0xa1b23c4d (little-endian)")
    let records = try PcapReader(path: path).readAll()
    #expect(records.map(\.timestamp) == stamps)
    #expect(records.map(\.bytes) == (0..<5).map { sampleFrame($0) })
    #expect(records.allSatisfy { $0.originalLength == $0.bytes.count })
}

@Test func snapshotLengthKeepsTheOriginalLength() throws {
    let path = try temporaryPath("snap.pcap")
    let dumper = try PcapDumper(path: path, snapshotLength: 20)
    let frame = sampleFrame(1)
    frame.withUnsafeBytes { try! dumper.write(UnsafeRawBufferPointer(rebasing: $0[0..<20]), originalLength: frame.count, timestamp: .now()) }
    try dumper.close()
    let record = try #require(try PcapReader(path: path).next())
    #expect(record.bytes == Array(frame.prefix(20)))
    #expect(record.originalLength == frame.count)
}

@Test func unwritablePathsAreReportedWithTheReason() throws {
    #expect(throws: PcapError(.cannotCreateFile, "cannot write capture file /nonexistent-dir/x.pcap: No such file or directory")) {
        try PcapDumper(path: "/nonexistent-dir/x.pcap", snapshotLength: 100)
    }
}

@Test func filtersCompileAndMatchLikeTcpdump() throws {
    let udp = try PcapFilter(expression: "udp port 7007")
    #expect(udp.matches(sampleFrame(1)))
    let arp = try PcapFilter(expression: "arp")
    #expect(!arp.matches(sampleFrame(1)))
    #expect(arp.matches(ARPPacket.requestFrame(from: MACAddress("02:53:59:00:00:01")!, ip: IPv4Address(10, 0, 0, 1), asking: IPv4Address(10, 0, 0, 2)).bytes))
    let error = #expect(throws: PcapError.self) { try PcapFilter(expression: "udp prt 7") }
    #expect(error?.code == .invalidFilter)
    #expect(error?.message.hasPrefix("invalid filter \"udp prt 7\": ") == true)
}

@Test func badFilesAreNamedWithTheProblem() throws {
    let notPcap = try temporaryPath("text.pcap")
    try Data("hello, this is not a capture file at all".utf8).write(to: URL(fileURLWithPath: notPcap))
    let bad = #expect(throws: PcapError.self) { try PcapReader(path: notPcap) }
    #expect(bad?.code == .cannotOpenFile)
    #expect(bad?.message.contains(notPcap) == true)

    let empty = try temporaryPath("empty.pcap")
    #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
    #expect(throws: PcapError.self) { try PcapReader(path: empty) }

    let missing = #expect(throws: PcapError.self) { try PcapReader(path: "/nonexistent/file.pcap") }
    #expect(missing?.message.contains("/nonexistent/file.pcap") == true)

    // A classic pcap header with link type 101 (raw IP) and no records.
    let raw = try temporaryPath("raw.pcap")
    var header: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 101, 0, 0, 0]
    try Data(header).write(to: URL(fileURLWithPath: raw))
    let link = #expect(throws: PcapError.self) { try PcapReader(path: raw) }
    #expect(link?.code == .unsupportedLinkType)

    // A good file cut in the middle of its second record.
    let cut = try temporaryPath("cut.pcap")
    let dumper = try PcapDumper(path: cut, snapshotLength: 262_144)
    for index in 0..<2 {
        let frame = sampleFrame(index)
        frame.withUnsafeBytes { try! dumper.write($0, originalLength: frame.count, timestamp: .now()) }
    }
    try dumper.close()
    header = Array(try Data(contentsOf: URL(fileURLWithPath: cut)))
    try Data(header.dropLast(10)).write(to: URL(fileURLWithPath: cut))
    let reader = try PcapReader(path: cut)
    #expect(try reader.next() != nil, "the whole first record is read")
    // The cut record ends the file, as tcpdump reads it: no error, a warning to show.
    #expect(try reader.next() == nil)
    #expect(reader.truncation?.contains("truncated dump file") == true, "\(reader.truncation ?? "no warning")")
    #expect(reader.truncation?.contains("read the 1 whole record before it") == true)
}

@Test func recordingsAreReadWhateverTheirPrecision() throws {
    // A microsecond-precision classic pcap (magic a1b2c3d4): timestamps come back in nanoseconds.
    var bytes: [UInt8] = [0xD4, 0xC3, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 0, 0, 1, 0, 0, 0]
    let frame = sampleFrame(3)
    func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }
    bytes += le32(100) + le32(250_000) + le32(UInt32(frame.count)) + le32(UInt32(frame.count)) + frame
    let path = try temporaryPath("micro.pcap")
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let record = try #require(try PcapReader(path: path).next())
    #expect(record.timestamp == CaptureTimestamp(seconds: 100, nanoseconds: 250_000_000))
    #expect(record.bytes == frame)
}

/// Found by FuzzRecording: a record whose time fields libpcap hands back out of range (here a
/// negative fraction) must give a time, not a trap.
@Test(arguments: [
    (Int64(10), Int64(-1), CaptureTimestamp(seconds: 9, nanoseconds: 999_999_999)),
    (Int64(10), Int64(2_500_000_000), CaptureTimestamp(seconds: 12, nanoseconds: 500_000_000)),
    (Int64.max, Int64(1_000_000_000), CaptureTimestamp(seconds: Int64.min, nanoseconds: 0)),
])
func outOfRangeRecordTimesAreNormalised(seconds: Int64, fraction: Int64, expected: CaptureTimestamp) {
    #expect(PcapReader.timestamp(seconds: seconds, fraction: fraction) == expected)
    _ = expected.totalNanoseconds
}

/// What is on disk between flushes is always whole records: the dumper's stdio buffer (1 MiB,
/// its own) only reaches the file at a flush, and it flushes before a record would not fit.
/// A smaller buffer (glibc's 4 KiB default) would leave a partial record on disk most of the time.
@Test func bytesOnDiskAreAlwaysWholeRecords() throws {
    let path = try temporaryPath("whole.pcap")
    let dumper = try PcapDumper(path: path, snapshotLength: 262_144)
    var recordSizes: [Int] = []
    for index in 0..<4000 {
        // Sizes that share no factor with the page or the buffer.
        let frame = [UInt8](repeating: UInt8(index & 0xFF), count: 60 + (index * 37) % 1400)
        frame.withUnsafeBytes { try! dumper.write($0, originalLength: frame.count, timestamp: .now()) }
        recordSizes.append(16 + frame.count)
        var status = stat()
        #expect(stat(path, &status) == 0)
        let onDisk = Int(status.st_size)
        guard onDisk > 0 else { continue }
        // The disk holds the header and some number of whole records.
        var boundary = 24
        var sizes = recordSizes.makeIterator()
        while boundary < onDisk, let next = sizes.next() {
            boundary += next
        }
        #expect(boundary == onDisk, "after record \(index): \(onDisk) bytes on disk is inside a record")
        if boundary != onDisk {
            break
        }
    }
    #expect(dumper.flushedSize > 1_000_000, "the buffer did spill to disk during the test")
    try dumper.close()
    #expect(try PcapReader(path: path).readAll().count == 4000)
}
