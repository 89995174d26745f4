import Dispatch
import Foundation

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
///
/// A direct write returns only when the disk has the bytes, so a writer that waited for each
/// would format no records meanwhile: `startWriting` runs one write at a time on a thread of
/// the sink's while the writer fills its other buffer.
final class CaptureFileSink {
    /// The unit of direct writes: offsets, lengths and the buffer's address are multiples of it
    /// (4 KiB covers every logical block size a disk has).
    static let pageSize = 4096

    private let file: File
    /// The thread that runs `startWriting`'s writes, made at the first (so that it is the
    /// writer thread's child and shares its priority).
    private var background: BackgroundWrite?

    /// Alignment of the writer's buffers: a huge page, so that the kernel can back each with
    /// 2 MiB pages. Copying records into them then misses the TLB far less, and a direct write
    /// pins two pages per 4 MiB instead of a thousand.
    static let bufferAlignment = 2 << 20

    /// A buffer for records, aligned for direct writes and backed by huge pages where the
    /// kernel has them (`MADV_HUGEPAGE`: asked for, never required). Deallocate it as usual.
    static func allocateBuffer(byteCount: Int) -> UnsafeMutableRawPointer {
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: Self.bufferAlignment)
        _ = madvise(buffer, byteCount, MADV_HUGEPAGE)
        return buffer
    }

    /// Creates (truncates) `path`, or writes to stdout for "-".
    init(path: String) throws(PcapError) {
        self.file = try File(path: path)
    }

    deinit {
        self.background?.stop()
    }

    var isRegularFile: Bool { self.file.isRegularFile }

    /// Whether flushes keep their last partial page (see `write`). Read it only with no write
    /// going (after `finishWriting`): a write that finds no direct I/O turns it off.
    var writesDirectly: Bool { self.file.direct >= 0 }

    /// The bytes at the end of `count` a write keeps (its partial page when writing directly).
    func partialPage(of count: Int) -> Int {
        self.writesDirectly ? count & (Self.pageSize - 1) : 0
    }

    /// Writes the `count` bytes at `bytes`, which belong at file offset `offset`, and returns when
    /// they are written (no `startWriting` write may be going). The caller keeps the last
    /// `partialPage(of: count)` of them ahead of what it writes next, written again with it, so
    /// that `offset` and `bytes` are page aligned whenever the sink writes directly. Throws the
    /// errno of a failed write (a full disk is ENOSPC).
    func write(_ bytes: UnsafeRawPointer, count: Int, at offset: Int64) throws(Failure) {
        try self.file.write(bytes, count: count, at: offset)
    }

    /// Starts `write(bytes, count:, at:)` on the sink's thread and returns; the bytes must stay
    /// as they are until `finishWriting` returns. One write at a time: the last must be finished.
    func startWriting(_ bytes: UnsafeRawPointer, count: Int, at offset: Int64) {
        let background = self.background ?? BackgroundWrite()
        self.background = background
        // The pointer crosses to the sink's thread and back through the semaphores' ordering.
        let address = UInt(bitPattern: bytes)
        let file = self.file
        background.start { () throws(Failure) in
            try file.write(UnsafeRawPointer(bitPattern: address)!, count: count, at: offset)
        }
    }

    /// Waits for the write `startWriting` began, if any; throws its failure.
    func finishWriting() throws(Failure) {
        try self.background?.finish()
    }

    /// After a failure: no more direct writes (the caller's buffer no longer starts at a page).
    func stopWritingDirectly() {
        self.file.closeDirect()
    }

    /// After a failed write: cuts a regular file at its last whole pcapng block past `boundary`
    /// (the last good flush). Returns the file's size and the frames kept past `boundary`.
    func keepWholeBlocks(after boundary: Int64) -> (size: Int64, frames: UInt64) {
        guard self.isRegularFile else { return (boundary, 0) }
        return WholeRecordCut.cut(self.file.descriptor, wholeUpTo: boundary, layout: .pcapng)
    }

    /// A write that failed, with its errno.
    struct Failure: Error {
        var code: Int32
    }

    /// The file's descriptors and the writes themselves: used by one thread at a time (the
    /// writer's, or the sink's while a background write goes).
    private final class File: @unchecked Sendable {
        /// `O_DIRECT` on Linux (Glibc's module leaves out the GNU-only flags).
        private static let directFlag: Int32 = 0o40000

        let descriptor: Int32
        let isRegularFile: Bool
        /// The same file opened for direct writes, or -1.
        private(set) var direct: Int32 = -1

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
            self.closeDirect()
        }

        func closeDirect() {
            if self.direct >= 0 {
                Glibc.close(self.direct)
                self.direct = -1
            }
        }

        /// Whole pages directly and the partial page through the cache; all of it through the
        /// cache where direct writes are not taken, and with `write` where there is no offset.
        func write(_ bytes: UnsafeRawPointer, count: Int, at offset: Int64) throws(Failure) {
            guard self.isRegularFile else {
                try Self.writeAll(self.descriptor, bytes, count: count, at: nil)
                return
            }
            guard self.direct >= 0 else {
                try Self.writeAll(self.descriptor, bytes, count: count, at: offset)
                return
            }
            let whole = count & ~(CaptureFileSink.pageSize - 1)
            if whole > 0 {
                do throws(Failure) {
                    try Self.writeAll(self.direct, bytes, count: whole, at: offset)
                } catch where error.code == EINVAL {
                    // The file system takes no direct writes (tmpfs before Linux 6.6): write as usual.
                    self.closeDirect()
                    try Self.writeAll(self.descriptor, bytes, count: count, at: offset)
                    return
                }
            }
            if count > whole {
                try Self.writeAll(self.descriptor, bytes + whole, count: count - whole, at: offset + Int64(whole))
            }
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

    /// One write at a time on a thread of its own. The owner's `start` and `finish` and the
    /// thread hand the job and its outcome over through two semaphores, which order every
    /// access to them.
    private final class BackgroundWrite: @unchecked Sendable {
        private let started = DispatchSemaphore(value: 0)
        private let finished = DispatchSemaphore(value: 0)
        private var job: (() throws(Failure) -> Void)?
        private var failure: Failure?
        private var stopping = false
        /// Owner only: a job was started and not yet finished.
        private var going = false

        init() {
            let thread = Thread { [self] in
                // Named from inside, as the writer thread is: a name set before start is not
                // the kernel's on Linux.
                Thread.current.name = "capture-disk"
                while true {
                    self.started.wait()
                    if self.stopping {
                        self.finished.signal()
                        return
                    }
                    do throws(Failure) {
                        try self.job?()
                    } catch {
                        self.failure = error
                    }
                    self.job = nil
                    self.finished.signal()
                }
            }
            thread.start()
        }

        func start(_ job: @escaping () throws(Failure) -> Void) {
            precondition(!self.going, "a capture write started before the last was finished")
            self.job = job
            self.going = true
            self.started.signal()
        }

        func finish() throws(Failure) {
            guard self.going else { return }
            self.finished.wait()
            self.going = false
            if let failure = self.failure {
                self.failure = nil
                throw failure
            }
        }

        /// Finishes the last write (its outcome unread: the owner finishes before it lets go)
        /// and ends the thread.
        func stop() {
            try? self.finish()
            self.stopping = true
            self.started.signal()
            self.finished.wait()
        }
    }
}
