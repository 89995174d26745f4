import SwitchyardBase
import SwitchyardCapture
import SwitchyardPackets

/// One frame of a recording, numbered from 1 as Wireshark and tcpdump number them.
public struct RecordedFrame: Hashable, Sendable {
    public var number: Int
    public var timestamp: CaptureTimestamp
    public var bytes: [UInt8]
    /// The endpoint that sent it, when the file says (a pcapng interface name): exact, where a
    /// source MAC is only a guess (a learned MAC, a spoofed one).
    public var sender: String? = nil
    /// The frame's length on the wire when the capture kept less of it (snapshot length).
    public var originalLength: Int? = nil

    public init(number: Int, timestamp: CaptureTimestamp, bytes: [UInt8], sender: String? = nil) {
        self.number = number
        self.timestamp = timestamp
        self.bytes = bytes
        self.sender = sender
    }

    /// What the snapshot length took, for reports: `cut to 20 of 43 bytes by the snapshot length`.
    public var cutDescription: String? {
        self.originalLength.map { "cut to \(self.bytes.count) of \($0) bytes by the snapshot length" }
    }
}

/// A recorded session: its frames, in switching order, and its manifest if it has one.
public struct Recording: Sendable {
    public var path: String
    public var frames: [RecordedFrame]
    public var manifest: RecordingManifest?
    /// What a person should know about the file (a cut last record, a manifest that names
    /// another capture); the replay goes on.
    public var warnings: [String] = []

    public init(path: String, frames: [RecordedFrame], manifest: RecordingManifest?) {
        self.path = path
        self.frames = frames
        self.manifest = manifest
    }

    /// Reads a pcap or pcapng file and its manifest (`manifestPath`, else the one beside it if
    /// present). Errors name the file and the problem.
    public static func load(path: String, manifestPath: String? = nil) throws(ReplayError) -> Recording {
        var frames: [RecordedFrame] = []
        var warnings: [String] = []
        // pcapng says which endpoint sent each frame, and which records are deliveries.
        var index: PcapngIndex?
        // Only a pcapng file (its section header block, 0x0A0D0D0A) is read whole for it.
        if path != "-", case .success(let magic) = StdioFile.readPrefix(path, count: 4), magic == [0x0A, 0x0D, 0x0D, 0x0A],
           case .success(let bytes) = StdioFile.read(path) {
            index = PcapngIndex.read(bytes)
        }
        var packet = 0
        var cut = 0
        var firstCut = ""
        do {
            let reader = try PcapReader(path: path)
            defer {
                if let truncation = reader.truncation {
                    warnings.append(truncation)
                }
            }
            while let record = try reader.next() {
                packet += 1
                let number = packet
                if let index, packet - 1 < index.packets.count, index.packets[packet - 1].direction == CaptureDirection.outbound.rawValue {
                    // A delivery (`--capture-points both`): the frame is already here as it was sent.
                    continue
                }
                guard record.bytes.count >= 14 else {
                    throw ReplayError(.badRecording, "\(path): frame \(number) has \(record.bytes.count) bytes, less than an Ethernet header")
                }
                var frame = RecordedFrame(number: number, timestamp: record.timestamp, bytes: record.bytes, sender: index?.interface(ofPacket: packet - 1)?.name)
                if record.bytes.count < record.originalLength {
                    // Kept, so its flow is named; it is never played or compared bit for bit.
                    frame.originalLength = record.originalLength
                    cut += 1
                    if cut == 1 {
                        firstCut = "frame \(number) was \(frame.cutDescription!)"
                    }
                }
                frames.append(frame)
            }
        } catch let error as PcapError {
            throw ReplayError(.badRecording, error.message)
        } catch let error as ReplayError {
            throw error
        } catch {
            throw ReplayError(.badRecording, "\(path): \(error)")
        }
        guard !frames.isEmpty else {
            throw ReplayError(.badRecording, "\(path) holds no frames: nothing to replay")
        }
        if cut > 0 {
            warnings.append("\(path): \(firstCut)\(cut > 1 ? " (and \(cut - 1) more)" : ""): such frames are not replayed, and the replay cannot pass")
        }
        var manifest: RecordingManifest?
        let defaultManifest = RecordingManifest.path(forCapture: path)
        if let chosen = manifestPath ?? (FileProbe.exists(defaultManifest) ? defaultManifest : nil) {
            do {
                manifest = try RecordingManifest.load(path: chosen)
            } catch {
                throw ReplayError(.badRecording, error.message)
            }
            if let manifest {
                warnings += try Self.checkMatch(manifest, manifestPath: chosen, recordingPath: path, frames: frames)
            }
        } else if let index {
            manifest = Self.manifest(fromInterfacesOf: index, path: path)
        }
        var recording = Recording(path: path, frames: frames, manifest: manifest)
        recording.warnings = warnings
        return recording
    }

