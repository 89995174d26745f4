import SwitchyardPackets

/// The named fields of a frame and where their bytes are, so a difference can be reported as
/// `ipv4.ttl: expected 64, got 63` and a field can be masked.
public struct FrameField: Hashable, Sendable {
    public enum Kind: Hashable, Sendable {
        case mac, ipv4, integer, hex, bytes, text
    }

    public var name: String
    public var range: Range<Int>
    public var kind: Kind
}

public enum FrameFields {
    /// The names `--ignore` accepts. `ntp.timestamps` stands for all four NTP timestamps;
    /// `udp.payload` for the whole payload; `http.*` name fields of HTTP/1.x responses in TCP
    /// streams (`http.header.date`, lower case).
    public static let maskable: [String] = [
        "eth.dst", "eth.src", "eth.type",
        "arp.op", "arp.sha", "arp.spa", "arp.tha", "arp.tpa",
        "ipv4.tos", "ipv4.length", "ipv4.id", "ipv4.flags", "ipv4.ttl", "ipv4.protocol", "ipv4.checksum", "ipv4.src", "ipv4.dst", "ipv4.options",
        "udp.sport", "udp.dport", "udp.length", "udp.checksum", "udp.payload",
        "tcp.sport", "tcp.dport", "tcp.seq", "tcp.ack", "tcp.hdr_len", "tcp.flags", "tcp.window", "tcp.checksum", "tcp.urgent",
        "tcp.options", "tcp.payload",
        "ntp.flags", "ntp.stratum", "ntp.poll", "ntp.precision", "ntp.root_delay", "ntp.root_dispersion", "ntp.refid",
        "ntp.reference_ts", "ntp.originate_ts", "ntp.receive_ts", "ntp.transmit_ts", "ntp.timestamps",
        "dhcp.op", "dhcp.htype", "dhcp.hlen", "dhcp.hops", "dhcp.xid", "dhcp.secs", "dhcp.flags",
        "dhcp.ciaddr", "dhcp.yiaddr", "dhcp.siaddr", "dhcp.giaddr", "dhcp.chaddr", "dhcp.sname", "dhcp.file",
        "dhcp.cookie", "dhcp.option.N", "dhcp.padding",
        "dns.id", "dns.flags", "dns.qdcount", "dns.ancount", "dns.nscount", "dns.arcount",
        "dns.question.name", "dns.question.type", "dns.question.class",
    ] + ["answer", "authority", "additional"].flatMap { section in
        ["name", "type", "class", "ttl", "rdlength", "rdata"].map { "dns.\(section).\($0)" }
    } + ["frame.padding"]

    /// Whether `--ignore` accepts `name`: one of `maskable`, with `dhcp.option.N` standing for
    /// any option code 0…255 (`dhcp.option.51`).
    public static func isMaskable(_ name: String) -> Bool {
        if name.hasPrefix("http.header."), name != "http.header.NAME" {
            // RFC 9110 5.1: a field name is a token; compared in lower case.
            let field = name.dropFirst("http.header.".count)
            return !field.isEmpty && field.allSatisfy { $0.isLetter && $0.isASCII && $0.isLowercase || $0.isNumber || "-_.!#$%&'*+^`|~".contains($0) }
        }
        if name.hasPrefix("dhcp.option."), let code = UInt8(name.dropFirst("dhcp.option.".count)) {
            return String(code) == name.dropFirst("dhcp.option.".count)
        }
        return name != "dhcp.option.N" && name != "http.header.NAME" && Self.maskable.contains(name)
    }

