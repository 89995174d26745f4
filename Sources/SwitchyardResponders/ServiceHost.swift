import SwitchyardPackets

/// What every service is as a host on its addresses, beside its own protocol: it answers ICMP
/// echo (IPv4 and IPv6) and IPv6 neighbour solicitation, puts fragmented IPv4 datagrams and
/// IPv6 packets back together before the service sees them, and fragments what the service
/// sends when it is larger than the path's MTU.
///
/// The path's MTU is `mtu`, or more when the request being answered came whole in a larger
/// packet: that sender's link evidently carries it. So a kernel behind a 1,500-byte TAP gets
/// fragments, and the tools of protocol v1, which send jumbo datagrams in one frame, get their
/// echo in one frame as before.
///
/// It holds state (the fragments in reassembly, the next fragment identification), so a
/// service's loop owns one and passes it each frame in order, with the time by the service's
/// own clock: the same frames at the same instants give the same frames out.
public struct ServiceHost: Sendable {
    public var mac: MACAddress
    public var ip: IPv4Address
    /// The link-local address first, then any unique local one.
    public private(set) var ip6: [IPv6Address]
    public var timeToLive: UInt8
    public var mtu: Int
    private var reassembler: IPv4Reassembler
    private var reassembler6: IPv6Reassembler
    /// Identification of the next fragmented datagram sent, per family. Starts at 1 and counts
    /// up, so a recorded session replays with the same fragments; unfragmented IPv4 keeps 0.
    private var nextIdentification: UInt16 = 1
    private var nextIdentification6: UInt32 = 1
    private var refusalsSeen: Set<ReassemblyRefusal> = []
    /// The IPv4 packet length the link of the frame being answered carries: the last whole
    /// packet received, 0 after a reassembled one.
    private var answeringLinkCarries = 0

    public init(mac: MACAddress, ip: IPv4Address, settings: HostSettings = HostSettings(), timeToLive: UInt8 = IPv4Packet.defaultTTL) {
        self.mac = mac
        self.ip = ip
        self.ip6 = settings.addresses(mac: mac, ip: ip)
        self.timeToLive = timeToLive
        self.mtu = settings.mtu
        self.reassembler = IPv4Reassembler(limits: settings.reassembly)
        self.reassembler6 = IPv6Reassembler(limits: settings.reassembly)
    }

    /// What became of one frame handed to the host.
    public enum Intake: Sendable {
        /// The host answers it itself (echo reply, neighbour advertisement).
        case answered(EthernetFrame)
        /// For the service to decide: the frame as it came, or a reassembled datagram.
        case forService([UInt8])
        /// A fragment kept for later, or dropped; `firstRefusal` is set the first time a kind
        /// of refusal happens (each kind is logged once), the counts are in `refusals`.
        case consumed(firstRefusal: ReassemblyRefusal?)
    }

    /// Refusals so far, by kind, over both families.
    public var refusals: [ReassemblyRefusal: Int] { self.reassembler.refusals.merging(self.reassembler6.refusals, uniquingKeysWith: +) }

    /// Takes one frame delivered to the service's endpoint at `now`.
    public mutating func receive(_ bytes: [UInt8], now: Duration) -> Intake {
        self.answeringLinkCarries = 0
        guard let frame = EthernetFrame(parsing: bytes) else { return .forService(bytes) }
        switch frame.etherType {
        case .ipv4:
            return self.receiveIPv4(frame, bytes: bytes, now: now)
        case .ipv6:
            return self.receiveIPv6(frame, bytes: bytes, now: now)
        default:
            return .forService(bytes)
        }
    }

