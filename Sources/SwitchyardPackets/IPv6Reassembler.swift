/// Puts fragmented IPv6 packets back together (RFC 8200 section 4.5) within the same bounds
/// as IPv4 (`ReassemblyLimits`): the fragment header must follow the fixed header (what hosts
/// send; anything before it is refused), overlapping fragments drop the packet (RFC 5722), an
/// atomic fragment (offset 0, no more) is whole at once (RFC 6946).
public struct IPv6Reassembler: Sendable {
    /// Next Header of the fragment header.
    public static let fragmentHeader: UInt8 = 44

    public enum Outcome: Sendable {
        /// Whole: the first fragment's header with the fragmented part's next header.
        case complete(IPv6Packet)
        case held
        case refused(ReassemblyRefusal)
    }

    struct Key: Hashable, Sendable {
        var source: IPv6Address
        var destination: IPv6Address
        var identification: UInt32
    }

    private var table: FragmentTable<Key, IPv6Packet>

    public init(limits: ReassemblyLimits = ReassemblyLimits()) {
        self.table = FragmentTable(limits: limits)
    }

    public var inProgress: Int { self.table.inProgress }
    public var heldBytes: Int { self.table.heldBytes }
    public var refusals: [ReassemblyRefusal: Int] { self.table.refusals }

    /// Adds `packet`, whose next header is a fragment header, at `now`.
    public mutating func add(_ packet: IPv6Packet, now: Duration) -> Outcome {
        self.table.expire(now: now)
        guard packet.nextHeader == Self.fragmentHeader else {
            self.table.count(.unsupportedHeaders)
            return .refused(.unsupportedHeaders)
        }
        guard packet.payload.count >= 8 else {
            self.table.count(.inconsistent)
            return .refused(.inconsistent)
        }
        let start = packet.payload.startIndex
        let field = packet.payload.bigEndianUInt16(at: 2)
        let offset = Int(field >> 3) * 8
        let more = field & 1 != 0
        let identification = packet.payload.bigEndianUInt32(at: 4)
        var header = packet
        header.nextHeader = packet.payload[start]
        let data = packet.payload[(start + 8)...]
        if offset == 0, !more {
            header.payload = data
            return .complete(header)
        }
        let key = Key(source: packet.source, destination: packet.destination, identification: identification)
        switch self.table.add(key, offset: offset, bytes: data, more: more, header: offset == 0 ? header : nil, largestEnd: 65_535, now: now) {
        case .complete(var whole, let payload):
            whole.payload = payload[...]
            return .complete(whole)
        case .held:
            return .held
        case .refused(let refusal):
            return .refused(refusal)
        }
    }

    public mutating func expire(now: Duration) {
        self.table.expire(now: now)
    }

    /// What a receiving host makes of `frame`: the frame itself unless it carries an IPv6
    /// fragment; the whole packet in a frame once its last fragment is in; nil meanwhile.
    public mutating func frame(_ frame: EthernetFrame, now: Duration) -> EthernetFrame? {
        guard frame.etherType == .ipv6, let packet = IPv6Packet(parsing: frame.payload), packet.nextHeader == Self.fragmentHeader else { return frame }
        guard case .complete(let whole) = self.add(packet, now: now) else { return nil }
        return EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv6, payload: whole.bytes)
    }
}

/// Splits an IPv6 packet larger than a link's MTU into fragments (RFC 8200 section 4.5), as
/// the source host does: a fragment header after the fixed header, a multiple of 8 bytes in
/// every fragment but the last.
public enum IPv6Fragmenter {
    /// Every IPv6 link carries 1,280 bytes (RFC 8200 section 5).
    public static let minimumMTU = 1280

    /// `packet` as fragments of at most `mtu` bytes (the packet itself when it fits).
    public static func fragments(of packet: IPv6Packet, mtu: Int, identification: UInt32) -> [IPv6Packet] {
        guard IPv6Packet.headerLength + packet.payload.count > mtu else { return [packet] }
        let step = (max(mtu, Self.minimumMTU) - IPv6Packet.headerLength - 8) & ~7
        var out: [IPv6Packet] = []
        var offset = 0
        let payload = packet.payload
        while offset < payload.count {
            let end = min(offset + step, payload.count)
            var message: [UInt8] = [packet.nextHeader, 0]
            message.appendBigEndian(UInt16(offset / 8) << 3 | (end < payload.count ? 1 : 0))
            message.appendBigEndian(identification)
            message += payload[(payload.startIndex + offset)..<(payload.startIndex + end)]
            var fragment = packet
            fragment.nextHeader = IPv6Reassembler.fragmentHeader
            fragment.payload = message[...]
            out.append(fragment)
            offset = end
        }
        return out
    }
}
