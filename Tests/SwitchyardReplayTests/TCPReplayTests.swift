import SwitchyardCapture
import SwitchyardPackets
@testable import SwitchyardReplay
import Testing

let tcpClientIP = IPv4Address(10, 0, 0, 1)
let tcpServerIP = IPv4Address(10, 0, 0, 2)

/// A TCP segment between `client` (10.0.0.1:40000) and `service` (10.0.0.2:80).
func tcp(from sender: MACAddress, seq: UInt32, ack: UInt32, _ flags: TCPSegment.Flags, _ payload: String = "", options: [TCPSegment.Option] = [], id: UInt16 = 0) -> [UInt8] {
    let fromClient = sender != service
    let segment = TCPSegment(
        sourcePort: fromClient ? 40000 : 80, destinationPort: fromClient ? 80 : 40000, sequenceNumber: seq, acknowledgmentNumber: ack,
        flags: flags, window: 502, options: options, payload: Array(payload.utf8)
    )
    let ip = IPv4Packet(source: fromClient ? tcpClientIP : tcpServerIP, destination: fromClient ? tcpServerIP : tcpClientIP, protocolNumber: .tcp, payload: [], identification: id)
    let ethernet = EthernetFrame(destination: fromClient ? service : client, source: sender, etherType: .ipv4, payload: [])
    return TCPFrame(ethernet: ethernet, ip: ip, tcp: segment).bytes
}

let synOptions: [TCPSegment.Option] = [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 1, echoReply: 0), .noOperation, .windowScale(7)]

/// GET, "hello, world", both sides close: the recording of one HTTP-like exchange.
func tcpSession(reply: String = "hello, world") -> [[UInt8]] {
    let serverISN: UInt32 = 5000
    let split = reply.index(reply.startIndex, offsetBy: min(7, reply.count))
    let first = String(reply[..<split]), second = String(reply[split...])
    let end = serverISN + 1 + UInt32(reply.utf8.count)
    return [
        tcp(from: client, seq: 100, ack: 0, .syn, options: synOptions),
        tcp(from: service, seq: serverISN, ack: 101, [.syn, .ack], options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 77, echoReply: 1), .noOperation, .windowScale(7)]),
        tcp(from: client, seq: 101, ack: serverISN + 1, .ack, options: [.noOperation, .noOperation, .timestamps(value: 2, echoReply: 77)]),
        tcp(from: client, seq: 101, ack: serverISN + 1, [.psh, .ack], "GET /\r\n", options: [.noOperation, .noOperation, .timestamps(value: 2, echoReply: 77)]),
        tcp(from: service, seq: serverISN + 1, ack: 108, .ack),
        tcp(from: service, seq: serverISN + 1, ack: 108, [.psh, .ack], first),
        tcp(from: service, seq: serverISN + 1 + UInt32(first.utf8.count), ack: 108, [.fin, .psh, .ack], second),
        tcp(from: client, seq: 108, ack: end + 1, .ack),
        tcp(from: client, seq: 108, ack: end + 1, [.fin, .ack], options: [.noOperation, .noOperation, .timestamps(value: 3, echoReply: 78)]),
        tcp(from: service, seq: end + 1, ack: 109, .ack),
    ]
}

@Suite struct TCPReplayTests {
    typealias Replay = TCPReplay<ContinuousClock.Instant>
    let t0 = ContinuousClock.now
    let liveISN: UInt32 = 900_000

    func connection(reply: String = "hello, world") throws -> RecordedConnection {
        let frames = tcpSession(reply: reply).enumerated().map { RecordedFrame(number: $0 + 1, timestamp: CaptureTimestamp(totalNanoseconds: Int64($0)), bytes: $1) }
        return try RecordedConnection.read(frames).get()
    }

    func server(seq: UInt32, ack: UInt32, _ flags: TCPSegment.Flags, _ payload: String = "", tsval: UInt32 = 500) -> TCPFrame {
        TCPFrame(parsing: tcp(from: service, seq: seq, ack: ack, flags, payload, options: [.noOperation, .noOperation, .timestamps(value: tsval, echoReply: 2)]))!
    }

