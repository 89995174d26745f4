/// An NTP packet header (RFC 5905 section 7.3): the 48 bytes every mode carries.
public struct NTPPacket: Hashable, Sendable {
    /// Bytes of the header without extension fields or MAC (RFC 5905 figure 8).
    public static let length = 48
    /// The well-known NTP port (RFC 5905 section 7.2).
    public static let port: UInt16 = 123

    public enum Mode: UInt8, Sendable, CustomStringConvertible {
        case reserved = 0, symmetricActive, symmetricPassive, client, server, broadcast, control, privateUse

        public var description: String {
            switch self {
            case .reserved: "Reserved"
            case .symmetricActive: "Symmetric Active"
            case .symmetricPassive: "Symmetric Passive"
            case .client: "Client"
            case .server: "Server"
            case .broadcast: "Broadcast"
            case .control: "Control"
            case .privateUse: "Private"
            }
        }
    }

    public var leapIndicator: UInt8 = 0
    public var version: UInt8 = 4
    public var mode: Mode
    public var stratum: UInt8 = 0
    public var poll: Int8 = 0
    public var precision: Int8 = 0
    public var rootDelay: UInt32 = 0
    public var rootDispersion: UInt32 = 0
    public var referenceID: [UInt8] = [0, 0, 0, 0]
    public var referenceTimestamp = NTPTimestamp(rawValue: 0)
    public var originateTimestamp = NTPTimestamp(rawValue: 0)
    public var receiveTimestamp = NTPTimestamp(rawValue: 0)
    public var transmitTimestamp = NTPTimestamp(rawValue: 0)

    public init(mode: Mode) {
        self.mode = mode
    }

    /// Parses the first 48 bytes; nil when fewer are given.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.length else { return nil }
        let start = bytes.startIndex
        let first = bytes[start]
        self.leapIndicator = first >> 6
        self.version = (first >> 3) & 0x07
        self.mode = Mode(rawValue: first & 0x07)!
        self.stratum = bytes[start + 1]
        self.poll = Int8(bitPattern: bytes[start + 2])
        self.precision = Int8(bitPattern: bytes[start + 3])
        self.rootDelay = bytes.bigEndianUInt32(at: 4)
        self.rootDispersion = bytes.bigEndianUInt32(at: 8)
        self.referenceID = Array(bytes[(start + 12)..<(start + 16)])
        self.referenceTimestamp = NTPTimestamp(rawValue: bytes.bigEndianUInt64(at: 16))
        self.originateTimestamp = NTPTimestamp(rawValue: bytes.bigEndianUInt64(at: 24))
        self.receiveTimestamp = NTPTimestamp(rawValue: bytes.bigEndianUInt64(at: 32))
        self.transmitTimestamp = NTPTimestamp(rawValue: bytes.bigEndianUInt64(at: 40))
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        out.append(self.leapIndicator << 6 | (self.version & 0x07) << 3 | self.mode.rawValue)
        out.append(self.stratum)
        out.append(UInt8(bitPattern: self.poll))
        out.append(UInt8(bitPattern: self.precision))
        out.appendBigEndian(self.rootDelay)
        out.appendBigEndian(self.rootDispersion)
        out += self.referenceID.prefix(4) + [UInt8](repeating: 0, count: max(0, 4 - self.referenceID.count))
        out.appendBigEndian(self.referenceTimestamp.rawValue)
        out.appendBigEndian(self.originateTimestamp.rawValue)
        out.appendBigEndian(self.receiveTimestamp.rawValue)
        out.appendBigEndian(self.transmitTimestamp.rawValue)
        return out
    }

    /// The reference id as text when it is printable ASCII (stratum 1 sources such as "LOCL").
    public var referenceIDText: String? {
        let trimmed = self.referenceID.prefix { $0 != 0 }
        guard !trimmed.isEmpty, trimmed.allSatisfy({ (0x20..<0x7F).contains($0) }) else { return nil }
        return String(decoding: trimmed, as: UTF8.self)
    }
}
