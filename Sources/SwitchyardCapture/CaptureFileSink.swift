#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Where a capture writer's flushes go: a regular file, stdout or a pipe.
///
/// A regular file is written around the page cache (`O_DIRECT`) in whole pages where its file
/// system allows: a recording is written once and read later, so the cache only costs. On the
/// project's machines, copying a flush into fresh page-cache pages ran at 0.3 GB/s and took
/// most of a core at full TAP speed, while direct writes reached 2 GB/s
/// (docs/performance.md). A flush's last partial page goes through the cache, so that the file
/// ends at the flush's last whole block as before, and is written again directly, page
/// aligned, with the bytes that follow it. Elsewhere (tmpfs without direct I/O, stdout, a pipe)
/// every byte goes through `write`.
final class CaptureFileSink {
    /// The unit of direct writes: offsets, lengths and the buffer's address are multiples of it
    /// (4 KiB covers every logical block size a disk has).
    static let pageSize = 4096
    /// `O_DIRECT` on Linux (Glibc's module leaves out the GNU-only flags).
    private static let directFlag: Int32 = 0o40000

    let descriptor: Int32
    let isRegularFile: Bool
    /// The same file opened for direct writes, or -1.
    private var direct: Int32 = -1

    /// Creates (truncates) `path`, or writes to stdout for "-".
    init(path: String) throws(PcapError) {
        let descriptor = path == "-" ? dup(STDOUT_FILENO) : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else {
            throw PcapError(.cannotCreateFile, "cannot write capture file \(path): \(Pcap.errnoText())")
        }
        var status = stat()
        self.isRegularFile = fstat(descriptor, &status) == 0 && (status.st_mode & S_IFMT) == S_IFREG
        self.descriptor = descriptor
        if self.isRegularFile {
            // The very file just created, even if its name is replaced meanwhile.
            self.direct = open("/proc/self/fd/\(descriptor)", O_WRONLY | O_CLOEXEC | Self.directFlag)
        }
    }

    deinit {
        Glibc.close(self.descriptor)
        if self.direct >= 0 {
            Glibc.close(self.direct)
        }
    }

    /// Whether flushes keep their last partial page (see `write`).
    var writesDirectly: Bool { self.direct >= 0 }

    /// Writes the `count` bytes at `bytes`, which belong at file offset `offset`. Returns how
    /// many bytes at the end of them the caller must keep ahead of what it writes next, written
    /// again with it: the partial page of a direct write. `offset` and `bytes` are page aligned
    /// whenever the sink writes directly, which is what keeping those bytes gives.
    /// Throws the errno of a failed write (a full disk is ENOSPC).
    func write(_ bytes: UnsafeRawPointer, count: Int, at offset: Int64) throws(CaptureFileSink.Failure) -> Int {
        guard self.isRegularFile else {
            try Self.writeAll(self.descriptor, bytes, count: count, at: nil)
            return 0
        }
        guard self.direct >= 0 else {
            try Self.writeAll(self.descriptor, bytes, count: count, at: offset)
            return 0
        }
        let whole = count & ~(Self.pageSize - 1)
        if whole > 0 {
            do throws(Failure) {
                try Self.writeAll(self.direct, bytes, count: whole, at: offset)
            } catch where error.code == EINVAL {
                // The file system takes no direct writes (tmpfs before Linux 6.6): write as usual.
                Glibc.close(self.direct)
                self.direct = -1
                try Self.writeAll(self.descriptor, bytes, count: count, at: offset)
                return 0
            }
        }
        if count > whole {
            try Self.writeAll(self.descriptor, bytes + whole, count: count - whole, at: offset + Int64(whole))
        }
        return count - whole
    }

    /// After a failed write: cuts a regular file at its last whole pcapng block past `boundary`
    /// (the last good flush). Returns the file's size and the frames kept past `boundary`.
    func keepWholeBlocks(after boundary: Int64) -> (size: Int64, frames: UInt64) {
        guard self.isRegularFile else { return (boundary, 0) }
        return WholeRecordCut.cut(self.descriptor, wholeUpTo: boundary, layout: .pcapng)
    }

    /// A write that failed, with its errno.
    struct Failure: Error {
        var code: Int32
    }

    private static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawPointer, count: Int, at offset: Int64?) throws(Failure) {
        var written = 0
        while written < count {
            let result = if let offset {
                pwrite(descriptor, bytes + written, count - written, off_t(offset + Int64(written)))
            } else {
                Glibc.write(descriptor, bytes + written, count - written)
            }
            if result < 0, errno == EINTR {
                continue
            }
            if result <= 0 {
                throw Failure(code: result < 0 ? errno : ENOSPC)
            }
            written += result
        }
    }
}
