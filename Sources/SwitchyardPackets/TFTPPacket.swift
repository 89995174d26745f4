/// A TFTP packet (RFC 1350) with options (RFC 2347): requests, data, acknowledgements, errors
/// and option acknowledgements. Parsing is strict: every string ends in a zero byte, a request
/// carries at most `maximumOptions` options, and nothing may follow the last field.
public enum TFTPPacket: Hashable, Sendable {
    case readRequest(filename: String, mode: String, options: [Option])
    case writeRequest(filename: String, mode: String, options: [Option])
    case data(block: UInt16, data: ArraySlice<UInt8>)
    case acknowledgement(block: UInt16)
    case error(code: UInt16, message: String)
    case optionAcknowledgement([Option])

    /// The server's well-known port.
    public static let port: UInt16 = 69
    /// Data bytes per block without the blksize option.
    public static let defaultBlockSize = 512
    /// Options a request may carry before it is refused (a request has a handful at most).
    public static let maximumOptions = 16

    /// An option as sent: its name (compared without case, RFC 2347) and value.
    public struct Option: Hashable, Sendable {
        public var name: String
        public var value: String

        public init(_ name: String, _ value: String) {
            self.name = name
            self.value = value
        }
    }

    /// The error codes of RFC 1350 and RFC 2347.
    public enum ErrorCode {
        public static let notDefined: UInt16 = 0
        public static let fileNotFound: UInt16 = 1
        public static let accessViolation: UInt16 = 2
        public static let illegalOperation: UInt16 = 4
        public static let unknownTransferID: UInt16 = 5
        public static let optionRefused: UInt16 = 8
    }

    /// Why a packet does not parse.
    public struct Malformed: Error, Hashable, Sendable, CustomStringConvertible {
        public var description: String
    }

    public init(parsing bytes: ArraySlice<UInt8>) throws(Malformed) {
        guard bytes.count >= 2 else { throw Malformed(description: "\(bytes.count) bytes: no opcode") }
        let opcode = bytes.bigEndianUInt16(at: 0)
        let body = bytes.dropFirst(2)
        switch opcode {
        case 1, 2:
            var strings = try Self.strings(body)
            guard strings.count >= 2, strings.count % 2 == 0 else {
                throw Malformed(description: "a request needs a file name and a mode, and each option a value")
            }
            let filename = strings.removeFirst()
            let mode = strings.removeFirst()
            guard strings.count / 2 <= Self.maximumOptions else {
                throw Malformed(description: "\(strings.count / 2) options: at most \(Self.maximumOptions)")
            }
            let options = stride(from: 0, to: strings.count, by: 2).map { Option(strings[$0], strings[$0 + 1]) }
            self = opcode == 1 ? .readRequest(filename: filename, mode: mode, options: options) : .writeRequest(filename: filename, mode: mode, options: options)
        case 3:
            guard body.count >= 2 else { throw Malformed(description: "DATA without a block number") }
            self = .data(block: body.bigEndianUInt16(at: 0), data: body.dropFirst(2))
        case 4:
            guard body.count == 2 else { throw Malformed(description: "ACK of \(body.count) bytes after the opcode, not 2") }
            self = .acknowledgement(block: body.bigEndianUInt16(at: 0))
        case 5:
            guard body.count >= 3 else { throw Malformed(description: "ERROR without a code and a message") }
            let strings = try Self.strings(body.dropFirst(2))
            guard strings.count == 1 else { throw Malformed(description: "ERROR carries one message") }
            self = .error(code: body.bigEndianUInt16(at: 0), message: strings[0])
        case 6:
            let strings = try Self.strings(body)
            guard strings.count % 2 == 0, strings.count / 2 <= Self.maximumOptions else { throw Malformed(description: "OACK options come in pairs") }
            self = .optionAcknowledgement(stride(from: 0, to: strings.count, by: 2).map { Option(strings[$0], strings[$0 + 1]) })
        default:
            throw Malformed(description: "opcode \(opcode)")
        }
    }

    /// The zero-terminated strings that make up `bytes`, which must end in a zero.
    private static func strings(_ bytes: ArraySlice<UInt8>) throws(Malformed) -> [String] {
        guard bytes.last == 0 else { throw Malformed(description: "a string without its terminating zero") }
        var strings: [String] = []
        var start = bytes.startIndex
        for index in bytes.indices where bytes[index] == 0 {
            strings.append(String(decoding: bytes[start..<index], as: UTF8.self))
            start = index + 1
            guard strings.count <= 2 + 2 * Self.maximumOptions else {
                throw Malformed(description: "more than \(Self.maximumOptions) options")
            }
        }
        return strings
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        func appendString(_ text: String) {
            out += Array(text.utf8)
            out.append(0)
        }
        switch self {
        case .readRequest(let filename, let mode, let options), .writeRequest(let filename, let mode, let options):
            if case .readRequest = self { out.appendBigEndian(UInt16(1)) } else { out.appendBigEndian(UInt16(2)) }
            appendString(filename)
            appendString(mode)
            for option in options {
                appendString(option.name)
                appendString(option.value)
            }
        case .data(let block, let data):
            out.reserveCapacity(4 + data.count)
            out.appendBigEndian(UInt16(3))
            out.appendBigEndian(block)
            out += data
        case .acknowledgement(let block):
            out.appendBigEndian(UInt16(4))
            out.appendBigEndian(block)
        case .error(let code, let message):
            out.appendBigEndian(UInt16(5))
            out.appendBigEndian(code)
            appendString(message)
        case .optionAcknowledgement(let options):
            out.appendBigEndian(UInt16(6))
            for option in options {
                appendString(option.name)
                appendString(option.value)
            }
        }
        return out
    }
}
