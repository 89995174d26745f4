import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire

/// Runs the DHCP server on a fabric until the connection closes or the task is cancelled,
/// saving the leases after every change when a leases file is set.
public struct DHCPService: Sendable {
    public var name = DHCPResponder.endpointName
    public var configuration = DHCPServerConfiguration()
    public var clock: any WallClock = SystemWallClock()
    public var leasesPath: String?
    /// Leases read at start (from `leasesPath`).
    public var leases: [DHCPLease] = []

    public init() {}

    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        var responder = DHCPResponder(mac: me.mac, configuration: self.configuration, clock: self.clock, leases: self.leases)
        ready(record)
        var ignored = 0
        for try await frame in client.frames {
            switch responder.answer(frame.bytes) {
            case .arpReply(let reply):
                try client.send(frame: reply.bytes, from: record.endpointID)
            case .reply(let frame, let reply, let request, let leasesChanged):
                let asked = request.messageType.map { "\($0)" } ?? "?"
                let answered = reply.messageType.map { "\($0)" } ?? "?"
                let address = reply.yiaddr.rawValue == 0 ? "" : " \(reply.yiaddr)"
                logger.info("\(asked) from \(request.clientMAC.map { "\($0)" } ?? "?") → \(answered)\(address)")
                try client.send(frame: frame.bytes, from: record.endpointID)
                if leasesChanged {
                    try self.save(responder.table)
                }
            case .silent(let reason, let leasesChanged):
                logger.info("\(reason)")
                if leasesChanged {
                    try self.save(responder.table)
                }
            case .ignored(let reason):
                ignored += 1
                logger.debug("ignored a request", metadata: ["reason": "\(reason)", "ignored": "\(ignored)"])
            case nil:
                continue
            }
        }
    }

    private func save(_ table: DHCPLeaseTable) throws {
        guard let path = self.leasesPath else { return }
        try DHCPLeaseFile.save(table.boundLeases, to: path)
    }
}
