import NIOConcurrencyHelpers
import NIOCore

/// Frames delivered to the connection, waiting for the one consumer.
///
/// Unlike `AsyncStream`, a consumer whose wait is cancelled (a timeout) leaves the queue
/// intact, so "wait up to 3 s for the next frame" can be asked again and again.
///
/// Bounded, like a NIC's receive ring: past `limit` frames waiting, new frames are dropped and
/// counted (`dropped`). Pausing the socket instead would also hold back the control replies
/// behind them, and a client waiting for a reply without taking its frames would wait forever.
final class FrameQueue: Sendable {
    /// Frames held for a consumer that is behind before new ones are dropped.
    static let defaultLimit = 65_536

    private struct State {
        var buffer: [ReceivedFrame] = []
        var head = 0
        var waiter: (id: UInt64, continuation: CheckedContinuation<ReceivedFrame?, any Error>)?
        var nextWaiterID: UInt64 = 0
        /// The newest waiter whose timeout fired before it started to wait: the timer runs on
        /// the event loop and can beat the waiting task to the lock (a short timeout, a busy
        /// machine). That wait ends at once instead of waiting with no timer left.
        var expiredWaiterID: UInt64 = 0
        var finished = false
        var dropped: UInt64 = 0
    }

    let limit: Int
    private let state = NIOLockedValueBox(State())

    init(limit: Int = FrameQueue.defaultLimit) {
        self.limit = limit
    }

    /// Frames dropped because `limit` frames were waiting.
    var dropped: UInt64 { self.state.withLockedValue { $0.dropped } }

    /// Frames waiting now.
    var count: Int { self.state.withLockedValue { $0.buffer.count - $0.head } }

    /// The connection has closed and every frame has been taken.
    var isDrained: Bool { self.state.withLockedValue { $0.finished && $0.head == $0.buffer.count } }

    func push(_ frame: ReceivedFrame) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<ReceivedFrame?, any Error>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter.continuation
            }
            guard state.buffer.count - state.head < self.limit else {
                state.dropped += 1
                return nil
            }
            state.buffer.append(frame)
            return nil
        }
        waiter?.resume(returning: frame)
    }

    func finish() {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<ReceivedFrame?, any Error>? in
            state.finished = true
            defer { state.waiter = nil }
            return state.waiter?.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// A frame already received, without waiting.
    func tryNext() -> ReceivedFrame? {
        self.state.withLockedValue { state in
            guard state.head < state.buffer.count else { return nil }
            let frame = state.buffer[state.head]
            state.head += 1
            if state.head == state.buffer.count {
                state.buffer.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return frame
        }
    }

    /// The next frame, or nil when none arrives within `timeout` (or the connection closed).
    /// The timeout is a timer on `eventLoop`, not a task: waiting costs one continuation.
    func next(timeout: Duration, on eventLoop: any EventLoop) async throws -> ReceivedFrame? {
        if let frame = self.tryNext() {
            return frame
        }
        let id = self.state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let timer = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            self.expire(id)
        }
        defer { timer.cancel() }
        return try await self.wait(id: id)
    }

    /// Ends the wait of waiter `id` with no frame (its timeout passed).
    func expire(_ id: UInt64) {
        let waiter = self.state.withLockedValue { state -> CheckedContinuation<ReceivedFrame?, any Error>? in
            guard let waiter = state.waiter, waiter.id == id else {
                state.expiredWaiterID = max(state.expiredWaiterID, id)
                return nil
            }
            state.waiter = nil
            return waiter.continuation
        }
        waiter?.resume(returning: nil)
    }

    /// The next frame; nil once the connection has closed and every frame has been taken.
    /// Throws `CancellationError` when the waiting task is cancelled.
    func next() async throws -> ReceivedFrame? {
        let id = self.state.withLockedValue { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return try await self.wait(id: id)
    }

    private func wait(id: UInt64) async throws -> ReceivedFrame? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<ReceivedFrame?, any Error>) in
                let immediate: Result<ReceivedFrame?, any Error>? = self.state.withLockedValue { state in
                    if state.head < state.buffer.count {
                        let frame = state.buffer[state.head]
                        state.head += 1
                        if state.head == state.buffer.count {
                            state.buffer.removeAll(keepingCapacity: true)
                            state.head = 0
                        }
                        return .success(frame)
                    }
                    if state.finished || state.expiredWaiterID >= id {
                        return .success(nil)
                    }
                    if Task.isCancelled {
                        return .failure(CancellationError())
                    }
                    precondition(state.waiter == nil, "FabricClient frames have one consumer")
                    state.waiter = (id, continuation)
                    return nil
                }
                if let immediate {
                    continuation.resume(with: immediate)
                }
            }
        } onCancel: {
            let waiter = self.state.withLockedValue { state -> CheckedContinuation<ReceivedFrame?, any Error>? in
                guard let waiter = state.waiter, waiter.id == id else { return nil }
                state.waiter = nil
                return waiter.continuation
            }
            waiter?.resume(throwing: CancellationError())
        }
    }
}

/// The frames delivered to a `FabricClient`, as an async sequence for one consumer.
public struct ReceivedFrames: AsyncSequence, Sendable {
    public typealias Element = ReceivedFrame

    let queue: FrameQueue

    public struct AsyncIterator: AsyncIteratorProtocol {
        let queue: FrameQueue

        public mutating func next() async throws -> ReceivedFrame? {
            try await self.queue.next()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator {
        AsyncIterator(queue: self.queue)
    }
}
