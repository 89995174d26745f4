/// The switching thread's side of the capture stage: copies each switched frame (up to the
/// snapshot length) into the read's batch and hands the batch to the ring once per read.
///
/// Confined to the fabric's event loop.
public final class CaptureTap {
    public let session: CaptureSession
    private let snapshotLength: Int
    private let policy: CaptureConfiguration.OverflowPolicy
    private var batch = CaptureBatch()
    /// Ring space seen at this read's first frame (drop policy): frames past it are dropped.
    private var room: (bytes: Int, frames: Int)?

    public init(session: CaptureSession) {
        self.session = session
        self.snapshotLength = session.configuration.snapshotLength
        self.policy = session.configuration.overflow
    }

    /// Records one switched frame.
    @inline(__always)
    public func record(_ frame: UnsafeRawBufferPointer, timestamp: CaptureTimestamp) {
        let captured = min(frame.count, self.snapshotLength)
        if self.policy == .drop {
            if self.room == nil {
                self.room = self.session.ring.room
            }
            if self.batch.byteCount + captured > self.room!.bytes || self.batch.frameCount >= self.room!.frames {
                self.session.countDropped(1)
                return
            }
        }
        self.batch.append(UnsafeRawBufferPointer(rebasing: frame[0..<captured]), originalLength: frame.count, timestamp: timestamp)
    }

    /// Notes an endpoint created on the fabric (for the manifest).
    public func endpointCreated(id: UInt32, name: String, mac: String, at timestamp: CaptureTimestamp) {
        self.batch.append(.created(RecordingManifest.Endpoint(id: id, name: name, mac: mac, createdNanoseconds: timestamp.totalNanoseconds)))
    }

    /// Notes the rules in force now (for the manifest).
    public func rulesChanged(_ rules: [String]) {
        self.batch.append(.rulesChanged(rules))
    }

    /// Notes an endpoint removed from the fabric.
    public func endpointClosed(id: UInt32, at timestamp: CaptureTimestamp) {
        self.batch.append(.closed(id: id, at: timestamp.totalNanoseconds))
    }

    /// Ends a read: hands its frames to the writer. Returns true when the fabric must stop
    /// reading from clients until the ring has room (`block` policy).
    public func commit() -> Bool {
        self.room = nil
        guard !self.batch.isEmpty else { return false }
        let full = self.session.ring.push(&self.batch)
        return full && self.policy == .block
    }
}

@available(*, unavailable)
extension CaptureTap: Sendable {}
