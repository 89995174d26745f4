import Foundation
import NIOCore
import NIOPosix
import SwitchyardClient
import SwitchyardPackets
import SwitchyardServer
import SwitchyardWire
import SwitchyardTestSupport
import Testing

/// A raw TCP client that writes whatever bytes a test wants and reads nothing back, or, with
/// `reading`, collects the fabric's messages for `read`.
struct RawConnection {
    let channel: any Channel
    private let collector: NIOLoopBound<Collector>?

    /// Decodes what the fabric sends and hands it to `read`; lives on the channel's loop.
    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var buffer = ByteBuffer()
        private var messages: [Message] = []
        private var waiter: (count: Int, promise: EventLoopPromise<[Message]>)?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = self.unwrapInboundIn(data)
            self.buffer.writeBuffer(&incoming)
            while let message = try? MessageDecoder.decodeMessage(from: &self.buffer) {
                self.messages.append(message)
            }
            self.fulfil()
        }

        func wait(for count: Int, on loop: any EventLoop) -> EventLoopFuture<[Message]> {
            let promise = loop.makePromise(of: [Message].self)
            self.waiter = (count, promise)
            self.fulfil()
            return promise.futureResult
        }

        private func fulfil() {
            guard let waiter = self.waiter, self.messages.count >= waiter.count else { return }
            self.waiter = nil
            waiter.promise.succeed(Array(self.messages.prefix(waiter.count)))
        }
    }

    static func open(port: Int, reading: Bool = false) async throws -> RawConnection {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = reading ? try await loop.submit { NIOLoopBound(Collector(), eventLoop: loop) }.get() : nil
        let channel = try await ClientBootstrap(group: loop)
            .channelOption(.autoRead, value: reading)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let collector {
                        try channel.pipeline.syncOperations.addHandler(collector.value)
                    }
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return RawConnection(channel: channel, collector: collector)
    }

    /// The first `count` messages the fabric sent (a reading connection only).
    func read(_ count: Int) async throws -> [Message] {
        guard let collector = self.collector else { throw TestFailure("this raw connection does not read") }
        let loop = self.channel.eventLoop
        return try await loop.flatSubmit { collector.value.wait(for: count, on: loop) }.get()
    }

    func write(_ messages: [Message]) async throws {
        var buffer = ByteBuffer()
        for message in messages {
            buffer.writeMessage(message)
        }
        try await self.channel.writeAndFlush(buffer)
    }

    func write(bytes: [UInt8]) async throws {
        try await self.channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    func close() async {
        try? await self.channel.close()
    }

    /// HELLO and ENDPOINT_CREATE on a reading connection; the new endpoint's id.
    func createEndpoint(client: String, name: String, mac: String) async throws -> UInt32 {
        try await self.write([
            Message(.hello, json: HelloRequest(clientName: client)),
            Message(.endpointCreate, json: EndpointCreateRequest(name: name, mac: mac)),
        ])
        let replies = try await self.read(2)
        return try ControlJSON.decode(EndpointRecord.self, from: replies[1].payload).endpointID
    }
}

