import SwitchyardCapture
import SwitchyardPackets
import SwitchyardReplay

/// The flow classifier, the roles, the plan, the engine and the TCP replayer on arbitrary
/// recordings: the input is frames (a length byte pair, then the frame), replayed against
/// themselves as the live side. Nothing traps, every expected frame gets one result, and the
/// counts in the report add up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    var frames: [RecordedFrame] = []
    var index = 0
    while index + 2 <= bytes.count, frames.count < 64 {
        let length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
        index += 2
        let end = min(bytes.count, index + length)
        var frame = Array(bytes[index..<end])
        index = end
        // Recording refuses runts; pad them as a capture would hold a short frame.
        while frame.count < 14 { frame.append(0) }
        frames.append(RecordedFrame(number: frames.count + 1, timestamp: CaptureTimestamp(totalNanoseconds: Int64(frames.count) * 1000), bytes: frame))
    }
    guard !frames.isEmpty else { return 0 }
    for frame in frames {
        _ = FrameClass.of(frame.bytes)
    }
    _ = RecordedConnection.read(frames)
    let recording = Recording(path: "fuzz.pcap", frames: frames, manifest: nil)
    guard let plan = try? ReplayPlan.make(recording: recording, play: [], expect: []) else { return 0 }
    let report = ReplayReport(recordingPath: "fuzz.pcap", plan: plan, start: 0)
    precondition(plan.flows.allSatisfy { $0.connection != nil || $0.skipReason != nil || !$0.events.isEmpty })
    var engine = ReplayEngine<ContinuousClock.Instant>(
        plan: plan, report: report, ourMACs: plan.played.map(\.recordedMAC), pacing: .gated, timeout: .milliseconds(50),
        comparator: FrameComparator(ignoring: [])
    )
    var now = ContinuousClock.now
    _ = engine.start(now: now)
    for (position, frame) in frames.enumerated() {
        _ = engine.received(frame.bytes, receiver: position % max(1, plan.played.count), now: now)
        if position % 4 == 3 {
            _ = engine.endOfBatch(now: now)
        }
    }
    // Time runs out: every wait ends, the replay finishes.
    for _ in 0..<(plan.flows.count * 8 + 16) where !engine.isFinished {
        now = now.advanced(by: .milliseconds(60))
        _ = engine.timePassed(now: now)
    }
    precondition(engine.isFinished, "a replay whose every wait timed out is over")
    let final = engine.report
    precondition(final.results.count == plan.expectedFrameCount)
    precondition(final.matched + final.differed + final.missing == final.results.count)
    _ = final.summary
    _ = final.details()
    _ = JUnitReport.xml(for: final, suiteName: "fuzz")
    return 0
}
