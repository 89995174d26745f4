import NIOCore

/// The fixed part of every v1 message: `u32 msg_len | u16 version | u16 type | u32 endpoint_id | u32 flags`.
public struct MessageHeader: Hashable, Sendable {
    public var version: UInt16
    public var type: MessageType
    public var endpointID: UInt32
    public var flags: MessageFlags

    public init(
        version: UInt16 = ProtocolLimits.version,
        type: MessageType,
        endpointID: UInt32 = 0,
        flags: MessageFlags = []
    ) {
        self.version = version
        self.type = type
        self.endpointID = endpointID
        self.flags = flags
    }
}

extension ByteBuffer {
    /// Writes a complete header for a payload of `payloadLength` bytes, `msg_len` included.
    @inlinable
    @discardableResult
    public mutating func writeMessageHeader(_ header: MessageHeader, payloadLength: Int) -> Int {
        self.writeMultipleIntegers(
            UInt32(ProtocolLimits.headerLength + payloadLength),
            header.version,
            header.type.rawValue,
            header.endpointID,
            header.flags.rawValue
        )
    }
}
