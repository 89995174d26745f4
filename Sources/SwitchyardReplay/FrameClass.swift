import SwitchyardPackets

/// What replay needs to know of one frame: its flow, whether it opens or answers an exchange,
/// or that it is background: what hosts send on their own (router solicitations, MLD reports,
/// duplicate-address probes, ARP announcements, mDNS), which is never compared.
public struct FrameClass: Hashable, Sendable {
    public enum Role: Hashable, Sendable {
        /// Asks for an answer: a TCP SYN, an ARP request, a DHCP BOOTREQUEST, a DNS query, an echo request.
        case opens
        /// An answer: SYN-ACK, ARP reply, BOOTREPLY, a DNS response, an echo reply, an ICMP error.
        case answers
        /// Neither says (a UDP datagram, a data segment): the flow's first sender opened it.
        case continues
    }

    public var key: FlowKey?
    public var role: Role
    /// Why the frame is background; nil when it belongs to a flow.
    public var background: String?
    /// ARP or neighbour discovery asking for or giving an address.
    public var isResolution = false
    /// A TCP segment's SYN without ACK: a new connection on `key`.
    public var isConnectionStart = false
    /// An IP fragment: `fragment` identifies its datagram, the first fragment has the ports.
    public var fragment: FragmentID?

    /// An IPv4 datagram's (RFC 791: source, destination, protocol, identification) or an IPv6
    /// packet's (RFC 8200: source, destination, identification; protocol 44).
    public struct FragmentID: Hashable, Sendable {
        public var source: [UInt8]
        public var destination: [UInt8]
        public var protocolNumber: UInt8
        public var identification: UInt32
    }

    static func background(_ reason: String) -> FrameClass {
        FrameClass(key: nil, role: .continues, background: reason)
    }

    /// Classifies an Ethernet frame; never traps on hostile bytes.
    public static func of(_ bytes: [UInt8]) -> FrameClass {
        guard bytes.count >= 14, let destination = MACAddress(bytes: bytes, offset: 0), let source = MACAddress(bytes: bytes, offset: 6) else {
            return .background("runt frame")
        }
        let etherType = UInt16(bytes[12]) << 8 | UInt16(bytes[13])
        if destination.rawValue >> 8 == 0x0180_C200_00 {
            return .background("link-local control (STP, LLDP, pause)")
        }
        switch etherType {
        case ..<0x0600:
            return .background("802.3/LLC")
        case 0x88CC:
            return .background("LLDP")
        case 0x0806:
            return Self.arp(bytes[14...])
        case 0x0800:
            return Self.ipv4(bytes[14...])
        case 0x86DD:
            return Self.ipv6(bytes[14...])
        default:
            let low = FlowKey.Side(address: source.bytes, port: 0)
            let high = FlowKey.Side(address: destination.isGroup ? MACAddress.broadcast.bytes : destination.bytes, port: 0)
            return FrameClass(key: FlowKey(kind: .ethernet(etherType: etherType), low, high), role: .continues)
        }
    }

    static func arp(_ payload: ArraySlice<UInt8>) -> FrameClass {
        guard let arp = ARPPacket(parsing: payload) else { return .background("malformed ARP") }
        if arp.senderProtocolAddress.rawValue == 0 {
            return .background("ARP probe")
        }
        if arp.senderProtocolAddress == arp.targetProtocolAddress {
            return .background("ARP announcement")
        }
        let key = FlowKey(kind: .arp, Self.side(arp.senderProtocolAddress), Self.side(arp.targetProtocolAddress))
        var result = FrameClass(key: key, role: arp.operation == .request ? .opens : .answers)
        result.isResolution = true
        return result
    }

    static func side(_ address: IPv4Address, port: UInt16 = 0) -> FlowKey.Side {
        FlowKey.Side(address: address.bytes, port: port)
    }

    static func ipv4(_ payload: ArraySlice<UInt8>) -> FrameClass {
        guard let ip = IPv4Packet(parsing: payload) else { return .background("malformed IPv4") }
        let fragmentOffset = ip.flagsAndFragmentOffset & 0x1FFF
        let fragment = ip.isFragment
            ? FragmentID(source: ip.source.bytes, destination: ip.destination.bytes, protocolNumber: ip.protocolNumber.rawValue, identification: UInt32(ip.identification))
            : nil
        var result: FrameClass
        if fragmentOffset != 0 {
            // A later fragment has no ports: it joins its first fragment's flow (the tracker knows it).
            result = FrameClass(key: FlowKey(kind: .ip(protocolNumber: ip.protocolNumber.rawValue), Self.side(ip.source), Self.side(ip.destination)), role: .continues)
        } else {
            result = Self.transport(ip.protocolNumber.rawValue, source: ip.source.bytes, destination: ip.destination.bytes, multicast: ip.destination.rawValue >> 28 == 0xE || ip.destination.rawValue == .max, ip.payload)
        }
        result.fragment = fragment
        return result
    }

