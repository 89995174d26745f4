import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire

/// Plays a recording's clients against the live services on a fabric and compares what the
/// services answer with what they answered when it was recorded.
public struct Replayer: Sendable {
    public var options: ReplayOptions

    public init(options: ReplayOptions) {
        self.options = options
    }

    /// Runs the replay. `received` sees every frame delivered to replay's endpoints (for
    /// `--write`); `progress` is told how many steps are done.
    /// `planned` sees the plan before the first frame is played (so a person learns at once
    /// that an expected endpoint is absent). Cancelled (SIGINT/SIGTERM), it stops and returns
    /// the report so far, marked `interrupted`.
    public func run(
        _ recording: Recording,
        planned: ((ReplayPlan) -> Void)? = nil,
        received: (([UInt8]) -> Void)? = nil,
        progress: ((Int, Int) -> Void)? = nil
    ) async throws(ReplayError) -> ReplayReport {
        let client: FabricClient
        do {
            let address: FabricAddress = self.options.unixPath.map { .unix(path: $0) } ?? .tcp(host: self.options.host, port: self.options.port)
            client = try await FabricClient.connect(to: address, clientName: "switchyard-replay")
        } catch {
            throw ReplayError(.noFabric, "\(error)")
        }
        do {
            // The exchanges run on the connection's event loop thread: no thread hop per frame.
            let report = try await withTaskExecutorPreference(client.taskExecutor) {
                try await self.run(recording, on: client, planned: planned, received: received, progress: progress)
            }
            await client.close()
            return report
        } catch {
            await client.close()
            if let error = error as? ReplayError {
                throw error
            }
            throw ReplayError(.fabricRefused, "\(error)")
        }
    }

