import NIOCore
import SwitchyardPackets
import SwitchyardWire

/// The fabric's state machine: endpoints, the MAC table, subscriptions and ownership.
///
/// No I/O and no clocks: the server feeds it messages in the order it read them and carries
/// out what it returns, so every switching rule is testable without sockets and the same
/// inputs always give the same outputs.
public struct FabricCore: Sendable {
    /// Source MACs learned from traffic (endpoint MACs aside) before learning stops.
    public static let maximumLearnedMACs = 65_536

    /// Allocated MACs are `02:53:59` (locally administered, unicast) then a 24-bit counter.
    public static let allocatedMACPrefix: UInt64 = 0x02_53_59 << 24

    /// What one message from a client leads to.
    public enum Outcome: Sendable {
        /// A control reply or ERROR for the sending connection.
        case reply(Message)
        /// A frame to deliver along a route; the server copies it to each delivery.
        case switched(Route)
        /// After a framing error nothing else can be read; the server sends ERROR and closes.
        case none
    }

    private struct ConnectionState: Sendable {
        var welcomed = false
        var endpoints: [EndpointID] = []
        var subscribed: Set<EndpointID> = []
    }

    private var connections: [ConnectionID: ConnectionState] = [:]
    private var endpoints: [EndpointKey: Endpoint] = [:]
    /// Endpoint ids in creation order: the order floods are delivered in.
    private var endpointOrder: [EndpointID] = []
    private var endpointsByName: [String: EndpointID] = [:]
    /// Endpoint MACs: bound at creation, never re-learned.
    private var endpointsByMAC: [MACAddress: EndpointID] = [:]
    /// Other source MACs seen, mapped to the endpoint that sent them (last sender wins).
    private var learnedMACs: [MACAddress: EndpointID] = [:]
    /// Endpoints with a promiscuous subscription, in the order they got one.
    private var promiscuousEndpoints: [EndpointID] = []
    private var nextEndpointID: EndpointID = 1
    private var nextMACCounter: UInt64 = 1

    public private(set) var statistics = FabricStatistics()

    public init() {}

    // MARK: - Connections

    public mutating func connectionOpened(_ connection: ConnectionID) {
        precondition(self.connections[connection] == nil, "\(connection) opened twice")
        self.connections[connection] = ConnectionState()
    }

    /// Removes everything the connection owned: its endpoints (and the MACs learned through
    /// them) and its subscriptions. Returns the endpoints removed, in creation order.
    @discardableResult
    public mutating func connectionClosed(_ connection: ConnectionID) -> [Endpoint] {
        guard let state = self.connections.removeValue(forKey: connection) else { return [] }
        for id in state.subscribed {
            self.endpoints[EndpointKey(id)]?.subscriptions.removeAll { $0.connection == connection }
            self.updatePromiscuous(id)
        }
        var removed: [Endpoint] = []
        for id in state.endpoints {
            guard let endpoint = self.endpoints.removeValue(forKey: EndpointKey(id)) else { continue }
            removed.append(endpoint)
            self.endpointsByName[endpoint.name] = nil
            self.endpointsByMAC[endpoint.mac] = nil
            self.promiscuousEndpoints.removeAll { $0 == id }
            for subscription in endpoint.subscriptions {
                self.connections[subscription.connection]?.subscribed.remove(id)
            }
        }
        if !removed.isEmpty {
            let gone = Set(state.endpoints)
            self.endpointOrder.removeAll { gone.contains($0) }
            self.learnedMACs = self.learnedMACs.filter { !gone.contains($0.value) }
        }
        return removed
    }

    // MARK: - Messages

