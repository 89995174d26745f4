import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
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

    public var hostSettings = HostSettings()

    public init() {}

    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        var responder = DHCPResponder(mac: me.mac, configuration: self.configuration, clock: self.clock, leases: self.leases)
        ready(record)
        try await ServiceLoop.serve(on: client, from: record.endpointID, host: ServiceHost(mac: me.mac, ip: self.configuration.ip, settings: self.hostSettings), logger: logger) { bytes in
            let action: ServiceAction?
            var leasesChanged = false
            switch responder.answer(bytes) {
            case .arpReply(let reply):
                action = .send(reply, log: nil)
            case .reply(let frame, let reply, let request, let changed):
                let asked = request.messageType.map { "\($0)" } ?? "?"
                let answered = reply.messageType.map { "\($0)" } ?? "?"
                let address = reply.yiaddr.rawValue == 0 ? "" : " \(reply.yiaddr)"
                action = .send(frame, log: "\(asked) from \(request.clientMAC.map { "\($0)" } ?? "?") → \(answered)\(address)")
                leasesChanged = changed
            case .silent(let reason, let changed):
                action = .noted(reason)
                leasesChanged = changed
            case .ignored(let reason):
                action = .ignored(reason)
            case nil:
                action = nil
            }
            if leasesChanged {
                try self.save(responder.table)
            }
            return action
        }
    }

    private func save(_ table: DHCPLeaseTable) throws {
        guard let path = self.leasesPath else { return }
        try DHCPLeaseFile.save(table.boundLeases, to: path)
    }
}
