/// A TCP segment (RFC 9293 section 3.1): the header fields replay reads and rewrites, its
/// options, and its payload. Parsing never traps on hostile input; `bytes(source:destination:)`
/// writes a fresh checksum over the IPv4 pseudo-header.
public struct TCPSegment: Hashable, Sendable {
    public struct Flags: OptionSet, Hashable, Sendable, CustomStringConvertible {
        public var rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }

        public static let fin = Flags(rawValue: 0x01)
        public static let syn = Flags(rawValue: 0x02)
        public static let rst = Flags(rawValue: 0x04)
        public static let psh = Flags(rawValue: 0x08)
        public static let ack = Flags(rawValue: 0x10)
        public static let urg = Flags(rawValue: 0x20)
        public static let ece = Flags(rawValue: 0x40)
        public static let cwr = Flags(rawValue: 0x80)

        /// Wireshark's order and letters: `[SYN, ACK]` is written `SA`.
        public var description: String {
            let names: [(Flags, String)] = [(.syn, "S"), (.fin, "F"), (.rst, "R"), (.psh, "P"), (.ack, "A"), (.urg, "U"), (.ece, "E"), (.cwr, "C")]
            let letters = names.filter { self.contains($0.0) }.map(\.1).joined()
            return letters.isEmpty ? "." : letters
        }
    }

    /// The options replay understands; every other kind is kept as it came.
    public enum Option: Hashable, Sendable {
        case maximumSegmentSize(UInt16)
        case windowScale(UInt8)
        case sackPermitted
        case sack([SACKBlock])
        case timestamps(value: UInt32, echoReply: UInt32)
        case noOperation
        case other(kind: UInt8, data: [UInt8])
    }

    public struct SACKBlock: Hashable, Sendable {
        public var left: UInt32
        public var right: UInt32
        public init(left: UInt32, right: UInt32) {
            self.left = left
            self.right = right
        }
    }

    public static let minimumHeaderLength = 20
    public static let maximumOptionsLength = 40

    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32
    public var acknowledgmentNumber: UInt32
    public var flags: Flags
    public var window: UInt16
    /// As read from the wire; `bytes` writes a fresh one.
    public var checksum: UInt16
    public var urgentPointer: UInt16
    public var options: [Option]
    public var payload: ArraySlice<UInt8>

    public init(
        sourcePort: UInt16, destinationPort: UInt16, sequenceNumber: UInt32, acknowledgmentNumber: UInt32,
        flags: Flags, window: UInt16, options: [Option] = [], payload: [UInt8] = []
    ) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.sequenceNumber = sequenceNumber
        self.acknowledgmentNumber = acknowledgmentNumber
        self.flags = flags
        self.window = window
        self.checksum = 0
        self.urgentPointer = 0
        self.options = options
        self.payload = payload[...]
    }

    /// Parses a segment (the IPv4 payload). Nil when the data offset or an option's length
    /// does not fit.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.minimumHeaderLength else { return nil }
        let start = bytes.startIndex
        let headerLength = Int(bytes[start + 12] >> 4) * 4
        guard headerLength >= Self.minimumHeaderLength, headerLength <= bytes.count else { return nil }
        self.sourcePort = bytes.bigEndianUInt16(at: 0)
        self.destinationPort = bytes.bigEndianUInt16(at: 2)
        self.sequenceNumber = bytes.bigEndianUInt32(at: 4)
        self.acknowledgmentNumber = bytes.bigEndianUInt32(at: 8)
        self.flags = Flags(rawValue: bytes[start + 13])
        self.window = bytes.bigEndianUInt16(at: 14)
        self.checksum = bytes.bigEndianUInt16(at: 16)
        self.urgentPointer = bytes.bigEndianUInt16(at: 18)
        guard let options = Self.parseOptions(bytes[(start + Self.minimumHeaderLength)..<(start + headerLength)]) else { return nil }
        self.options = options
        self.payload = bytes[(start + headerLength)...]
    }

    static func parseOptions(_ bytes: ArraySlice<UInt8>) -> [Option]? {
        var options: [Option] = []
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let kind = bytes[index]
            switch kind {
            case 0:
                // End of option list: the rest is padding.
                return options
            case 1:
                options.append(.noOperation)
                index += 1
                continue
            default:
                break
            }
            guard index + 1 < bytes.endIndex else { return nil }
            let length = Int(bytes[index + 1])
            guard length >= 2, index + length <= bytes.endIndex else { return nil }
            let data = bytes[(index + 2)..<(index + length)]
            switch (kind, length) {
            case (2, 4): options.append(.maximumSegmentSize(data.bigEndianUInt16(at: 0)))
            case (3, 3): options.append(.windowScale(data[data.startIndex]))
            case (4, 2): options.append(.sackPermitted)
            case (5, _) where (length - 2) % 8 == 0:
                options.append(.sack(stride(from: 0, to: length - 2, by: 8).map { SACKBlock(left: data.bigEndianUInt32(at: $0), right: data.bigEndianUInt32(at: $0 + 4)) }))
            case (8, 10): options.append(.timestamps(value: data.bigEndianUInt32(at: 0), echoReply: data.bigEndianUInt32(at: 4)))
            default: options.append(.other(kind: kind, data: Array(data)))
            }
            index += length
        }
        return options
    }

    /// Sequence space the segment occupies: its payload, and one each for SYN and FIN.
    public var sequenceLength: UInt32 {
        UInt32(self.payload.count) + (self.flags.contains(.syn) ? 1 : 0) + (self.flags.contains(.fin) ? 1 : 0)
    }

    public var maximumSegmentSize: UInt16? {
        for case .maximumSegmentSize(let value) in self.options { return value }
        return nil
    }

    public var windowScale: UInt8? {
        for case .windowScale(let value) in self.options { return value }
        return nil
    }

    public var timestamps: (value: UInt32, echoReply: UInt32)? {
        for case .timestamps(let value, let echo) in self.options { return (value, echo) }
        return nil
    }

    public var isSACKPermitted: Bool { self.options.contains(.sackPermitted) }

    /// The options on the wire, padded to 32 bits. Whole options that do not fit in 40 bytes
    /// are left off from the end (never cut in the middle).
    var optionBytes: [UInt8] {
        var out: [UInt8] = []
        for option in self.options {
            let before = out.count
            switch option {
            case .noOperation: out.append(1)
            case .maximumSegmentSize(let value): out += [2, 4]; out.appendBigEndian(value)
            case .windowScale(let value): out += [3, 3, value]
            case .sackPermitted: out += [4, 2]
            case .sack(let blocks):
                out += [5, UInt8(truncatingIfNeeded: 2 + 8 * blocks.count)]
                for block in blocks {
                    out.appendBigEndian(block.left)
                    out.appendBigEndian(block.right)
                }
            case .timestamps(let value, let echo): out += [8, 10]; out.appendBigEndian(value); out.appendBigEndian(echo)
            case .other(let kind, let data): out += [kind, UInt8(truncatingIfNeeded: 2 + data.count)] + data
            }
            if out.count > Self.maximumOptionsLength {
                out.removeLast(out.count - before)
                break
            }
        }
        // End-of-list padding to a 32-bit boundary.
        while out.count % 4 != 0 { out.append(0) }
        return out
    }

    /// The segment on the wire, with a checksum over the IPv4 pseudo-header (RFC 9293 3.1).
    public func bytes(source: IPv4Address, destination: IPv4Address) -> [UInt8] {
        let options = self.optionBytes
        let headerLength = Self.minimumHeaderLength + options.count
        var out: [UInt8] = []
        out.reserveCapacity(headerLength + self.payload.count)
        out.appendBigEndian(self.sourcePort)
        out.appendBigEndian(self.destinationPort)
        out.appendBigEndian(self.sequenceNumber)
        out.appendBigEndian(self.acknowledgmentNumber)
        out.append(UInt8(headerLength / 4) << 4)
        out.append(self.flags.rawValue)
        out.appendBigEndian(self.window)
        out.appendBigEndian(UInt16(0))
        out.appendBigEndian(self.urgentPointer)
        out += options
        out += self.payload
        var sum = InternetChecksum()
        sum.add(UInt16(truncatingIfNeeded: source.rawValue >> 16))
        sum.add(UInt16(truncatingIfNeeded: source.rawValue))
        sum.add(UInt16(truncatingIfNeeded: destination.rawValue >> 16))
        sum.add(UInt16(truncatingIfNeeded: destination.rawValue))
        sum.add(UInt16(IPProtocol.tcp.rawValue))
        sum.add(UInt16(truncatingIfNeeded: out.count))
        sum.add(out)
        let checksum = sum.value
        out[16] = UInt8(checksum >> 8)
        out[17] = UInt8(truncatingIfNeeded: checksum)
        return out
    }
}

