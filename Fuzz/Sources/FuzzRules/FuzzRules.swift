import SwitchyardBase
import SwitchyardFabric
import SwitchyardRules

/// Any text into the rules parser: a rule or a clear error, never a trap. A rule's canonical
/// text parses back to the same rule. Rules that compile then decide for frames made of the
/// rest of the input: every decision is well formed and the counters add up.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let split = bytes.firstIndex(of: 0x0A) ?? bytes.count
    let text = String(decoding: bytes[..<split], as: UTF8.self)
    let rule: Rule?
    do {
        rule = try RuleParser.parse(text)
    } catch {
        precondition(!error.message.isEmpty, "an error says what is wrong")
        return 0
    }
    guard let rule else { return 0 }
    let again = try? RuleParser.parse(rule.description)
    precondition(again == rule, "the canonical text parses back to the same rule: \(rule)")

    var rules = RuleSet(seed: UInt64(bytes.count))
    guard (try? rules.add(rule)) != nil else { return 0 }
    for (id, name) in [(UInt32(1), "a"), (2, "b"), (3, rule.from ?? "c"), (4, rule.to ?? "d")] {
        rules.endpointAppeared(id: id, name: name)
    }
    let rest = Array(bytes[min(split + 1, bytes.count)...])
    var frameNumber: UInt64 = 0
    var start = 0
    while start < rest.count {
        let length = min(rest.count - start, max(14, Int(rest[start])))
        let frame = Array(rest[start..<(start + length)])
        start += length
        frameNumber += 1
        for (sender, destination) in [(UInt32(3), UInt32(4)), (1, 2), (4, 3)] {
            let now = MonotonicInstant(nanoseconds: Int64(frameNumber) * 1_000_000)
            let verdict = frame.withUnsafeBytes { rules.verdict(sender: sender, destination: destination, frame: $0, frameNumber: frameNumber, now: now) }
            guard case .decided(let decision) = verdict else { continue }
            precondition(decision.copies == 1 || decision.copies == 2)
            precondition(decision.delay >= .zero, "no frame leaves before it came")
            if let corruption = decision.corruption {
                precondition(corruption.offset >= 0 && corruption.offset < frame.count && corruption.mask.nonzeroBitCount == 1)
            }
        }
    }
    let counters = rules.entries[0].counters
    precondition(counters.dropped <= counters.matched && counters.duplicated <= counters.matched && counters.delayed <= counters.matched)
    return 0
}
