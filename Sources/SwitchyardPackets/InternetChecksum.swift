/// The Internet checksum (RFC 1071): the one's complement of the one's complement sum of
/// 16-bit words, used by IPv4 (RFC 791) and UDP (RFC 768).
public struct InternetChecksum: Sendable {
    private var sum: UInt64 = 0
    private var pendingOddByte: UInt8?

    public init() {}

    public mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            if let high = self.pendingOddByte {
                self.sum += UInt64(high) << 8 | UInt64(byte)
                self.pendingOddByte = nil
            } else {
                self.pendingOddByte = byte
            }
        }
    }

    /// Adds `bytes` in one pass of 32-bit loads (RFC 1071's byte-order independence: the sum of
    /// native words, byte-swapped once at the end, is the sum of big-endian 16-bit words).
    public mutating func add(raw bytes: UnsafeRawBufferPointer) {
        var start = 0
        if self.pendingOddByte != nil, bytes.count > 0 {
            self.add(CollectionOfOne(bytes[0]))
            start = 1
        }
        var native: UInt64 = 0
        var offset = start
        while bytes.count - offset >= 4 {
            native &+= UInt64(bytes.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
        }
        while native >> 16 != 0 {
            native = (native & 0xFFFF) + (native >> 16)
        }
        self.sum += UInt64(UInt16(bigEndian: UInt16(truncatingIfNeeded: native)))
        if offset < bytes.count {
            self.add(UnsafeRawBufferPointer(rebasing: bytes[offset...]))
        }
    }

    public mutating func add(_ word: UInt16) {
        precondition(self.pendingOddByte == nil, "add 16-bit words only at even offsets")
        self.sum += UInt64(word)
    }

    /// The checksum of everything added so far (an odd final byte is padded with zero).
    public var value: UInt16 {
        var total = self.sum
        if let high = self.pendingOddByte {
            total += UInt64(high) << 8
        }
        while total >> 16 != 0 {
            total = (total & 0xFFFF) + (total >> 16)
        }
        return ~UInt16(truncatingIfNeeded: total)
    }

    public static func compute<Bytes: Sequence>(_ bytes: Bytes) -> UInt16 where Bytes.Element == UInt8 {
        var checksum = InternetChecksum()
        checksum.add(bytes)
        return checksum.value
    }
}
