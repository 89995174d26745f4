import SwitchyardPackets

/// The DHCP server's decisions, with no I/O (RFC 2131 section 4.3): what to answer to each
/// frame, and the lease table those answers change. Same frames in the same order and the same
/// clock → the same replies, byte for byte.
public struct DHCPResponder: Sendable {
    public static let endpointName = "svc_dhcp"

    public var mac: MACAddress
    public let configuration: DHCPServerConfiguration
    public var clock: any WallClock
    public private(set) var table: DHCPLeaseTable

    public init(mac: MACAddress, configuration: DHCPServerConfiguration, clock: any WallClock, leases: [DHCPLease] = []) {
        self.mac = mac
        self.configuration = configuration
        self.clock = clock
        self.table = DHCPLeaseTable(leases: leases)
    }

    public enum Answer: Sendable {
        case arpReply(EthernetFrame)
        /// The frame to send and the message in it.
        case reply(EthernetFrame, DHCPMessage, request: DHCPMessage, leasesChanged: Bool)
        /// Understood, and the protocol says not to answer (RELEASE, DECLINE, another server chosen).
        case silent(reason: String, leasesChanged: Bool)
        /// Sent to our DHCP port but not something to act on: counted, not answered.
        case ignored(reason: String)
    }

    private var nowSeconds: Int64 { self.clock.now() / 1_000_000_000 }

    /// What to do about `bytes`; nil when the frame is not for this service at all.
    public mutating func answer(_ bytes: [UInt8]) -> Answer? {
        guard let frame = EthernetFrame(parsing: bytes) else { return nil }
        if let reply = ARPPacket.replyFrame(to: frame, ownerOf: self.configuration.ip, mac: self.mac) {
            return .arpReply(reply)
        }
        guard frame.destination == self.mac || frame.destination == .broadcast,
              let udp = UDPFrame(parsing: frame), udp.udp.destinationPort == DHCPMessage.serverPort,
              udp.ip.destination == self.configuration.ip || udp.ip.destination == IPv4Address(rawValue: .max)
                || udp.ip.destination == self.configuration.subnet.broadcast
        else { return nil }
        guard let request = DHCPMessage(parsing: udp.udp.payload) else {
            return .ignored(reason: "\(udp.udp.payload.count)-byte payload is not a DHCP message")
        }
        guard request.op == DHCPMessage.Operation.request.rawValue else { return .ignored(reason: "op \(request.op), not a BOOTREQUEST") }
        guard let type = request.messageType else { return .ignored(reason: "no DHCP message type (option 53): plain BOOTP is not served") }
        let client = Client(request, frame: frame, configuration: self.configuration)
        switch type {
        case .discover:
            return self.discover(request, client, udp)
        case .request:
            return self.request(request, client, udp)
        case .release:
            if let server = request.addressOption(DHCPOption.Code.serverIdentifier), server != self.configuration.ip {
                return .silent(reason: "RELEASE for server \(server)", leasesChanged: false)
            }
            let changed = self.table.release(client.key, address: request.ciaddr, at: self.nowSeconds)
            return .silent(reason: "RELEASE of \(request.ciaddr) by \(client.mac)\(changed ? "" : " (no such lease)")", leasesChanged: changed)
        case .decline:
            guard let address = request.addressOption(DHCPOption.Code.requestedAddress) else {
                return .ignored(reason: "DECLINE without a requested address (option 50)")
            }
            self.table.decline(client.key, address: address)
            return .silent(reason: "DECLINE of \(address) by \(client.mac): address taken out of the pool", leasesChanged: true)
        case .inform:
            let reply = self.reply(.ack, to: request, client: client, yiaddr: IPv4Address(rawValue: 0), lease: false)
            return .reply(self.frame(reply, to: request, udp: udp, type: .ack), reply, request: request, leasesChanged: false)
        case .offer, .ack, .nak:
            return .ignored(reason: "\(type) is a server's message")
        }
    }

    /// Who is asking: the key leases are filed under, and what reservations apply to it.
    struct Client {
        var key: [UInt8]
        var mac: MACAddress
        var hostName: String?
        var reserved: IPv4Address?
        var reservedForOthers: Set<IPv4Address>

        init(_ request: DHCPMessage, frame: EthernetFrame, configuration: DHCPServerConfiguration) {
            let hardwareLength = min(Int(request.hlen), 16)
            self.key = request.option(DHCPOption.Code.clientIdentifier) ?? [request.htype] + request.chaddr.prefix(hardwareLength)
            self.mac = request.clientMAC ?? frame.source
            // RFC 1035's limit for a name: a longer "host name" is not echoed or stored.
            self.hostName = request.textOption(DHCPOption.Code.hostName).flatMap { $0.utf8.count <= 255 ? $0 : nil }
            var others = Set<IPv4Address>()
            for reservation in configuration.reservations {
                let matches = switch reservation.client {
                case .mac(let mac): mac == self.mac
                case .hostName(let name): self.hostName.map { $0.lowercased() == name.lowercased() } ?? false
                }
                if matches, self.reserved == nil {
                    self.reserved = reservation.address
                } else {
                    others.insert(reservation.address)
                }
            }
            self.reservedForOthers = others
        }
    }

