import Foundation
@testable import SwitchyardCapture
import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// The pcapng writer against libpcap's reader and our index, without processes.
@Suite struct PcapngWriterTests {
    static let section = PcapngWriter.Section(application: "test", hardware: "x86_64", operatingSystem: "Linux", comment: "seed 1")

    static func record(_ endpoint: UInt32, _ sequence: UInt64, _ direction: CaptureDirection = .inbound, length: Int) -> CaptureBatch.Record {
        CaptureBatch.Record(
            capturedLength: length, originalLength: length, timestamp: CaptureTimestamp(seconds: 1_767_225_600, nanoseconds: UInt32(sequence)),
            endpoint: endpoint, sequence: sequence, direction: direction, note: -1
        )
    }

    @Test func framesLandOnTheirEndpointsInterfacesWithTheirDirection() throws {
        let path = try temporaryPath("w.pcapng")
        let writer = try PcapngWriter(path: path, snapshotLength: 262_144, section: Self.section, endpoints: [
            CaptureEndpoint(id: 7, name: "svc_echo", mac: "02:53:59:00:00:01", kind: "v1 client"),
        ])
        let frames = (0..<4).map { sampleFrame($0, payloadLength: 1 + $0) }
        let plan: [(UInt32, CaptureDirection, String?)] = [(9, .inbound, nil), (7, .outbound, "rule 1: dropped (loss)"), (7, .inbound, nil), (9, .outbound, nil)]
        for (index, frame) in frames.enumerated() {
            let (endpoint, direction, note) = plan[index]
            try frame.withUnsafeBytes { try writer.write($0, record: Self.record(endpoint, UInt64(index + 1), direction, length: frame.count), note: note) }
        }
        try writer.close()

        #expect(try PcapReader(path: path).readAll().map(\.bytes) == frames)
        let index = try #require(PcapngIndex.read([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
        #expect(index.interfaces.map(\.name) == ["svc_echo", "endpoint 9"], "an endpoint never announced is named by its id")
        #expect(index.interfaces.first?.description == "02:53:59:00:00:01 (v1 client)")
        #expect((0..<4).map { index.interface(ofPacket: $0)?.name } == ["endpoint 9", "svc_echo", "svc_echo", "endpoint 9"])
        #expect(index.packets.map(\.direction) == [1, 2, 1, 2])
    }

