import SwitchyardCommandLine
import Synchronization

/// The progress line on a terminal, redrawn in place: on each exchange (at most every 100 ms)
/// and, through `tick`, once a second while an exchange waits, so a long replay is never silent.
final class ReplayProgress: Sendable {
    private struct State {
        var done = 0
        var total = 0
        var lastShown: ContinuousClock.Instant?
        var finished = false
    }

    private let enabled: Bool
    private let started = ContinuousClock.now
    private let state = Mutex(State())

    init(enabled: Bool) {
        self.enabled = enabled
    }

    func update(done: Int, total: Int) {
        guard self.enabled else { return }
        let now = ContinuousClock.now
        let due = self.state.withLock { state -> Bool in
            state.done = done
            state.total = total
            guard done == total || state.lastShown.map({ $0.duration(to: now) >= .milliseconds(100) }) ?? true else { return false }
            state.lastShown = now
            state.finished = done == total
            return true
        }
        if due {
            self.draw(done: done, total: total, final: done == total)
        }
    }

    /// Redraws the line once a second until `update` reports the last exchange.
    func tick() async {
        guard self.enabled else { return }
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(1))
            let now = ContinuousClock.now
            let snapshot = self.state.withLock { state -> (Int, Int)? in
                guard !state.finished, state.total > 0, state.lastShown.map({ $0.duration(to: now) >= .milliseconds(900) }) ?? true else { return nil }
                state.lastShown = now
                return (state.done, state.total)
            }
            if let (done, total) = snapshot {
                self.draw(done: done, total: total, final: false)
            }
        }
    }

    private func draw(done: Int, total: Int, final: Bool) {
        let seconds = Int(self.started.duration(to: .now).components.seconds)
        StandardOutput.error("\u{1B}[2K\r[replay] \(done)/\(total) flows, \(seconds) s", newline: final)
    }
}
