import NIOCore
import SwitchyardWire

/// The connection's one reader: PACKET_IN goes to the frame stream, every other message
/// answers the oldest outstanding request.
final class FabricClientHandler: ChannelInboundHandler {
    typealias InboundIn = Message

    private let replies: ReplyQueue
    private let frames: FrameQueue

    init(replies: ReplyQueue, frames: FrameQueue) {
        self.replies = replies
        self.frames = frames
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = self.unwrapInboundIn(data)
        if message.header.type == .packetIn {
            self.frames.push(
                ReceivedFrame(
                    endpointID: message.header.endpointID,
                    flags: message.header.flags,
                    bytes: Array(message.payload.readableBytesView)
                )
            )
        } else {
            self.replies.deliver(message)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.replies.close(FabricClientError(.connectionClosed, "the fabric closed the connection"))
        self.frames.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: FabricClientError =
            if let framing = error as? FramingError {
                FabricClientError(.protocolViolation, "fabric broke v1 framing: \(framing)")
            } else {
                FabricClientError(.connectionClosed, "connection to the fabric failed: \(error)")
            }
        self.replies.close(reason)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension FabricClientHandler: Sendable {}
