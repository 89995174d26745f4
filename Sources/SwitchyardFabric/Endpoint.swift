import SwitchyardPackets
import SwitchyardWire

/// A virtual port on the fabric, owned by the connection that created it.
public struct Endpoint: Hashable, Sendable {
    public let id: EndpointID
    public let name: String
    public let mac: MACAddress
    public let owner: ConnectionID
    /// One subscription per connection, in the order they were first made.
    public internal(set) var subscriptions: [Subscription] = []
    /// An uplink to another segment (a VXLAN remote): frames from one uplink are never sent to
    /// another (split horizon: a full mesh of fabrics needs no spanning tree).
    public internal(set) var isUplink = false

    /// True when some subscription asked for every switched frame.
    public var hasPromiscuousSubscription: Bool {
        self.subscriptions.contains { $0.flags.contains(.promiscuous) }
    }

    public var record: EndpointRecord {
        EndpointRecord(endpointID: self.id, name: self.name, mac: self.mac.description)
    }
}

/// A connection's wish to receive the frames of an endpoint.
public struct Subscription: Hashable, Sendable {
    public var connection: ConnectionID
    /// Carried on every PACKET_IN of this subscription.
    public var flags: MessageFlags

    public init(connection: ConnectionID, flags: MessageFlags) {
        self.connection = connection
        self.flags = flags
    }
}

/// One PACKET_IN to send: which connection gets it, for which endpoint, with which flags.
public struct Delivery: Hashable, Sendable {
    public var connection: ConnectionID
    public var endpoint: EndpointID
    public var flags: MessageFlags

    @inlinable
    public init(connection: ConnectionID, endpoint: EndpointID, flags: MessageFlags) {
        self.connection = connection
        self.endpoint = endpoint
        self.flags = flags
    }
}
