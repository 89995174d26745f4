import CPcap

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Writes one classic pcap file (Ethernet, nanosecond timestamps) through libpcap's dump API.
///
/// The file is opened with our own stdio stream and buffer so that the buffer only reaches the
/// disk at a record boundary (`write` flushes first when a record would not fit): a process
/// killed at any moment leaves a file that readers accept up to its last flush. It also means
/// bytes reach the file only in `flush`, so that is where write errors show.
public final class PcapDumper: CaptureFileWriter {
    /// Bytes of the stdio buffer between libpcap and the file.
    public static let streamBufferSize = 1 << 20

    public let path: String
    private let handle: OpaquePointer
    private var dumper: OpaquePointer?
    /// The stdio stream's buffer. Ours, not stdio's: glibc ignores the size given to
    /// `setvbuf` with a nil buffer and uses a 4 KiB one, which spills partial records.
    private let streamBuffer: UnsafeMutablePointer<CChar>
    private var bufferedBytes = 0
    /// Bytes of the file, buffered ones included (kept here: `ftell` per record is a syscall).
    public private(set) var fileSize: Int64 = 0
    /// Bytes that reached the file (or pipe) at the last successful flush.
    public private(set) var flushedSize: Int64 = 0
    public private(set) var framesLostAtFailure: UInt64 = 0
    /// Records since the last good flush.
    private var framesBuffered: UInt64 = 0
    /// Whether the output is a regular file (not stdout, a pipe or a device such as /dev/full).
    public let isRegularFile: Bool

    /// Creates (truncates) `path`, or writes to stdout when `path` is "-".
    public init(path: String, snapshotLength: Int) throws(PcapError) {
        self.path = path
        let stream: UnsafeMutablePointer<FILE>?
        if path == "-" {
            stream = fdopen(dup(STDOUT_FILENO), "wb")
        } else {
            stream = fopen(path, "wb")
        }
        guard let stream else {
            throw PcapError(.cannotCreateFile, "cannot write capture file \(path): \(Pcap.errnoText())")
        }
        var status = stat()
        self.isRegularFile = fstat(fileno(stream), &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: Self.streamBufferSize)
        setvbuf(stream, buffer, _IOFBF, Self.streamBufferSize)
        // One thread writes each file: stdio's per-call locking is pure cost here.
        __fsetlocking(stream, Int32(FSETLOCKING_BYCALLER))
        let handle: OpaquePointer
        do {
            handle = try Pcap.openDead(snapshotLength: snapshotLength)
        } catch {
            fclose(stream)
            buffer.deallocate()
            throw error
        }
        guard let dumper = pcap_dump_fopen(handle, stream) else {
            let message = Pcap.lastError(handle)
            fclose(stream)
            buffer.deallocate()
            pcap_close(handle)
            throw PcapError(.cannotCreateFile, "cannot write capture file \(path): \(message)")
        }
        self.handle = handle
        self.dumper = dumper
        self.streamBuffer = buffer
        // The file header (24 bytes) is in the buffer.
        self.bufferedBytes = 24
        self.fileSize = 24
        // A file that holds no frame yet is a valid empty recording, whatever happens next.
        // (Not on stdout or a pipe: a write error there shows at the first flush, as before.)
        if self.isRegularFile {
            do throws(PcapError) {
                try self.flush()
            } catch {
                throw PcapError(.cannotCreateFile, error.message)
            }
        }
    }

    deinit {
        if let dumper = self.dumper {
            pcap_dump_close(dumper)
        }
        pcap_close(self.handle)
        // After fclose (in pcap_dump_close): the stream no longer uses it.
        self.streamBuffer.deallocate()
    }