    private mutating func discover(_ request: DHCPMessage, _ client: Client, _ udp: UDPFrame) -> Answer {
        let now = self.nowSeconds
        guard let address = self.table.choose(
            for: client.key, reserved: client.reserved, requested: request.addressOption(DHCPOption.Code.requestedAddress),
            reservedForOthers: client.reservedForOthers, configuration: self.configuration, at: now
        ) else {
            return .ignored(reason: "DISCOVER from \(client.mac): no free address in \(self.configuration.rangeStart)-\(self.configuration.rangeEnd)")
        }
        let previous = self.table.lease(for: client.key)
        if previous?.address != address || previous?.isActive(at: now) != true || previous?.state != .bound {
            self.table.record(DHCPLease(
                clientKey: client.key, mac: client.mac, address: address,
                expiry: now + DHCPLeaseTable.offerHoldSeconds, hostName: client.hostName, state: .offered
            ))
        }
        let offer = self.reply(.offer, to: request, client: client, yiaddr: address, lease: true)
        return .reply(self.frame(offer, to: request, udp: udp, type: .offer), offer, request: request, leasesChanged: false)
    }

    private mutating func request(_ request: DHCPMessage, _ client: Client, _ udp: UDPFrame) -> Answer {
        let server = request.addressOption(DHCPOption.Code.serverIdentifier)
        let requested = request.addressOption(DHCPOption.Code.requestedAddress)
        let address: IPv4Address
        if let server {
            // SELECTING: the client answers one server's offer; the others forget theirs.
            guard server == self.configuration.ip else {
                if let offer = self.table.lease(for: client.key), offer.state == .offered {
                    self.table.release(client.key, address: offer.address, at: self.nowSeconds)
                }
                return .silent(reason: "\(client.mac) chose server \(server)", leasesChanged: false)
            }
            guard let requested else { return self.nak(request, udp, "REQUEST names this server but no address (option 50)") }
            address = requested
        } else if let requested, request.ciaddr.rawValue == 0 {
            address = requested  // INIT-REBOOT
        } else if request.ciaddr.rawValue != 0 {
            address = request.ciaddr  // RENEWING (unicast) or REBINDING (broadcast)
        } else {
            return .ignored(reason: "REQUEST from \(client.mac) with no server id, requested address or ciaddr")
        }
        let now = self.nowSeconds
        guard self.configuration.subnet.contains(address) else {
            return self.nak(request, udp, "\(address) is not on this network (\(self.configuration.subnet))")
        }
        if let reserved = client.reserved, reserved != address {
            return self.nak(request, udp, "\(address) asked; \(reserved) is reserved for this client")
        }
        let previous = self.table.lease(for: client.key)
        let keepsItsOwn = previous?.address == address
        let fromPool = self.configuration.pool.contains(address.rawValue) || client.reserved == address
        guard (keepsItsOwn || fromPool),
              self.table.isFree(address, for: client.key, reservedForOthers: client.reservedForOthers, configuration: self.configuration, at: now)
        else {
            return self.nak(request, udp, "\(address) is not available to \(client.mac)")
        }
        self.table.record(DHCPLease(
            clientKey: client.key, mac: client.mac, address: address,
            expiry: now + Int64(self.configuration.leaseTime), hostName: client.hostName, state: .bound
        ))
        let ack = self.reply(.ack, to: request, client: client, yiaddr: address, lease: true)
        return .reply(self.frame(ack, to: request, udp: udp, type: .ack), ack, request: request, leasesChanged: true)
    }

    private func nak(_ request: DHCPMessage, _ udp: UDPFrame, _ reason: String) -> Answer {
        var nak = DHCPMessage(op: .reply, xid: request.xid)
        nak.htype = request.htype
        nak.hlen = request.hlen
        nak.chaddr = request.chaddr
        nak.flags = request.flags
        nak.giaddr = request.giaddr
        nak.options = [
            DHCPOption(code: DHCPOption.Code.messageType, data: [DHCPMessageType.nak.rawValue]),
            .address(DHCPOption.Code.serverIdentifier, self.configuration.ip),
            .text(DHCPOption.Code.message, reason),
        ]
        return .reply(self.frame(nak, to: request, udp: udp, type: .nak), nak, request: request, leasesChanged: false)
    }

