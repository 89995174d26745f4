import NIOCore

/// Flow control between connections, like 802.3x PAUSE on a real switch.
///
/// A subscriber that reads, but more slowly than its senders send, slows those senders down:
/// when a frame is queued past its cap, each sender of such a frame stops being read (TCP
/// backpressure) until the subscriber's queue drains, so no frame is lost. A subscriber that
/// does not drain within the stall timeout is declared stalled: from then on frames to it are
/// dropped and counted and its senders run at full speed, so a stuck reader costs only itself.
/// It stops being stalled once its queue has drained.
extension FabricConnectionHandler {
    /// Half-received messages larger than this stop being read while the fabric is over budget.
    static let largeMessageThreshold = 64 * 1024

    /// Makes `sender` wait for this connection to drain, and starts the stall clock. A
    /// connection never waits on itself (it would wait forever: it is not read while it
    /// waits), but the stall rule applies to it all the same.
    func hold(_ sender: FabricConnectionHandler) {
        if sender !== self, !self.heldSenders.contains(where: { $0 === sender }) {
            self.heldSenders.append(sender)
            sender.destinationsWaitedOn += 1
            sender.updateReading()
        }
        self.startStallClock()
    }

    /// Starts counting the stall timeout unless it is running already: on a frame queued
    /// over the cap, and when the channel stops being writable (a connection whose own
    /// output backs up is not read, so it would send nothing more to start the clock).
    func startStallClock() {
        if self.stallTimer == nil, let eventLoop = self.context?.eventLoop {
            let timeout = self.engine.stallTimeout
            let handler = NIOLoopBound(self, eventLoop: eventLoop)
            self.stallTimer = eventLoop.scheduleTask(in: timeout) {
                handler.value.stallTimerFired()
            }
        }
    }

    private func stallTimerFired() {
        self.stallTimer = nil
        guard case .open = self.state, !self.isWritable else { return }
        self.isStalled = true
        self.engine.logger.notice(
            "connection stopped reading: dropping frames to it until it drains",
            metadata: ["connection": "\(self.id.rawValue)"]
        )
        self.releaseHeldSenders()
        // A stalled connection is read again: what is sent to it is dropped now.
        self.updateReading()
    }

    /// The queue fell below its low-water mark.
    func drained() {
        self.stallTimer?.cancel()
        self.stallTimer = nil
        if self.isStalled {
            self.isStalled = false
            self.engine.logger.info("connection draining again", metadata: ["connection": "\(self.id.rawValue)", "dropped": "\(self.framesDropped)"])
        }
        self.releaseHeldSenders()
    }

    func releaseHeldSenders() {
        let senders = self.heldSenders
        self.heldSenders.removeAll()
        for sender in senders {
            sender.destinationsWaitedOn -= 1
            sender.updateReading()
        }
    }

    /// Reads from this connection only while its own output is flowing (a client that does
    /// not read its replies is not read either, until it is declared stalled), no destination
    /// has it on hold, the capture ring has room, and it is not growing a large half-received
    /// message or an unread queue past the budget.
    func updateReading() {
        guard case .open = self.state, let context = self.context else { return }
        let growingPastBudget = self.engine.isOverBudget && (self.inboundBytes > Self.largeMessageThreshold || !self.isWritable)
        let outputBlocked = !self.isWritable && !self.isStalled
        let shouldPause = outputBlocked || self.destinationsWaitedOn > 0 || self.engine.isCaptureBlocked || growingPastBudget
        guard shouldPause != self.readingPaused else { return }
        self.readingPaused = shouldPause
        context.channel.setOption(ChannelOptions.autoRead, value: !shouldPause).whenComplete { _ in }
        if !shouldPause {
            context.read()
        }
    }
}
