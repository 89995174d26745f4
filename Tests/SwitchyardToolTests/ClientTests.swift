import Logging
import NIOCore
import NIOPosix
import SwitchyardClient
import SwitchyardPackets
import SwitchyardServices
import SwitchyardWire
import SwitchyardTestSupport
import Testing

/// The SDK against a real fabric over real sockets.
@Suite(.timeLimit(.minutes(3))) struct ClientTests {
    @Test func controlRequestsAndFabricErrors() async throws {
        try await withInProcessFabric { port in
            let a = try await FabricClient.connect(port: port, clientName: "a")
            let b = try await FabricClient.connect(port: port, clientName: "b")
            #expect(a.welcome == WelcomeReply(server: "switchyardd", version: 1))
            let record = try await a.createEndpoint(name: "svc")
            #expect(record == EndpointRecord(endpointID: 1, name: "svc", mac: "02:53:59:00:00:01"))
            #expect(try await b.lookUp(name: "svc") == record)
            await #expect(throws: FabricClientError(.fabricError, "endpoint name already exists: svc", fabricCode: "name_in_use")) {
                try await b.createEndpoint(name: "svc")
            }
            await #expect(throws: FabricClientError(.fabricError, "unknown endpoint name: nobody", fabricCode: "unknown_endpoint")) {
                try await b.lookUp(name: "nobody")
            }
            #expect(throws: FabricClientError(.invalidRequest, "endpoint 1 was not created by this connection")) {
                try b.send(frame: [UInt8](repeating: 0xFF, count: 14), from: 1)
            }
            #expect(throws: FabricClientError(.invalidRequest, "frame too short: 13 bytes (minimum 14)")) {
                try a.send(frame: [UInt8](repeating: 0xFF, count: 13), from: 1)
            }
            await a.close()
            // The fabric removes a closed connection's endpoints.
            try await eventually("the closed connection's endpoint to go", within: .seconds(15)) { (try? await b.lookUp(name: "svc")) == nil }
            await b.close()
        }
    }

    @Test func framesArriveInOrderBetweenRequestsAndReplies() async throws {
        try await withInProcessFabric { port in
            let sender = try await FabricClient.connect(port: port, clientName: "sender")
            let receiver = try await FabricClient.connect(port: port, clientName: "receiver")
            let s = try await sender.createEndpoint(name: "s")
            let r = try await receiver.createEndpoint(name: "r")
            try await receiver.subscribe(endpointID: r.endpointID)
            let destination = MACAddress(r.mac)!.bytes
            let source = MACAddress(s.mac)!.bytes
            for index in 0..<500 {
                try sender.send(frame: destination + source + [0x88, 0xB5, UInt8(index >> 8), UInt8(index & 0xFF)], from: s.endpointID)
                if index % 50 == 0 {
                    // Replies interleave with PACKET_IN on the receiver's connection.
                    #expect(try await receiver.lookUp(name: "r") == r)
                }
            }
            var received: [Int] = []
            while received.count < 500, let frame = try await receiver.nextFrame(timeout: .seconds(5)) {
                #expect(frame.endpointID == r.endpointID && frame.flags == [])
                received.append(Int(frame.bytes[14]) << 8 | Int(frame.bytes[15]))
            }
            #expect(received == Array(0..<500))
            await sender.close()
            await receiver.close()
        }
    }

    @Test func promiscuousSubscriptionSeesOtherEndpointsTraffic() async throws {
        try await withInProcessFabric { port in
            let client = try await FabricClient.connect(port: port, clientName: "c")
            let sniffer = try await FabricClient.connect(port: port, clientName: "sniffer")
            let a = try await client.createEndpoint(name: "a")
            let b = try await client.createEndpoint(name: "b")
            let p = try await sniffer.createEndpoint(name: "p")
            try await sniffer.subscribe(endpointID: p.endpointID, promiscuous: true)
            let frame = MACAddress(b.mac)!.bytes + MACAddress(a.mac)!.bytes + [0x88, 0xB5, 1, 2, 3]
            try client.send(frame: frame, from: a.endpointID)
            let seen = try await sniffer.nextFrame(timeout: .seconds(5))
            #expect(seen == ReceivedFrame(endpointID: p.endpointID, flags: .promiscuous, bytes: frame))
            await client.close()
            await sniffer.close()
        }
    }

    @Test func echoServiceAndPingClientInProcess() async throws {
        try await withInProcessFabric { port in
            let service = try await FabricClient.connect(port: port, clientName: "echo")
            let pinger = try await FabricClient.connect(port: port, clientName: "ping")
            var logger = Logger(label: "echo")
            logger.logLevel = .warning
            let echoLogger = logger
            let (ready, readySignal) = AsyncStream.makeStream(of: Void.self)
            return try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    try await EchoService().run(on: service, logger: echoLogger) { _ in readySignal.yield() }
                }
                // Ping only once the service has subscribed, as the tools wait for its ready line.
                for await _ in ready { break }
                var ping = PingClient(payload: Array("marco polo".utf8))
                ping.count = 3
                // Generous: it bounds only a failing run, and a loaded CI machine can be slow.
                ping.timeout = .seconds(20)
                var lines: [String] = []
                let report = try await ping.run(on: pinger) { line, _ in lines.append(line) }
                #expect(report.sent == 3 && report.received == 3 && report.roundTrips.count == 3)
                #expect(lines.filter { $0 == "[cli] got reply from 10.0.0.2:7007 b'marco polo'" }.count == 3)
                await service.close()
                await pinger.close()
                group.cancelAll()
            }
        }
    }

    /// A subscriber that never reads costs only itself: after the stall timeout its frames are
    /// dropped, and a reading subscriber of the same sender gets every frame.
    @Test func stalledReaderDoesNotStallOthers() async throws {
        try await withInProcessFabric(queueLimit: 256 * 1024, stallTimeout: .milliseconds(100)) { port in
            let sender = try await FabricClient.connect(port: port, clientName: "sender")
            let fast = try await FabricClient.connect(port: port, clientName: "fast")
            let s = try await sender.createEndpoint(name: "s")
            let f = try await fast.createEndpoint(name: "f")
            try await fast.subscribe(endpointID: f.endpointID)
            let stuck = try await StuckReader.connect(port: port)
            _ = try await sender.lookUp(name: "stuck", retryingFor: .seconds(5), every: .milliseconds(10))
            let stuckMAC = MACAddress(0x02, 0x53, 0x59, 0x80, 0x00, 0x01)
            let source = MACAddress(s.mac)!.bytes
            let big = stuckMAC.bytes + source + [0x88, 0xB5] + [UInt8](repeating: 0x53, count: 1400)
            for round in 0..<2000 {
                // ~2.8 MB at the reader that never reads: far past its queue cap and socket buffers.
                try sender.send(frame: big, from: s.endpointID)
                try sender.send(frame: MACAddress(f.mac)!.bytes + source + [0x88, 0xB5, UInt8(round >> 8), UInt8(round & 0xFF)], from: s.endpointID)
            }
            var count = 0
            while count < 2000, let frame = try await fast.nextFrame(timeout: .seconds(10)) {
                #expect(frame.bytes.count == 16, "only the frames addressed to fast")
                #expect(Int(frame.bytes[14]) << 8 | Int(frame.bytes[15]) == count)
                count += 1
            }
            #expect(count == 2000)
            stuck.close()
            await sender.close()
            await fast.close()
        }
    }
}

