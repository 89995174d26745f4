/// A DNS message (RFC 1035 section 4.1): header, questions and three record sections.
/// Parsing follows compression pointers with a loop limit and rejects anything that runs past
/// the end; encoding compresses names (section 4.1.4) and can truncate to a size, setting TC.
public struct DNSMessage: Hashable, Sendable {
    public static let port: UInt16 = 53
    public static let headerLength = 12
    /// RFC 1035 section 4.2.1: the UDP limit without EDNS.
    public static let classicUDPLimit = 512
    /// Pointers followed while reading one name before it is called a loop.
    public static let maximumPointers = 16

    public var id: UInt16
    /// The 16 flag bits as on the wire (QR, opcode, AA, TC, RD, RA, Z, AD, CD, RCODE).
    public var flags: UInt16
    public var questions: [DNSQuestion] = []
    public var answers: [DNSRecord] = []
    public var authorities: [DNSRecord] = []
    public var additionals: [DNSRecord] = []

    public init(id: UInt16, flags: UInt16) {
        self.id = id
        self.flags = flags
    }

    public enum Flag {
        public static let response: UInt16 = 0x8000
        public static let authoritative: UInt16 = 0x0400
        public static let truncated: UInt16 = 0x0200
        public static let recursionDesired: UInt16 = 0x0100
        public static let recursionAvailable: UInt16 = 0x0080
    }

    /// RCODE values (RFC 1035 section 4.1.1, RFC 6891 for BADVERS's extended value).
    public enum ResponseCode {
        public static let noError: UInt16 = 0
        public static let formatError: UInt16 = 1
        public static let serverFailure: UInt16 = 2
        public static let nameError: UInt16 = 3
        public static let notImplemented: UInt16 = 4
        public static let refused: UInt16 = 5
        public static let badVersion: UInt16 = 16

        public static func name(_ code: UInt16) -> String {
            switch code {
            case 0: "NOERROR"
            case 1: "FORMERR"
            case 2: "SERVFAIL"
            case 3: "NXDOMAIN"
            case 4: "NOTIMP"
            case 5: "REFUSED"
            case 16: "BADVERS"
            default: "RCODE\(code)"
            }
        }
    }

    public var isResponse: Bool { self.flags & Flag.response != 0 }
    public var opcode: UInt16 { (self.flags >> 11) & 0xF }
    public var responseCode: UInt16 { self.flags & 0xF }

    public func has(_ flag: UInt16) -> Bool { self.flags & flag != 0 }

    /// Why bytes are not a DNS message; `header` is set when the first 12 bytes were readable,
    /// so a server can still answer FORMERR to that id.
    public struct ParseError: Error, Sendable {
        public var reason: String
        public var id: UInt16?
        public var flags: UInt16?
    }

    public init(parsing bytes: ArraySlice<UInt8>) throws(ParseError) {
        let cursor = ByteCursor(bytes)
        guard let id = cursor.uint16(at: 0), let flags = cursor.uint16(at: 2),
              let qdcount = cursor.uint16(at: 4), let ancount = cursor.uint16(at: 6),
              let nscount = cursor.uint16(at: 8), let arcount = cursor.uint16(at: 10)
        else { throw ParseError(reason: "\(bytes.count) bytes, shorter than a DNS header") }
        self.id = id
        self.flags = flags
        var offset = Self.headerLength
        func fail(_ reason: String) -> ParseError { ParseError(reason: reason, id: id, flags: flags) }
        for _ in 0..<qdcount {
            guard let (name, end) = Self.readName(cursor, at: offset) else { throw fail("bad name in question at \(offset)") }
            guard let type = cursor.uint16(at: end), let klass = cursor.uint16(at: end + 2) else { throw fail("question runs past the end") }
            self.questions.append(DNSQuestion(name: name, type: type, klass: klass))
            offset = end + 4
        }
        for (count, section) in [(ancount, 0), (nscount, 1), (arcount, 2)] {
            for _ in 0..<count {
                guard let (record, end) = Self.readRecord(cursor, at: offset) else { throw fail("bad record at \(offset)") }
                switch section {
                case 0: self.answers.append(record)
                case 1: self.authorities.append(record)
                default: self.additionals.append(record)
                }
                offset = end
            }
        }
    }

