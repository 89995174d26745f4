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

extension MessageHeader {
    /// Stores a whole header (`ProtocolLimits.wireHeaderLength` bytes, `msg_len` included) for
    /// a payload of `payloadLength` bytes at `out`, for writers that own their memory. Takes
    /// the type's number, not a `MessageType`: a type constant is reached through an accessor
    /// call from other modules, once per frame on the switching path.
    @inlinable @inline(__always)
    public static func store(
        version: UInt16 = ProtocolLimits.version, type: UInt16, endpointID: UInt32, flags: MessageFlags,
        payloadLength: Int, to out: UnsafeMutableRawPointer
    ) {
        out.storeBytes(of: UInt32(ProtocolLimits.headerLength + payloadLength).bigEndian, toByteOffset: 0, as: UInt32.self)
        out.storeBytes(of: version.bigEndian, toByteOffset: 4, as: UInt16.self)
        out.storeBytes(of: type.bigEndian, toByteOffset: 6, as: UInt16.self)
        out.storeBytes(of: endpointID.bigEndian, toByteOffset: 8, as: UInt32.self)
        out.storeBytes(of: flags.rawValue.bigEndian, toByteOffset: 12, as: UInt32.self)
    }
}

extension ByteBuffer {
    /// Appends a whole message, header and `payload`, with one capacity check and one copy of
    /// the payload.
    @inlinable
    public mutating func writeMessage(_ header: MessageHeader, payload: UnsafeRawBufferPointer) {
        let payloadLength = payload.count
        let total = ProtocolLimits.wireHeaderLength + payloadLength
        self.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { out in
            MessageHeader.store(
                version: header.version, type: header.type.rawValue, endpointID: header.endpointID, flags: header.flags,
                payloadLength: payloadLength, to: out.baseAddress!
            )
            if let base = payload.baseAddress, payloadLength > 0 {
                (out.baseAddress! + ProtocolLimits.wireHeaderLength).copyMemory(from: base, byteCount: payloadLength)
            }
            return total
        }
    }

    /// The same, from a `ByteBuffer`.
    @inlinable
    public mutating func writeMessage(_ header: MessageHeader, payload: ByteBuffer) {
        payload.withUnsafeReadableBytes { self.writeMessage(header, payload: $0) }
    }
}
