/// The byte stream no longer follows v1 framing; the connection cannot continue.
public struct FramingError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The `msg_len` that broke framing.
    public var messageLength: UInt32

    public init(messageLength: UInt32) {
        self.messageLength = messageLength
    }

    public var description: String {
        "bad msg_len \(self.messageLength) (allowed \(ProtocolLimits.headerLength)..\(ProtocolLimits.maximumMessageLength)); closing connection"
    }
}
