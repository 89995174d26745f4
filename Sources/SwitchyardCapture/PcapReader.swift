import CPcap

/// One record read from a capture file.
public struct PcapRecord: Hashable, Sendable {
    public var timestamp: CaptureTimestamp
    /// The frame's length on the wire; `bytes` may be shorter (snapshot length).
    public var originalLength: Int
    public var bytes: [UInt8]

    public init(timestamp: CaptureTimestamp, originalLength: Int, bytes: [UInt8]) {
        self.timestamp = timestamp
        self.originalLength = originalLength
        self.bytes = bytes
    }
}

/// Reads a pcap or pcapng file through libpcap, with nanosecond timestamps whatever the file's
/// own precision.
public final class PcapReader {
    public let path: String
    private let handle: OpaquePointer
    /// Records returned so far.
    public private(set) var recordsRead = 0
    /// Set when the file ended inside a record (a writer killed mid-record, a copy cut short):
    /// what libpcap said, for a warning. Reading stops before that record, as tcpdump does.
    public private(set) var truncation: String?

    /// Opens `path` ("-" reads stdin). Only Ethernet captures are accepted unless
    /// `requireEthernet` is false.
    public init(path: String, requireEthernet: Bool = true) throws(PcapError) {
        self.path = path
        self.handle = try Pcap.call(.cannotOpenFile, "cannot read \(path)") { errorBuffer in
            pcap_open_offline_with_tstamp_precision(path, UInt32(PCAP_TSTAMP_PRECISION_NANO), errorBuffer)
        }
        if requireEthernet, pcap_datalink(self.handle) != Pcap.linkTypeEthernet {
            // deinit still runs (every property is set) and closes the handle.
            let name = pcap_datalink_val_to_name(pcap_datalink(self.handle)).map { String(cString: $0) } ?? "\(pcap_datalink(self.handle))"
            throw PcapError(.unsupportedLinkType, "\(path): link type \(name), but Switchyard records Ethernet (EN10MB)")
        }
    }

    deinit {
        pcap_close(self.handle)
    }

    /// The next record, or nil at the end of the file. A damaged file throws `.badFile`.
    public func next() throws(PcapError) -> PcapRecord? {
        var header: UnsafeMutablePointer<pcap_pkthdr>?
        var data: UnsafePointer<UInt8>?
        switch pcap_next_ex(self.handle, &header, &data) {
        case 1:
            guard let header, let data else { return nil }
            let record = header.pointee
            self.recordsRead += 1
            return PcapRecord(
                timestamp: Self.timestamp(seconds: Int64(truncatingIfNeeded: record.ts.tv_sec), fraction: Int64(truncatingIfNeeded: record.ts.tv_usec)),
                originalLength: Int(record.len),
                bytes: Array(UnsafeBufferPointer(start: data, count: Int(record.caplen)))
            )
        case PCAP_ERROR_BREAK:
            return nil
        default:
            let message = Pcap.lastError(self.handle)
            // libpcap's words for a file that ends inside a record ("truncated dump file",
            // "truncated pcapng dump file"): everything before it is good.
            if message.contains("truncated") {
                self.truncation = "\(self.path): \(message); read the \(self.recordsRead) whole record\(self.recordsRead == 1 ? "" : "s") before it"
                return nil
            }
            throw PcapError(.badFile, "\(self.path): \(message)")
        }
    }

    /// A record's time from its header fields, whatever a damaged or hostile file holds in them
    /// (a fraction past a second or below zero carries into the seconds).
    static func timestamp(seconds: Int64, fraction: Int64) -> CaptureTimestamp {
        var whole = seconds &+ fraction / 1_000_000_000
        var nanoseconds = fraction % 1_000_000_000
        if nanoseconds < 0 {
            nanoseconds += 1_000_000_000
            whole &-= 1
        }
        return CaptureTimestamp(seconds: whole, nanoseconds: UInt32(nanoseconds))
    }

    /// Every remaining record.
    public func readAll() throws(PcapError) -> [PcapRecord] {
        var records: [PcapRecord] = []
        while let record = try self.next() {
            records.append(record)
        }
        return records
    }
}
