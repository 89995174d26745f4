import NIOConcurrencyHelpers
import NIOCore
import SwitchyardWire

/// Outstanding control requests, oldest first. The fabric answers requests in order, so each
/// reply (or ERROR) belongs to the oldest one still waiting.
final class ReplyQueue: Sendable {
    private struct Waiter {
        var id: UInt64
        var continuation: CheckedContinuation<Message, any Error>?
    }

    private struct State {
        var waiters: [Waiter] = []
        var head = 0
        var nextID: UInt64 = 0
        var closedReason: FabricClientError?
        /// The last ERROR that answered no request (a refused PACKET_OUT, or the reason a full
        /// fabric gives before it closes): only the last one is ever used, so only it is kept.
        var lastUnsolicitedError: Message?
        var unsolicitedCount = 0
        var nextWritten: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())

    /// Sends `message` through `write` and waits for its reply. Registering the waiter and
    /// writing happen under one lock, so waiters are queued in the order requests are sent.
    func request(_ message: Message, write: @Sendable (Message) -> Void) async throws -> Message {
        let id = self.state.withLockedValue { state in
            state.nextID += 1
            return state.nextID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Message, any Error>) in
                self.state.withLockedValue { state in
                    if let reason = state.closedReason {
                        continuation.resume(throwing: reason)
                        return
                    }
                    // A cancelled request is still sent and its slot kept: the reply will come
                    // and must not be taken as the answer to a later request.
                    if Task.isCancelled {
                        state.waiters.append(Waiter(id: id, continuation: nil))
                        continuation.resume(throwing: CancellationError())
                    } else {
                        state.waiters.append(Waiter(id: id, continuation: continuation))
                    }
                    write(message)
                    state.nextWritten += 1
                }
            }
        } onCancel: {
            let continuation = self.state.withLockedValue { state -> CheckedContinuation<Message, any Error>? in
                guard let index = state.waiters[state.head...].firstIndex(where: { $0.id == id }) else { return nil }
                defer { state.waiters[index].continuation = nil }
                return state.waiters[index].continuation
            }
            continuation?.resume(throwing: CancellationError())
        }
    }

    /// A reply arrived: resume the oldest waiter.
    func deliver(_ message: Message) {
        let continuation = self.state.withLockedValue { state -> CheckedContinuation<Message, any Error>?? in
            guard state.head < state.waiters.count else {
                // No request outstanding: an ERROR for a PACKET_OUT the fabric refused.
                state.unsolicitedCount += 1
                if message.header.type == .error {
                    state.lastUnsolicitedError = message
                }
                return nil
            }
            let waiter = state.waiters[state.head]
            state.head += 1
            if state.head == state.waiters.count {
                state.waiters.removeAll(keepingCapacity: true)
                state.head = 0
            }
            return .some(waiter.continuation)
        }
        if case .some(.some(let continuation)) = continuation {
            continuation.resume(returning: message)
        }
    }

    /// Requests written so far (tests wait on it instead of sleeping).
    var requestsWritten: Int { self.state.withLockedValue { Int($0.nextWritten) } }

    /// Messages that answered no request so far.
    var unsolicitedCount: Int { self.state.withLockedValue { $0.unsolicitedCount } }

    /// The connection is gone: fail every waiter and every later request. An ERROR the fabric
    /// sent before closing (a full fabric refusing the connection) is the better reason.
    func close(_ reason: FabricClientError) {
        let waiting = self.state.withLockedValue { state -> [CheckedContinuation<Message, any Error>] in
            guard state.closedReason == nil else { return [] }
            if let error = state.lastUnsolicitedError,
               let reply = try? ControlJSON.decode(ErrorReply.self, from: error.payload) {
                state.closedReason = FabricClientError(.fabricError, reply.error, fabricCode: reply.code)
            } else {
                state.closedReason = reason
            }
            let continuations = state.waiters[state.head...].compactMap(\.continuation)
            state.waiters.removeAll()
            state.head = 0
            return continuations
        }
        let effective = self.state.withLockedValue { $0.closedReason ?? reason }
        for continuation in waiting {
            continuation.resume(throwing: effective)
        }
    }
}
