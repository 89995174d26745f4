/// The frames one socket read switched, copied (up to the snapshot length) for the writer.
///
/// The switching thread fills a batch and hands it over whole, so the ring's lock is taken
/// once per read, not once per frame; batches are recycled, so steady capture allocates nothing.
/// Appending is the capture's whole cost on the switching thread, so the records and bytes live
/// in storage of the batch's own: one bounds check, one 40-byte record and one copy per frame,
/// with no array's uniqueness or capacity bookkeeping.
///
/// Sendable by hand-over: one thread at a time uses a batch (the tap fills it, the ring's lock
/// passes it to the writer, the writer gives it back through the same lock).
public final class CaptureBatch: @unchecked Sendable {
    /// One frame's place in the batch; its bytes follow the previous record's.
    struct Record: Sendable {
        var timestamp: CaptureTimestamp
        private var captured: UInt32
        private var original: UInt32
        /// The endpoint the frame came from (inbound) or went to (outbound): its pcapng interface.
        var endpoint: UInt32
        /// The fabric's number for the switched frame; its deliveries carry the same number.
        var sequence: UInt64
        /// Index into `notes` of what a rule did to this delivery, or -1.
        var note: Int32
        var direction: CaptureDirection

        init(
            capturedLength: Int, originalLength: Int, timestamp: CaptureTimestamp,
            endpoint: UInt32, sequence: UInt64, direction: CaptureDirection, note: Int32
        ) {
            self.timestamp = timestamp
            // Frames are at most 64 KiB; clamping only keeps a nonsense length from trapping.
            self.captured = UInt32(clamping: capturedLength)
            self.original = UInt32(clamping: originalLength)
            self.endpoint = endpoint
            self.sequence = sequence
            self.note = note
            self.direction = direction
        }

        var capturedLength: Int { Int(self.captured) }
        var originalLength: Int { Int(self.original) }
    }

    /// An endpoint appearing or going away, for the recording's manifest.
    public enum EndpointEvent: Sendable {
        /// With the kind of endpoint ("v1 client", "QEMU port", "VXLAN remote").
        case created(RecordingManifest.Endpoint, kind: String)
        case closed(id: UInt32, at: Int64)
        /// The rules in force changed (switchyard-ctl).
        case rulesChanged([String])
        /// A rule was added at the end: a change of its own, so that adding many rules one by
        /// one never copies the whole list per add.
        case ruleAdded(String)
    }

    private var records: UnsafeMutablePointer<Record>
    private(set) var recordCapacity: Int
    public private(set) var frameCount = 0
    /// The frames' bytes: the first `byteCount`; past them, room kept from earlier reads.
    private var bytes: UnsafeMutableRawPointer
    private(set) var byteCapacity: Int
    public private(set) var byteCount = 0
    private(set) var events: [EndpointEvent] = []
    private(set) var notes: [String] = []

    /// Bytes after which the tap hands a batch to the ring before its read ends. A read of a
    /// TAP device can hold 64 frames of 64 KiB; batches that size outgrew the spares the ring
    /// keeps, and the switching thread spent its time faulting in new ones.
    static let handOverBytes = 1 << 20
    /// The room a batch grows to: a hand-over's worth and the largest frame past it.
    static let fullRoom = handOverBytes + 256 * 1024

    public init() {
        self.recordCapacity = 1024
        self.records = .allocate(capacity: self.recordCapacity)
        self.byteCapacity = 64 * 1024
        self.bytes = .allocate(byteCount: self.byteCapacity, alignment: 16)
    }

    deinit {
        // Records are plain values: nothing to deinitialize.
        self.records.deallocate()
        self.bytes.deallocate()
    }

    public var isEmpty: Bool { self.frameCount == 0 && self.events.isEmpty }

    /// Copies the captured part of one frame.
    @inline(__always)
    public func append(
        _ captured: UnsafeRawBufferPointer, originalLength: Int, timestamp: CaptureTimestamp,
        endpoint: UInt32 = 0, sequence: UInt64 = 0, direction: CaptureDirection = .inbound, note: String? = nil
    ) {
        var noteIndex: Int32 = -1
        if let note {
            noteIndex = Int32(self.notes.count)
            self.notes.append(note)
        }
        let count = captured.count
        if self.frameCount == self.recordCapacity || self.byteCount + count > self.byteCapacity {
            self.grow(adding: count)
        }
        (self.records + self.frameCount).initialize(to: Record(
            capturedLength: count, originalLength: originalLength, timestamp: timestamp,
            endpoint: endpoint, sequence: sequence, direction: direction, note: noteIndex
        ))
        self.frameCount += 1
        if let base = captured.baseAddress, count > 0 {
            CaptureCopy.copy(to: self.bytes + self.byteCount, from: base, count: count)
        }
        self.byteCount += count
    }

    /// Room for one more record and `count` more bytes, each doubling.
    @inline(never)
    private func grow(adding count: Int) {
        if self.frameCount == self.recordCapacity {
            let capacity = 2 * self.recordCapacity
            let records = UnsafeMutablePointer<Record>.allocate(capacity: capacity)
            records.moveInitialize(from: self.records, count: self.frameCount)
            self.records.deallocate()
            self.records = records
            self.recordCapacity = capacity
        }
        if self.byteCount + count > self.byteCapacity {
            // Doubling, but not past a hand-over's worth (the tap hands a batch over at
            // `handOverBytes`): every recycled batch then has about the same room.
            let capacity = max(self.byteCount + count, min(2 * self.byteCapacity, Self.fullRoom))
            let bytes = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
            bytes.copyMemory(from: self.bytes, byteCount: self.byteCount)
            self.bytes.deallocate()
            self.bytes = bytes
            self.byteCapacity = capacity
        }
    }

    func note(of record: Record) -> String? {
        record.note >= 0 ? self.notes[Int(record.note)] : nil
    }

    public func append(_ event: EndpointEvent) {
        self.events.append(event)
    }

    /// Empties the batch, keeping its room.
    public func removeAll() {
        self.frameCount = 0
        self.byteCount = 0
        self.events.removeAll(keepingCapacity: true)
        self.notes.removeAll(keepingCapacity: true)
    }

    /// Calls `body` for each frame in order.
    @inline(__always)
    func forEach(_ body: (UnsafeRawBufferPointer, Record) -> Void) {
        var offset = 0
        for index in 0..<self.frameCount {
            let record = self.records[index]
            body(UnsafeRawBufferPointer(start: self.bytes + offset, count: record.capturedLength), record)
            offset += record.capturedLength
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
