import NIOCore
import SwitchyardBase
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
    /// The longest endpoint name, in bytes of UTF-8 (a hostname's limit): names are logged,
    /// recorded in every manifest and listed in STATS, so one may not be a megabyte.
    public static let maximumNameLength = 255

    /// Allocated MACs are `02:53:59` (locally administered, unicast) then a 24-bit counter.
    public static let allocatedMACPrefix: UInt64 = 0x02_53_59 << 24

    /// Some endpoint is an uplink: only then does switching look for split horizons.
    private var hasUplinks = false

    /// What one message from a client leads to.
    public enum Outcome: Hashable, Sendable {
        /// A control reply for the sending connection.
        case reply(Message)
        /// The message was refused: ERROR for the sending connection.
        case rejected(Rejection)
        /// ENDPOINT_CREATE made this endpoint (the reply is its ENDPOINT_CREATED).
        case endpointCreated(Endpoint)
        /// A frame switched along a route; its deliveries went to the `deliver` closure.
        case switched(Route)
        /// STATS_REQUEST: the server answers with its counters and the core's.
        case statisticsRequested
        /// RULES_REQUEST: the server owns the rules and answers.
        case rulesRequested

        /// The message this outcome answers the sender with, if it is one the core builds.
        public var replyMessage: Message? {
            switch self {
            case .reply(let message): message
            case .rejected(let rejection): rejection.message
            case .endpointCreated(let endpoint): Message(.endpointCreated, json: endpoint.record)
            case .switched, .statisticsRequested, .rulesRequested: nil
            }
        }
    }

    private struct ConnectionState: Sendable {
        var welcomed = false
        var endpoints: [EndpointID] = []
        var subscribed: Set<EndpointID> = []
    }

    /// A route in slot numbers, as the switching path uses it.
    private enum SlotRoute {
        case flood(from: Int)
        case unicast(from: Int, to: Int)
    }

    private var connections: [ConnectionID: ConnectionState] = [:]
    private var endpoints = EndpointTable()
    /// Source MACs seen that are not endpoint MACs, mapped to the slot of the endpoint that
    /// sent them (last sender wins).
    private var learnedMACs = SlotMap()
    /// The first frame whose source MAC was another endpoint's (see `macConflicts`), for a log line.
    public private(set) var firstMACConflict: (mac: MACAddress, sender: String, owner: String)?
    /// Slots of endpoints with a promiscuous subscription, in the order they got one.
    private var promiscuousSlots: [Int] = []
    private var nextEndpointID: EndpointID = 1
    private var nextMACCounter: UInt64 = 1

    public private(set) var statistics = FabricStatistics()

    /// Endpoints one connection may own at once.
    public let maximumEndpointsPerConnection: Int

    /// The default for `maximumEndpointsPerConnection`: far more than any tool needs, few
    /// enough that one client cannot fill the fabric's tables.
    public static let defaultMaximumEndpointsPerConnection = 1024

    /// `firstAllocatedMAC`: the counter the allocated MACs start from (1, as v1 says: the first
    /// endpoint is 02:53:59:00:00:01). Fabrics joined into one segment give each its own range.
    public init(maximumEndpointsPerConnection: Int = Self.defaultMaximumEndpointsPerConnection, firstAllocatedMAC: UInt64 = 1) {
        self.nextMACCounter = min(max(1, firstAllocatedMAC), 0xFF_FFFF)
        self.maximumEndpointsPerConnection = maximumEndpointsPerConnection
    }

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
            guard let slot = self.endpoints.slot(of: id) else { continue }
            self.endpoints[slot].subscriptions.removeAll { $0.connection == connection }
            self.updatePromiscuous(slot)
        }
        let gone = Set(state.endpoints.compactMap { self.endpoints.slot(of: $0) })
        guard !gone.isEmpty else { return [] }
        let removed = self.endpoints.remove(slots: gone)
        for endpoint in removed {
            for subscription in endpoint.subscriptions {
                self.connections[subscription.connection]?.subscribed.remove(endpoint.id)
            }
        }
        self.promiscuousSlots.removeAll { gone.contains($0) }
        self.learnedMACs.filter { !gone.contains($1) }
        return removed
    }

    // MARK: - Messages

    /// Handles one message from `connection`, in the order the fabric read it. A switched
    /// frame's deliveries are passed to `deliver`, in delivery order, before this returns.
    public mutating func handle(_ message: Message, from connection: ConnectionID, deliver: (Delivery) -> Void) -> Outcome {
        let header = message.header
        // Hot path: a well-formed PACKET_OUT from an endpoint this connection owns (which
        // implies HELLO was done: endpoints are created only after it).
        if header.type == .packetOut,
           let route = message.payload.withUnsafeReadableBytes({
               self.switchPacketOut(version: header.version, endpointID: header.endpointID, frame: $0, from: connection, deliver: deliver)
           }) {
            return .switched(route)
        }
        guard header.version == ProtocolLimits.version else {
            return self.reject(header, Rejection(.unsupportedVersion, "unsupported protocol version \(header.version) (expected 1)"))
        }
        guard self.connections[connection]?.welcomed == true || header.type == .hello else {
            if header.type.isFabricToClient || !Self.clientTypes.contains(header.type) {
                return self.reject(header, Self.unexpectedType(header.type))
            }
            return self.reject(header, Rejection(.helloRequired, "HELLO must be the first message"))
        }
        do {
            switch header.type {
            case .packetOut:
                let slot = try self.checkPacketOut(message, from: connection)
                return .switched(message.payload.withUnsafeReadableBytes { self.switchFrame($0, from: slot, deliver: deliver) })
            case .hello:
                return .reply(try self.hello(message, from: connection))
            case .endpointCreate:
                return .endpointCreated(try self.createEndpoint(message, from: connection))
            case .endpointLookup:
                return .reply(try self.lookUpEndpoint(message))
            case .subscribe:
                return .reply(try self.subscribe(message, from: connection))
            case .statsRequest:
                return .statisticsRequested
            case .rulesRequest:
                return .rulesRequested
            default:
                return self.reject(header, Self.unexpectedType(header.type))
            }
        } catch {
            return self.reject(header, error)
        }
    }

    private static let clientTypes: Set<MessageType> = [.hello, .endpointCreate, .endpointLookup, .subscribe, .packetOut, .statsRequest, .rulesRequest]

    private static func unexpectedType(_ type: MessageType) -> Rejection {
        Rejection(
            .unexpectedType,
            type.isFabricToClient ? "\(type) (\(type.rawValue)) is not a client message" : "unknown message type \(type.rawValue)"
        )
    }

    private mutating func reject(_ header: MessageHeader, _ rejection: Rejection) -> Outcome {
        if header.type == .packetOut {
            self.statistics.framesRejected += 1
        }
        return .rejected(rejection)
    }

    /// ERROR for something outside the core (framing, limits); it always carries endpoint_id
    /// 0 and flags 0.
    public static func errorMessage(_ text: String) -> Message {
        Message(.error, json: ErrorReply(error: text))
    }

    private mutating func hello(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Message {
        // Decoded to validate it; the client name is not used.
        _ = try Self.decode(HelloRequest.self, message)
        guard self.connections[connection]?.welcomed == false else {
            throw Rejection(.duplicateHello, "duplicate HELLO")
        }
        self.connections[connection]?.welcomed = true
        return Message(.welcome, json: WelcomeReply())
    }

    private mutating func createEndpoint(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Endpoint {
        let request = try Self.decode(EndpointCreateRequest.self, message)
        var mac: MACAddress?
        if let text = request.mac {
            guard let parsed = MACAddress(text) else {
                throw Rejection(.invalidMAC, "invalid mac \"\(text)\" (want six hex pairs with colons)")
            }
            mac = parsed
        }
        return try self.createEndpoint(name: request.name, mac: mac, owner: connection)
    }

    /// Makes an endpoint owned by `owner`: what ENDPOINT_CREATE does once decoded, and how the
    /// fabric makes its own (a QEMU port's VM, a VXLAN remote). `mac` nil: the next allocated one.
    public mutating func createEndpoint(name: String, mac: MACAddress?, owner connection: ConnectionID) throws(Rejection) -> Endpoint {
        guard !name.isEmpty else {
            throw Rejection(.emptyName, "ENDPOINT_CREATE needs a non-empty string \"name\"")
        }
        guard name.utf8.count <= Self.maximumNameLength else {
            throw Rejection(.nameTooLong, "an endpoint name is at most \(Self.maximumNameLength) bytes of UTF-8, this one has \(name.utf8.count)")
        }
        guard self.endpoints.slot(named: name) == nil else {
            throw Rejection(.nameInUse, "endpoint name already exists: \(name)")
        }
        guard (self.connections[connection]?.endpoints.count ?? 0) < self.maximumEndpointsPerConnection else {
            throw Rejection(.endpointLimit, "this connection already owns \(self.maximumEndpointsPerConnection) endpoints, the fabric's limit per connection")
        }
        let chosen: MACAddress
        if let mac {
            guard !mac.isGroup else {
                throw Rejection(.groupMAC, "mac \(mac) is a group (multicast/broadcast) address")
            }
            guard self.endpoints.slot(forMAC: mac) == nil else {
                throw Rejection(.macInUse, "mac already in use: \(mac)")
            }
            chosen = mac
        } else {
            chosen = try self.allocateMAC()
        }
        let endpoint = Endpoint(id: self.nextEndpointID, name: name, mac: chosen, owner: connection)
        self.nextEndpointID += 1
        _ = self.endpoints.insert(endpoint)
        self.learnedMACs.remove(chosen.rawValue)
        self.connections[connection]?.endpoints.append(endpoint.id)
        return endpoint
    }

    /// A connection the fabric itself opened (a QEMU port, the VXLAN socket) needs no HELLO.
    public mutating func welcome(_ connection: ConnectionID) {
        self.connections[connection]?.welcomed = true
    }

    /// Subscribes `connection` to endpoint `id`, not promiscuous: SUBSCRIBE for the fabric's
    /// own connections. False when there is no such endpoint.
    @discardableResult
    public mutating func subscribe(_ connection: ConnectionID, to id: EndpointID) -> Bool {
        guard let slot = self.endpoints.slot(of: id) else { return false }
        if !self.endpoints[slot].subscriptions.contains(where: { $0.connection == connection }) {
            self.endpoints[slot].subscriptions.append(Subscription(connection: connection, flags: []))
        }
        self.connections[connection]?.subscribed.insert(id)
        self.updatePromiscuous(slot)
        return true
    }

    /// The next counter MAC not already taken by an explicit `mac`.
    private mutating func allocateMAC() throws(Rejection) -> MACAddress {
        while self.nextMACCounter <= 0xFF_FFFF {
            let mac = MACAddress(rawValue: Self.allocatedMACPrefix | self.nextMACCounter)
            self.nextMACCounter += 1
            if self.endpoints.slot(forMAC: mac) == nil {
                return mac
            }
        }
        throw Rejection(.macSpaceExhausted, "MAC address space 02:53:59 exhausted")
    }

    private func lookUpEndpoint(_ message: Message) throws(Rejection) -> Message {
        let request = try Self.decode(EndpointLookupRequest.self, message)
        guard let slot = self.endpoints.slot(named: request.name) else {
            throw Rejection(.unknownEndpoint, "unknown endpoint name: \(request.name)")
        }
        return Message(.endpointInfo, json: self.endpoints[slot].record)
    }

    private mutating func subscribe(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Message {
        let request = try Self.decode(SubscribeRequest.self, message)
        let headerID = message.header.endpointID
        let jsonID = request.endpointID ?? 0
        if headerID != 0, jsonID != 0, headerID != jsonID {
            throw Rejection(.endpointIDMismatch, "endpoint_id differs: header \(headerID), JSON \(jsonID)")
        }
        let target = headerID != 0 ? headerID : jsonID
        guard let slot = self.endpoints.slot(of: target) else {
            throw Rejection(.unknownEndpoint, "SUBSCRIBE to unknown endpoint \(target)")
        }
        var flags = message.header.flags
        if request.promisc == true {
            flags.insert(.promiscuous)
        }
        // One subscription per connection and endpoint; subscribing again replaces its flags.
        if let index = self.endpoints[slot].subscriptions.firstIndex(where: { $0.connection == connection }) {
            self.endpoints[slot].subscriptions[index].flags = flags
        } else {
            self.endpoints[slot].subscriptions.append(Subscription(connection: connection, flags: flags))
        }
        self.connections[connection]?.subscribed.insert(target)
        self.updatePromiscuous(slot)
        return Message(.subscribed, endpointID: target, flags: message.header.flags, json: EmptyReply())
    }

    private mutating func updatePromiscuous(_ slot: Int) {
        let isPromiscuous = self.endpoints[slot].hasPromiscuousSubscription
        let index = self.promiscuousSlots.firstIndex(of: slot)
        if isPromiscuous, index == nil {
            self.promiscuousSlots.append(slot)
        } else if !isPromiscuous, let index {
            self.promiscuousSlots.remove(at: index)
        }
    }

    private static func decode<Body: Decodable>(_ type: Body.Type, _ message: Message) throws(Rejection) -> Body {
        do {
            return try ControlJSON.decode(type, from: message.payload)
        } catch {
            throw Rejection(.badPayload, "\(message.header.type): \(error.description)")
        }
    }

    // MARK: - Switching

    /// Why a PACKET_OUT that missed the hot path is refused, or its sender's slot.
    private func checkPacketOut(_ message: Message, from connection: ConnectionID) throws(Rejection) -> Int {
        let id = message.header.endpointID
        guard let slot = self.endpoints.slot(of: id) else {
            throw Rejection(.unknownEndpoint, "PACKET_OUT from unknown endpoint \(id)")
        }
        guard self.endpoints[slot].owner == connection else {
            throw Rejection(.notOwner, "endpoint \(id) belongs to another connection")
        }
        let length = message.payload.readableBytes
        guard length >= ProtocolLimits.minimumFrameLength else {
            throw Rejection(.frameTooShort, "frame too short: \(length) bytes (minimum \(ProtocolLimits.minimumFrameLength))")
        }
        guard length <= ProtocolLimits.maximumFrameLength else {
            throw Rejection(.frameTooLong, "frame too long: \(length) bytes (maximum \(ProtocolLimits.maximumFrameLength))")
        }
        return slot
    }

    /// Switches a PACKET_OUT with these header fields and `frame` when it switches as it is
    /// (version 1, a frame within the limits, from an endpoint `connection` owns): learns,
    /// routes, passes each delivery to `deliver` in delivery order and returns the route. nil
    /// (nothing done) when `handle` must answer it instead (ERROR). The read loop calls this
    /// for a frame where it lies in the read buffer, without decoding a `Message`.
    ///
    /// Mutating on purpose, as `handle` is: a call through a non-mutating method would copy
    /// the whole core (every table retained and released) per frame.
    @inline(__always)
    public mutating func switchPacketOut(
        version: UInt16,
        endpointID: EndpointID,
        frame: UnsafeRawBufferPointer,
        from connection: ConnectionID,
        deliver: (Delivery) -> Void
    ) -> Route? {
        guard version == ProtocolLimits.version,
              frame.count >= ProtocolLimits.minimumFrameLength, frame.count <= ProtocolLimits.maximumFrameLength,
              let slot = self.endpoints.slot(of: endpointID), self.endpoints[slot].owner == connection
        else { return nil }
        return self.switchFrame(frame, from: slot, deliver: deliver)
    }

    /// Learns, routes and delivers one frame (the caller checked it holds 14 bytes).
    @inline(__always)
    private mutating func switchFrame(_ frame: UnsafeRawBufferPointer, from sender: Int, deliver: (Delivery) -> Void) -> Route {
        let dst0 = UInt32(bigEndian: frame.loadUnaligned(fromByteOffset: 0, as: UInt32.self))
        let dst1 = UInt16(bigEndian: frame.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        let src0 = UInt32(bigEndian: frame.loadUnaligned(fromByteOffset: 6, as: UInt32.self))
        let src1 = UInt16(bigEndian: frame.loadUnaligned(fromByteOffset: 10, as: UInt16.self))
        let destination = MACAddress(rawValue: UInt64(dst0) << 16 | UInt64(dst1))
        let source = MACAddress(rawValue: UInt64(src0) << 16 | UInt64(src1))
        let route = self.route(from: sender, destination: destination, source: source)
        self.forEachDelivery(of: route, deliver)
        switch route {
        case .flood(let from):
            return .flood(from: self.endpoints[from].id)
        case .unicast(let from, let to):
            return .unicast(from: self.endpoints[from].id, to: self.endpoints[to].id)
        }
    }

    /// Learning and forwarding for one frame (IEEE 802.1D style, without ageing).
    @inline(__always)
    private mutating func route(from sender: Int, destination: MACAddress, source: MACAddress) -> SlotRoute {
        self.statistics.framesSwitched &+= 1
        if source != self.endpoints[sender].mac, !source.isGroup {
            if let owner = self.endpoints.slot(forMAC: source) {
                self.macConflict(source, sender: sender, owner: owner)
            } else if let known = self.learnedMACs.value(for: source.rawValue) {
                if known != sender {
                    self.learnedMACs.insert(source.rawValue, sender)
                }
            } else if self.learnedMACs.count < Self.maximumLearnedMACs {
                self.learnedMACs.insert(source.rawValue, sender)
            } else {
                self.statistics.learningTableFull &+= 1
            }
        }
        if !destination.isGroup, let to = self.endpoints.slot(forMAC: destination) ?? self.learnedMACs.value(for: destination.rawValue) {
            return .unicast(from: sender, to: to)
        }
        self.statistics.framesFlooded &+= 1
        return .flood(from: sender)
    }

    /// The rare path of `route`: a frame from one endpoint with another's own MAC as source.
    private mutating func macConflict(_ mac: MACAddress, sender: Int, owner: Int) {
        self.statistics.macConflicts &+= 1
        if self.firstMACConflict == nil {
            self.firstMACConflict = (mac, self.endpoints[sender].name, self.endpoints[owner].name)
        }
    }

    /// Calls `body` for each PACKET_IN a route produces, in a fixed order: a flood in endpoint
    /// creation order; a unicast to its destination, then to promiscuous subscribers of other
    /// endpoints (none of them sent it). One copy per subscription.
    @inline(__always)
    private func forEachDelivery(of route: SlotRoute, _ body: (Delivery) -> Void) {
        // Loops here go by index: a `for in` iterator holds (retains) its array across every
        // call of `body`, a retain and a release per frame on the switching path.
        switch route {
        case .flood(let sender):
            // Promiscuous subscribers are among "every endpoint but the sender" already.
            let fromUplink = self.hasUplinks && self.endpoints[sender].isUplink
            var index = 0
            while index < self.endpoints.creationOrder.count {
                let slot = self.endpoints.creationOrder[index]
                if slot != sender, !(fromUplink && self.endpoints[slot].isUplink) {
                    self.deliver(to: slot, promiscuousOnly: false, body)
                }
                index += 1
            }
        case .unicast(let sender, let destination):
            let fromUplink = self.hasUplinks && self.endpoints[sender].isUplink
            if destination != sender, !(fromUplink && self.endpoints[destination].isUplink) {
                self.deliver(to: destination, promiscuousOnly: false, body)
            }
            var index = 0
            while index < self.promiscuousSlots.count {
                let slot = self.promiscuousSlots[index]
                if slot != sender, slot != destination, !(fromUplink && self.endpoints[slot].isUplink) {
                    self.deliver(to: slot, promiscuousOnly: true, body)
                }
                index += 1
            }
        }
    }

    /// Makes endpoint `id` an uplink (split horizon between uplinks); false when it does not exist.
    @discardableResult
    public mutating func markUplink(_ id: EndpointID) -> Bool {
        guard let slot = self.endpoints.slot(of: id) else { return false }
        self.endpoints[slot].isUplink = true
        self.hasUplinks = true
        return true
    }

    @inline(__always)
    private func deliver(to slot: Int, promiscuousOnly: Bool, _ body: (Delivery) -> Void) {
        let id = self.endpoints[slot].id
        var index = 0
        while index < self.endpoints[slot].subscriptions.count {
            let subscription = self.endpoints[slot].subscriptions[index]
            if !promiscuousOnly || subscription.flags.contains(.promiscuous) {
                body(Delivery(connection: subscription.connection, endpoint: id, flags: subscription.flags))
            }
            index += 1
        }
    }

    // MARK: - Queries

    /// The PACKET_IN deliveries a frame sent to endpoint `id` makes: one per subscription
    /// (for rules that mirror or redirect to it). Empty for an endpoint that does not exist.
    public func deliveries(to id: EndpointID) -> [Delivery] {
        guard let slot = self.endpoints.slot(of: id) else { return [] }
        var deliveries: [Delivery] = []
        self.deliver(to: slot, promiscuousOnly: false) { deliveries.append($0) }
        return deliveries
    }

    public func endpoint(_ id: EndpointID) -> Endpoint? {
        self.endpoints.slot(of: id).map { self.endpoints[$0] }
    }

    public func endpoint(named name: String) -> Endpoint? {
        self.endpoints.slot(named: name).map { self.endpoints[$0] }
    }

    /// Every live endpoint, in creation order.
    public var allEndpoints: [Endpoint] {
        self.endpoints.creationOrder.map { self.endpoints[$0] }
    }

    /// The endpoint a unicast MAC is switched to: an endpoint's own MAC or one learned from traffic.
    public func endpointID(forMAC mac: MACAddress) -> EndpointID? {
        (self.endpoints.slot(forMAC: mac) ?? self.learnedMACs.value(for: mac.rawValue)).map { self.endpoints[$0].id }
    }

    public var learnedMACCount: Int { self.learnedMACs.count }

    /// The endpoints a connection owns, or nil when it is not open.
    func connectionEndpoints(_ connection: ConnectionID) -> [EndpointID]? {
        self.connections[connection]?.endpoints
    }

    /// Learned MACs and the endpoints they route to.
    func learnedTable() -> [(MACAddress, EndpointID)] {
        self.learnedMACs.pairs.map { (MACAddress(rawValue: $0.key), self.endpoints[$0.value].id) }
    }

    func promiscuousEndpointIDs() -> [EndpointID] {
        self.promiscuousSlots.map { self.endpoints[$0].id }
    }
}
