#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes one pcapng file (the pcapng specification, draft-ietf-opsawg-pcapng): a Section
/// Header Block naming the application, one Interface Description Block per endpoint (written
/// when the endpoint first appears in the file), an Enhanced Packet Block per record carrying
/// its endpoint's interface, direction, the fabric's sequence number and what a rule did, and
/// Interface Statistics Blocks at close. libpcap only reads pcapng, so the writer is ours.
///
/// Records go into our own buffers and reach the file in `flush` or `spill` only, whole: a
/// killed process leaves a file that ends at a block boundary, and a failed write (a full disk)
/// keeps the whole blocks that reached the file and is cut after them (`WholeRecordCut`).
final class PcapngWriter: CaptureFileWriter {
    /// Bytes per buffer (there are two once the first spills). Each spill's direct write also
    /// writes its partial page through the cache and the next write takes that page back: at
    /// 64-byte frames 4 MiB kept up with the page-cache writer of before, 1 MiB ran 15% behind.
    static let bufferSize = 4 << 20

    /// What the Section Header Block says.
    struct Section {
        var application: String
        var hardware: String
        var operatingSystem: String
        var comment: String?

        /// This machine's hardware and system, from uname(2).
        static func thisMachine(application: String, comment: String?) -> Section {
            var system = utsname()
            uname(&system)
            func text<T>(_ field: T) -> String {
                withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            }
            return Section(
                application: application, hardware: text(system.machine),
                operatingSystem: "\(text(system.sysname)) \(text(system.release))", comment: comment
            )
        }
    }

    enum BlockType {
        static let section: UInt32 = 0x0A0D_0D0A
        static let interface: UInt32 = 1
        static let statistics: UInt32 = 5
        static let enhancedPacket: UInt32 = 6
    }

    enum Option {
        static let end: UInt16 = 0
        static let comment: UInt16 = 1
        static let hardware: UInt16 = 2, operatingSystem: UInt16 = 3, application: UInt16 = 4
        static let name: UInt16 = 2, description: UInt16 = 3, timestampResolution: UInt16 = 9
        static let flags: UInt16 = 2, packetID: UInt16 = 5
        static let startTime: UInt16 = 2, endTime: UInt16 = 3, received: UInt16 = 4, dropped: UInt16 = 5
    }

    /// Block header, interface id, timestamp, lengths: the Enhanced Packet Block before its data.
    static let packetHeaderLength = 28
    /// epb_flags (8), epb_packetid (12), end of options (4) and the trailing length (4).
    static let packetTrailerLength = 28
    /// Bytes of a rule's note kept in a packet's comment.
    static let maximumNoteLength = 1024

    let path: String
    private let sink: CaptureFileSink
    /// Records not yet in the file, after the last flush's kept partial page (the sink's).
    private var buffer: UnsafeMutableRawPointer
    /// The other buffer, which a spill's write may still be using (made at the first spill).
    private var spare: UnsafeMutableRawPointer?
    private var buffered = 0
    /// The file offset of the buffer's first byte.
    private var bufferStart: Int64 = 0
    private(set) var fileSize: Int64 = 0
    private(set) var flushedSize: Int64 = 0
    private(set) var hasRecords = false
    private(set) var framesLostAtFailure: UInt64 = 0
    /// Frames in the buffer, and in the write a spill left going: not yet known to be in the file.
    private var framesBuffered: UInt64 = 0
    private var framesWriting: UInt64 = 0
    /// The file's size once the write a spill left going is done.
    private var writingEnd: Int64?
    private let snapshotLength: Int

    /// Endpoint id → interface index in this section, in the order the IDBs were written.
    private var interfaces: [UInt32: UInt32] = [:]
    /// The last endpoint written and its interface: consecutive frames mostly share a sender,
    /// and this spares them the dictionary lookup.
    private var lastInterface: (endpoint: UInt32, interface: UInt32)?
    private var interfaceOrder: [UInt32] = []
    private var known: [UInt32: CaptureEndpoint] = [:]
    /// Per interface: frames it sent, deliveries to it a rule dropped.
    private var received: [UInt64] = []
    private var dropped: [UInt64] = []
    private var firstTimestamp: CaptureTimestamp?
    private var lastTimestamp: CaptureTimestamp?

