import NIOCore
import SwitchyardBase
import SwitchyardFabric
import SwitchyardPackets

/// Frames that rules hold back (delay, jitter, reorder, rate), waiting for their deadlines.
///
/// Ordered by deadline, then by the order they were held: frames held for the same time leave
/// in the order they came, and a frame held by one rule never waits for another path's frames.
/// Bounded: past `limit` frames held, more are refused (dropped and counted by the caller).
struct DelayLine {
    struct Held {
        var deadline: MonotonicInstant
        var sequence: UInt64
        var delivery: Delivery
        var frame: ByteBuffer
        var offload: VirtioNetHeader?
    }

    /// Frames held at once before more are refused.
    static let defaultLimit = 65_536

    let limit: Int
    private var held: [Held] = []
    private var head = 0
    private var nextSequence: UInt64 = 0

    init(limit: Int = Self.defaultLimit) {
        self.limit = limit
    }

    var count: Int { self.held.count - self.head }
    var earliest: MonotonicInstant? { self.head < self.held.count ? self.held[self.head].deadline : nil }

    /// Holds a frame until `deadline`; false when the line is full.
    mutating func hold(_ frame: ByteBuffer, offload: VirtioNetHeader? = nil, for delivery: Delivery, until deadline: MonotonicInstant) -> Bool {
        guard self.count < self.limit else { return false }
        let entry = Held(deadline: deadline, sequence: self.nextSequence, delivery: delivery, frame: frame, offload: offload)
        self.nextSequence &+= 1
        // Usually the latest deadline (same delay for every frame): appended. Otherwise the
        // first place whose deadline is later, so equal deadlines keep their order.
        if let last = self.held.last, last.deadline > deadline, self.head < self.held.count {
            var low = self.head
            var high = self.held.count
            while low < high {
                let middle = (low + high) / 2
                if self.held[middle].deadline <= deadline {
                    low = middle + 1
                } else {
                    high = middle
                }
            }
            self.held.insert(entry, at: low)
        } else {
            self.held.append(entry)
        }
        return true
    }

    /// Takes every frame whose deadline is `now` or earlier, in order.
    mutating func takeDue(now: MonotonicInstant) -> [Held] {
        var due: [Held] = []
        while self.head < self.held.count, self.held[self.head].deadline <= now {
            due.append(self.held[self.head])
            self.head += 1
        }
        if self.head == self.held.count {
            self.held.removeAll(keepingCapacity: true)
            self.head = 0
        } else if self.head > 4096, self.head * 2 > self.held.count {
            self.held.removeFirst(self.head)
            self.head = 0
        }
        return due
    }
}
