/// One capture file being written: classic pcap through libpcap (`PcapDumper`) or pcapng
/// (`PcapngWriter`). Both write the file's header at once, buffer whole records and reach the
/// file only in `flush`, so a killed process leaves a file that ends at a record boundary, and a
/// flush that fails keeps the records that reached the file whole and cuts the rest.
protocol CaptureFileWriter: AnyObject {
    var path: String { get }
    /// Bytes of the file, buffered ones included.
    var fileSize: Int64 { get }
    /// Bytes that reached the file at the last successful flush.
    var flushedSize: Int64 { get }
    /// Frames the last failed flush (or spill) lost: those written since the last good one but
    /// for the records that reached the file whole and were kept (a full disk keeps every
    /// record that fit).
    var framesLostAtFailure: UInt64 { get }
    var isRegularFile: Bool { get }
    /// Whether any frame record is in the file (rotation never leaves an empty file behind).
    var hasRecords: Bool { get }
    /// Whether records carry a comment (pcapng); classic pcap has nowhere to put one.
    static var recordsNotes: Bool { get }

    /// An endpoint the recording should name (pcapng: its interface).
    func endpointAppeared(_ endpoint: CaptureEndpoint)
    /// Bytes a record of this size takes in the file (for rotation by size).
    func recordLength(capturedLength: Int, noteLength: Int) -> Int
    /// True when a record of this size would not fit in the buffer: flush first.
    func wouldSpill(capturedLength: Int, noteLength: Int) -> Bool
    /// Appends one record; only the flush it may start can fail.
    func write(_ bytes: UnsafeRawBufferPointer, record: CaptureBatch.Record, note: String?) throws(PcapError)
    /// Writes every buffered record and returns once the file has them.
    func flush() throws(PcapError)
    /// Makes room for more records; the file may get them only at the next flush or spill,
    /// which then reports a failure.
    func spill() throws(PcapError)
    /// Writes what ends the file (pcapng: the statistics blocks), flushes and closes it.
    func close() throws(PcapError)
}

extension CaptureFileWriter {
    /// Writing formats that write at once spill by flushing.
    func spill() throws(PcapError) {
        try self.flush()
    }
}

/// What a recording says about an endpoint: its name, MAC and kind.
public struct CaptureEndpoint: Hashable, Sendable {
    public var id: UInt32
    public var name: String
    public var mac: String
    public var kind: String

    public init(id: UInt32, name: String, mac: String, kind: String) {
        self.id = id
        self.name = name
        self.mac = mac
        self.kind = kind
    }
}

/// How captured frames are stored: classic pcap (libpcap's dump API, the default) or pcapng.
public enum CaptureFormat: String, Hashable, Sendable, CaseIterable {
    case pcap
    case pcapng

    /// The format a file name asks for, as dumpcap decides: `.pcapng` (or `.ntar`) is pcapng.
    public static func implied(by path: String) -> CaptureFormat {
        let lower = path.lowercased()
        return lower.hasSuffix(".pcapng") || lower.hasSuffix(".pcapng.gz") || lower.hasSuffix(".ntar") ? .pcapng : .pcap
    }
}

/// Where frames are recorded: as they enter the fabric, or also as each delivery leaves it.
public enum CapturePoints: String, Hashable, Sendable, CaseIterable {
    case ingress
    case both
}
