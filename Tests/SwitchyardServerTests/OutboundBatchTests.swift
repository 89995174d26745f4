import NIOCore
import SwitchyardWire
import Testing

@testable import SwitchyardServer

/// `OutboundBatch` writes frames through a pointer into its buffer's storage: what it hands
/// out must be byte for byte what ByteBuffer's own writers would have made, across growth,
/// replies between frames, and batches taken while new frames arrive.
@Suite struct OutboundBatchTests {
    static func frame(_ marker: UInt8, length: Int) -> [UInt8] {
        (0..<length).map { UInt8(truncatingIfNeeded: Int(marker) &+ $0) }
    }

    static func append(_ bytes: [UInt8], to batch: inout OutboundBatch, framing: FrameHeaderWriter, endpoint: UInt32 = 7, flags: MessageFlags = []) {
        bytes.withUnsafeBytes { batch.appendFrame($0, header: framing, endpoint: endpoint, flags: flags) }
    }

    @Test func packetInsAndRepliesComeOutAsTheDecoderReadsThem() throws {
        var batch = OutboundBatch(allocator: ByteBufferAllocator(), reservedCapacity: 256)
        let reply = Message(.endpointInfo, endpointID: 3, payload: ByteBuffer(string: "{}"))
        Self.append(Self.frame(1, length: 60), to: &batch, framing: V1Transport.outboundHeader, endpoint: 5, flags: .promiscuous)
        batch.appendMessage(reply)
        Self.append(Self.frame(2, length: 14), to: &batch, framing: V1Transport.outboundHeader, endpoint: 6)
        #expect(batch.count == 3 * ProtocolLimits.wireHeaderLength + 60 + 2 + 14)

        var bytes = batch.take()
        #expect(batch.count == 0)
        var messages: [Message] = []
        while let message = try MessageDecoder.decodeMessage(from: &bytes) {
            messages.append(message)
        }
        #expect(bytes.readableBytes == 0)
        try #require(messages.count == 3)
        #expect(messages[0] == Message(.packetIn, endpointID: 5, flags: .promiscuous, payload: ByteBuffer(bytes: Self.frame(1, length: 60))))
        #expect(messages[1] == reply)
        #expect(messages[2] == Message(.packetIn, endpointID: 6, payload: ByteBuffer(bytes: Self.frame(2, length: 14))))
    }

    @Test func qemuAndVXLANHeadersAreALengthOrAnEndpointAndALength() {
        var qemu = OutboundBatch(allocator: ByteBufferAllocator(), reservedCapacity: 64)
        Self.append([0xAA, 0xBB], to: &qemu, framing: QEMUStreamTransport.outboundHeader)
        #expect(Array(buffer: qemu.take()) == [0, 0, 0, 2, 0xAA, 0xBB])

        var vxlan = OutboundBatch(allocator: ByteBufferAllocator(), reservedCapacity: 64)
        Self.append([0xCC], to: &vxlan, framing: VXLANTransport.outboundHeader, endpoint: 0x0102_0304)
        #expect(Array(buffer: vxlan.take()) == [1, 2, 3, 4, 0, 0, 0, 1, 0xCC])
    }

    /// Past the reserved room the batch grows (the frames already written move with it); a
    /// batch handed out is never written again, however many frames follow.
    @Test func framesPastTheReservedRoomAndAfterATakeLandWhereTheyBelong() {
        var batch = OutboundBatch(allocator: ByteBufferAllocator(), reservedCapacity: 40)
        var expected: [UInt8] = []
        for marker in UInt8(0)..<50 {
            let frame = Self.frame(marker, length: 14 + Int(marker) * 3)
            Self.append(frame, to: &batch, framing: QEMUStreamTransport.outboundHeader)
            expected += [0, 0, 0, UInt8(frame.count)] + frame
        }
        let first = batch.take()
        #expect(Array(buffer: first) == expected)

        Self.append(Self.frame(99, length: 30), to: &batch, framing: QEMUStreamTransport.outboundHeader)
        batch.appendMessage(Message(.error, payload: ByteBuffer(string: "x")))
        Self.append(Self.frame(98, length: 30), to: &batch, framing: QEMUStreamTransport.outboundHeader)
        let second = batch.take()
        #expect(Array(buffer: first) == expected, "the batch handed out is left alone")
        #expect(second.readableBytes == 2 * (4 + 30) + ProtocolLimits.wireHeaderLength + 1)
        #expect(Array(buffer: second).prefix(4) == [0, 0, 0, 30])
    }

    @Test func removeAllForgetsEverything() {
        var batch = OutboundBatch(allocator: ByteBufferAllocator(), reservedCapacity: 64)
        Self.append(Self.frame(1, length: 20), to: &batch, framing: V1Transport.outboundHeader)
        batch.appendMessage(Message(.error, payload: ByteBuffer(string: "x")))
        batch.removeAll()
        #expect(batch.count == 0)
        #expect(batch.take().readableBytes == 0)
        Self.append([1, 2], to: &batch, framing: QEMUStreamTransport.outboundHeader)
        #expect(Array(buffer: batch.take()) == [0, 0, 0, 2, 1, 2])
    }

    /// Once the channel has let go of a batch's bytes, the next batch is written into the
    /// same storage: no allocation, no fresh pages per flush. Bytes still held are left alone.
    @Test func theNextBatchReusesStorageTheChannelLetGo() {
        var batch = OutboundBatch(allocator: ByteBufferAllocator(), reservedCapacity: 4096)
        Self.append(Self.frame(1, length: 100), to: &batch, framing: QEMUStreamTransport.outboundHeader)
        var first: ByteBuffer? = batch.take()
        let firstStorage = first!.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) }
        first = nil

        Self.append(Self.frame(2, length: 50), to: &batch, framing: QEMUStreamTransport.outboundHeader)
        let second = batch.take()
        #expect(second.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } == firstStorage)
        #expect(Array(buffer: second) == [0, 0, 0, 50] + Self.frame(2, length: 50))

        Self.append(Self.frame(3, length: 20), to: &batch, framing: QEMUStreamTransport.outboundHeader)
        let third = batch.take()
        #expect(Array(buffer: second) == [0, 0, 0, 50] + Self.frame(2, length: 50), "still held: left alone")
        #expect(third.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } != firstStorage)
        #expect(Array(buffer: third) == [0, 0, 0, 20] + Self.frame(3, length: 20))
        #expect(batch.take().readableBytes == 0, "a take with nothing added hands out nothing again")
    }
}