    /// Handles one message from `connection`, in the order the fabric read it. A switched
    /// frame's deliveries are passed to `deliver`, in delivery order, before this returns.
    public mutating func handle(_ message: Message, from connection: ConnectionID, deliver: (Delivery) -> Void) -> Outcome {
        let header = message.header
        // Hot path: a well-formed PACKET_OUT from an endpoint this connection owns (which
        // implies HELLO was done: endpoints are created only after it).
        if header.type == .packetOut, header.version == ProtocolLimits.version,
           message.payload.readableBytes >= ProtocolLimits.minimumFrameLength,
           let sender = self.endpoints[EndpointKey(header.endpointID)], sender.owner == connection {
            let route = self.route(frame: message.payload, from: sender)
            self.forEachDelivery(of: route, deliver)
            return .switched(route)
        }
        guard header.version == ProtocolLimits.version else {
            return self.reject(header, "unsupported protocol version \(header.version) (expected 1)")
        }
        guard self.connections[connection]?.welcomed == true || header.type == .hello else {
            if header.type.isFabricToClient || !Self.clientTypes.contains(header.type) {
                return self.reject(header, Self.unexpectedType(header.type))
            }
            return self.reject(header, "HELLO must be the first message")
        }
        do {
            switch header.type {
            case .packetOut:
                let route = try self.packetOut(message, from: connection)
                self.forEachDelivery(of: route, deliver)
                return .switched(route)
            case .hello:
                return .reply(try self.hello(message, from: connection))
            case .endpointCreate:
                return .reply(try self.createEndpoint(message, from: connection))
            case .endpointLookup:
                return .reply(try self.lookUpEndpoint(message))
            case .subscribe:
                return .reply(try self.subscribe(message, from: connection))
            default:
                return self.reject(header, Self.unexpectedType(header.type))
            }
        } catch {
            return self.reject(header, error.description)
        }
    }

    private static let clientTypes: Set<MessageType> = [.hello, .endpointCreate, .endpointLookup, .subscribe, .packetOut]

    private static func unexpectedType(_ type: MessageType) -> String {
        type.isFabricToClient
            ? "\(type) (\(type.rawValue)) is not a client message"
            : "unknown message type \(type.rawValue)"
    }

    private mutating func reject(_ header: MessageHeader, _ text: String) -> Outcome {
        if header.type == .packetOut {
            self.statistics.framesRejected += 1
        }
        return .reply(Self.errorMessage(text))
    }

    /// ERROR always carries endpoint_id 0 and flags 0.
    public static func errorMessage(_ text: String) -> Message {
        Message(.error, json: ErrorReply(error: text))
    }

