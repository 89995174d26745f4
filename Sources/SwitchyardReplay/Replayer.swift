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

        // Roles come from the recording; the fabric only says where the expected endpoints are now.
        var plan = try ReplayPlan.make(recording: recording, play: self.options.play, expect: self.options.expect)
        var map = MACMap()
        var absent: Set<Int> = []
        for (index, participant) in plan.expected.enumerated() where recording.manifest != nil {
            if let record = try? await client.lookUp(name: participant.name), let mac = MACAddress(record.mac) {
                for recorded in participant.allMACs {
                    map.map(recorded, to: mac)
                }
            } else {
                absent.insert(index)
            }
        }
        plan.notes += plan.played.map { "played \($0.name): \($0.reason)" }
        plan.notes += plan.expected.enumerated().map { index, participant in
            absent.contains(index)
                ? "expected \(participant.name): \(participant.reason); it is NOT on the fabric, so its frames will be missing"
                : "expected \(participant.name): \(participant.reason)"
        }
        plan.notes += plan.ignored.map { "not replayed \($0.name): \($0.reason)" }
        for (old, new) in self.options.maps {
            map.map(old, to: new)
        }

        // Endpoints for the played clients, with their recorded names and (when free) MACs.
        var endpointIDs: [UInt32] = []
        var receiverOfEndpoint: [UInt32: Int] = [:]
        var ourMACs: [MACAddress] = []
        for (index, participant) in plan.played.enumerated() {
            let record = try await self.createEndpoint(for: participant, mac: map.translate(participant.recordedMAC), on: client)
            let mac = MACAddress(record.mac) ?? participant.recordedMAC
            for recorded in participant.allMACs {
                map.map(recorded, to: mac)
            }
            try await client.subscribe(endpointID: record.endpointID)
            endpointIDs.append(record.endpointID)
            receiverOfEndpoint[record.endpointID] = index
            ourMACs.append(mac)
        }
        plan = plan.mapped(by: map)
        planned?(plan)
        progress?(0, plan.flows.count)

        let filter: PcapFilter?
        do {
            filter = try self.options.expectFilter.map { try PcapFilter(expression: $0) }
        } catch let error as PcapError {
            throw ReplayError(.badOptions, "--expect-filter: \(error.message)")
        }
        var report = ReplayReport(recordingPath: recording.path, plan: plan, start: recording.frames[0].timestamp.totalNanoseconds)
        report.absent = absent.sorted().map { plan.expected[$0].name }
        let pacing: ReplayEngine<ContinuousClock.Instant>.Pacing =
            self.options.topSpeed ? .topSpeed : self.options.timing == .recorded ? .recorded(speed: self.options.speed) : .gated
        var engine = ReplayEngine<ContinuousClock.Instant>(
            plan: plan, report: report, ourMACs: ourMACs, pacing: pacing, timeout: self.options.timeout,
            comparator: FrameComparator(ignoring: self.options.ignore), noise: self.options.noise, tcpShift: UInt32(truncatingIfNeeded: self.options.run) &* 0x4000_0000, absent: absent,
            isCompared: { bytes in filter?.matches(bytes) ?? true }
        )

        // This side only moves bytes and waits: the engine decides.
        var actions = engine.start(now: clock.now)
        var reported = 0
        do {
            while !engine.isFinished {
                var wakeAt: ContinuousClock.Instant?
                for action in actions {
                    switch action {
                    case .send(let frames, let from):
                        try client.send(frames: frames, from: endpointIDs[from])
                    case .wait(let until):
                        wakeAt = until
                    case .finished:
                        break
                    }
                }
                if engine.flowsDone != reported {
                    reported = engine.flowsDone
                    progress?(reported, plan.flows.count)
                }
                guard !engine.isFinished else { break }
                // The engine names its next wake-up; the timeout is only a backstop.
                let until = wakeAt ?? clock.now.advanced(by: self.options.timeout)
                try Task.checkCancellation()
                let wait = clock.now.duration(to: until)
                guard wait > .zero, var frame = try await client.nextFrame(timeout: wait) else {
                    actions = engine.timePassed(now: clock.now)
                    continue
                }
                // Everything that has arrived is taken as one batch, then acknowledged once.
                actions = []
                while true {
                    if let receiver = receiverOfEndpoint[frame.endpointID] {
                        received?(frame.bytes)
                        actions += engine.received(frame.bytes, receiver: receiver, now: clock.now)
                    }
                    guard actions.count < 256, let next = client.receivedFrame() else { break }
                    frame = next
                }
                actions += engine.endOfBatch(now: clock.now)
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
