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
        /// The endpoint the frame came from (inbound) or went to (outbound): its pcapng interface.
        var endpoint: UInt32
        /// The fabric's number for the switched frame; its deliveries carry the same number.
        var sequence: UInt64
        var direction: CaptureDirection
        /// Index into `notes` of what a rule did to this delivery, or -1.
        var note: Int32
    }

    /// An endpoint appearing or going away, for the recording's manifest.
    public enum EndpointEvent: Sendable {
        /// With the kind of endpoint ("v1 client", "QEMU port", "VXLAN remote").
        case created(RecordingManifest.Endpoint, kind: String)
        case closed(id: UInt32, at: Int64)
        /// The rules in force changed (switchyard-ctl).
        case rulesChanged([String])
    }

    /// The frames' bytes: the first `byteCount`; past them, room kept from earlier reads
    /// (the batch is recycled), so that appending is one copy with no growth check per byte.
    private(set) var bytes: [UInt8] = []
    public private(set) var byteCount = 0
    private(set) var records: [Record] = []
    private(set) var events: [EndpointEvent] = []
    private(set) var notes: [String] = []

    public init() {}

    public var frameCount: Int { self.records.count }
    public var isEmpty: Bool { self.records.isEmpty && self.events.isEmpty }

    /// Copies the captured part of one frame.
    @inline(__always)
    public mutating func append(
        _ captured: UnsafeRawBufferPointer, originalLength: Int, timestamp: CaptureTimestamp,
        endpoint: UInt32 = 0, sequence: UInt64 = 0, direction: CaptureDirection = .inbound, note: String? = nil
    ) {
        var noteIndex: Int32 = -1
        if let note {
            noteIndex = Int32(self.notes.count)
            self.notes.append(note)
        }
        self.records.append(Record(
            offset: self.byteCount, capturedLength: captured.count, originalLength: originalLength, timestamp: timestamp,
            endpoint: endpoint, sequence: sequence, direction: direction, note: noteIndex
        ))
        let start = self.byteCount
        self.byteCount += captured.count
        if self.byteCount > self.bytes.count {
            self.grow()
        }
        if let base = captured.baseAddress, captured.count > 0 {
            self.bytes.withUnsafeMutableBytes { ($0.baseAddress! + start).copyMemory(from: base, byteCount: captured.count) }
        }
    }

    /// Room for at least `byteCount` bytes, doubling.
    @inline(never)
    private mutating func grow() {
        let target = max(self.byteCount, 2 * self.bytes.count, 64 * 1024)
        self.bytes += [UInt8](repeating: 0, count: target - self.bytes.count)
    }

    func note(of record: Record) -> String? {
        record.note >= 0 ? self.notes[Int(record.note)] : nil
    }

    public mutating func append(_ event: EndpointEvent) {
        self.events.append(event)
    }

    public mutating func removeAll() {
        self.byteCount = 0
        self.records.removeAll(keepingCapacity: true)
        self.events.removeAll(keepingCapacity: true)
        self.notes.removeAll(keepingCapacity: true)
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

/// Which way a recorded frame crossed its endpoint (pcapng's `epb_flags` direction).
public enum CaptureDirection: UInt8, Sendable {
    /// Sent by the endpoint into the fabric.
    case inbound = 1
    /// Delivered by the fabric to the endpoint.
    case outbound = 2
}
