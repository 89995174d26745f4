import SwitchyardCommandLine
import Synchronization

/// The progress line on a terminal: redrawn in place, at most every 100 ms and at least on
/// every completed exchange once a second has passed since the last, so a long replay is
/// never silent.
final class ReplayProgress: Sendable {
    private let enabled: Bool
    private let lastShown = Mutex<ContinuousClock.Instant?>(nil)

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func update(done: Int, total: Int) {
        guard self.enabled else { return }
        let now = ContinuousClock.now
        let due = self.lastShown.withLock { last -> Bool in
            guard done == total || last.map({ $0.duration(to: now) >= .milliseconds(100) }) ?? true else { return false }
            last = now
            return true
        }
        if due {
            StandardOutput.error("\u{1B}[2K\r[replay] \(done)/\(total) exchanges", newline: done == total)
        }
    }
}
