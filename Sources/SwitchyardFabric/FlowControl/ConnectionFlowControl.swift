import SwitchyardBase

/// Flow control of one connection, like 802.3x PAUSE on a real switch: a value that takes
/// events and returns the actions its owner carries out (no I/O, no timers, no NIO).
///
/// A subscriber that reads, but more slowly than its senders send, slows those senders down:
/// each sender of a frame queued past the subscriber's cap is held (stops being read, TCP
/// backpressure) until the subscriber drains, so no frame is lost. A subscriber that does not
/// drain within the stall timeout is declared stalled: from then on frames to it are dropped
/// and counted, its senders are released, and it is read again itself (a connection whose own
/// output backs up is otherwise not read). It stops being stalled once its queue has drained.
/// A connection never holds itself: it would wait forever, since it is not read while it
/// waits; the stall rule applies to it all the same.
public struct ConnectionFlowControl: Sendable {
    public let connection: ConnectionID
    public let stallTimeout: Duration
    /// The socket takes more output (below its high-water mark).
    public private(set) var isWritable = true
    /// Frames to it are dropped, not awaited.
    public private(set) var isStalled = false
    /// Connections held until this one drains.
    public private(set) var heldSenders: [ConnectionID] = []
    /// Destinations holding this connection, as a sender.
    public private(set) var destinationsWaitedOn = 0
    /// When the stall timeout ends, while it runs.
    public private(set) var stallDeadline: MonotonicInstant?
    /// Whether reading is paused now (what the owner last applied).
    public private(set) var isReadingPaused = false
    /// PACKET_IN dropped for this connection.
    public private(set) var framesDropped: UInt64 = 0

    public init(connection: ConnectionID, stallTimeout: Duration) {
        self.connection = connection
        self.stallTimeout = stallTimeout
    }

    public enum Action: Hashable, Sendable {
        /// Hold this sender until this connection drains (it waits on one more destination).
        case hold(ConnectionID)
        /// These senders wait on this connection no more.
        case release([ConnectionID])
        /// Call `stallCheckDue` at this time.
        case scheduleStallCheck(MonotonicInstant)
        /// The scheduled check is not needed any more.
        case cancelStallCheck
        /// It stopped reading for the stall timeout: frames to it are dropped from now on.
        case declaredStalled
        /// It drained after being stalled; `dropped` frames were dropped for it so far.
        case drainedAfterStall(dropped: UInt64)
        /// Whether it should be read may have changed: ask `readingDecision`.
        case reconsiderReading
    }

    /// What happens to one PACKET_IN for this connection.
    public enum Admission: Sendable {
        case queue
        /// Queued past the cap: the sender is to be held.
        case queueOverCap
        case drop
    }

    /// The per-frame decision. `hasRoom`: writable and under the queue cap;
    /// `refusedByBudget`: the fabric is over its buffer budget and this connection is behind.
    @inline(__always)
    public mutating func admit(hasRoom: Bool, refusedByBudget: Bool) -> Admission {
        if refusedByBudget || (!hasRoom && self.isStalled) {
            self.framesDropped &+= 1
            return .drop
        }
        return hasRoom ? .queue : .queueOverCap
    }

    /// Counts a frame dropped for a reason outside flow control (the connection is closing).
    public mutating func countDropped() {
        self.framesDropped &+= 1
    }

    /// A frame from `sender` was queued past the cap.
    public mutating func queuedOverCap(from sender: ConnectionID, now: MonotonicInstant) -> [Action] {
        var actions: [Action] = []
        if sender != self.connection, !self.heldSenders.contains(sender) {
            self.heldSenders.append(sender)
            actions.append(.hold(sender))
        }
        self.startStallClock(now: now, into: &actions)
        return actions
    }

    /// The socket's writability changed.
    public mutating func writabilityChanged(_ writable: Bool, now: MonotonicInstant) -> [Action] {
        self.isWritable = writable
        var actions: [Action] = []
        if writable {
            if self.stallDeadline != nil {
                self.stallDeadline = nil
                actions.append(.cancelStallCheck)
            }
            if self.isStalled {
                self.isStalled = false
                actions.append(.drainedAfterStall(dropped: self.framesDropped))
            }
            self.releaseAll(into: &actions)
        } else {
            // Its own output backs up: it is not read now, so it may send nothing more that
            // would start the clock.
            self.startStallClock(now: now, into: &actions)
        }
        actions.append(.reconsiderReading)
        return actions
    }

    /// The scheduled stall check ran. A check that is stale (the connection drained, or a
    /// newer deadline is set) does nothing.
    public mutating func stallCheckDue(now: MonotonicInstant) -> [Action] {
        guard let deadline = self.stallDeadline, now >= deadline else { return [] }
        self.stallDeadline = nil
        guard !self.isWritable else { return [] }
        self.isStalled = true
        var actions: [Action] = [.declaredStalled]
        self.releaseAll(into: &actions)
        actions.append(.reconsiderReading)
        return actions
    }

    /// As a sender: a destination holds it now.
    public mutating func heldByDestination() -> [Action] {
        self.destinationsWaitedOn += 1
        return [.reconsiderReading]
    }

    /// As a sender: a destination released it.
    public mutating func releasedByDestination() -> [Action] {
        self.destinationsWaitedOn = max(0, self.destinationsWaitedOn - 1)
        return [.reconsiderReading]
    }

    /// The connection closed: every sender it held goes free.
    public mutating func closed() -> [Action] {
        var actions: [Action] = []
        if self.stallDeadline != nil {
            self.stallDeadline = nil
            actions.append(.cancelStallCheck)
        }
        self.releaseAll(into: &actions)
        return actions
    }

    /// Whether to read this connection now, given the fabric-wide conditions. Returns the new
    /// setting when it changed (the owner applies it), nil when it did not.
    ///
    /// It is read only while its own output flows (a client that does not read its replies is
    /// not read either, until it is declared stalled), no destination holds it, the capture
    /// has room, and the budget allows it (`budgetPaused`).
    public mutating func readingDecision(captureBlocked: Bool, budgetPaused: Bool) -> Bool? {
        let outputBlocked = !self.isWritable && !self.isStalled
        let pause = outputBlocked || self.destinationsWaitedOn > 0 || captureBlocked || budgetPaused
        guard pause != self.isReadingPaused else { return nil }
        self.isReadingPaused = pause
        return !pause
    }

    private mutating func startStallClock(now: MonotonicInstant, into actions: inout [Action]) {
        guard self.stallDeadline == nil, !self.isStalled else { return }
        let deadline = now.advanced(by: self.stallTimeout)
        self.stallDeadline = deadline
        actions.append(.scheduleStallCheck(deadline))
    }

    private mutating func releaseAll(into actions: inout [Action]) {
        guard !self.heldSenders.isEmpty else { return }
        actions.append(.release(self.heldSenders))
        self.heldSenders.removeAll()
    }
}
