import NIOCore

/// Splits a v1 byte stream into messages.
///
/// Usable two ways: as a `ByteToMessageDecoder` (the SDK, where `ByteToMessageHandler` does
/// buffering and EOF), and directly through `decodeMessage(from:)` by the fabric's hot path,
/// which parses a whole read in a loop without wrapping each message in `NIOAny`.
public struct MessageDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = Message

    public init() {}

    /// Reads one complete message from the front of `buffer`, or returns nil (consuming
    /// nothing) if `buffer` does not hold one yet. The payload is a slice: no bytes are copied.
    @inlinable
    public static func decodeMessage(from buffer: inout ByteBuffer) throws(FramingError) -> Message? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else {
            return nil
        }
        guard length >= ProtocolLimits.headerLength, length <= ProtocolLimits.maximumMessageLength else {
            throw FramingError(messageLength: length)
        }
        guard buffer.readableBytes >= 4 + Int(length) else {
            return nil
        }
        let start = buffer.readerIndex
        // One pointer read of the 12 header bytes: cheaper than four bounds-checked getters.
        let (version, type, endpointID, flags) = buffer.withUnsafeReadableBytes { bytes in
            (
                UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self)),
                UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self)),
                UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt32.self)),
                UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 12, as: UInt32.self))
            )
        }
        let payload = buffer.getSlice(
            at: start + ProtocolLimits.wireHeaderLength,
            length: Int(length) - ProtocolLimits.headerLength
        )!
        buffer.moveReaderIndex(forwardBy: 4 + Int(length))
        let header = MessageHeader(
            version: version,
            type: MessageType(rawValue: type),
            endpointID: endpointID,
            flags: MessageFlags(rawValue: flags)
        )
        return Message(header: header, payload: payload)
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let message = try Self.decodeMessage(from: &buffer) else {
            return .needMoreData
        }
        context.fireChannelRead(Self.wrapInboundOut(message))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        try self.decode(context: context, buffer: &buffer)
    }
}
