/// A BOOTP/DHCP message (RFC 2131 section 2, options RFC 2132): the fixed 236-byte header, the
/// magic cookie and the options in the order they came. Parsing never traps; encoding writes
/// what the fields say, with an END option and zero padding to BOOTP's 300-byte minimum.
public struct DHCPMessage: Hashable, Sendable {
    public static let serverPort: UInt16 = 67
    public static let clientPort: UInt16 = 68
    /// op, htype … file: everything before the options.
    public static let fixedLength = 236
    public static let magicCookie: UInt32 = 0x6382_5363
    /// RFC 1542 section 2.1: relays and some clients drop BOOTP messages shorter than this.
    public static let minimumEncodedLength = 300
    /// The broadcast bit of `flags` (RFC 2131 figure 2).
    public static let broadcastFlag: UInt16 = 0x8000

    public enum Operation: UInt8, Sendable {
        case request = 1
        case reply = 2
    }

    public var op: UInt8
    public var htype: UInt8 = 1
    public var hlen: UInt8 = 6
    public var hops: UInt8 = 0
    public var xid: UInt32
    public var secs: UInt16 = 0
    public var flags: UInt16 = 0
    public var ciaddr = IPv4Address(rawValue: 0)
    public var yiaddr = IPv4Address(rawValue: 0)
    public var siaddr = IPv4Address(rawValue: 0)
    public var giaddr = IPv4Address(rawValue: 0)
    /// Client hardware address field, all 16 bytes (the MAC is the first `hlen`).
    public var chaddr: [UInt8] = Array(repeating: 0, count: 16)
    /// Server host name field, 64 bytes, NUL padded.
    public var sname: [UInt8] = Array(repeating: 0, count: 64)
    /// Boot file name field, 128 bytes, NUL padded.
    public var file: [UInt8] = Array(repeating: 0, count: 128)
    public var options: [DHCPOption] = []

    public init(op: Operation, xid: UInt32) {
        self.op = op.rawValue
        self.xid = xid
    }

    /// Parses a UDP payload; nil when it is shorter than the header and cookie, the cookie is
    /// wrong, or an option runs past the end.
    public init?(parsing bytes: ArraySlice<UInt8>) {
        let cursor = ByteCursor(bytes)
        guard bytes.count >= Self.fixedLength + 4, cursor.uint32(at: Self.fixedLength) == Self.magicCookie,
              let op = cursor.byte(at: 0), let htype = cursor.byte(at: 1), let hlen = cursor.byte(at: 2),
              let hops = cursor.byte(at: 3), let xid = cursor.uint32(at: 4), let secs = cursor.uint16(at: 8),
              let flags = cursor.uint16(at: 10), let ciaddr = cursor.uint32(at: 12), let yiaddr = cursor.uint32(at: 16),
              let siaddr = cursor.uint32(at: 20), let giaddr = cursor.uint32(at: 24),
              let chaddr = cursor.slice(from: 28, count: 16), let sname = cursor.slice(from: 44, count: 64),
              let file = cursor.slice(from: 108, count: 128),
              let options = Self.parseOptions(cursor, from: Self.fixedLength + 4)
        else { return nil }
        self.op = op
        self.htype = htype
        self.hlen = hlen
        self.hops = hops
        self.xid = xid
        self.secs = secs
        self.flags = flags
        self.ciaddr = IPv4Address(rawValue: ciaddr)
        self.yiaddr = IPv4Address(rawValue: yiaddr)
        self.siaddr = IPv4Address(rawValue: siaddr)
        self.giaddr = IPv4Address(rawValue: giaddr)
        self.chaddr = Array(chaddr)
        self.sname = Array(sname)
        self.file = Array(file)
        self.options = options
    }

