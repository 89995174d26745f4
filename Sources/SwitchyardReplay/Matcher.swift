import SwitchyardPackets

/// Matches arriving frames against the expected ones, per receiving endpoint, in order.
struct Matcher {
    private var queues: [[Int]]
    private var heads: [Int]
    private var stepOfResult: [Int] = []
    private var outstandingPerStep: [Int: Int] = [:]
    private var outstanding = 0
    private let comparator: FrameComparator

    init(receivers: Int, comparator: FrameComparator) {
        self.queues = Array(repeating: [], count: receivers)
        self.heads = Array(repeating: 0, count: receivers)
        self.comparator = comparator
    }

    var isComplete: Bool { self.outstanding == 0 }

    func isStepComplete(_ step: Int) -> Bool { (self.outstandingPerStep[step] ?? 0) == 0 }

    mutating func expect(_ frame: RecordedFrame, receiver: Int, step: Int, in report: inout ReplayReport) {
        self.queues[receiver].append(report.results.count)
        report.results.append(ReplayReport.ExpectedResult(step: step, expected: frame, verdict: .missing))
        self.stepOfResult.append(step)
        self.outstandingPerStep[step, default: 0] += 1
        self.outstanding += 1
    }

    mutating func arrived(_ bytes: [UInt8], receiver: Int, step: Int, in report: inout ReplayReport) {
        guard self.heads[receiver] < self.queues[receiver].count else {
            report.unexpected.append(ReplayReport.Unexpected(step: step, bytes: bytes))
            return
        }
        let index = self.queues[receiver][self.heads[receiver]]
        self.heads[receiver] += 1
        self.settle(index)
        if let difference = self.comparator.difference(expected: report.results[index].expected.bytes, received: bytes) {
            report.results[index].verdict = .differed(difference, received: bytes)
        } else {
            report.results[index].verdict = .matched
        }
    }

    /// The step's frames that have not come are missing; later frames no longer wait for them.
    mutating func giveUp(step: Int, in report: inout ReplayReport) {
        for receiver in self.queues.indices {
            while self.heads[receiver] < self.queues[receiver].count, self.stepOfResult[self.queues[receiver][self.heads[receiver]]] == step {
                self.settle(self.queues[receiver][self.heads[receiver]])
                self.heads[receiver] += 1
            }
        }
    }

    mutating func giveUp(in report: inout ReplayReport) {
        for receiver in self.queues.indices {
            while self.heads[receiver] < self.queues[receiver].count {
                self.settle(self.queues[receiver][self.heads[receiver]])
                self.heads[receiver] += 1
            }
        }
    }

    private mutating func settle(_ index: Int) {
        self.outstandingPerStep[self.stepOfResult[index], default: 1] -= 1
        self.outstanding -= 1
    }
}
