import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
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

    /// The address this endpoint sends from toward `service`: `ip` for IPv4; for IPv6 its
    /// link-local address (EUI-64 of its MAC) toward a link-local service, else fd53:5900::
    /// with the last octet of `ip`, as the services derive theirs.
    public func sourceAddress(toward service: IPAddress, ip: IPv4Address) -> IPAddress {
        Self.sourceAddress(of: self.mac, toward: service, ip: ip)
    }

    public static func sourceAddress(of mac: MACAddress, toward service: IPAddress, ip: IPv4Address) -> IPAddress {
        switch service {
        case .v4:
            .v4(ip)
        case .v6(let address) where address.isLinkLocal:
            .v6(IPv6Address.linkLocal(for: mac))
        case .v6:
            .v6(HostSettings.derivedAddress(for: ip))
        }
    }

    /// The MAC of the service `name`, found the way the original clients did: its
    /// ENDPOINT_INFO (retrying until `timeout`, since services may start later), or by ARP for
    /// `serviceIP` from this endpoint's `ip` (neighbour solicitation for IPv6).
    public func locateService<C: Clock>(
        _ name: String,
        ip serviceIP: IPAddress,
        from ip: IPAddress,
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
            switch (serviceIP, ip) {
            case (.v4(let target), .v4(let own)):
                let resolver = ARPResolver(endpointID: self.id, mac: self.mac, ip: own)
                guard let mac = try await resolver.resolve(target, on: client, timeout: timeout, clock: clock) else {
                    throw FabricClientError(.timeout, "timeout: no ARP reply for \(target) within \(timeout.secondsDescription) s")
                }
                return mac
            case (.v6(let target), .v6(let own)):
                let resolver = NeighborResolver(endpointID: self.id, mac: self.mac, ip: own)
                guard let mac = try await resolver.resolve(target, on: client, timeout: timeout, clock: clock) else {
                    throw FabricClientError(.timeout, "timeout: no neighbour advertisement for \(target) within \(timeout.secondsDescription) s")
                }
                return mac
            default:
                preconditionFailure("the source address is chosen in the service address's family")
            }
        }
    }
}
