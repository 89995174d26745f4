import NIOCore
import SwitchyardFabric
import SwitchyardPackets
import SwitchyardWire
import Testing

@Suite struct EndpointTests {
    @Test func freshFabricCountsIDsAndMACsFromOne() {
        var fabric = CoreHarness()
        let c = fabric.connect()
        let first = fabric.create("a", on: c)
        let second = fabric.create("b", on: c)
        #expect(first == EndpointRecord(endpointID: 1, name: "a", mac: "02:53:59:00:00:01"))
        #expect(second == EndpointRecord(endpointID: 2, name: "b", mac: "02:53:59:00:00:02"))
    }

    @Test func allocationSkipsMACsTakenExplicitlyAndIDsAreNeverReused() {
        var fabric = CoreHarness()
        let c1 = fabric.connect()
        let explicit = fabric.create("x", mac: "02:53:59:00:00:01", on: c1)
        let allocated = fabric.create("y", on: c1)
        #expect(allocated.mac == "02:53:59:00:00:02")
        fabric.core.connectionClosed(c1)
        let c2 = fabric.connect()
        let later = fabric.create("x", on: c2)
        #expect(later.endpointID == 3, "ids count on after endpoints are removed")
        #expect(later.mac == "02:53:59:00:00:03", "the counter does not go back")
        #expect(explicit.endpointID == 1)
    }

    @Test func macTextIsAcceptedInEitherCaseAndAnsweredLowerCase() {
        var fabric = CoreHarness()
        let c = fabric.connect()
        #expect(fabric.create("m", mac: "02:AB:CD:EF:00:01", on: c).mac == "02:ab:cd:ef:00:01")
    }