    /// Flushes of every size around the sink's page: after each, the file is every record so
    /// far, whole (a flush's partial page is written through the cache, then again directly
    /// with what follows it), and libpcap reads it back.
    @Test func everyFlushLeavesTheRecordsSoFarWholeWhateverItsSize() throws {
        let path = try temporaryPath("flushes.pcapng")
        let writer = try PcapngWriter(path: path, snapshotLength: 262_144, section: Self.section, endpoints: [])
        var frames: [[UInt8]] = []
        // Sizes that put flush ends on, before and after page boundaries, and frames past a page.
        let sizes = [60, 1514, 4095, 4096, 4097, 9000, 65_535, 14, 3000, 70_000, 61]
        for (index, size) in (sizes + sizes.reversed()).enumerated() {
            let frame = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ index) }
            frames.append(frame)
            try frame.withUnsafeBytes { try writer.write($0, record: Self.record(1, UInt64(index + 1), length: size), note: nil) }
            if index % 3 != 2 {
                try writer.flush()
                let onDisk = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
                #expect(Int64(onDisk) == writer.flushedSize, "the file ends at the flush")
                #expect(try PcapReader(path: path).readAll().map(\.bytes) == frames)
            }
        }
        try writer.close()
        #expect(try PcapReader(path: path).readAll().map(\.bytes) == frames)
        let index = try #require(PcapngIndex.read([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))))
        #expect(index.packets.count == frames.count)
        #expect(writer.writesDirectly == Self.takesDirectWrites(beside: path), "direct writes wherever the file system takes them")
    }

    /// The record buffers start at a huge page (so the kernel can back them with 2 MiB pages),
    /// which is also a page for direct writes.
    @Test func recordBuffersStartAtAHugePage() {
        let buffer = CaptureFileSink.allocateBuffer(byteCount: PcapngWriter.bufferSize)
        defer { buffer.deallocate() }
        #expect(UInt(bitPattern: buffer) % UInt(CaptureFileSink.bufferAlignment) == 0)
        #expect(CaptureFileSink.bufferAlignment % CaptureFileSink.pageSize == 0)
        buffer.initializeMemory(as: UInt8.self, repeating: 0xA5, count: PcapngWriter.bufferSize)
        #expect(buffer.load(fromByteOffset: PcapngWriter.bufferSize - 1, as: UInt8.self) == 0xA5)
    }

    /// Records past the buffer spill it: each spill's write runs while the next buffer fills,
    /// and a flush waits for it. The file then holds every record in order.
    @Test func spillsWriteWhileTheNextBufferFills() throws {
        let path = try temporaryPath("spills.pcapng")
        let writer = try PcapngWriter(path: path, snapshotLength: 262_144, section: Self.section, endpoints: [])
        var frames: [[UInt8]] = []
        var total = 0
        var index = 0
        while total < 6 * PcapngWriter.bufferSize {
            let size = [60, 1514, 9000, 65_535, 333][index % 5]
            let frame = (0..<size).map { UInt8(truncatingIfNeeded: $0 &+ index) }
            frames.append(frame)
            total += size
            index += 1
            try frame.withUnsafeBytes { try writer.write($0, record: Self.record(1, UInt64(index), length: size), note: nil) }
        }
        try writer.flush()
        let onDisk = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(Int64(onDisk) == writer.flushedSize && writer.flushedSize == writer.fileSize)
        #expect(try PcapReader(path: path).readAll().map(\.bytes) == frames)
        try writer.close()
        #expect(try PcapReader(path: path).readAll().count == frames.count)
    }

    /// Whether a page written with O_DIRECT next to `path` succeeds.
    static func takesDirectWrites(beside path: String) -> Bool {
        let probe = path + ".direct"
        defer { unlink(probe) }
        let descriptor = open(probe, O_WRONLY | O_CREAT | 0o40000, 0o644)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let page = UnsafeMutableRawPointer.allocate(byteCount: 4096, alignment: 4096)
        defer { page.deallocate() }
        page.initializeMemory(as: UInt8.self, repeating: 0, count: 4096)
        return pwrite(descriptor, page, 4096, 0) == 4096
    }

    @Test func aFileCutAnywhereIndexesItsWholeBlocksOnly() throws {
        let path = try temporaryPath("cut.pcapng")
        let writer = try PcapngWriter(path: path, snapshotLength: 262_144, section: Self.section, endpoints: [])
        let frame = sampleFrame(1)
        for sequence in 1...3 {
            try frame.withUnsafeBytes { try writer.write($0, record: Self.record(1, UInt64(sequence), length: frame.count), note: nil) }
        }
        try writer.close()
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var previous = 0
        for cut in stride(from: 12, through: bytes.count, by: 5) {
            let packets = PcapngIndex.read(Array(bytes.prefix(cut)))?.packets.count ?? 0
            #expect(packets >= previous && packets <= 3)
            previous = packets
        }
        #expect(PcapngIndex.read(bytes)?.packets.count == 3)
        #expect(PcapngIndex.read(Array(repeating: 0xAB, count: 64)) == nil, "not pcapng")
    }

    @Test func bigEndianSectionsAreRead() {
        // A big-endian section: SHB, an IDB named "be0", one EPB with epb_flags outbound.
        func be32(_ value: UInt32) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        func be16(_ value: UInt16) -> [UInt8] { withUnsafeBytes(of: value.bigEndian) { Array($0) } }
        func block(_ type: UInt32, _ body: [UInt8]) -> [UInt8] {
            let length = UInt32(12 + body.count)
            return be32(type) + be32(length) + body + be32(length)
        }
        let shb = block(0x0A0D_0D0A, be32(0x1A2B_3C4D) + be16(1) + be16(0) + Array(repeating: 0xFF, count: 8) + be32(0))
        let idb = block(1, be16(1) + be16(0) + be32(65535) + be16(2) + be16(3) + Array("be0".utf8) + [0] + be32(0))
        let data: [UInt8] = Array(repeating: 0x11, count: 14)
        let epb = block(6, be32(0) + be32(0) + be32(0) + be32(14) + be32(14) + data + [0, 0] + be16(2) + be16(4) + be32(2) + be32(0))
        let index = PcapngIndex.read(shb + idb + epb)
        #expect(index?.interfaces.map(\.name) == ["be0"])
        #expect(index?.packets == [PcapngIndex.Packet(interface: 0, direction: 2)])
    }
}
