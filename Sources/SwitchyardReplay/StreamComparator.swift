import SwitchyardPackets

/// Compares a live server's byte stream with the recorded one by what it says, where it can:
/// HTTP/1.x responses message by message and field by field (`http.status`, `http.reason`,
/// `http.header.NAME`, `http.body`); for other printable streams, `differingLine` names the
/// line. Masks name HTTP fields as `--ignore` does.
public struct StreamComparator: Sendable {
    /// The mask names that apply to streams.
    public let masks: Set<String>

    public init(masks: Set<String>) {
        self.masks = masks.filter { $0.hasPrefix("http.") || $0.hasPrefix("dns.") }
    }

    public struct Result: Hashable, Sendable {
        /// nil when the streams say the same, masked fields aside.
        public var difference: String?
        /// The masks whose fields differed.
        public var hiddenBy: [String]
        /// Every field that differed, masked or not, for learning noise; nil when the streams
        /// do not line up message for message (then no field names what differs).
        public var differingFields: [String]?
    }

    /// The comparison of an HTTP/1.x response stream by fields; nil for other streams (and
    /// for a recorded stream that is not well-formed HTTP): the byte comparison stands.
    /// `dns`: the connection is to port 53, so the stream is DNS messages each after a
    /// two-byte length (RFC 1035 4.2.2), compared with the DNS fields of UDP.
    public func compare(expected: [UInt8], received: [UInt8], dns: Bool = false) -> Result? {
        if dns {
            return self.compareDNS(expected: expected, received: received)
        }
        guard HTTPMessage.isResponseStream(expected) else { return nil }
        return self.compareHTTP(expected: expected, received: received)
    }

    /// The messages of a DNS-over-TCP stream; nil when the stream is not length-framed DNS.
    static func dnsMessages(_ bytes: [UInt8]) -> [[UInt8]]? {
        var messages: [[UInt8]] = []
        var offset = 0
        while offset + 2 <= bytes.count {
            let length = Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
            guard offset + 2 + length <= bytes.count else { return nil }
            messages.append(Array(bytes[(offset + 2)..<(offset + 2 + length)]))
            offset += 2 + length
        }
        return offset == bytes.count ? messages : nil
    }

    /// Each DNS message's fields (`dns.answer.ttl`, …), message by message; nil when a side is
    /// not length-framed DNS whose messages parse.
    static func dnsFields(_ bytes: [UInt8]) -> [(message: [UInt8], fields: [FrameField])]? {
        guard let messages = Self.dnsMessages(bytes) else { return nil }
        var out: [(message: [UInt8], fields: [FrameField])] = []
        for message in messages {
            guard let fields = FrameFields.dnsLayout(message, payload: 0..<message.count, ports: (DNSMessage.port, DNSMessage.port)) else { return nil }
            out.append((message, fields))
        }
        return out
    }

    private func compareDNS(expected: [UInt8], received: [UInt8]) -> Result? {
        guard let recorded = Self.dnsFields(expected) else { return nil }
        guard let live = Self.dnsFields(received) else {
            return Result(difference: "the server's stream is not DNS messages each after a two-byte length (RFC 1035 4.2.2)", hiddenBy: [], differingFields: nil)
        }
        var hidden: Set<String> = []
        var fields: [String] = []
        var linedUp = recorded.count == live.count
        var difference: String?
        for (index, want) in recorded.enumerated() {
            let label = "message \(index + 1)"
            guard index < live.count else {
                difference = difference ?? "\(label) missing"
                break
            }
            let got = live[index]
            guard want.fields.map(\.name) == got.fields.map(\.name) else {
                difference = difference ?? "\(label) has other records: expected \(want.fields.count) fields, got \(got.fields.count)"
                linedUp = false
                continue
            }
            for (x, y) in zip(want.fields, got.fields) where !want.message[x.range].elementsEqual(got.message[y.range]) {
                if !fields.contains(x.name) {
                    fields.append(x.name)
                }
                if self.masks.contains(x.name) {
                    hidden.insert(x.name)
                } else if difference == nil {
                    difference = "\(label) \(x.name): expected \(FrameFields.render(x, in: want.message)), got \(FrameFields.render(y, in: got.message))"
                }
            }
        }
        if live.count > recorded.count, difference == nil {
            difference = "message \(recorded.count + 1) unexpected"
        }
        return Result(difference: difference, hiddenBy: hidden.sorted(), differingFields: linedUp ? fields : nil)
    }

