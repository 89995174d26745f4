import SwitchyardPackets

/// Which conversation a frame belongs to, the same for both directions: replay matches
/// expected frames inside their flow, so frames of other flows never shift the comparison.
public struct FlowKey: Hashable, Sendable, CustomStringConvertible {
    public enum Kind: Hashable, Sendable {
        /// ARP between two IPv4 addresses.
        case arp
        /// IPv6 neighbour solicitation and advertisement for a target (RFC 4861).
        case neighbor
        case tcp
        case udp
        /// DHCP, by transaction id: the client has no address yet, so no 5-tuple holds.
        case dhcp
        /// DNS over UDP, by 5-tuple and message id.
        case dns
        /// ICMP or ICMPv6 echo, by addresses and identifier.
        case echo
        /// Any other IP protocol, by addresses.
        case ip(protocolNumber: UInt8)
        /// Any other EtherType, by MACs.
        case ethernet(etherType: UInt16)

        /// A short name for reports and noise files: `udp`, `dns`, `tcp`, `ip.47`, `ethernet.0x88b5`.
        public var name: String {
            switch self {
            case .arp: "arp"
            case .neighbor: "nd"
            case .tcp: "tcp"
            case .udp: "udp"
            case .dhcp: "dhcp"
            case .dns: "dns"
            case .echo: "echo"
            case .ip(let number): "ip.\(number)"
            case .ethernet(let type): "ethernet.0x" + String(type, radix: 16)
            }
        }
    }

    /// One side of a flow: an address (4 or 16 bytes for IP, 6 for a MAC) and a port (0 when none).
    public struct Side: Hashable, Sendable, Comparable, CustomStringConvertible {
        public var address: [UInt8]
        public var port: UInt16

        public static func < (lhs: Side, rhs: Side) -> Bool {
            lhs.address.lexicographicallyPrecedes(rhs.address) || (lhs.address == rhs.address && lhs.port < rhs.port)
        }

        public var addressText: String {
            switch self.address.count {
            case 4: IPv4Address(rawValue: self.address.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(as: UInt32.self)) }).description
            case 16: IPv6Text.format(self.address[...])
            case 6: MACAddress(bytes: self.address, offset: 0)?.description ?? "?"
            default: "?"
            }
        }

        public var description: String {
            guard self.port != 0 else { return self.addressText }
            return self.address.count == 16 ? "[\(self.addressText)]:\(self.port)" : "\(self.addressText):\(self.port)"
        }
    }

    public var kind: Kind
    /// The two sides in a fixed order (the lesser first), so both directions give one key.
    public var low: Side
    public var high: Side
    /// DHCP transaction id, DNS message id or echo identifier; 0 otherwise.
    public var discriminator: UInt32

    public init(kind: Kind, _ a: Side, _ b: Side, discriminator: UInt32 = 0) {
        self.kind = kind
        self.low = min(a, b)
        self.high = max(a, b)
        self.discriminator = discriminator
    }

    public var description: String {
        switch self.kind {
        case .arp: "arp \(self.low) \(self.high)"
        case .neighbor: "nd \(self.low) \(self.high)"
        case .tcp: "tcp \(self.low) \(self.high)"
        case .udp: "udp \(self.low) \(self.high)"
        case .dhcp: "dhcp xid 0x" + Self.hex(self.discriminator, width: 8)
        case .dns: "dns id \(self.discriminator) \(self.low) \(self.high)"
        case .echo: "echo id \(self.discriminator) \(self.low) \(self.high)"
        case .ip(let number): "ip proto \(number) \(self.low) \(self.high)"
        case .ethernet(let type): "ethertype 0x" + Self.hex(UInt32(type), width: 4) + " \(self.low) \(self.high)"
        }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
