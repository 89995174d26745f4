import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

/// HTTP/1.x responses read from a stream (RFC 9112): lengths, chunks, keep-alive, and what
/// the comparison says of two streams.
@Suite struct HTTPMessageTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func keepAliveResponsesWithLengthAndChunksAreReadInOrder() {
        let stream = Self.bytes(
            "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: one\r\n\r\nhello"
                + "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
                + "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"
                + "HTTP/1.0 200 OK\r\n\r\nto the end"
        )
        let (messages, rest) = HTTPMessage.responses(in: stream)
        #expect(messages.map(\.startLine) == ["HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 304 Not Modified", "HTTP/1.0 200 OK"])
        #expect(messages.map { String(decoding: $0.body, as: UTF8.self) } == ["hello", "abcde", "", "to the end"])
        #expect(messages[0].header("date") == "one" && messages[0].headers.map(\.name) == ["content-length", "date"])
        #expect(messages.map(\.offset) == [0, 54, 141, 181])
        #expect(rest.isEmpty)
    }

    @Test func aCutOrMalformedResponseEndsTheReading() {
        let cut = HTTPMessage.responses(in: Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhello"))
        #expect(cut.messages.isEmpty && cut.rest.count == 44)
        let badChunk = HTTPMessage.responses(in: Self.bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"))
        #expect(badChunk.messages.isEmpty)
        let noColon = HTTPMessage.responses(in: Self.bytes("HTTP/1.1 200 OK\r\nBroken header\r\n\r\n"))
        #expect(noColon.messages.isEmpty)
        #expect(!HTTPMessage.isResponseStream(Self.bytes("GET / HTTP/1.1\r\n")))
    }

    @Test func theComparisonNamesTheFieldAndTheBodyOffsetAcrossKeepAlive() {
        let first = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: one\r\n\r\nhello"
        let recorded = Self.bytes(first + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: one\r\n\r\nworld")
        let comparator = StreamComparator(masks: [])
        let date = comparator.compare(expected: recorded, received: Self.bytes(first + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: two\r\n\r\nworld"))
        #expect(date?.difference == #"response 2 http.header.date: expected "one", got "two""#)
        let body = comparator.compare(expected: recorded, received: Self.bytes(first + "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: one\r\n\r\nwOrld"))
        #expect(body?.difference == #"response 2 http.body differs at offset 1: expected "orld", got "Orld""#)
        let fewer = comparator.compare(expected: recorded, received: Self.bytes(first))
        #expect(fewer?.difference == #"response 2 missing: expected "HTTP/1.1 200 OK""#)
        let more = comparator.compare(expected: Self.bytes(first), received: recorded)
        #expect(more?.difference == #"response 2 of the live stream unexpected: "HTTP/1.1 200 OK""#)
        let added = comparator.compare(expected: Self.bytes(first), received: Self.bytes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nDate: one\r\nX-New: 1\r\n\r\nhello"))
        #expect(added?.difference == #"response 1 http.header.x-new: expected (absent), got "1""#)
        #expect(comparator.compare(expected: Self.bytes("not http"), received: Self.bytes("not http either")) == nil, "other streams are not HTTP's to judge")
    }

    /// Keep-alive responses are lined up as diff lines up files: one missing in the middle is
    /// named, and the ones after it still match their own.
    @Test func aMissingResponseInTheMiddleDoesNotShiftTheRest() {
        func response(_ body: String) -> String { "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)" }
        let comparator = StreamComparator(masks: [])
        let recorded = Self.bytes(response("one") + response("two") + response("three"))
        let skipped = comparator.compare(expected: recorded, received: Self.bytes(response("one") + response("three")))
        #expect(skipped?.difference == #"response 2 missing: expected "HTTP/1.1 200 OK""#)
        let both = comparator.compare(expected: recorded, received: Self.bytes(response("one") + response("TWO") + response("three") + response("four")))
        #expect(both?.difference == #"response 2 http.body differs at offset 0: expected "two", got "TWO" (and 1 more)"#)
    }

    @Test func printableStreamsAreNamedByLine() {
        let line = StreamComparator.differingLine(at: 14, expected: Self.bytes("first line\nsecond line\n"), received: Self.bytes("first line\nsecXnd line\n"))
        #expect(line == #"line 2 differs at offset 14: expected "second line", got "secXnd line""#)
    }

    /// DNS over TCP (RFC 1035 4.2.2): each message after its two-byte length, compared with the
    /// fields UDP's DNS has, masks included.
    @Test func dnsOverTCPIsComparedByItsFields() throws {
        func stream(ttl: UInt32, id: UInt16 = 7) -> [UInt8] {
            var message = DNSMessage(id: id, flags: DNSMessage.Flag.response)
            message.questions = [DNSQuestion(name: DNSName("web.lab")!, type: DNSRecord.RecordType.a)]
            message.answers = [DNSRecord(name: DNSName("web.lab")!, type: DNSRecord.RecordType.a, ttl: ttl, data: .address(IPv4Address(10, 0, 0, 60)))]
            let bytes = message.encoded()
            return [UInt8(bytes.count >> 8), UInt8(truncatingIfNeeded: bytes.count)] + bytes
        }
        let comparator = StreamComparator(masks: [])
        let recorded = stream(ttl: 60) + stream(ttl: 60, id: 8)
        #expect(comparator.compare(expected: recorded, received: recorded, dns: true)?.difference == nil)
        let changed = comparator.compare(expected: recorded, received: stream(ttl: 60) + stream(ttl: 30, id: 8), dns: true)
        #expect(changed?.difference == "message 2 dns.answer.ttl: expected 60, got 30")
        let masked = StreamComparator(masks: ["dns.answer.ttl"]).compare(expected: recorded, received: stream(ttl: 60) + stream(ttl: 30, id: 8), dns: true)
        #expect(masked?.difference == nil && masked?.hiddenBy == ["dns.answer.ttl"])
        #expect(comparator.compare(expected: recorded, received: stream(ttl: 60), dns: true)?.difference == "message 2 missing")
        #expect(comparator.compare(expected: recorded, received: stream(ttl: 60) + stream(ttl: 30, id: 9), dns: true)?.differingFields == ["dns.id", "dns.answer.ttl"])
        #expect(comparator.compare(expected: recorded, received: stream(ttl: 60), dns: true)?.differingFields == nil, "a message missing: no field names it")
    }
}

/// JUnit and HTML reports escape text one way, fit for XML 1.0 (which cannot hold most control
/// characters: a DNS name or an HTTP body may carry them).
@Test func reportTextIsEscapedForXML() {
    #expect(XMLText.escape("a<b>&\"c\"'d'") == "a&lt;b&gt;&amp;&quot;c&quot;&#39;d&#39;")
    #expect(XMLText.escape("tab\there\nnul\u{0}esc\u{1B}") == "tab\there\nnul?esc?")
}
