#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchyardPackets
import SwitchyardWire

/// A connection to a Switchyard fabric: the SDK every Switchyard tool uses.
///
/// Control requests (`createEndpoint`, `lookUp`, `subscribe`) are answered in order; frames
/// delivered to this connection's subscriptions arrive on `frames`. One channel handler reads
/// the socket and sorts the two apart, so a PACKET_IN arriving between a request and its reply
/// is never mistaken for the reply.
public final class FabricClient: Sendable {
    /// Frames delivered to this connection's subscriptions, in arrival order. Iterate it from
    /// one task; it finishes when the connection closes.
    public var frames: ReceivedFrames { ReceivedFrames(queue: self.frameQueue) }

    /// Frames dropped by this client because 65,536 were waiting for the consumer already.
    public var framesDroppedUnread: UInt64 { self.frameQueue.dropped }

    private let frameQueue: FrameQueue

    private let channel: any Channel
    private let replies: ReplyQueue
    private let ownedEndpoints = NIOLockedValueBox<Set<UInt32>>([])
    /// The event loop this connection's socket lives on.
    public var eventLoop: any EventLoop { self.channel.eventLoop }

    /// The WELCOME the fabric answered HELLO with.
    public let welcome: WelcomeReply

    private init(channel: any Channel, replies: ReplyQueue, frames: FrameQueue, welcome: WelcomeReply) {
        self.channel = channel
        self.replies = replies
        self.frameQueue = frames
        self.welcome = welcome
    }

