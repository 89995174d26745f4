import Logging
import NIOCore
import NIOEmbedded
import SwitchyardFabric
import SwitchyardRules
import SwitchyardWire
import Testing

@testable import SwitchyardServer

/// `FabricConnectionHandler`, `FabricConnection` and `FabricEngine` in memory: connections are `EmbeddedChannel`s on
/// one `EmbeddedEventLoop`, writability is set by hand and time is advanced by hand.
@Suite struct ConnectionHandlerTests {
    static let stallTimeout = Duration.milliseconds(200)

    /// One fabric on an embedded loop.
    final class Harness {
        let loop = EmbeddedEventLoop()
        let engine: FabricEngine

        init(queueLimit: Int = 64 * 1024, bufferBudget: Int = 256 * 1024 * 1024, rules: [String] = [], seed: UInt64 = 0) {
            var configuration = ServerConfiguration(outboundQueueLimit: queueLimit, stallTimeout: ConnectionHandlerTests.stallTimeout)
            configuration.bufferBudget = bufferBudget
            configuration.seed = seed
            configuration.rules = rules.compactMap { try? RuleParser.parse($0) }
            var logger = Logger(label: "embedded-fabric")
            logger.logLevel = .critical
            self.engine = FabricEngine(eventLoop: self.loop, configuration: configuration, capture: nil, logger: logger)
        }

        /// A connected client: its channel and the fabric's connection for it, HELLO done.
        func connect(_ name: String) throws -> (EmbeddedChannel, FabricConnection) {
            let handler = FabricConnectionHandler(engine: self.engine, allocator: ByteBufferAllocator())
            let channel = EmbeddedChannel(handler: handler, loop: self.loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
            try self.send([Message(.hello, json: HelloRequest(clientName: name))], on: channel)
            _ = try self.received(on: channel)
            return (channel, handler.connection)
        }

        func send(_ messages: [Message], on channel: EmbeddedChannel) throws {
            var buffer = ByteBuffer()
            for message in messages {
                buffer.writeMessage(message)
            }
            try channel.writeInbound(buffer)
            channel.pipeline.fireChannelReadComplete()
        }

        /// Every message the fabric wrote to this channel so far.
        func received(on channel: EmbeddedChannel) throws -> [Message] {
            var messages: [Message] = []
            while var buffer = try channel.readOutbound(as: ByteBuffer.self) {
                while let message = try MessageDecoder.decodeMessage(from: &buffer) {
                    messages.append(message)
                }
            }
            return messages
        }

        /// Creates an endpoint with `mac` on `channel`, subscribed when asked; returns its id.
        func endpoint(_ name: String, mac: String, on channel: EmbeddedChannel, subscribe: Bool) throws -> UInt32 {
            try self.send([Message(.endpointCreate, json: EndpointCreateRequest(name: name, mac: mac))], on: channel)
            let created = try self.received(on: channel).last
            let record = try ControlJSON.decode(EndpointRecord.self, from: created!.payload)
            if subscribe {
                try self.send([Message(.subscribe, endpointID: record.endpointID, json: SubscribeRequest(endpointID: record.endpointID, promisc: false))], on: channel)
                _ = try self.received(on: channel)
            }
            return record.endpointID
        }

        func setWritable(_ writable: Bool, _ channel: EmbeddedChannel) {
            channel.isWritable = writable
            channel.pipeline.fireChannelWritabilityChanged()
        }
    }

    static func frame(to destination: String, from source: String) -> Message {
        let bytes = MACAddressText.bytes(destination) + MACAddressText.bytes(source) + [0x88, 0xB5, 1, 2, 3, 4]
        return Message(.packetOut, payload: ByteBuffer(bytes: bytes))
    }