    /// One response against another: the first unmasked difference (nil: the same), and the
    /// masks that hid a difference.
    func compare(_ want: HTTPMessage, _ got: HTTPMessage, label: String) -> (difference: String?, hidden: Set<String>, fields: [String]) {
        var hidden: Set<String> = []
        var fields: [String] = []
        var difference: String?
        func note(_ field: String, _ text: @autoclosure () -> String) {
            fields.append(field)
            if self.masks.contains(field) {
                hidden.insert(field)
            } else if difference == nil {
                difference = text()
            }
        }
        let (wantVersion, wantStatus, wantReason) = want.startFields
        let (gotVersion, gotStatus, gotReason) = got.startFields
        if wantVersion != gotVersion { note("http.version", "\(label) http.version: expected \(wantVersion), got \(gotVersion)") }
        if wantStatus != gotStatus { note("http.status", "\(label) http.status: expected \(wantStatus), got \(gotStatus)") }
        if wantReason != gotReason { note("http.reason", "\(label) http.reason: expected \"\(wantReason)\", got \"\(gotReason)\"") }
        var names: [String] = []
        for name in want.headers.map(\.name) + got.headers.map(\.name) where !names.contains(name) {
            names.append(name)
        }
        for name in names {
            let a = want.header(name)
            let b = got.header(name)
            if a != b {
                note("http.header.\(name)", "\(label) http.header.\(name): expected \(Self.quoted(a)), got \(Self.quoted(b))")
            }
        }
        if want.body != got.body {
            let common = min(want.body.count, got.body.count)
            let offset = (0..<common).first { want.body[$0] != got.body[$0] } ?? common
            note("http.body", "\(label) http.body differs at offset \(offset): expected \(Self.excerpt(want.body, at: offset)), got \(Self.excerpt(got.body, at: offset))")
        }
        return (difference, hidden, fields)
    }

    /// Response by response, lined up as diff lines up files: a missing or an extra response
    /// is named as such, and the ones after it are still compared with their own.
    private func compareHTTP(expected: [UInt8], received: [UInt8]) -> Result? {
        let recorded = HTTPMessage.responses(in: expected).messages
        let parsedLive = HTTPMessage.responses(in: received)
        guard HTTPMessage.responses(in: expected).rest.isEmpty else { return nil }
        let live = parsedLive.messages
        var hidden: Set<String> = []
        var fields: [String] = []
        var problems: [String] = []
        // Pairs of equal responses (masked fields aside); bounded like frame alignment.
        let pairs = recorded.count * live.count <= 250_000
            ? Alignment.longestCommonPairs(recorded.count, live.count) { self.compare(recorded[$0], live[$1], label: "").difference == nil }
            : Array(zip(0..<min(recorded.count, live.count), 0..<min(recorded.count, live.count))).filter { self.compare(recorded[$0.0], live[$0.1], label: "").difference == nil }
        var i = 0
        var j = 0
        for (e, a) in pairs + [(recorded.count, live.count)] {
            while i < e {
                let label = "response \(i + 1)"
                if j < a {
                    let result = self.compare(recorded[i], live[j], label: label)
                    hidden.formUnion(result.hidden)
                    fields += result.fields.filter { !fields.contains($0) }
                    if let difference = result.difference { problems.append(difference) }
                    j += 1
                } else {
                    problems.append("\(label) missing: expected \"\(recorded[i].startLine)\"")
                }
                i += 1
            }
            while j < a {
                problems.append("response \(j + 1) of the live stream unexpected: \"\(live[j].startLine)\"")
                j += 1
            }
            if e < recorded.count {
                let result = self.compare(recorded[e], live[a], label: "")
                hidden.formUnion(result.hidden)
                fields += result.fields.filter { !fields.contains($0) }
            }
            i = e + 1
            j = a + 1
        }
        if !parsedLive.rest.isEmpty {
            problems.append("\(parsedLive.rest.count) bytes after the last response, not HTTP")
        }
        let linedUp = recorded.count == live.count && parsedLive.rest.isEmpty
        return Result(
            difference: problems.first.map { problems.count > 1 ? "\($0) (and \(problems.count - 1) more)" : $0 },
            hiddenBy: hidden.sorted(), differingFields: linedUp ? fields : nil
        )
    }

    public static func isText(_ bytes: [UInt8]) -> Bool {
        !bytes.isEmpty && bytes.allSatisfy { (0x20..<0x7F).contains($0) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
    }

    /// For printable streams: the line holding the first differing byte, with its number and
    /// the byte's offset, both sides' whole lines (up to 80 bytes).
    public static func differingLine(at offset: Int, expected: [UInt8], received: [UInt8]) -> String {
        let lineStart = expected[..<min(offset, expected.count)].lastIndex(of: 0x0A).map { $0 + 1 } ?? 0
        let number = expected[..<lineStart].count { $0 == 0x0A } + 1
        func line(_ bytes: [UInt8]) -> String {
            guard lineStart < bytes.count else { return "(end of stream)" }
            let rest = bytes[lineStart...]
            let end = rest.firstIndex(of: 0x0A) ?? rest.endIndex
            return Self.quoted(String(decoding: bytes[lineStart..<min(end, lineStart + 80)], as: UTF8.self))
        }
        return "line \(number) differs at offset \(offset): expected \(line(expected)), got \(line(received))"
    }

    static func quoted(_ text: String?) -> String {
        guard let text else { return "(absent)" }
        return "\"" + text.unicodeScalars.map { scalar in
            switch scalar {
            case "\"": "\\\""
            case "\r": "\\r"
            case "\n": "\\n"
            case "\t": "\\t"
            default: String(scalar)
            }
        }.joined() + "\""
    }

    static func excerpt(_ bytes: [UInt8], at offset: Int) -> String {
        guard offset < bytes.count else { return "(end of body)" }
        let window = Array(bytes[offset..<min(bytes.count, offset + 24)])
        if Self.isText(window) {
            return Self.quoted(String(decoding: window, as: UTF8.self))
        }
        return window.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
    }
}
