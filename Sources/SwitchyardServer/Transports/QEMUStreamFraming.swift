import NIOCore
import SwitchyardWire

/// QEMU's stream netdev framing (`-netdev stream`, and the legacy `-netdev socket`): each
/// frame is a 4-byte big-endian length, then the Ethernet frame, no FCS.
public enum QEMUStreamFraming {
    /// Bytes before each frame.
    public static let headerLength = 4
    /// QEMU's own receive limit (NET_BUFSIZE: 4096 + 65536 bytes); a larger length cannot come
    /// from QEMU, so the stream is not QEMU's and the connection is closed.
    public static let maximumLength = 4096 + 65_536

    public enum Item: Equatable {
        /// A whole frame (a slice of the read buffer).
        case frame(ByteBuffer)
        /// A frame the fabric does not switch (length 0, or over the v1 frame limit); skipped.
        case refused(length: Int)
    }

    /// The stream is not QEMU framing: a length no QEMU sends.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// The length read.
        public let length: Int

        public init(impossibleLength length: Int) {
            self.length = length
        }

        public var description: String {
            "impossible frame length \(self.length) (QEMU sends at most \(QEMUStreamFraming.maximumLength))"
        }
    }

    /// The next item of `buffer`, or nil when it holds no whole one yet.
    public static func decode(_ buffer: inout ByteBuffer) throws(Failure) -> Item? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        let size = Int(length)
        guard size <= Self.maximumLength else { throw Failure(impossibleLength: size) }
        guard buffer.readableBytes >= Self.headerLength + size else { return nil }
        buffer.moveReaderIndex(forwardBy: Self.headerLength)
        let frame = buffer.readSlice(length: size)!
        guard Self.switches(length: size) else {
            return .refused(length: size)
        }
        return .frame(frame)
    }

    /// Whether a frame of `length` bytes is one the fabric switches (else it is refused).
    public static func switches(length: Int) -> Bool {
        length >= ProtocolLimits.minimumFrameLength && length <= ProtocolLimits.maximumFrameLength
    }

    /// Appends one frame in this framing: one capacity check and one copy (the per-frame path).
    @inline(__always)
    public static func write(_ frame: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        let length = frame.count
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.headerLength + length) { out in
            out.storeBytes(of: UInt32(length).bigEndian, toByteOffset: 0, as: UInt32.self)
            if let base = frame.baseAddress, length > 0 {
                (out.baseAddress! + Self.headerLength).copyMemory(from: base, byteCount: length)
            }
            return Self.headerLength + length
        }
    }

    public static func write(_ frame: ByteBuffer, to buffer: inout ByteBuffer) {
        frame.withUnsafeReadableBytes { Self.write($0, to: &buffer) }
    }
}