    /// The read loop switches PACKET_OUTs where they lie in the read buffer and hands
    /// everything else to the decoder: one read mixing both must come out exactly as if each
    /// message had been decoded alone, in order, with the same ERRORs.
    @Test func aReadMixingFramesControlAndBadMessagesIsAnsweredInOrder() throws {
        let fabric = Harness()
        let (senderChannel, _) = try fabric.connect("sender")
        let (readerChannel, _) = try fabric.connect("reader")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: readerChannel, subscribe: true)
        func frame(_ marker: UInt8, from endpoint: UInt32 = a, version: UInt16 = 1, length: Int = 20) -> Message {
            var bytes = MACAddressText.bytes("02:00:00:00:00:0b") + MACAddressText.bytes("02:00:00:00:00:0a") + [0x88, 0xB5]
            bytes += [UInt8](repeating: marker, count: max(0, length - bytes.count))
            var message = Message(.packetOut, endpointID: endpoint, payload: ByteBuffer(bytes: Array(bytes.prefix(length))))
            message.header.version = version
            return message
        }
        var read = ByteBuffer()
        for message in [
            frame(1), frame(2),
            Message(.endpointLookup, json: EndpointLookupRequest(name: "b")),
            frame(3),
            frame(9, from: 999),
            frame(4),
            frame(9, length: 13),
            frame(9, version: 2),
            frame(5),
        ] {
            read.writeMessage(message)
        }
        // The last frame arrives in two reads.
        var tail = read.readSlice(length: read.readableBytes - 10)!
        try senderChannel.writeInbound(tail)
        senderChannel.pipeline.fireChannelReadComplete()
        let delivered = try fabric.received(on: readerChannel)
        #expect(delivered.map(\.header.type) == [.packetIn, .packetIn, .packetIn, .packetIn])
        #expect(delivered.map { $0.payload.getInteger(at: $0.payload.readerIndex + 14, as: UInt8.self) } == [1, 2, 3, 4])
        let replies = try fabric.received(on: senderChannel)
        #expect(replies.map(\.header.type) == [.endpointInfo, .error, .error, .error])
        let errors = replies.dropFirst().map { String(buffer: $0.payload) }
        try #require(errors.count == 3)
        #expect(errors[0].contains("unknown endpoint 999"))
        #expect(errors[1].contains("too short"))
        #expect(errors[2].contains("version 2"))

        tail = read
        try senderChannel.writeInbound(tail)
        senderChannel.pipeline.fireChannelReadComplete()
        let last = try fabric.received(on: readerChannel)
        #expect(last.map { $0.payload.getInteger(at: $0.payload.readerIndex + 14, as: UInt8.self) } == [5])
        #expect(fabric.engine.statistics().framesRejected == 3)
        #expect(fabric.engine.statistics().framesSwitched == 5)
    }

