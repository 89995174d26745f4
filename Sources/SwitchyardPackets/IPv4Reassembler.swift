/// Puts fragmented IPv4 datagrams back together (RFC 791 section 3.2, "reassembly"), within
/// bounds a hostile sender cannot exceed (`ReassemblyLimits`): datagrams in progress, bytes
/// held, the 65,535-byte datagram limit and a timeout by the caller's clock. A fragment whose
/// header checksum is wrong is refused (RFC 1122 3.2.1.2). Time is the caller's (`now` since
/// any origin), so the same fragments at the same instants give the same decisions.
public struct IPv4Reassembler: Sendable {
    public typealias Limits = ReassemblyLimits
    public typealias Refusal = ReassemblyRefusal

    public enum Outcome: Sendable {
        /// The datagram is whole: its first fragment's header, flags and offset cleared.
        case complete(IPv4Packet)
        /// Kept until the rest arrives (or a duplicate, ignored).
        case held
        case refused(Refusal)
    }

    struct Key: Hashable, Sendable {
        var source: IPv4Address
        var destination: IPv4Address
        var protocolNumber: UInt8
        var identification: UInt16
    }

    private var table: FragmentTable<Key, IPv4Packet>

    public init(limits: Limits = Limits()) {
        self.table = FragmentTable(limits: limits)
    }

    public var limits: Limits { self.table.limits }
    /// Datagrams waiting for fragments.
    public var inProgress: Int { self.table.inProgress }
    public var heldBytes: Int { self.table.heldBytes }
    public var refusals: [Refusal: Int] { self.table.refusals }

    /// Adds `packet`, a fragment (`isFragment`), at `now`.
    public mutating func add(_ packet: IPv4Packet, now: Duration) -> Outcome {
        self.table.expire(now: now)
        guard packet.isHeaderChecksumValid else {
            self.table.count(.damagedHeader)
            return .refused(.damagedHeader)
        }
        let offset = Int(packet.flagsAndFragmentOffset & 0x1FFF) * 8
        let key = Key(source: packet.source, destination: packet.destination, protocolNumber: packet.protocolNumber.rawValue, identification: packet.identification)
        switch self.table.add(
            key, offset: offset, bytes: packet.payload, more: packet.flagsAndFragmentOffset & 0x2000 != 0,
            header: offset == 0 ? packet : nil, largestEnd: 65_535 - packet.headerLength, now: now
        ) {
        case .complete(var whole, let payload):
            whole.payload = payload[...]
            whole.flagsAndFragmentOffset = 0
            return .complete(whole)
        case .held:
            return .held
        case .refused(let refusal):
            return .refused(refusal)
        }
    }

    /// Drops datagrams older than the timeout; each is counted as `timedOut`.
    public mutating func expire(now: Duration) {
        self.table.expire(now: now)
    }

    /// What a receiving host makes of `frame`: the frame itself unless it carries an IPv4
    /// fragment; the whole datagram in a frame once its last fragment is in; nil meanwhile
    /// (or when the fragment is refused).
    public mutating func frame(_ frame: EthernetFrame, now: Duration) -> EthernetFrame? {
        guard frame.etherType == .ipv4, let packet = IPv4Packet(parsing: frame.payload), packet.isFragment else { return frame }
        guard case .complete(let whole) = self.add(packet, now: now) else { return nil }
        return EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv4, payload: whole.bytes)
    }
}
