#if canImport(Glibc)
import Glibc
#endif
import SwitchyardCapture
import SwitchyardReplay

/// Arbitrary bytes as a recording file (pcap or pcapng, through libpcap and our pcapng index)
/// and as a manifest; whatever loads is planned for replay. Nothing may crash; errors must be
/// reported as errors.
///
/// Nothing here outlives an input (no Foundation, no lazily made globals): LeakSanitizer's
/// check at exit sees only what the code under test leaked.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let directory = "/tmp/switchyard-fuzz-\(getpid())"
    mkdir(directory, 0o700)
    let capture = directory + "/input.pcap"
    let manifest = directory + "/input.manifest.json"
    // The first byte chooses: the input is a capture, a manifest, or both (split in half).
    let mode = bytes.first.map { $0 % 3 } ?? 0
    let body = Array(bytes.dropFirst())
    let half = body.count / 2
    unlink(manifest)
    switch mode {
    case 0:
        write(body, to: capture)
    case 1:
        write(validCapture(), to: capture)
        write(body, to: manifest)
    default:
        write(Array(body.prefix(half)), to: capture)
        write(Array(body.suffix(body.count - half)), to: manifest)
    }
    _ = try? RecordingManifest.load(path: manifest)
    _ = PcapngIndex.read(body)
    if let recording = try? Recording.load(path: capture) {
        _ = try? ReplayPlan.make(recording: recording, play: [], expect: [])
        _ = try? ReplayPlan.make(recording: recording, play: ["02:53:59:00:00:02"], expect: ["svc_echo"])
    }
    return 0
}

private func write(_ bytes: [UInt8], to path: String) {
    guard let file = fopen(path, "wb") else { return }
    bytes.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
    fclose(file)
}

/// A small good capture (two frames, nanosecond pcap), so manifests are fuzzed against real
/// frames. Made per input: a cached global would outlive the run.
private func validCapture() -> [UInt8] {
    var out: [UInt8] = []
    func le32(_ value: UInt32) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
    func le16(_ value: UInt16) { withUnsafeBytes(of: value.littleEndian) { out += $0 } }
    le32(0xA1B2_3C4D)  // nanosecond pcap
    le16(2)
    le16(4)
    le32(0)
    le32(0)
    le32(262_144)
    le32(1)  // Ethernet
    let frames: [[UInt8]] = [
        [2, 0x53, 0x59, 0, 0, 1, 2, 0x53, 0x59, 0, 0, 2, 0x88, 0xB5, 1, 2],
        [2, 0x53, 0x59, 0, 0, 2, 2, 0x53, 0x59, 0, 0, 1, 0x88, 0xB5, 3, 4],
    ]
    for (index, frame) in frames.enumerated() {
        le32(1_767_225_600 + UInt32(index))
        le32(0)
        le32(UInt32(frame.count))
        le32(UInt32(frame.count))
        out += frame
    }
    return out
}
