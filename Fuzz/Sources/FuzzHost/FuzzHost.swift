import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices

/// Any bytes as a run of frames to a service's host (each frame: a 2-byte length, then that
/// many bytes; one byte before it advances the clock by that many seconds): fragments,
/// ICMP, ICMPv6 and neighbour discovery of every shape. Whatever comes, the reassembly stays
/// within its bounds, what reaches the service reassembled is whole (an IPv4 header that checks),
/// every answer comes from the host, and IPv4 leaves within the path's MTU.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let mac = MACAddress("02:53:59:00:00:02")!
    var settings = HostSettings()
    settings.mtu = 576
    settings.reassembly = .init(datagrams: 4, heldBytes: 16_384, timeout: .seconds(30))
    var host = ServiceHost(mac: mac, ip: IPv4Address(10, 0, 0, 2), settings: settings)
    var reassembler = IPv4Reassembler(limits: settings.reassembly)
    var reassembler6 = IPv6Reassembler(limits: settings.reassembly)
    var now = Duration.zero
    var offset = 0
    while offset + 3 <= bytes.count {
        now += .seconds(Int(bytes[offset]))
        let length = Int(bytes[offset + 1]) << 8 | Int(bytes[offset + 2])
        let frame = Array(bytes[(offset + 3)..<min(bytes.count, offset + 3 + length)])
        offset += 3 + length

        if let ethernet = EthernetFrame(parsing: frame), ethernet.etherType == .ipv4,
           let packet = IPv4Packet(parsing: ethernet.payload), packet.isFragment {
            if case .complete(let whole) = reassembler.add(packet, now: now) {
                precondition(whole.totalLength <= 65_535 && !whole.isFragment)
            }
            precondition(reassembler.inProgress <= 4 && reassembler.heldBytes <= 16_384, "reassembly within its bounds")
        }
        if let ethernet = EthernetFrame(parsing: frame), ethernet.etherType == .ipv6,
           let packet = IPv6Packet(parsing: ethernet.payload), packet.nextHeader == IPv6Reassembler.fragmentHeader {
            if case .complete(let whole) = reassembler6.add(packet, now: now) {
                precondition(whole.payload.count <= 65_535)
            }
            precondition(reassembler6.inProgress <= 4 && reassembler6.heldBytes <= 16_384, "IPv6 reassembly within its bounds")
        }
        let linkCarries = EthernetFrame(parsing: frame).flatMap { IPv4Packet(parsing: $0.payload) }.map { $0.isFragment ? 0 : $0.totalLength } ?? 0
        switch host.receive(frame, now: now) {
        case .answered(let reply):
            precondition(reply.source == mac)
            for part in host.outgoing(reply) {
                // The path's MTU: 576, or what the request answered came whole in.
                precondition(part.payload.count <= max(576, linkCarries) || part.etherType != .ipv4, "IPv4 leaves within the path's MTU")
                if part.etherType == .ipv4 {
                    precondition(IPv4Packet(parsing: part.payload)?.isHeaderChecksumValid == true)
                }
            }
        case .forService(let delivered):
            if delivered != frame, let ethernet = EthernetFrame(parsing: delivered) {
                if ethernet.etherType == .ipv4 {
                    let whole = IPv4Packet(parsing: ethernet.payload)
                    precondition(whole.map { !$0.isFragment && $0.isHeaderChecksumValid } == true, "a reassembled datagram is whole")
                } else {
                    let whole = IPv6Packet(parsing: ethernet.payload)
                    precondition(ethernet.etherType == .ipv6 && whole.map { $0.nextHeader != IPv6Reassembler.fragmentHeader } == true, "a reassembled packet is whole")
                }
            }
        case .consumed:
            break
        }
    }
    return 0
}
