import SwitchyardClient
import SwitchyardPackets

/// Resolves an IPv6 address to a MAC by neighbour solicitation (RFC 4861 section 7.2), resent
/// every `retryInterval` until a solicited advertisement arrives or `timeout` passes: the
/// IPv6 side of `ARPResolver`.
public struct NeighborResolver: Sendable {
    public var endpointID: UInt32
    public var mac: MACAddress
    public var ip: IPv6Address
    public var retryInterval: Duration = .milliseconds(500)

    public init(endpointID: UInt32, mac: MACAddress, ip: IPv6Address) {
        self.endpointID = endpointID
        self.mac = mac
        self.ip = ip
    }

    /// The MAC that advertised `target`, or nil after `timeout`.
    public func resolve<C: Clock>(_ target: IPv6Address, on exchange: some FrameExchange, timeout: Duration, clock: C) async throws -> MACAddress?
    where C.Duration == Duration {
        let request = NeighborDiscovery.solicitationFrame(from: (self.mac, self.ip), target: target).bytes
        return try await exchange.ask(request, from: self.endpointID, every: self.retryInterval, for: timeout, on: clock) { received in
            EthernetFrame(parsing: received.bytes).flatMap { NeighborDiscovery.advertisedMAC(in: $0, for: target) }
        }
    }
}