extension IPProtocol {
    public static let tcp = IPProtocol(rawValue: 6)
}

/// An Ethernet frame carrying IPv4/TCP, the way replay reads a recorded or a live segment.
public struct TCPFrame: Hashable, Sendable {
    public var ethernet: EthernetFrame
    public var ip: IPv4Packet
    public var tcp: TCPSegment

    /// Nil when the frame is anything else, a fragment or malformed.
    public init?(parsing bytes: [UInt8]) {
        guard let ethernet = EthernetFrame(parsing: bytes), ethernet.etherType == .ipv4,
              let ip = IPv4Packet(parsing: ethernet.payload), ip.protocolNumber == .tcp, !ip.isFragment,
              let tcp = TCPSegment(parsing: ip.payload)
        else { return nil }
        self.ethernet = ethernet
        self.ip = ip
        self.tcp = tcp
    }

    public init(ethernet: EthernetFrame, ip: IPv4Packet, tcp: TCPSegment) {
        self.ethernet = ethernet
        self.ip = ip
        self.tcp = tcp
    }

    /// The frame with the IPv4 total length and both checksums computed anew; the IPv4
    /// header's other fields (TTL, id, flags, TOS) stay as they are.
    public var bytes: [UInt8] {
        var ip = self.ip
        ip.payload = self.tcp.bytes(source: ip.source, destination: ip.destination)[...]
        return EthernetFrame(destination: self.ethernet.destination, source: self.ethernet.source, etherType: .ipv4, payload: ip.bytes).bytes
    }
}
