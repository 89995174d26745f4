/// One-line summaries of BOOTP/DHCP messages (RFC 2131, options RFC 2132), in the spirit of
/// tcpdump's: `BOOTP/DHCP, Request from 52:54:00:12:34:56, DHCP Discover, xid 0x1a2b3c4d`.
enum DHCPSummary {
    static let magicCookie: UInt32 = 0x6382_5363

    static func describe(_ message: ArraySlice<UInt8>) -> String {
        let cursor = ByteCursor(message)
        guard let op = cursor.byte(at: 0), let xid = cursor.uint32(at: 4),
              let client = MACAddress(bytes: Array(cursor.slice(from: 28, count: 6) ?? []), offset: 0)
        else { return "BOOTP/DHCP (truncated), length \(message.count)" }
        var text = "BOOTP/DHCP, \(op == 2 ? "Reply" : "Request")"
        text += op == 2 ? " to \(client)" : " from \(client)"
        if let type = Self.messageType(cursor) {
            text += ", DHCP \(type)"
        }
        if op == 2, let yiaddr = cursor.slice(from: 16, count: 4), yiaddr.contains(where: { $0 != 0 }) {
            text += ", your-ip " + yiaddr.map(String.init).joined(separator: ".")
        }
        return text + ", xid 0x" + String(xid, radix: 16) + ", length \(message.count)"
    }

    /// Option 53 from the options after the magic cookie, if present and well formed.
    static func messageType(_ cursor: ByteCursor) -> String? {
        guard cursor.uint32(at: 236) == Self.magicCookie else { return nil }
        var position = 240
        while let code = cursor.byte(at: position), code != 255 {
            if code == 0 {
                position += 1
                continue
            }
            guard let length = cursor.byte(at: position + 1) else { return nil }
            if code == 53, length == 1, let value = cursor.byte(at: position + 2) {
                return Self.typeName(value)
            }
            position += 2 + Int(length)
        }
        return nil
    }

    static func typeName(_ value: UInt8) -> String {
        switch value {
        case 1: "Discover"
        case 2: "Offer"
        case 3: "Request"
        case 4: "Decline"
        case 5: "ACK"
        case 6: "NAK"
        case 7: "Release"
        case 8: "Inform"
        default: "type \(value)"
        }
    }
}
