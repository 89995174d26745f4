/// An ARP packet for IPv4 over Ethernet (RFC 826): hardware type 1, protocol type 0x0800,
/// address lengths 6 and 4. Other ARP variants are not parsed.
public struct ARPPacket: Hashable, Sendable {
    /// Bytes of an Ethernet/IPv4 ARP packet (RFC 826); anything after it is Ethernet padding.
    public static let length = 28

    public enum Operation: UInt16, Sendable {
        case request = 1
        case reply = 2
    }

    public var operation: Operation
    public var senderHardwareAddress: MACAddress
    public var senderProtocolAddress: IPv4Address
    public var targetHardwareAddress: MACAddress
    public var targetProtocolAddress: IPv4Address

    public init(
        operation: Operation,
        senderHardwareAddress: MACAddress,
        senderProtocolAddress: IPv4Address,
        targetHardwareAddress: MACAddress,
        targetProtocolAddress: IPv4Address
    ) {
        self.operation = operation
        self.senderHardwareAddress = senderHardwareAddress
        self.senderProtocolAddress = senderProtocolAddress
        self.targetHardwareAddress = targetHardwareAddress
        self.targetProtocolAddress = targetProtocolAddress
    }

    public init?(parsing bytes: ArraySlice<UInt8>) {
        guard bytes.count >= Self.length,
              bytes.bigEndianUInt16(at: 0) == 1,
              bytes.bigEndianUInt16(at: 2) == EtherType.ipv4.rawValue,
              bytes[bytes.startIndex + 4] == 6, bytes[bytes.startIndex + 5] == 4,
              let operation = Operation(rawValue: bytes.bigEndianUInt16(at: 6)),
              let sha = MACAddress(bytes: bytes, offset: 8),
              let tha = MACAddress(bytes: bytes, offset: 18)
        else { return nil }
        self.operation = operation
        self.senderHardwareAddress = sha
        self.senderProtocolAddress = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 14))
        self.targetHardwareAddress = tha
        self.targetProtocolAddress = IPv4Address(rawValue: bytes.bigEndianUInt32(at: 24))
    }

    public var bytes: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Self.length)
        out.appendBigEndian(UInt16(1))
        out.appendBigEndian(EtherType.ipv4.rawValue)
        out += [6, 4]
        out.appendBigEndian(self.operation.rawValue)
        out += self.senderHardwareAddress.bytes
        out.appendBigEndian(self.senderProtocolAddress.rawValue)
        out += self.targetHardwareAddress.bytes
        out.appendBigEndian(self.targetProtocolAddress.rawValue)
        return out
    }

    /// A broadcast who-has request for `target` from `sender`.
    public static func requestFrame(from senderMAC: MACAddress, ip senderIP: IPv4Address, asking target: IPv4Address) -> EthernetFrame {
        let arp = ARPPacket(
            operation: .request,
            senderHardwareAddress: senderMAC,
            senderProtocolAddress: senderIP,
            targetHardwareAddress: .zero,
            targetProtocolAddress: target
        )
        return EthernetFrame(destination: .broadcast, source: senderMAC, etherType: .arp, payload: arp.bytes)
    }

    /// The reply frame if `frame` is an ARP request for `ip`, answered from `mac`; else nil.
    public static func replyFrame(to frame: EthernetFrame, ownerOf ip: IPv4Address, mac: MACAddress) -> EthernetFrame? {
        guard frame.etherType == .arp,
              let request = ARPPacket(parsing: frame.payload),
              request.operation == .request,
              request.targetProtocolAddress == ip
        else { return nil }
        let reply = ARPPacket(
            operation: .reply,
            senderHardwareAddress: mac,
            senderProtocolAddress: ip,
            targetHardwareAddress: request.senderHardwareAddress,
            targetProtocolAddress: request.senderProtocolAddress
        )
        return EthernetFrame(destination: request.senderHardwareAddress, source: mac, etherType: .arp, payload: reply.bytes)
    }
}
