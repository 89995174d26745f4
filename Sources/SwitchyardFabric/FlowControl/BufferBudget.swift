/// The fabric-wide budget of bytes held for connections: output queued and not yet sent, and
/// half-received messages. A value; the owner reports every change and carries out the
/// decisions.
///
/// Over budget, the greediest are stopped first: a connection that is behind (more than a
/// read's worth waiting for its socket) gets no more frames, and a connection growing a
/// large half-received message, or whose own output is not flowing, is not read. Those that
/// keep up go on as before. The budget counts as cleared again at three quarters (hysteresis,
/// so the state does not flap at the line).
public struct BufferBudget: Sendable {
    public let limit: Int
    /// Output waiting for a connection's socket past which, over budget, it gets no more frames.
    public let behindThreshold: Int
    /// A half-received message larger than this is not read further while over budget.
    public let largeMessageThreshold: Int
    public var bufferedBytes: Int { self.held }
    public var isOverBudget: Bool { self.over }
    // Stored under other names so that `adjust`, called per frame from the server's module,
    // can be inlined there.
    @usableFromInline var held = 0
    @usableFromInline var over = false

    public init(limit: Int, behindThreshold: Int = 128 * 1024, largeMessageThreshold: Int = 64 * 1024) {
        self.limit = limit
        self.behindThreshold = behindThreshold
        self.largeMessageThreshold = largeMessageThreshold
    }

    public enum Transition: Sendable, Equatable {
        case reached
        case cleared
    }

    /// Counts bytes held (positive) or released (negative); returns the crossing, if any.
    @inlinable @inline(__always)
    public mutating func adjust(by delta: Int) -> Transition? {
        self.held += delta
        if self.over {
            guard self.held < self.limit * 3 / 4 else { return nil }
            self.over = false
            return .cleared
        }
        guard self.held > self.limit else { return nil }
        self.over = true
        return .reached
    }

    /// A frame for a connection with `backlog` bytes waiting is refused (dropped and counted).
    @inlinable @inline(__always)
    public func refuses(backlog: Int) -> Bool {
        self.held > self.limit && backlog > self.behindThreshold
    }

    /// Reading of a connection pauses for the budget's sake.
    public func pausesReading(inboundBytes: Int, isWritable: Bool) -> Bool {
        self.isOverBudget && (inboundBytes > self.largeMessageThreshold || !isWritable)
    }
}
