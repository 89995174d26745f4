import SwitchyardClient
import Synchronization
import SwitchyardTestKit

/// A fabric connection in memory on a `ManualClock`: records what is sent, and answers each
/// send with what `respond` returns after the delay it gives. Waiting for a frame moves the
/// clock to the frame's arrival, or to the end of the timeout when none is due.
final class ScriptedExchange: FrameExchange, Sendable {
    struct Pending {
        var arrival: ManualClock.Instant
        var frame: ReceivedFrame
    }

    let clock: ManualClock
    private let respond: @Sendable (_ frame: [UInt8], _ sentAt: Duration) -> [(delay: Duration, frame: [UInt8])]
    private let state = Mutex((sent: [(at: Duration, frame: [UInt8])](), pending: [Pending]()))

    init(clock: ManualClock, respond: @escaping @Sendable (_ frame: [UInt8], _ sentAt: Duration) -> [(delay: Duration, frame: [UInt8])]) {
        self.clock = clock
        self.respond = respond
    }

    /// When each frame was sent (time since the clock's start) and its bytes.
    var sent: [(at: Duration, frame: [UInt8])] { self.state.withLock { $0.sent } }

    func send(frame: [UInt8], from endpointID: UInt32) throws {
        let now = self.clock.now
        let answers = self.respond(frame, now.offset)
        self.state.withLock { state in
            state.sent.append((now.offset, frame))
            for answer in answers {
                state.pending.append(Pending(arrival: now.advanced(by: answer.delay), frame: ReceivedFrame(endpointID: endpointID, flags: [], bytes: answer.frame)))
            }
            state.pending.sort { $0.arrival < $1.arrival }
        }
    }

    func nextFrame(timeout: Duration) async throws -> ReceivedFrame? {
        let deadline = self.clock.now.advanced(by: timeout)
        let next = self.state.withLock { state -> Pending? in
            guard let first = state.pending.first, first.arrival <= deadline else { return nil }
            state.pending.removeFirst()
            return first
        }
        guard let next else {
            self.clock.advance(to: deadline)
            return nil
        }
        self.clock.advance(to: next.arrival)
        return next.frame
    }
}
