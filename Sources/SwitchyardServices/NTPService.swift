import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire

/// Runs the NTP responder on a fabric until the connection closes or the task is cancelled.
public struct NTPService: Sendable {
    public var name = NTPResponder.endpointName
    public var ip = NTPResponder.defaultIP
    public var stratum: UInt8 = 1
    public var clock: any WallClock = SystemWallClock()

    public init() {}

    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        let mac = me.mac
        let responder = NTPResponder(mac: mac, ip: self.ip, stratum: self.stratum, clock: self.clock)
        ready(record)
        var ignored = 0
        for try await frame in client.frames {
            switch responder.answer(frame.bytes) {
            case .arpReply(let reply):
                try client.send(frame: reply.bytes, from: record.endpointID)
            case .ntpReply(let reply, let request):
                logger.info("answered \(request.ip.source):\(request.udp.sourcePort)")
                try client.send(frame: reply.bytes, from: record.endpointID)
            case .ignored(let reason):
                ignored += 1
                logger.debug("ignored a request", metadata: ["reason": "\(reason)", "ignored": "\(ignored)"])
            case nil:
                continue
            }
        }
    }
}