/// A raw v1 client that creates an endpoint with MAC 02:53:59:80:00:01, subscribes, reads
/// until the fabric confirms the subscription, then never reads its socket again.
struct StuckReader {
    let channel: any Channel

    /// Reads until SUBSCRIBED, then turns reading off.
    private final class UntilSubscribed: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let subscribed: EventLoopPromise<Void>
        var buffer = ByteBuffer()

        init(subscribed: EventLoopPromise<Void>) {
            self.subscribed = subscribed
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = self.unwrapInboundIn(data)
            self.buffer.writeBuffer(&incoming)
            while let message = try? MessageDecoder.decodeMessage(from: &self.buffer) {
                if message.header.type == .subscribed {
                    context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
                    self.subscribed.succeed()
                }
            }
        }
    }

    static func connect(port: Int) async throws -> StuckReader {
        let group = MultiThreadedEventLoopGroup.singleton
        let subscribed = group.next().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: subscribed.futureResult.eventLoop)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UntilSubscribed(subscribed: subscribed))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var out = ByteBuffer()
        out.writeMessage(Message(.hello, json: HelloRequest(clientName: "stuck")))
        out.writeMessage(Message(.endpointCreate, json: EndpointCreateRequest(name: "stuck", mac: "02:53:59:80:00:01")))
        // The fabric assigns the next id; SUBSCRIBE by name is not in v1, so subscribe to the
        // id the fabric will give: ids are sequential and this test creates s, f, then stuck.
        out.writeMessage(Message(.subscribe, endpointID: 3, json: SubscribeRequest(endpointID: 3, promisc: false)))
        try await channel.writeAndFlush(out)
        try await subscribed.futureResult.get()
        return StuckReader(channel: channel)
    }

    func close() {
        self.channel.close(promise: nil)
    }
}