    /// Appends one record. `bytes` holds the captured part of a frame of `originalLength` bytes.
    /// Only the flush it may start can fail.
    public func write(_ bytes: UnsafeRawBufferPointer, originalLength: Int, timestamp: CaptureTimestamp) throws(PcapError) {
        guard let dumper = self.dumper else { return }
        let recordSize = 16 + bytes.count
        if self.bufferedBytes + recordSize > Self.streamBufferSize {
            try self.flush()
        }
        var header = pcap_pkthdr()
        header.ts.tv_sec = Int(timestamp.seconds)
        // A nanosecond-precision handle keeps nanoseconds in tv_usec.
        header.ts.tv_usec = Int(timestamp.nanoseconds)
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(originalLength)
        withUnsafePointer(to: &header) { headerPointer in
            let user = UnsafeMutableRawPointer(dumper).assumingMemoryBound(to: UInt8.self)
            pcap_dump(user, headerPointer, bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(user))
        }
        self.bufferedBytes += recordSize
        self.framesBuffered += 1
        self.fileSize += Int64(recordSize)
    }

    /// Whether a record follows the 24-byte file header.
    public var hasRecords: Bool { self.fileSize > 24 }

    static var recordsNotes: Bool { false }

    /// Classic pcap has no interfaces: nothing to write.
    func endpointAppeared(_ endpoint: CaptureEndpoint) {}

    func recordLength(capturedLength: Int, noteLength: Int) -> Int {
        16 + capturedLength
    }

    func wouldSpill(capturedLength: Int, noteLength: Int) -> Bool {
        self.wouldSpill(capturedLength: capturedLength)
    }

    func write(_ bytes: UnsafeRawBufferPointer, record: CaptureBatch.Record, note: String?) throws(PcapError) {
        try self.write(bytes, originalLength: record.originalLength, timestamp: record.timestamp)
    }

    /// True when a record of `capturedLength` bytes would not fit in the stream buffer: flush
    /// first to keep the file's on-disk end at a record boundary.
    public func wouldSpill(capturedLength: Int) -> Bool {
        self.bufferedBytes + 16 + capturedLength > Self.streamBufferSize
    }

    /// Pushes buffered records to the file.
    public func flush() throws(PcapError) {
        guard let dumper = self.dumper else { return }
        self.bufferedBytes = 0
        errno = 0
        let result = pcap_dump_flush(dumper)
        // Read at once: anything later (a lock, a timed wait) may overwrite it.
        let code = errno
        if result != 0 || self.streamFailed {
            if let stream = pcap_dump_file(dumper) {
                // What stdio could not write is dropped, so that nothing of it reaches the file
                // later (at close); the file keeps its whole records and loses the rest.
                __fpurge(stream)
                clearerr(stream)
                var kept: UInt64 = 0
                if self.isRegularFile {
                    let (size, frames) = WholeRecordCut.cut(fileno(stream), wholeUpTo: self.flushedSize, layout: .pcap)
                    _ = fseeko(stream, off_t(size), SEEK_SET)
                    kept = frames
                    self.fileSize = size
                    self.flushedSize = size
                }
                self.framesLostAtFailure = self.framesBuffered - min(self.framesBuffered, kept)
                self.framesBuffered = 0
            }
            throw PcapError(.writeFailed, "cannot write capture file \(self.path): \(Pcap.errnoText(code == 0 ? EIO : code))")
        }
        self.framesBuffered = 0
        self.flushedSize = self.fileSize
    }

    /// The file position libpcap reports (`pcap_dump_ftell64`), for cross-checking `fileSize`.
    public var position: Int64 {
        guard let dumper = self.dumper else { return self.fileSize }
        return pcap_dump_ftell64(dumper)
    }

    /// Flushes and closes the file; later writes are ignored.
    public func close() throws(PcapError) {
        guard let dumper = self.dumper else { return }
        defer {
            pcap_dump_close(dumper)
            self.dumper = nil
        }
        try self.flush()
    }

    /// `pcap_dump` returns nothing: a failed write shows only in the stream's error flag.
    private var streamFailed: Bool {
        guard let dumper = self.dumper, let stream = pcap_dump_file(dumper) else { return false }
        return ferror(stream) != 0
    }
}
