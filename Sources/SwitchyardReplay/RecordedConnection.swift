import SwitchyardPackets

/// One recorded TCP connection, read for replay: the client's handshake and data segments with
/// the server position each one waited for, and the server's byte stream as the client
/// received it. Built from the connection's frames in recorded order.
public struct RecordedConnection: Hashable, Sendable {
    /// A client segment that carries data, FIN or RST (pure ACKs are not replayed: replay
    /// acknowledges what the live server sends, as a receiver does).
    public struct ClientSegment: Hashable, Sendable {
        /// Offset of the first payload byte in the client's stream (0 = the byte after the SYN).
        public var offset: UInt32
        public var payload: [UInt8]
        public var flags: TCPSegment.Flags
        /// How far the server's stream (its FIN counting one) had come when the client sent
        /// this: the recorded acknowledgment, relative to the server's initial sequence number.
        public var serverPosition: UInt32
        public var timestampValue: UInt32?
        public var identification: UInt16
        /// The recorded frame's number, for reports.
        public var frameNumber: Int
    }

    public enum Ending: Hashable, Sendable {
        case open
        case fin
        case reset
    }

    /// The SYN frame as recorded (MACs already mapped to the live endpoints).
    public var synFrame: TCPFrame
    public var synFrameNumber: Int
    public var clientSegments: [ClientSegment]
    /// What the server sent, reassembled: every payload byte once, in stream order.
    public var serverStream: [UInt8]
    public var serverEnding: Ending
    public var clientEnding: Ending
    /// The server answered the SYN with RST when it was recorded (nothing listened).
    public var wasRefused = false
    /// Wireshark's name for the connection: `10.0.0.61:40522 → 10.0.0.60:7000`.
    public var label: String

    /// The connection, or why it cannot be replayed.
    public static func read(_ frames: [RecordedFrame]) -> Result<RecordedConnection, Refusal> {
        var parsed: [(RecordedFrame, TCPFrame)] = []
        for frame in frames {
            if let segment = TCPFrame(parsing: frame.bytes) {
                parsed.append((frame, segment))
            }
        }
        guard let synIndex = parsed.firstIndex(where: { $0.1.tcp.flags.contains(.syn) && !$0.1.tcp.flags.contains(.ack) }) else {
            return .failure(Refusal(reason: "its SYN is not in the recording (it began before the capture)"))
        }
        let syn = parsed[synIndex].1
        let client = (syn.ip.source, syn.tcp.sourcePort)
        let label = "\(syn.ip.source):\(syn.tcp.sourcePort) → \(syn.ip.destination):\(syn.tcp.destinationPort)"
        let clientISN = syn.tcp.sequenceNumber
        func fromClient(_ segment: TCPFrame) -> Bool {
            segment.ip.source == client.0 && segment.tcp.sourcePort == client.1
        }
        guard let synAck = parsed.first(where: { !fromClient($0.1) && $0.1.tcp.flags.contains([.syn, .ack]) })?.1 else {
            if parsed.contains(where: { !fromClient($0.1) && $0.1.tcp.flags.contains(.rst) }) {
                // Refused when recorded: replay expects the refusal again.
                var refused = RecordedConnection(
                    synFrame: syn, synFrameNumber: parsed[synIndex].0.number, clientSegments: [], serverStream: [],
                    serverEnding: .reset, clientEnding: .open, label: label
                )
                refused.wasRefused = true
                return .success(refused)
            }
            return .failure(Refusal(reason: "the server never answered its SYN in the recording"))
        }
        let serverISN = synAck.tcp.sequenceNumber

        // The server's stream: payload placed by sequence offset; a hole means lost capture.
        var stream: [UInt8] = []
        var pieces: [(UInt32, ArraySlice<UInt8>)] = []
        var serverEnding = Ending.open
        var serverFinOffset: UInt32?
        var clientSegments: [ClientSegment] = []
        var clientCovered: UInt32 = 0
        var clientEnding = Ending.open
        for (frame, segment) in parsed[synIndex...] {
            let tcp = segment.tcp
            if fromClient(segment) {
                guard !tcp.flags.contains(.syn), clientEnding != .reset else { continue }
                let offset = tcp.sequenceNumber &- clientISN &- 1
                let end = offset &+ UInt32(tcp.payload.count)
                let reset = tcp.flags.contains(.rst)
                let fin = tcp.flags.contains(.fin) && clientEnding == .open
                // Keep what is new: retransmissions and pure ACKs are left to the live exchange,
                // and nothing but a RST follows the client's FIN.
                guard (end > clientCovered && clientEnding == .open) || fin || reset else { continue }
                guard offset <= clientCovered || reset, offset < 1 << 31 else {
                    return .failure(Refusal(reason: "client bytes at offset \(clientCovered) are missing from the recording (frame \(frame.number) starts at \(offset))"))
                }
                let fresh = reset ? [] : Array(tcp.payload.dropFirst(Int(clientCovered &- offset)))
                let position = tcp.flags.contains(.ack) ? tcp.acknowledgmentNumber &- serverISN &- 1 : 0
                clientSegments.append(ClientSegment(
                    offset: reset ? offset : clientCovered, payload: fresh, flags: tcp.flags.intersection([.fin, .rst, .psh, .urg]),
                    serverPosition: position < 1 << 31 ? position : 0, timestampValue: tcp.timestamps?.value,
                    identification: segment.ip.identification, frameNumber: frame.number
                ))
                if !reset { clientCovered = max(clientCovered, end) }
                if tcp.flags.contains(.rst) { clientEnding = .reset } else if tcp.flags.contains(.fin), clientEnding == .open { clientEnding = .fin }
            } else {
                guard !tcp.flags.contains(.syn) else { continue }
                if tcp.flags.contains(.rst) {
                    if serverEnding == .open { serverEnding = .reset }
                    continue
                }
                let offset = tcp.sequenceNumber &- serverISN &- 1
                guard offset < 1 << 31 else { continue }
                if !tcp.payload.isEmpty {
                    pieces.append((offset, tcp.payload))
                }
                if tcp.flags.contains(.fin), serverEnding == .open {
                    serverEnding = .fin
                    serverFinOffset = offset &+ UInt32(tcp.payload.count)
                }
            }
        }
        pieces.sort { $0.0 < $1.0 }
        stream.reserveCapacity(pieces.last.map { Int($0.0) + $0.1.count } ?? 0)
        for (offset, payload) in pieces {
            let end = Int(offset) + payload.count
            guard end > stream.count else { continue }
            guard Int(offset) <= stream.count else {
                return .failure(Refusal(reason: "server bytes at offset \(stream.count) are missing from the recording (the capture lost segments)"))
            }
            stream += payload.dropFirst(stream.count - Int(offset))
        }
        if let finOffset = serverFinOffset, Int(finOffset) > stream.count {
            return .failure(Refusal(reason: "server bytes at offset \(stream.count) are missing from the recording (the capture lost segments)"))
        }
        return .success(RecordedConnection(
            synFrame: syn, synFrameNumber: parsed[synIndex].0.number, clientSegments: clientSegments, serverStream: stream,
            serverEnding: serverEnding, clientEnding: clientEnding, label: label
        ))
    }

    public struct Refusal: Error, Hashable, Sendable {
        public var reason: String
    }
}
