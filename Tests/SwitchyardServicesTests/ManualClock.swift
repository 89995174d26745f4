import Synchronization

/// A clock whose time moves only when something waits on it: `sleep` jumps to the deadline at
/// once. Timeouts, retries and intervals run in microseconds of real time and their timing is
/// exact.
final class ManualClock: Clock, Sendable {
    struct Instant: InstantProtocol, Hashable, Sendable {
        var offset: Duration

        func advanced(by duration: Duration) -> Instant { Instant(offset: self.offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - self.offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private let current = Mutex(Instant(offset: .zero))

    var now: Instant { self.current.withLock { $0 } }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try Task.checkCancellation()
        self.advance(to: deadline)
    }

    func advance(to instant: Instant) {
        self.current.withLock { $0 = max($0, instant) }
    }

    func advance(by duration: Duration) {
        self.current.withLock { $0 = $0.advanced(by: duration) }
    }
}
