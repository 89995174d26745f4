/// One line describing a frame, in the style of `tcpdump -e -nn`:
/// `02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 52: 10.0.0.1.12345 > 10.0.0.2.7007: UDP, length 10`.
public enum FrameSummary {
    public static func describe(_ bytes: [UInt8], originalLength: Int? = nil) -> String {
        let length = originalLength ?? bytes.count
        guard let frame = EthernetFrame(parsing: bytes) else {
            return "truncated Ethernet frame, length \(length)"
        }
        let link = "\(frame.source) > \(frame.destination)"
        switch frame.etherType {
        case .arp:
            return "\(link), ARP, length \(length): " + Self.describeARP(frame.payload)
        case .ipv4:
            return "\(link), IPv4, length \(length): " + Self.describeIPv4(frame.payload)
        default:
            return "\(link), ethertype \(frame.etherType), length \(length)"
        }
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
        guard ip.protocolNumber == .udp, !ip.isFragment, let udp = UDPDatagram(parsing: ip.payload) else {
            return "\(ip.source) > \(ip.destination): ip-proto-\(ip.protocolNumber.rawValue), length \(ip.payload.count)\(extra)"
        }
        let checksum = udp.isChecksumValid(source: ip.source, destination: ip.destination) ? "" : " [bad udp checksum]"
        let endpoints = "\(ip.source).\(udp.sourcePort) > \(ip.destination).\(udp.destinationPort)"
        if udp.sourcePort == NTPPacket.port || udp.destinationPort == NTPPacket.port, let ntp = NTPPacket(parsing: udp.payload) {
            var text = "\(endpoints): NTPv\(ntp.version), \(ntp.mode)"
            if ntp.mode == .server {
                text += ", stratum \(ntp.stratum)"
                if let reference = ntp.referenceIDText {
                    text += ", ref \(reference)"
                }
            }
            return text + ", length \(udp.payload.count)\(extra)\(checksum)"
        }
        return "\(endpoints): UDP, length \(udp.payload.count)\(extra)\(checksum)"
    }
}
