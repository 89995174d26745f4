#if canImport(Glibc)
import Glibc
#endif
import SwitchyardPackets
import Testing

@testable import SwitchyardServer

/// `TapDeviceWriter` writes each frame with one system call, which a TAP device takes as one
/// frame. A SOCK_SEQPACKET socket pair keeps the same boundaries, so each `recv` on the other
/// end is exactly what one call wrote.
@Suite struct TapDeviceWriterTests {
    /// A connected SOCK_SEQPACKET pair; the caller closes both.
    static func pair() throws -> (writing: Int32, reading: Int32) {
        var ends: [Int32] = [-1, -1]
        let made = socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &ends)
        try #require(made == 0, "socketpair: \(String(cString: strerror(errno)))")
        return (ends[0], ends[1])
    }

    /// The next message on `descriptor`, whole (MSG_TRUNC reports its real length), or nil.
    static func receive(_ descriptor: Int32) -> [UInt8]? {
        var bytes = [UInt8](repeating: 0, count: 70_000)
        let count = bytes.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT | MSG_TRUNC)) }
        guard count >= 0 else { return nil }
        return Array(bytes.prefix(count))
    }

    static func frame(length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ 3) }
    }

    @Test func withVirtioHeadersEachFrameGoesInOneWriteBehindItsHeader() throws {
        let (writing, reading) = try Self.pair()
        defer { close(writing); close(reading) }
        var refusals: [Int32] = []
        let writer = TapDeviceWriter(descriptor: writing, virtio: true) { refusals.append($0) }
        let segment = VirtioNetHeader(words: (0x0000_05A8_0036_0101, 16))
        let large = Self.frame(length: 65_000)
        let small = Self.frame(length: 60)
        large.withUnsafeBytes { writer.write($0, offload: segment.words) }
        small.withUnsafeBytes { writer.write($0, offload: (0, 0)) }

        let first = try #require(Self.receive(reading))
        #expect(first.count == VirtioNetHeader.length + large.count)
        let header = try #require(first.prefix(VirtioNetHeader.length).withUnsafeBytes { VirtioNetHeader($0) })
        #expect(header.words.0 == segment.words.0 && header.words.1 == segment.words.1)
        #expect(Array(first.dropFirst(VirtioNetHeader.length)) == large)
        let second = try #require(Self.receive(reading))
        #expect(second == [UInt8](repeating: 0, count: VirtioNetHeader.length) + small, "a plain frame: a zero header")
        #expect(Self.receive(reading) == nil, "two frames, two writes")
        #expect(refusals.isEmpty)
    }

    @Test func withoutVirtioHeadersTheFrameIsWrittenAsItIs() throws {
        let (writing, reading) = try Self.pair()
        defer { close(writing); close(reading) }
        let writer = TapDeviceWriter(descriptor: writing, virtio: false) { _ in Issue.record("nothing is refused") }
        let frame = Self.frame(length: 1514)
        frame.withUnsafeBytes { writer.write($0, offload: (0, 0)) }
        #expect(Self.receive(reading) == frame)
    }

    @Test func aRefusedFrameIsReportedAndAnInvalidatedWriterWritesNothing() throws {
        let (writing, reading) = try Self.pair()
        defer { close(writing); close(reading) }
        // A send buffer smaller than the frame: the socket refuses it whole with EMSGSIZE, as a
        // TAP device refuses a frame over its limit.
        var room: Int32 = 4096
        #expect(setsockopt(writing, SOL_SOCKET, SO_SNDBUF, &room, socklen_t(MemoryLayout<Int32>.size)) == 0)
        var refusals: [Int32] = []
        let writer = TapDeviceWriter(descriptor: writing, virtio: true) { refusals.append($0) }
        Self.frame(length: 65_000).withUnsafeBytes { writer.write($0, offload: (0, 0)) }
        #expect(refusals == [EMSGSIZE])
        #expect(Self.receive(reading) == nil, "nothing of it arrived")
        writer.invalidate()
        Self.frame(length: 60).withUnsafeBytes { writer.write($0, offload: (0, 0)) }
        #expect(refusals == [EMSGSIZE], "after invalidate nothing is written or refused")
        #expect(Self.receive(reading) == nil)
    }
}
