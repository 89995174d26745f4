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

        let report = ReplayReport(recordingPath: recording.path, plan: plan, start: recording.frames[0].timestamp.totalNanoseconds)
        let expectedBytes = plan.steps.map { $0.expected.map { map.apply(to: $0.frame.bytes) } }
        let playedBytes = plan.steps.map { map.apply(to: $0.frame.bytes) }
        let pacing: ReplayEngine<ContinuousClock.Instant>.Pacing =
            self.options.topSpeed ? .topSpeed : self.options.timing == .recorded ? .recorded(speed: self.options.speed) : .gated
        var engine = ReplayEngine<ContinuousClock.Instant>(
            plan: plan, expectedBytes: expectedBytes, report: report, ourMACs: ourMACs,
            pacing: pacing, timeout: self.options.timeout, comparator: FrameComparator(ignoring: self.options.ignore)
        )

        // This side only moves bytes and waits: the engine decides.
        var actions = engine.start(now: clock.now)
        var reported = 0
        do {
            while !engine.isFinished {
                var wakeAt: ContinuousClock.Instant?
                for action in actions {
                    switch action {
                    case .send(let steps):
                        try client.send(frames: playedBytes[steps], from: endpointIDs[plan.steps[steps.lowerBound].sender])
                    case .wait(let until):
                        wakeAt = until
                    case .finished:
                        break
                    }
                }
                if engine.stepsDone != reported {
                    reported = engine.stepsDone
                    progress?(reported, plan.steps.count)
                }
                guard let wakeAt else { break }
                try Task.checkCancellation()
                let wait = clock.now.duration(to: wakeAt)
                if wait > .zero, let frame = try await client.nextFrame(timeout: wait) {
                    guard let receiver = receiverOfEndpoint[frame.endpointID] else { continue }
                    received?(frame.bytes)
                    actions = engine.received(frame.bytes, receiver: receiver, now: clock.now)
                    // Frames already here are taken before the engine is woken by time.
                    if actions.isEmpty {
                        actions = [.wait(until: wakeAt)]
                    }
                } else {
                    actions = engine.timePassed(now: clock.now)
                }
            }
        } catch is CancellationError {
            // SIGINT/SIGTERM: what was compared so far is the report.
            engine.interrupt()
        }
        var finalReport = engine.report
        finalReport.elapsed = began.duration(to: clock.now)
        return finalReport
    }

    private func createEndpoint(for participant: ReplayPlan.Participant, mac: MACAddress, on client: FabricClient) async throws -> EndpointRecord {
        do {
            return try await client.createEndpoint(name: participant.name, mac: mac)
        } catch let error as FabricClientError where Self.refusal(error, code: "mac_in_use", otherFabricsText: "mac already in use") {
            // Another endpoint has that MAC now: take a fresh one and map it.
            return try await client.createEndpoint(name: participant.name)
        } catch let error as FabricClientError where Self.refusal(error, code: "name_in_use", otherFabricsText: "endpoint name already exists") {
            throw ReplayError(.fabricRefused, "endpoint \(participant.name) already exists on the fabric: stop the client using it, or pass --expect \(participant.name) to test it instead of playing it")
        }
    }

    /// Whether `error` is the fabric's refusal `code`. A fabric that sends no codes (another
    /// v1 implementation) is understood by its words instead.
    static func refusal(_ error: FabricClientError, code: String, otherFabricsText: String) -> Bool {
        guard error.code == .fabricError else { return false }
        if let fabricCode = error.fabricCode {
            return fabricCode == code
        }
        return error.message.hasPrefix(otherFabricsText)
    }
}
