import NIOCore
import SwitchyardBase
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardRules
import SwitchyardServer
import SwitchyardWire

/// Arbitrary sequences of messages from four connections, opening and closing, into the
/// FabricCore, frames arriving as v1 PACKET_OUT or through a QEMU stream, a QEMU datagram or a
/// VXLAN datagram (each transport's decoder turns them into the PACKET_OUT the core gets),
/// with the rule engine deciding every delivery as the fabric does; the core's
/// invariants are checked after every step, and the rules' decisions and counters too: no
/// delivery to a dead endpoint, copies 1 or 2, delays bounded, counters that add up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    var input = Array(UnsafeBufferPointer(start: data, count: size))[...]
    var core = FabricCore(maximumEndpointsPerConnection: 8)
    var open: Set<UInt64> = []
    // Rules naming endpoints that come and go, every kind of action among them.
    var rules = RuleSet(seed: UInt64(size))
    for text in ["from e1 to e2 loss 50%", "to e3 delay 10ms jitter 5ms duplicate 20%", "from e4 corrupt 30%", "to e5 rate 1kbit", "match udp reorder 10% 5ms", "to e6 drop"] {
        _ = try? rules.add(RuleParser.parse(text)!)
    }
    var frameNumber: UInt64 = 0
    // A few MACs to draw from, so that frames hit endpoints, learned MACs and floods.
    let macs = [MACAddress.broadcast, MACAddress(rawValue: 0x0253_5900_0001), MACAddress(rawValue: 0x0253_5900_0002),
                MACAddress(rawValue: 0x0253_5900_0003), MACAddress(rawValue: 0x0600_0000_0042), MACAddress(rawValue: 0x0100_5E00_0001)]

    func next() -> UInt8? { input.popFirst() }

    while let op = next(), let selector = next() {
        let connection = ConnectionID(rawValue: UInt64(selector % 4) + 1)
        let endpointID = UInt32(next() ?? 0) % 12
        switch op % 9 {
        case 0:
            if !open.contains(connection.rawValue) {
                core.connectionOpened(connection)
                open.insert(connection.rawValue)
            }
        case 1:
            for endpoint in core.connectionClosed(connection) {
                rules.endpointGone(id: endpoint.id)
            }
            open.remove(connection.rawValue)
        default:
            guard open.contains(connection.rawValue) else { continue }
            let message: Message
            switch op % 9 {
            case 2:
                message = Message(.hello, json: HelloRequest(clientName: "fuzz"))
            case 3:
                let useMAC = (next() ?? 0) % 3 == 0
                message = Message(.endpointCreate, json: EndpointCreateRequest(name: "e\(endpointID)", mac: useMAC ? macs[Int(endpointID) % macs.count].description : nil))
            case 4:
                message = Message(.endpointLookup, json: EndpointLookupRequest(name: "e\(endpointID)"))
            case 5:
                let promiscuous = (next() ?? 0) & 1 == 1
                message = Message(.subscribe, endpointID: endpointID, flags: promiscuous ? .promiscuous : [], json: SubscribeRequest(endpointID: nil, promisc: promiscuous))
            case 6, 7:
                let destination = macs[Int(next() ?? 0) % macs.count]
                let source = (next() ?? 0) % 2 == 0 ? macs[Int(endpointID) % macs.count] : MACAddress(rawValue: 0x0A00_0000_0000 | UInt64(next() ?? 0))
                var frame = ByteBuffer(bytes: destination.bytes + source.bytes + [0x88, 0xB5])
                frame.writeBytes(input.prefix(Int(next() ?? 0) % 32))
                // The transport it came by: v1 as is, or through that transport's decoder.
                switch (next() ?? 0) % 3 {
                case 1:
                    var stream = ByteBuffer()
                    QEMUStreamFraming.write(frame, to: &stream)
                    guard case .frame(let decoded)? = try? QEMUStreamFraming.decode(&stream) else {
                        preconditionFailure("a QEMU-framed Ethernet frame decodes to itself")
                    }
                    frame = decoded
                case 2:
                    var datagram = ByteBuffer()
                    VXLANHeader.encapsulate(frame, vni: 42, into: &datagram)
                    guard case .success(let decoded) = VXLANHeader.decapsulate(datagram, vni: 42) else {
                        preconditionFailure("an encapsulated frame decapsulates")
                    }
                    frame = decoded
                default:
                    break
                }
                message = Message(.packetOut, endpointID: endpointID, payload: frame)
            default:
                // Raw garbage with any type and version.
                let type = MessageType(rawValue: UInt16(next() ?? 0))
                var header = MessageHeader(type: type, endpointID: endpointID)
                header.version = UInt16(next() ?? 1) % 3
                message = Message(header: header, payload: ByteBuffer(bytes: input.prefix(Int(next() ?? 0) % 16)))
            }
            var deliveries: [Delivery] = []
            let outcome = core.handle(message, from: connection) { deliveries.append($0) }
            frameNumber &+= 1
            for delivery in deliveries {
                precondition(open.contains(delivery.connection.rawValue), "delivery to a closed connection")
                precondition(core.endpoint(delivery.endpoint) != nil, "delivery for an endpoint that does not exist")
                let now = MonotonicInstant(nanoseconds: Int64(frameNumber) * 1_000_000)
                let verdict = message.payload.withUnsafeReadableBytes { bytes in
                    rules.verdict(sender: message.header.endpointID, destination: delivery.endpoint, frame: bytes, frameNumber: frameNumber, now: now)
                }
                if case .decided(let decision) = verdict {
                    precondition(decision.copies == 1 || decision.copies == 2)
                    precondition(decision.delay >= .zero && decision.delay <= .seconds(3600), "a delay is bounded: \(decision.delay)")
                    for target in decision.mirrors + [decision.redirect].compactMap({ $0 }) {
                        precondition(core.endpoint(target) != nil, "a mirror or redirect to an endpoint that does not exist")
                    }
                }
            }
            if case .endpointCreated(let endpoint) = outcome {
                rules.endpointAppeared(id: endpoint.id, name: endpoint.name)
            }
            if let reply = outcome.replyMessage {
                precondition(reply.header.version == 1)
            }
        }
        let problems = core.invariantViolations()
        precondition(problems.isEmpty, "FabricCore invariants broken: \(problems)")
        for entry in rules.entries {
            let c = entry.counters
            precondition(c.dropped <= c.matched && c.duplicated <= c.matched && c.delayed <= c.matched && c.corrupted <= c.matched, "rule counters add up: \(c)")
        }
    }
    return 0
}
