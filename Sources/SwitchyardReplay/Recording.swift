import SwitchyardCapture

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

    public init(path: String, frames: [RecordedFrame], manifest: RecordingManifest?) {
        self.path = path
        self.frames = frames
        self.manifest = manifest
    }

    /// Reads a pcap or pcapng file and its manifest (`manifestPath`, else the one beside it if
    /// present). Errors name the file and the problem.
    public static func load(path: String, manifestPath: String? = nil) throws(ReplayError) -> Recording {
        var frames: [RecordedFrame] = []
        do {
            let reader = try PcapReader(path: path)
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
        if let manifestPath {
            do {
                manifest = try RecordingManifest.load(path: manifestPath)
            } catch {
                throw ReplayError(.badRecording, error.message)
            }
        } else if FileProbe.exists(defaultManifest) {
            do {
                manifest = try RecordingManifest.load(path: defaultManifest)
            } catch {
                throw ReplayError(.badRecording, error.message)
            }
        }
        return Recording(path: path, frames: frames, manifest: manifest)
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