    private mutating func receiveIPv6(_ frame: EthernetFrame, bytes: [UInt8], now: Duration) -> Intake {
        if let solicitation = NeighborDiscovery.solicitation(in: bytes),
           let target = IPv6Address(bytes: solicitation.target), self.ip6.contains(target),
           let advertisement = NeighborDiscovery.advertisementFrame(answering: bytes, mac: self.mac),
           let reply = EthernetFrame(parsing: advertisement) {
            return .answered(reply)
        }
        guard let packet = IPv6Packet(parsing: frame.payload), self.ip6.contains(packet.destination) else { return .forService(bytes) }
        var whole = frame
        if packet.nextHeader == IPv6Reassembler.fragmentHeader {
            guard frame.destination == self.mac || frame.destination.isGroup else { return .consumed(firstRefusal: nil) }
            guard case .complete(let reassembled) = self.reassembler6.add(packet, now: now) else {
                return .consumed(firstRefusal: self.newRefusal())
            }
            whole = EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv6, payload: reassembled.bytes)
        } else {
            self.answeringLinkCarries = IPv6Packet.headerLength + packet.payload.count
        }
        if let reply = ICMPv6Echo.replyFrame(to: whole, ownerOf: self.ip6, mac: self.mac, hopLimit: self.timeToLive) {
            return .answered(reply)
        }
        return .forService(whole == frame ? bytes : whole.bytes)
    }

    private mutating func receiveIPv4(_ frame: EthernetFrame, bytes: [UInt8], now: Duration) -> Intake {
        guard let packet = IPv4Packet(parsing: frame.payload), packet.destination == self.ip else { return .forService(bytes) }
        guard packet.isFragment else {
            self.answeringLinkCarries = packet.totalLength
            if let reply = ICMPEcho.replyFrame(to: frame, ownerOf: self.ip, mac: self.mac, timeToLive: self.timeToLive) {
                return .answered(reply)
            }
            return .forService(bytes)
        }
        guard frame.destination == self.mac || frame.destination.isGroup else {
            return .consumed(firstRefusal: nil)
        }
        switch self.reassembler.add(packet, now: now) {
        case .held, .refused:
            return .consumed(firstRefusal: self.newRefusal())
        case .complete(let whole):
            let reassembled = EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv4, payload: whole.bytes)
            if let reply = ICMPEcho.replyFrame(to: reassembled, ownerOf: self.ip, mac: self.mac, timeToLive: self.timeToLive) {
                return .answered(reply)
            }
            return .forService(reassembled.bytes)
        }
    }

    /// The first kind of refusal not reported before. Evictions and timeouts happen while
    /// another fragment is added, so the counts are what tells.
    private mutating func newRefusal() -> IPv4Reassembler.Refusal? {
        let counts = self.refusals
        let new = ReassemblyRefusal.allCases.first { counts[$0] != nil && !self.refusalsSeen.contains($0) }
        if let new {
            self.refusalsSeen.insert(new)
        }
        return new
    }

    /// Drops datagrams whose fragments waited too long; call it when time passes with no frames.
    public mutating func timePassed(now: Duration) -> ReassemblyRefusal? {
        self.reassembler.expire(now: now)
        self.reassembler6.expire(now: now)
        return self.newRefusal()
    }

    /// `frame` as the service sends it in answer to the frame last received: an IPv4 datagram
    /// larger than the path's MTU in fragments, anything else as it is. A datagram marked
    /// "don't fragment" that does not fit is dropped (empty), as a host's stack refuses to send it.
    public mutating func outgoing(_ frame: EthernetFrame) -> [EthernetFrame] {
        let pathMTU = max(self.mtu, self.answeringLinkCarries)
        guard frame.payload.count > pathMTU else { return [frame] }
        switch frame.etherType {
        case .ipv4:
            guard let packet = IPv4Packet(parsing: frame.payload), packet.totalLength > pathMTU else { return [frame] }
            let identification = self.nextIdentification
            guard let fragments = IPv4Fragmenter.fragments(of: packet, mtu: pathMTU, identification: identification) else { return [] }
            self.nextIdentification = identification == .max ? 1 : identification + 1
            return fragments.map { EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv4, payload: $0.bytes) }
        case .ipv6:
            guard let packet = IPv6Packet(parsing: frame.payload), IPv6Packet.headerLength + packet.payload.count > pathMTU else { return [frame] }
            let identification = self.nextIdentification6
            self.nextIdentification6 = identification == .max ? 1 : identification + 1
            return IPv6Fragmenter.fragments(of: packet, mtu: pathMTU, identification: identification).map {
                EthernetFrame(destination: frame.destination, source: frame.source, etherType: .ipv6, payload: $0.bytes)
            }
        default:
            return [frame]
        }
    }
}

/// How a service is set up as a host: its MTU, its IPv6 unique local address, the bounds of
/// its IPv4 reassembly. The same for every service (`--mtu`, `--ip6`).
public struct HostSettings: Hashable, Sendable {
    /// The project's unique local prefix (RFC 4193): fd53:5900::/64. A service at 10.0.0.N
    /// gets fd53:5900::N unless told otherwise, so names and addresses line up across families.
    public static let uniqueLocalPrefix: UInt64 = 0xFD53_5900_0000_0000

    public enum UniqueLocal: Hashable, Sendable {
        /// fd53:5900:: with the last octet of the service's IPv4 address.
        case derived
        case address(IPv6Address)
        /// Link-local only.
        case none
    }

    /// The largest IPv4 datagram sent unfragmented (1500, Ethernet's), unless the request
    /// answered came whole in a larger one.
    public var mtu: Int = 1500
    public var uniqueLocal: UniqueLocal = .derived
    public var reassembly = IPv4Reassembler.Limits()

    public init() {}

    /// The service's IPv6 addresses: link-local from its MAC (EUI-64), then the unique local one.
    public func addresses(mac: MACAddress, ip: IPv4Address) -> [IPv6Address] {
        let linkLocal = IPv6Address.linkLocal(for: mac)
        switch self.uniqueLocal {
        case .derived:
            return [linkLocal, Self.derivedAddress(for: ip)]
        case .address(let address):
            return [linkLocal, address]
        case .none:
            return [linkLocal]
        }
    }

    public static func derivedAddress(for ip: IPv4Address) -> IPv6Address {
        IPv6Address(high: Self.uniqueLocalPrefix, low: UInt64(ip.rawValue & 0xFF))
    }
}