    var synAck: TCPFrame {
        TCPFrame(parsing: tcp(from: service, seq: liveISN, ack: 101, [.syn, .ack], options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 400, echoReply: 1), .noOperation, .windowScale(7)]))!
    }

    @Test func theServersStreamIsComparedNotItsSegments() throws {
        var replay = Replay(recorded: try self.connection(), timeout: .seconds(1))
        let syn = replay.start(now: t0)
        #expect(syn == [tcpSession()[0]], "the SYN goes out as recorded")
        let afterHandshake = replay.received(self.synAck, now: t0)
        #expect(afterHandshake.count == 2, "the handshake's ACK, then the request it was waiting for")
        let handshakeAck = try #require(TCPFrame(parsing: afterHandshake[0]))
        #expect(handshakeAck.tcp.flags == .ack && handshakeAck.tcp.acknowledgmentNumber == liveISN + 1)
        let request = try #require(TCPFrame(parsing: afterHandshake[1]))
        #expect(request.tcp.sequenceNumber == 101 && request.tcp.acknowledgmentNumber == liveISN + 1)
        #expect(String(decoding: request.tcp.payload, as: UTF8.self) == "GET /\r\n")
        #expect(request.tcp.timestamps?.echoReply == 400, "TSecr echoes the live server's TSval")
        #expect(request.ip.isHeaderChecksumValid)

        // The live server coalesces what it sent in two segments, with its FIN.
        let close = replay.received(self.server(seq: liveISN + 1, ack: 108, [.fin, .psh, .ack], "hello, world", tsval: 501), now: t0)
        let fin = try #require(close.first.flatMap(TCPFrame.init(parsing:)))
        #expect(fin.tcp.flags == [.fin, .ack] && fin.tcp.sequenceNumber == 108 && fin.tcp.acknowledgmentNumber == liveISN + 14)
        #expect(fin.tcp.timestamps?.echoReply == 501)
        #expect(!replay.isDone, "our FIN is not acknowledged yet")
        _ = replay.received(self.server(seq: liveISN + 14, ack: 109, .ack), now: t0)
        #expect(replay.isDone)
        #expect(replay.outcome == .matched)
    }

    /// A printable stream is named by the line that changed, with the byte's offset; a binary
    /// one by offset and both sides' bytes.
    @Test func aChangedByteIsNamedByItsLineAndOffset() throws {
        var replay = Replay(recorded: try self.connection(), timeout: .seconds(1))
        _ = replay.start(now: t0)
        _ = replay.received(self.synAck, now: t0)
        _ = replay.received(self.server(seq: liveISN + 1, ack: 108, [.fin, .ack], "hello, there"), now: t0)
        _ = replay.received(self.server(seq: liveISN + 14, ack: 109, .ack), now: t0)
        #expect(replay.outcome == .differed(#"line 1 differs at offset 7: expected "hello, world", got "hello, there""#))

        var binary = Replay(recorded: try self.connection(reply: "hello\u{1}world!"), timeout: .seconds(1))
        _ = binary.start(now: t0)
        _ = binary.received(self.synAck, now: t0)
        _ = binary.received(self.server(seq: liveISN + 1, ack: 108, [.fin, .ack], "hello\u{1}wOrld!"), now: t0)
        #expect(binary.outcome == .differed("server bytes differ at offset 7: expected 68 65 6c 6c 6f 01 77 6f 72 6c 64 21, got 68 65 6c 6c 6f 01 77 4f 72 6c 64 21"))
    }

    /// An HTTP response stream is compared field by field: a changed header is named, a masked
    /// one is counted as hidden, and the body is named by its own offset.
    @Test func httpResponsesAreComparedByFields() throws {
        let recorded = "HTTP/1.1 200 OK\r\nDate: Mon, 01 Jan 2026 00:00:00 GMT\r\nContent-Length: 5\r\n\r\nhello"
        func run(_ live: String, masks: Set<String> = []) throws -> (StreamOutcome, [String]) {
            var replay = Replay(recorded: try self.connection(reply: recorded), timeout: .seconds(1), streams: StreamComparator(masks: masks))
            _ = replay.start(now: t0)
            _ = replay.received(self.synAck, now: t0)
            _ = replay.received(self.server(seq: liveISN + 1, ack: 108, [.fin, .ack], live), now: t0)
            return (replay.outcome, replay.hiddenBy)
        }
        let later = "HTTP/1.1 200 OK\r\nDate: Tue, 02 Jan 2026 10:00:00 GMT\r\nContent-Length: 5\r\n\r\nhello"
        #expect(try run(later).0 == .differed(#"response 1 http.header.date: expected "Mon, 01 Jan 2026 00:00:00 GMT", got "Tue, 02 Jan 2026 10:00:00 GMT""#))
        let masked = try run(later, masks: ["http.header.date"])
        #expect(masked.0 == .matched && masked.1 == ["http.header.date"])
        let body = try run("HTTP/1.1 200 OK\r\nDate: Tue, 02 Jan 2026 10:00:00 GMT\r\nContent-Length: 5\r\n\r\nhellO", masks: ["http.header.date"])
        #expect(body.0 == .differed(#"response 1 http.body differs at offset 4: expected "o", got "O""#))
        let status = try run("HTTP/1.1 404 Not Found\r\nDate: Mon, 01 Jan 2026 00:00:00 GMT\r\nContent-Length: 5\r\n\r\nhello")
        #expect(status.0 == .differed("response 1 http.status: expected 200, got 404"))
    }

    @Test func segmentsOutOfOrderAndTwiceMakeOneStream() throws {
        var replay = Replay(recorded: try self.connection(), timeout: .seconds(1))
        _ = replay.start(now: t0)
        _ = replay.received(self.synAck, now: t0)
        #expect(replay.takeAcknowledgment() == nil, "the request carried the acknowledgment")
        #expect(replay.received(self.server(seq: liveISN + 8, ack: 108, [.fin, .ack], "world"), now: t0).isEmpty, "the FIN is early: nothing to send yet")
        let duplicateAck = try #require(replay.takeAcknowledgment().flatMap(TCPFrame.init(parsing:)))
        #expect(duplicateAck.tcp.acknowledgmentNumber == liveISN + 1, "a gap: the acknowledgment stays where the stream is whole")
        guard case .sack(let blocks)? = duplicateAck.tcp.options.last else {
            Issue.record("no SACK block for the early bytes: \(duplicateAck.tcp.options)")
            return
        }
        #expect(blocks == [TCPSegment.SACKBlock(left: liveISN + 8, right: liveISN + 13)])
        let fin = replay.received(self.server(seq: liveISN + 1, ack: 108, .ack, "hello, "), now: t0)
        #expect(fin.count == 1, "the gap filled: the stream and the FIN are complete, so our FIN goes")
        _ = replay.received(self.server(seq: liveISN + 1, ack: 108, .ack, "hello, "), now: t0)
        #expect(replay.receivedCount == 12, "a retransmitted segment is not counted twice")
        _ = replay.received(self.server(seq: liveISN + 14, ack: 109, .ack), now: t0)
        #expect(replay.outcome == .matched)
    }

    @Test func anUnacknowledgedSegmentIsSentAgainAtItsTimeout() throws {
        var replay = Replay(recorded: try self.connection(), timeout: .seconds(5))
        _ = replay.start(now: t0)
        #expect(replay.wakeTime == t0 + .milliseconds(200))
        #expect(replay.timePassed(now: t0 + .milliseconds(200)) == [tcpSession()[0]], "the SYN again")
        let t1 = t0 + .milliseconds(250)
        _ = replay.received(self.synAck, now: t1)
        #expect(replay.wakeTime == t1 + Replay.initialRetransmissionTimeout)
        let again = replay.timePassed(now: t1 + .milliseconds(200))
        #expect(again.compactMap(TCPFrame.init(parsing:)).map { String(decoding: $0.tcp.payload, as: UTF8.self) } == ["GET /\r\n"])
        #expect(replay.sentSegments == 5, "SYN twice, ACK, request twice")
    }

    @Test func aRefusalOrSilenceIsMissingAndAResetIsADifference() throws {
        var refused = Replay(recorded: try self.connection(), timeout: .seconds(1))
        _ = refused.start(now: t0)
        _ = refused.received(TCPFrame(parsing: tcp(from: service, seq: 0, ack: 101, [.rst, .ack]))!, now: t0)
        #expect(refused.isDone)
        #expect(refused.outcome == .missing("the server refused the connection (RST to the SYN): nothing listens on port 80"))

        var silent = Replay(recorded: try self.connection(), timeout: .milliseconds(500))
        _ = silent.start(now: t0)
        _ = silent.timePassed(now: t0 + .milliseconds(200))
        _ = silent.timePassed(now: t0 + .milliseconds(500))
        #expect(silent.isDone)
        #expect(silent.outcome == .missing("no answer to the SYN (nothing happened for 0.5 seconds (--timeout))"))

        var reset = Replay(recorded: try self.connection(), timeout: .seconds(1))
        _ = reset.start(now: t0)
        _ = reset.received(self.synAck, now: t0)
        _ = reset.received(self.server(seq: liveISN + 1, ack: 108, .ack, "hel"), now: t0)
        _ = reset.received(self.server(seq: liveISN + 4, ack: 108, [.rst, .ack]), now: t0)
        #expect(reset.isDone)
        #expect(reset.outcome == .differed(#"the server reset the connection at offset 3 of 12: expected "hello, world", got "hel""#))
    }

    /// A replay repeated against the same kernel shifts the client's sequence numbers and
    /// timestamps, so its SYN is not taken for the last run's connection in TIME-WAIT.
    @Test func aShiftedReplayOpensANewConnection() throws {
        var replay = Replay(recorded: try self.connection(), timeout: .seconds(1), shift: 0x4000_0000)
        let syn = try #require(replay.start(now: t0).first.flatMap(TCPFrame.init(parsing:)))
        #expect(syn.tcp.sequenceNumber == 100 &+ 0x4000_0000 && syn.tcp.timestamps?.value == 1 &+ 0x4000_0000)
        #expect(syn.tcp.isSACKPermitted && syn.ip.isHeaderChecksumValid)
        let shiftedAck = TCPFrame(parsing: tcp(from: service, seq: liveISN, ack: 101 &+ 0x4000_0000, [.syn, .ack], options: [.maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 400, echoReply: 1), .noOperation, .windowScale(7)]))!
        let out = replay.received(shiftedAck, now: t0)
        let request = try #require(out.last.flatMap(TCPFrame.init(parsing:)))
        #expect(request.tcp.sequenceNumber == 101 &+ 0x4000_0000 && String(decoding: request.tcp.payload, as: UTF8.self) == "GET /\r\n")
        #expect(request.tcp.timestamps?.value == 2 &+ 0x4000_0000)
        _ = replay.received(self.server(seq: liveISN + 1, ack: 108 &+ 0x4000_0000, [.fin, .psh, .ack], "hello, world"), now: t0)
        #expect(replay.outcome == .matched)
    }

    /// A reset after the server's FIN says only that it forgot the connection (an ACK crossed
    /// its FIN's retransmission, as happens under load): the stream and its FIN matched.
    @Test func aResetAfterTheServersFINIsNotADifference() throws {
        var replay = Replay(recorded: try self.connection(), timeout: .seconds(1))
        _ = replay.start(now: t0)
        _ = replay.received(self.synAck, now: t0)
        _ = replay.received(self.server(seq: liveISN + 1, ack: 108, [.fin, .psh, .ack], "hello, world"), now: t0)
        _ = replay.received(self.server(seq: liveISN + 14, ack: 109, [.rst]), now: t0)
        #expect(replay.isDone)
        #expect(replay.outcome == .matched)
    }

    @Test func aServerThatSaysMoreOrStopsShortIsADifference() throws {
        var more = Replay(recorded: try self.connection(reply: "hi"), timeout: .seconds(1))
        _ = more.start(now: t0)
        _ = more.received(self.synAck, now: t0)
        _ = more.received(self.server(seq: liveISN + 1, ack: 108, [.fin, .ack], "hi there"), now: t0)
        #expect(more.outcome == .differed(#"the server sent 6 bytes more, from offset 2: expected "hi", got "hi there""#))

        var short = Replay(recorded: try self.connection(), timeout: .milliseconds(300))
        _ = short.start(now: t0)
        _ = short.received(self.synAck, now: t0)
        _ = short.received(self.server(seq: liveISN + 1, ack: 108, .ack, "hello"), now: t0)
        _ = short.timePassed(now: t0 + .milliseconds(300))
        #expect(short.isDone)
        #expect(short.outcome == .differed(#"the server stopped at offset 5 of 12: expected "hello, world", got "hello""#))
    }
}