    /// An OFFER or ACK: the fixed fields per RFC 2131 table 3, then options 53, 54, the lease
    /// times, and the parameters the client asked for in the order it asked (RFC 2132 section 9.8).
    private func reply(_ type: DHCPMessageType, to request: DHCPMessage, client: Client, yiaddr: IPv4Address, lease: Bool) -> DHCPMessage {
        let configuration = self.configuration
        var reply = DHCPMessage(op: .reply, xid: request.xid)
        reply.htype = request.htype
        reply.hlen = request.hlen
        reply.chaddr = request.chaddr
        reply.flags = request.flags
        reply.giaddr = request.giaddr
        reply.ciaddr = type == .ack ? request.ciaddr : IPv4Address(rawValue: 0)
        reply.yiaddr = yiaddr
        if let nextServer = configuration.nextServer {
            reply.siaddr = nextServer
        }
        if let bootFile = configuration.bootFile, let field = DHCPMessage.field(bootFile, count: 128) {
            reply.file = field
        }
        var options: [DHCPOption] = [
            DHCPOption(code: DHCPOption.Code.messageType, data: [type.rawValue]),
            .address(DHCPOption.Code.serverIdentifier, configuration.ip),
        ]
        if lease {
            let time = configuration.leaseTime
            options += [
                .uint32(DHCPOption.Code.leaseTime, time),
                .uint32(DHCPOption.Code.renewalTime, time / 2),
                .uint32(DHCPOption.Code.rebindingTime, UInt32(UInt64(time) * 7 / 8)),
            ]
        }
        let available = self.parameters(for: client)
        let sent = Set(options.map(\.code))
        if let requested = request.option(DHCPOption.Code.parameterRequestList) {
            var seen = sent
            for code in requested where !seen.contains(code) {
                seen.insert(code)
                if let option = available.first(where: { $0.code == code }) {
                    options.append(option)
                }
            }
            // The host name is echoed whether or not it was asked for (RFC 2132 section 3.14).
            if !seen.contains(DHCPOption.Code.hostName), let hostName = available.first(where: { $0.code == DHCPOption.Code.hostName }) {
                options.append(hostName)
            }
        } else {
            options += available
        }
        reply.options = options
        return reply
    }

    /// The parameter options this server has for `client`, in code order.
    private func parameters(for client: Client) -> [DHCPOption] {
        let configuration = self.configuration
        var options: [DHCPOption] = [.address(DHCPOption.Code.subnetMask, configuration.subnet.mask)]
        if let router = configuration.router {
            options.append(.address(DHCPOption.Code.router, router))
        }
        if !configuration.dns.isEmpty {
            options.append(.addresses(DHCPOption.Code.domainNameServer, configuration.dns))
        }
        if let hostName = client.hostName, !hostName.isEmpty {
            options.append(.text(DHCPOption.Code.hostName, hostName))
        }
        if let domain = configuration.domain {
            options.append(.text(DHCPOption.Code.domainName, domain))
        }
        if !configuration.ntp.isEmpty {
            options.append(.addresses(DHCPOption.Code.ntpServers, configuration.ntp))
        }
        if let nextServer = configuration.nextServer {
            options.append(.text(DHCPOption.Code.tftpServerName, nextServer.description))
        }
        if let bootFile = configuration.bootFile {
            options.append(.text(DHCPOption.Code.bootFileName, bootFile))
        }
        return options
    }

    /// Where a reply goes (RFC 2131 section 4.1): to the relay, to ciaddr, broadcast when the
    /// client cannot receive unicast yet (or for a NAK), else to the new address at the MAC.
    private func frame(_ reply: DHCPMessage, to request: DHCPMessage, udp: UDPFrame, type: DHCPMessageType) -> EthernetFrame {
        let broadcastIP = IPv4Address(rawValue: .max)
        let clientMAC = request.clientMAC ?? udp.ethernet.source
        let destination: (mac: MACAddress, ip: IPv4Address, port: UInt16)
        if request.giaddr.rawValue != 0 {
            destination = (udp.ethernet.source, request.giaddr, DHCPMessage.serverPort)
        } else if type == .nak {
            destination = (.broadcast, broadcastIP, DHCPMessage.clientPort)
        } else if request.ciaddr.rawValue != 0 {
            destination = (clientMAC, request.ciaddr, DHCPMessage.clientPort)
        } else if request.isBroadcast || reply.yiaddr.rawValue == 0 {
            destination = (.broadcast, broadcastIP, DHCPMessage.clientPort)
        } else {
            destination = (clientMAC, reply.yiaddr, DHCPMessage.clientPort)
        }
        return UDPFrame.build(
            from: (self.mac, self.configuration.ip, DHCPMessage.serverPort),
            to: destination,
            payload: reply.bytes
        )
    }
}
