import SwitchyardClient
import SwitchyardPackets
import SwitchyardWire

/// The DHCP client: DISCOVER, OFFER, REQUEST, ACK (RFC 2131 section 3.1), then optionally one
/// renewal (section 4.4.5, unicast to the server) and a RELEASE. The transaction id comes from
/// the MAC, so the same client sends the same bytes every run.
public struct DHCPClient: Sendable {
    public static let endpointName = "cli_dhcp"
    /// What the client asks for (option 55), in this order.
    public static let parameterRequestList: [UInt8] = [
        DHCPOption.Code.subnetMask, DHCPOption.Code.router, DHCPOption.Code.domainNameServer,
        DHCPOption.Code.hostName, DHCPOption.Code.domainName, DHCPOption.Code.ntpServers,
        DHCPOption.Code.leaseTime, DHCPOption.Code.renewalTime, DHCPOption.Code.rebindingTime,
    ]

    public var timeout: Duration = .seconds(3)
    public var endpointName = Self.endpointName
    /// The MAC to put in chaddr and the frames' source; the endpoint's own when nil.
    public var mac: MACAddress?
    /// Option 12; the endpoint name when nil.
    public var hostName: String?
    public var renew = false
    public var release = false

    public init() {}

    public struct Lease: Sendable {
        public var address: IPv4Address
        public var mask: IPv4Address?
        public var routers: [IPv4Address]
        public var dns: [IPv4Address]
        public var ntp: [IPv4Address]
        public var domain: String?
        public var leaseTime: UInt32?
        public var server: IPv4Address
        public var serverMAC: MACAddress
        public var renewed: Bool
        public var released: Bool
    }

