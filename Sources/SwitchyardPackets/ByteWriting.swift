extension Array where Element == UInt8 {
    @inlinable
    public mutating func appendBigEndian(_ value: UInt16) {
        self.append(UInt8(truncatingIfNeeded: value >> 8))
        self.append(UInt8(truncatingIfNeeded: value))
    }

    @inlinable
    public mutating func appendBigEndian(_ value: UInt32) {
        self.appendBigEndian(UInt16(truncatingIfNeeded: value >> 16))
        self.appendBigEndian(UInt16(truncatingIfNeeded: value))
    }

    @inlinable
    public mutating func appendBigEndian(_ value: UInt64) {
        self.appendBigEndian(UInt32(truncatingIfNeeded: value >> 32))
        self.appendBigEndian(UInt32(truncatingIfNeeded: value))
    }
}

extension Collection where Element == UInt8, Index == Int {
    /// The big-endian integer at `offset` from the start; the caller checks the length.
    @inlinable
    public func bigEndianUInt16(at offset: Int) -> UInt16 {
        let start = self.startIndex + offset
        return UInt16(self[start]) << 8 | UInt16(self[start + 1])
    }

    @inlinable
    public func bigEndianUInt32(at offset: Int) -> UInt32 {
        UInt32(self.bigEndianUInt16(at: offset)) << 16 | UInt32(self.bigEndianUInt16(at: offset + 2))
    }

    @inlinable
    public func bigEndianUInt64(at offset: Int) -> UInt64 {
        UInt64(self.bigEndianUInt32(at: offset)) << 32 | UInt64(self.bigEndianUInt32(at: offset + 4))
    }
}
