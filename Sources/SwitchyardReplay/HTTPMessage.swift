/// One HTTP/1.x message read from a TCP byte stream (RFC 9112): its start line, its header
/// fields by lower-case name in order, and its body as the transfer coding delivers it
/// (Content-Length, chunked, or to the end of the stream for a response without either).
public struct HTTPMessage: Hashable, Sendable {
    public var startLine: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Where the message began in the stream.
    public var offset: Int

    public static func == (lhs: HTTPMessage, rhs: HTTPMessage) -> Bool {
        lhs.startLine == rhs.startLine && lhs.body == rhs.body && lhs.offset == rhs.offset
            && lhs.headers.map(\.name) == rhs.headers.map(\.name) && lhs.headers.map(\.value) == rhs.headers.map(\.value)
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(self.startLine)
        hasher.combine(self.body)
    }

    /// `HTTP/1.1 200 OK` → ("HTTP/1.1", "200", "OK"); a request line the same way.
    public var startFields: (String, String, String) {
        let parts = self.startLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        return (parts.first ?? "", parts.count > 1 ? parts[1] : "", parts.count > 2 ? parts[2] : "")
    }

    /// The values of every field named `name` (lower case), joined as RFC 9110 5.3 allows.
    public func header(_ name: String) -> String? {
        let values = self.headers.filter { $0.name == name }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// A stream that begins as an HTTP/1.x response does.
    public static func isResponseStream(_ bytes: [UInt8]) -> Bool {
        bytes.starts(with: Array("HTTP/1.".utf8))
    }

    /// The messages of a response stream, in order; parsing stops at the first one that is
    /// not well formed (what follows is returned as `rest`).
    public static func responses(in bytes: [UInt8]) -> (messages: [HTTPMessage], rest: ArraySlice<UInt8>) {
        var messages: [HTTPMessage] = []
        var offset = 0
        // A hostile stream of tiny messages costs at most this many.
        while offset < bytes.count, messages.count < 10_000 {
            guard let (message, end) = Self.parse(bytes, at: offset) else { break }
            messages.append(message)
            offset = end
        }
        return (messages, bytes[offset...])
    }

    /// One response at `offset`, and where it ends; nil when it is not well formed.
    static func parse(_ bytes: [UInt8], at offset: Int) -> (HTTPMessage, Int)? {
        guard let headerEnd = Self.find([13, 10, 13, 10], in: bytes, from: offset) else { return nil }
        let lines = Self.lines(bytes[offset..<headerEnd])
        guard let startLine = lines.first, startLine.hasPrefix("HTTP/1.") else { return nil }
        var headers: [(String, String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { return nil }
            let name = line[..<colon].lowercased()
            let value = line[line.index(after: colon)...].trimmingWhitespace()
            headers.append((name, value))
        }
        var message = HTTPMessage(startLine: startLine, headers: headers, body: [], offset: offset)
        var position = headerEnd + 4
        let status = Int(message.startFields.1) ?? 0
        if (100..<200).contains(status) || status == 204 || status == 304 {
            return (message, position)
        }
        if message.header("transfer-encoding")?.lowercased().hasSuffix("chunked") == true {
            // RFC 9112 7.1: size in hex (extensions after ';'), CRLF, data, CRLF; 0 ends, then trailers.
            while true {
                guard let lineEnd = Self.find([13, 10], in: bytes, from: position) else { return nil }
                let sizeText = String(decoding: bytes[position..<lineEnd], as: UTF8.self).split(separator: ";").first.map(String.init) ?? ""
                guard let size = Int(sizeText.trimmingWhitespace(), radix: 16), size >= 0, size <= bytes.count else { return nil }
                position = lineEnd + 2
                if size == 0 {
                    guard let trailerEnd = Self.find([13, 10], in: bytes, from: position) else { return nil }
                    if trailerEnd == position {
                        return (message, position + 2)
                    }
                    guard let end = Self.find([13, 10, 13, 10], in: bytes, from: position) else { return nil }
                    return (message, end + 4)
                }
                guard position + size + 2 <= bytes.count else { return nil }
                message.body += bytes[position..<(position + size)]
                position += size + 2
            }
        }
        if let lengthText = message.header("content-length") {
            guard let length = Int(lengthText.split(separator: ",").first.map { String($0).trimmingWhitespace() } ?? ""), length >= 0,
                  position + length <= bytes.count
            else { return nil }
            message.body = Array(bytes[position..<(position + length)])
            return (message, position + length)
        }
        message.body = Array(bytes[position...])
        return (message, bytes.count)
    }

    static func lines(_ bytes: ArraySlice<UInt8>) -> [String] {
        String(decoding: bytes, as: UTF8.self).split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    }

    static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard needle.count <= bytes.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0], bytes[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let characters = Array(self)
        var start = 0
        var end = characters.count
        while start < end, characters[start] == " " || characters[start] == "\t" { start += 1 }
        while end > start, characters[end - 1] == " " || characters[end - 1] == "\t" { end -= 1 }
        return String(characters[start..<end])
    }
}
