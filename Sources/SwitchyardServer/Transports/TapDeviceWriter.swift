#if canImport(Glibc)
import Glibc
#endif
import SwitchyardPackets

/// Writes each frame for a TAP device as it is delivered, from where it lies (the sender's
/// read buffer): one `write`, or with virtio-net headers one `writev` of the header and the
/// frame, which the device takes as one frame.
///
/// Why not a batch, as other transports have: a TAP device takes one frame per system call
/// whatever is queued, and its write neither blocks nor waits for the receiving namespace (the
/// kernel queues the frame or drops it), so a batch saves no call and costs a copy. Copying
/// each 64 KiB segment into the destination's batch, to write it at the end of the read, was
/// 40% of the switching thread at MTU 9000. The write is a system call on the descriptor, not
/// the channel's, so phase 1 still opens, closes and flushes nothing (`FabricEngine`).
///
/// Confined to the fabric's event loop. The channel owns the descriptor: its connection
/// calls `invalidate` as it closes, before the descriptor can be reused.
final class TapDeviceWriter {
    private var descriptor: Int32
    /// The device puts a virtio-net header ahead of every frame (`IFF_VNET_HDR`).
    let virtio: Bool
    /// Told the error (EMSGSIZE for a short write) when the device refuses a frame.
    private let refused: (Int32) -> Void

    init(descriptor: Int32, virtio: Bool, refused: @escaping (Int32) -> Void) {
        self.descriptor = descriptor
        self.virtio = virtio
        self.refused = refused
    }

    /// Writes nothing from now on: the channel is closing its descriptor.
    func invalidate() {
        self.descriptor = -1
    }

    /// Writes one frame, with `offload` (`VirtioNetHeader.words`, zero for a plain frame) as its
    /// virtio-net header where the device takes one. A frame the device refuses is reported to
    /// `refused`; nothing is kept.
    @inline(__always)
    func write(_ frame: UnsafeRawBufferPointer, offload: (UInt64, UInt16)) {
        guard self.descriptor >= 0 else { return }
        let written: Int
        let expected: Int
        if self.virtio {
            expected = VirtioNetHeader.length + frame.count
            var header: (UInt64, UInt64) = (0, 0)
            written = withUnsafeMutableBytes(of: &header) { header in
                VirtioNetHeader.store(words: offload, to: header.baseAddress!)
                var parts = (
                    iovec(iov_base: header.baseAddress, iov_len: VirtioNetHeader.length),
                    iovec(iov_base: UnsafeMutableRawPointer(mutating: frame.baseAddress), iov_len: frame.count)
                )
                return withUnsafeMutableBytes(of: &parts) { parts in
                    writev(self.descriptor, parts.baseAddress!.assumingMemoryBound(to: iovec.self), 2)
                }
            }
        } else {
            expected = frame.count
            written = Glibc.write(self.descriptor, frame.baseAddress, frame.count)
        }
        if written != expected {
            self.refusal(written < 0 ? errno : EMSGSIZE)
        }
    }

    @inline(never)
    private func refusal(_ code: Int32) {
        self.refused(code)
    }
}

@available(*, unavailable)
extension TapDeviceWriter: Sendable {}
