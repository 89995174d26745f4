/// A 48-bit IEEE 802 MAC address, held in the low 48 bits of an integer so that MAC tables hash
/// one word.
public struct MACAddress: RawRepresentable, Hashable, Comparable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    /// Keeps the low 48 bits of `rawValue`.
    public init(rawValue: UInt64) {
        self.rawValue = rawValue & 0xFFFF_FFFF_FFFF
    }

    public init(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8, _ b4: UInt8, _ b5: UInt8) {
        self.init(rawValue: [b0, b1, b2, b3, b4, b5].reduce(0) { $0 << 8 | UInt64($1) })
    }

    /// Reads six bytes starting at `offset`; nil when `bytes` is too short.
    public init?<Bytes: RandomAccessCollection>(bytes: Bytes, offset: Int = 0) where Bytes.Element == UInt8, Bytes.Index == Int {
        let start = bytes.startIndex + offset
        guard offset >= 0, start + 6 <= bytes.endIndex else { return nil }
        var value: UInt64 = 0
        for index in start..<(start + 6) {
            value = value << 8 | UInt64(bytes[index])
        }
        self.init(rawValue: value)
    }

    /// Parses six hex pairs separated by colons, in either case (`02:53:59:00:00:07`).
    public init?(_ text: String) {
        let parts = text.utf8.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
        guard parts.count == 6 else { return nil }
        var value: UInt64 = 0
        for part in parts {
            guard part.count == 2, let octet = UInt8(String(decoding: part, as: UTF8.self), radix: 16) else {
                return nil
            }
            value = value << 8 | UInt64(octet)
        }
        self.init(rawValue: value)
    }

    public static let broadcast = MACAddress(rawValue: 0xFFFF_FFFF_FFFF)
    public static let zero = MACAddress(rawValue: 0)

    /// Group (multicast or broadcast) addresses have the I/G bit, the low bit of the first octet, set.
    public var isGroup: Bool { (self.rawValue >> 40) & 1 == 1 }

    public var bytes: [UInt8] {
        (0..<6).map { UInt8(truncatingIfNeeded: self.rawValue >> (40 - 8 * $0)) }
    }

    /// Lower-case hex pairs with colons, as protocol v1 writes MACs.
    public var description: String {
        self.bytes.map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    public static func < (lhs: MACAddress, rhs: MACAddress) -> Bool {
        lhs.rawValue < rhs.rawValue
    }
}
