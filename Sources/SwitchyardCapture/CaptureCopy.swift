import CStreamingCopy

/// How the capture copies a frame's bytes: into a batch on the switching thread, and from the
/// batch into a file buffer on the writer thread.
///
/// Neither copy's destination is read again by the core that writes it (the writer reads the
/// batch on the other core; the disk reads the file buffer by DMA), so past a size the bytes go
/// with streaming stores that skip the cache: no line is fetched just to be overwritten, and
/// the frames do not push the switching thread's own data out of its cache. At MTU 65520 with
/// capture on, that took a fifth off the switching thread's time per Gbit/s and nearly a third
/// off the writer's (docs/performance.md).
enum CaptureCopy {
    /// Bytes from which streaming stores pay: below it, their fence and the unaligned head
    /// cost more than the lines they spare (measured on this project's machines: a plain copy
    /// into a cold ring won up to 8 KiB, the streaming copy from 16 KiB).
    static let streamingThreshold = 16 << 10

    @inline(__always)
    static func copy(to destination: UnsafeMutableRawPointer, from source: UnsafeRawPointer, count: Int) {
        if count >= Self.streamingThreshold {
            switchyard_copy_streaming(destination, source, count)
        } else {
            destination.copyMemory(from: source, byteCount: count)
        }
    }
}
