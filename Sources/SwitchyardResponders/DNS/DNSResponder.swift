import SwitchyardPackets

/// The DNS service's decisions, with no I/O: an authoritative-only server (RFC 1035, RFC 2308
/// negative answers, RFC 6891 EDNS) for its zone. No recursion; names outside are REFUSED.
public struct DNSResponder: Sendable {
    public static let endpointName = "svc_dns"
    public static let defaultIP = IPv4Address(10, 0, 0, 5)
    public static let defaultDomain = "switchyard.test"
    /// The UDP size this server advertises and the most it sends (the DNS flag day's 1232).
    public static let advertisedUDPSize = 1232
    public static let soaSerial: UInt32 = 1

    public var mac: MACAddress
    public var ip: IPv4Address
    /// Its IPv6 addresses (`ServiceHost.ip6`): queries to them are answered over IPv6.
    public var ip6: [IPv6Address] = []
    public var zone: DNSZone
    public var ttl: UInt32

    public init(mac: MACAddress, ip: IPv4Address = Self.defaultIP, zone: DNSZone, ttl: UInt32 = 60) {
        self.mac = mac
        self.ip = ip
        self.zone = zone
        self.ttl = ttl
    }

    /// The zone every `switchyard-dns` starts with: the project's services by name, A and AAAA.
    /// `dnsIP6` is the DNS service's own unique local address setting.
    public static func defaultZone(domain: DNSName, dnsIP: IPv4Address, dnsIP6: HostSettings.UniqueLocal = .derived) -> DNSZone {
        var zone = DNSZone(domain: domain)
        zone.add(domain.prepending("echo"), EchoResponder.defaultIP)
        zone.add(domain.prepending("ntp"), NTPResponder.defaultIP)
        zone.add(domain.prepending("dhcp"), DHCPServerConfiguration.defaultIP)
        zone.add(domain.prepending("dns"), dnsIP)
        // Each service's default unique local address too (`HostSettings.derivedAddress`).
        for (name, ip) in [("echo", EchoResponder.defaultIP), ("ntp", NTPResponder.defaultIP), ("dhcp", DHCPServerConfiguration.defaultIP)] {
            zone.add(domain.prepending(name), HostSettings.derivedAddress(for: ip))
        }
        switch dnsIP6 {
        case .derived:
            zone.add(domain.prepending("dns"), HostSettings.derivedAddress(for: dnsIP))
        case .address(let address):
            zone.add(domain.prepending("dns"), address)
        case .none:
            break
        }
        return zone
    }

    public enum Answer: Sendable {
        case arpReply(EthernetFrame)
        case reply(EthernetFrame, summary: String)
        /// Sent to our DNS port but not a query to answer: counted, not answered.
        case ignored(reason: String)
    }

    /// What to do about `bytes`; nil when the frame is not for this service at all.
    public func answer(_ bytes: [UInt8]) -> Answer? {
        guard let frame = EthernetFrame(parsing: bytes) else { return nil }
        if let reply = ARPPacket.replyFrame(to: frame, ownerOf: self.ip, mac: self.mac) {
            return .arpReply(reply)
        }
        let payload: ArraySlice<UInt8>
        let reply: ([UInt8]) -> EthernetFrame
        if let udp = UDPFrame.addressed(to: self.mac, ip: self.ip, port: DNSMessage.port, in: frame) {
            payload = udp.udp.payload
            reply = { udp.reply(from: self.mac, payload: $0) }
        } else if let udp = UDPv6Frame.addressed(to: self.mac, addresses: self.ip6, port: DNSMessage.port, in: frame) {
            payload = udp.udp.payload
            reply = { udp.reply(from: self.mac, payload: $0) }
        } else {
            return nil
        }
        switch self.respond(to: payload) {
        case .success(let response):
            let summary = "\(response.question) → \(DNSMessage.ResponseCode.name(response.code)), \(response.answers) answer\(response.answers == 1 ? "" : "s")\(response.truncated ? ", truncated" : "")"
            return .reply(reply(response.bytes), summary: summary)
        case .failure(let ignored):
            return .ignored(reason: ignored.reason)
        }
    }

    public struct Response: Sendable {
        public var bytes: [UInt8]
        public var question: String
        public var code: UInt16
        public var answers: Int
        public var truncated: Bool
    }

    public struct Ignored: Error, Sendable {
        public var reason: String
    }