    private func run(
        _ recording: Recording,
        on client: FabricClient,
        planned: ((ReplayPlan) -> Void)?,
        received: (([UInt8]) -> Void)?,
        progress: ((Int, Int) -> Void)?
    ) async throws -> ReplayReport {
        let clock = ContinuousClock()
        let began = clock.now

        // Which recorded endpoints are live now: they are the system under test.
        var liveRecords: [String: EndpointRecord] = [:]
        for endpoint in recording.manifest?.endpoints ?? [] where liveRecords[endpoint.name] == nil {
            if let record = try? await client.lookUp(name: endpoint.name) {
                liveRecords[endpoint.name] = record
            }
        }
        let plan = try ReplayPlan.make(recording: recording, live: Set(liveRecords.keys), play: self.options.play, expect: self.options.expect)
        planned?(plan)
        progress?(0, plan.steps.count)

        var map = MACMap()
        for participant in plan.expected {
            if let record = liveRecords[participant.name], let mac = MACAddress(record.mac) {
                for recorded in participant.allMACs {
                    map.map(recorded, to: mac)
                }
            }
        }
        for (old, new) in self.options.maps {
            map.map(old, to: new)
        }

        // Endpoints for the played clients, with their recorded names and (when free) MACs.
        var endpointIDs: [UInt32] = []
        var receiverOfEndpoint: [UInt32: Int] = [:]
        for (index, participant) in plan.played.enumerated() {
            let record = try await self.createEndpoint(for: participant, mac: map.translate(participant.recordedMAC), on: client)
            if let mac = MACAddress(record.mac) {
                for recorded in participant.allMACs {
                    map.map(recorded, to: mac)
                }
            }
            try await client.subscribe(endpointID: record.endpointID)
            endpointIDs.append(record.endpointID)
            receiverOfEndpoint[record.endpointID] = index
        }
        let ourMACs = Set(plan.played.map { map.translate($0.recordedMAC) })

        var report = ReplayReport(recordingPath: recording.path, plan: plan, start: recording.frames[0].timestamp.totalNanoseconds)
        var matcher = Matcher(receivers: plan.played.count, comparator: FrameComparator(ignoring: self.options.ignore))
        for (stepIndex, step) in plan.steps.enumerated() {
            for expected in step.expected {
                var frame = expected.frame
                frame.bytes = map.apply(to: frame.bytes)
                matcher.expect(frame, receiver: expected.receiver, step: stepIndex, in: &report)
            }
        }
        let playedBytes = plan.steps.map { map.apply(to: $0.frame.bytes) }

        func handle(_ frame: ReceivedFrame, step: Int) {
            guard let receiver = receiverOfEndpoint[frame.endpointID] else { return }
            received?(frame.bytes)
            guard let source = MACAddress(bytes: frame.bytes, offset: 6), !ourMACs.contains(source),
                  let destination = MACAddress(bytes: frame.bytes, offset: 0)
            else { return }
            // A flooded frame reaches every played endpoint: the first one speaks for all.
            if !ourMACs.contains(destination), receiver != 0 {
                return
            }
            matcher.arrived(frame.bytes, receiver: receiver, step: step, in: &report)
        }

        let timeout = self.options.timeout
        do {
            if self.options.topSpeed || self.options.timing == .recorded {
                let start = clock.now.advanced(by: .milliseconds(5))
                let first = plan.steps.first?.frame.timestamp.totalNanoseconds ?? 0
                var worstDrift = Duration.zero
                var index = 0
                while index < plan.steps.count {
                    try Task.checkCancellation()
                    if self.options.topSpeed {
                        // Consecutive frames of one sender go out in one write.
                        var end = index + 1
                        while end < plan.steps.count, plan.steps[end].sender == plan.steps[index].sender {
                            end += 1
                        }
                        try client.send(frames: playedBytes[index..<end], from: endpointIDs[plan.steps[index].sender])
                        report.playedFrames += end - index
                        index = end
                    } else {
                        // Recorded times are untrusted input: an out-of-range gap is clamped, not trapped on.
                        let offset = Double(plan.steps[index].frame.timestamp.totalNanoseconds &- first) / self.options.speed
                        let target = start.advanced(by: .nanoseconds(Int64(exactly: offset.rounded()) ?? (offset < 0 ? 0 : Int64.max / 4)))
                        let wait = clock.now.duration(to: target)
                        if wait > .zero {
                            // A timer on the event loop (timerfd): the send follows on the same
                            // thread, with no second wake-up in between.
                            let (seconds, attoseconds) = wait.components
                            try await client.eventLoop.scheduleTask(in: .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)) {}.futureResult.get()
                        }
                        try client.send(frame: playedBytes[index], from: endpointIDs[plan.steps[index].sender])
                        worstDrift = max(worstDrift, target.duration(to: clock.now))
                        report.playedFrames += 1
                        index += 1
                    }
                    while let frame = client.receivedFrame() {
                        handle(frame, step: index - 1)
                    }
                    progress?(index, plan.steps.count)
                }
                if !self.options.topSpeed {
                    report.worstSendDrift = worstDrift
                }
                let deadline = clock.now.advanced(by: timeout)
                while !matcher.isComplete, clock.now < deadline,
                      let frame = try await client.nextFrame(timeout: clock.now.duration(to: deadline)) {
                    handle(frame, step: plan.steps.count - 1)
                }
                matcher.giveUp(in: &report)
            } else {
                for (stepIndex, step) in plan.steps.enumerated() {
                    try Task.checkCancellation()
                    try client.send(frame: playedBytes[stepIndex], from: endpointIDs[step.sender])
                    report.playedFrames += 1
                    let deadline = clock.now.advanced(by: timeout)
                    while let frame = client.receivedFrame() {
                        handle(frame, step: stepIndex)
                    }
                    while !matcher.isStepComplete(stepIndex), clock.now < deadline,
                          let frame = try await client.nextFrame(timeout: clock.now.duration(to: deadline)) {
                        handle(frame, step: stepIndex)
                    }
                    matcher.giveUp(step: stepIndex, in: &report)
                    progress?(stepIndex + 1, plan.steps.count)
                }
            }
            // Late extras: anything more the services send shortly after the last exchange.
            let grace = clock.now.advanced(by: min(timeout, .milliseconds(100)))
            while clock.now < grace, let frame = try await client.nextFrame(timeout: clock.now.duration(to: grace)) {
                handle(frame, step: plan.steps.count - 1)
            }
        } catch is CancellationError {
            // SIGINT/SIGTERM: what was compared so far is the report.
            report.interrupted = true
        }
        report.elapsed = began.duration(to: clock.now)
        return report
    }

    private func createEndpoint(for participant: ReplayPlan.Participant, mac: MACAddress, on client: FabricClient) async throws -> EndpointRecord {
        do {
            return try await client.createEndpoint(name: participant.name, mac: mac)
        } catch let error as FabricClientError where error.code == .fabricError && error.message.hasPrefix("mac already in use") {
            // Another endpoint has that MAC now: take a fresh one and map it.
            return try await client.createEndpoint(name: participant.name)
        } catch let error as FabricClientError where error.code == .fabricError && error.message.hasPrefix("endpoint name already exists") {
            throw ReplayError(.fabricRefused, "endpoint \(participant.name) already exists on the fabric: stop the client using it, or pass --expect \(participant.name) to test it instead of playing it")
        }
    }
}

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
