import SwitchyardCapture
import SwitchyardPackets

/// One frame of a recording, numbered from 1 as Wireshark and tcpdump number them.
public struct RecordedFrame: Hashable, Sendable {
    public var number: Int
    public var timestamp: CaptureTimestamp
    public var bytes: [UInt8]
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
        do {
            let reader = try PcapReader(path: path)
            defer {
                if let truncation = reader.truncation {
                    warnings.append(truncation)
                }
            }
            while let record = try reader.next() {
                let number = frames.count + 1
                guard record.bytes.count == record.originalLength else {
                    throw ReplayError(.badRecording, "\(path): frame \(number) was cut to \(record.bytes.count) of \(record.originalLength) bytes (snapshot length): it cannot be replayed bit for bit")
                }
                guard record.bytes.count >= 14 else {
                    throw ReplayError(.badRecording, "\(path): frame \(number) has \(record.bytes.count) bytes, less than an Ethernet header")
                }
                frames.append(RecordedFrame(number: number, timestamp: record.timestamp, bytes: record.bytes))
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
        }
        var recording = Recording(path: path, frames: frames, manifest: manifest)
        recording.warnings = warnings
        return recording
    }

    /// A manifest belongs to a recording when some frame was sent from a MAC it names; one
    /// that names no sender of the file is refused (it would put the wrong endpoints under
    /// test). One written for a file of another name is only a warning: files get renamed.
    static func checkMatch(_ manifest: RecordingManifest, manifestPath: String, recordingPath: String, frames: [RecordedFrame]) throws(ReplayError) -> [String] {
        let named = Set(manifest.endpoints.compactMap { MACAddress($0.mac) })
        let senders = Set(frames.compactMap { MACAddress(bytes: $0.bytes, offset: 6) })
        if !named.isEmpty, named.isDisjoint(with: senders) {
            throw ReplayError(.badRecording, "\(manifestPath) does not match \(recordingPath): none of its endpoints' MACs sent a frame of the recording (pass the manifest written beside it with --manifest)")
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