    /// A pcapng file written by switchyardd names its endpoints itself: interface name, and the
    /// MAC first in its description. Nil when no interface says both.
    static func manifest(fromInterfacesOf index: PcapngIndex, path: String) -> RecordingManifest? {
        var endpoints: [RecordingManifest.Endpoint] = []
        for (number, interface) in index.interfaces.enumerated() {
            guard let name = interface.name, !endpoints.contains(where: { $0.name == name }),
                  let first = interface.description?.split(separator: " ").first, let mac = MACAddress(String(first))
            else { continue }
            endpoints.append(RecordingManifest.Endpoint(id: UInt32(number + 1), name: name, mac: mac.description, createdNanoseconds: 0))
        }
        guard !endpoints.isEmpty else { return nil }
        let fileName = path.split(separator: "/").last.map(String.init) ?? path
        return RecordingManifest(capture: fileName, endpoints: endpoints, seed: 0, rules: [])
    }

    /// Slack around an endpoint's lifetime when matching frames to it. Both times come from
    /// the same fabric's clock, taken per read (creation before the frames, closing after),
    /// so this only absorbs rounding.
    static let lifetimeSlack: Int64 = 1_000_000

    /// A manifest belongs to a recording when some frame was sent from a MAC it names while
    /// that endpoint existed. One that covers no frame is refused (it would put the wrong
    /// endpoints under test); one written for a file of another name is only a warning: files
    /// get renamed.
    static func checkMatch(_ manifest: RecordingManifest, manifestPath: String, recordingPath: String, frames: [RecordedFrame]) throws(ReplayError) -> [String] {
        var lifetimes: [MACAddress: [(Int64, Int64)]] = [:]
        for endpoint in manifest.endpoints {
            guard let mac = MACAddress(endpoint.mac) else { continue }
            let end = endpoint.closedNanoseconds.map { $0 &+ Self.lifetimeSlack } ?? .max
            lifetimes[mac, default: []].append((endpoint.createdNanoseconds &- Self.lifetimeSlack, end))
        }
        let covers = frames.contains { frame in
            guard let source = MACAddress(bytes: frame.bytes, offset: 6) else { return false }
            let time = frame.timestamp.totalNanoseconds
            return lifetimes[source]?.contains { $0.0 <= time && time <= $0.1 } ?? false
        }
        if !manifest.endpoints.isEmpty, !covers {
            throw ReplayError(.badRecording, "\(manifestPath) does not match \(recordingPath): no frame of the recording was sent by one of its endpoints while it existed (pass the manifest written beside it with --manifest)")
        }
        let fileName = recordingPath.split(separator: "/").last.map(String.init) ?? recordingPath
        if manifest.capture != fileName {
            return ["\(manifestPath) was written for \(manifest.capture), not \(fileName)"]
        }
        return []
    }
}

/// Whether a path names an existing file (without Foundation's FileManager in this module's API).
enum FileProbe {
    static func exists(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
