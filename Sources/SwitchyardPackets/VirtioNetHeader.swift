/// The virtio-net header (`struct virtio_net_hdr`, virtio 1.x section 5.1.6; Linux's
/// `IFF_VNET_HDR` TAP devices put one ahead of every frame): how an offloading kernel hands
/// over a frame whose checksum is still to be filled in, or a large TCP segment (GSO) for the
/// receiver to cut into segments of `gsoSize` bytes of payload.
///
/// Ten bytes, little-endian (a TAP device on a little-endian host, or one set to
/// `TUNSETVNETLE`).
public struct VirtioNetHeader: Hashable, Sendable {
    public static let length = 10

    /// VIRTIO_NET_HDR_F_NEEDS_CSUM: the checksum from `checksumStart` is to be computed and
    /// stored at `checksumStart + checksumOffset`.
    public static let needsChecksum: UInt8 = 1
    /// VIRTIO_NET_HDR_F_DATA_VALID: the checksum was checked already.
    public static let dataValid: UInt8 = 2

    public enum GSO: UInt8, Sendable {
        case none = 0
        case tcpIPv4 = 1
        case udp = 3
        case tcpIPv6 = 4
    }

    /// VIRTIO_NET_HDR_GSO_ECN, or-ed into the GSO type.
    public static let ecn: UInt8 = 0x80

    public var flags: UInt8
    /// The GSO type byte as sent (with the ECN bit).
    public var gsoType: UInt8
    public var headerLength: UInt16
    public var gsoSize: UInt16
    public var checksumStart: UInt16
    public var checksumOffset: UInt16

    public init(flags: UInt8 = 0, gsoType: UInt8 = 0, headerLength: UInt16 = 0, gsoSize: UInt16 = 0, checksumStart: UInt16 = 0, checksumOffset: UInt16 = 0) {
        self.flags = flags
        self.gsoType = gsoType
        self.headerLength = headerLength
        self.gsoSize = gsoSize
        self.checksumStart = checksumStart
        self.checksumOffset = checksumOffset
    }

    /// The header at the start of `bytes`; nil when there are fewer than ten.
    public init?(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count >= Self.length else { return nil }
        self.flags = bytes[0]
        self.gsoType = bytes[1]
        self.headerLength = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2, as: UInt16.self))
        self.gsoSize = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 4, as: UInt16.self))
        self.checksumStart = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 6, as: UInt16.self))
        self.checksumOffset = UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 8, as: UInt16.self))
    }

    /// The frame needs nothing done: no checksum to fill in, no segments to cut.
    public var isPlain: Bool {
        self.flags & Self.needsChecksum == 0 && self.gso == VirtioNetHeader.GSO.none
    }

    public var gso: GSO? {
        GSO(rawValue: self.gsoType & ~Self.ecn)
    }

    /// The ten bytes as two words, as `store` writes them: for passing by value.
    public var words: (UInt64, UInt16) {
        var low = UInt64(self.flags) | UInt64(self.gsoType) << 8
        low |= UInt64(self.headerLength) << 16 | UInt64(self.gsoSize) << 32 | UInt64(self.checksumStart) << 48
        return (low, self.checksumOffset)
    }

    /// Writes the ten bytes at `out`.
    @inlinable
    public static func store(words: (UInt64, UInt16), to out: UnsafeMutableRawPointer) {
        out.storeBytes(of: words.0.littleEndian, as: UInt64.self)
        out.storeBytes(of: words.1.littleEndian, toByteOffset: 8, as: UInt16.self)
    }

    public init(words: (UInt64, UInt16)) {
        self.flags = UInt8(truncatingIfNeeded: words.0)
        self.gsoType = UInt8(truncatingIfNeeded: words.0 >> 8)
        self.headerLength = UInt16(truncatingIfNeeded: words.0 >> 16)
        self.gsoSize = UInt16(truncatingIfNeeded: words.0 >> 32)
        self.checksumStart = UInt16(truncatingIfNeeded: words.0 >> 48)
        self.checksumOffset = words.1
    }
}
