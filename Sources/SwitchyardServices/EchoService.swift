import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire

/// Runs the UDP echo service on a fabric until the connection closes or the task is cancelled.
public struct EchoService: Sendable {
    public var name: String = EchoResponder.endpointName
    public var ip: IPv4Address = EchoResponder.defaultIP
    public var port: UInt16 = EchoResponder.defaultPort
    public var timeToLive: UInt8 = IPv4Packet.defaultTTL

    public init() {}

    /// Creates the endpoint, subscribes, calls `ready`, then answers frames.
    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        let mac = me.mac
        let responder = EchoResponder(mac: mac, ip: self.ip, port: self.port, timeToLive: self.timeToLive)
        let host = ServiceHost(mac: mac, ip: self.ip, timeToLive: self.timeToLive)
        ready(record)
        for try await frame in client.frames {
            if let reply = host.echoReply(to: frame.bytes) {
                try client.send(frame: reply.bytes, from: record.endpointID)
                continue
            }
            switch responder.answer(frame.bytes) {
            case .arpReply(let reply):
                logger.debug("ARP reply", metadata: ["to": "\(reply.destination)"])
                try client.send(frame: reply.bytes, from: record.endpointID)
            case .echo(let reply, let request):
                logger.info("echo \(request.udp.payload.count) bytes to \(request.ip.source):\(request.udp.sourcePort)")
                try client.send(frame: reply.bytes, from: record.endpointID)
            case nil:
                continue
            }
        }
    }
}
