/// One line describing a frame, in the style of `tcpdump -e -nn`:
/// `02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 52: 10.0.0.1.12345 > 10.0.0.2.7007: UDP, length 10`.
///
/// Decodes 802.1Q tags, 802.3/LLC, ARP, IPv4 and IPv6 with UDP (NTP, DHCP, DNS), TCP, ICMP
/// and ICMPv6 (neighbour discovery); anything else is named by its EtherType or protocol.
/// Every decoder checks its lengths: any bytes give a line, never a trap.
public enum FrameSummary {
    /// 802.1Q tags followed before the frame is called malformed (Q-in-Q has two).
    static let maximumVLANTags = 4

    public static func describe(_ bytes: [UInt8], originalLength: Int? = nil) -> String {
        let length = originalLength ?? bytes.count
        guard let frame = EthernetFrame(parsing: bytes) else {
            return "truncated Ethernet frame, length \(length)"
        }
        var text = "\(frame.source) > \(frame.destination)"
        var etherType = frame.etherType.rawValue
        var payload = frame.payload
        var tags = 0
        while etherType == 0x8100 || etherType == 0x88A8 {
            let cursor = ByteCursor(payload)
            guard tags < Self.maximumVLANTags, let tci = cursor.uint16(at: 0), let inner = cursor.uint16(at: 2) else {
                return "\(text), 802.1Q (truncated), length \(length)"
            }
            text += ", vlan \(tci & 0x0FFF), p \(tci >> 13)"
            etherType = inner
            payload = cursor.slice(from: 4)
            tags += 1
        }
        if etherType <= 1500 {
            return "\(text), 802.3, length \(length): " + Self.describeLLC(payload, declaredLength: Int(etherType))
        }
        switch etherType {
        case EtherType.arp.rawValue:
            return "\(text), ARP, length \(length): " + Self.describeARP(payload)
        case EtherType.ipv4.rawValue:
            return "\(text), IPv4, length \(length): " + Self.describeIPv4(payload)
        case 0x86DD:
            return "\(text), IPv6, length \(length): " + Self.describeIPv6(payload)
        default:
            return "\(text), ethertype \(EtherType(rawValue: etherType)), length \(length)"
        }
    }

    static func describeLLC(_ payload: ArraySlice<UInt8>, declaredLength: Int) -> String {
        let cursor = ByteCursor(payload)
        guard let dsap = cursor.byte(at: 0), let ssap = cursor.byte(at: 1), let control = cursor.byte(at: 2) else {
            return "LLC (truncated), 802.3 length \(declaredLength)"
        }
        func hex(_ value: UInt8) -> String { "0x" + (value < 16 ? "0" : "") + String(value, radix: 16) }
        var text = "LLC, dsap \(hex(dsap)), ssap \(hex(ssap)), ctrl \(hex(control))"
        if dsap == 0xAA, ssap == 0xAA, let type = cursor.uint16(at: 6), let oui = cursor.slice(from: 3, count: 3) {
            text = "SNAP, oui " + oui.map { hex($0) }.joined(separator: ":") + ", ethertype \(EtherType(rawValue: type))"
        } else if dsap == 0x42, ssap == 0x42 {
            text += " (STP)"
        }
        return text + ", 802.3 length \(declaredLength)"
    }

    static func describeARP(_ payload: ArraySlice<UInt8>) -> String {
        guard let arp = ARPPacket(parsing: payload) else {
            return "ARP (not Ethernet/IPv4 or truncated)"
        }
        switch arp.operation {
        case .request:
            return "Request who-has \(arp.targetProtocolAddress) tell \(arp.senderProtocolAddress)"
        case .reply:
            return "Reply \(arp.senderProtocolAddress) is-at \(arp.senderHardwareAddress)"
        }
    }

