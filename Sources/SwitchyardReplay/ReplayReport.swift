import SwitchyardPackets

/// What a replay found, flow by flow, and how to tell a person about it.
public struct ReplayReport: Sendable {
    public enum Verdict: Sendable {
        case matched
        case differed(FrameDifference, received: [UInt8])
        case missing
    }

    public struct ExpectedResult: Sendable {
        /// Index into `plan.flows`.
        public var flow: Int
        /// The recorded frame, its MACs mapped to the live ones.
        public var expected: RecordedFrame
        public var verdict: Verdict
        /// The masks that hid a difference in this comparison.
        public var hiddenBy: [String] = []
        /// Every field of the expected frame was masked.
        public var fullyMasked = false
    }

    public struct Unexpected: Sendable {
        /// The recorded flow it belongs to, if any.
        public var flow: Int?
        public var bytes: [UInt8]
    }

    public struct ConnectionResult: Sendable {
        public var flow: Int
        public var outcome: StreamOutcome
        public var serverBytes: Int
        public var expectedBytes: Int
        /// The masks that hid a difference in its stream (`http.header.date`).
        public var hiddenBy: [String] = []
        /// The HTTP fields its stream differs in; nil when no field names the difference.
        public var differingFields: [String]? = []
    }

    /// One mask and what it did in this run.
    public struct MaskUse: Hashable, Sendable {
        public var name: String
        /// Where it came from: `--ignore`.
        public var source: String
        /// Replies (and TCP connections) in which it hid a difference.
        public var hid = 0

        public init(name: String, source: String) {
            self.name = name
            self.source = source
        }
    }

    public var recordingPath: String
    public var plan: ReplayPlan
    public var masks: [MaskUse] = []
    /// Expected frames compared with what came, and of those, how many had every field masked.
    public var comparisons = 0
    public var fullyMaskedComparisons = 0
    public var playedFrames = 0
    public var results: [ExpectedResult] = []
    public var connections: [ConnectionResult] = []
    public var unexpected: [Unexpected] = []
    /// Live frames not compared: what hosts send on their own, and floods of no recorded flow.
    public var liveBackground = 0
    /// Kinds of live background the recording never had: worth a note, not a failure.
    public var newBackgroundKinds: [String] = []
    /// Expected endpoints that were not on the fabric when the replay began.
    public var absent: [String] = []
    /// Recorded expected frames left out by `--expect-filter`.
    public var filteredOut = 0
    /// With `--timing recorded`: the largest distance between a send and its schedule.
    public var worstSendDrift: Duration?
    public var elapsed: Duration = .zero
    /// Stopped by SIGINT/SIGTERM before every exchange was played.
    public var interrupted = false
    /// The recording's first timestamp, for the `+seconds` in reports.
    public var start: Int64

    public init(recordingPath: String, plan: ReplayPlan, start: Int64) {
        self.recordingPath = recordingPath
        self.plan = plan
        self.start = start
    }

    /// Masks that hid nothing in this run: stale, or hiding a field that never changes.
    public var staleMasks: [MaskUse] { self.masks.filter { $0.hid == 0 } }
    /// The masks left nothing to compare: every field of every compared frame was masked.
    public var masksHideEverything: Bool { self.comparisons > 0 && self.fullyMaskedComparisons == self.comparisons }

    /// The comparison of expected frame `index` with `received`: its verdict and what the masks did.
    mutating func record(_ comparison: FrameComparison, received: [UInt8], at index: Int) {
        if let difference = comparison.difference {
            self.results[index].verdict = .differed(difference, received: received)
        } else {
            self.results[index].verdict = .matched
        }
        self.results[index].hiddenBy = comparison.hiddenBy
        self.results[index].fullyMasked = comparison.fullyMasked
    }

    /// What each mask did over the final verdicts.
    mutating func tallyMasks() {
        let compared = self.results.filter { if case .missing = $0.verdict { false } else { true } }
        self.comparisons = compared.count
        self.fullyMaskedComparisons = compared.count { $0.fullyMasked }
        for index in self.masks.indices {
            let name = self.masks[index].name
            self.masks[index].hid = compared.count { $0.hiddenBy.contains(name) } + self.connections.count { $0.hiddenBy.contains(name) }
        }
    }

    public var matched: Int { self.results.count { if case .matched = $0.verdict { true } else { false } } }
    public var differed: Int { self.results.count { if case .differed = $0.verdict { true } else { false } } }
    public var missing: Int { self.results.count { if case .missing = $0.verdict { true } else { false } } }
    public var connectionsMatched: Int { self.connections.count { $0.outcome == .matched } }
    public var connectionsDiffered: Int { self.connections.count { if case .differed = $0.outcome { true } else { false } } }
    public var connectionsMissing: Int { self.connections.count { if case .missing = $0.outcome { true } else { false } } }
    public var connectionsSkipped: Int { self.plan.flows.count { $0.skipReason != nil } }

