import Dispatch
import NIOConcurrencyHelpers

/// The bounded hand-over between the switching thread and the capture writer thread,
/// bounded by frames and bytes.
public final class CaptureRing: Sendable {
    public let byteLimit: Int
    public let frameLimit: Int

    private struct State {
        var queue: [CaptureBatch] = []
        var queuedBytes = 0
        var queuedFrames = 0
        var spares: [CaptureBatch] = []
        var finished = false
        /// The producer was told to stop: call `onSpace` once the ring is half empty.
        var producerBlocked = false
        var onSpace: (@Sendable () -> Void)?
    }

    private let state = NIOLockedValueBox(State())
    private let wakeup = DispatchSemaphore(value: 0)

    public init(byteLimit: Int, frameLimit: Int) {
        self.byteLimit = byteLimit
        self.frameLimit = frameLimit
    }

    /// Called on the writer thread when a blocked producer may go on.
    public func setOnSpace(_ callback: @escaping @Sendable () -> Void) {
        self.state.withLockedValue { $0.onSpace = callback }
    }

    /// Room left, in bytes and frames (never negative).
    public var room: (bytes: Int, frames: Int) {
        self.state.withLockedValue { state in
            (max(0, self.byteLimit - state.queuedBytes), max(0, self.frameLimit - state.queuedFrames))
        }
    }

    /// Hands `batch` to the writer and replaces it with an empty one. Returns true when the
    /// ring is now over a limit: a producer that must not lose frames stops producing until
    /// `onSpace` is called.
    public func push(_ batch: inout CaptureBatch) -> Bool {
        guard !batch.isEmpty else { return false }
        let full = self.state.withLockedValue { state -> Bool in
            state.queuedBytes += batch.byteCount
            state.queuedFrames += batch.frameCount
            let spare = state.spares.popLast() ?? CaptureBatch()
            state.queue.append(batch)
            batch = spare
            let full = state.queuedBytes >= self.byteLimit || state.queuedFrames >= self.frameLimit
            if full {
                state.producerBlocked = true
            }
            return full
        }
        self.wakeup.signal()
        return full
    }

    /// Waits up to `timeout` seconds for batches. Returns them (possibly none, on timeout), or
    /// nil once the ring is finished and empty.
    func take(timeout: Double) -> [CaptureBatch]? {
        if let batches = self.takeAvailable() {
            return batches
        }
        _ = self.wakeup.wait(timeout: .now() + timeout)
        return self.takeAvailable() ?? []
    }

    private func takeAvailable() -> [CaptureBatch]?? {
        let (batches, wake) = self.state.withLockedValue { state -> ([CaptureBatch]??, (@Sendable () -> Void)?) in
            if state.queue.isEmpty {
                return (state.finished ? .some(nil) : nil, nil)
            }
            let batches = state.queue
            state.queue.removeAll(keepingCapacity: true)
            state.queuedBytes = 0
            state.queuedFrames = 0
            var wake: (@Sendable () -> Void)?
            if state.producerBlocked {
                state.producerBlocked = false
                wake = state.onSpace
            }
            return (.some(batches), wake)
        }
        wake?()
        return batches
    }

    /// Takes written batches back for reuse (emptied, their room kept), leaving `batches` empty:
    /// the writer must not touch them again.
    func recycle(_ batches: inout [CaptureBatch]) {
        self.state.withLockedValue { state in
            while let batch = batches.popLast() {
                if state.spares.count < 16 {
                    batch.removeAll()
                    state.spares.append(batch)
                }
            }
        }
    }

    /// No more batches will come; the writer drains what is queued and stops.
    public func finish() {
        self.state.withLockedValue { $0.finished = true }
        self.wakeup.signal()
    }
}