    /// Why there is no lease.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public func obtainLease(on client: FabricClient) async throws -> Lease {
        let me = try await AttachedEndpoint.attach(self.endpointName, on: client)
        return try await self.obtainLease(from: me.id, mac: self.mac ?? me.mac, on: client, clock: ContinuousClock())
    }

    /// The exchange itself, over any `FrameExchange` and clock (tests drive it in memory).
    public func obtainLease<C: Clock>(from endpointID: UInt32, mac: MACAddress, on exchange: some FrameExchange, clock: C) async throws -> Lease where C.Duration == Duration {
        let xid = UInt32(truncatingIfNeeded: mac.rawValue)
        let hostName = self.hostName ?? self.endpointName

        var discover = self.message(.discover, xid: xid, mac: mac, hostName: hostName)
        discover.options.append(DHCPOption(code: DHCPOption.Code.parameterRequestList, data: Self.parameterRequestList))
        try exchange.send(frame: Self.broadcastFrame(discover, from: mac), from: endpointID)
        guard let (offer, _) = try await self.await(.offer, xid: xid, on: exchange, clock: clock) else {
            throw Refusal(description: "timeout: no DHCP offer within \(self.timeout.secondsDescription) s (is switchyard-dhcpd running?)")
        }
        guard let server = offer.addressOption(DHCPOption.Code.serverIdentifier) else {
            throw Refusal(description: "the offer of \(offer.yiaddr) has no server identifier (option 54)")
        }

        var request = self.message(.request, xid: xid, mac: mac, hostName: hostName)
        request.options += [
            .address(DHCPOption.Code.requestedAddress, offer.yiaddr),
            .address(DHCPOption.Code.serverIdentifier, server),
            DHCPOption(code: DHCPOption.Code.parameterRequestList, data: Self.parameterRequestList),
        ]
        try exchange.send(frame: Self.broadcastFrame(request, from: mac), from: endpointID)
        guard let (ack, serverMAC) = try await self.await(.ack, xid: xid, on: exchange, clock: clock) else {
            throw Refusal(description: "timeout: no DHCP ACK for \(offer.yiaddr) within \(self.timeout.secondsDescription) s")
        }
        var lease = Self.lease(from: ack, server: server, serverMAC: serverMAC)

        if self.renew {
            var renewal = self.message(.request, xid: xid, mac: mac, hostName: hostName)
            renewal.ciaddr = lease.address
            renewal.options.append(DHCPOption(code: DHCPOption.Code.parameterRequestList, data: Self.parameterRequestList))
            try exchange.send(frame: Self.unicastFrame(renewal, from: (mac, lease.address), to: (serverMAC, server)), from: endpointID)
            guard let (renewed, _) = try await self.await(.ack, xid: xid, on: exchange, clock: clock) else {
                throw Refusal(description: "timeout: no DHCP ACK to the renewal of \(lease.address) within \(self.timeout.secondsDescription) s")
            }
            lease = Self.lease(from: renewed, server: server, serverMAC: serverMAC)
            lease.renewed = true
        }
        if self.release {
            var release = self.message(.release, xid: xid, mac: mac, hostName: nil)
            release.ciaddr = lease.address
            release.options.append(.address(DHCPOption.Code.serverIdentifier, server))
            try exchange.send(frame: Self.unicastFrame(release, from: (mac, lease.address), to: (serverMAC, server)), from: endpointID)
            lease.released = true
        }
        return lease
    }

    private func message(_ type: DHCPMessageType, xid: UInt32, mac: MACAddress, hostName: String?) -> DHCPMessage {
        var message = DHCPMessage(op: .request, xid: xid)
        message.chaddr = mac.bytes + Array(repeating: 0, count: 10)
        message.options = [DHCPOption(code: DHCPOption.Code.messageType, data: [type.rawValue])]
        if let hostName, !hostName.isEmpty {
            message.options.append(.text(DHCPOption.Code.hostName, hostName))
        }
        return message
    }

    /// Waits for `expected` (or a NAK, which ends the exchange) with this transaction id.
    private func await<C: Clock>(_ expected: DHCPMessageType, xid: UInt32, on exchange: some FrameExchange, clock: C) async throws -> (DHCPMessage, MACAddress)? where C.Duration == Duration {
        let deadline = clock.now.advanced(by: self.timeout)
        let answer = try await exchange.awaitFrame(until: deadline, on: clock) { received -> (DHCPMessage, MACAddress)? in
            guard let ethernet = EthernetFrame(parsing: received.bytes), let udp = UDPFrame(parsing: ethernet),
                  udp.udp.sourcePort == DHCPMessage.serverPort, udp.udp.destinationPort == DHCPMessage.clientPort,
                  let message = DHCPMessage(parsing: udp.udp.payload),
                  message.op == DHCPMessage.Operation.reply.rawValue, message.xid == xid,
                  let type = message.messageType, type == expected || type == .nak
            else { return nil }
            return (message, ethernet.source)
        }
        if let (message, _) = answer, message.messageType == .nak {
            let reason = message.textOption(DHCPOption.Code.message).map { ": \($0)" } ?? ""
            throw Refusal(description: "the server refused (DHCP NAK)\(reason)")
        }
        return answer
    }

    static func lease(from ack: DHCPMessage, server: IPv4Address, serverMAC: MACAddress) -> Lease {
        Lease(
            address: ack.yiaddr.rawValue != 0 ? ack.yiaddr : ack.ciaddr,
            mask: ack.addressOption(DHCPOption.Code.subnetMask),
            routers: ack.addressListOption(DHCPOption.Code.router),
            dns: ack.addressListOption(DHCPOption.Code.domainNameServer),
            ntp: ack.addressListOption(DHCPOption.Code.ntpServers),
            domain: ack.textOption(DHCPOption.Code.domainName),
            leaseTime: ack.uint32Option(DHCPOption.Code.leaseTime),
            server: ack.addressOption(DHCPOption.Code.serverIdentifier) ?? server,
            serverMAC: serverMAC,
            renewed: false,
            released: false
        )
    }

    /// From 0.0.0.0:68 to 255.255.255.255:67, as a client with no address sends.
    static func broadcastFrame(_ message: DHCPMessage, from mac: MACAddress) -> [UInt8] {
        UDPFrame.build(
            from: (mac, IPv4Address(rawValue: 0), DHCPMessage.clientPort),
            to: (.broadcast, IPv4Address(rawValue: .max), DHCPMessage.serverPort),
            payload: message.bytes
        ).bytes
    }

    static func unicastFrame(_ message: DHCPMessage, from source: (MACAddress, IPv4Address), to server: (MACAddress, IPv4Address)) -> [UInt8] {
        UDPFrame.build(
            from: (source.0, source.1, DHCPMessage.clientPort),
            to: (server.0, server.1, DHCPMessage.serverPort),
            payload: message.bytes
        ).bytes
    }
}