    /// Connects over TCP and says HELLO.
    public static func connect(
        host: String = ProtocolLimits.defaultHost,
        port: Int = ProtocolLimits.defaultPort,
        clientName: String,
        connectTimeout: Duration = .seconds(5),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> FabricClient {
        try await Self.connect(to: .tcp(host: host, port: port), clientName: clientName, connectTimeout: connectTimeout, group: group)
    }

    /// Connects to `address` (TCP or a Unix-domain socket) and says HELLO.
    public static func connect(
        to address: FabricAddress,
        clientName: String,
        connectTimeout: Duration = .seconds(5),
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> FabricClient {
        let replies = ReplyQueue()
        let frames = FrameQueue()
        let bootstrap = ClientBootstrap(group: group)
            .connectTimeout(TimeAmount(connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandlers(
                        ByteToMessageHandler(MessageDecoder()),
                        FabricClientHandler(replies: replies, frames: frames)
                    )
                }
            }
        let channel: any Channel
        do {
            switch address {
            case .tcp(let host, let port):
                channel = try await bootstrap.channelOption(.socketOption(.tcp_nodelay), value: 1).connect(host: host, port: port).get()
            case .unix(let path):
                channel = try await bootstrap.connect(unixDomainSocketPath: path).get()
            }
        } catch {
            throw FabricClientError(.cannotConnect, "cannot reach fabric at \(address): \(Self.describe(error))")
        }
        do {
            let reply = try await Self.send(Message(.hello, json: HelloRequest(clientName: clientName)), on: channel, replies: replies)
            let welcome = try Self.decode(WelcomeReply.self, reply, expecting: .welcome)
            return FabricClient(channel: channel, replies: replies, frames: frames, welcome: welcome)
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// Creates an endpoint owned by this connection; without `mac` the fabric allocates one.
    public func createEndpoint(name: String, mac: MACAddress? = nil) async throws -> EndpointRecord {
        let reply = try await self.request(Message(.endpointCreate, json: EndpointCreateRequest(name: name, mac: mac?.description)))
        let record = try Self.decode(EndpointRecord.self, reply, expecting: .endpointCreated)
        self.ownedEndpoints.withLockedValue { _ = $0.insert(record.endpointID) }
        return record
    }

    /// Looks an endpoint up by name; a fabric ERROR (`.fabricError`) means it does not exist.
    public func lookUp(name: String) async throws -> EndpointRecord {
        let reply = try await self.request(Message(.endpointLookup, json: EndpointLookupRequest(name: name)))
        return try Self.decode(EndpointRecord.self, reply, expecting: .endpointInfo)
    }

    /// Looks up `name` every `interval` until it exists or `timeout` passes (services may
    /// start after their clients).
    public func lookUp(name: String, retryingFor timeout: Duration, every interval: Duration = .milliseconds(200)) async throws -> EndpointRecord {
        try await self.lookUp(name: name, retryingFor: timeout, every: interval, clock: ContinuousClock())
    }

    /// `lookUp(name:retryingFor:every:)` on the clock that paces the retries.
    public func lookUp<C: Clock>(name: String, retryingFor timeout: Duration, every interval: Duration, clock: C) async throws -> EndpointRecord
    where C.Duration == Duration {
        let deadline = clock.now.advanced(by: timeout)
        while true {
            do {
                return try await self.lookUp(name: name)
            } catch let error as FabricClientError where error.code == .fabricError {
                if clock.now.advanced(by: interval) > deadline {
                    throw FabricClientError(.timeout, "endpoint \"\(name)\" not found within \(timeout.secondsDescription) s")
                }
                try await clock.sleep(for: interval)
            }
        }
    }

    /// Subscribes this connection to an endpoint's frames (every switched frame if `promiscuous`).
    public func subscribe(endpointID: UInt32, promiscuous: Bool = false) async throws {
        let flags: MessageFlags = promiscuous ? .promiscuous : []
        let reply = try await self.request(
            Message(.subscribe, endpointID: endpointID, flags: flags, json: SubscribeRequest(endpointID: endpointID, promisc: promiscuous))
        )
        _ = try Self.decode(EmptyReply.self, reply, expecting: .subscribed)
    }

    /// The fabric's counters (STATS_REQUEST, a Switchyard extension to v1).
    public func statistics() async throws -> StatsReply {
        let reply = try await self.request(Message(.statsRequest, json: EmptyReply()))
        return try Self.decode(StatsReply.self, reply, expecting: .stats)
    }

    /// RULES_REQUEST: lists, adds, deletes or clears the fabric's rules (an extension of
    /// switchyardd); a refused rule is a `.fabricError` with the fabric's reason.
    public func rules(_ request: RulesRequest) async throws -> RulesReply {
        let reply = try await self.request(Message(.rulesRequest, json: request))
        return try Self.decode(RulesReply.self, reply, expecting: .rules)
    }

    /// Sends a frame from one of this connection's endpoints (PACKET_OUT). Checked locally, so
    /// that the fabric never has an ERROR to send for it.
    public func send(frame: [UInt8], from endpointID: UInt32) throws {
        try self.send(frames: CollectionOfOne(frame), from: endpointID)
    }

    /// Sends several frames in one write: cheaper than one `send` each for bursts.
    public func send<Frames: Collection>(frames: Frames, from endpointID: UInt32) throws where Frames.Element == [UInt8] {
        guard self.ownedEndpoints.withLockedValue({ $0.contains(endpointID) }) else {
            throw FabricClientError(.invalidRequest, "endpoint \(endpointID) was not created by this connection")
        }
        var buffer = ByteBuffer()
        for frame in frames {
            guard frame.count >= ProtocolLimits.minimumFrameLength else {
                throw FabricClientError(.invalidRequest, "frame too short: \(frame.count) bytes (minimum \(ProtocolLimits.minimumFrameLength))")
            }
            guard frame.count <= ProtocolLimits.maximumFrameLength else {
                throw FabricClientError(.invalidRequest, "frame too long: \(frame.count) bytes (maximum \(ProtocolLimits.maximumFrameLength))")
            }
            buffer.writeMessageHeader(MessageHeader(type: .packetOut, endpointID: endpointID), payloadLength: frame.count)
            buffer.writeBytes(frame)
        }
        self.channel.writeAndFlush(buffer, promise: nil)
    }

    /// The next delivered frame, waiting at most `timeout`; nil when none came in time or the
    /// connection closed.
    public func nextFrame(timeout: Duration) async throws -> ReceivedFrame? {
        try await self.frameQueue.next(timeout: timeout, on: self.channel.eventLoop)
    }

    /// True once the connection has closed and every frame delivered before has been taken:
    /// `nextFrame` returns nil at once from then on.
    public var isClosed: Bool { self.frameQueue.isDrained }

    /// A frame that has already arrived, or nil: never waits.
    public func receivedFrame() -> ReceivedFrame? {
        self.frameQueue.tryNext()
    }

    /// Closes the connection; the fabric removes this connection's endpoints.
    public func close() async {
        try? await self.channel.close()
    }

    // MARK: - Plumbing

    private func request(_ message: Message) async throws -> Message {
        try await Self.send(message, on: self.channel, replies: self.replies)
    }

    private static func send(_ message: Message, on channel: any Channel, replies: ReplyQueue) async throws -> Message {
        try await replies.request(message) { message in
            var buffer = channel.allocator.buffer(capacity: message.wireLength)
            buffer.writeMessage(message)
            channel.writeAndFlush(buffer, promise: nil)
        }
    }

    private static func decode<Body: Decodable>(_ type: Body.Type, _ reply: Message, expecting: MessageType) throws -> Body {
        if reply.header.type == .error {
            let error = try? ControlJSON.decode(ErrorReply.self, from: reply.payload)
            throw FabricClientError(.fabricError, error?.error ?? "(unreadable ERROR payload)", fabricCode: error?.code)
        }
        guard reply.header.type == expecting else {
            throw FabricClientError(.protocolViolation, "expected \(expecting), got \(reply.header.type)")
        }
        do {
            return try ControlJSON.decode(type, from: reply.payload)
        } catch {
            throw FabricClientError(.protocolViolation, "\(expecting) payload: \(error)")
        }
    }

    /// The reason a connection failed, as one short phrase ("Connection refused").
    private static func describe(_ error: any Error) -> String {
        if let error = error as? NIOConnectionError, let first = error.connectionErrors.first {
            return Self.describe(first.error)
        }
        if let error = error as? IOError {
            return String(cString: strerror(error.errnoCode))
        }
        return "\(error)"
    }
}
