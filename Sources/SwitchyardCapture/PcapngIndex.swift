/// What libpcap does not tell about a pcapng file: each interface's name and description, and
/// for each packet (in file order, as libpcap returns them) its interface and direction. Read
/// from the blocks alone; frames themselves are read through libpcap.
public struct PcapngIndex: Sendable {
    public struct Interface: Hashable, Sendable {
        public var name: String?
        public var description: String?
    }

    public struct Packet: Hashable, Sendable {
        /// Index into `interfaces` (already offset across sections).
        public var interface: Int
        /// `epb_flags` direction: 1 inbound, 2 outbound, 0 not said.
        public var direction: UInt8
    }

    public var interfaces: [Interface] = []
    public var packets: [Packet] = []

    static let sectionHeader: UInt32 = 0x0A0D_0D0A
    static let byteOrderMagic: UInt32 = 0x1A2B_3C4D

    /// The index of a pcapng file's bytes; nil when they are not pcapng. Reading stops at the
    /// first damaged block (libpcap stops there too).
    public static func read(_ bytes: [UInt8]) -> PcapngIndex? {
        guard bytes.count >= 12, Self.word(bytes, 0, bigEndian: false) == Self.sectionHeader else { return nil }
        var index = PcapngIndex()
        var bigEndian = false
        var sectionBase = 0
        var position = 0
        while position + 12 <= bytes.count {
            let type = Self.word(bytes, position, bigEndian: bigEndian)
            if type == Self.sectionHeader {
                guard position + 28 <= bytes.count else { break }
                let magic = Self.word(bytes, position + 8, bigEndian: false)
                if magic == Self.byteOrderMagic {
                    bigEndian = false
                } else if magic == Self.byteOrderMagic.byteSwapped {
                    bigEndian = true
                } else {
                    break
                }
                sectionBase = index.interfaces.count
            }
            let length = Int(Self.word(bytes, position + 4, bigEndian: bigEndian))
            guard length >= 12, length % 4 == 0, position + length <= bytes.count else { break }
            let body = (position + 8)..<(position + length - 4)
            switch type {
            case 1:  // Interface Description Block: link type, reserved, snaplen, options
                var interface = Interface()
                if body.count >= 8 {
                    Self.options(bytes, from: body.lowerBound + 8, to: body.upperBound, bigEndian: bigEndian) { code, value in
                        switch code {
                        case 2: interface.name = String(decoding: value, as: UTF8.self)
                        case 3: interface.description = String(decoding: value, as: UTF8.self)
                        default: break
                        }
                    }
                }
                index.interfaces.append(interface)
            case 6:  // Enhanced Packet Block
                guard body.count >= 20 else { break }
                let interface = Int(Self.word(bytes, body.lowerBound, bigEndian: bigEndian))
                let captured = Int(Self.word(bytes, body.lowerBound + 12, bigEndian: bigEndian))
                let optionsStart = body.lowerBound + 20 + ((captured + 3) & ~3)
                var direction: UInt8 = 0
                if optionsStart <= body.upperBound {
                    Self.options(bytes, from: optionsStart, to: body.upperBound, bigEndian: bigEndian) { code, value in
                        if code == 2, value.count == 4 {
                            direction = UInt8(Self.word(Array(value), 0, bigEndian: bigEndian) & 3)
                        }
                    }
                }
                index.packets.append(Packet(interface: sectionBase + interface, direction: direction))
            case 3:  // Simple Packet Block: the section's first interface
                index.packets.append(Packet(interface: sectionBase, direction: 0))
            case 2:  // Packet Block (obsolete): a 16-bit interface id
                guard body.count >= 2 else { break }
                let raw = Self.word(bytes, body.lowerBound, bigEndian: bigEndian)
                index.packets.append(Packet(interface: sectionBase + Int(bigEndian ? raw >> 16 : raw & 0xFFFF), direction: 0))
            default:
                break
            }
            position += length
        }
        return index
    }

    /// The interface a packet was recorded on, if the file said.
    public func interface(ofPacket number: Int) -> Interface? {
        guard number >= 0, number < self.packets.count else { return nil }
        let interface = self.packets[number].interface
        return interface >= 0 && interface < self.interfaces.count ? self.interfaces[interface] : nil
    }

    private static func word(_ bytes: [UInt8], _ at: Int, bigEndian: Bool) -> UInt32 {
        guard at >= 0, at + 4 <= bytes.count else { return 0 }
        let value = UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
        return bigEndian ? value.byteSwapped : value
    }

    private static func options(_ bytes: [UInt8], from start: Int, to end: Int, bigEndian: Bool, _ body: (UInt16, ArraySlice<UInt8>) -> Void) {
        var position = start
        while position + 4 <= end {
            let header = Self.word(bytes, position, bigEndian: bigEndian)
            let code = UInt16(bigEndian ? header >> 16 : header & 0xFFFF)
            let length = Int(bigEndian ? header & 0xFFFF : header >> 16)
            if code == 0 {
                return
            }
            let valueEnd = position + 4 + length
            guard valueEnd <= end else { return }
            body(code, bytes[(position + 4)..<valueEnd])
            position = position + 4 + ((length + 3) & ~3)
        }
    }
}
