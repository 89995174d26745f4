import Foundation

#if canImport(Glibc)
import Glibc
#endif
import SwitchyardCapture
import SwitchyardReplay

/// Arbitrary bytes as a recording file (through libpcap) and as a manifest; whatever loads is
/// planned for replay. Nothing may crash; errors must be reported as errors.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Data(bytes: data, count: size)
    let directory = FuzzFiles.directory
    let capture = directory + "/input.pcap"
    let manifest = directory + "/input.manifest.json"
    // The first byte chooses: the input is a capture, a manifest, or both (split in half).
    let mode = bytes.first.map { $0 % 3 } ?? 0
    let body = bytes.dropFirst()
    let half = body.count / 2
    unlink(manifest)
    switch mode {
    case 0:
        FuzzFiles.write(body, to: capture)
    case 1:
        FuzzFiles.write(FuzzFiles.validCapture, to: capture)
        FuzzFiles.write(body, to: manifest)
    default:
        FuzzFiles.write(body.prefix(half), to: capture)
        FuzzFiles.write(body.suffix(body.count - half), to: manifest)
    }
    _ = try? RecordingManifest.load(path: manifest)
    if let recording = try? Recording.load(path: capture) {
        _ = try? ReplayPlan.make(recording: recording, live: [], play: [], expect: [])
        _ = try? ReplayPlan.make(recording: recording, live: ["svc_echo"], play: ["02:53:59:00:00:02"], expect: [])
    }
    return 0
}

enum FuzzFiles {
    /// Writes with stdio: FileManager.createFile leaks on some paths, which LeakSanitizer
    /// would report as this harness's leak.
    static func write(_ data: Data, to path: String) {
        guard let file = fopen(path, "wb") else { return }
        data.withUnsafeBytes { _ = fwrite($0.baseAddress, 1, $0.count, file) }
        fclose(file)
    }

    static let directory: String = {
        let path = NSTemporaryDirectory() + "switchyard-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }()

    /// A small good capture (two frames), so manifests are fuzzed against real frames.
    static let validCapture: Data = {
        let path = directory + "/valid.pcap"
        if let dumper = try? PcapDumper(path: path, snapshotLength: 262_144) {
            let frames: [[UInt8]] = [
                [2, 0x53, 0x59, 0, 0, 1, 2, 0x53, 0x59, 0, 0, 2, 0x88, 0xB5, 1, 2],
                [2, 0x53, 0x59, 0, 0, 2, 2, 0x53, 0x59, 0, 0, 1, 0x88, 0xB5, 3, 4],
            ]
            for frame in frames {
                frame.withUnsafeBytes { try? dumper.write($0, originalLength: frame.count, timestamp: .now()) }
            }
            try? dumper.close()
        }
        // Read with stdio: Data(contentsOf:) leaks its buffer (LeakSanitizer reports it at exit).
        guard let file = fopen(path, "rb") else { return Data() }
        defer { fclose(file) }
        var bytes = [UInt8](repeating: 0, count: 1 << 16)
        let count = bytes.withUnsafeMutableBytes { fread($0.baseAddress, 1, $0.count, file) }
        return Data(bytes[..<count])
    }()
}
