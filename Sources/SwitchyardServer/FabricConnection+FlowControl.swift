import NIOCore
import SwitchyardBase
import SwitchyardFabric

/// Carries out what this connection's `ConnectionFlowControl` decides: holds and releases
/// senders, runs the stall timer on the event loop, logs, and pauses or resumes reading.
extension FabricConnection {
    /// The event loop's clock as flow control's instant (an `EmbeddedEventLoop`'s own time in
    /// tests).
    var now: MonotonicInstant {
        MonotonicInstant(nanoseconds: Int64(truncatingIfNeeded: self.engine.eventLoop.now.uptimeNanoseconds))
    }

    func perform(_ actions: [ConnectionFlowControl.Action]) {
        for action in actions {
            switch action {
            case .hold(let sender):
                self.engine.registry[sender]?.heldByDestination()
            case .release(let senders):
                for sender in senders {
                    self.engine.registry[sender]?.releasedByDestination()
                }
            case .scheduleStallCheck(let deadline):
                self.stallTimer?.cancel()
                let connection = NIOLoopBound(self, eventLoop: self.engine.eventLoop)
                self.stallTimer = self.engine.eventLoop.scheduleTask(in: self.now.duration(to: deadline).timeAmount) {
                    connection.value.stallTimerFired()
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
                // Reading is the channel's: in phase 1 it is decided in phase 2.
                self.engine.reconsiderReading(of: self)
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
    func hold(_ sender: ConnectionID) {
        self.perform(self.flow.queuedOverCap(from: sender, now: self.now))
    }

    func writabilityChanged(_ writable: Bool) {
        self.perform(self.flow.writabilityChanged(writable, now: self.now))
    }

    /// Applies flow control's reading decision to the channel (never in phase 1).
    func updateReading() {
        self.engine.assertNotSwitching("a change of reading")
        guard case .open = self.state, let context = self.context else { return }
        let budgetPaused = self.engine.registry.budget.pausesReading(inboundBytes: self.inboundBytes, isWritable: self.flow.isWritable)
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
