import SwitchyardPackets

/// The echo service's decisions, with no I/O: answers ARP for its IP and echoes UDP sent to
/// its port (MACs, IPs and ports swapped, same payload, real checksums), over IPv4 and, for
/// its IPv6 addresses, over IPv6.
public struct EchoResponder: Sendable {
    public static let endpointName = "svc_echo"
    public static let defaultIP = IPv4Address(10, 0, 0, 2)
    public static let defaultPort: UInt16 = 7007

    public var mac: MACAddress
    public var ip: IPv4Address
    public var port: UInt16
    /// Its IPv6 addresses (`ServiceHost.ip6`); none: IPv4 only.
    public var ip6: [IPv6Address]
    /// TTL of echoed datagrams: 64 per the facts page; changeable to test regression tooling.
    public var timeToLive: UInt8

    public init(mac: MACAddress, ip: IPv4Address = Self.defaultIP, port: UInt16 = Self.defaultPort, ip6: [IPv6Address] = [], timeToLive: UInt8 = IPv4Packet.defaultTTL) {
        self.mac = mac
        self.ip = ip
        self.port = port
        self.ip6 = ip6
        self.timeToLive = timeToLive
    }

    public enum Answer: Hashable, Sendable {
        case arpReply(EthernetFrame)
        case echo(EthernetFrame, request: UDPFrame)
        case echo6(EthernetFrame, request: UDPv6Frame)
    }

    /// The frame to send back for `bytes`, or nil when the frame is not for this service.
    public func answer(_ bytes: [UInt8]) -> Answer? {
        guard let frame = EthernetFrame(parsing: bytes) else { return nil }
        if let reply = ARPPacket.replyFrame(to: frame, ownerOf: self.ip, mac: self.mac) {
            return .arpReply(reply)
        }
        if let udp = UDPv6Frame.addressed(to: self.mac, addresses: self.ip6, port: self.port, in: frame) {
            return .echo6(udp.reply(from: self.mac, hopLimit: self.timeToLive), request: udp)
        }
        guard let udp = UDPFrame.addressed(to: self.mac, ip: self.ip, port: self.port, in: frame) else { return nil }
        return .echo(udp.reply(from: self.mac, timeToLive: self.timeToLive), request: udp)
    }
}
