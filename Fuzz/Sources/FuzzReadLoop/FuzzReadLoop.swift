import Logging
import NIOCore
import NIOEmbedded
import SwitchyardFabric
import SwitchyardWire

@testable import SwitchyardServer

/// The fabric's read loop (PACKET_OUTs switched where they lie in the read buffer, the rest
/// decoded) against a plain model of it: every message decoded alone and handed to a
/// `FabricCore`. The input's first byte seeds where the stream is cut into reads; the rest is
/// what a client sends after HELLO and making endpoint 2 (its receiver is endpoint 1, MAC
/// 02:00:00:00:00:01, on another connection). The receiver must get exactly the frames the
/// model delivers to it, in the same order, and the sender the same replies, up to the first
/// framing error (after which both stop).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size > 0 else { return 0 }
    let cuts = UInt64(data[0]) | 1
    let stream = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))

    // The fabric.
    let loop = EmbeddedEventLoop()
    var logger = Logger(label: "fuzz")
    logger.logLevel = .critical
    let engine = FabricEngine(eventLoop: loop, configuration: ServerConfiguration(), capture: nil, logger: logger)
    func connect() -> EmbeddedChannel {
        let channel = EmbeddedChannel(handler: FabricConnectionHandler(engine: engine, allocator: ByteBufferAllocator()), loop: loop)
        _ = try! channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }
    func send(_ messages: [Message], on channel: EmbeddedChannel) {
        var buffer = ByteBuffer()
        for message in messages {
            buffer.writeMessage(message)
        }
        try! channel.writeInbound(buffer)
        channel.pipeline.fireChannelReadComplete()
    }
    func drain(_ channel: EmbeddedChannel) -> [Message] {
        var messages: [Message] = []
        while var buffer = try! channel.readOutbound(as: ByteBuffer.self) {
            while let message = try! MessageDecoder.decodeMessage(from: &buffer) {
                messages.append(message)
            }
        }
        return messages
    }
    let setupReceiver = [
        Message(.hello, json: HelloRequest(clientName: "receiver")),
        Message(.endpointCreate, json: EndpointCreateRequest(name: "b", mac: "02:00:00:00:00:01")),
        Message(.subscribe, endpointID: 1, json: SubscribeRequest(endpointID: 1, promisc: false)),
    ]
    let setupSender = [
        Message(.hello, json: HelloRequest(clientName: "sender")),
        Message(.endpointCreate, json: EndpointCreateRequest(name: "a", mac: "02:00:00:00:00:02")),
    ]
    let receiver = connect()
    send(setupReceiver, on: receiver)
    let sender = connect()
    send(setupSender, on: sender)
    _ = drain(receiver)
    _ = drain(sender)

    // The model: the same setup, then each message decoded alone.
    var core = FabricCore()
    let (receiverID, senderID) = (ConnectionID(rawValue: 1), ConnectionID(rawValue: 2))
    core.connectionOpened(receiverID)
    core.connectionOpened(senderID)
    for message in setupReceiver {
        _ = core.handle(message, from: receiverID) { _ in }
    }
    for message in setupSender {
        _ = core.handle(message, from: senderID) { _ in }
    }
    var expectedFrames: [[UInt8]] = []
    /// nil: RULES or ERROR (the engine, not the core, judges a RULES_REQUEST's payload).
    var expectedReplies: [UInt16?] = []
    var modelStream = ByteBuffer(bytes: stream)
    modelLoop: while true {
        do {
            guard let message = try MessageDecoder.decodeMessage(from: &modelStream) else { break }
            let outcome = core.handle(message, from: senderID) { delivery in
                if delivery.connection == receiverID {
                    expectedFrames.append(Array(message.payload.readableBytesView))
                }
            }
            if let reply = outcome.replyMessage {
                expectedReplies.append(reply.header.type.rawValue)
            } else if case .statisticsRequested = outcome {
                expectedReplies.append(MessageType.stats.rawValue)
            } else if case .rulesRequested = outcome {
                expectedReplies.append(nil)
            }
        } catch {
            expectedReplies.append(MessageType.error.rawValue)
            break modelLoop
        }
    }

    // The fabric, fed the stream in reads cut at pseudo-random points.
    var state = cuts
    var input = ByteBuffer(bytes: stream)
    var frames: [[UInt8]] = []
    var replies: [UInt16] = []
    while input.readableBytes > 0 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        let piece = input.readSlice(length: min(input.readableBytes, 1 + Int((state >> 33) % 700)))!
        if sender.isActive {
            try? sender.writeInbound(piece)
            sender.pipeline.fireChannelReadComplete()
        }
        for message in drain(receiver) {
            precondition(message.header.type == .packetIn && message.header.endpointID == 1, "the receiver gets PACKET_IN for b only")
            frames.append(Array(message.payload.readableBytesView))
        }
        replies += drain(sender).map(\.header.type.rawValue)
    }
    precondition(frames == expectedFrames, "the read loop delivers what decoding each message alone delivers: \(frames.count) against \(expectedFrames.count)")
    let sameReplies = replies.count == expectedReplies.count && zip(replies, expectedReplies).allSatisfy { reply, expected in
        expected.map { $0 == reply } ?? (reply == MessageType.rules.rawValue || reply == MessageType.error.rawValue)
    }
    precondition(sameReplies, "and answers the same: \(replies) against \(expectedReplies)")
    _ = try? sender.finish()
    _ = try? receiver.finish()
    return 0
}
