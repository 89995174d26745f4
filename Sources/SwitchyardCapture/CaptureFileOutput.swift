/// A capture file a tool writes frame by frame (`switchyard-sniff -w`, replay's `--write`): pcap
/// through libpcap or pcapng with one interface, the tool's endpoint.
public final class CaptureFileOutput {
    private let writer: any CaptureFileWriter
    private var sequence: UInt64 = 0

    /// Creates (truncates) `path` ("-" for stdout); `interface` names the pcapng interface.
    public init(path: String, format: CaptureFormat, snapshotLength: Int = CaptureConfiguration.defaultSnapshotLength, application: String, interface: String) throws(PcapError) {
        switch format {
        case .pcap:
            self.writer = try PcapDumper(path: path, snapshotLength: snapshotLength)
        case .pcapng:
            let section = PcapngWriter.Section.thisMachine(application: application, comment: nil)
            self.writer = try PcapngWriter(
                path: path, snapshotLength: snapshotLength, section: section,
                endpoints: [CaptureEndpoint(id: 0, name: interface, mac: "", kind: "promiscuous")]
            )
        }
    }

    public var path: String { self.writer.path }

    /// Appends one frame (of `originalLength` bytes on the wire, `bytes` of them captured). With
    /// pcapng, `endpoint` (else the tool's own interface) is the interface it is recorded on,
    /// and `note` its comment.
    public func write(
        _ bytes: UnsafeRawBufferPointer, originalLength: Int, timestamp: CaptureTimestamp,
        endpoint: CaptureEndpoint? = nil, direction: CaptureDirection = .inbound, note: String? = nil
    ) throws(PcapError) {
        if self.writer.wouldSpill(capturedLength: bytes.count, noteLength: note?.utf8.count ?? 0) {
            try self.writer.spill()
        }
        if let endpoint, !self.declared.contains(endpoint.id) {
            self.declared.insert(endpoint.id)
            self.writer.endpointAppeared(endpoint)
        }
        self.sequence += 1
        let record = CaptureBatch.Record(
            capturedLength: bytes.count, originalLength: originalLength, timestamp: timestamp,
            endpoint: endpoint?.id ?? 0, sequence: self.sequence, direction: direction, note: note == nil ? -1 : 0
        )
        try self.writer.write(bytes, record: record, note: note)
    }

    /// Endpoints whose interface is in the file.
    private var declared: Set<UInt32> = [0]

    public func flush() throws(PcapError) {
        try self.writer.flush()
    }

    public func close() throws(PcapError) {
        try self.writer.close()
    }
}
