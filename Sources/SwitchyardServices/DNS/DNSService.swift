import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// Runs the DNS responder on a fabric until the connection closes or the task is cancelled.
public struct DNSService: Sendable {
    public var name = DNSResponder.endpointName
    public var ip = DNSResponder.defaultIP
    public var zone = DNSResponder.defaultZone(domain: DNSName(DNSResponder.defaultDomain)!, dnsIP: DNSResponder.defaultIP)
    public var ttl: UInt32 = 60

    public var hostSettings = HostSettings()

    public init() {}

    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        let host = ServiceHost(mac: me.mac, ip: self.ip, settings: self.hostSettings)
        var responder = DNSResponder(mac: me.mac, ip: self.ip, zone: self.zone, ttl: self.ttl)
        responder.ip6 = host.ip6
        ready(record)
        try await ServiceLoop.serve(on: client, from: record.endpointID, host: host, logger: logger) { [responder] bytes in
            switch responder.answer(bytes) {
            case .arpReply(let reply):
                .send(reply, log: nil)
            case .reply(let reply, let summary):
                .send(reply, log: summary)
            case .ignored(let reason):
                .ignored(reason)
            case nil:
                nil
            }
        }
    }
}