    static func describeIPv4(_ payload: ArraySlice<UInt8>) -> String {
        guard let ip = IPv4Packet(parsing: payload) else {
            return "IPv4 (malformed or truncated)"
        }
        var flags: [String] = []
        if ip.timeToLive != IPv4Packet.defaultTTL {
            flags.append("ttl \(ip.timeToLive)")
        }
        if !ip.isHeaderChecksumValid {
            flags.append("bad ip checksum")
        }
        let extra = flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]"
        let source = ip.source.description
        let destination = ip.destination.description
        if ip.isFragment {
            return "\(source) > \(destination): ip-proto-\(ip.protocolNumber.rawValue) fragment, length \(ip.payload.count)\(extra)"
        }
        switch ip.protocolNumber.rawValue {
        case IPProtocol.udp.rawValue:
            guard let udp = UDPDatagram(parsing: ip.payload) else {
                return "\(source) > \(destination): UDP (truncated)\(extra)"
            }
            let checksum = udp.isChecksumValid(source: ip.source, destination: ip.destination) ? "" : " [bad udp checksum]"
            return Self.describeUDP(source: source, destination: destination, udp.sourcePort, udp.destinationPort, udp.payload, separator: ".") + extra + checksum
        case 6:
            return Self.describeTCP(source: source, destination: destination, ip.payload, separator: ".") + extra
        case 1:
            return "\(source) > \(destination): " + Self.describeICMP(ip.payload) + extra
        default:
            return "\(source) > \(destination): ip-proto-\(ip.protocolNumber.rawValue), length \(ip.payload.count)\(extra)"
        }
    }

    static func describeUDP(source: String, destination: String, _ sourcePort: UInt16, _ destinationPort: UInt16, _ payload: ArraySlice<UInt8>, separator: String) -> String {
        let endpoints = "\(source)\(separator)\(sourcePort) > \(destination)\(separator)\(destinationPort)"
        let ports = [sourcePort, destinationPort]
        if ports.contains(NTPPacket.port), let ntp = NTPPacket(parsing: payload) {
            var text = "\(endpoints): NTPv\(ntp.version), \(ntp.mode)"
            if ntp.mode == .server {
                text += ", stratum \(ntp.stratum)"
                if let reference = ntp.referenceIDText {
                    text += ", ref \(reference)"
                }
            }
            return text + ", length \(payload.count)"
        }
        if ports.contains(67) || ports.contains(68) {
            return "\(endpoints): " + DHCPSummary.describe(payload)
        }
        if ports.contains(53) || ports.contains(5353) {
            return "\(endpoints): " + DNSSummary.describe(payload)
        }
        return "\(endpoints): UDP, length \(payload.count)"
    }

    static func describeTCP(source: String, destination: String, _ segment: ArraySlice<UInt8>, separator: String) -> String {
        let cursor = ByteCursor(segment)
        guard let sourcePort = cursor.uint16(at: 0), let destinationPort = cursor.uint16(at: 2),
              let sequence = cursor.uint32(at: 4), let acknowledgment = cursor.uint32(at: 8),
              let offsetByte = cursor.byte(at: 12), let flagByte = cursor.byte(at: 13), let window = cursor.uint16(at: 14)
        else { return "\(source) > \(destination): TCP (truncated)" }
        let headerLength = Int(offsetByte >> 4) * 4
        let names: [(UInt8, String)] = [(0x02, "S"), (0x01, "F"), (0x04, "R"), (0x08, "P"), (0x20, "U"), (0x40, "E"), (0x80, "W")]
        var flags = names.filter { flagByte & $0.0 != 0 }.map(\.1).joined()
        if flagByte & 0x10 != 0 {
            flags += "."
        }
        var text = "\(source)\(separator)\(sourcePort) > \(destination)\(separator)\(destinationPort): Flags [\(flags.isEmpty ? "none" : flags)], seq \(sequence)"
        if flagByte & 0x10 != 0 {
            text += ", ack \(acknowledgment)"
        }
        let dataLength = headerLength >= 20 ? max(0, segment.count - headerLength) : 0
        return text + ", win \(window), length \(dataLength)"
    }

    static func describeICMP(_ message: ArraySlice<UInt8>) -> String {
        let cursor = ByteCursor(message)
        guard let type = cursor.byte(at: 0), let code = cursor.byte(at: 1) else { return "ICMP (truncated)" }
        switch type {
        case 0, 8:
            let id = cursor.uint16(at: 4) ?? 0
            let sequence = cursor.uint16(at: 6) ?? 0
            return "ICMP echo \(type == 8 ? "request" : "reply"), id \(id), seq \(sequence), length \(message.count)"
        case 3:
            let reasons = ["net", "host", "protocol", "port"]
            let reason = Int(code) < reasons.count ? "\(reasons[Int(code)]) unreachable" : "unreachable code \(code)"
            return "ICMP \(reason), length \(message.count)"
        case 11:
            return "ICMP time exceeded, code \(code), length \(message.count)"
        default:
            return "ICMP type \(type), code \(code), length \(message.count)"
        }
    }

    static func describeIPv6(_ packet: ArraySlice<UInt8>) -> String {
        let cursor = ByteCursor(packet)
        guard let first = cursor.byte(at: 0), first >> 4 == 6, let payloadLength = cursor.uint16(at: 4),
              let nextHeader = cursor.byte(at: 6), let hopLimit = cursor.byte(at: 7),
              let sourceBytes = cursor.slice(from: 8, count: 16), let destinationBytes = cursor.slice(from: 24, count: 16)
        else { return "IPv6 (malformed or truncated)" }
        let source = IPv6Text.format(sourceBytes)
        let destination = IPv6Text.format(destinationBytes)
        let payload = cursor.slice(from: 40, count: min(Int(payloadLength), cursor.remaining - 40)) ?? []
        let inner = ByteCursor(payload)
        switch nextHeader {
        case 17:
            guard let sourcePort = inner.uint16(at: 0), let destinationPort = inner.uint16(at: 2) else {
                return "\(source) > \(destination): UDP (truncated)"
            }
            return Self.describeUDP(source: source, destination: destination, sourcePort, destinationPort, inner.slice(from: 8), separator: ".")
        case 6:
            return Self.describeTCP(source: source, destination: destination, payload, separator: ".")
        case 58:
            return "\(source) > \(destination): " + Self.describeICMPv6(payload) + (hopLimit == 255 ? "" : ", hlim \(hopLimit)")
        default:
            return "\(source) > \(destination): next-header \(nextHeader), length \(payloadLength)"
        }
    }

    static func describeICMPv6(_ message: ArraySlice<UInt8>) -> String {
        let cursor = ByteCursor(message)
        guard let type = cursor.byte(at: 0) else { return "ICMP6 (truncated)" }
        let target = cursor.slice(from: 8, count: 16).map(IPv6Text.format)
        switch type {
        case 128, 129:
            return "ICMP6, echo \(type == 128 ? "request" : "reply"), id \(cursor.uint16(at: 4) ?? 0), seq \(cursor.uint16(at: 6) ?? 0), length \(message.count)"
        case 133:
            return "ICMP6, router solicitation, length \(message.count)"
        case 134:
            return "ICMP6, router advertisement, length \(message.count)"
        case 135:
            return "ICMP6, neighbor solicitation, who has \(target ?? "?"), length \(message.count)"
        case 136:
            return "ICMP6, neighbor advertisement, tgt is \(target ?? "?"), length \(message.count)"
        case 143:
            return "ICMP6, multicast listener report v2, length \(message.count)"
        default:
            return "ICMP6, type \(type), length \(message.count)"
        }
    }
}
