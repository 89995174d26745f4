/// The switching thread's side of the capture stage: copies each switched frame (up to the
/// snapshot length) into the read's batch and hands the batch to the ring once per read (and
/// every `CaptureBatch.handOverBytes` within a large one).
///
/// Confined to the fabric's event loop.
public final class CaptureTap {
    public let session: CaptureSession
    private let snapshotLength: Int
    private let policy: CaptureConfiguration.OverflowPolicy
    private var batch = CaptureBatch() {
        didSet { self.filling = .passUnretained(self.batch) }
    }
    /// `batch`, used per frame without reference counting: `batch` holds it until it is
    /// replaced at the end of the read.
    private var filling: Unmanaged<CaptureBatch>
    /// Whether each delivery is recorded too (`--capture-points both`).
    public let recordsDeliveries: Bool
    /// The fabric's number of the frame being switched.
    private var sequence: UInt64 = 0
    /// Deliveries of the frame being switched, recorded after it (they happen first).
    private var deliveries = CaptureBatch()
    /// Ring space seen at this read's first frame (drop policy): frames past it are dropped.
    private var room: (bytes: Int, frames: Int)?
    /// A hand-over during this read found the ring full.
    private var filledRing = false

    public init(session: CaptureSession) {
        self.session = session
        self.snapshotLength = session.configuration.snapshotLength
        self.policy = session.configuration.overflow
        self.recordsDeliveries = session.configuration.points == .both
        self.filling = .passUnretained(self.batch)
    }

    /// Records one switched frame, sent by endpoint `sender`, then its deliveries.
    @inline(__always)
    public func record(_ frame: UnsafeRawBufferPointer, timestamp: CaptureTimestamp, sender: UInt32) {
        self.sequence &+= 1
        self.append(frame, timestamp: timestamp, endpoint: sender, direction: .inbound, note: nil)
        if self.recordsDeliveries, !self.deliveries.isEmpty {
            self.deliveries.forEach { bytes, record in
                self.append(bytes, timestamp: record.timestamp, endpoint: record.endpoint, direction: .outbound, note: self.deliveries.note(of: record), originalLength: record.originalLength)
            }
            self.deliveries.removeAll()
        }
    }

    /// Records a delivery of the frame being switched to `receiver` (`--capture-points both`),
    /// with what a rule did to it.
    public func recordDelivery(_ frame: UnsafeRawBufferPointer, timestamp: CaptureTimestamp, receiver: UInt32, note: String?) {
        let captured = min(frame.count, self.snapshotLength)
        self.deliveries.append(
            UnsafeRawBufferPointer(rebasing: frame[0..<captured]), originalLength: frame.count, timestamp: timestamp,
            endpoint: receiver, sequence: self.sequence &+ 1, direction: .outbound, note: note
        )
    }

    /// Forgets deliveries recorded for a frame that was not switched after all.
    public func discardDeliveries() {
        if !self.deliveries.isEmpty {
            self.deliveries.removeAll()
        }
    }

    @inline(__always)
    private func append(_ frame: UnsafeRawBufferPointer, timestamp: CaptureTimestamp, endpoint: UInt32, direction: CaptureDirection, note: String?, originalLength: Int? = nil) {
        let captured = min(frame.count, self.snapshotLength)
        if self.policy == .drop {
            if self.room == nil {
                self.room = self.session.ring.room
            }
            let filled = self.filling._withUnsafeGuaranteedRef { ($0.byteCount, $0.frameCount) }
            if filled.0 + captured > self.room!.bytes || filled.1 >= self.room!.frames {
                self.session.countDropped(1)
                return
            }
        }
        let sequence = self.sequence
        // The unretained batch's invariant (docs/architecture.md, "Unsafe code").
        assert(self.filling.takeUnretainedValue() === self.batch, "the capture tap fills a batch it no longer holds")
        let handOver = self.filling._withUnsafeGuaranteedRef {
            $0.append(
                UnsafeRawBufferPointer(rebasing: frame[0..<captured]), originalLength: originalLength ?? frame.count, timestamp: timestamp,
                endpoint: endpoint, sequence: sequence, direction: direction, note: note
            )
            return $0.byteCount >= CaptureBatch.handOverBytes
        }
        if handOver {
            self.handOver()
        }
    }

    /// Hands the batch filled so far to the ring in the middle of a read.
    @inline(never)
    private func handOver() {
        if let room = self.room {
            // What this read may still add (drop policy): the room less what it has handed over.
            self.room = (room.bytes - self.batch.byteCount, room.frames - self.batch.frameCount)
        }
        if self.session.ring.push(&self.batch) {
            self.filledRing = true
        }
    }

    /// Notes an endpoint created on the fabric (for the manifest).
    public func endpointCreated(id: UInt32, name: String, mac: String, kind: String, at timestamp: CaptureTimestamp) {
        self.batch.append(.created(RecordingManifest.Endpoint(id: id, name: name, mac: mac, createdNanoseconds: timestamp.totalNanoseconds), kind: kind))
    }

    /// Notes the rules in force now (for the manifest).
    public func rulesChanged(_ rules: [String]) {
        self.batch.append(.rulesChanged(rules))
    }

    /// Notes a rule added after the others.
    public func ruleAdded(_ rule: String) {
        self.batch.append(.ruleAdded(rule))
    }

    /// Notes an endpoint removed from the fabric.
    public func endpointClosed(id: UInt32, at timestamp: CaptureTimestamp) {
        self.batch.append(.closed(id: id, at: timestamp.totalNanoseconds))
    }

    /// Ends a read: hands its frames to the writer. Returns true when the fabric must stop
    /// reading from clients until the ring has room (`block` policy).
    public func commit() -> Bool {
        self.room = nil
        let filled = self.filledRing
        self.filledRing = false
        guard !self.batch.isEmpty else { return filled && self.policy == .block }
        let full = self.session.ring.push(&self.batch)
        return (full || filled) && self.policy == .block
    }
}

@available(*, unavailable)
extension CaptureTap: Sendable {}