    private mutating func hello(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Message {
        let request = try Self.decode(HelloRequest.self, message)
        guard self.connections[connection]?.welcomed == false else {
            throw Rejection("duplicate HELLO")
        }
        _ = request
        self.connections[connection]?.welcomed = true
        return Message(.welcome, json: WelcomeReply())
    }

    private mutating func createEndpoint(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Message {
        let request = try Self.decode(EndpointCreateRequest.self, message)
        guard !request.name.isEmpty else {
            throw Rejection("ENDPOINT_CREATE needs a non-empty string \"name\"")
        }
        guard self.endpointsByName[request.name] == nil else {
            throw Rejection("endpoint name already exists: \(request.name)")
        }
        let mac: MACAddress
        if let text = request.mac {
            guard let parsed = MACAddress(text) else {
                throw Rejection("invalid mac \"\(text)\" (want six hex pairs with colons)")
            }
            guard !parsed.isGroup else {
                throw Rejection("mac \(parsed) is a group (multicast/broadcast) address")
            }
            guard self.endpointsByMAC[parsed] == nil else {
                throw Rejection("mac already in use: \(parsed)")
            }
            mac = parsed
        } else {
            mac = try self.allocateMAC()
        }
        let endpoint = Endpoint(id: self.nextEndpointID, name: request.name, mac: mac, owner: connection)
        self.nextEndpointID += 1
        self.endpoints[EndpointKey(endpoint.id)] = endpoint
        self.endpointOrder.append(endpoint.id)
        self.endpointsByName[endpoint.name] = endpoint.id
        self.endpointsByMAC[mac] = endpoint.id
        self.learnedMACs[mac] = nil
        self.connections[connection]?.endpoints.append(endpoint.id)
        return Message(.endpointCreated, json: endpoint.record)
    }

    /// The next counter MAC not already taken by an explicit `mac`.
    private mutating func allocateMAC() throws(Rejection) -> MACAddress {
        while self.nextMACCounter <= 0xFF_FFFF {
            let mac = MACAddress(rawValue: Self.allocatedMACPrefix | self.nextMACCounter)
            self.nextMACCounter += 1
            if self.endpointsByMAC[mac] == nil {
                return mac
            }
        }
        throw Rejection("MAC address space 02:53:59 exhausted")
    }

    private func lookUpEndpoint(_ message: Message) throws(Rejection) -> Message {
        let request = try Self.decode(EndpointLookupRequest.self, message)
        guard let id = self.endpointsByName[request.name], let endpoint = self.endpoints[EndpointKey(id)] else {
            throw Rejection("unknown endpoint name: \(request.name)")
        }
        return Message(.endpointInfo, json: endpoint.record)
    }

    private mutating func subscribe(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Message {
        let request = try Self.decode(SubscribeRequest.self, message)
        let headerID = message.header.endpointID
        let jsonID = request.endpointID ?? 0
        if headerID != 0, jsonID != 0, headerID != jsonID {
            throw Rejection("endpoint_id differs: header \(headerID), JSON \(jsonID)")
        }
        let target = headerID != 0 ? headerID : jsonID
        guard self.endpoints[EndpointKey(target)] != nil else {
            throw Rejection("SUBSCRIBE to unknown endpoint \(target)")
        }
        var flags = message.header.flags
        if request.promisc == true {
            flags.insert(.promiscuous)
        }
        if let index = self.endpoints[EndpointKey(target)]!.subscriptions.firstIndex(where: { $0.connection == connection }) {
            self.endpoints[EndpointKey(target)]!.subscriptions[index].flags = flags
        } else {
            self.endpoints[EndpointKey(target)]!.subscriptions.append(Subscription(connection: connection, flags: flags))
        }
        self.connections[connection]?.subscribed.insert(target)
        self.updatePromiscuous(target)
        return Message(.subscribed, endpointID: target, flags: message.header.flags, json: EmptyReply())
    }

    private mutating func updatePromiscuous(_ id: EndpointID) {
        let isPromiscuous = self.endpoints[EndpointKey(id)]?.hasPromiscuousSubscription ?? false
        let index = self.promiscuousEndpoints.firstIndex(of: id)
        if isPromiscuous, index == nil {
            self.promiscuousEndpoints.append(id)
        } else if !isPromiscuous, let index {
            self.promiscuousEndpoints.remove(at: index)
        }
    }

    private static func decode<Body: Decodable>(_ type: Body.Type, _ message: Message) throws(Rejection) -> Body {
        do {
            return try ControlJSON.decode(type, from: message.payload)
        } catch {
            throw Rejection("\(message.header.type): \(error.description)")
        }
    }

    // MARK: - Switching

    /// Checks a PACKET_OUT, learns its source MAC and decides its route.
    private mutating func packetOut(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Route {
        let id = message.header.endpointID
        guard let sender = self.endpoints[EndpointKey(id)] else {
            throw Rejection("PACKET_OUT from unknown endpoint \(id)")
        }
        guard sender.owner == connection else {
            throw Rejection("endpoint \(id) belongs to another connection")
        }
        let frame = message.payload
        guard frame.readableBytes >= ProtocolLimits.minimumFrameLength else {
            throw Rejection("frame too short: \(frame.readableBytes) bytes (minimum \(ProtocolLimits.minimumFrameLength))")
        }
        return self.route(frame: frame, from: sender)
    }

    /// Reads the frame's MACs (the caller checked it holds 14 bytes) and routes it.
    @inline(__always)
    private mutating func route(frame: ByteBuffer, from sender: Endpoint) -> Route {
        let (destination, source) = frame.withUnsafeReadableBytes { bytes in
            let dst0 = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
            let dst1 = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
            let src0 = UInt32(bigEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt32.self))
            let src1 = UInt16(bigEndian: bytes.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
            return (
                MACAddress(rawValue: UInt64(dst0) << 16 | UInt64(dst1)),
                MACAddress(rawValue: UInt64(src0) << 16 | UInt64(src1))
            )
        }
        return self.route(from: sender, destination: destination, source: source)
    }

    /// Learning and forwarding for one frame from `sender` (IEEE 802.1D style, no ageing).
    public mutating func route(from sender: Endpoint, destination: MACAddress, source: MACAddress) -> Route {
        self.statistics.framesSwitched += 1
        if source != sender.mac, !source.isGroup, self.endpointsByMAC[source] == nil {
            if self.learnedMACs[source] != nil || self.learnedMACs.count < Self.maximumLearnedMACs {
                self.learnedMACs[source] = sender.id
            } else {
                self.statistics.learningTableFull += 1
            }
        }
        if !destination.isGroup, let to = self.endpointsByMAC[destination] ?? self.learnedMACs[destination] {
            return .unicast(from: sender.id, to: to)
        }
        self.statistics.framesFlooded += 1
        return .flood(from: sender.id)
    }

    /// Calls `body` for each PACKET_IN a route produces, in a fixed order: a flood in
    /// endpoint creation order; a unicast to its destination, then to promiscuous subscribers
    /// of other endpoints (none of them sent it). One copy per subscription.
    public func forEachDelivery(of route: Route, _ body: (Delivery) -> Void) {
        switch route {
        case .flood(let sender):
            // Promiscuous subscribers are among "every endpoint but the sender" already.
            self.forEachEndpoint { endpoint in
                guard endpoint.id != sender else { return }
                for subscription in endpoint.subscriptions {
                    body(Delivery(connection: subscription.connection, endpoint: endpoint.id, flags: subscription.flags))
                }
            }
        case .unicast(let sender, let destination):
            if destination != sender, let endpoint = self.endpoint(destination) {
                for subscription in endpoint.subscriptions {
                    body(Delivery(connection: subscription.connection, endpoint: destination, flags: subscription.flags))
                }
            }
            self.forEachPromiscuousEndpoint { endpoint in
                guard endpoint.id != sender, endpoint.id != destination else { return }
                for subscription in endpoint.subscriptions where subscription.flags.contains(.promiscuous) {
                    body(Delivery(connection: subscription.connection, endpoint: endpoint.id, flags: subscription.flags))
                }
            }
        }
    }

    // MARK: - Queries

    public func endpoint(_ id: EndpointID) -> Endpoint? {
        self.endpoints[EndpointKey(id)]
    }

    public func endpoint(named name: String) -> Endpoint? {
        self.endpointsByName[name].flatMap { self.endpoints[EndpointKey($0)] }
    }

    /// Every live endpoint, in creation order.
    public var allEndpoints: [Endpoint] {
        self.endpointOrder.compactMap { self.endpoints[EndpointKey($0)] }
    }

    /// The endpoint a MAC is switched to: an endpoint's own MAC or one learned from traffic.
    public func endpointID(forMAC mac: MACAddress) -> EndpointID? {
        self.endpointsByMAC[mac] ?? self.learnedMACs[mac]
    }

    public var learnedMACCount: Int { self.learnedMACs.count }

    public var connectionCount: Int { self.connections.count }

    private func forEachEndpoint(_ body: (Endpoint) -> Void) {
        for id in self.endpointOrder {
            if let endpoint = self.endpoints[EndpointKey(id)] {
                body(endpoint)
            }
        }
    }

    private func forEachPromiscuousEndpoint(_ body: (Endpoint) -> Void) {
        for id in self.promiscuousEndpoints {
            if let endpoint = self.endpoints[EndpointKey(id)] {
                body(endpoint)
            }
        }
    }
}

/// Why the core refused a message; its text becomes the ERROR payload.
struct Rejection: Error, CustomStringConvertible {
    var description: String

    init(_ description: String) {
        self.description = description
    }
}
