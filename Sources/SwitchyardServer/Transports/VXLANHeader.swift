import NIOCore

/// The VXLAN header (RFC 7348 section 5): flags (I = the VNI is valid), 24 reserved bits, the
/// 24-bit VNI and 8 reserved bits, then the inner Ethernet frame without FCS. Pure, so the
/// checks a datagram from the network meets are fuzzed on their own.
public enum VXLANHeader {
    public static let length = 8
    /// The I flag.
    public static let validVNI: UInt8 = 0x08

    /// Why a datagram is not switched.
    public struct Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        /// A stable code, open to more (a struct, not a closed enum).
        public struct Code: Hashable, Sendable {
            private let value: UInt8

            public static let tooShort = Code(value: 1)
            public static let flagClear = Code(value: 2)
            public static let otherVNI = Code(value: 3)
        }

        public let code: Code
        /// The datagram's length (`tooShort`).
        public let length: Int?
        /// The VNI the datagram is for (`otherVNI`).
        public let vni: UInt32?

        public static func tooShort(_ length: Int) -> Refusal { Refusal(code: .tooShort, length: length, vni: nil) }
        public static let flagClear = Refusal(code: .flagClear, length: nil, vni: nil)
        public static func otherVNI(_ vni: UInt32) -> Refusal { Refusal(code: .otherVNI, length: nil, vni: vni) }

        public var description: String {
            switch self.code {
            case .tooShort: "a datagram too short for VXLAN and an Ethernet header"
            case .flagClear: "a datagram with the I flag clear"
            default: "a datagram for VNI \(self.vni ?? 0)"
            }
        }
    }

    /// The inner frame of a datagram for `vni`: at least an Ethernet header, the I flag set.
    /// Reserved bits and other flags are ignored, as RFC 7348 says receivers must.
    public static func decapsulate(_ datagram: ByteBuffer, vni: UInt32) -> Result<ByteBuffer, Refusal> {
        var datagram = datagram
        guard datagram.readableBytes >= Self.length + 14,
              let flags = datagram.readInteger(as: UInt8.self),
              datagram.readSlice(length: 3) != nil,
              let vniField = datagram.readInteger(as: UInt32.self)
        else { return .failure(.tooShort(datagram.readableBytes)) }
        guard flags & Self.validVNI != 0 else { return .failure(.flagClear) }
        guard vniField >> 8 == vni else { return .failure(.otherVNI(vniField >> 8)) }
        return .success(datagram)
    }

    /// Appends the header for `vni` and the frame.
    public static func encapsulate(_ frame: ByteBuffer, vni: UInt32, into datagram: inout ByteBuffer) {
        datagram.writeInteger(Self.validVNI)
        datagram.writeRepeatingByte(0, count: 3)
        datagram.writeInteger(vni << 8)
        datagram.writeImmutableBuffer(frame)
    }
}
