import NIOCore
import SwitchyardFabric

/// Carries out what this connection's `ConnectionFlowControl` decides: holds and releases
/// senders, runs the stall timer on the event loop, logs, and pauses or resumes reading.
extension FabricConnectionHandler {
    /// The event loop's clock as flow control's instant (an `EmbeddedEventLoop`'s own time in
    /// tests).
    var now: MonotonicInstant {
        MonotonicInstant(nanoseconds: Int64(truncatingIfNeeded: self.engine.eventLoop.now.uptimeNanoseconds))
    }

    func perform(_ actions: [ConnectionFlowControl.Action]) {
        for action in actions {
            switch action {
            case .hold(let sender):
                self.engine.handler(for: sender)?.heldByDestination()
            case .release(let senders):
                for sender in senders {
                    self.engine.handler(for: sender)?.releasedByDestination()
                }
            case .scheduleStallCheck(let deadline):
                self.stallTimer?.cancel()
                let handler = NIOLoopBound(self, eventLoop: self.engine.eventLoop)
                self.stallTimer = self.engine.eventLoop.scheduleTask(in: self.now.duration(to: deadline).timeAmount) {
                    handler.value.stallTimerFired()
                }
            case .cancelStallCheck:
                self.stallTimer?.cancel()
                self.stallTimer = nil
            case .declaredStalled:
                self.engine.logger.notice(
                    "connection stopped reading: dropping frames to it until it drains",
                    metadata: ["connection": "\(self.id.rawValue)"]
                )
            case .drainedAfterStall(let dropped):
                self.engine.logger.info("connection draining again", metadata: ["connection": "\(self.id.rawValue)", "dropped": "\(dropped)"])
            case .reconsiderReading:
                self.updateReading()
            }
        }
    }

    private func heldByDestination() {
        self.perform(self.flow.heldByDestination())
    }

    private func releasedByDestination() {
        self.perform(self.flow.releasedByDestination())
    }

    private func stallTimerFired() {
        self.stallTimer = nil
        guard case .open = self.state else { return }
        self.perform(self.flow.stallCheckDue(now: self.now))
    }

    /// Makes `sender` wait for this connection to drain (a frame from it went past the cap).
    func hold(_ sender: FabricConnectionHandler) {
        self.perform(self.flow.queuedOverCap(from: sender.id, now: self.now))
    }

    /// Applies flow control's reading decision to the channel.
    func updateReading() {
        guard case .open = self.state, let context = self.context else { return }
        let budgetPaused = self.engine.budget.pausesReading(inboundBytes: self.inboundBytes, isWritable: self.flow.isWritable)
        guard let read = self.flow.readingDecision(captureBlocked: self.engine.isCaptureBlocked, budgetPaused: budgetPaused) else { return }
        context.channel.setOption(ChannelOptions.autoRead, value: read).whenComplete { _ in }
        if read {
            context.read()
        }
    }
}

extension Duration {
    /// The same span for NIO's timers (negative spans fire at once).
    var timeAmount: TimeAmount {
        TimeAmount(self)
    }
}
