/// An IPv6 address (RFC 4291), as its 128 bits in two halves (host order).
public struct IPv6Address: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// The 16 bytes as on the wire; nil unless there are exactly 16.
    public init?<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
        guard bytes.count == 16 else { return nil }
        var high: UInt64 = 0
        var low: UInt64 = 0
        for (index, byte) in bytes.enumerated() {
            if index < 8 {
                high = high << 8 | UInt64(byte)
            } else {
                low = low << 8 | UInt64(byte)
            }
        }
        self.init(high: high, low: low)
    }

    /// Parses RFC 4291 section 2.2 text: eight groups of up to four hex digits, one `::` for a
    /// run of zero groups (`fd53:5900::2`, `fe80::1`). Embedded IPv4 and zone ids are refused.
    public init?(_ text: String) {
        guard !text.isEmpty, text.count <= 39, text.allSatisfy({ $0.isHexDigit || $0 == ":" }) else { return nil }
        let characters = Array(text)
        var halves: [String] = [text]
        if let gap = characters.indices.dropLast().first(where: { characters[$0] == ":" && characters[$0 + 1] == ":" }) {
            halves = [String(characters[..<gap]), String(characters[(gap + 2)...])]
            guard !halves[1].contains("::") else { return nil }
        }
        func groups(_ part: String) -> [UInt16]? {
            guard !part.isEmpty else { return [] }
            var out: [UInt16] = []
            for group in part.split(separator: ":", omittingEmptySubsequences: false) {
                guard (1...4).contains(group.count), let value = UInt16(group, radix: 16) else { return nil }
                out.append(value)
            }
            return out
        }
        guard let head = groups(halves[0]) else { return nil }
        var all = head
        if halves.count == 2 {
            guard let tail = groups(halves[1]), head.count + tail.count <= 7 else { return nil }
            all += Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        }
        guard all.count == 8 else { return nil }
        self.init(high: all[0..<4].reduce(0) { $0 << 16 | UInt64($1) }, low: all[4..<8].reduce(0) { $0 << 16 | UInt64($1) })
    }

    /// The link-local address a host forms from its MAC (RFC 4291 appendix A, modified EUI-64):
    /// fe80::, then the MAC with its universal/local bit flipped and ff:fe in the middle.
    public static func linkLocal(for mac: MACAddress) -> IPv6Address {
        let raw = mac.rawValue ^ 0x0200_0000_0000
        let interface = (raw >> 24) << 40 | 0xFF_FE00_0000 | (raw & 0xFF_FFFF)
        return IPv6Address(high: 0xFE80_0000_0000_0000, low: interface)
    }

    public static let unspecified = IPv6Address(high: 0, low: 0)
    /// All nodes on the link (ff02::1).
    public static let allNodes = IPv6Address(high: 0xFF02_0000_0000_0000, low: 1)

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(16)
        out.appendBigEndian(self.high)
        out.appendBigEndian(self.low)
        return out
    }

    public var isMulticast: Bool { self.high >> 56 == 0xFF }
    public var isLinkLocal: Bool { self.high >> 54 == 0xFE80 >> 6 }

    /// The solicited-node multicast group neighbour solicitations for this address go to
    /// (RFC 4291 section 2.7.1): ff02::1:ffXX:XXXX with its low 24 bits.
    public var solicitedNodeMulticast: IPv6Address {
        IPv6Address(high: 0xFF02_0000_0000_0000, low: 0x1_FF00_0000 | (self.low & 0xFF_FFFF))
    }

    /// The Ethernet group address an IPv6 multicast address maps to (RFC 2464 section 7).
    public var multicastMAC: MACAddress {
        MACAddress(rawValue: 0x3333_0000_0000 | (self.low & 0xFFFF_FFFF))
    }

    public var description: String { IPv6Text.format(self.bytes[...]) }

    public static func < (lhs: IPv6Address, rhs: IPv6Address) -> Bool {
        (lhs.high, lhs.low) < (rhs.high, rhs.low)
    }
}