    /// The fields of `bytes`, in order. Bytes past the last decoded field are `frame.padding`.
    public static func layout(of bytes: [UInt8]) -> [FrameField] {
        var fields = [
            FrameField(name: "eth.dst", range: 0..<6, kind: .mac),
            FrameField(name: "eth.src", range: 6..<12, kind: .mac),
            FrameField(name: "eth.type", range: 12..<14, kind: .hex),
        ]
        var end = 14
        defer {
            if end < bytes.count {
                fields.append(FrameField(name: "frame.padding", range: end..<bytes.count, kind: .bytes))
            }
        }
        guard let frame = EthernetFrame(parsing: bytes) else { return fields }
        if frame.etherType == .arp, ARPPacket(parsing: frame.payload) != nil {
            fields += [
                FrameField(name: "arp.hardware", range: 14..<20, kind: .hex),
                FrameField(name: "arp.op", range: 20..<22, kind: .integer),
                FrameField(name: "arp.sha", range: 22..<28, kind: .mac),
                FrameField(name: "arp.spa", range: 28..<32, kind: .ipv4),
                FrameField(name: "arp.tha", range: 32..<38, kind: .mac),
                FrameField(name: "arp.tpa", range: 38..<42, kind: .ipv4),
            ]
            end = 42
            return fields
        }
        guard frame.etherType == .ipv4, let ip = IPv4Packet(parsing: frame.payload) else { return fields }
        let ipStart = 14
        fields += [
            FrameField(name: "ipv4.version", range: ipStart..<(ipStart + 1), kind: .hex),
            FrameField(name: "ipv4.tos", range: (ipStart + 1)..<(ipStart + 2), kind: .integer),
            FrameField(name: "ipv4.length", range: (ipStart + 2)..<(ipStart + 4), kind: .integer),
            FrameField(name: "ipv4.id", range: (ipStart + 4)..<(ipStart + 6), kind: .integer),
            FrameField(name: "ipv4.flags", range: (ipStart + 6)..<(ipStart + 8), kind: .hex),
            FrameField(name: "ipv4.ttl", range: (ipStart + 8)..<(ipStart + 9), kind: .integer),
            FrameField(name: "ipv4.protocol", range: (ipStart + 9)..<(ipStart + 10), kind: .integer),
            FrameField(name: "ipv4.checksum", range: (ipStart + 10)..<(ipStart + 12), kind: .hex),
            FrameField(name: "ipv4.src", range: (ipStart + 12)..<(ipStart + 16), kind: .ipv4),
            FrameField(name: "ipv4.dst", range: (ipStart + 16)..<(ipStart + 20), kind: .ipv4),
        ]
        let udpStart = ipStart + ip.headerLength
        if ip.headerLength > IPv4Packet.minimumHeaderLength {
            fields.append(FrameField(name: "ipv4.options", range: (ipStart + 20)..<udpStart, kind: .bytes))
        }
        end = ipStart + ip.totalLength
        if ip.protocolNumber == .tcp, !ip.isFragment, let tcp = TCPSegment(parsing: ip.payload) {
            let t = udpStart
            let headerLength = Int(bytes[t + 12] >> 4) * 4
            fields += [
                FrameField(name: "tcp.sport", range: t..<(t + 2), kind: .integer),
                FrameField(name: "tcp.dport", range: (t + 2)..<(t + 4), kind: .integer),
                FrameField(name: "tcp.seq", range: (t + 4)..<(t + 8), kind: .integer),
                FrameField(name: "tcp.ack", range: (t + 8)..<(t + 12), kind: .integer),
                FrameField(name: "tcp.hdr_len", range: (t + 12)..<(t + 13), kind: .hex),
                FrameField(name: "tcp.flags", range: (t + 13)..<(t + 14), kind: .hex),
                FrameField(name: "tcp.window", range: (t + 14)..<(t + 16), kind: .integer),
                FrameField(name: "tcp.checksum", range: (t + 16)..<(t + 18), kind: .hex),
                FrameField(name: "tcp.urgent", range: (t + 18)..<(t + 20), kind: .integer),
            ]
            if headerLength > TCPSegment.minimumHeaderLength {
                fields.append(FrameField(name: "tcp.options", range: (t + 20)..<(t + headerLength), kind: .bytes))
            }
            if !tcp.payload.isEmpty {
                fields.append(FrameField(name: "tcp.payload", range: (t + headerLength)..<end, kind: .bytes))
            }
            return fields
        }
        guard ip.protocolNumber == .udp, !ip.isFragment, let udp = UDPDatagram(parsing: ip.payload) else {
            fields.append(FrameField(name: "ipv4.payload", range: udpStart..<end, kind: .bytes))
            return fields
        }
        fields += [
            FrameField(name: "udp.sport", range: udpStart..<(udpStart + 2), kind: .integer),
            FrameField(name: "udp.dport", range: (udpStart + 2)..<(udpStart + 4), kind: .integer),
            FrameField(name: "udp.length", range: (udpStart + 4)..<(udpStart + 6), kind: .integer),
            FrameField(name: "udp.checksum", range: (udpStart + 6)..<(udpStart + 8), kind: .hex),
        ]
        let payloadStart = udpStart + 8
        let payloadEnd = payloadStart + udp.payload.count
        let isNTP = udp.sourcePort == NTPPacket.port || udp.destinationPort == NTPPacket.port
        if isNTP, udp.payload.count >= NTPPacket.length {
            let n = payloadStart
            fields += [
                FrameField(name: "ntp.flags", range: n..<(n + 1), kind: .hex),
                FrameField(name: "ntp.stratum", range: (n + 1)..<(n + 2), kind: .integer),
                FrameField(name: "ntp.poll", range: (n + 2)..<(n + 3), kind: .integer),
                FrameField(name: "ntp.precision", range: (n + 3)..<(n + 4), kind: .integer),
                FrameField(name: "ntp.root_delay", range: (n + 4)..<(n + 8), kind: .hex),
                FrameField(name: "ntp.root_dispersion", range: (n + 8)..<(n + 12), kind: .hex),
                FrameField(name: "ntp.refid", range: (n + 12)..<(n + 16), kind: .hex),
                FrameField(name: "ntp.reference_ts", range: (n + 16)..<(n + 24), kind: .hex),
                FrameField(name: "ntp.originate_ts", range: (n + 24)..<(n + 32), kind: .hex),
                FrameField(name: "ntp.receive_ts", range: (n + 32)..<(n + 40), kind: .hex),
                FrameField(name: "ntp.transmit_ts", range: (n + 40)..<(n + 48), kind: .hex),
            ]
            if payloadEnd > n + 48 {
                fields.append(FrameField(name: "ntp.extension", range: (n + 48)..<payloadEnd, kind: .bytes))
            }
        } else if let dhcp = Self.dhcpLayout(bytes, payload: payloadStart..<payloadEnd, ports: (udp.sourcePort, udp.destinationPort)) {
            fields += dhcp
        } else if let dns = Self.dnsLayout(bytes, payload: payloadStart..<payloadEnd, ports: (udp.sourcePort, udp.destinationPort)) {
            fields += dns
        } else if payloadEnd > payloadStart {
            fields.append(FrameField(name: "udp.payload", range: payloadStart..<payloadEnd, kind: .bytes))
        }
        if end > payloadEnd {
            fields.append(FrameField(name: "ipv4.trailer", range: payloadEnd..<end, kind: .bytes))
        }
        return fields
    }

