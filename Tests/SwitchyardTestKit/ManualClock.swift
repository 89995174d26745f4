import Synchronization

/// A clock whose time moves only when something waits on it: `sleep` jumps to the deadline at
/// once. Timeouts, retries and intervals run in microseconds of real time and their timing is
/// exact.
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, Hashable, Sendable {
        public var offset: Duration

        public init(offset: Duration) {
            self.offset = offset
        }

        public func advanced(by duration: Duration) -> Instant { Instant(offset: self.offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - self.offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = Mutex(Instant(offset: .zero))

    public init() {}

    public var now: Instant { self.current.withLock { $0 } }
    public var minimumResolution: Duration { .nanoseconds(1) }

    public func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        self.advance(to: deadline)
    }

    public func advance(to instant: Instant) {
        self.current.withLock { $0 = max($0, instant) }
    }

    public func advance(by duration: Duration) {
        self.current.withLock { $0 = $0.advanced(by: duration) }
    }
}