    @Test(arguments: [
        (EndpointCreateRequest(name: "dup"), "endpoint name already exists: dup"),
        (EndpointCreateRequest(name: "other", mac: "02:53:59:00:00:01"), "mac already in use: 02:53:59:00:00:01"),
        (EndpointCreateRequest(name: "bad", mac: "02:53:59:00:00"), #"invalid mac "02:53:59:00:00" (want six hex pairs with colons)"#),
        (EndpointCreateRequest(name: "bcast", mac: "ff:ff:ff:ff:ff:ff"), "mac ff:ff:ff:ff:ff:ff is a group (multicast/broadcast) address"),
        (EndpointCreateRequest(name: "mcast", mac: "01:00:5e:00:00:01"), "mac 01:00:5e:00:00:01 is a group (multicast/broadcast) address"),
        (EndpointCreateRequest(name: ""), #"ENDPOINT_CREATE needs a non-empty string "name""#),
        (EndpointCreateRequest(name: String(repeating: "n", count: 256)), "an endpoint name is at most 255 bytes of UTF-8, this one has 256"),
        (EndpointCreateRequest(name: String(repeating: "é", count: 128)), "an endpoint name is at most 255 bytes of UTF-8, this one has 256"),
        (EndpointCreateRequest(name: String(repeating: "x", count: 100_000)), "an endpoint name is at most 255 bytes of UTF-8, this one has 100000"),
    ])
    func badCreatesGetError(request: EndpointCreateRequest, expected: String) {
        var fabric = CoreHarness()
        let c = fabric.connect()
        _ = fabric.create("dup", on: c)
        let reply = fabric.reply(to: Message(.endpointCreate, json: request), from: c)
        #expect(errorText(reply) == expected)
        #expect(fabric.core.allEndpoints.count == 1)
    }

    @Test func aNameOf255BytesIsAcceptedAndTheLongerOnesCarryTheirCode() throws {
        var fabric = CoreHarness()
        let c = fabric.connect()
        #expect(fabric.create(String(repeating: "n", count: 255), on: c).name.utf8.count == 255)
        let reply = fabric.reply(to: Message(.endpointCreate, json: EndpointCreateRequest(name: String(repeating: "n", count: 256))), from: c)
        #expect(try ControlJSON.decode(ErrorReply.self, from: reply.payload).code == "name_too_long")
    }

    @Test func lookupFindsEndpointsOfOtherConnectionsAndErrorsOnUnknownNames() throws {
        var fabric = CoreHarness()
        let owner = fabric.connect()
        let other = fabric.connect()
        let record = fabric.create("svc_echo", on: owner)
        let found = fabric.reply(to: Message(.endpointLookup, json: EndpointLookupRequest(name: "svc_echo")), from: other)
        #expect(found.header == MessageHeader(type: .endpointInfo))
        #expect(try ControlJSON.decode(EndpointRecord.self, from: found.payload) == record)
        let missing = fabric.reply(to: Message(.endpointLookup, json: EndpointLookupRequest(name: "nobody")), from: other)
        #expect(errorText(missing) == "unknown endpoint name: nobody")
    }

    @Test func closingAConnectionRemovesItsEndpointsSubscriptionsAndLearnedMACs() {
        var fabric = CoreHarness()
        let owner = fabric.connect()
        let watcher = fabric.connect()
        let peer = fabric.connect()
        let gone = fabric.attach("gone", mac: "02:00:00:00:00:01", on: owner)
        let other = fabric.attach("other", on: peer)
        fabric.subscribe(watcher, to: other.endpointID)
        let learned = MACAddress("02:00:00:00:99:99")!
        _ = fabric.send(from: gone, to: .broadcast, source: learned, on: owner)
        #expect(fabric.core.endpointID(forMAC: learned) == gone.endpointID)

        let removed = fabric.core.connectionClosed(owner)
        #expect(removed.map(\.name) == ["gone"])
        #expect(fabric.core.endpoint(named: "gone") == nil)
        #expect(fabric.core.endpointID(forMAC: learned) == nil, "learned MACs of removed endpoints are forgotten")
        #expect(fabric.create("gone", mac: "02:00:00:00:00:01", on: peer).name == "gone", "name and MAC reusable")

        fabric.core.connectionClosed(watcher)
        let deliveries = fabric.send(from: other, to: .broadcast, on: peer)
        #expect(!deliveries.contains { $0.connection == watcher }, "a closed connection's subscriptions are gone")
    }
}

@Suite struct ProtocolRuleTests {
    @Test func helloMustComeFirstAndOnlyOnce() {
        var fabric = CoreHarness()
        let c = fabric.openWithoutHello()
        let early = fabric.reply(to: Message(.endpointCreate, json: EndpointCreateRequest(name: "early")), from: c)
        #expect(errorText(early) == "HELLO must be the first message")
        let welcome = fabric.reply(to: Message(.hello, json: HelloRequest(clientName: "x")), from: c)
        #expect(welcome.header == MessageHeader(type: .welcome))
        #expect(String(buffer: welcome.payload) == #"{"server":"switchyardd","version":1}"#)
        let again = fabric.reply(to: Message(.hello, json: HelloRequest(clientName: "x")), from: c)
        #expect(errorText(again) == "duplicate HELLO")
        #expect(fabric.core.endpoint(named: "early") == nil)
    }

    @Test func wrongVersionUnknownTypesAndFabricTypesGetError() {
        var fabric = CoreHarness()
        let c = fabric.connect()
        var wrongVersion = Message(.endpointLookup, json: EndpointLookupRequest(name: "x"))
        wrongVersion.header.version = 2
        #expect(errorText(fabric.reply(to: wrongVersion, from: c)) == "unsupported protocol version 2 (expected 1)")
        #expect(errorText(fabric.reply(to: Message(MessageType(rawValue: 9999)), from: c)) == "unknown message type 9999")
        #expect(errorText(fabric.reply(to: Message(.packetIn), from: c)) == "PACKET_IN (31) is not a client message")
    }

    @Test func badJSONGetsErrorNamingTheMessage() {
        var fabric = CoreHarness()
        let c = fabric.connect()
        let reply = fabric.reply(to: Message(.endpointLookup, payload: ByteBuffer(string: "[1, 2]")), from: c)
        #expect(errorText(reply) == "ENDPOINT_LOOKUP: payload must be a JSON object")
    }

    @Test func subscribeTargetsHeaderOrJSONEndpointAndEchoesFlags() throws {
        var fabric = CoreHarness()
        let c = fabric.connect()
        let e = fabric.create("e", on: c)
        let viaJSON = fabric.reply(to: Message(.subscribe, json: SubscribeRequest(endpointID: e.endpointID, promisc: false)), from: c)
        #expect(viaJSON.header == MessageHeader(type: .subscribed, endpointID: e.endpointID))
        let viaHeader = fabric.reply(to: Message(.subscribe, endpointID: e.endpointID, flags: .promiscuous, json: EmptyReply()), from: c)
        #expect(viaHeader.header == MessageHeader(type: .subscribed, endpointID: e.endpointID, flags: .promiscuous))
        let differ = fabric.reply(to: Message(.subscribe, endpointID: e.endpointID, json: SubscribeRequest(endpointID: 99, promisc: false)), from: c)
        #expect(errorText(differ) == "endpoint_id differs: header \(e.endpointID), JSON 99")
        let unknown = fabric.reply(to: Message(.subscribe, endpointID: 42, json: EmptyReply()), from: c)
        #expect(errorText(unknown) == "SUBSCRIBE to unknown endpoint 42")
        #expect(fabric.core.endpoint(e.endpointID)?.subscriptions == [Subscription(connection: c, flags: .promiscuous)], "re-subscribing replaces flags")
    }

    @Test func packetOutIsCheckedForOwnershipEndpointAndLength() {
        var fabric = CoreHarness()
        let owner = fabric.connect()
        let mallory = fabric.connect()
        let a = fabric.attach("a", on: owner)
        let spoof = fabric.handle(Message(.packetOut, endpointID: a.endpointID, payload: CoreHarness.frame(to: .broadcast, from: MACAddress(a.mac)!)), from: mallory)
        #expect(spoof.1.isEmpty)
        #expect(spoof.0 == .rejected(Rejection(.notOwner, "endpoint \(a.endpointID) belongs to another connection")))
        let unknown = fabric.handle(Message(.packetOut, endpointID: 77, payload: CoreHarness.frame(to: .broadcast, from: .zero)), from: owner)
        #expect(unknown.0 == .rejected(Rejection(.unknownEndpoint, "PACKET_OUT from unknown endpoint 77")))
        let short = fabric.handle(Message(.packetOut, endpointID: a.endpointID, payload: ByteBuffer(bytes: [UInt8](repeating: 0xFF, count: 13))), from: owner)
        #expect(short.0 == .rejected(Rejection(.frameTooShort, "frame too short: 13 bytes (minimum 14)")))
        #expect(fabric.core.statistics.framesRejected == 3)
        #expect(fabric.core.statistics.framesSwitched == 0)
    }
}

@Suite struct SwitchingTests {
    /// Three endpoints on three connections plus one connection with two endpoints.
    struct Topology {
        var fabric = CoreHarness()
        var ca, cb, cxy: ConnectionID
        var a, b, x, y: EndpointRecord

        init() {
            self.ca = self.fabric.connect()
            self.cb = self.fabric.connect()
            self.cxy = self.fabric.connect()
            self.a = self.fabric.attach("a", on: self.ca)
            self.b = self.fabric.attach("b", on: self.cb)
            self.x = self.fabric.attach("x", on: self.cxy)
            self.y = self.fabric.attach("y", on: self.cxy)
        }
    }

    @Test func broadcastFloodsEveryEndpointButTheSenderInCreationOrder() {
        var t = Topology()
        let deliveries = t.fabric.send(from: t.x, to: .broadcast, on: t.cxy)
        #expect(deliveries == [Delivery(t.ca, t.a), Delivery(t.cb, t.b), Delivery(t.cxy, t.y)])
        #expect(t.fabric.core.statistics.framesFlooded == 1)
    }

    @Test func multicastAndUnknownUnicastFlood() {
        var t = Topology()
        let flood = [Delivery(t.cb, t.b), Delivery(t.cxy, t.x), Delivery(t.cxy, t.y)]
        #expect(t.fabric.send(from: t.a, to: MACAddress("01:00:5e:00:00:fb")!, on: t.ca) == flood)
        #expect(t.fabric.send(from: t.a, to: MACAddress("06:00:00:00:00:42")!, on: t.ca) == flood)
    }

    @Test func knownUnicastGoesOnlyToItsEndpoint() {
        var t = Topology()
        #expect(t.fabric.send(from: t.a, to: MACAddress(t.b.mac)!, on: t.ca) == [Delivery(t.cb, t.b)])
    }

    @Test func sourceMACsAreLearnedLastSenderWins() {
        var t = Topology()
        let roaming = MACAddress("02:aa:00:00:00:01")!
        _ = t.fabric.send(from: t.a, to: .broadcast, source: roaming, on: t.ca)
        #expect(t.fabric.send(from: t.b, to: roaming, on: t.cb) == [Delivery(t.ca, t.a)])
        _ = t.fabric.send(from: t.x, to: .broadcast, source: roaming, on: t.cxy)
        #expect(t.fabric.send(from: t.b, to: roaming, on: t.cb) == [Delivery(t.cxy, t.x)])
    }

    @Test func endpointMACsAreNeverRelearned() {
        var t = Topology()
        _ = t.fabric.send(from: t.a, to: .broadcast, source: MACAddress(t.b.mac)!, on: t.ca)
        #expect(t.fabric.send(from: t.x, to: MACAddress(t.b.mac)!, on: t.cxy) == [Delivery(t.cb, t.b)])
    }

    /// A frame whose source is another endpoint's own MAC (two fabrics allocating from one
    /// range) is counted as a conflict, still switched, and the first one is kept for the log.
    @Test func aSourceMACOfAnotherEndpointIsAConflict() {
        var t = Topology()
        #expect(t.fabric.core.statistics.macConflicts == 0 && t.fabric.core.firstMACConflict == nil)
        let delivered = t.fabric.send(from: t.a, to: .broadcast, source: MACAddress(t.b.mac)!, on: t.ca)
        #expect(!delivered.isEmpty, "still switched")
        _ = t.fabric.send(from: t.x, to: .broadcast, source: MACAddress(t.b.mac)!, on: t.cxy)
        #expect(t.fabric.core.statistics.macConflicts == 2)
        let first = t.fabric.core.firstMACConflict
        #expect(first?.mac == MACAddress(t.b.mac)! && first?.sender == t.a.name && first?.owner == t.b.name)
        _ = t.fabric.send(from: t.a, to: .broadcast, source: MACAddress("02:00:00:00:77:77")!, on: t.ca)
        _ = t.fabric.send(from: t.a, to: .broadcast, on: t.ca)
        #expect(t.fabric.core.statistics.macConflicts == 2, "a learned MAC and the sender's own are none")
    }

    @Test func groupSourceMACsAreNotLearned() {
        var t = Topology()
        _ = t.fabric.send(from: t.a, to: .broadcast, source: MACAddress("03:00:00:00:00:01")!, on: t.ca)
        #expect(t.fabric.core.learnedMACCount == 0)
    }

    @Test func unicastToTheSendersOwnMACIsNotSentBack() {
        var t = Topology()
        #expect(t.fabric.send(from: t.a, to: MACAddress(t.a.mac)!, on: t.ca).isEmpty)
    }

    @Test func everySubscriberOfTheDestinationGetsACopy() {
        var t = Topology()
        t.fabric.subscribe(t.ca, to: t.b.endpointID)
        t.fabric.subscribe(t.cxy, to: t.b.endpointID)
        #expect(t.fabric.send(from: t.a, to: MACAddress(t.b.mac)!, on: t.ca) == [Delivery(t.cb, t.b), Delivery(t.ca, t.b), Delivery(t.cxy, t.b)])
    }

    @Test func promiscuousSubscribersSeeEveryFrameButTheirOwnOnce() {
        var t = Topology()
        let cp = t.fabric.connect()
        let p = t.fabric.attach("p", on: cp, promiscuous: true)
        let promisc = Delivery(cp, p, .promiscuous)
        #expect(t.fabric.send(from: t.a, to: MACAddress(t.b.mac)!, on: t.ca) == [Delivery(t.cb, t.b), promisc])
        #expect(t.fabric.send(from: t.a, to: .broadcast, on: t.ca).filter { $0.connection == cp } == [promisc], "one copy of a flood")
        #expect(t.fabric.send(from: t.a, to: MACAddress(p.mac)!, on: t.ca) == [promisc], "no second copy when p is the destination")
        #expect(t.fabric.send(from: t.a, to: MACAddress(t.a.mac)!, on: t.ca) == [promisc], "frames to the sender itself are seen")
        #expect(t.fabric.send(from: p, to: MACAddress(t.a.mac)!, on: cp) == [Delivery(t.ca, t.a)], "p's own frames are not copied back")
    }

    @Test func aNonPromiscuousSubscriptionOfAPromiscuousEndpointGetsOnlyItsOwnFrames() {
        var t = Topology()
        let cp = t.fabric.connect()
        let p = t.fabric.attach("p", on: cp, promiscuous: true)
        t.fabric.subscribe(t.cb, to: p.endpointID)
        #expect(t.fabric.send(from: t.a, to: MACAddress(t.x.mac)!, on: t.ca) == [Delivery(t.cxy, t.x), Delivery(cp, p, .promiscuous)])
    }

    @Test func learningTableIsBounded() {
        var t = Topology()
        for value in 0...UInt64(FabricCore.maximumLearnedMACs) {
            _ = t.fabric.core.handle(
                Message(.packetOut, endpointID: t.a.endpointID, payload: CoreHarness.frame(to: MACAddress(t.b.mac)!, from: MACAddress(rawValue: 0x0A00_0000_0000 | value))),
                from: t.ca
            ) { _ in }
        }
        #expect(t.fabric.core.learnedMACCount == FabricCore.maximumLearnedMACs)
        #expect(t.fabric.core.statistics.learningTableFull == 1)
    }

    @Test func sameInputsGiveTheSameOutputs() {
        func run() -> [[Delivery]] {
            var t = Topology()
            var log: [[Delivery]] = []
            for round in 0..<50 {
                let destination = round % 3 == 0 ? MACAddress.broadcast : MACAddress(rawValue: 0x0253_5900_0000 | UInt64(round % 5))
                log.append(t.fabric.send(from: [t.a, t.b, t.x][round % 3], to: destination, on: [t.ca, t.cb, t.cxy][round % 3]))
            }
            return log
        }
        #expect(run() == run())
    }
}

@Suite struct LimitTests {
    @Test func framesPastTheMaximumGetError() {
        var fabric = CoreHarness()
        let c = fabric.connect()
        let a = fabric.attach("a", on: c)
        let big = CoreHarness.frame(to: .broadcast, from: MACAddress(a.mac)!, length: ProtocolLimits.maximumFrameLength + 1)
        let (outcome, deliveries) = fabric.handle(Message(.packetOut, endpointID: a.endpointID, payload: big), from: c)
        #expect(outcome == .rejected(Rejection(.frameTooLong, "frame too long: 65550 bytes (maximum 65549)")))
        #expect(deliveries.isEmpty)
        let largest = CoreHarness.frame(to: .broadcast, from: MACAddress(a.mac)!, length: ProtocolLimits.maximumFrameLength)
        guard case .switched = fabric.handle(Message(.packetOut, endpointID: a.endpointID, payload: largest), from: c).0 else {
            Issue.record("the largest allowed frame was refused")
            return
        }
    }

    @Test func endpointsPerConnectionAreCapped() {
        var fabric = CoreHarness()
        fabric.core = FabricCore(maximumEndpointsPerConnection: 2)
        let c = fabric.connect()
        _ = fabric.create("one", on: c)
        _ = fabric.create("two", on: c)
        let third = fabric.reply(to: Message(.endpointCreate, json: EndpointCreateRequest(name: "three")), from: c)
        #expect(errorText(third) == "this connection already owns 2 endpoints, the fabric's limit per connection")
        let other = fabric.connect()
        #expect(fabric.create("three", on: other).name == "three", "the limit is per connection")
    }
}

/// ERROR carries a stable code beside its text (JSON "code"), for programs; v1 clients ignore it.
@Test func rejectionsCarryAStableCodeOnTheWire() throws {
    var fabric = CoreHarness()
    let c = fabric.connect()
    _ = fabric.create("a", mac: "02:00:00:00:00:01", on: c)
    let reply = fabric.reply(to: Message(.endpointCreate, json: EndpointCreateRequest(name: "b", mac: "02:00:00:00:00:01")), from: c)
    let error = try ControlJSON.decode(ErrorReply.self, from: reply.payload)
    #expect(error == ErrorReply(error: "mac already in use: 02:00:00:00:00:01", code: "mac_in_use"))
    let name = fabric.reply(to: Message(.endpointCreate, json: EndpointCreateRequest(name: "a", mac: nil)), from: c)
    #expect(try ControlJSON.decode(ErrorReply.self, from: name.payload).code == "name_in_use")
}

/// The fabric's own endpoints (a QEMU port's VM, a VXLAN remote) are made with the typed calls,
/// under the same rules as ENDPOINT_CREATE, and receive frames like any subscriber's.
@Test func theFabricsOwnEndpointsAreMadeWithTypedCalls() throws {
    var fabric = CoreHarness()
    let port = fabric.openWithoutHello()
    fabric.core.welcome(port)
    let vm = try fabric.core.createEndpoint(name: "vm0", mac: MACAddress("52:54:00:12:34:56"), owner: port)
    #expect(vm.mac == MACAddress("52:54:00:12:34:56") && vm.owner == port)
    #expect(throws: Rejection.self) { try fabric.core.createEndpoint(name: "vm1", mac: MACAddress.broadcast, owner: port) }
    #expect(throws: Rejection.self) { try fabric.core.createEndpoint(name: "vm0", mac: nil, owner: port) }
    let allocated = try fabric.core.createEndpoint(name: "vm1", mac: nil, owner: port)
    #expect(allocated.mac.description.hasPrefix("02:53:59:"))
    #expect(fabric.core.subscribe(port, to: vm.id) && !fabric.core.subscribe(port, to: 999))

    let client = fabric.connect()
    let sender = fabric.attach("cli", on: client)
    let deliveries = fabric.send(from: sender, to: vm.mac, on: client)
    #expect(deliveries.map(\.connection) == [port] && deliveries.map(\.endpoint) == [vm.id])
}
