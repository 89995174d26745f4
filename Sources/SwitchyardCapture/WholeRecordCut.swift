#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// After a failed flush (a full disk), keeps what reached the file up to its last whole record
/// and cuts the rest: the file stays readable to its end, with every frame that fit, and
/// nothing after it is part of a record.
///
/// It reads the file back from the last good flush (a record boundary), so it needs nothing
/// of the buffer or stream that failed: a write that stopped partway leaves whatever it wrote.
enum WholeRecordCut {
    enum Layout {
        /// Classic pcap: 16-byte record headers, the captured length at offset 8.
        case pcap
        /// pcapng: blocks with their total length at offset 4; Enhanced Packet Blocks are frames.
        case pcapng
    }

    /// Cuts the regular file at `descriptor`, whole up to `boundary`, at its last whole record.
    /// Returns the file's new size and the frame records kept past `boundary`.
    static func cut(_ descriptor: Int32, wholeUpTo boundary: Int64, layout: Layout) -> (size: Int64, frames: UInt64) {
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { return (boundary, 0) }
        // Capture files are opened write-only (a named pipe opened for reading too would never
        // see its reader go away): the file is read back through a descriptor of its own.
        let reader = open("/proc/self/fd/\(descriptor)", O_RDONLY | O_CLOEXEC)
        defer {
            if reader >= 0 {
                Glibc.close(reader)
            }
        }
        let end = Int64(status.st_size)
        var at = boundary
        var frames: UInt64 = 0
        var header = (UInt32(0), UInt32(0), UInt32(0), UInt32(0))
        scan: while at < end {
            let wanted = layout == .pcap ? 16 : 8
            let read = withUnsafeMutableBytes(of: &header) { pread(reader, $0.baseAddress, wanted, off_t(at)) }
            guard read == wanted else { break scan }
            let length: Int64
            switch layout {
            case .pcap:
                length = 16 + Int64(header.2)
            case .pcapng:
                // Host byte order: the writer's own sections.
                length = Int64(header.1)
                guard length >= 12, length % 4 == 0 else { break scan }
            }
            guard at + length <= end else { break scan }
            if layout == .pcap || header.0 == PcapngWriter.BlockType.enhancedPacket {
                frames += 1
            }
            at += length
        }
        if at < end {
            _ = ftruncate(descriptor, off_t(at))
        }
        return (at, frames)
    }
}
