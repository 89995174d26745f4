import SwitchyardPackets
import SwitchyardReplay

/// The replay's comparator and the frame decoders on arbitrary frame pairs: a frame never
/// differs from itself, with no field masked two frames differ exactly when their bytes do,
/// masking never turns equal frames into different ones, and every report and summary is made
/// without a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = bytes.first else { return 0 }
    let rest = Array(bytes.dropFirst())
    let cut = rest.isEmpty ? 0 : Int(first) % (rest.count + 1)
    let a = Array(rest[..<cut])
    let b = Array(rest[cut...])
    // A mask chosen by the input: a few names from the list (and an option code).
    var masked: Set<String> = []
    for (index, name) in FrameFields.maskable.enumerated() where (Int(first) >> (index % 8)) & 1 == 1 && index % 5 == Int(first) % 5 {
        masked.insert(name == "dhcp.option.N" ? "dhcp.option.\(first)" : name)
    }
    let plain = FrameComparator(ignoring: [])
    let masking = FrameComparator(ignoring: masked)
    for frame in [a, b] {
        precondition(plain.difference(expected: frame, received: frame) == nil)
        precondition(masking.difference(expected: frame, received: frame) == nil)
        _ = FrameSummary.describe(frame)
        _ = FrameFields.layout(of: frame)
    }
    let difference = plain.difference(expected: a, received: b)
    precondition((difference == nil) == (a == b), "unmasked, frames differ exactly when their bytes do")
    if let difference {
        precondition(!difference.field.isEmpty)
        _ = difference.description
        _ = FrameComparator.hexContext(expected: a, received: b, offset: difference.offset)
    }
    if let masked = masking.difference(expected: a, received: b) {
        precondition(difference != nil, "masking never makes equal frames differ")
        _ = masked.description
    }
    return 0
}
