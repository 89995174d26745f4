/// The `flags` word of a v1 message header.
public struct MessageFlags: OptionSet, Hashable, Sendable {
    public var rawValue: UInt32

    public init(rawValue: UInt32) {
        self.rawValue = rawValue
    }

    /// On SUBSCRIBE: receive every switched frame, not only those addressed to the endpoint.
    public static let promiscuous = MessageFlags(rawValue: 0x0000_0001)
}
