/// Splits an IPv4 datagram larger than a link's MTU into fragments (RFC 791 section 3.2,
/// "fragmentation"): each carries the original header (options copied into every fragment, as
/// our services send none), a multiple of 8 payload bytes but the last, and "more fragments"
/// on all but the last.
public enum IPv4Fragmenter {
    /// The smallest MTU every IPv4 link carries (RFC 791: 68 octets).
    public static let minimumMTU = 68

    /// `packet` as fragments of at most `mtu` bytes each (the packet itself when it fits).
    /// `identification` is written into every fragment: the receiver tells datagrams apart by
    /// it, so the sender gives each fragmented datagram its own. Nil when "don't fragment" is
    /// set and the packet does not fit.
    public static func fragments(of packet: IPv4Packet, mtu: Int, identification: UInt16) -> [IPv4Packet]? {
        guard packet.totalLength > mtu else { return [packet] }
        guard packet.flagsAndFragmentOffset & 0x4000 == 0 else { return nil }
        let step = max(8, (max(mtu, Self.minimumMTU) - packet.headerLength) & ~7)
        var out: [IPv4Packet] = []
        out.reserveCapacity((packet.payload.count + step - 1) / step)
        var offset = 0
        let payload = packet.payload
        while offset < payload.count {
            let end = min(offset + step, payload.count)
            var fragment = packet
            fragment.identification = identification
            fragment.payload = payload[(payload.startIndex + offset)..<(payload.startIndex + end)]
            fragment.flagsAndFragmentOffset = UInt16(offset / 8) | (end < payload.count ? 0x2000 : 0)
            out.append(fragment)
            offset = end
        }
        return out
    }
}
