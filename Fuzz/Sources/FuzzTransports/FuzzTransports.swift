import NIOCore
import SwitchyardServer
import SwitchyardWire

/// What the network sends the fabric's datagram transports. VXLAN: any datagram is refused for
/// the right reason or decapsulated to exactly its inner frame, which encapsulates back to the
/// datagram with its flags and reserved bits cleared. A QEMU `-netdev dgram` datagram: framed as
/// the adapter frames it and decoded as the handler decodes it, it is one whole frame, or one
/// refused item when no Ethernet frame can be that long or short.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let vni = UInt32(bytes.first ?? 0) << 4 | 42
    let datagram = ByteBuffer(bytes: bytes)
    switch VXLANHeader.decapsulate(datagram, vni: vni) {
    case .success(let frame):
        precondition(bytes.count >= VXLANHeader.length + 14 && bytes[0] & VXLANHeader.validVNI != 0)
        precondition(Array(frame.readableBytesView) == Array(bytes.dropFirst(VXLANHeader.length)), "the inner frame is the datagram after the header")
        var again = ByteBuffer()
        VXLANHeader.encapsulate(frame, vni: vni, into: &again)
        var normalized = bytes
        normalized[0] = VXLANHeader.validVNI
        normalized[1] = 0
        normalized[2] = 0
        normalized[3] = 0
        normalized[7] = 0
        precondition(Array(again.readableBytesView) == normalized, "encapsulation is decapsulation's inverse")
    case .failure(let refusal) where refusal.code == .tooShort:
        precondition(bytes.count < VXLANHeader.length + 14)
    case .failure(let refusal) where refusal.code == .flagClear:
        precondition(bytes[0] & VXLANHeader.validVNI == 0)
    case .failure(let refusal):
        precondition(refusal.code == .otherVNI)
        let other = refusal.vni!
        precondition(other != vni && other == (UInt32(bytes[4]) << 16 | UInt32(bytes[5]) << 8 | UInt32(bytes[6])))
    }

    var framed = ByteBuffer()
    QEMUStreamFraming.write(datagram, to: &framed)
    do {
        let item = try QEMUStreamFraming.decode(&framed)
        precondition(framed.readableBytes == 0, "one datagram is one item")
        switch item {
        case .frame(let frame):
            precondition(Array(frame.readableBytesView) == bytes)
        case .refused(let length):
            precondition(length == bytes.count && (length < ProtocolLimits.minimumFrameLength || length > ProtocolLimits.maximumFrameLength))
        case nil:
            preconditionFailure("a whole datagram decodes to an item")
        }
    } catch {
        preconditionFailure("a datagram (at most 65,535 bytes) cannot break QEMU framing: \(error)")
    }
    return 0
}