    /// Creates (truncates) `path`, or writes to stdout for "-"; the section header and the
    /// interfaces of `endpoints` are buffered at once.
    init(path: String, snapshotLength: Int, section: Section, endpoints: [CaptureEndpoint]) throws(PcapError) {
        self.path = path
        self.snapshotLength = snapshotLength
        self.sink = try CaptureFileSink(path: path)
        // Page aligned for the sink's direct writes.
        self.buffer = CaptureFileSink.allocateBuffer(byteCount: Self.bufferSize)
        self.appendBlock(self.sectionHeader(section))
        for endpoint in endpoints {
            self.endpointAppeared(endpoint)
        }
        // A file that holds no frame yet is a valid empty recording, whatever happens next.
        // (Not on stdout or a pipe: a write error there shows at the first flush, as before.)
        if self.sink.isRegularFile {
            try self.flushHeader()
        }
    }

    deinit {
        // The sink's write, if one is going, ends before a buffer goes.
        try? self.sink.finishWriting()
        self.buffer.deallocate()
        self.spare?.deallocate()
    }

    var isRegularFile: Bool { self.sink.isRegularFile }
    /// Whether the file is written around the page cache (the sink's direct writes).
    var writesDirectly: Bool { self.sink.writesDirectly }

    static var recordsNotes: Bool { true }

    func endpointAppeared(_ endpoint: CaptureEndpoint) {
        self.known[endpoint.id] = endpoint
        if self.interfaces[endpoint.id] == nil {
            self.addInterface(endpoint.id)
        }
    }

    func wouldSpill(capturedLength: Int, noteLength: Int) -> Bool {
        self.buffered + Self.recordLength(capturedLength: capturedLength, noteLength: noteLength) + 128 > Self.bufferSize
    }

    func recordLength(capturedLength: Int, noteLength: Int) -> Int {
        Self.recordLength(capturedLength: capturedLength, noteLength: noteLength)
    }

    static func recordLength(capturedLength: Int, noteLength: Int) -> Int {
        let note = noteLength > 0 ? 4 + Self.padded(noteLength) : 0
        return Self.packetHeaderLength + Self.padded(capturedLength) + note + Self.packetTrailerLength
    }

    @inline(__always)
    static func padded(_ length: Int) -> Int { (length + 3) & ~3 }

    func write(_ bytes: UnsafeRawBufferPointer, record: CaptureBatch.Record, note: String?) throws(PcapError) {
        let interface: UInt32
        if let last = self.lastInterface, last.endpoint == record.endpoint {
            interface = last.interface
        } else {
            interface = self.interfaces[record.endpoint] ?? self.addInterface(record.endpoint)
            self.lastInterface = (record.endpoint, interface)
        }
        // A note is rare (a rule's doing, with --capture-points both): no array for the others.
        let noteLength = note.map { min($0.utf8.count, Self.maximumNoteLength) } ?? 0
        let length = Self.recordLength(capturedLength: bytes.count, noteLength: noteLength)
        if self.buffered + length > Self.bufferSize {
            try self.spill()
        }
        let timestamp = UInt64(bitPattern: record.timestamp.totalNanoseconds)
        var at = self.buffered
        func put32(_ value: UInt32) {
            self.buffer.storeBytes(of: value, toByteOffset: at, as: UInt32.self)
            at += 4
        }
        put32(BlockType.enhancedPacket)
        put32(UInt32(length))
        put32(interface)
        put32(UInt32(truncatingIfNeeded: timestamp >> 32))
        put32(UInt32(truncatingIfNeeded: timestamp))
        put32(UInt32(bytes.count))
        put32(UInt32(record.originalLength))
        let paddedData = Self.padded(bytes.count)
        if paddedData > 0 {
            // The padding's zeros first; the data then overwrites all but the padding.
            self.buffer.storeBytes(of: 0, toByteOffset: at + paddedData - 4, as: UInt32.self)
        }
        if let base = bytes.baseAddress, bytes.count > 0 {
            CaptureCopy.copy(to: self.buffer + at, from: base, count: bytes.count)
        }
        at += paddedData
        put32(UInt32(Option.flags) | 4 << 16)
        put32(UInt32(record.direction.rawValue))
        put32(UInt32(Option.packetID) | 8 << 16)
        put32(UInt32(truncatingIfNeeded: record.sequence))
        put32(UInt32(truncatingIfNeeded: record.sequence >> 32))
        if let note, noteLength > 0 {
            put32(UInt32(Option.comment) | UInt32(noteLength) << 16)
            self.copyNote(note, length: noteLength, to: at)
            at += Self.padded(noteLength)
        }
        put32(UInt32(Option.end))
        put32(UInt32(length))
        self.buffered = at
        self.framesBuffered += 1
        self.fileSize += Int64(length)
        self.hasRecords = true

        let index = Int(interface)
        if record.direction == .inbound {
            self.received[index] &+= 1
        } else if note?.contains("dropped") == true {
            self.dropped[index] &+= 1
        }
        if self.firstTimestamp == nil {
            self.firstTimestamp = record.timestamp
        }
        self.lastTimestamp = record.timestamp
    }