    /// The in-place read loop against reads cut anywhere: 600 messages (frames of every size
    /// from 14 bytes, with lookups between them) arrive in pieces of 1 to 300 bytes; every frame
    /// comes out once, in order, and every lookup is answered in order.
    @Test func framesCutAcrossReadsAnywhereComeOutWholeAndInOrder() throws {
        let fabric = Harness()
        let (senderChannel, _) = try fabric.connect("sender")
        let (readerChannel, _) = try fabric.connect("reader")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: readerChannel, subscribe: true)
        var numbers = SeededNumbers(seed: 0x1234_5678)
        func next(_ bound: Int) -> Int { numbers.next(bound) }
        var stream = ByteBuffer()
        var frames: [[UInt8]] = []
        var lookups = 0
        for index in 0..<600 {
            if index % 7 == 3 {
                stream.writeMessage(Message(.endpointLookup, json: EndpointLookupRequest(name: "b")))
                lookups += 1
                continue
            }
            let header = MACAddressText.bytes("02:00:00:00:00:0b") + MACAddressText.bytes("02:00:00:00:00:0a") + [0x88, 0xB5]
            let frame = header + (0..<next(187)).map { _ in UInt8(next(256)) }
            frames.append(frame)
            stream.writeMessage(Message(.packetOut, endpointID: a, payload: ByteBuffer(bytes: frame)))
        }
        var delivered: [[UInt8]] = []
        var replies: [Message] = []
        while stream.readableBytes > 0 {
            let piece = stream.readSlice(length: min(stream.readableBytes, 1 + next(300)))!
            try senderChannel.writeInbound(piece)
            senderChannel.pipeline.fireChannelReadComplete()
            delivered += try fabric.received(on: readerChannel).map { Array(buffer: $0.payload) }
            replies += try fabric.received(on: senderChannel)
        }
        #expect(delivered.count == frames.count)
        #expect(delivered == frames, "the same bytes, in order")
        #expect(replies.map(\.header.type) == Array(repeating: .endpointInfo, count: lookups))
    }

    /// The same for a QEMU stream port: frames (a refused empty one among them) cut anywhere
    /// across reads come out whole and in order, and the VM's first frame makes its endpoint.
    @Test func qemuFramesCutAcrossReadsAnywhereComeOutWholeAndInOrder() throws {
        let fabric = Harness()
        let (readerChannel, _) = try fabric.connect("reader")
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: readerChannel, subscribe: true)
        let port = QEMUPort(name: "vm", address: .tcp(host: "127.0.0.1", port: 1))
        let handler = FabricConnectionHandler(engine: fabric.engine, allocator: ByteBufferAllocator(), transport: QEMUStreamTransport(port: port))
        let vm = EmbeddedChannel(handler: handler, loop: fabric.loop)
        try vm.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        var numbers = SeededNumbers(seed: 0xC0FFEE)
        func next(_ bound: Int) -> Int { numbers.next(bound) }
        var stream = ByteBuffer()
        var frames: [[UInt8]] = []
        for index in 0..<400 {
            if index == 200 {
                stream.writeInteger(UInt32(0))
                continue
            }
            let frame = MACAddressText.bytes("02:00:00:00:00:0b") + MACAddressText.bytes("02:00:00:00:00:0e") + [0x88, 0xB5]
                + (0..<next(1500)).map { _ in UInt8(next(256)) }
            frames.append(frame)
            stream.writeInteger(UInt32(frame.count))
            stream.writeBytes(frame)
        }
        var delivered: [[UInt8]] = []
        while stream.readableBytes > 0 {
            let piece = stream.readSlice(length: min(stream.readableBytes, 1 + next(3000)))!
            try vm.writeInbound(piece)
            vm.pipeline.fireChannelReadComplete()
            delivered += try fabric.received(on: readerChannel).map { Array(buffer: $0.payload) }
        }
        #expect(delivered.count == frames.count)
        #expect(delivered == frames, "the same bytes, in order")
        #expect(fabric.engine.statistics().qemuFramesRefused == 1, "the empty frame")
        #expect(fabric.engine.pipeline.core.endpoint(named: "vm")?.mac.description == "02:00:00:00:00:0e")
    }

    /// Garbage after good frames: the frames before it are switched, the connection gets an
    /// ERROR and is closed, and the fabric goes on serving the others.
    @Test func garbageAfterFramesEndsOnlyThatConnection() throws {
        let fabric = Harness()
        let (senderChannel, _) = try fabric.connect("sender")
        let (readerChannel, _) = try fabric.connect("reader")
        let (otherChannel, _) = try fabric.connect("other")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        let c = try fabric.endpoint("c", mac: "02:00:00:00:00:0c", on: otherChannel, subscribe: false)
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: readerChannel, subscribe: true)
        var frame = Self.frame(to: "02:00:00:00:00:0b", from: "02:00:00:00:00:0a")
        frame.header.endpointID = a
        var read = ByteBuffer()
        read.writeMessage(frame)
        read.writeMessage(frame)
        // A length no v1 message has (over 16 MiB), then bytes that would be a frame.
        read.writeBytes([0xFF, 0xFF, 0xFF, 0xFF, 0, 1, 0, 30, 0, 0, 0, UInt8(a), 0, 0, 0, 0] + [UInt8](repeating: 0xAB, count: 64))
        try senderChannel.writeInbound(read)
        senderChannel.pipeline.fireChannelReadComplete()
        #expect(try fabric.received(on: readerChannel).count == 2)
        let answer = try fabric.received(on: senderChannel)
        #expect(answer.map(\.header.type) == [.error])
        var other = Self.frame(to: "02:00:00:00:00:0b", from: "02:00:00:00:00:0c")
        other.header.endpointID = c
        try fabric.send([other], on: otherChannel)
        #expect(try fabric.received(on: readerChannel).count == 1, "the fabric serves the others")
    }

    @Test func aSlowReaderHoldsItsSendersUntilItDrains() throws {
        let fabric = Harness()
        let (senderChannel, sender) = try fabric.connect("sender")
        let (readerChannel, reader) = try fabric.connect("reader")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: readerChannel, subscribe: true)

        fabric.setWritable(false, readerChannel)
        var frame = Self.frame(to: "02:00:00:00:00:0b", from: "02:00:00:00:00:0a")
        frame.header.endpointID = a
        try fabric.send([frame], on: senderChannel)
        #expect(sender.flow.isReadingPaused, "the sender waits for the slow reader")
        #expect(reader.flow.heldSenders == [sender.id])
        #expect(try fabric.received(on: readerChannel).count == 1, "the frame was queued, not lost")

        fabric.setWritable(true, readerChannel)
        #expect(!sender.flow.isReadingPaused, "released once the reader drained")
        #expect(reader.framesDropped == 0)
    }

    @Test func aReaderThatDoesNotDrainIsStalledAndItsFramesDroppedAndCounted() throws {
        let fabric = Harness()
        let (senderChannel, sender) = try fabric.connect("sender")
        let (readerChannel, reader) = try fabric.connect("reader")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: readerChannel, subscribe: true)
        var frame = Self.frame(to: "02:00:00:00:00:0b", from: "02:00:00:00:00:0a")
        frame.header.endpointID = a

        fabric.setWritable(false, readerChannel)
        try fabric.send([frame], on: senderChannel)
        fabric.loop.advanceTime(by: .milliseconds(199))
        #expect(!reader.isStalled, "not before the timeout")
        fabric.loop.advanceTime(by: .milliseconds(1))
        #expect(reader.isStalled)
        #expect(!sender.flow.isReadingPaused, "the sender runs at full speed again")

        try fabric.send([frame, frame, frame], on: senderChannel)
        #expect(reader.framesDropped == 3)
        let stats = fabric.engine.statistics()
        #expect(stats.framesDropped == 3)
        #expect(stats.connections.first { $0.id == reader.id.rawValue }?.stalled == true)

        fabric.setWritable(true, readerChannel)
        #expect(!reader.isStalled, "drained: delivering again")
    }

    @Test func aConnectionSubscribedToItselfNeverWaitsOnItself() throws {
        let fabric = Harness()
        let (channel, handler) = try fabric.connect("loner")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: channel, subscribe: false)
        _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: channel, subscribe: true)
        var frame = Self.frame(to: "02:00:00:00:00:0b", from: "02:00:00:00:00:0a")
        frame.header.endpointID = a

        fabric.setWritable(false, channel)
        try fabric.send([frame], on: channel)
        #expect(handler.flow.heldSenders.isEmpty, "it does not hold itself")
        #expect(handler.flow.isReadingPaused, "its output is blocked, so it is not read for now")
        fabric.loop.advanceTime(by: .milliseconds(200))
        #expect(handler.isStalled, "the stall rule applies to it too")
        #expect(!handler.flow.isReadingPaused, "and it is read again")
        try fabric.send([frame, frame], on: channel)
        #expect(handler.framesDropped == 2)
    }

    /// Fails every write and closes its channel there and then, as a socket error does.
    final class FailingWrites: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            promise?.fail(ChannelError.ioOnClosedChannel)
            context.close(promise: nil)
        }
    }

    /// Deliveries use their destination's connection without retaining it, which is safe only
    /// because nothing closes a connection in phase 1. Here the destination's write fails in
    /// phase 2 (its flush), which closes it in the middle of the flushes: the other touched
    /// connections are still flushed (the sender gets its answer), the closed one is removed
    /// after them, the fabric goes on, and the handler is let go.
    @Test func aDestinationClosedByItsOwnWriteInPhaseTwoLeavesTheFabricRunning() throws {
        let fabric = Harness(queueLimit: 64 * 1024 * 1024)
        let (senderChannel, _) = try fabric.connect("sender")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        weak var reader: FabricConnectionHandler<V1Transport>?
        weak var readerConnection: FabricConnection?
        let readerChannel: EmbeddedChannel
        do {
            let (channel, connection) = try fabric.connect("reader")
            _ = try fabric.endpoint("b", mac: "02:00:00:00:00:0b", on: channel, subscribe: true)
            try channel.pipeline.syncOperations.addHandler(FailingWrites(), position: .first)
            reader = try channel.pipeline.syncOperations.handler(type: FabricConnectionHandler<V1Transport>.self)
            readerConnection = connection
            readerChannel = channel
        }
        let frameLength = 1514
        let frames = 300
        var bytes = MACAddressText.bytes("02:00:00:00:00:0b") + MACAddressText.bytes("02:00:00:00:00:0a") + [0x88, 0xB5]
        bytes += [UInt8](repeating: 0x5A, count: frameLength - bytes.count)
        let frame = Message(.packetOut, endpointID: a, payload: ByteBuffer(bytes: bytes))
        // The lookup's reply makes the sender a touched connection flushed after the reader.
        try fabric.send(Array(repeating: frame, count: frames) + [Message(.endpointLookup, json: EndpointLookupRequest(name: "a"))], on: senderChannel)

        #expect(!readerChannel.isActive, "the failed write closed the reader")
        let replies = try fabric.received(on: senderChannel)
        #expect(replies.map(\.header.type) == [.endpointInfo], "the flushes went on after the close")
        let stats = fabric.engine.statistics()
        #expect(stats.framesSwitched == UInt64(frames))
        #expect(stats.framesDelivered == UInt64(frames), "phase 1 queued every frame; the write failed after")
        #expect(stats.connections.count == 1, "only the sender is left")
        #expect(stats.bufferedBytes == 0, "what the reader held left the budget")
        try fabric.send([frame, Message(.endpointLookup, json: EndpointLookupRequest(name: "a"))], on: senderChannel)
        #expect(try fabric.received(on: senderChannel).map(\.header.type) == [.endpointInfo])
        _ = try? readerChannel.finish()
        fabric.loop.run()
        #expect(reader == nil, "the handler is let go")
        #expect(readerConnection == nil, "and its connection")
    }
}

