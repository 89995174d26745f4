import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire

/// An endpoint a tool created and subscribed to: what every service and client starts with.
public struct AttachedEndpoint: Sendable {
    public var record: EndpointRecord
    public var mac: MACAddress
    public var id: UInt32 { self.record.endpointID }

    /// Creates endpoint `name` and subscribes this connection to it.
    public static func attach(_ name: String, on client: FabricClient, promiscuous: Bool = false) async throws -> AttachedEndpoint {
        let record = try await client.createEndpoint(name: name)
        try await client.subscribe(endpointID: record.endpointID, promiscuous: promiscuous)
        return AttachedEndpoint(record: record, mac: try Self.mac(record))
    }

    static func mac(_ record: EndpointRecord) throws -> MACAddress {
        guard let mac = MACAddress(record.mac) else {
            throw FabricClientError(.protocolViolation, "fabric gave an invalid MAC \(record.mac)")
        }
        return mac
    }

    /// The MAC of the service `name`, found the way the original clients did: its
    /// ENDPOINT_INFO (retrying until `timeout`, since services may start later), or by ARP for
    /// `serviceIP` from this endpoint's `ip`.
    public func locateService<C: Clock>(
        _ name: String,
        ip serviceIP: IPv4Address,
        from ip: IPv4Address,
        resolution: PingClient.Resolution,
        timeout: Duration,
        on client: FabricClient,
        clock: C,
        hint: String
    ) async throws -> MACAddress where C.Duration == Duration {
        switch resolution {
        case .lookup:
            let service: EndpointRecord
            do {
                service = try await client.lookUp(name: name, retryingFor: timeout, every: .milliseconds(200), clock: clock)
            } catch let error as FabricClientError where error.code == .timeout {
                throw FabricClientError(.timeout, "timeout: \(error.message) (is \(hint) running?)")
            }
            return try Self.mac(service)
        case .arp:
            // ARP alone: a service on another fabric (behind an uplink) has no endpoint here.
            let resolver = ARPResolver(endpointID: self.id, mac: self.mac, ip: ip)
            guard let mac = try await resolver.resolve(serviceIP, on: client, timeout: timeout, clock: clock) else {
                throw FabricClientError(.timeout, "timeout: no ARP reply for \(serviceIP) within \(timeout.secondsDescription) s")
            }
            return mac
        }
    }
}