    static func ipv6(_ payload: ArraySlice<UInt8>) -> FrameClass {
        guard payload.count >= 40, payload[payload.startIndex] >> 4 == 6 else { return .background("malformed IPv6") }
        let start = payload.startIndex
        let source = Array(payload[(start + 8)..<(start + 24)])
        let destination = Array(payload[(start + 24)..<(start + 40)])
        var next = payload[start + 6]
        var offset = start + 40
        // Hop-by-hop options (MLD reports carry router alert) before the upper layer.
        while next == 0 || next == 60 || next == 43 {
            guard offset + 2 <= payload.endIndex else { return .background("malformed IPv6") }
            next = payload[offset]
            offset += (Int(payload[offset + 1]) + 1) * 8
            guard offset <= payload.endIndex else { return .background("malformed IPv6") }
        }
        if next == 44 {
            // As IPv4: the first fragment has the ports, later ones join its flow.
            guard offset + 8 <= payload.endIndex else { return .background("malformed IPv6") }
            let fragment = FragmentID(source: source, destination: destination, protocolNumber: 44, identification: payload.bigEndianUInt32(at: offset + 4 - start))
            let fragmentOffset = payload.bigEndianUInt16(at: offset + 2 - start) >> 3
            let upperProtocol = payload[offset]
            var result: FrameClass
            if fragmentOffset != 0 {
                result = FrameClass(key: FlowKey(kind: .ip(protocolNumber: upperProtocol), FlowKey.Side(address: source, port: 0), FlowKey.Side(address: destination, port: 0)), role: .continues)
            } else {
                result = Self.transport(upperProtocol, source: source, destination: destination, multicast: destination.first == 0xFF, payload[(offset + 8)...])
            }
            result.fragment = fragment
            return result
        }
        let upper = payload[offset...]
        if next == 58, let type = upper.first {
            switch type {
            case 130, 131, 132, 143: return .background("MLD")
            case 133: return .background("IPv6 router solicitation")
            case 134: return .background("IPv6 router advertisement")
            case 137: return .background("IPv6 redirect")
            case 135, 136:
                guard upper.count >= 24 else { return .background("malformed neighbour discovery") }
                let target = Array(upper[(upper.startIndex + 8)..<(upper.startIndex + 24)])
                if type == 135 {
                    if source.allSatisfy({ $0 == 0 }) { return .background("IPv6 duplicate address probe") }
                    var result = FrameClass(key: FlowKey(kind: .neighbor, FlowKey.Side(address: source, port: 0), FlowKey.Side(address: target, port: 0)), role: .opens)
                    result.isResolution = true
                    return result
                }
                // Only a solicited advertisement answers someone.
                guard upper.count >= 5, upper[upper.startIndex + 4] & 0x40 != 0, destination.first != 0xFF else {
                    return .background("unsolicited neighbour advertisement")
                }
                var result = FrameClass(key: FlowKey(kind: .neighbor, FlowKey.Side(address: destination, port: 0), FlowKey.Side(address: target, port: 0)), role: .answers)
                result.isResolution = true
                return result
            default:
                break
            }
        }
        return Self.transport(next, source: source, destination: destination, multicast: destination.first == 0xFF, upper)
    }