extension ConnectionHandlerTests {
    /// Over the budget the greediest is stopped first: a connection growing a large
    /// half-received message is no longer read, one sending small whole messages still is.
    @Test func theBudgetStopsTheGreediestFirst() throws {
        let fabric = Harness(bufferBudget: 128 * 1024)
        let (greedyChannel, greedy) = try fabric.connect("greedy")
        let (modestChannel, modest) = try fabric.connect("modest")
        // msg_len 16 MiB, then 200 KiB of it: held by the fabric until the rest comes.
        var half = ByteBuffer()
        half.writeInteger(UInt32(16 * 1024 * 1024))
        half.writeInteger(UInt16(1))
        half.writeInteger(MessageType.packetOut.rawValue)
        half.writeInteger(UInt32(1))
        half.writeInteger(UInt32(0))
        half.writeRepeatingByte(0xAB, count: 200 * 1024)
        try greedyChannel.writeInbound(half)
        greedyChannel.pipeline.fireChannelReadComplete()
        #expect(fabric.engine.registry.budget.isOverBudget)
        #expect(greedy.flow.isReadingPaused, "the greedy one is not read further")

        try fabric.send([Message(.endpointLookup, json: EndpointLookupRequest(name: "nobody"))], on: modestChannel)
        #expect(!modest.flow.isReadingPaused, "the modest one goes on")
        #expect(try fabric.received(on: modestChannel).map(\.header.type) == [.error], "and is answered")
    }
}

