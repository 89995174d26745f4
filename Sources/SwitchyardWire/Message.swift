import NIOCore

/// One v1 message: a header and its payload (JSON for control, an Ethernet frame for data).
public struct Message: Hashable, Sendable {
    public var header: MessageHeader
    public var payload: ByteBuffer

    public init(header: MessageHeader, payload: ByteBuffer) {
        self.header = header
        self.payload = payload
    }

    public init(_ type: MessageType, endpointID: UInt32 = 0, flags: MessageFlags = [], payload: ByteBuffer = ByteBuffer()) {
        self.init(header: MessageHeader(type: type, endpointID: endpointID, flags: flags), payload: payload)
    }

    /// A control message whose payload is `body` as JSON.
    public init<Body: Encodable>(
        _ type: MessageType,
        endpointID: UInt32 = 0,
        flags: MessageFlags = [],
        json body: Body
    ) {
        self.init(type, endpointID: endpointID, flags: flags, payload: ControlJSON.encode(body))
    }

    /// Bytes this message takes on the wire.
    public var wireLength: Int { ProtocolLimits.wireHeaderLength + self.payload.readableBytes }
}

extension ByteBuffer {
    /// Appends `message` in wire format.
    @inlinable
    public mutating func writeMessage(_ message: Message) {
        self.writeMessageHeader(message.header, payloadLength: message.payload.readableBytes)
        self.writeImmutableBuffer(message.payload)
    }
}
