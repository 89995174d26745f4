import SwitchyardPackets
import SwitchyardReplay
import SwitchyardResponders
import SwitchyardServices

/// DHCP from a hostile client. The input is a sequence of up to 16 messages, each with a 2-byte
/// length in front. Each must parse to nil or to a message that encodes and parses back to itself; each
/// is then sent to one server (as a broadcast to port 67, and as a whole frame), whose replies
/// stay one Ethernet frame and whose leases stay consistent; the replay's field layout and
/// comparator take every frame.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    var configuration = DHCPServerConfiguration()
    configuration.rangeEnd = IPv4Address(10, 0, 0, 103)  // small, so the pool runs out too
    configuration.reservations = [DHCPServerConfiguration.Reservation("vm=10.0.0.20")!]
    configuration.nextServer = IPv4Address(10, 0, 0, 4)
    configuration.bootFile = "boot.ipxe"
    let clock = FixedWallClock(unixNanoseconds: 1_767_225_600_000_000_000)
    var server = DHCPResponder(mac: MACAddress("02:53:59:00:00:04")!, configuration: configuration, clock: clock)
    let client = MACAddress("52:54:00:12:34:56")!
    let comparator = FrameComparator(ignoring: ["dhcp.option.51"])
    var previous: [UInt8] = []
    var position = 0
    var messages = 0
    // At most 16 messages: a session, not thousands of tiny chunks per input.
    while position < bytes.count, messages < 16 {
        messages += 1
        var length = bytes.count - position
        if position + 2 <= bytes.count {
            length = min(Int(bytes[position]) << 8 | Int(bytes[position + 1]), bytes.count - position - 2)
            position += 2
        }
        let payload = Array(bytes[position..<(position + length)])
        position += length

        if let message = DHCPMessage(parsing: payload[...]) {
            let again = DHCPMessage(parsing: message.bytes[...])
            precondition(again == message, "a parsed message encodes and parses back to itself")
        }
        let frame = UDPFrame.build(
            from: (client, IPv4Address(rawValue: 0), DHCPMessage.clientPort),
            to: (.broadcast, IPv4Address(rawValue: .max), DHCPMessage.serverPort),
            payload: Array(payload.prefix(UDPFrame.maximumPayloadLength))
        ).bytes
        for input in [frame, payload] {
            switch server.answer(input) {
            case .reply(let reply, let message, _, _):
                precondition(reply.bytes.count <= 1514, "a reply is one Ethernet frame: \(reply.bytes.count) bytes")
                precondition(message.op == DHCPMessage.Operation.reply.rawValue)
                _ = comparator.difference(expected: reply.bytes, received: previous)
                previous = reply.bytes
            case .arpReply(let reply):
                precondition(reply.bytes.count == 42)
            case .silent, .ignored, nil:
                break
            }
            _ = FrameFields.layout(of: input)
        }
        let now = clock.now() / 1_000_000_000
        let active = server.table.leases.filter { $0.isActive(at: now) }
        precondition(Set(active.map(\.address)).count == active.count, "no address is held by two clients")
        precondition(active.allSatisfy { configuration.subnet.contains($0.address) && $0.address != configuration.ip })
    }
    return 0
}