    /// A name and the offset just past it in the message (past the first pointer, if any).
    static func readName(_ cursor: ByteCursor, at start: Int) -> (DNSName, Int)? {
        var labels: [[UInt8]] = []
        var position = start
        var end: Int?
        var pointers = 0
        var length = 1
        while true {
            guard let size = cursor.byte(at: position) else { return nil }
            switch size & 0xC0 {
            case 0xC0:
                guard let low = cursor.byte(at: position + 1), pointers < Self.maximumPointers else { return nil }
                pointers += 1
                if end == nil {
                    end = position + 2
                }
                // "A prior occurrence of the same name" (RFC 1035 section 4.1.4): a pointer to
                // its own offset or forward is malformed (and the way to build loops).
                let target = Int(size & 0x3F) << 8 | Int(low)
                guard target < position else { return nil }
                position = target
            case 0:
                if size == 0 {
                    return (DNSName(labels: labels), end ?? position + 1)
                }
                guard let label = cursor.slice(from: position + 1, count: Int(size)) else { return nil }
                length += 1 + Int(size)
                guard length <= DNSName.maximumLength else { return nil }
                labels.append(Array(label))
                position += 1 + Int(size)
            default:
                // 0x40 and 0x80 prefixes are extended label types (RFC 6891 retired them).
                return nil
            }
        }
    }

    static func readRecord(_ cursor: ByteCursor, at start: Int) -> (DNSRecord, Int)? {
        guard let (name, end) = Self.readName(cursor, at: start),
              let type = cursor.uint16(at: end), let klass = cursor.uint16(at: end + 2),
              let ttl = cursor.uint32(at: end + 4), let length = cursor.uint16(at: end + 8),
              let data = cursor.slice(from: end + 10, count: Int(length))
        else { return nil }
        let dataStart = end + 10
        let dataEnd = dataStart + Int(length)
        let decoded: DNSRecord.Data
        switch type {
        case DNSRecord.RecordType.a where length == 4:
            decoded = .address(IPv4Address(rawValue: data.bigEndianUInt32(at: 0)))
        case DNSRecord.RecordType.aaaa where length == 16:
            guard let address = IPv6Address(bytes: data) else { return nil }
            decoded = .address6(address)
        case DNSRecord.RecordType.ptr, DNSRecord.RecordType.ns, DNSRecord.RecordType.cname:
            guard let (target, targetEnd) = Self.readName(cursor, at: dataStart), targetEnd == dataEnd else { return nil }
            decoded = .name(target)
        case DNSRecord.RecordType.soa:
            guard let (mname, mEnd) = Self.readName(cursor, at: dataStart),
                  let (rname, rEnd) = Self.readName(cursor, at: mEnd), rEnd + 20 == dataEnd,
                  let serial = cursor.uint32(at: rEnd), let refresh = cursor.uint32(at: rEnd + 4),
                  let retry = cursor.uint32(at: rEnd + 8), let expire = cursor.uint32(at: rEnd + 12),
                  let minimum = cursor.uint32(at: rEnd + 16)
            else { return nil }
            decoded = .soa(DNSRecord.SOA(mname: mname, rname: rname, serial: serial, refresh: refresh, retry: retry, expire: expire, minimum: minimum))
        default:
            decoded = .raw(Array(data))
        }
        return (DNSRecord(name: name, type: type, klass: klass, ttl: ttl, data: decoded), dataEnd)
    }

    // MARK: Encoding

    /// The message, compressed. When it would exceed `limit` bytes, records are dropped from the
    /// end (additional, then authority, then answers, keeping an OPT record) and TC is set if an
    /// answer or authority record had to go (RFC 2181 section 9).
    public func encoded(limit: Int = .max) -> [UInt8] {
        var message = self
        var bytes = message.encodedWhole()
        guard bytes.count > limit else { return bytes }
        let opt = message.additionals.filter { $0.type == DNSRecord.RecordType.opt }
        message.additionals = opt
        bytes = message.encodedWhole()
        while bytes.count > limit, !(message.answers.isEmpty && message.authorities.isEmpty) {
            if !message.authorities.isEmpty {
                message.authorities.removeLast()
            } else {
                message.answers.removeLast()
            }
            message.flags |= Flag.truncated
            bytes = message.encodedWhole()
        }
        return bytes
    }

    private func encodedWhole() -> [UInt8] {
        var writer = DNSWriter()
        writer.bytes.appendBigEndian(self.id)
        writer.bytes.appendBigEndian(self.flags)
        for count in [self.questions.count, self.answers.count, self.authorities.count, self.additionals.count] {
            writer.bytes.appendBigEndian(UInt16(clamping: count))
        }
        for question in self.questions {
            writer.write(question.name)
            writer.bytes.appendBigEndian(question.type)
            writer.bytes.appendBigEndian(question.klass)
        }
        for record in self.answers + self.authorities + self.additionals {
            writer.write(record)
        }
        return writer.bytes
    }
}

/// Builds a message's bytes, remembering where each name suffix was written so later names
/// can point at it.
struct DNSWriter {
    var bytes: [UInt8] = []
    private var suffixes: [DNSName: Int] = [:]

