/// What to record and how, as `switchyardd`'s capture flags say.
public struct CaptureConfiguration: Hashable, Sendable {
    public enum OverflowPolicy: String, Hashable, Sendable, CaseIterable {
        /// Stop reading from clients until the writer catches up: no frame goes unrecorded.
        case block
        /// Keep switching at full speed; count each frame that could not be recorded.
        case drop
    }

    /// The default snapshot length, tcpdump's: whole frames.
    public static let defaultSnapshotLength = 262_144
    /// The default ring size between switching and the writer (MiB).
    public static let defaultBufferMegabytes = 64
    /// The writer flushes at least this often by default (seconds).
    public static let flushInterval = 0.1

    /// The file to write, or "-" for stdout. With rotation, the base of the file names.
    public var path: String
    public var filter: String?
    public var snapshotLength = Self.defaultSnapshotLength
    /// Rotate when a file reaches this many bytes (tcpdump -C counts 1,000,000-byte units).
    public var fileSizeLimit: Int64?
    /// Keep only the newest N files (a ring, like tcpdump -W / dumpcap -b files:N).
    public var fileCount: Int?
    /// Rotate when a file is this many seconds old (tcpdump -G), checked as frames arrive.
    public var fileDuration: Double?
    /// Flush after every frame (tcpdump -U) instead of at least every 100 ms.
    public var packetBuffered = false
    public var bufferBytes = Self.defaultBufferMegabytes * 1024 * 1024
    /// At most this many frames wait in the ring, whatever their size.
    public var bufferFrames = 1_000_000
    public var overflow = OverflowPolicy.block
    /// The fabric's seed and rules at start, for the manifest (changes come as events).
    public var seed: UInt64 = 0
    public var rules: [String] = []
    public var format = CaptureFormat.pcap
    /// `both`: each delivery is recorded too (pcapng only, on the receiving endpoint's interface).
    public var points = CapturePoints.ingress
    /// Who wrote the file (pcapng's `shb_userappl`), e.g. "switchyardd 1.2.0".
    public var application = "switchyardd"

    public init(path: String) {
        self.path = path
    }

    /// True when files are cut into a numbered series.
    public var rotates: Bool { self.fileSizeLimit != nil || self.fileDuration != nil }
}
