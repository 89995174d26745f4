import SwitchyardClient
import SwitchyardPackets

/// Resolves an IPv4 address to a MAC by broadcast ARP (RFC 826), resending the request every
/// `retryInterval` until a reply arrives or `timeout` passes.
public struct ARPResolver: Sendable {
    public var endpointID: UInt32
    public var mac: MACAddress
    public var ip: IPv4Address
    public var retryInterval: Duration = .milliseconds(500)

    public init(endpointID: UInt32, mac: MACAddress, ip: IPv4Address) {
        self.endpointID = endpointID
        self.mac = mac
        self.ip = ip
    }

    /// The MAC that answered for `target`, or nil after `timeout`. Frames that are not the
    /// awaited reply are skipped.
    public func resolve(_ target: IPv4Address, on exchange: some FrameExchange, timeout: Duration) async throws -> MACAddress? {
        try await self.resolve(target, on: exchange, timeout: timeout, clock: ContinuousClock())
    }

    /// `resolve` with the clock that measures the timeout and the resends.
    public func resolve<C: Clock>(_ target: IPv4Address, on exchange: some FrameExchange, timeout: Duration, clock: C) async throws -> MACAddress?
    where C.Duration == Duration {
        let request = ARPPacket.requestFrame(from: self.mac, ip: self.ip, asking: target).bytes
        return try await exchange.ask(request, from: self.endpointID, every: self.retryInterval, for: timeout, on: clock) {
            self.replyMAC(in: $0.bytes, for: target)
        }
    }

    func replyMAC(in bytes: [UInt8], for target: IPv4Address) -> MACAddress? {
        guard let frame = EthernetFrame(parsing: bytes), frame.etherType == .arp,
              let arp = ARPPacket(parsing: frame.payload),
              arp.operation == .reply,
              arp.senderProtocolAddress == target,
              arp.targetProtocolAddress == self.ip
        else { return nil }
        return arp.senderHardwareAddress
    }
}