/// Rules carried out by the engine: per destination on floods, mirror, redirect, delay.
@Suite struct EngineRuleTests {
    typealias Harness = ConnectionHandlerTests.Harness

    /// Endpoints a (sender) and b, c, s, each on its own subscribed connection.
    func lab(_ rules: [String]) throws -> (Harness, EmbeddedChannel, UInt32, [String: EmbeddedChannel]) {
        let fabric = Harness(rules: rules)
        let (senderChannel, _) = try fabric.connect("a")
        let a = try fabric.endpoint("a", mac: "02:00:00:00:00:0a", on: senderChannel, subscribe: false)
        var channels: [String: EmbeddedChannel] = [:]
        for (name, mac) in [("b", "02:00:00:00:00:0b"), ("c", "02:00:00:00:00:0c"), ("s", "02:00:00:00:00:0f")] {
            let (channel, _) = try fabric.connect(name)
            _ = try fabric.endpoint(name, mac: mac, on: channel, subscribe: true)
            channels[name] = channel
        }
        return (fabric, senderChannel, a, channels)
    }

    func frames(_ fabric: Harness, _ channels: [String: EmbeddedChannel]) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for (name, channel) in channels {
            counts[name] = try fabric.received(on: channel).filter { $0.header.type == .packetIn }.count
        }
        return counts
    }

    func send(_ fabric: Harness, _ channel: EmbeddedChannel, from a: UInt32, to destination: String) throws {
        var frame = ConnectionHandlerTests.frame(to: destination, from: "02:00:00:00:00:0a")
        frame.header.endpointID = a
        try fabric.send([frame], on: channel)
    }

    @Test func aFloodIsJudgedPerDestination() throws {
        let (fabric, channel, a, channels) = try self.lab(["to c drop"])
        try self.send(fabric, channel, from: a, to: "ff:ff:ff:ff:ff:ff")
        #expect(try self.frames(fabric, channels) == ["b": 1, "c": 0, "s": 1])
        #expect(fabric.engine.statistics().framesDroppedByRules == 1)
    }

    @Test func mirrorCopiesAndRedirectMoves() throws {
        let (fabric, channel, a, channels) = try self.lab(["to b redirect c", "from a mirror s"])
        try self.send(fabric, channel, from: a, to: "02:00:00:00:00:0b")
        #expect(try self.frames(fabric, channels) == ["b": 0, "c": 1, "s": 0], "rule 1 decides: redirected, not mirrored")
        try self.send(fabric, channel, from: a, to: "02:00:00:00:00:0c")
        #expect(try self.frames(fabric, channels) == ["b": 0, "c": 1, "s": 1], "rule 2: c gets it and s a copy")
    }

    /// An endpoint gets a frame at most once per switching: a flood that matches a mirror rule
    /// on every port mirrors once, and a mirror target that sees the frame anyway (flooded to
    /// it, or promiscuous) gets no second copy. `mirrored` counts the copies delivered.
    @Test func aMirrorDeliversOncePerSwitching() throws {
        let (fabric, channel, a, channels) = try self.lab(["from a mirror s"])
        try self.send(fabric, channel, from: a, to: "ff:ff:ff:ff:ff:ff")
        #expect(try self.frames(fabric, channels) == ["b": 1, "c": 1, "s": 1], "flooded to s already: no copies on top")
        try self.send(fabric, channel, from: a, to: "02:00:00:00:00:0b")
        #expect(try self.frames(fabric, channels) == ["b": 1, "c": 0, "s": 1], "a unicast: s gets its one copy")
        #expect(fabric.engine.statistics().rules!.map(\.mirrored) == [1])
        #expect(fabric.engine.statistics().rules!.map(\.matched) == [4], "matched per delivery: three for the flood, one for the unicast")

        // A promiscuous subscriber that a rule also mirrors to.
        let (sniffer, _) = try fabric.connect("p")
        let p = try fabric.endpoint("p", mac: "02:00:00:00:00:0e", on: sniffer, subscribe: false)
        try fabric.send([Message(.subscribe, endpointID: p, flags: .promiscuous, json: SubscribeRequest(endpointID: p, promisc: true))], on: sniffer)
        _ = try fabric.received(on: sniffer)
        try fabric.send([Message(.rulesRequest, json: RulesRequest(op: "add", rule: "from a mirror p"))], on: channel)
        _ = try fabric.received(on: channel)
        try self.send(fabric, channel, from: a, to: "02:00:00:00:00:0c")
        #expect(try fabric.received(on: sniffer).filter { $0.header.type == .packetIn }.count == 1, "promiscuous, and mirrored: once")
        #expect(try self.frames(fabric, channels) == ["b": 0, "c": 1, "s": 1])
    }

    @Test func aDelayedFrameLeavesAtItsDeadline() throws {
        let (fabric, channel, a, channels) = try self.lab(["to b delay 100ms"])
        try self.send(fabric, channel, from: a, to: "02:00:00:00:00:0b")
        try self.send(fabric, channel, from: a, to: "02:00:00:00:00:0c")
        #expect(try self.frames(fabric, channels) == ["b": 0, "c": 1, "s": 0], "the other path is not held")
        fabric.loop.advanceTime(by: .milliseconds(99))
        #expect(try self.frames(fabric, channels)["b"] == 0)
        fabric.loop.advanceTime(by: .milliseconds(1))
        #expect(try self.frames(fabric, channels)["b"] == 1)
    }

    @Test func framesDelayedAlikeKeepTheirOrder() throws {
        let (fabric, channel, a, channels) = try self.lab(["to b delay 20ms"])
        for index in 0..<50 {
            var frame = Message(.packetOut, endpointID: a, payload: ByteBuffer(bytes: MACAddressText.bytes("02:00:00:00:00:0b") + MACAddressText.bytes("02:00:00:00:00:0a") + [0x88, 0xB5, UInt8(index)]))
            frame.header.endpointID = a
            try fabric.send([frame], on: channel)
        }
        fabric.loop.advanceTime(by: .milliseconds(20))
        let received = try fabric.received(on: channels["b"]!).filter { $0.header.type == .packetIn }
        #expect(received.map { $0.payload.getInteger(at: $0.payload.readerIndex + 14, as: UInt8.self) } == (0..<50).map { UInt8($0) })
    }
}

/// The same pseudo-random numbers every run (a linear congruential generator), for tests that
/// cut streams and size frames "at random" reproducibly.
struct SeededNumbers {
    var state: UInt64

    init(seed: UInt64) {
        self.state = seed
    }

    /// A number in 0..<bound.
    mutating func next(_ bound: Int) -> Int {
        self.state = self.state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int((self.state >> 33) % UInt64(bound))
    }
}

/// MAC text to bytes for test frames.
enum MACAddressText {
    static func bytes(_ text: String) -> [UInt8] {
        text.split(separator: ":").map { UInt8($0, radix: 16)! }
    }
}
