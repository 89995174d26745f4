import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// Runs the NTP responder on a fabric until the connection closes or the task is cancelled.
public struct NTPService: Sendable {
    public var name = NTPResponder.endpointName
    public var ip = NTPResponder.defaultIP
    public var stratum: UInt8 = 1
    public var clock: any WallClock = SystemWallClock()

    public var hostSettings = HostSettings()

    public init() {}

    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        let mac = me.mac
        let responder = NTPResponder(mac: mac, ip: self.ip, stratum: self.stratum, clock: self.clock)
        ready(record)
        try await ServiceLoop.serve(on: client, from: record.endpointID, host: ServiceHost(mac: mac, ip: self.ip, settings: self.hostSettings), logger: logger) { bytes in
            switch responder.answer(bytes) {
            case .arpReply(let reply):
                .send(reply, log: nil)
            case .ntpReply(let reply, let request):
                .send(reply, log: "answered \(request.ip.source):\(request.udp.sourcePort)")
            case .ignored(let reason):
                .ignored(reason)
            case nil:
                nil
            }
        }
    }
}
