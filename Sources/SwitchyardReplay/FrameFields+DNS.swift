import SwitchyardPackets

extension FrameFields {
    /// DNS's header, question and each record's parts, named by section (`dns.answer.ttl`,
    /// `dns.authority.rdata`). Nil unless the payload on port 53 is a DNS message that parses.
    static func dnsLayout(_ bytes: [UInt8], payload: Range<Int>, ports: (UInt16, UInt16)) -> [FrameField]? {
        guard ports.0 == DNSMessage.port || ports.1 == DNSMessage.port,
              let message = try? DNSMessage(parsing: bytes[payload])
        else { return nil }
        let p = payload.lowerBound
        var fields: [FrameField] = [
            FrameField(name: "dns.id", range: p..<(p + 2), kind: .integer),
            FrameField(name: "dns.flags", range: (p + 2)..<(p + 4), kind: .hex),
            FrameField(name: "dns.qdcount", range: (p + 4)..<(p + 6), kind: .integer),
            FrameField(name: "dns.ancount", range: (p + 6)..<(p + 8), kind: .integer),
            FrameField(name: "dns.nscount", range: (p + 8)..<(p + 10), kind: .integer),
            FrameField(name: "dns.arcount", range: (p + 10)..<(p + 12), kind: .integer),
        ]
        // The message parsed, so every name and record below lies inside the payload.
        var position = p + DNSMessage.headerLength
        for _ in message.questions {
            let end = Self.endOfName(bytes, at: position)
            fields += [
                FrameField(name: "dns.question.name", range: position..<end, kind: .bytes),
                FrameField(name: "dns.question.type", range: end..<(end + 2), kind: .integer),
                FrameField(name: "dns.question.class", range: (end + 2)..<(end + 4), kind: .integer),
            ]
            position = end + 4
        }
        let sections = [("answer", message.answers), ("authority", message.authorities), ("additional", message.additionals)]
        for (section, records) in sections {
            for record in records {
                let end = Self.endOfName(bytes, at: position)
                let length = Int(bytes[end + 8]) << 8 | Int(bytes[end + 9])
                let isAddress = record.type == DNSRecord.RecordType.a && length == 4
                fields += [
                    FrameField(name: "dns.\(section).name", range: position..<end, kind: .bytes),
                    FrameField(name: "dns.\(section).type", range: end..<(end + 2), kind: .integer),
                    FrameField(name: "dns.\(section).class", range: (end + 2)..<(end + 4), kind: .integer),
                    FrameField(name: "dns.\(section).ttl", range: (end + 4)..<(end + 8), kind: .integer),
                    FrameField(name: "dns.\(section).rdlength", range: (end + 8)..<(end + 10), kind: .integer),
                    FrameField(name: "dns.\(section).rdata", range: (end + 10)..<(end + 10 + length), kind: isAddress ? .ipv4 : .bytes),
                ]
                position = end + 10 + length
            }
        }
        return fields
    }

    /// Just past the name at `start` as written there: its labels, then a zero or a pointer.
    private static func endOfName(_ bytes: [UInt8], at start: Int) -> Int {
        var position = start
        while position < bytes.count {
            let size = bytes[position]
            if size & 0xC0 == 0xC0 {
                return position + 2
            }
            if size == 0 {
                return position + 1
            }
            position += 1 + Int(size)
        }
        return position
    }
}
