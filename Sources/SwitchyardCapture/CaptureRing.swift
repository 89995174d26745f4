import Dispatch
import NIOConcurrencyHelpers

/// The bounded hand-over between the switching thread and the capture writer thread,
/// bounded by frames and bytes.
///
/// The writer is woken once some batches have gathered, not per batch: waking a sleeping
/// thread is a system call and, in a VM, an interrupt to the other core, and per read it cost
/// the switching thread 4% of its time with a kernel behind a TAP device. Between wakes the
/// writer looks at the ring every `pollInterval` on its own, so a quiet fabric's frames still
/// reach the writer within that time.
public final class CaptureRing: Sendable {
    public let byteLimit: Int
    public let frameLimit: Int
    /// Whether every batch wakes the writer (`--packet-buffered`: each frame to the file at once).
    public let wakesPerBatch: Bool
    /// How often the writer looks at the ring when nothing woke it, in seconds.
    static let pollInterval = CaptureConfiguration.flushInterval / 2
    /// Batches, bytes and frames gathered before the writer is woken.
    static let wakeBatches = 8
    private let wakeBytes: Int
    private let wakeFrames: Int

    private struct State {
        var queue: [CaptureBatch] = []
        var queuedBytes = 0
        var queuedFrames = 0
        var spares: [CaptureBatch] = []
        /// The room of the spares' byte storage.
        var spareBytes = 0
        var finished = false
        /// The producer was told to stop: call `onSpace` once the ring is half empty.
        var producerBlocked = false
        var onSpace: (@Sendable () -> Void)?
        /// The writer was woken for what is queued and has not taken it yet.
        var writerWoken = false
        /// Times the writer was woken by a push (for tests).
        var wakeups = 0
    }

    private let state = NIOLockedValueBox(State())
    private let wakeup = DispatchSemaphore(value: 0)

    public init(byteLimit: Int, frameLimit: Int, wakesPerBatch: Bool = false) {
        self.byteLimit = byteLimit
        self.frameLimit = frameLimit
        self.wakesPerBatch = wakesPerBatch
        self.wakeBytes = max(1, min(1 << 20, byteLimit / 8))
        self.wakeFrames = max(1, frameLimit / 8)
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
        // Endpoint events wake the writer too: they are rare, and the manifest beside the file
        // should follow them closely.
        let carriesEvents = !batch.events.isEmpty
        let (full, wake) = self.state.withLockedValue { state -> (Bool, Bool) in
            state.queuedBytes += batch.byteCount
            state.queuedFrames += batch.frameCount
            let spare: CaptureBatch
            if let recycled = state.spares.popLast() {
                state.spareBytes -= recycled.byteCapacity
                spare = recycled
            } else {
                spare = CaptureBatch()
            }
            state.queue.append(batch)
            batch = spare
            let full = state.queuedBytes >= self.byteLimit || state.queuedFrames >= self.frameLimit
            if full {
                state.producerBlocked = true
            }
            let gathered = state.queue.count >= Self.wakeBatches || state.queuedBytes >= self.wakeBytes
                || state.queuedFrames >= self.wakeFrames
            guard !state.writerWoken, full || gathered || carriesEvents || self.wakesPerBatch else { return (full, false) }
            state.writerWoken = true
            state.wakeups += 1
            return (full, true)
        }
        if wake {
            self.wakeup.signal()
        }
        return full
    }

    /// Times a push woke the writer.
    var writerWakeups: Int { self.state.withLockedValue { $0.wakeups } }

    /// Batches kept for reuse, and their bytes' room.
    var spareRoom: (batches: Int, bytes: Int) { self.state.withLockedValue { ($0.spares.count, $0.spareBytes) } }

    /// Waits up to `timeout` seconds for batches. Returns them (possibly none, on timeout), or
    /// nil once the ring is finished and empty.
    func take(timeout: Double = CaptureRing.pollInterval) -> [CaptureBatch]? {
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
            state.writerWoken = false
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
    ///
    /// Spares are kept up to twice the ring's byte limit of room: what a full ring and the
    /// writer's batches in hand have touched already, so keeping it costs no memory the
    /// capture did not take. Keeping fewer made the switching thread allocate, and fault in,
    /// new batches after every spell of a full ring.
    func recycle(_ batches: inout [CaptureBatch]) {
        self.state.withLockedValue { state in
            while let batch = batches.popLast() {
                let room = batch.byteCapacity
                if state.spareBytes + room <= 2 * self.byteLimit || state.spares.isEmpty {
                    batch.removeAll()
                    state.spares.append(batch)
                    state.spareBytes += room
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
