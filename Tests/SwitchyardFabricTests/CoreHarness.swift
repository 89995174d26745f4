import NIOCore
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardWire
import Testing

/// Drives a `FabricCore` the way the server does, without sockets.
struct CoreHarness {
    var core = FabricCore()
    private var nextConnection: UInt64 = 1

    /// A connection that has said HELLO.
    mutating func connect() -> ConnectionID {
        let connection = self.openWithoutHello()
        let reply = self.reply(to: Message(.hello, json: HelloRequest(clientName: "test")), from: connection)
        #expect(reply.header.type == .welcome)
        return connection
    }

    mutating func openWithoutHello() -> ConnectionID {
        let connection = ConnectionID(rawValue: self.nextConnection)
        self.nextConnection += 1
        self.core.connectionOpened(connection)
        return connection
    }

    /// Handles a message and returns its reply; fails the test if it was switched instead.
    mutating func reply(to message: Message, from connection: ConnectionID) -> Message {
        let (outcome, deliveries) = self.handle(message, from: connection)
        #expect(deliveries.isEmpty)
        guard let reply = outcome.replyMessage else {
            Issue.record("expected a reply, got \(outcome)")
            return Message(.error)
        }
        return reply
    }

    mutating func handle(_ message: Message, from connection: ConnectionID) -> (FabricCore.Outcome, [Delivery]) {
        var deliveries: [Delivery] = []
        let outcome = self.core.handle(message, from: connection) { deliveries.append($0) }
        return (outcome, deliveries)
    }

    mutating func create(_ name: String, mac: String? = nil, on connection: ConnectionID) -> EndpointRecord {
        let reply = self.reply(to: Message(.endpointCreate, json: EndpointCreateRequest(name: name, mac: mac)), from: connection)
        #expect(reply.header.type == .endpointCreated, "\(String(buffer: reply.payload))")
        return (try? ControlJSON.decode(EndpointRecord.self, from: reply.payload)) ?? EndpointRecord(endpointID: 0, name: "", mac: "")
    }

    /// Creates an endpoint and subscribes its own connection to it.
    mutating func attach(_ name: String, mac: String? = nil, on connection: ConnectionID, promiscuous: Bool = false) -> EndpointRecord {
        let record = self.create(name, mac: mac, on: connection)
        self.subscribe(connection, to: record.endpointID, promiscuous: promiscuous)
        return record
    }

    mutating func subscribe(_ connection: ConnectionID, to id: UInt32, promiscuous: Bool = false) {
        let flags: MessageFlags = promiscuous ? .promiscuous : []
        let reply = self.reply(
            to: Message(.subscribe, endpointID: id, flags: flags, json: SubscribeRequest(endpointID: id, promisc: promiscuous)),
            from: connection
        )
        #expect(reply.header.type == .subscribed)
    }

    /// Sends a frame from `sender` and returns where it went.
    mutating func send(from sender: EndpointRecord, to destination: MACAddress, source: MACAddress? = nil, on connection: ConnectionID) -> [Delivery] {
        let frame = Self.frame(to: destination, from: source ?? MACAddress(sender.mac)!)
        let (outcome, deliveries) = self.handle(Message(.packetOut, endpointID: sender.endpointID, payload: frame), from: connection)
        if let reply = outcome.replyMessage {
            Issue.record("frame refused: \(String(buffer: reply.payload))")
        }
        return deliveries
    }

    static func frame(to destination: MACAddress, from source: MACAddress, length: Int = 60) -> ByteBuffer {
        var frame = ByteBuffer(bytes: destination.bytes + source.bytes + [0x88, 0xB5])
        frame.writeRepeatingByte(0xAB, count: length - 14)
        return frame
    }
}

/// The ERROR text of a reply, or nil if it is not ERROR.
func errorText(_ message: Message) -> String? {
    guard message.header.type == .error else { return nil }
    #expect(message.header.endpointID == 0 && message.header.flags == [], "ERROR carries endpoint_id 0 and flags 0")
    return try? ControlJSON.decode(ErrorReply.self, from: message.payload).error
}

extension Delivery {
    init(_ connection: ConnectionID, _ endpoint: EndpointRecord, _ flags: MessageFlags = []) {
        self.init(connection: connection, endpoint: endpoint.endpointID, flags: flags)
    }
}