    /// The flow of an IP packet's payload; ICMP errors join the flow of the packet they quote.
    static func transport(_ protocolNumber: UInt8, source: [UInt8], destination: [UInt8], multicast: Bool, _ payload: ArraySlice<UInt8>) -> FrameClass {
        let start = payload.startIndex
        switch protocolNumber {
        case 6:
            guard let tcp = TCPSegment(parsing: payload) else { return .background("malformed TCP") }
            let key = FlowKey(kind: .tcp, FlowKey.Side(address: source, port: tcp.sourcePort), FlowKey.Side(address: destination, port: tcp.destinationPort))
            let opening = tcp.flags.contains(.syn) && !tcp.flags.contains(.ack)
            var result = FrameClass(key: key, role: opening ? .opens : tcp.flags.contains(.syn) ? .answers : .continues)
            result.isConnectionStart = opening
            return result
        case 17:
            guard payload.count >= 8 else { return .background("malformed UDP") }
            let sourcePort = payload.bigEndianUInt16(at: 0)
            let destinationPort = payload.bigEndianUInt16(at: 2)
            let datagram = payload.dropFirst(8)
            if multicast, [5353, 5355, 1900].contains(destinationPort) {
                return .background(destinationPort == 5353 ? "mDNS" : destinationPort == 5355 ? "LLMNR" : "SSDP")
            }
            if multicast, [137, 138].contains(destinationPort) {
                return .background("NetBIOS")
            }
            let a = FlowKey.Side(address: source, port: sourcePort)
            let b = FlowKey.Side(address: destination, port: destinationPort)
            let dhcpPorts: Set<UInt16> = [67, 68]
            if source.count == 4, dhcpPorts.contains(sourcePort), dhcpPorts.contains(destinationPort), datagram.count >= 8 {
                let xid = datagram.bigEndianUInt32(at: 4)
                let op = datagram[datagram.startIndex]
                let none = FlowKey.Side(address: [], port: 0)
                return FrameClass(key: FlowKey(kind: .dhcp, none, none, discriminator: xid), role: op == 1 ? .opens : .answers)
            }
            if sourcePort == 53 || destinationPort == 53, datagram.count >= 12 {
                let id = UInt32(datagram.bigEndianUInt16(at: 0))
                let response = datagram[datagram.startIndex + 2] & 0x80 != 0
                return FrameClass(key: FlowKey(kind: .dns, a, b, discriminator: id), role: response ? .answers : .opens)
            }
            return FrameClass(key: FlowKey(kind: .udp, a, b), role: .continues)
        case 1, 58:
            guard payload.count >= 8 else { return .background("malformed ICMP") }
            let type = payload[start]
            let v6 = protocolNumber == 58
            let request: UInt8 = v6 ? 128 : 8
            let reply: UInt8 = v6 ? 129 : 0
            if type == request || type == reply {
                let id = UInt32(payload.bigEndianUInt16(at: 4))
                let key = FlowKey(kind: .echo, FlowKey.Side(address: source, port: 0), FlowKey.Side(address: destination, port: 0), discriminator: id)
                return FrameClass(key: key, role: type == request ? .opens : .answers)
            }
            // Destination unreachable, time exceeded, parameter problem: the quoted packet's flow.
            let errors: Set<UInt8> = v6 ? [1, 3, 4] : [3, 11, 12]
            if errors.contains(type) {
                if let key = Self.quotedFlow(payload.dropFirst(8), v6: v6) {
                    return FrameClass(key: key, role: .answers)
                }
            }
            return FrameClass(key: FlowKey(kind: .ip(protocolNumber: protocolNumber), FlowKey.Side(address: source, port: 0), FlowKey.Side(address: destination, port: 0)), role: .continues)
        case 2:
            return .background("IGMP")
        default:
            return FrameClass(key: FlowKey(kind: .ip(protocolNumber: protocolNumber), FlowKey.Side(address: source, port: 0), FlowKey.Side(address: destination, port: 0)), role: .continues)
        }
    }

    /// The flow of the packet an ICMP error quotes: its header and first 8 bytes (RFC 792),
    /// so a quoted DNS query is known by its 5-tuple only (kind `.udp`).
    static func quotedFlow(_ quoted: ArraySlice<UInt8>, v6: Bool) -> FlowKey? {
        let start = quoted.startIndex
        let source: [UInt8], destination: [UInt8], protocolNumber: UInt8, headerLength: Int
        if v6 {
            guard quoted.count >= 44 else { return nil }
            source = Array(quoted[(start + 8)..<(start + 24)])
            destination = Array(quoted[(start + 24)..<(start + 40)])
            protocolNumber = quoted[start + 6]
            headerLength = 40
        } else {
            guard quoted.count >= 24, quoted[start] >> 4 == 4 else { return nil }
            headerLength = Int(quoted[start] & 0x0F) * 4
            guard headerLength >= 20, quoted.count >= headerLength + 4 else { return nil }
            source = Array(quoted[(start + 12)..<(start + 16)])
            destination = Array(quoted[(start + 16)..<(start + 20)])
            protocolNumber = quoted[start + 9]
        }
        guard protocolNumber == 6 || protocolNumber == 17, quoted.count >= headerLength + 4 else { return nil }
        let ports = quoted.dropFirst(headerLength)
        let a = FlowKey.Side(address: source, port: ports.bigEndianUInt16(at: 0))
        let b = FlowKey.Side(address: destination, port: ports.bigEndianUInt16(at: 2))
        return FlowKey(kind: protocolNumber == 6 ? .tcp : .udp, a, b)
    }
}
