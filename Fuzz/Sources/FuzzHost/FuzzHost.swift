import SwitchyardPackets
import SwitchyardServices

/// Any bytes as a run of frames to a service's host (each frame: a 2-byte length, then that
/// many bytes; one byte before it advances the clock by that many seconds): fragments,
/// ICMP, ICMPv6 and neighbour discovery of every shape. Whatever comes, the reassembly stays
/// within its bounds, what reaches the service is a whole IPv4 datagram with a right header,
/// every answer comes from the host, and what leaves fits the MTU.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let mac = MACAddress("02:53:59:00:00:02")!
    var settings = HostSettings()
    settings.mtu = 576
    settings.reassembly = .init(datagrams: 4, heldBytes: 16_384, timeout: .seconds(30))
    var host = ServiceHost(mac: mac, ip: IPv4Address(10, 0, 0, 2), settings: settings)
    var reassembler = IPv4Reassembler(limits: settings.reassembly)
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
        switch host.receive(frame, now: now) {
        case .answered(let reply):
            precondition(reply.source == mac)
            for part in host.outgoing(reply) {
                precondition(part.payload.count <= 576 || part.etherType != .ipv4, "IPv4 leaves within the MTU")
                if part.etherType == .ipv4 {
                    precondition(IPv4Packet(parsing: part.payload)?.isHeaderChecksumValid == true)
                }
            }
        case .forService(let delivered):
            if delivered != frame {
                let whole = EthernetFrame(parsing: delivered).flatMap { IPv4Packet(parsing: $0.payload) }
                precondition(whole.map { !$0.isFragment && $0.isHeaderChecksumValid } == true, "a reassembled datagram is whole")
            }
        case .consumed:
            break
        }
    }
    return 0
}
