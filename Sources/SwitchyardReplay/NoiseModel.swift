import SwitchyardCapture

/// What varies between runs of the same services that is not a regression: the fields that
/// differed between a recording and its replays, per kind of flow, learned by replaying it
/// (`--learn-noise N`) and kept beside it as `NAME.noise.json` for later replays to mask.
public struct NoiseModel: Hashable, Sendable, Codable {
    public struct Entry: Hashable, Sendable, Codable, Comparable {
        /// The kind of flow it varies in (`FlowKey.Kind.name`: `tcp`, `dns`, `udp`, …).
        public var flows: String
        /// The field, as `--ignore` names it (`ipv4.id`, `http.header.date`).
        public var field: String
        /// In how many of the runs it differed.
        public var runs: Int

        public static func < (lhs: Entry, rhs: Entry) -> Bool {
            (lhs.flows, lhs.field) < (rhs.flows, rhs.field)
        }
    }

    public var version = 1
    /// The recording's file name, for a person reading the file.
    public var recording: String
    /// Runs it was learned from.
    public var runs = 0
    /// Sorted by kind of flow, then field: stable for a diff.
    public var noise: [Entry] = []

    public init(recording: String) {
        self.recording = recording
    }

    /// `dir/NAME.noise.json` for `dir/NAME.pcap` (or `.pcapng`).
    public static func path(forRecording recordingPath: String) -> String {
        RecordingManifest.sibling(ofCapture: recordingPath, suffix: ".noise.json")
    }

    /// The masks for one kind of flow.
    public func fields(for kind: String) -> Set<String> {
        Set(self.noise.filter { $0.flows == kind }.map(\.field))
    }

    /// Every kind of flow and its fields.
    public var byKind: [String: Set<String>] {
        Dictionary(grouping: self.noise, by: \.flows).mapValues { Set($0.map(\.field)) }
    }

    public struct LearningFailed: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// Adds one replay's report. A run that went wrong outright (a service absent, replies or
    /// connections missing, a reset, a difference no field names) teaches nothing: it throws.
    public mutating func learn(from report: ReplayReport) throws(LearningFailed) {
        let run = self.runs + 1
        if report.interrupted {
            throw LearningFailed(description: "run \(run) was interrupted")
        }
        if let name = report.absent.first {
            throw LearningFailed(description: "run \(run): \(name) is not on the fabric")
        }
        if report.missing > 0 || report.connectionsMissing > 0 {
            throw LearningFailed(description: "run \(run): \(report.missing + report.connectionsMissing) expected replies or connections missing; noise is learned from runs that complete")
        }
        let comparator = FrameComparator(ignoring: [])
        var seen: Set<Entry> = []
        for result in report.results {
            guard case .differed(_, let received) = result.verdict else { continue }
            let kind = report.plan.flows[result.flow].key.kind.name
            for field in comparator.differingFields(expected: result.expected.bytes, received: received) {
                seen.insert(Entry(flows: kind, field: field, runs: 0))
            }
        }
        for connection in report.connections {
            guard case .differed(let text) = connection.outcome else { continue }
            guard let fields = connection.differingFields, !fields.isEmpty, !text.contains("reset") else {
                throw LearningFailed(description: "run \(run): \(report.plan.flows[connection.flow].label) differs in a way no field names: \(text)")
            }
            let kind = report.plan.flows[connection.flow].key.kind.name
            for field in fields {
                seen.insert(Entry(flows: kind, field: field, runs: 0))
            }
        }
        self.runs = run
        for entry in seen {
            if let index = self.noise.firstIndex(where: { $0.flows == entry.flows && $0.field == entry.field }) {
                self.noise[index].runs += 1
            } else {
                self.noise.append(Entry(flows: entry.flows, field: entry.field, runs: 1))
            }
        }
        self.noise.sort()
    }
}
