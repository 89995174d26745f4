/// tcpdump-style one-line summaries of DNS messages (RFC 1035): `4660+ A? echo.test. (34)`
/// for a query, `4660* 1/0/0 A 10.0.0.2 (50)` for an answer. Never traps on bad input.
enum DNSSummary {
    static func describe(_ message: ArraySlice<UInt8>) -> String {
        let cursor = ByteCursor(message)
        guard let id = cursor.uint16(at: 0), let flags = cursor.uint16(at: 2),
              let questions = cursor.uint16(at: 4), let answers = cursor.uint16(at: 6),
              let authorities = cursor.uint16(at: 8), let additionals = cursor.uint16(at: 10)
        else { return "DNS (truncated header), length \(message.count)" }
        let isResponse = flags & 0x8000 != 0
        let opcode = (flags >> 11) & 0xF
        let rcode = flags & 0xF
        var offset = 12
        var question = ""
        if questions > 0, let (name, end) = Self.name(in: cursor, at: offset),
           let type = cursor.uint16(at: end) {
            question = "\(Self.typeName(type))? \(name)"
            offset = end + 4
        }
        var text = "\(id)"
        if !isResponse {
            text += flags & 0x0100 != 0 ? "+" : ""
            if opcode != 0 {
                text += " op\(opcode)"
            }
            return "\(text) \(question.isEmpty ? "(no question)" : question) (\(message.count))"
        }
        text += flags & 0x0400 != 0 ? "*" : ""
        text += flags & 0x0080 != 0 ? "" : "-"
        text += flags & 0x0200 != 0 ? "|" : ""
        if rcode != 0 {
            text += " \(Self.rcodeName(rcode))"
        }
        text += " \(answers)/\(authorities)/\(additionals)"
        var shown: [String] = []
        for _ in 0..<min(Int(answers), 8) {
            guard let (_, end) = Self.name(in: cursor, at: offset),
                  let type = cursor.uint16(at: end), let length = cursor.uint16(at: end + 8),
                  let data = cursor.slice(from: end + 10, count: Int(length))
            else { break }
            shown.append(Self.record(type: type, data: data, cursor: cursor, dataOffset: end + 10))
            offset = end + 10 + Int(length)
        }
        if !shown.isEmpty {
            text += " " + shown.joined(separator: ", ")
        } else if !question.isEmpty, answers == 0 {
            text += " q: \(question)"
        }
        return "\(text) (\(message.count))"
    }

    static func record(type: UInt16, data: ArraySlice<UInt8>, cursor: ByteCursor, dataOffset: Int) -> String {
        switch type {
        case 1 where data.count == 4:
            return "A " + data.map(String.init).joined(separator: ".")
        case 12, 5, 2:
            let target = Self.name(in: cursor, at: dataOffset)?.text ?? "?"
            return "\(Self.typeName(type)) \(target)"
        default:
            return Self.typeName(type)
        }
    }

    /// The dotted name at `offset` and the offset just past it (past the first pointer, if any):
    /// `DNSMessage`'s reader, pointer loops and all, with dig's text for the name.
    static func name(in cursor: ByteCursor, at offset: Int) -> (text: String, end: Int)? {
        DNSMessage.readName(cursor, at: offset).map { ($0.0.description, $0.1) }
    }

    static func typeName(_ type: UInt16) -> String {
        switch type {
        case 1: "A"
        case 2: "NS"
        case 5: "CNAME"
        case 6: "SOA"
        case 12: "PTR"
        case 15: "MX"
        case 16: "TXT"
        case 28: "AAAA"
        case 33: "SRV"
        case 41: "OPT"
        case 255: "ANY"
        default: "TYPE\(type)"
        }
    }

    static func rcodeName(_ rcode: UInt16) -> String {
        switch rcode {
        case 1: "FormErr"
        case 2: "ServFail"
        case 3: "NXDomain"
        case 4: "NotImp"
        case 5: "Refused"
        default: "RCODE\(rcode)"
        }
    }
}
