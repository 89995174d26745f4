import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices

/// Any bytes as a TFTP packet: malformed, or one that encodes and parses back to itself. The
/// same bytes sent to the server's port 69 and then, cut in two-byte pieces, as packets to the
/// first transfer's port: every answer is a well-formed TFTP packet from the server's address,
/// and a client never has more than one transfer.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    if let packet = try? TFTPPacket(parsing: bytes[...]) {
        precondition((try? TFTPPacket(parsing: packet.bytes[...])) == packet, "a parsed packet encodes and parses back to itself")
    }
    let serverMAC = MACAddress("02:53:59:00:00:06")!
    let clientMAC = MACAddress("52:54:00:00:00:01")!
    var server = TFTPServer(mac: serverMAC, root: nil)
    server.files = ["f": [UInt8](repeating: 0x41, count: 3000)]
    let payload = Array(bytes.prefix(UDPFrame.maximumPayloadLength))
    var frames = [UDPFrame.build(from: (clientMAC, IPv4Address(10, 0, 0, 9), 1000), to: (serverMAC, TFTPServer.defaultIP, 69), payload: payload)]
    frames.append(UDPFrame.build(from: (clientMAC, IPv4Address(10, 0, 0, 9), 1000), to: (serverMAC, TFTPServer.defaultIP, 69), payload: TFTPPacket.readRequest(filename: "f", mode: "octet", options: []).bytes))
    for start in stride(from: 0, to: min(bytes.count, 64), by: 2) {
        let ack: [UInt8] = [0, 4] + Array(bytes[start..<min(start + 2, bytes.count)])
        frames.append(UDPFrame.build(from: (clientMAC, IPv4Address(10, 0, 0, 9), 1000), to: (serverMAC, TFTPServer.defaultIP, TFTPServer.firstTransferPort), payload: ack))
    }
    var now: Duration = .zero
    for frame in frames {
        now += .milliseconds(400)
        let answers = server.handle(frame.bytes, now: now).frames + server.timePassed(now: now)
        for answer in answers {
            let udp = UDPFrame(parsing: answer)!
            precondition(udp.ip.source == TFTPServer.defaultIP && udp.checksumsValid)
            precondition((try? TFTPPacket(parsing: udp.udp.payload)) != nil, "the server sends well-formed packets")
        }
        precondition(server.activeTransfers <= 1, "one client, one transfer")
    }
    return 0
}
