import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// Runs the UDP echo service on a fabric until the connection closes or the task is cancelled.
public struct EchoService: Sendable {
    public var name: String = EchoResponder.endpointName
    public var ip: IPv4Address = EchoResponder.defaultIP
    public var port: UInt16 = EchoResponder.defaultPort
    public var timeToLive: UInt8 = IPv4Packet.defaultTTL
    public var hostSettings = HostSettings()

    public init() {}

    /// Creates the endpoint, subscribes, calls `ready`, then answers frames.
    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        let mac = me.mac
        let host = ServiceHost(mac: mac, ip: self.ip, settings: self.hostSettings, timeToLive: self.timeToLive)
        let responder = EchoResponder(mac: mac, ip: self.ip, port: self.port, ip6: host.ip6, timeToLive: self.timeToLive)
        ready(record)
        try await ServiceLoop.serve(on: client, from: record.endpointID, host: host, logger: logger) { bytes in
            switch responder.answer(bytes) {
            case .arpReply(let reply):
                .send(reply, log: nil)
            case .echo(let reply, let request):
                .send(reply, log: "echo \(request.udp.payload.count) bytes to \(request.ip.source):\(request.udp.sourcePort)")
            case .echo6(let reply, let request):
                .send(reply, log: "echo \(request.udp.payload.count) bytes to [\(request.ip.source)]:\(request.udp.sourcePort)")
            case nil:
                nil
            }
        }
    }
}
