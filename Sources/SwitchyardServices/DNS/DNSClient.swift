import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// One DNS query over UDP from endpoint `cli_dig` (10.0.0.11:40053, or fd53:5900::b to an IPv6
/// server) and its answer, printed the way dig prints one.
public struct DNSClient: Sendable {
    public static let endpointName = "cli_dig"
    public static let defaultIP = IPv4Address(10, 0, 0, 11)
    public static let defaultPort: UInt16 = 40053

    public var timeout: Duration = .seconds(3)
    public var resolution = PingClient.Resolution.lookup
    public var endpointName = Self.endpointName
    public var ip = Self.defaultIP
    public var port = Self.defaultPort
    public var serviceName = DNSResponder.endpointName
    public var server = IPAddress.v4(DNSResponder.defaultIP)
    /// Fixed, so the same query is the same bytes every run.
    public var id: UInt16 = 1
    public var recursionDesired = true
    /// Sends an EDNS OPT record advertising this UDP size (RFC 6891); none when nil.
    public var ednsSize: UInt16?

    public init() {}

    public func query(_ question: DNSQuestion) -> DNSMessage {
        var query = DNSMessage(id: self.id, flags: self.recursionDesired ? DNSMessage.Flag.recursionDesired : 0)
        query.questions = [question]
        if let size = self.ednsSize {
            query.additionals = [DNSRecord(name: .root, type: DNSRecord.RecordType.opt, klass: size, ttl: 0, data: .raw([]))]
        }
        return query
    }

    public func ask(_ question: DNSQuestion, on client: FabricClient) async throws -> DNSMessage {
        let clock = ContinuousClock()
        let me = try await AttachedEndpoint.attach(self.endpointName, on: client)
        let serviceMAC = try await me.locateService(
            self.serviceName, ip: self.server, from: me.sourceAddress(toward: self.server, ip: self.ip), resolution: self.resolution,
            timeout: self.timeout, on: client, clock: clock, hint: "switchyard-dns"
        )
        return try await self.ask(question, from: (me.id, me.mac), to: serviceMAC, on: client, clock: clock)
    }

    public func ask<C: Clock>(
        _ question: DNSQuestion, from me: (id: UInt32, mac: MACAddress), to serviceMAC: MACAddress,
        on exchange: some FrameExchange, clock: C
    ) async throws -> DNSMessage where C.Duration == Duration {
        let source = AttachedEndpoint.sourceAddress(of: me.mac, toward: self.server, ip: self.ip)
        guard let frame = UDPMessage.build(from: (me.mac, source, self.port), to: (serviceMAC, self.server, DNSMessage.port), payload: self.query(question).encoded()) else {
            preconditionFailure("the source address is chosen in the server address's family")
        }
        try exchange.send(frame: frame.bytes, from: me.id)
        let deadline = clock.now.advanced(by: self.timeout)
        let start = clock.now
        var reassembler = IPv4Reassembler()
        var reassembler6 = IPv6Reassembler()
        let reply = try await exchange.awaitFrame(until: deadline, on: clock) { received -> DNSMessage? in
            let time = start.duration(to: clock.now)
            guard let ethernet = EthernetFrame(parsing: received.bytes),
                  let whole = reassembler.frame(ethernet, now: time).flatMap({ reassembler6.frame($0, now: time) }),
                  let udp = UDPMessage(parsing: whole),
                  udp.source == self.server, udp.sourcePort == DNSMessage.port, udp.destination == source, udp.destinationPort == self.port,
                  let message = try? DNSMessage(parsing: udp.payload),
                  message.isResponse, message.id == self.id
            else { return nil }
            return message
        }
        guard let reply else {
            throw FabricClientError(.timeout, "timeout: no DNS reply from \(self.server) within \(self.timeout.secondsDescription) s")
        }
        return reply
    }

    // MARK: Text, as dig prints it

    /// dig's full output: header, flags, then each non-empty section.
    public static func lines(for message: DNSMessage) -> [String] {
        var flags: [String] = []
        for (bit, name) in [
            (DNSMessage.Flag.response, "qr"), (DNSMessage.Flag.authoritative, "aa"), (DNSMessage.Flag.truncated, "tc"),
            (DNSMessage.Flag.recursionDesired, "rd"), (DNSMessage.Flag.recursionAvailable, "ra"),
        ] where message.has(bit) {
            flags.append(name)
        }
        var code = message.responseCode
        if let opt = message.additionals.first(where: { $0.type == DNSRecord.RecordType.opt }) {
            code |= UInt16(opt.ttl >> 24) << 4
        }
        let plain = message.additionals.filter { $0.type != DNSRecord.RecordType.opt }
        var lines = [
            ";; ->>HEADER<<- opcode: \(message.opcode == 0 ? "QUERY" : "OPCODE\(message.opcode)"), status: \(DNSMessage.ResponseCode.name(code)), id: \(message.id)",
            ";; flags: \(flags.joined(separator: " ")); QUERY: \(message.questions.count), ANSWER: \(message.answers.count), AUTHORITY: \(message.authorities.count), ADDITIONAL: \(message.additionals.count)",
        ]
        if message.has(DNSMessage.Flag.truncated) {
            lines.append(";; Truncated: the answer did not fit in one UDP message")
        }
        if !message.questions.isEmpty {
            lines.append(";; QUESTION SECTION:")
            lines += message.questions.map { ";\($0.name)\t\t\(Self.className($0.klass))\t\(DNSRecord.RecordType.name($0.type))" }
        }
        for (title, records) in [("ANSWER", message.answers), ("AUTHORITY", message.authorities), ("ADDITIONAL", plain)] where !records.isEmpty {
            lines.append(";; \(title) SECTION:")
            lines += records.map(Self.line)
        }
        return lines
    }

    /// `+short`: the answers' data only.
    public static func shortLines(for message: DNSMessage) -> [String] {
        message.answers.map { Self.dataText($0.data) }
    }

    static func line(_ record: DNSRecord) -> String {
        "\(record.name)\t\(record.ttl)\t\(Self.className(record.klass))\t\(DNSRecord.RecordType.name(record.type))\t\(Self.dataText(record.data))"
    }

    static func dataText(_ data: DNSRecord.Data) -> String {
        switch data {
        case .address(let address):
            return address.description
        case .address6(let address):
            return address.description
        case .name(let name):
            return name.description
        case .soa(let soa):
            return "\(soa.mname) \(soa.rname) \(soa.serial) \(soa.refresh) \(soa.retry) \(soa.expire) \(soa.minimum)"
        case .raw(let bytes):
            // RFC 3597's generic form.
            return "\\# \(bytes.count)" + (bytes.isEmpty ? "" : " " + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        }
    }

    static func className(_ klass: UInt16) -> String {
        klass == DNSRecord.Class.internet ? "IN" : "CLASS\(klass)"
    }
}
