/// Bounds-checked reads from untrusted bytes: every read returns nil past the end instead of
/// trapping, so summary decoders can be fed anything a peer or a file holds.
struct ByteCursor {
    let bytes: ArraySlice<UInt8>
    var offset: Int

    init(_ bytes: ArraySlice<UInt8>, offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    var remaining: Int { max(0, self.bytes.count - self.offset) }

    func byte(at relative: Int) -> UInt8? {
        guard relative >= 0, relative < self.bytes.count else { return nil }
        return self.bytes[self.bytes.startIndex + relative]
    }

    func uint16(at relative: Int) -> UInt16? {
        guard let high = self.byte(at: relative), let low = self.byte(at: relative + 1) else { return nil }
        return UInt16(high) << 8 | UInt16(low)
    }

    func uint32(at relative: Int) -> UInt32? {
        guard let high = self.uint16(at: relative), let low = self.uint16(at: relative + 2) else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    func slice(from relative: Int, count: Int) -> ArraySlice<UInt8>? {
        guard relative >= 0, count >= 0, relative + count <= self.bytes.count else { return nil }
        let start = self.bytes.startIndex + relative
        return self.bytes[start..<(start + count)]
    }

    func slice(from relative: Int) -> ArraySlice<UInt8> {
        guard relative >= 0, relative <= self.bytes.count else { return [] }
        return self.bytes[(self.bytes.startIndex + relative)...]
    }
}
