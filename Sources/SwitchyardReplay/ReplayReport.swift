import SwitchyardPackets

/// What a replay found, frame by frame, and how to tell a person about it.
public struct ReplayReport: Sendable {
    public enum Verdict: Sendable {
        case matched
        case differed(FrameDifference, received: [UInt8])
        case missing
    }

    public struct ExpectedResult: Sendable {
        public var step: Int
        /// The recorded frame, its MACs mapped to the live ones.
        public var expected: RecordedFrame
        public var verdict: Verdict
    }

    public struct Unexpected: Sendable {
        public var step: Int
        public var bytes: [UInt8]
    }

    public var recordingPath: String
    public var plan: ReplayPlan
    public var playedFrames = 0
    public var results: [ExpectedResult] = []
    public var unexpected: [Unexpected] = []
    /// With `--timing recorded`: the largest distance between a send and its schedule.
    public var worstSendDrift: Duration?
    public var elapsed: Duration = .zero
    /// Stopped by SIGINT/SIGTERM before every exchange was played.
    public var interrupted = false
    /// The recording's first timestamp, for the `+seconds` in reports.
    public var start: Int64

    public var matched: Int { self.results.filter { if case .matched = $0.verdict { true } else { false } }.count }
    public var differed: Int { self.results.filter { if case .differed = $0.verdict { true } else { false } }.count }
    public var missing: Int { self.results.filter { if case .missing = $0.verdict { true } else { false } }.count }

    public var isIdentical: Bool { !self.interrupted && self.differed == 0 && self.missing == 0 && self.unexpected.isEmpty }

    /// One line: what was played, then what happened to each expected frame (the four
    /// counts add up to the expected count) and what came that was not expected.
    public var summary: String {
        let expected = self.results.count
        let prefix = self.interrupted ? "interrupted after playing" : "replayed"
        return "\(prefix) \(Self.count(self.playedFrames, "frame")), expected \(Self.count(expected, "reply", plural: "replies")): "
            + "\(self.matched) matched, \(self.differed) differed, \(self.missing) missing; \(self.unexpected.count) unexpected"
    }

    static func count(_ value: Int, _ singular: String, plural: String? = nil) -> String {
        "\(value) \(value == 1 ? singular : plural ?? singular + "s")"
    }

    /// One block per difference, missing or unexpected frame.
    public func details() -> [String] {
        var lines: [String] = []
        for result in self.results {
            let label = "frame \(result.expected.number) (+\(self.offset(result.expected)) s)"
            switch result.verdict {
            case .matched:
                continue
            case .differed(let difference, let received):
                lines.append("\(label) differs: \(difference.description)")
                lines.append("  expected: \(FrameSummary.describe(result.expected.bytes))")
                lines.append("  received: \(FrameSummary.describe(received))")
                lines += FrameComparator.hexContext(expected: result.expected.bytes, received: received, offset: difference.offset).map { "  " + $0 }
            case .missing:
                lines.append("\(label) missing: \(FrameSummary.describe(result.expected.bytes))")
            }
        }
        for frame in self.unexpected {
            let after = self.plan.steps.indices.contains(frame.step) ? " after frame \(self.plan.steps[frame.step].frame.number)" : ""
            lines.append("unexpected\(after): \(FrameSummary.describe(frame.bytes))")
        }
        return lines
    }

    func offset(_ frame: RecordedFrame) -> String {
        let nanoseconds = frame.timestamp.totalNanoseconds &- self.start
        let micros = nanoseconds / 1000
        return "\(micros / 1_000_000)." + DecimalText.zeroPadded(micros % 1_000_000, width: 6)
    }
}