    /// Identical: every expected frame and stream as recorded, nothing extra, every expected
    /// endpoint present. A skipped connection is not identical either: it was not checked.
    public var isIdentical: Bool {
        !self.interrupted && self.differed == 0 && self.missing == 0 && self.unexpected.isEmpty && self.absent.isEmpty
            && self.connectionsDiffered == 0 && self.connectionsMissing == 0 && self.connectionsSkipped == 0
            && self.plan.cutFrames == 0
    }

    /// One line: what was played, then what happened to each expected frame (the counts add
    /// up to the expected count), each TCP connection, what came that was not expected, and
    /// what was not compared.
    public var summary: String {
        let prefix = self.interrupted ? "interrupted after playing" : "replayed"
        var line = "\(prefix) \(Self.count(self.playedFrames, "frame"))"
        let connections = self.plan.connectionCount + self.connectionsSkipped
        if connections > 0 {
            line += " and \(Self.count(connections, "TCP connection"))"
        }
        line += ", expected \(Self.count(self.results.count, "reply", plural: "replies")): \(self.matched) matched, \(self.differed) differed, \(self.missing) missing"
        if connections > 0 {
            line += "; streams: \(self.connectionsMatched) matched, \(self.connectionsDiffered) differed, \(self.connectionsMissing) missing"
            if self.connectionsSkipped > 0 {
                line += ", \(self.connectionsSkipped) skipped"
            }
        }
        line += "; \(self.unexpected.count) unexpected"
        if self.plan.cutFrames > 0 {
            line += "; \(Self.count(self.plan.cutFrames, "frame")) cut by the snapshot length, not replayed"
        }
        let background = self.plan.background.count + self.liveBackground
        if background > 0 {
            line += "; \(Self.count(background, "background frame")), not compared"
        }
        if !self.masks.isEmpty {
            line += "; masked: " + self.masks.map { "\($0.name) \($0.hid) (\($0.source)\($0.hid == 0 ? ", stale" : ""))" }.joined(separator: ", ")
        }
        return line
    }

    static func count(_ value: Int, _ singular: String, plural: String? = nil) -> String {
        "\(value) \(value == 1 ? singular : plural ?? singular + "s")"
    }

    /// The report's lines for one flow's differences, missing and unexpected frames.
    public func problems(ofFlow flow: Int) -> [String] {
        var lines: [String] = []
        for result in self.results where result.flow == flow {
            lines += self.lines(for: result)
        }
        for connection in self.connections where connection.flow == flow {
            switch connection.outcome {
            case .matched: break
            case .differed(let text): lines.append("\(self.plan.flows[flow].label) differs: \(text)")
            case .missing(let text): lines.append("\(self.plan.flows[flow].label) missing: \(text)")
            }
        }
        if let reason = self.plan.flows[flow].skipReason {
            lines.append("\(self.plan.flows[flow].label) skipped: \(reason)")
        }
        for frame in self.unexpected where frame.flow == flow {
            lines.append("unexpected in \(self.plan.flows[flow].label): \(FrameSummary.describe(frame.bytes))")
        }
        return lines
    }

    private func lines(for result: ExpectedResult) -> [String] {
        let label = "frame \(result.expected.number) (+\(self.offset(result.expected)) s)"
        switch result.verdict {
        case .matched:
            return []
        case .differed(let difference, let received):
            return ["\(label) differs: \(difference.description)",
                    "  expected: \(FrameSummary.describe(result.expected.bytes))",
                    "  received: \(FrameSummary.describe(received))"]
                + FrameComparator.hexContext(expected: result.expected.bytes, received: received, offset: difference.offset).map { "  " + $0 }
        case .missing:
            return ["\(label) missing: \(FrameSummary.describe(result.expected.bytes))"]
        }
    }

    /// One block per difference, missing or unexpected frame, flow by flow.
    public func details() -> [String] {
        var lines: [String] = []
        for name in self.absent {
            lines.append("\(name) is not on the fabric: its frames are missing")
        }
        for flow in self.plan.flows.indices {
            lines += self.problems(ofFlow: flow)
        }
        for frame in self.unexpected where frame.flow == nil {
            lines.append("unexpected: \(FrameSummary.describe(frame.bytes))")
        }
        for mask in self.staleMasks {
            lines.append("stale mask: \(mask.source) \(mask.name) hid nothing in this run")
        }
        for kind in self.newBackgroundKinds {
            lines.append("note: the live endpoints sent background the recording does not have (\(kind)); not compared")
        }
        return lines
    }

    func offset(_ frame: RecordedFrame) -> String {
        let nanoseconds = frame.timestamp.totalNanoseconds &- self.start
        let micros = nanoseconds / 1000
        return "\(micros / 1_000_000)." + DecimalText.zeroPadded(micros % 1_000_000, width: 6)
    }
}