    /// Fields named by `--ignore` names, with the checksums that cover them.
    static func maskedNames(for ignored: Set<String>) -> Set<String> {
        var names = ignored
        // An ignored option's code and length go with it (its length may differ).
        for name in ignored where name.hasPrefix("dhcp.option.") {
            names.insert(name + ".header")
        }
        if ignored.contains("ntp.timestamps") {
            names.formUnion(["ntp.reference_ts", "ntp.originate_ts", "ntp.receive_ts", "ntp.transmit_ts"])
        }
        // RFC 791: the header checksum covers the IPv4 header.
        if names.contains(where: { $0.hasPrefix("ipv4.") && $0 != "ipv4.checksum" }) {
            names.insert("ipv4.checksum")
        }
        // RFC 768: the UDP checksum covers the pseudo-header (addresses, length), header and payload.
        // RFC 9293 3.1: so does the TCP checksum, over its segment.
        if names.contains(where: { $0.hasPrefix("tcp.") || $0 == "ipv4.src" || $0 == "ipv4.dst" }) {
            names.insert("tcp.checksum")
        }
        let udpCovered = ["udp.", "ntp.", "dhcp.", "dns."]
        if names.contains(where: { name in udpCovered.contains { name.hasPrefix($0) } || name == "ipv4.src" || name == "ipv4.dst" }) && !names.contains("udp.checksum") {
            names.insert("udp.checksum")
        }
        return names
    }

    /// Text of a field's value for a report.
    static func render(_ field: FrameField, in bytes: [UInt8]) -> String {
        guard field.range.upperBound <= bytes.count else { return "(absent)" }
        let slice = bytes[field.range]
        switch field.kind {
        case .mac:
            return MACAddress(bytes: slice, offset: 0)?.description ?? "?"
        case .ipv4:
            return slice.map(String.init).joined(separator: ".")
        case .integer:
            let value = slice.reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return String(value)
        case .hex, .bytes:
            return "0x" + slice.map { byte in (byte < 16 ? "0" : "") + String(byte, radix: 16) }.joined()
        case .text:
            let text = slice.prefix { $0 != 0 }
            return "\"" + String(decoding: text.map { (0x20..<0x7F).contains($0) ? $0 : UInt8(ascii: "?") }, as: UTF8.self) + "\""
        }
    }
}
