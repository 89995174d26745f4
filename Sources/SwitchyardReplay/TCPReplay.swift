import SwitchyardPackets

/// How a replayed TCP connection's server stream compared with the recorded one.
public enum StreamOutcome: Hashable, Sendable {
    case matched
    /// The server said something else: where, and both sides' bytes around it.
    case differed(String)
    /// The server did not take part: no answer to the SYN, or a refusal.
    case missing(String)
}

/// Plays the client of one recorded TCP connection against a live server, as a TCP client
/// would, and compares the server's byte stream with the recorded one. A value with no I/O:
/// it takes the live server's segments and the time, and returns the frames to send.
///
/// - The SYN goes out as recorded (same ports, sequence number and options); the server's
///   initial sequence number is learned from the live SYN-ACK.
/// - Each recorded client segment is sent once the live server's stream has reached the
///   position the recorded one had when the client sent it (its recorded acknowledgment),
///   and retransmitted when not acknowledged within the retransmission timeout.
/// - Every acknowledgment (and SACK block, timestamp echo) is replay's own, for what the live
///   server actually sent; recorded pure ACKs are not replayed.
/// - The comparison is by stream: insensitive to segmentation, retransmission, windows, IP ids.
public struct TCPReplay<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    public typealias Outcome = StreamOutcome

    private enum Phase: Sendable {
        case idle
        case synSent
        case established
    }

    /// First retransmission timeout (RFC 6298 allows less than 1 s on a known short path)
    /// and its ceiling; a segment is retried this many times before the connection gives up.
    public static var initialRetransmissionTimeout: Duration { .milliseconds(200) }
    public static var maximumRetransmissionTimeout: Duration { .seconds(2) }
    public static var maximumRetries: Int { 6 }
    /// Out-of-order server bytes held at most (a hostile server cannot grow replay without bound).
    public static var outOfOrderLimit: Int { 8 << 20 }

    public let recorded: RecordedConnection
    private let timeout: Duration
    private let clientISN: UInt32
    private var phase = Phase.idle
    private var serverISN: UInt32 = 0
    private var receiveNext: UInt32 = 0
    /// How many bytes of the live server's stream have arrived in order. They are compared as
    /// they come, not kept: only the bytes from the first difference on are (a few dozen).
    public private(set) var receivedCount = 0
    /// Where the live stream first left the recorded one (a changed byte, or a byte more).
    private var firstDifference: Int?
    /// The live bytes from `firstDifference` on, for the report.
    private var differenceBytes: [UInt8] = []
    private let streams: StreamComparator
    private let shift: UInt32
    /// A connection to port 53: DNS over TCP.
    private let isDNS: Bool
    /// The SYN as sent: the recorded one, shifted.
    private let synBytes: [UInt8]
    /// The whole live stream, when the recorded one is read by fields or lines (nil: not kept,
    /// or it grew past the recorded stream by more than 64 KiB).
    private var liveStream: [UInt8]?
    private var outOfOrder: [UInt32: ArraySlice<UInt8>] = [:]
    private var outOfOrderBytes = 0
    private var outOfOrderFin: UInt32?
    private var serverFin = false
    private var serverReset = false
    private var refused = false
    private var nextSegment = 0
    private var sendUnacknowledged: UInt32
    private var sendNext: UInt32
    private var clientReset = false
    private var serverWindow: UInt32 = 65_535
    private var serverWindowScale: UInt8 = 0
    private var useTimestamps = false
    private var useSACK = false
    private var timestampRecent: UInt32 = 0
    private var timestampValue: UInt32 = 0
    private var identification: UInt16
    private var retransmissionTimeout = Self.initialRetransmissionTimeout
    private var retransmitAt: Instant?
    private var retries = 0
    private var lastProgress: Instant?
    private var acknowledgmentPending = false
    private var gaveUp: String?
    public private(set) var isDone = false
    /// Frames this connection sent, retransmissions included.
    public private(set) var sentSegments = 0

    /// Streams this long or shorter, when a decoder reads them (HTTP, text), are kept whole
    /// for the comparison by fields and lines; longer ones are compared byte by byte.
    public static var keptStreamLimit: Int { 4 << 20 }

    /// - Parameter shift: added to the client's sequence numbers and timestamps, so a replay
    ///   repeated against the same live kernel (`--learn-noise`) opens a new connection
    ///   instead of hitting the last one's TIME-WAIT (RFC 9293 3.6.1, RFC 6191).
    public init(recorded: RecordedConnection, timeout: Duration, streams: StreamComparator = StreamComparator(masks: []), shift: UInt32 = 0) {
        self.recorded = recorded
        self.timeout = timeout
        self.streams = streams
        self.shift = shift
        var syn = recorded.synFrame
        if shift != 0 {
            syn.tcp.sequenceNumber &+= shift
            syn.tcp.options = syn.tcp.options.map { option in
                if case .timestamps(let value, let echo) = option { return .timestamps(value: value &+ shift, echoReply: echo) }
                return option
            }
        }
        self.synBytes = shift == 0 ? recorded.synFrame.bytes : syn.bytes
        let stream = recorded.serverStream
        self.isDNS = recorded.synFrame.tcp.destinationPort == DNSMessage.port
        if stream.count <= Self.keptStreamLimit, self.isDNS || HTTPMessage.isResponseStream(stream) || StreamComparator.isText(stream) {
            self.liveStream = []
        }
        self.clientISN = recorded.synFrame.tcp.sequenceNumber &+ shift
        self.sendUnacknowledged = self.clientISN
        self.sendNext = self.clientISN &+ 1
        self.identification = recorded.synFrame.ip.identification
        self.timestampValue = (recorded.synFrame.tcp.timestamps?.value ?? 0) &+ shift
    }

    /// Where the live server's stream has come, its FIN counting one.
    public var serverPosition: UInt32 {
        self.phase == .established ? self.receiveNext &- self.serverISN &- 1 : 0
    }

    /// When to call `timePassed` next if nothing arrives.
    public var wakeTime: Instant? {
        guard !self.isDone, let progress = self.lastProgress else { return nil }
        let deadline = progress.advanced(by: self.timeout)
        guard let retransmitAt = self.retransmitAt else { return deadline }
        return min(deadline, retransmitAt)
    }

    public mutating func start(now: Instant) -> [[UInt8]] {
        guard case .idle = self.phase else { return [] }
        self.phase = .synSent
        self.lastProgress = now
        self.retransmitAt = now.advanced(by: self.retransmissionTimeout)
        self.sentSegments += 1
        return [self.synBytes]
    }

    /// A segment from the live server to this connection's client.
    public mutating func received(_ segment: TCPFrame, now: Instant) -> [[UInt8]] {
        let tcp = segment.tcp
        switch self.phase {
        case .idle:
            return []
        case .synSent:
            if tcp.flags.contains(.rst) {
                guard tcp.flags.contains(.ack), tcp.acknowledgmentNumber == self.clientISN &+ 1 else { return [] }
                self.refused = true
                self.finish()
                return []
            }
            guard tcp.flags.contains([.syn, .ack]), tcp.acknowledgmentNumber == self.clientISN &+ 1 else { return [] }
            self.serverISN = tcp.sequenceNumber
            self.receiveNext = tcp.sequenceNumber &+ 1
            let syn = self.recorded.synFrame.tcp
            if let ours = syn.timestamps, let theirs = tcp.timestamps {
                self.useTimestamps = true
                self.timestampRecent = theirs.value
                self.timestampValue = ours.value &+ self.shift
            }
            self.useSACK = syn.isSACKPermitted && tcp.isSACKPermitted
            if syn.windowScale != nil, let scale = tcp.windowScale {
                self.serverWindowScale = min(scale, 14)
            }
            self.serverWindow = UInt32(tcp.window)
            self.sendUnacknowledged = self.clientISN &+ 1
            self.retries = 0
            self.retransmissionTimeout = Self.initialRetransmissionTimeout
            self.phase = .established
            self.progress(now)
            self.acknowledgmentPending = true
            self.retransmitAt = nil
            // The handshake's last ACK goes before any data, as a client's stack sends it.
            var out = self.takeAcknowledgment().map { [$0] } ?? []
            out += self.sendReady(now: now)
            self.checkDone()
            return out
        case .established:
            break
        }
        if tcp.flags.contains(.rst) {
            guard Self.within(tcp.sequenceNumber, from: self.receiveNext &- 1, count: 1 << 30) else { return [] }
            // After its FIN the server has said everything; a reset then only says it forgot
            // the connection (our ACK crossed its FIN's retransmission), as a recording's
            // ending counts it too.
            if !self.serverFin {
                self.serverReset = true
            }
            self.finish()
            return []
        }
        if tcp.flags.contains(.syn) {
            // Our handshake ACK was lost: say it again.
            self.acknowledgmentPending = true
            return []
        }
        if let stamps = tcp.timestamps, self.useTimestamps {
            self.timestampRecent = stamps.value
        }
        if tcp.flags.contains(.ack) {
            let ack = tcp.acknowledgmentNumber
            if Self.less(self.sendUnacknowledged, ack), !Self.less(self.sendNext, ack) {
                self.sendUnacknowledged = ack
                self.retries = 0
                self.retransmissionTimeout = Self.initialRetransmissionTimeout
                self.retransmitAt = self.sendUnacknowledged == self.sendNext ? nil : now.advanced(by: self.retransmissionTimeout)
                self.progress(now)
            }
            self.serverWindow = UInt32(tcp.window) << UInt32(self.serverWindowScale)
        }
        if !tcp.payload.isEmpty || tcp.flags.contains(.fin) {
            self.take(tcp, now: now)
        }
        let out = self.sendReady(now: now)
        self.checkDone()
        return out
    }

    /// Places the server's bytes in the stream, in order; early ones wait (bounded).
    private mutating func take(_ tcp: TCPSegment, now: Instant) {
        self.acknowledgmentPending = true
        guard !self.serverFin else { return }
        var sequence = tcp.sequenceNumber
        var payload = tcp.payload
        if Self.less(sequence, self.receiveNext) {
            let already = Int(self.receiveNext &- sequence)
            guard already <= payload.count else { return }
            payload = payload.dropFirst(already)
            sequence = self.receiveNext
        }
        let finSequence = tcp.flags.contains(.fin) ? sequence &+ UInt32(payload.count) : nil
        guard sequence == self.receiveNext else {
            if self.outOfOrderBytes + payload.count <= Self.outOfOrderLimit, self.outOfOrder[sequence] == nil, !payload.isEmpty {
                self.outOfOrder[sequence] = payload
                self.outOfOrderBytes += payload.count
            }
            if let finSequence { self.outOfOrderFin = finSequence }
            return
        }
        self.consume(payload)
        self.receiveNext = self.receiveNext &+ UInt32(payload.count)
        self.progress(now)
        // What waited may follow now.
        while let (start, bytes) = self.outOfOrder.first(where: { !Self.less(self.receiveNext, $0.key) }) {
            self.outOfOrder[start] = nil
            self.outOfOrderBytes -= bytes.count
            let skip = Int(self.receiveNext &- start)
            if skip < bytes.count {
                self.consume(bytes.dropFirst(skip))
                self.receiveNext = self.receiveNext &+ UInt32(bytes.count - skip)
            }
        }
        if let fin = finSequence ?? self.outOfOrderFin, fin == self.receiveNext {
            self.serverFin = true
            self.receiveNext = self.receiveNext &+ 1
        }
    }

    /// Compares in-order server bytes with the recorded stream as they arrive.
    private mutating func consume(_ bytes: ArraySlice<UInt8>) {
        if self.liveStream != nil {
            if self.liveStream!.count + bytes.count <= self.recorded.serverStream.count + (64 << 10) {
                self.liveStream! += bytes
            } else {
                self.liveStream = nil
            }
        }
        let start = self.receivedCount
        self.receivedCount += bytes.count
        if self.firstDifference == nil {
            let expected = self.recorded.serverStream
            let common = max(0, min(bytes.count, expected.count - start))
            var offset = 0
            while offset < common, expected[start + offset] == bytes[bytes.startIndex + offset] {
                offset += 1
            }
            if offset < bytes.count {
                self.firstDifference = start + offset
                self.differenceBytes = Array(bytes.dropFirst(offset).prefix(Self.contextAfter))
            }
        } else if self.differenceBytes.count < Self.contextAfter {
            self.differenceBytes += bytes.prefix(Self.contextAfter - self.differenceBytes.count)
        }
    }

    /// Bytes shown before and after an offset in a report.
    static var contextBefore: Int { 16 }
    static var contextAfter: Int { 24 }

    /// Recorded client segments whose moment has come: the live server's stream has reached
    /// the recorded position, and the server's window has room.
    private mutating func sendReady(now: Instant) -> [[UInt8]] {
        guard case .established = self.phase, !self.clientReset else { return [] }
        var out: [[UInt8]] = []
        while self.nextSegment < self.recorded.clientSegments.count {
            let segment = self.recorded.clientSegments[self.nextSegment]
            guard !Self.less(self.serverPosition, segment.serverPosition) else { break }
            let inFlight = self.sendNext &- self.sendUnacknowledged
            if inFlight > 0, inFlight + UInt32(segment.payload.count) > max(self.serverWindow, 1) {
                break
            }
            out.append(self.frame(for: segment))
            self.nextSegment += 1
            self.progress(now)
            if segment.flags.contains(.rst) {
                self.clientReset = true
                break
            }
            let end = self.clientISN &+ 1 &+ segment.offset &+ UInt32(segment.payload.count) &+ (segment.flags.contains(.fin) ? 1 : 0)
            if Self.less(self.sendNext, end) {
                self.sendNext = end
            }
            if self.retransmitAt == nil {
                self.retransmitAt = now.advanced(by: self.retransmissionTimeout)
            }
        }
        if !out.isEmpty {
            self.acknowledgmentPending = false
        }
        return out
    }

    /// An ACK for what arrived since the last one, if one is owed. Called once per batch of
    /// arrivals, so a burst of the server's segments costs one ACK, as with delayed ACKs.
    public mutating func takeAcknowledgment() -> [UInt8]? {
        guard self.acknowledgmentPending, case .established = self.phase, !self.clientReset else { return nil }
        self.acknowledgmentPending = false
        let segment = RecordedConnection.ClientSegment(
            offset: self.sendNext &- self.clientISN &- 1, payload: [], flags: [], serverPosition: 0,
            timestampValue: nil, identification: self.identification &+ 1, frameNumber: 0
        )
        return self.frame(for: segment, sequence: self.sendNext)
    }

    public mutating func timePassed(now: Instant) -> [[UInt8]] {
        guard !self.isDone, let progress = self.lastProgress else { return [] }
        if now >= progress.advanced(by: self.timeout) {
            self.gaveUp = "nothing happened for \(self.timeout) (--timeout)"
            self.finish()
            return []
        }
        guard let retransmitAt = self.retransmitAt, now >= retransmitAt else { return [] }
        guard self.retries < Self.maximumRetries else {
            self.gaveUp = "the server did not acknowledge after \(Self.maximumRetries) retransmissions"
            self.finish()
            return []
        }
        self.retries += 1
        self.retransmissionTimeout = min(self.retransmissionTimeout * 2, Self.maximumRetransmissionTimeout)
        self.retransmitAt = now.advanced(by: self.retransmissionTimeout)
        if case .synSent = self.phase {
            self.sentSegments += 1
            return [self.synBytes]
        }
        // The first unacknowledged segment, again.
        guard let index = self.recorded.clientSegments[..<self.nextSegment].firstIndex(where: {
            let end = self.clientISN &+ 1 &+ $0.offset &+ UInt32($0.payload.count) &+ ($0.flags.contains(.fin) ? 1 : 0)
            return Self.less(self.sendUnacknowledged, end)
        }) else {
            self.retransmitAt = nil
            return []
        }
        return [self.frame(for: self.recorded.clientSegments[index])]
    }

    private mutating func progress(_ now: Instant) {
        self.lastProgress = now
    }

    private mutating func finish() {
        self.isDone = true
        self.retransmitAt = nil
    }

    /// Over when both sides have said all they said in the recording and been acknowledged.
    private mutating func checkDone() {
        guard !self.isDone, case .established = self.phase else { return }
        if self.clientReset {
            self.finish()
            return
        }
        let allSent = self.nextSegment == self.recorded.clientSegments.count && self.sendUnacknowledged == self.sendNext
        let streamDone = self.receivedCount >= self.recorded.serverStream.count
            && (self.recorded.serverEnding != .fin || self.serverFin)
        if allSent, streamDone {
            self.finish()
        }
    }

    /// The client's segment as the live connection needs it: our acknowledgment, window and
    /// timestamps; the recorded payload, flags, sequence number and IPv4 header.
    private mutating func frame(for segment: RecordedConnection.ClientSegment, sequence: UInt32? = nil) -> [UInt8] {
        let syn = self.recorded.synFrame
        var options: [TCPSegment.Option] = []
        if self.useTimestamps {
            if let value = segment.timestampValue.map({ $0 &+ self.shift }), Self.less(self.timestampValue, value) {
                self.timestampValue = value
            }
            options += [.noOperation, .noOperation, .timestamps(value: self.timestampValue, echoReply: self.timestampRecent)]
        }
        if self.useSACK, !self.outOfOrder.isEmpty {
            let blocks = self.outOfOrder.sorted { Self.less($0.key, $1.key) }.prefix(3).map {
                TCPSegment.SACKBlock(left: $0.key, right: $0.key &+ UInt32($0.value.count))
            }
            options += [.noOperation, .noOperation, .sack(Array(blocks))]
        }
        let tcp = TCPSegment(
            sourcePort: syn.tcp.sourcePort, destinationPort: syn.tcp.destinationPort,
            sequenceNumber: sequence ?? (self.clientISN &+ 1 &+ segment.offset),
            acknowledgmentNumber: self.receiveNext,
            flags: segment.flags.union(.ack), window: 0xFFFF, options: options, payload: segment.payload
        )
        var ip = syn.ip
        ip.identification = segment.identification
        self.identification = segment.identification
        self.sentSegments += 1
        return TCPFrame(ethernet: syn.ethernet, ip: ip, tcp: tcp).bytes
    }

    /// What the live server did, compared with the recording.
    public var outcome: Outcome { self.conclusion.outcome }

    /// The outcome, given the stream's comparison by fields (nil: none applies, or the bytes
    /// are the same).
    private func outcome(byFields: StreamComparator.Result?) -> Outcome {
        let recorded = self.recorded
        switch self.phase {
        case .idle:
            return .missing("not played")
        case .synSent:
            if self.refused {
                return recorded.wasRefused ? .matched : .missing("the server refused the connection (RST to the SYN): nothing listens on port \(recorded.synFrame.tcp.destinationPort)")
            }
            return .missing("no answer to the SYN" + (self.gaveUp.map { " (\($0))" } ?? ""))
        case .established:
            break
        }
        if recorded.wasRefused {
            return .differed("the server accepted the connection; when recorded, it refused it")
        }
        let expected = recorded.serverStream
        let count = self.receivedCount
        if let byFields {
            // Read by fields or lines: a difference there is named so; equal masked fields aside,
            // the stream counts as the same and only its ending is left to compare.
            if let difference = byFields.difference {
                let why = self.serverReset ? " (then the server reset the connection)" : ""
                return .differed(difference + why)
            }
        } else if let offset = self.firstDifference, offset < expected.count {
            if let live = self.liveStream, StreamComparator.isText(expected), StreamComparator.isText(live) {
                return .differed(StreamComparator.differingLine(at: offset, expected: expected, received: live))
            }
            return .differed("server bytes differ at offset \(offset): " + self.context(at: offset))
        } else if count < expected.count {
            let why = self.serverReset ? "the server reset the connection" : self.serverFin ? "the server closed the connection" : "the server stopped"
            return .differed("\(why) at offset \(count) of \(expected.count): " + self.context(at: count))
        } else if count > expected.count {
            return .differed("the server sent \(count - expected.count) bytes more, from offset \(expected.count): " + self.context(at: expected.count))
        }
        switch (recorded.serverEnding, self.serverFin, self.serverReset) {
        case (_, _, true) where recorded.serverEnding != .reset:
            return .differed("the server reset the connection at offset \(count); when recorded, it did not")
        case (.reset, _, false):
            return .differed("the server did not reset the connection at offset \(count), as it did when recorded")
        case (.fin, false, _):
            return .differed("the server did not close the connection after offset \(count), as it did when recorded")
        default:
            return .matched
        }
    }

    /// The masks that hid a difference in this connection's stream.
    public var hiddenBy: [String] { self.conclusion.hiddenBy }

    /// What the live server did, compared with the recording, read once: the outcome, the
    /// masks that hid a difference in the stream, and every field it differs in (none when it
    /// is the same; nil when it differs in a way no field names: learning noise needs that).
    public var conclusion: (outcome: Outcome, hiddenBy: [String], differingFields: [String]?) {
        let differs = self.firstDifference != nil || self.receivedCount != self.recorded.serverStream.count
        let byFields = differs ? self.liveStream.flatMap { self.streams.compare(expected: self.recorded.serverStream, received: $0, dns: self.isDNS) } : nil
        return (self.outcome(byFields: byFields), byFields?.hiddenBy ?? [], differs ? byFields?.differingFields : [])
    }

    /// Both sides' bytes around `offset`: text where printable, hex otherwise. Before the
    /// first difference the live bytes are the recorded ones; after it, the kept few.
    func context(at offset: Int) -> String {
        let expected = self.recorded.serverStream
        let start = max(0, offset - Self.contextBefore)
        let matchedEnd = min(self.firstDifference ?? self.receivedCount, self.receivedCount)
        var live = Array(expected[min(start, expected.count)..<min(max(start, matchedEnd), expected.count)])
        if let difference = self.firstDifference, difference >= start {
            live += self.differenceBytes
        }
        let liveEnd = start + live.count
        let expectedWindow = Array(expected[min(start, expected.count)..<min(expected.count, offset + Self.contextAfter)])
        let liveWindow = Array(live.prefix(offset + Self.contextAfter - start))
        func excerpt(_ window: [UInt8], total: Int) -> String {
            guard !window.isEmpty else { return "(end of stream)" }
            let printable = window.allSatisfy { (0x20..<0x7F).contains($0) || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
            let body = printable
                ? "\"" + window.map(Self.escaped).joined() + "\""
                : window.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            return (start > 0 ? "…" : "") + body + (start + window.count < total ? "…" : "")
        }
        return "expected \(excerpt(expectedWindow, total: expected.count)), got \(excerpt(liveWindow, total: max(liveEnd, self.receivedCount)))"
    }

    static func escaped(_ byte: UInt8) -> String {
        switch byte {
        case 0x0A: "\\n"
        case 0x0D: "\\r"
        case 0x09: "\\t"
        case UInt8(ascii: "\""): "\\\""
        case UInt8(ascii: "\\"): "\\\\"
        default: String(UnicodeScalar(byte))
        }
    }

    /// Sequence-number order (RFC 9293 3.4): `a` comes before `b`.
    static func less(_ a: UInt32, _ b: UInt32) -> Bool {
        Int32(bitPattern: a &- b) < 0
    }

    static func within(_ value: UInt32, from start: UInt32, count: UInt32) -> Bool {
        value &- start < count
    }
}