    /// The first `length` bytes of `note` at `offset`, zero-padded to 4 bytes.
    @inline(never)
    private func copyNote(_ note: String, length: Int, to offset: Int) {
        let padded = Self.padded(length)
        (self.buffer + offset + padded - 4).storeBytes(of: 0, as: UInt32.self)
        var note = note
        note.withUTF8 { (self.buffer + offset).copyMemory(from: $0.baseAddress!, byteCount: length) }
    }

    /// Writes the buffer and returns once the file holds every record so far.
    func flush() throws(PcapError) {
        try self.send(waiting: true)
    }

    /// Makes room: hands the buffer to the sink and, where it writes directly, goes on filling
    /// the other buffer while the write runs. The file has the records at the next flush or
    /// spill, which reports the write's failure if it failed.
    func spill() throws(PcapError) {
        try self.send(waiting: false)
    }

    private func send(waiting: Bool) throws(PcapError) {
        do throws(CaptureFileSink.Failure) {
            // The last spill's write first: its buffer is the spare, and it ends before this one.
            try self.sink.finishWriting()
            if let end = self.writingEnd {
                self.flushedSize = end
                self.framesWriting = 0
                self.writingEnd = nil
            }
            let kept = self.sink.partialPage(of: self.buffered)
            let sent = self.buffered - kept
            if !waiting, self.sink.writesDirectly {
                let spare = self.spare ?? CaptureFileSink.allocateBuffer(byteCount: Self.bufferSize)
                spare.copyMemory(from: self.buffer + sent, byteCount: kept)
                self.sink.startWriting(self.buffer, count: self.buffered, at: self.bufferStart)
                self.spare = self.buffer
                self.buffer = spare
                self.writingEnd = self.fileSize
                self.framesWriting = self.framesBuffered
            } else {
                try self.sink.write(self.buffer, count: self.buffered, at: self.bufferStart)
                if kept > 0, sent > 0 {
                    self.buffer.copyMemory(from: self.buffer + sent, byteCount: kept)
                }
                self.flushedSize = self.fileSize
            }
            self.framesBuffered = 0
            self.bufferStart += Int64(sent)
            self.buffered = kept
        } catch {
            // Never leave part of a block: keep the whole blocks that reached the file and cut
            // the rest; what follows is written after them, through the cache.
            let (size, kept) = self.sink.keepWholeBlocks(after: self.flushedSize)
            let unsure = self.framesWriting + self.framesBuffered
            self.framesLostAtFailure = unsure - min(unsure, kept)
            self.framesWriting = 0
            self.framesBuffered = 0
            self.writingEnd = nil
            self.sink.stopWritingDirectly()
            self.fileSize = size
            self.flushedSize = size
            self.bufferStart = size
            self.buffered = 0
            throw PcapError(.writeFailed, "cannot write capture file \(self.path): \(Pcap.errnoText(error.code))")
        }
    }

    private func flushHeader() throws(PcapError) {
        do throws(PcapError) {
            try self.flush()
        } catch {
            throw PcapError(.cannotCreateFile, error.message)
        }
    }

    func close() throws(PcapError) {
        if let end = self.lastTimestamp {
            for (index, _) in self.interfaceOrder.enumerated() {
                self.appendBlock(self.statistics(interface: UInt32(index), start: self.firstTimestamp ?? end, end: end))
            }
        }
        try self.flush()
    }

    // MARK: Blocks

    @discardableResult
    private func addInterface(_ endpoint: UInt32) -> UInt32 {
        let index = UInt32(self.interfaceOrder.count)
        self.interfaces[endpoint] = index
        self.interfaceOrder.append(endpoint)
        self.received.append(0)
        self.dropped.append(0)
        let known = self.known[endpoint] ?? CaptureEndpoint(id: endpoint, name: "endpoint \(endpoint)", mac: "", kind: "")
        self.appendBlock(self.interfaceDescription(known))
        return index
    }

