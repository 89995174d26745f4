import NIOCore

/// The VXLAN header (RFC 7348 section 5): flags (I = the VNI is valid), 24 reserved bits, the
/// 24-bit VNI and 8 reserved bits, then the inner Ethernet frame without FCS. Pure, so the
/// checks a datagram from the network meets are fuzzed on their own.
public enum VXLANHeader {
    public static let length = 8
    /// The I flag.
    public static let validVNI: UInt8 = 0x08

    /// Why a datagram is not switched.
    public enum Refusal: Error, Hashable, Sendable, CustomStringConvertible {
        case tooShort(Int)
        case flagClear
        case otherVNI(UInt32)

        public var description: String {
            switch self {
            case .tooShort: "a datagram too short for VXLAN and an Ethernet header"
            case .flagClear: "a datagram with the I flag clear"
            case .otherVNI(let vni): "a datagram for VNI \(vni)"
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