    /// The reply to one DNS payload, or why there is none.
    public func respond(to payload: ArraySlice<UInt8>) -> Result<Response, Ignored> {
        let query: DNSMessage
        do {
            query = try DNSMessage(parsing: payload)
        } catch {
            // A readable header gets FORMERR (RFC 1035 section 4.1.1); anything less, silence.
            guard let id = error.id, let flags = error.flags, flags & DNSMessage.Flag.response == 0 else {
                return .failure(Ignored(reason: error.reason))
            }
            let reply = DNSMessage(id: id, flags: Self.replyFlags(query: flags, code: DNSMessage.ResponseCode.formatError, authoritative: false))
            return .success(Response(bytes: reply.encoded(), question: "malformed query (\(error.reason))", code: DNSMessage.ResponseCode.formatError, answers: 0, truncated: false))
        }
        guard !query.isResponse else { return .failure(Ignored(reason: "a DNS response, not a query")) }
        var reply = DNSMessage(id: query.id, flags: 0)
        reply.questions = query.questions
        let questionText = query.questions.first.map { "\(DNSRecord.RecordType.name($0.type))? \($0.name)" } ?? "(no question)"

        // EDNS (RFC 6891 section 6.1.1): at most one OPT, owned by the root.
        let options = query.additionals.filter { $0.type == DNSRecord.RecordType.opt }
        var limit = DNSMessage.classicUDPLimit
        var code = DNSMessage.ResponseCode.noError
        var authoritative = false
        if options.count > 1 || options.first.map({ $0.name != .root }) == true {
            code = DNSMessage.ResponseCode.formatError
        } else if let opt = options.first {
            limit = max(DNSMessage.classicUDPLimit, min(Int(opt.klass), Self.advertisedUDPSize))
            if (opt.ttl >> 16) & 0xFF != 0 {
                code = DNSMessage.ResponseCode.badVersion
            }
        }
        if code == DNSMessage.ResponseCode.noError {
            if query.opcode != 0 {
                code = DNSMessage.ResponseCode.notImplemented
            } else if query.questions.count != 1 {
                code = DNSMessage.ResponseCode.formatError
            } else if Self.zoneTransferTypes.contains(query.questions[0].type) {
                // Zone transfers are TCP's (RFC 5936 section 4.2) and this server does none.
                code = DNSMessage.ResponseCode.notImplemented
            } else {
                (code, authoritative) = self.resolve(query.questions[0], into: &reply)
            }
        }
        if !options.isEmpty {
            // The extended RCODE's upper 8 bits live in the OPT TTL (BADVERS is 16: 1 there, 0 in the header).
            let extended = UInt32(code >> 4) << 24
            reply.additionals.append(DNSRecord(name: .root, type: DNSRecord.RecordType.opt, klass: UInt16(Self.advertisedUDPSize), ttl: extended, data: .raw([])))
        }
        reply.flags = Self.replyFlags(query: query.flags, code: code & 0xF, authoritative: authoritative)
        let bytes = reply.encoded(limit: limit)
        let truncated = bytes.count >= 4 && bytes[2] & 0x02 != 0
        let answerCount = bytes.count >= 8 ? Int(bytes[6]) << 8 | Int(bytes[7]) : 0
        return .success(Response(bytes: bytes, question: questionText, code: code, answers: answerCount, truncated: truncated))
    }

    /// IXFR (251) and AXFR (252).
    static let zoneTransferTypes: Set<UInt16> = [251, 252]

    /// QR set, the query's opcode and RD copied, RA clear (no recursion here).
    static func replyFlags(query: UInt16, code: UInt16, authoritative: Bool) -> UInt16 {
        var flags = DNSMessage.Flag.response | (query & 0x7800) | (query & DNSMessage.Flag.recursionDesired) | code
        if authoritative {
            flags |= DNSMessage.Flag.authoritative
        }
        return flags
    }

    /// Fills the answer and authority sections for one question; returns the RCODE and whether
    /// the answer is authoritative.
    func resolve(_ question: DNSQuestion, into reply: inout DNSMessage) -> (UInt16, Bool) {
        guard question.klass == DNSRecord.Class.internet || question.klass == 255 else {
            return (DNSMessage.ResponseCode.refused, false)
        }
        let name = question.name
        let type = question.type
        let wantsAll = type == DNSRecord.RecordType.any
        if name.isSubdomain(of: self.zone.domain) {
            let apex = self.zone.domain
            let isApex = name.labels.count == apex.labels.count
            if isApex, type == DNSRecord.RecordType.soa || wantsAll {
                reply.answers.append(self.soa(owner: name))
            }
            if isApex, type == DNSRecord.RecordType.ns || wantsAll {
                reply.answers.append(DNSRecord(name: name, type: DNSRecord.RecordType.ns, ttl: self.ttl, data: .name(self.nameServer)))
            }
            if self.zone.contains(name) {
                if type == DNSRecord.RecordType.a || wantsAll {
                    let addresses = self.zone.addresses(of: name) ?? []
                    reply.answers += addresses.map { DNSRecord(name: name, type: DNSRecord.RecordType.a, ttl: self.ttl, data: .address($0)) }
                }
                if type == DNSRecord.RecordType.aaaa || wantsAll {
                    let addresses = self.zone.addresses6(of: name) ?? []
                    reply.answers += addresses.map { DNSRecord(name: name, type: DNSRecord.RecordType.aaaa, ttl: self.ttl, data: .address6($0)) }
                }
            } else if !isApex {
                reply.authorities.append(self.soa(owner: apex))
                return (DNSMessage.ResponseCode.nameError, true)
            }
            if reply.answers.isEmpty {
                reply.authorities.append(self.soa(owner: apex))
            }
            return (DNSMessage.ResponseCode.noError, true)
        }
        if let address = name.reverseAddress, let reverseZone = self.zone.reverseZone(of: address) {
            guard let names = self.zone.names(of: address) else {
                reply.authorities.append(self.soa(owner: reverseZone))
                return (DNSMessage.ResponseCode.nameError, true)
            }
            if type == DNSRecord.RecordType.ptr || wantsAll {
                reply.answers += names.map { DNSRecord(name: name, type: DNSRecord.RecordType.ptr, ttl: self.ttl, data: .name($0)) }
            } else {
                reply.authorities.append(self.soa(owner: reverseZone))
            }
            return (DNSMessage.ResponseCode.noError, true)
        }
        return (DNSMessage.ResponseCode.refused, false)
    }

    /// `dns.<domain>`: the service's own name, which the default zone holds.
    var nameServer: DNSName { self.zone.domain.prepending("dns") }

    func soa(owner: DNSName) -> DNSRecord {
        let soa = DNSRecord.SOA(
            mname: self.nameServer, rname: self.zone.domain.prepending("hostmaster"),
            serial: Self.soaSerial, refresh: 3600, retry: 600, expire: 86400, minimum: self.ttl
        )
        return DNSRecord(name: owner, type: DNSRecord.RecordType.soa, ttl: self.ttl, data: .soa(soa))
    }
}
