import NIOCore
import SwitchyardWire

/// Protocol v1 (TCP or a Unix socket): messages with 16-byte headers, control requests and
/// replies. The client makes its own endpoints with ENDPOINT_CREATE.
///
/// PACKET_OUTs switch where they lie in the read buffer, without a `Message` or `ByteBuffer`
/// per frame; anything else (control, or a PACKET_OUT the fabric answers with ERROR) goes
/// through the decoder, with every check and ERROR of the protocol.
struct V1Transport: FrameTransport {
    /// PACKET_IN's type number as a literal: `MessageType.packetIn` lives in another module
    /// and is reached through an accessor per use.
    private static let packetIn: UInt16 = 31

    static let outboundHeader = FrameHeaderWriter(length: ProtocolLimits.wireHeaderLength) { out, endpoint, flags, length, _, _ in
        MessageHeader.store(type: V1Transport.packetIn, endpointID: endpoint, flags: MessageFlags(rawValue: flags), payloadLength: Int(length), to: out)
    }

    static var carriesReplies: Bool { true }

    static func bytesMissing(from partial: ByteBuffer) -> Int {
        guard let length = partial.getInteger(at: partial.readerIndex, as: UInt32.self) else {
            return 4 - partial.readableBytes
        }
        guard length >= ProtocolLimits.headerLength, length <= ProtocolLimits.maximumMessageLength else { return 0 }
        return max(0, 4 + Int(length) - partial.readableBytes)
    }

    mutating func readFrames(_ buffer: inout ByteBuffer, on connection: FabricConnection, engine: FabricEngine) -> TransportReadOutcome {
        do {
            while true {
                let switched = buffer.withUnsafeReadableBytes { Self.switchPacketOuts(in: $0, from: connection, pipeline: engine.pipeline) }
                buffer.moveReaderIndex(forwardBy: switched)
                guard let message = try MessageDecoder.decodeMessage(from: &buffer) else { return .readOn }
                engine.process(message, from: connection)
            }
        } catch {
            engine.reportFramingError(error, on: connection)
            return .lingerAfterError
        }
    }

    /// Switches the PACKET_OUTs at the front of `bytes` in place and returns how many bytes
    /// they took. Stops at the first message that is not a PACKET_OUT the fabric switches as
    /// it is, and at a message not wholly read yet.
    @inline(__always)
    private static func switchPacketOuts(in bytes: UnsafeRawBufferPointer, from connection: FabricConnection, pipeline: FabricEngine.Pipeline) -> Int {
        let header = ProtocolLimits.wireHeaderLength
        let packetOut = MessageType.packetOut.rawValue
        let sender = connection.id
        var offset = 0
        while bytes.count - offset >= header {
            let length = Int(UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
            let type = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 6, as: UInt16.self))
            guard type == packetOut, length >= ProtocolLimits.headerLength,
                  bytes.count - offset - 4 >= length
            else { break }
            let version = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 4, as: UInt16.self))
            let endpointID = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: offset + 8, as: UInt32.self))
            let frame = UnsafeRawBufferPointer(start: bytes.baseAddress! + offset + header, count: length - ProtocolLimits.headerLength)
            guard pipeline.switchFrame(frame, version: version, endpoint: endpointID, from: sender) else {
                break
            }
            offset += 4 + length
        }
        return offset
    }
}