    /// Buffers a rare block (header, interface, statistics): flushes first if it does not fit.
    private func appendBlock(_ block: [UInt8]) {
        if self.buffered + block.count > Self.bufferSize {
            // The error, if any, shows at the next record's flush.
            try? self.spill()
        }
        block.withUnsafeBytes { (self.buffer + self.buffered).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        self.buffered += block.count
        self.fileSize += Int64(block.count)
    }

    private func sectionHeader(_ section: Section) -> [UInt8] {
        var body = BlockBody()
        body.append32(0x1A2B_3C4D)  // byte-order magic
        body.append16(1)  // major
        body.append16(0)  // minor
        body.append64(UInt64.max)  // section length: not given
        if let comment = section.comment {
            body.option(Option.comment, Array(comment.utf8))
        }
        body.option(Option.hardware, Array(section.hardware.utf8))
        body.option(Option.operatingSystem, Array(section.operatingSystem.utf8))
        body.option(Option.application, Array(section.application.utf8))
        body.endOptions()
        return body.block(BlockType.section)
    }

    private func interfaceDescription(_ endpoint: CaptureEndpoint) -> [UInt8] {
        var body = BlockBody()
        body.append16(1)  // LINKTYPE_ETHERNET
        body.append16(0)
        body.append32(UInt32(clamping: self.snapshotLength))
        body.option(Option.name, Array(endpoint.name.utf8))
        let description = [endpoint.mac, endpoint.kind.isEmpty ? "" : "(\(endpoint.kind))"].filter { !$0.isEmpty }.joined(separator: " ")
        if !description.isEmpty {
            body.option(Option.description, Array(description.utf8))
        }
        body.option(Option.timestampResolution, [9])  // 10^-9 s: nanoseconds
        body.endOptions()
        return body.block(BlockType.interface)
    }

    private func statistics(interface: UInt32, start: CaptureTimestamp, end: CaptureTimestamp) -> [UInt8] {
        var body = BlockBody()
        body.append32(interface)
        body.appendTimestamp(end)
        body.optionTimestamp(Option.startTime, start)
        body.optionTimestamp(Option.endTime, end)
        body.option64(Option.received, self.received[Int(interface)])
        body.option64(Option.dropped, self.dropped[Int(interface)])
        body.endOptions()
        return body.block(BlockType.statistics)
    }
}

/// A block's body in host byte order (the section's, as its byte-order magic says).
private struct BlockBody {
    var bytes: [UInt8] = []

    mutating func append16(_ value: UInt16) {
        withUnsafeBytes(of: value) { self.bytes += $0 }
    }

    mutating func append32(_ value: UInt32) {
        withUnsafeBytes(of: value) { self.bytes += $0 }
    }

    mutating func append64(_ value: UInt64) {
        withUnsafeBytes(of: value) { self.bytes += $0 }
    }

    /// High 32 bits then low 32 bits, in nanoseconds (if_tsresol 9).
    mutating func appendTimestamp(_ timestamp: CaptureTimestamp) {
        let value = UInt64(bitPattern: timestamp.totalNanoseconds)
        self.append32(UInt32(truncatingIfNeeded: value >> 32))
        self.append32(UInt32(truncatingIfNeeded: value))
    }

    mutating func option(_ code: UInt16, _ value: [UInt8]) {
        let value = Array(value.prefix(0xFFFF))
        self.append16(code)
        self.append16(UInt16(value.count))
        self.bytes += value
        self.bytes += Array(repeating: 0, count: (4 - value.count % 4) % 4)
    }

    mutating func option64(_ code: UInt16, _ value: UInt64) {
        self.append16(code)
        self.append16(8)
        self.append64(value)
    }

    mutating func optionTimestamp(_ code: UInt16, _ timestamp: CaptureTimestamp) {
        self.append16(code)
        self.append16(8)
        self.appendTimestamp(timestamp)
    }

    mutating func endOptions() {
        self.append32(0)
    }

    /// Type, total length, body, total length again.
    func block(_ type: UInt32) -> [UInt8] {
        var out = BlockBody()
        let length = UInt32(12 + self.bytes.count)
        out.append32(type)
        out.append32(length)
        out.bytes += self.bytes
        out.append32(length)
        return out.bytes
    }
}