    /// Options up to END (or the end of the bytes, which some clients leave out); nil when an
    /// option's length runs past the end.
    static func parseOptions(_ cursor: ByteCursor, from start: Int) -> [DHCPOption]? {
        var options: [DHCPOption] = []
        var position = start
        while let code = cursor.byte(at: position) {
            switch code {
            case DHCPOption.Code.pad:
                position += 1
            case DHCPOption.Code.end:
                return options
            default:
                guard let length = cursor.byte(at: position + 1),
                      let data = cursor.slice(from: position + 2, count: Int(length))
                else { return nil }
                options.append(DHCPOption(code: code, data: Array(data)))
                position += 2 + Int(length)
            }
        }
        return options
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.minimumEncodedLength)
        out += [self.op, self.htype, self.hlen, self.hops]
        out.appendBigEndian(self.xid)
        out.appendBigEndian(self.secs)
        out.appendBigEndian(self.flags)
        for address in [self.ciaddr, self.yiaddr, self.siaddr, self.giaddr] {
            out.appendBigEndian(address.rawValue)
        }
        out += Self.fitted(self.chaddr, 16)
        out += Self.fitted(self.sname, 64)
        out += Self.fitted(self.file, 128)
        out.appendBigEndian(Self.magicCookie)
        for option in self.options {
            // RFC 3396: a value longer than 255 bytes is split into consecutive instances.
            var rest = option.data[...]
            repeat {
                let chunk = rest.prefix(255)
                out += [option.code, UInt8(chunk.count)]
                out += chunk
                rest = rest.dropFirst(chunk.count)
            } while !rest.isEmpty
        }
        out.append(DHCPOption.Code.end)
        if out.count < Self.minimumEncodedLength {
            out += Array(repeating: 0, count: Self.minimumEncodedLength - out.count)
        }
        return out
    }

    private static func fitted(_ bytes: [UInt8], _ count: Int) -> [UInt8] {
        bytes.count >= count ? Array(bytes.prefix(count)) : bytes + Array(repeating: 0, count: count - bytes.count)
    }

    // MARK: Reading options

    /// The option's value; repeated instances are concatenated (RFC 3396).
    public func option(_ code: UInt8) -> [UInt8]? {
        let matching = self.options.filter { $0.code == code }
        guard !matching.isEmpty else { return nil }
        return matching.flatMap(\.data)
    }

    public var messageType: DHCPMessageType? {
        guard let value = self.option(DHCPOption.Code.messageType), value.count == 1 else { return nil }
        return DHCPMessageType(rawValue: value[0])
    }

    public func addressOption(_ code: UInt8) -> IPv4Address? {
        guard let value = self.option(code), value.count == 4 else { return nil }
        return IPv4Address(rawValue: value.bigEndianUInt32(at: 0))
    }

    public func addressListOption(_ code: UInt8) -> [IPv4Address] {
        guard let value = self.option(code), value.count % 4 == 0 else { return [] }
        return stride(from: 0, to: value.count, by: 4).map { IPv4Address(rawValue: value.bigEndianUInt32(at: $0)) }
    }

    public func uint32Option(_ code: UInt8) -> UInt32? {
        guard let value = self.option(code), value.count == 4 else { return nil }
        return value.bigEndianUInt32(at: 0)
    }

    public func textOption(_ code: UInt8) -> String? {
        guard let value = self.option(code) else { return nil }
        return String(decoding: value.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// The client's MAC, when the hardware type is Ethernet.
    public var clientMAC: MACAddress? {
        guard self.htype == 1, self.hlen == 6 else { return nil }
        return MACAddress(bytes: self.chaddr, offset: 0)
    }

    public var isBroadcast: Bool { self.flags & Self.broadcastFlag != 0 }

    /// A NUL-terminated field (`sname`, `file`) as text.
    public static func text(ofField field: [UInt8]) -> String {
        String(decoding: field.prefix { $0 != 0 }, as: UTF8.self)
    }

    /// `text` as a NUL-padded field of `count` bytes; nil when it does not fit with its NUL.
    public static func field(_ text: String, count: Int) -> [UInt8]? {
        let bytes = Array(text.utf8)
        guard bytes.count < count else { return nil }
        return bytes + Array(repeating: 0, count: count - bytes.count)
    }
}

/// One option: code and value (pad and end are not options here; they are framing).
public struct DHCPOption: Hashable, Sendable {
    public var code: UInt8
    public var data: [UInt8]

    public init(code: UInt8, data: [UInt8]) {
        self.code = code
        self.data = data
    }

    public static func address(_ code: UInt8, _ address: IPv4Address) -> DHCPOption {
        DHCPOption(code: code, data: address.bytes)
    }

    public static func addresses(_ code: UInt8, _ addresses: [IPv4Address]) -> DHCPOption {
        DHCPOption(code: code, data: addresses.flatMap(\.bytes))
    }

    public static func uint32(_ code: UInt8, _ value: UInt32) -> DHCPOption {
        var data: [UInt8] = []
        data.appendBigEndian(value)
        return DHCPOption(code: code, data: data)
    }

    public static func text(_ code: UInt8, _ text: String) -> DHCPOption {
        DHCPOption(code: code, data: Array(text.utf8))
    }

    /// RFC 2132 option codes this project reads or writes.
    public enum Code {
        public static let pad: UInt8 = 0
        public static let subnetMask: UInt8 = 1
        public static let router: UInt8 = 3
        public static let domainNameServer: UInt8 = 6
        public static let hostName: UInt8 = 12
        public static let domainName: UInt8 = 15
        public static let ntpServers: UInt8 = 42
        public static let requestedAddress: UInt8 = 50
        public static let leaseTime: UInt8 = 51
        public static let messageType: UInt8 = 53
        public static let serverIdentifier: UInt8 = 54
        public static let parameterRequestList: UInt8 = 55
        public static let message: UInt8 = 56
        public static let renewalTime: UInt8 = 58
        public static let rebindingTime: UInt8 = 59
        public static let clientIdentifier: UInt8 = 61
        public static let tftpServerName: UInt8 = 66
        public static let bootFileName: UInt8 = 67
        public static let end: UInt8 = 255
    }
}

/// Option 53's values (RFC 2132 section 9.6).
public enum DHCPMessageType: UInt8, Sendable, CustomStringConvertible {
    case discover = 1, offer, request, decline, ack, nak, release, inform

    public var description: String {
        switch self {
        case .discover: "DISCOVER"
        case .offer: "OFFER"
        case .request: "REQUEST"
        case .decline: "DECLINE"
        case .ack: "ACK"
        case .nak: "NAK"
        case .release: "RELEASE"
        case .inform: "INFORM"
        }
    }
}
