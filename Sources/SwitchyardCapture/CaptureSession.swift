import Foundation
import Logging
import NIOConcurrencyHelpers

/// A running capture: the ring and the writer thread behind it.
///
/// `start` returns once the filter has compiled and the first file exists, so a bad filter or
/// an unwritable path stops the daemon before it listens. `finish` drains the ring, flushes and
/// closes the files.
public final class CaptureSession: Sendable {
    public let configuration: CaptureConfiguration
    public let ring: CaptureRing
    private let published = NIOLockedValueBox(CaptureStatistics())
    private let completion = NIOLockedValueBox(Completion())

    private struct Completion {
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private init(configuration: CaptureConfiguration) {
        self.configuration = configuration
        self.ring = CaptureRing(
            byteLimit: configuration.bufferBytes, frameLimit: configuration.bufferFrames, wakesPerBatch: configuration.packetBuffered
        )
    }

    public static func start(_ configuration: CaptureConfiguration, logger: Logger) async throws(PcapError) -> CaptureSession {
        let session = CaptureSession(configuration: configuration)
        let result: Result<Void, PcapError> = await withCheckedContinuation { started in
            let thread = Thread {
                // Named from inside: Foundation on Linux names only the current thread, and the
                // kernel keeps 15 characters (what `top -H` and `perf` show).
                Thread.current.name = "capture-writer"
                Self.yieldToSwitching()
                let writer: CaptureWriter
                do throws(PcapError) {
                    writer = try CaptureWriter(configuration: configuration, published: session.published, logger: logger)
                } catch {
                    started.resume(returning: .failure(error))
                    session.markFinished()
                    return
                }
                started.resume(returning: .success(()))
                writer.run(draining: session.ring)
                session.markFinished()
            }
            thread.start()
        }
        try result.get()
        return session
    }

    /// Nice levels the writer thread runs below the rest of the daemon.
    static let writerNiceness: Int32 = 10

    /// Lowers the calling thread's priority by `writerNiceness` (Linux keeps a nice value per
    /// thread; `who` 0 is the calling thread). On a busy machine the switching thread then
    /// runs first and the writer takes the CPU time left, which the ring lets it defer: in
    /// block mode a full ring stops the reading and the writer catches up, so nothing is lost;
    /// in drop mode, where switching comes first by choice, more frames may go unrecorded.
    /// Measured at 64 bytes on 2 cores: about 5% more frames per second with capture on.
    private static func yieldToSwitching() {
        errno = 0
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        guard errno == 0 else { return }
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + Self.writerNiceness))
    }

    /// The writer's counters so far (drops by a full ring are counted by the `CaptureTap`).
    public var statistics: CaptureStatistics {
        self.published.withLockedValue { $0 }
    }

    /// Adds frames the tap could not put in the ring.
    func countDropped(_ frames: UInt64) {
        self.published.withLockedValue { $0.framesDroppedByBuffer += frames }
    }

    /// Drains the ring, flushes and closes the files; returns the final counters.
    public func finish() async -> CaptureStatistics {
        self.ring.finish()
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let done = self.completion.withLockedValue { completion -> Bool in
                if completion.finished {
                    return true
                }
                completion.waiters.append(continuation)
                return false
            }
            if done {
                continuation.resume()
            }
        }
        return self.statistics
    }

    private func markFinished() {
        let waiters = self.completion.withLockedValue { completion in
            completion.finished = true
            defer { completion.waiters.removeAll() }
            return completion.waiters
        }
        for waiter in waiters {
            waiter.resume()
        }
    }
}
