import SwitchyardCapture
import SwitchyardClient
import SwitchyardPackets
import SwitchyardServices
import SwitchyardWire

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The sniffer: a promiscuous subscriber that prints one tcpdump-like line per frame, or
/// writes the frames to a pcap or pcapng file; it reads recordings the same way.
public final class Sniffer {
    private let filter: PcapFilter?
    private let limit: Int?
    private let writer: CaptureFileOutput?
    private let output: (String) -> Void
    /// Push each frame to the file at once (a live view reads the other end of a pipe).
    public var flushesEachFrame = false
    /// Frames that passed the filter.
    public private(set) var frameCount = 0

    /// `writer`, when given, receives the frames instead of `output` (like tcpdump -w).
    public init(filter: PcapFilter?, limit: Int?, writer: CaptureFileOutput?, output: @escaping (String) -> Void) {
        self.filter = filter
        self.limit = limit
        self.writer = writer
        self.output = output
    }

    private var isDone: Bool {
        self.limit.map { self.frameCount >= $0 } ?? false
    }

    /// Creates endpoint `name`, subscribes to it promiscuously and handles frames until the
    /// limit is reached, the connection closes or the task is cancelled.
    public func sniff(on client: FabricClient, endpointName name: String, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(name, on: client, promiscuous: true)
        ready(me.record)
        guard !self.isDone else { return }
        for try await frame in client.frames {
            try self.handle(frame.bytes, originalLength: frame.bytes.count, timestamp: .now())
            if self.isDone {
                return
            }
        }
    }

    /// Handles every record of a recording (until the limit).
    public func read(_ reader: PcapReader) throws(PcapError) {
        while !self.isDone, let record = try reader.next() {
            try self.handle(record.bytes, originalLength: record.originalLength, timestamp: record.timestamp)
        }
    }

    private func handle(_ bytes: [UInt8], originalLength: Int, timestamp: CaptureTimestamp) throws(PcapError) {
        if let filter = self.filter {
            let matches = bytes.withUnsafeBytes { filter.matches($0, originalLength: originalLength) }
            guard matches else { return }
        }
        self.frameCount += 1
        if let writer = self.writer {
            var failure: PcapError?
            bytes.withUnsafeBytes { raw in
                do throws(PcapError) {
                    try writer.write(raw, originalLength: originalLength, timestamp: timestamp)
                    if self.flushesEachFrame {
                        try writer.flush()
                    }
                } catch {
                    failure = error
                }
            }
            if let failure {
                throw failure
            }
        } else {
            self.output("\(Self.timeOfDay(timestamp)) \(FrameSummary.describe(bytes, originalLength: originalLength))")
        }
    }

    /// `HH:MM:SS.nnnnnnnnn` in local time, as `tcpdump --nano` prints it.
    public static func timeOfDay(_ timestamp: CaptureTimestamp) -> String {
        var seconds = time_t(timestamp.seconds)
        var parts = tm()
        localtime_r(&seconds, &parts)
        let clock = [parts.tm_hour, parts.tm_min, parts.tm_sec].map { DecimalText.zeroPadded($0, width: 2) }.joined(separator: ":")
        return clock + "." + DecimalText.zeroPadded(timestamp.nanoseconds, width: 9)
    }
}
