import SwitchyardPackets

extension FrameFields {
    /// DHCP's fixed fields and each option as `dhcp.option.N` (its value; the code and length
    /// bytes are `dhcp.option.N.header`), so a changed lease time reads `dhcp.option.51:
    /// expected 3600, got 600`. Nil unless the payload is a DHCP message on port 67 or 68.
    static func dhcpLayout(_ bytes: [UInt8], payload: Range<Int>, ports: (UInt16, UInt16)) -> [FrameField]? {
        let dhcpPorts: Set<UInt16> = [DHCPMessage.serverPort, DHCPMessage.clientPort]
        guard dhcpPorts.contains(ports.0) || dhcpPorts.contains(ports.1),
              payload.count >= DHCPMessage.fixedLength + 4, DHCPMessage(parsing: bytes[payload]) != nil
        else { return nil }
        let p = payload.lowerBound
        var fields: [FrameField] = [
            FrameField(name: "dhcp.op", range: p..<(p + 1), kind: .integer),
            FrameField(name: "dhcp.htype", range: (p + 1)..<(p + 2), kind: .integer),
            FrameField(name: "dhcp.hlen", range: (p + 2)..<(p + 3), kind: .integer),
            FrameField(name: "dhcp.hops", range: (p + 3)..<(p + 4), kind: .integer),
            FrameField(name: "dhcp.xid", range: (p + 4)..<(p + 8), kind: .hex),
            FrameField(name: "dhcp.secs", range: (p + 8)..<(p + 10), kind: .integer),
            FrameField(name: "dhcp.flags", range: (p + 10)..<(p + 12), kind: .hex),
            FrameField(name: "dhcp.ciaddr", range: (p + 12)..<(p + 16), kind: .ipv4),
            FrameField(name: "dhcp.yiaddr", range: (p + 16)..<(p + 20), kind: .ipv4),
            FrameField(name: "dhcp.siaddr", range: (p + 20)..<(p + 24), kind: .ipv4),
            FrameField(name: "dhcp.giaddr", range: (p + 24)..<(p + 28), kind: .ipv4),
            FrameField(name: "dhcp.chaddr", range: (p + 28)..<(p + 44), kind: .bytes),
            FrameField(name: "dhcp.sname", range: (p + 44)..<(p + 108), kind: .text),
            FrameField(name: "dhcp.file", range: (p + 108)..<(p + 236), kind: .text),
            FrameField(name: "dhcp.cookie", range: (p + 236)..<(p + 240), kind: .hex),
        ]
        var position = p + 240
        while position < payload.upperBound {
            let code = bytes[position]
            if code == DHCPOption.Code.pad {
                position += 1
                continue
            }
            if code == DHCPOption.Code.end {
                fields.append(FrameField(name: "dhcp.padding", range: position..<payload.upperBound, kind: .bytes))
                return fields
            }
            // The message parsed, so every option's length is inside the payload.
            let length = Int(bytes[position + 1])
            let value = (position + 2)..<(position + 2 + length)
            fields.append(FrameField(name: "dhcp.option.\(code).header", range: position..<(position + 2), kind: .hex))
            fields.append(FrameField(name: "dhcp.option.\(code)", range: value, kind: Self.dhcpOptionKind(code, length: length)))
            position = value.upperBound
        }
        return fields
    }

    private static func dhcpOptionKind(_ code: UInt8, length: Int) -> FrameField.Kind {
        switch code {
        case DHCPOption.Code.leaseTime, DHCPOption.Code.renewalTime, DHCPOption.Code.rebindingTime, DHCPOption.Code.messageType:
            .integer
        case DHCPOption.Code.subnetMask, DHCPOption.Code.router, DHCPOption.Code.domainNameServer, DHCPOption.Code.ntpServers,
             DHCPOption.Code.requestedAddress, DHCPOption.Code.serverIdentifier:
            length == 4 ? .ipv4 : .bytes
        case DHCPOption.Code.hostName, DHCPOption.Code.domainName, DHCPOption.Code.message,
             DHCPOption.Code.tftpServerName, DHCPOption.Code.bootFileName:
            .text
        default:
            .bytes
        }
    }
}
