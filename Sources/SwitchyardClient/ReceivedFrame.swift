import SwitchyardWire

/// A frame the fabric delivered (PACKET_IN) to one of the connection's subscriptions.
public struct ReceivedFrame: Hashable, Sendable {
    /// The subscribed endpoint the frame was delivered to.
    public var endpointID: UInt32
    /// The subscription's flags (`.promiscuous` for a promiscuous subscription).
    public var flags: MessageFlags
    /// The raw Ethernet frame.
    public var bytes: [UInt8]

    public init(endpointID: UInt32, flags: MessageFlags, bytes: [UInt8]) {
        self.endpointID = endpointID
        self.flags = flags
        self.bytes = bytes
    }
}
