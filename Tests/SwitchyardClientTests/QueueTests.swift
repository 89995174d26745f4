import NIOCore
import NIOPosix
import SwitchyardWire
import Testing

@testable import SwitchyardClient

/// The SDK's two queues on their own: timeouts, cancellation, bounds and closing.
@Suite struct FrameQueueTests {
    static let loop = MultiThreadedEventLoopGroup.singleton.next()

    static func frame(_ index: UInt8) -> ReceivedFrame {
        ReceivedFrame(endpointID: 1, flags: [], bytes: [index])
    }

    @Test func aTimeoutReturnsNilAndLeavesTheQueueUsable() async throws {
        let queue = FrameQueue()
        #expect(try await queue.next(timeout: .milliseconds(5), on: Self.loop) == nil)
        queue.push(Self.frame(1))
        #expect(try await queue.next(timeout: .seconds(5), on: Self.loop) == Self.frame(1))
    }

    /// The lost wake-up behind the suite's old hangs: the timer fires on the event loop before
    /// the waiting task has registered; the wait must end at once, not wait with no timer.
    @Test(.timeLimit(.minutes(1)))
    func aTimeoutThatFiresBeforeTheWaitBeginsStillEndsIt() async throws {
        let queue = FrameQueue()
        queue.expire(1)  // the timer of the first wait (id 1), ahead of it
        let clock = ContinuousClock()
        let start = clock.now
        #expect(try await queue.next(timeout: .seconds(20), on: Self.loop) == nil)
        #expect(start.duration(to: clock.now) < .seconds(10), "ended by the early timer, not the later one")
        queue.push(Self.frame(3))
        #expect(try await queue.next(timeout: .seconds(5), on: Self.loop) == Self.frame(3), "a later wait is not ended by it")
    }

    /// The same race for real: thousands of waits whose timers fire at once.
    @Test(.timeLimit(.minutes(1)))
    func manyTinyTimeoutsAllEnd() async throws {
        let queue = FrameQueue()
        for _ in 0..<5_000 {
            #expect(try await queue.next(timeout: .nanoseconds(1), on: Self.loop) == nil)
        }
    }

    @Test func aCancelledWaitThrowsAndTheNextFrameIsStillThere() async throws {
        let queue = FrameQueue()
        let waiting = Task { try await queue.next() }
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        queue.push(Self.frame(2))
        #expect(queue.tryNext() == Self.frame(2), "the cancelled waiter took nothing")
    }

    @Test func framesComeOutInOrderAndFinishingEndsTheStream() async throws {
        let queue = FrameQueue()
        for index in 0..<5 {
            queue.push(Self.frame(UInt8(index)))
        }
        queue.finish()
        var seen: [UInt8] = []
        while let frame = try await queue.next() {
            seen.append(frame.bytes[0])
        }
        #expect(seen == [0, 1, 2, 3, 4])
    }

    @Test func pastTheLimitNewFramesAreDroppedAndCounted() {
        let queue = FrameQueue(limit: 3)
        for index in 0..<5 {
            queue.push(Self.frame(UInt8(index)))
        }
        #expect(queue.count == 3)
        #expect(queue.dropped == 2)
        #expect(queue.tryNext() == Self.frame(0), "the oldest are kept")
        queue.push(Self.frame(9))
        #expect(queue.count == 3 && queue.dropped == 2, "room again after one was taken")
    }
}

@Suite struct ReplyQueueTests {
    static func reply(_ text: String) -> Message {
        Message(.endpointInfo, payload: ByteBuffer(string: text))
    }

    @Test func repliesGoToRequestsInOrder() async throws {
        let queue = ReplyQueue()
        async let first = queue.request(Message(.endpointLookup)) { _ in }
        try await Self.waitUntilQueued(queue, 1)
        async let second = queue.request(Message(.endpointLookup)) { _ in }
        try await Self.waitUntilQueued(queue, 2)
        queue.deliver(Self.reply("1"))
        queue.deliver(Self.reply("2"))
        #expect(try await String(buffer: first.payload) == "1")
        #expect(try await String(buffer: second.payload) == "2")
    }

    /// A cancelled request keeps its place: its reply still comes and must not answer the next.
    @Test func aCancelledRequestsReplyIsNotTakenByTheNext() async throws {
        let queue = ReplyQueue()
        let cancelled = Task { try await queue.request(Message(.endpointLookup)) { _ in } }
        try await Self.waitUntilQueued(queue, 1)
        cancelled.cancel()
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        async let next = queue.request(Message(.endpointLookup)) { _ in }
        try await Self.waitUntilQueued(queue, 2)
        queue.deliver(Self.reply("for the cancelled one"))
        queue.deliver(Self.reply("for the next"))
        #expect(try await String(buffer: next.payload) == "for the next")
    }

    @Test func closingFailsWaitersWithTheFabricsLastErrorAndKeepsOnlyThatOne() async throws {
        let queue = ReplyQueue()
        for index in 0..<1000 {
            queue.deliver(Message(.error, json: ErrorReply(error: "refused \(index)", code: "frame_too_short")))
        }
        #expect(queue.unsolicitedCount == 1000)
        let waiting = Task { try await queue.request(Message(.endpointLookup)) { _ in } }
        try await Self.waitUntilQueued(queue, 1)
        queue.close(FabricClientError(.connectionClosed, "closed"))
        await #expect(throws: FabricClientError(.fabricError, "refused 999", fabricCode: "frame_too_short")) { try await waiting.value }
        await #expect(throws: FabricClientError(.fabricError, "refused 999", fabricCode: "frame_too_short")) {
            try await queue.request(Message(.endpointLookup)) { _ in }
        }
    }

    /// Waits until `count` requests were written (they register before they write).
    static func waitUntilQueued(_ queue: ReplyQueue, _ count: Int) async throws {
        for _ in 0..<1000 where queue.requestsWritten < count {
            await Task.yield()
        }
        #expect(queue.requestsWritten >= count)
    }
}