    /// Suffixes match exactly, case included: a pointer to another case of the name would
    /// change how the name reads back (answers keep the question's case).
    mutating func write(_ name: DNSName) {
        for index in 0..<name.labels.count {
            let suffix = DNSName(labels: Array(name.labels[index...]))
            if let offset = self.suffixes[suffix] {
                self.bytes.appendBigEndian(UInt16(0xC000 | offset))
                return
            }
            // Only offsets a 14-bit pointer can reach are worth remembering.
            if self.bytes.count < 0x4000 {
                self.suffixes[suffix] = self.bytes.count
            }
            self.bytes.append(UInt8(name.labels[index].count))
            self.bytes += name.labels[index]
        }
        self.bytes.append(0)
    }

    mutating func write(_ record: DNSRecord) {
        self.write(record.name)
        self.bytes.appendBigEndian(record.type)
        self.bytes.appendBigEndian(record.klass)
        self.bytes.appendBigEndian(record.ttl)
        let lengthAt = self.bytes.count
        self.bytes.appendBigEndian(UInt16(0))
        switch record.data {
        case .address(let address):
            self.bytes.appendBigEndian(address.rawValue)
        case .address6(let address):
            self.bytes.appendBigEndian(address.high)
            self.bytes.appendBigEndian(address.low)
        case .name(let target):
            self.write(target)
        case .soa(let soa):
            self.write(soa.mname)
            self.write(soa.rname)
            for value in [soa.serial, soa.refresh, soa.retry, soa.expire, soa.minimum] {
                self.bytes.appendBigEndian(value)
            }
        case .raw(let data):
            self.bytes += data
        }
        let length = UInt16(clamping: self.bytes.count - lengthAt - 2)
        self.bytes[lengthAt] = UInt8(length >> 8)
        self.bytes[lengthAt + 1] = UInt8(truncatingIfNeeded: length)
    }
}

public struct DNSQuestion: Hashable, Sendable {
    public var name: DNSName
    public var type: UInt16
    public var klass: UInt16

    public init(name: DNSName, type: UInt16, klass: UInt16 = DNSRecord.Class.internet) {
        self.name = name
        self.type = type
        self.klass = klass
    }
}

public struct DNSRecord: Hashable, Sendable {
    public var name: DNSName
    public var type: UInt16
    public var klass: UInt16
    public var ttl: UInt32
    public var data: Data

    public init(name: DNSName, type: UInt16, klass: UInt16 = Class.internet, ttl: UInt32, data: Data) {
        self.name = name
        self.type = type
        self.klass = klass
        self.ttl = ttl
        self.data = data
    }

    public enum Data: Hashable, Sendable {
        case address(IPv4Address)
        /// AAAA (RFC 3596).
        case address6(IPv6Address)
        /// PTR, NS, CNAME.
        case name(DNSName)
        case soa(SOA)
        case raw([UInt8])
    }

    public struct SOA: Hashable, Sendable {
        public var mname: DNSName
        public var rname: DNSName
        public var serial: UInt32
        public var refresh: UInt32
        public var retry: UInt32
        public var expire: UInt32
        public var minimum: UInt32

        public init(mname: DNSName, rname: DNSName, serial: UInt32, refresh: UInt32, retry: UInt32, expire: UInt32, minimum: UInt32) {
            self.mname = mname
            self.rname = rname
            self.serial = serial
            self.refresh = refresh
            self.retry = retry
            self.expire = expire
            self.minimum = minimum
        }
    }

    public enum RecordType {
        public static let a: UInt16 = 1
        public static let ns: UInt16 = 2
        public static let cname: UInt16 = 5
        public static let soa: UInt16 = 6
        public static let ptr: UInt16 = 12
        public static let mx: UInt16 = 15
        public static let txt: UInt16 = 16
        public static let aaaa: UInt16 = 28
        public static let opt: UInt16 = 41
        public static let any: UInt16 = 255

        public static func name(_ type: UInt16) -> String { DNSSummary.typeName(type) }

        /// `A`, `ptr`, `TYPE28` → the number; nil for names this project does not know.
        public static func parse(_ text: String) -> UInt16? {
            let upper = text.uppercased()
            if upper.hasPrefix("TYPE"), let value = UInt16(upper.dropFirst(4)) {
                return value
            }
            let known: [String: UInt16] = ["A": a, "NS": ns, "CNAME": cname, "SOA": soa, "PTR": ptr, "MX": mx, "TXT": txt, "AAAA": aaaa, "ANY": any]
            return known[upper]
        }
    }

    public enum Class {
        public static let internet: UInt16 = 1
    }
}
