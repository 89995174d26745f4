import ArgumentParser
import SwitchyardCapture
import SwitchyardCaptureOptions
import SwitchyardCommandLine

/// The capture flags, named after tcpdump's and dumpcap's where a user would look for them.
struct CaptureOptions: ParsableArguments {
    @Option(name: .customLong("capture"), help: ArgumentHelp("Record every switched frame to this pcap file (- for stdout).", valueName: "file"))
    var path: String?

    @Option(name: .customLong("capture-format"), help: "pcap (libpcap's classic format, the default) or pcapng (one interface per endpoint); a .pcapng file name picks pcapng.")
    var format: CaptureFormat?

    @Option(name: .customLong("capture-points"), help: "ingress (each frame as it enters the fabric) or both (also each delivery, with what a rule did to it; pcapng only).")
    var points: CapturePoints = .ingress

    @Option(name: .customLong("capture-filter"), help: ArgumentHelp("Record only frames matching this BPF expression (tcpdump syntax).", valueName: "expression"))
    var filter: String?

    @Option(parsing: .unconditional, help: "Bytes of each frame to record.")
    var snaplen: Int = CaptureConfiguration.defaultSnapshotLength

    @Option(name: .customLong("capture-file-size"), parsing: .unconditional, help: ArgumentHelp("Start a new file when this one would pass this many megabytes (1,000,000 bytes, as tcpdump -C).", valueName: "MB"))
    var fileSizeMegabytes: Int?

    @Option(name: .customLong("capture-files"), parsing: .unconditional, help: ArgumentHelp("With rotation, keep only the newest N files.", valueName: "N"))
    var fileCount: Int?

    @Option(name: .customLong("capture-duration"), parsing: .unconditional, help: ArgumentHelp("Start a new file every this many seconds (as tcpdump -G).", valueName: "seconds"))
    var durationSeconds: Double?

    @Flag(name: [.customLong("packet-buffered"), .customShort("U")], help: "Flush the file after every frame instead of at least every 100 ms.")
    var packetBuffered = false

    @Option(name: .customLong("capture-buffer"), parsing: .unconditional, help: ArgumentHelp("Megabytes of frames waiting between switching and the file writer.", valueName: "MB"))
    var bufferMegabytes: Int = CaptureConfiguration.defaultBufferMegabytes

    @Option(name: .customLong("capture-overflow"), help: "When the capture buffer is full: block (pause clients, record every frame) or drop (count what is not recorded).")
    var overflow: CaptureConfiguration.OverflowPolicy = .block

    func validate() throws {
        guard let path = self.path else {
            let given = [
                self.filter != nil ? "--capture-filter" : nil,
                self.fileSizeMegabytes != nil ? "--capture-file-size" : nil,
                self.fileCount != nil ? "--capture-files" : nil,
                self.durationSeconds != nil ? "--capture-duration" : nil,
                self.packetBuffered ? "--packet-buffered" : nil,
                self.format != nil ? "--capture-format" : nil,
                self.points != .ingress ? "--capture-points" : nil,
            ].compactMap { $0 }
            if let first = given.first {
                throw ValidationError("\(first) needs --capture FILE")
            }
            return
        }
        guard !path.isEmpty else {
            throw ValidationError("--capture needs a file name (or - for stdout)")
        }
        if self.points == .both, self.resolvedFormat(path) != .pcapng {
            throw ValidationError("--capture-points both needs pcapng (--capture-format pcapng or a .pcapng file): classic pcap cannot say which way a frame went")
        }
        guard (1...262_144).contains(self.snaplen) else {
            throw ValidationError("--snaplen must be between 1 and 262144, got \(self.snaplen)")
        }
        if let size = self.fileSizeMegabytes, size < 1 {
            throw ValidationError("--capture-file-size must be at least 1 (MB), got \(size)")
        }
        if let duration = self.durationSeconds, !(duration > 0) {
            throw ValidationError("--capture-duration must be more than 0 seconds, got \(duration)")
        }
        if let count = self.fileCount {
            guard count >= 1 else {
                throw ValidationError("--capture-files must be at least 1, got \(count)")
            }
            guard self.fileSizeMegabytes != nil || self.durationSeconds != nil else {
                throw ValidationError("--capture-files needs --capture-file-size or --capture-duration (it keeps the newest N rotated files)")
            }
        }
        if path == "-", self.fileSizeMegabytes != nil || self.durationSeconds != nil {
            throw ValidationError("rotation (--capture-file-size, --capture-duration) needs a file, not stdout")
        }
        guard self.bufferMegabytes >= 1 else {
            throw ValidationError("--capture-buffer must be at least 1 (MB), got \(self.bufferMegabytes)")
        }
    }

    var configuration: CaptureConfiguration? {
        guard let path = self.path else { return nil }
        var configuration = CaptureConfiguration(path: path)
        configuration.filter = self.filter
        configuration.snapshotLength = self.snaplen
        configuration.fileSizeLimit = self.fileSizeMegabytes.map { Int64($0) * 1_000_000 }
        configuration.fileCount = self.fileCount
        configuration.fileDuration = self.durationSeconds
        configuration.packetBuffered = self.packetBuffered
        configuration.bufferBytes = self.bufferMegabytes * 1024 * 1024
        configuration.overflow = self.overflow
        configuration.format = self.resolvedFormat(path)
        configuration.points = self.points
        configuration.application = "switchyardd \(SwitchyardVersion.current)"
        return configuration
    }

    /// `--capture-format` when given, else what the file name implies (dumpcap's rule).
    func resolvedFormat(_ path: String) -> CaptureFormat {
        self.format ?? CaptureFormat.implied(by: path)
    }
}

extension CaptureConfiguration.OverflowPolicy: ExpressibleByArgument {}
