import Logging
import NIOCore
import SwitchyardFabric
import SwitchyardWire

/// Runs the `FabricCore` on the fabric's one event loop and carries out what it decides.
///
/// Every connection handler lives on the same loop, so the core needs no locks and frames are
/// switched in exactly the order they were read. Deliveries are appended to each destination's
/// pending batch; `flushTouched()` writes every touched connection once per read.
final class FabricEngine {
    private var core = FabricCore()
    private var handlers: [ConnectionID: FabricConnectionHandler] = [:]
    private var touched: [FabricConnectionHandler] = []
    private var nextConnection: UInt64 = 1
    let outboundQueueLimit: Int
    let stallTimeout: TimeAmount
    let logger: Logger
    let eventLoop: any EventLoop
    private(set) var framesDelivered: UInt64 = 0
    private(set) var framesDropped: UInt64 = 0

    init(eventLoop: any EventLoop, outboundQueueLimit: Int, stallTimeout: TimeAmount, logger: Logger) {
        self.eventLoop = eventLoop
        self.outboundQueueLimit = outboundQueueLimit
        self.stallTimeout = stallTimeout
        self.logger = logger
        self.touched.reserveCapacity(64)
    }

    var connectionCount: Int { self.handlers.count }

    func register(_ handler: FabricConnectionHandler) -> ConnectionID {
        let id = ConnectionID(rawValue: self.nextConnection)
        self.nextConnection += 1
        self.core.connectionOpened(id)
        self.handlers[id] = handler
        return id
    }

    func unregister(_ id: ConnectionID, drops: UInt64) {
        self.handlers[id] = nil
        let removed = self.core.connectionClosed(id)
        self.logger.debug(
            "connection closed",
            metadata: [
                "connection": "\(id.rawValue)",
                "endpoints": "\(removed.map { "\($0.id) \($0.name)" })",
                "dropped": "\(drops)",
            ]
        )
    }

    /// Handles one decoded message from `handler`'s connection.
    @inline(__always)
    func process(_ message: Message, from handler: FabricConnectionHandler) {
        let frame = message.payload
        let outcome = self.core.handle(message, from: handler.id) { delivery in
            guard let destination = self.handlers[delivery.connection] else { return }
            switch destination.enqueuePacketIn(endpoint: delivery.endpoint, flags: delivery.flags, frame: frame) {
            case .queued:
                self.framesDelivered &+= 1
                self.markTouched(destination)
            case .queuedOverCap:
                self.framesDelivered &+= 1
                self.markTouched(destination)
                destination.hold(handler)
            case .dropped:
                self.framesDropped &+= 1
            }
        }
        if case .reply(let reply) = outcome {
            handler.enqueueReply(reply)
            self.markTouched(handler)
        }
    }

    /// Queues ERROR for a connection whose framing broke.
    func reportFramingError(_ error: FramingError, on handler: FabricConnectionHandler) {
        handler.enqueueReply(FabricCore.errorMessage(error.description))
        self.markTouched(handler)
    }

    @inline(__always)
    private func markTouched(_ handler: FabricConnectionHandler) {
        if !handler.isTouched {
            handler.isTouched = true
            self.touched.append(handler)
        }
    }

    /// One write and flush per connection that got anything during this read.
    func flushTouched() {
        for handler in self.touched {
            handler.isTouched = false
            handler.flushPending()
        }
        self.touched.removeAll(keepingCapacity: true)
    }

    /// Closes every client connection (shutdown); returns when all have closed.
    func closeAllConnections() -> EventLoopFuture<Void> {
        let futures = self.handlers.values.map { $0.close() }
        return EventLoopFuture.andAllComplete(futures, on: self.eventLoop)
    }
}
