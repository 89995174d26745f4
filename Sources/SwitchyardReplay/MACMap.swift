import SwitchyardPackets

/// Recorded MACs to the MACs the same endpoints have now. Applied to every MAC field of a
/// frame: the Ethernet addresses, in ARP the sender and target hardware addresses, and in DHCP
/// the client hardware address (the server answers to it), with the UDP checksum redone.
public struct MACMap: Hashable, Sendable {
    public private(set) var entries: [MACAddress: MACAddress] = [:]

    public init() {}

    public mutating func map(_ recorded: MACAddress, to live: MACAddress) {
        if recorded != live {
            self.entries[recorded] = live
        }
    }

    public var isEmpty: Bool { self.entries.isEmpty }

    public func translate(_ mac: MACAddress) -> MACAddress {
        self.entries[mac] ?? mac
    }

    public func apply(to bytes: [UInt8]) -> [UInt8] {
        guard !self.entries.isEmpty, bytes.count >= 14 else { return bytes }
        var out = bytes
        self.rewrite(&out, at: 0)
        self.rewrite(&out, at: 6)
        // ARP over Ethernet: sender hardware at 22, target hardware at 32 (RFC 826).
        if out[12] == 0x08, out[13] == 0x06, ARPPacket(parsing: out[14...]) != nil {
            self.rewrite(&out, at: 22)
            self.rewrite(&out, at: 32)
        }
        self.rewriteDHCPClientAddress(&out)
        return out
    }

    private func rewriteDHCPClientAddress(_ bytes: inout [UInt8]) {
        guard let frame = EthernetFrame(parsing: bytes), let udp = UDPFrame(parsing: frame),
              [DHCPMessage.serverPort, DHCPMessage.clientPort].contains(udp.udp.destinationPort),
              let message = DHCPMessage(parsing: udp.udp.payload), let mac = message.clientMAC, self.entries[mac] != nil
        else { return }
        let payloadStart = udp.udp.payload.startIndex
        self.rewrite(&bytes, at: payloadStart + 28)
        guard udp.udp.checksum != 0, let updated = EthernetFrame(parsing: bytes).flatMap(UDPFrame.init(parsing:)) else { return }
        let checksum = updated.udp.computeChecksum(source: updated.ip.source, destination: updated.ip.destination)
        let checksumAt = payloadStart - UDPDatagram.headerLength + 6
        bytes[checksumAt] = UInt8(checksum >> 8)
        bytes[checksumAt + 1] = UInt8(truncatingIfNeeded: checksum)
    }

    private func rewrite(_ bytes: inout [UInt8], at offset: Int) {
        guard let mac = MACAddress(bytes: bytes, offset: offset), let live = self.entries[mac] else { return }
        bytes.replaceSubrange(offset..<(offset + 6), with: live.bytes)
    }
}
