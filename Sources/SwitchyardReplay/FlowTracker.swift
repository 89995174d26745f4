import SwitchyardPackets

/// Gives each frame its flow: one id per conversation, in the order conversations began. A
/// key seen again after its conversation ended (a new TCP connection on the same ports, a
/// new ARP request after the last was answered) begins a new flow. A UDP reply from another
/// port of the same host (TFTP answers from a fresh port) and later IPv4 fragments join the
/// flow they belong to. The recording and the live side use the same rules.
struct FlowTracker: Sendable {
    private struct State: Sendable {
        var answered = false
        var closed = false
    }

    /// A UDP flow as its opener saw it: its own address and port, and the peer's address.
    private struct UDPOpener: Hashable, Sendable {
        var side: FlowKey.Side
        var peer: [UInt8]
    }

    private var current: [FlowKey: Int] = [:]
    private var states: [Int: State] = [:]
    private var openers: [UDPOpener: Int] = [:]
    private var fragments: [FrameClass.FragmentID: Int] = [:]
    /// DNS flows by their plain 5-tuple, for ICMP errors that quote a query.
    private var datagramAliases: [FlowKey: Int] = [:]
    private(set) var count = 0

    /// The flow of a recorded frame (a new one when it begins a conversation), or nil for
    /// background and for a later fragment whose first fragment was not seen.
    mutating func flow(of frame: FrameClass, bytes: [UInt8]) -> Int? {
        if let fragment = frame.fragment, let known = self.fragments[fragment] {
            return known
        }
        guard var key = frame.key else { return nil }
        if case .ip = key.kind, frame.fragment != nil {
            // A later fragment whose first fragment was never seen.
            return nil
        }
        var id = self.current[key]
        if id == nil, key.kind == .udp {
            id = self.datagramAliases[key] ?? self.replyFromAnotherPort(key: key, bytes: bytes)
            if let id {
                self.current[key] = id
            }
        }
        if let existing = id, self.beginsAnew(frame, state: self.states[existing] ?? State()) {
            id = nil
        }
        if id == nil {
            id = self.count
            self.count += 1
            self.current[key] = id
            if key.kind == .udp || key.kind == .dns, let source = Self.source(of: bytes) {
                let destination = key.low == source ? key.high : key.low
                self.openers[UDPOpener(side: source, peer: destination.address)] = id
            }
            if key.kind == .dns {
                key.kind = .udp
                key.discriminator = 0
                self.datagramAliases[key] = id
            }
        }
        let flow = id!
        if let fragment = frame.fragment {
            self.fragments[fragment] = flow
        }
        self.note(frame, bytes: bytes, flow: flow)
        return flow
    }

    private func beginsAnew(_ frame: FrameClass, state: State) -> Bool {
        if frame.isConnectionStart { return state.closed }
        if frame.isResolution, frame.role == .opens { return state.answered }
        return false
    }

    private mutating func note(_ frame: FrameClass, bytes: [UInt8], flow: Int) {
        var state = self.states[flow] ?? State()
        if frame.role == .answers { state.answered = true }
        if frame.key?.kind == .tcp, let segment = TCPFrame(parsing: bytes), !segment.tcp.flags.isDisjoint(with: [.fin, .rst]) {
            state.closed = true
        }
        self.states[flow] = state
    }

    /// A datagram to an opener's address and port from the host it wrote to, on a new port.
    private func replyFromAnotherPort(key: FlowKey, bytes: [UInt8]) -> Int? {
        guard let source = Self.source(of: bytes) else { return nil }
        let destination = key.low == source ? key.high : key.low
        return self.openers[UDPOpener(side: destination, peer: source.address)]
    }

    /// The source address and port of an IPv4 or IPv6 UDP datagram.
    static func source(of bytes: [UInt8]) -> FlowKey.Side? {
        guard bytes.count >= 14 else { return nil }
        let etherType = UInt16(bytes[12]) << 8 | UInt16(bytes[13])
        if etherType == 0x0800, bytes.count >= 34 {
            let headerLength = Int(bytes[14] & 0x0F) * 4
            guard bytes.count >= 14 + headerLength + 2 else { return nil }
            return FlowKey.Side(address: Array(bytes[26..<30]), port: bytes.bigEndianUInt16(at: 14 + headerLength))
        }
        if etherType == 0x86DD, bytes.count >= 56 {
            return FlowKey.Side(address: Array(bytes[22..<38]), port: bytes.bigEndianUInt16(at: 54))
        }
        return nil
    }
}
