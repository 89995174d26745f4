/// The frames one socket read switched, copied (up to the snapshot length) for the writer.
///
/// The switching thread fills a batch and hands it over whole, so the ring's lock is taken
/// once per read, not once per frame; batches are recycled, so steady capture allocates nothing.
public struct CaptureBatch: Sendable {
    struct Record: Sendable {
        var offset: Int
        var capturedLength: Int
        var originalLength: Int
        var timestamp: CaptureTimestamp
    }

    /// An endpoint appearing or going away, for the recording's manifest.
    public enum EndpointEvent: Sendable {
        case created(RecordingManifest.Endpoint)
        case closed(id: UInt32, at: Int64)
        /// The rules in force changed (switchyard-ctl).
        case rulesChanged([String])
    }

    private(set) var bytes: [UInt8] = []
    private(set) var records: [Record] = []
    private(set) var events: [EndpointEvent] = []

    public init() {}

    public var frameCount: Int { self.records.count }
    public var byteCount: Int { self.bytes.count }
    public var isEmpty: Bool { self.records.isEmpty && self.events.isEmpty }

    /// Copies the captured part of one frame.
    public mutating func append(_ captured: UnsafeRawBufferPointer, originalLength: Int, timestamp: CaptureTimestamp) {
        self.records.append(Record(offset: self.bytes.count, capturedLength: captured.count, originalLength: originalLength, timestamp: timestamp))
        self.bytes.append(contentsOf: captured)
    }

    public mutating func append(_ event: EndpointEvent) {
        self.events.append(event)
    }

    public mutating func removeAll() {
        self.bytes.removeAll(keepingCapacity: true)
        self.records.removeAll(keepingCapacity: true)
        self.events.removeAll(keepingCapacity: true)
    }

    /// Calls `body` for each frame in order.
    func forEach(_ body: (UnsafeRawBufferPointer, Record) -> Void) {
        self.bytes.withUnsafeBytes { all in
            for record in self.records {
                body(UnsafeRawBufferPointer(rebasing: all[record.offset..<(record.offset + record.capturedLength)]), record)
            }
        }
    }
}