/// Bad and greedy clients: the fabric survives them and the others see no effect.
@Suite(.timeLimit(.minutes(3))) struct HardeningTests {
    /// A ping through the fabric between two fresh clients: the fabric still works for others.
    static func fabricStillServes(port: Int, tag: String) async throws {
        let a = try await FabricClient.connect(port: port, clientName: "a")
        let b = try await FabricClient.connect(port: port, clientName: "b")
        let ea = try await a.createEndpoint(name: "a-\(tag)")
        let eb = try await b.createEndpoint(name: "b-\(tag)")
        try await b.subscribe(endpointID: eb.endpointID)
        let frame = MACAddress(eb.mac)!.bytes + MACAddress(ea.mac)!.bytes + [0x88, 0xB5, 1, 2, 3, 4]
        try a.send(frame: frame, from: ea.endpointID)
        #expect(try await b.nextFrame(timeout: .seconds(5))?.bytes == frame, "a frame crosses the fabric")
        await a.close()
        await b.close()
    }

    /// The fabric itself refuses a frame over the limit (sent raw: the SDK would refuse it
    /// before sending), answers ERROR and keeps the connection.
    @Test func framesLongerThanTheLimitGetErrorFromTheFabric() async throws {
        try await withInProcessFabric { port in
            let raw = try await RawConnection.open(port: port, reading: true)
            let big = MACAddress.broadcast.bytes + [0x02, 0, 0, 0, 0, 0x0B] + [0x88, 0xB5] + [UInt8](repeating: 0xFF, count: 65_550 - 14)
            try await raw.write([
                Message(.hello, json: HelloRequest(clientName: "big")),
                Message(.endpointCreate, json: EndpointCreateRequest(name: "big", mac: "02:00:00:00:00:0b")),
                Message(.packetOut, endpointID: 1, payload: ByteBuffer(bytes: big)),
                Message(.endpointLookup, json: EndpointLookupRequest(name: "big")),
            ])
            let replies = try await raw.read(4)
            #expect(replies.map(\.header.type) == [.welcome, .endpointCreated, .error, .endpointInfo], "ERROR, and the connection still answers")
            let error = try ControlJSON.decode(ErrorReply.self, from: replies[2].payload)
            #expect(error == ErrorReply(error: "frame too long: 65550 bytes (maximum 65549)", code: "frame_too_long"))
            await raw.close()
            try await Self.fabricStillServes(port: port, tag: "long")
        }
    }

    @Test func connectionsPastTheLimitAreRefusedWithError() async throws {
        try await withInProcessFabric(configure: { $0.maximumConnections = 2 }) { port in
            let first = try await FabricClient.connect(port: port, clientName: "1")
            let second = try await FabricClient.connect(port: port, clientName: "2")
            await #expect(throws: FabricClientError(.fabricError, "the fabric serves 2 connections already; try again later")) {
                try await FabricClient.connect(port: port, clientName: "3")
            }
            #expect(try await first.statistics().connections.count == 2)
            await first.close()
            await second.close()
        }
    }

    @Test func halfAMessageThenSilenceOrADisconnectCostsOthersNothing() async throws {
        try await withInProcessFabric { port in
            // Half of a 1000-byte message, then nothing.
            let stalled = try await RawConnection.open(port: port)
            try await stalled.write(bytes: [0, 0, 0x03, 0xE8, 0, 1, 0, 30] + [UInt8](repeating: 0, count: 300))
            // HELLO, an endpoint, then half a frame and gone.
            let quitter = try await RawConnection.open(port: port)
            var partial = ByteBuffer()
            partial.writeMessage(Message(.hello, json: HelloRequest(clientName: "quitter")))
            partial.writeMessage(Message(.endpointCreate, json: EndpointCreateRequest(name: "quitter")))
            try await quitter.channel.writeAndFlush(partial)
            try await quitter.write(bytes: [0, 0, 0x05, 0xDC, 0, 1, 0, 30, 0, 0, 0, 1, 0, 0])
            try await Self.fabricStillServes(port: port, tag: "half")
            await quitter.close()
            let observer = try await FabricClient.connect(port: port, clientName: "observer")
            try await eventually("the quitter's endpoint to go", within: .seconds(15)) { (try? await observer.lookUp(name: "quitter")) == nil }
            await #expect(throws: FabricClientError.self) { try await observer.lookUp(name: "quitter") }
            try await Self.fabricStillServes(port: port, tag: "after")
            await stalled.close()
            await observer.close()
        }
    }

    /// A reader that resets its connection while a flood to it is being switched: the write
    /// that fails closes the connection in the middle of a read's flushes (phase 2). The
    /// daemon, a debug build with its access checks and the two-phase assertions on, must go
    /// on serving; it once trapped there.
    @Test func aReaderResettingUnderAFloodCostsTheFabricNothing() async throws {
        let fabric = try await FabricProcess.ours()
        defer { fabric.process.signal(SIGKILL) }
        let sender = try await RawConnection.open(port: fabric.port, reading: true)
        let from = try await sender.createEndpoint(client: "flood", name: "flood", mac: "02:00:00:00:0f:01")
        var flood = ByteBuffer()
        let frame = MACAddress("02:00:00:00:0f:02")!.bytes + MACAddress("02:00:00:00:0f:01")!.bytes + [0x88, 0xB5]
            + [UInt8](repeating: 0x5A, count: 1500)
        for _ in 0..<2000 {
            flood.writeMessage(Message(.packetOut, endpointID: from, payload: ByteBuffer(bytes: frame)))
        }
        for round in 0..<12 {
            let reader = try await RawConnection.open(port: fabric.port, reading: true)
            let victim = try await reader.createEndpoint(client: "victim", name: "victim-\(round)", mac: "02:00:00:00:0f:02")
            try await reader.write([Message(.subscribe, endpointID: victim, json: SubscribeRequest(endpointID: victim, promisc: false))])
            _ = try await reader.read(3)
            // The flood and the reset race: the fabric writes to the reader after the reset in
            // some rounds, in the middle of a read, which is the case under test.
            sender.channel.writeAndFlush(flood, promise: nil)
            guard let options = reader.channel as? any SocketOptionProvider else { throw TestFailure("no socket options") }
            try await options.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
            await reader.close()
            try await Self.fabricStillServes(port: fabric.port, tag: "reset-\(round)")
            #expect(fabric.process.isRunning, "round \(round): \(fabric.process.stderr)")
        }
        await sender.close()
        #expect(!fabric.process.stderr.contains("Fatal"), "\(fabric.process.stderr)")
        await fabric.process.stop()
    }

    /// Output the socket does not take stays in the budget until the reader drains it, and
    /// then leaves it whole: the fabric learns both without a promise per write.
    /// A lost frame would leave `read` waiting: the time limit turns that into a failure.
    @Test(.timeLimit(.minutes(1))) func aPausedReadersBytesCountUntilItReadsThem() async throws {
        let frames = 12_000
        let queueLimit = 256 * 1024
        try await withInProcessFabric(queueLimit: queueLimit, stallTimeout: .seconds(120)) { port in
            let reader = try await RawConnection.open(port: port, reading: true)
            let victim = try await reader.createEndpoint(client: "paused", name: "paused", mac: "02:00:00:00:0e:02")
            try await reader.write([Message(.subscribe, endpointID: victim, json: SubscribeRequest(endpointID: victim, promisc: false))])
            _ = try await reader.read(3)
            try await reader.channel.setOption(.autoRead, value: false).get()

            let sender = try await RawConnection.open(port: port, reading: true)
            let from = try await sender.createEndpoint(client: "sender", name: "sender", mac: "02:00:00:00:0e:01")
            var flood = ByteBuffer()
            let frame = MACAddress("02:00:00:00:0e:02")!.bytes + MACAddress("02:00:00:00:0e:01")!.bytes + [0x88, 0xB5]
                + [UInt8](repeating: 0x5A, count: 1500)
            for _ in 0..<frames {
                flood.writeMessage(Message(.packetOut, endpointID: from, payload: ByteBuffer(bytes: frame)))
            }
            // 18 MB: more than both kernels' socket buffers take, so the fabric's channel to
            // the reader holds the rest.
            sender.channel.writeAndFlush(flood, promise: nil)

            let client = try await FabricClient.connect(port: port, clientName: "watch")
            // The sender is held once the channel holds its queue limit (it went unwritable);
            // a half-received message or two is all the rest can be.
            var stats = try await eventually("the queue limit counted as buffered") { () -> StatsReply? in
                let stats = try await client.statistics()
                return (stats.bufferedBytes ?? 0) >= queueLimit ? stats : nil
            }
            #expect((stats.bufferedBytes ?? 0) >= queueLimit, "bytes the socket did not take are counted: \(stats.bufferedBytes ?? 0)")

            try await reader.channel.setOption(.autoRead, value: true).get()
            reader.channel.read()
            let received = try await reader.read(3 + frames)
            #expect(received.dropFirst(3).allSatisfy { $0.header.type == .packetIn && $0.payload.readableBytes == frame.count })
            stats = try await eventually("every buffered byte released") { () -> StatsReply? in
                let stats = try await client.statistics()
                return stats.bufferedBytes == 0 ? stats : nil
            }
            #expect(stats.bufferedBytes == 0, "every byte written left the budget")
            #expect(stats.framesDelivered == UInt64(frames))
            await client.close()
            await sender.close()
            await reader.close()
        }
    }

    @Test func halfSentLargeMessagesStopAtTheBufferBudget() async throws {
        let budget = 16 * 1024 * 1024
        try await withInProcessFabric(configure: { $0.bufferBudget = budget }) { port in
            var greedy: [RawConnection] = []
            for _ in 0..<4 {
                // msg_len 16 MiB, then 8 MiB of it: each would hold 8 MiB if read in full.
                let connection = try await RawConnection.open(port: port)
                var header: [UInt8] = [0x01, 0x00, 0x00, 0x00, 0, 1, 0, 30, 0, 0, 0, 1, 0, 0, 0, 0]
                header += [UInt8](repeating: 0xAB, count: 8 * 1024 * 1024)
                connection.channel.writeAndFlush(ByteBuffer(bytes: header), promise: nil)
                greedy.append(connection)
            }
            let client = try await FabricClient.connect(port: port, clientName: "watch")
            try await eventually("the greedy clients to fill the budget", within: .seconds(15), every: .milliseconds(50)) {
                try await client.statistics().bufferedBytes ?? 0 >= budget
            }
            // Frames crossing the fabric take many event-loop turns; a fabric still reading the
            // greedy clients would go on towards their 32 MiB meanwhile.
            try await Self.fabricStillServes(port: port, tag: "budget")
            let stats = try await client.statistics()
            let buffered = try #require(stats.bufferedBytes)
            #expect(buffered >= budget, "the greedy clients did fill the budget")
            // Every connection is paused at the crossing; the read that crossed adds at most
            // one receive buffer (256 KiB), and each other connection at most the read it was
            // in when the budget was crossed.
            #expect(buffered <= budget + 4 * 256 * 1024, "reading stopped at the budget: \(buffered) bytes held, not 32 MiB")
            for connection in greedy {
                await connection.close()
            }
            await client.close()
        }
    }
}
