import SwitchyardPackets
import SwitchyardResponders
import SwitchyardServices
import Testing

/// The DNS service's answers (RFC 1035, RFC 2308, RFC 6891), fed queries as payloads and frames.
@Suite struct DNSResponderTests {
    static let serverMAC = MACAddress("02:53:59:00:00:05")!
    static let domain = DNSName("switchyard.test")!

    let responder: DNSResponder = {
        var zone = DNSResponder.defaultZone(domain: Self.domain, dnsIP: DNSResponder.defaultIP)
        for index in 1...40 {
            zone.add(Self.domain.prepending("big"), IPv4Address(10, 0, 1, UInt8(index)))
        }
        return DNSResponder(mac: Self.serverMAC, zone: zone, ttl: 60)
    }()

    func ask(_ name: String, _ type: UInt16 = DNSRecord.RecordType.a, id: UInt16 = 7, flags: UInt16 = DNSMessage.Flag.recursionDesired, edns: UInt16? = nil, ednsVersion: UInt32 = 0) throws -> DNSMessage {
        var query = DNSMessage(id: id, flags: flags)
        query.questions = [DNSQuestion(name: DNSName(name)!, type: type)]
        if let edns {
            query.additionals = [DNSRecord(name: .root, type: DNSRecord.RecordType.opt, klass: edns, ttl: ednsVersion << 16, data: .raw([]))]
        }
        return try self.send(query.encoded())
    }

    func send(_ payload: [UInt8]) throws -> DNSMessage {
        guard case .success(let response) = self.responder.respond(to: payload[...]) else {
            throw TestFailure("no response to \(payload)")
        }
        return try DNSMessage(parsing: response.bytes[...])
    }

    @Test func answersARecordsAuthoritativelyInTheQuestionsCase() throws {
        let reply = try self.ask("Echo.SwitchYard.test")
        #expect(reply.id == 7 && reply.isResponse && reply.has(DNSMessage.Flag.authoritative))
        #expect(reply.has(DNSMessage.Flag.recursionDesired) && !reply.has(DNSMessage.Flag.recursionAvailable), "RD copied, RA clear: no recursion")
        #expect(reply.responseCode == DNSMessage.ResponseCode.noError)
        #expect(reply.answers.map(\.data) == [.address(IPv4Address(10, 0, 0, 2))])
        #expect(reply.answers.first?.name.description == "Echo.SwitchYard.test." && reply.answers.first?.ttl == 60)
        for (name, address) in [("ntp", IPv4Address(10, 0, 0, 3)), ("dhcp", IPv4Address(10, 0, 0, 4)), ("dns", IPv4Address(10, 0, 0, 5))] {
            #expect(try self.ask("\(name).switchyard.test").answers.map(\.data) == [.address(address)])
        }
    }

    @Test func reverseLookupsAnswerPTR() throws {
        let reply = try self.ask("2.0.0.10.in-addr.arpa", DNSRecord.RecordType.ptr)
        #expect(reply.answers.map(\.data) == [.name(DNSName("echo.switchyard.test")!)] && reply.has(DNSMessage.Flag.authoritative))
        let unknownHere = try self.ask("99.0.0.10.in-addr.arpa", DNSRecord.RecordType.ptr)
        #expect(unknownHere.responseCode == DNSMessage.ResponseCode.nameError, "an unknown address in a /24 we serve")
        #expect(unknownHere.authorities.first?.name == DNSName("0.0.10.in-addr.arpa")!)
        #expect(try self.ask("1.1.168.192.in-addr.arpa", DNSRecord.RecordType.ptr).responseCode == DNSMessage.ResponseCode.refused)
    }

    @Test func negativeAnswersCarryTheSOA() throws {
        let missing = try self.ask("nope.switchyard.test")
        #expect(missing.responseCode == DNSMessage.ResponseCode.nameError && missing.answers.isEmpty)
        #expect(missing.authorities.map(\.type) == [DNSRecord.RecordType.soa], "RFC 2308: the SOA for negative caching")
        let noTXT = try self.ask("echo.switchyard.test", DNSRecord.RecordType.txt)
        #expect(noTXT.responseCode == DNSMessage.ResponseCode.noError && noTXT.answers.isEmpty && noTXT.authorities.count == 1)
        let outside = try self.ask("example.com")
        #expect(outside.responseCode == DNSMessage.ResponseCode.refused && !outside.has(DNSMessage.Flag.authoritative))
    }

    @Test func theApexHasSOAAndNS() throws {
        let soa = try self.ask("switchyard.test", DNSRecord.RecordType.soa)
        guard case .soa(let record) = soa.answers.first?.data else {
            Issue.record("no SOA: \(soa)")
            return
        }
        #expect(record.mname == DNSName("dns.switchyard.test")! && record.rname == DNSName("hostmaster.switchyard.test")! && record.serial == 1)
        #expect(try self.ask("switchyard.test", DNSRecord.RecordType.ns).answers.map(\.data) == [.name(DNSName("dns.switchyard.test")!)])
        #expect(try self.ask("switchyard.test", DNSRecord.RecordType.any).answers.count == 2)
    }

    @Test func bigAnswersAreTruncatedToTheUDPLimit() throws {
        let classic = try self.send(self.rawQuery("big.switchyard.test"))
        #expect(classic.has(DNSMessage.Flag.truncated))
        #expect(classic.answers.count < 40 && !classic.answers.isEmpty)
        #expect(classic.encoded().count <= 512)
        let edns = try self.ask("big.switchyard.test", edns: 4096)
        #expect(!edns.has(DNSMessage.Flag.truncated) && edns.answers.count == 40, "with EDNS, up to 1232 bytes")
        #expect(edns.additionals.map(\.type) == [DNSRecord.RecordType.opt] && edns.additionals.first?.klass == 1232)
    }

    func rawQuery(_ name: String) -> [UInt8] {
        var query = DNSMessage(id: 9, flags: 0)
        query.questions = [DNSQuestion(name: DNSName(name)!, type: DNSRecord.RecordType.a)]
        return query.encoded()
    }

    /// RFC 1035 4.1.4: a pointer names a prior occurrence; one to its own offset or forward is
    /// malformed (FORMERR), however valid the name it points to.
    @Test(arguments: [[UInt8]([0xC0, 0x14]), [0xC0, 0x0C], [0xC0, 0xFF]])
    func aPointerThatDoesNotPointBackIsAFormatError(pointer: [UInt8]) throws {
        let header: [UInt8] = [0x00, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
        let query = header + pointer + [0, 1, 0, 1] + [0, 0] + [3] + Array("abc".utf8) + [0]
        let reply = try self.send(query)
        #expect(reply.id == 0x11 && reply.responseCode == DNSMessage.ResponseCode.formatError)
        #expect(reply.answers.isEmpty)
    }

    /// Zone transfers are TCP's: over UDP, NOTIMP, as an authoritative server answers; ANY is
    /// still answered.
    @Test(arguments: [UInt16(251), 252])
    func zoneTransfersOverUDPAreNotImplemented(type: UInt16) throws {
        let reply = try self.ask("switchyard.test", type)
        #expect(reply.responseCode == DNSMessage.ResponseCode.notImplemented && reply.answers.isEmpty)
        #expect(try self.ask("switchyard.test", DNSRecord.RecordType.any).responseCode == DNSMessage.ResponseCode.noError)
    }

    @Test func ednsVersionsAndMalformedQueries() throws {
        let badVersion = try self.ask("echo.switchyard.test", edns: 1232, ednsVersion: 1)
        #expect(badVersion.responseCode == 0 && badVersion.additionals.first?.ttl == 1 << 24, "BADVERS (16): 1 in the OPT's extended RCODE")
        #expect(badVersion.answers.isEmpty)

        // A header and then a question that runs out: FORMERR to that id.
        let cut = Array(self.rawQuery("echo.switchyard.test").prefix(20))
        let formerr = try self.send(cut)
        #expect(formerr.id == 9 && formerr.responseCode == DNSMessage.ResponseCode.formatError && formerr.questions.isEmpty)

        var two = DNSMessage(id: 3, flags: 0)
        two.questions = [DNSQuestion(name: DNSName("a.switchyard.test")!, type: 1), DNSQuestion(name: DNSName("b.switchyard.test")!, type: 1)]
        #expect(try self.send(two.encoded()).responseCode == DNSMessage.ResponseCode.formatError)

        let notify = DNSMessage(id: 4, flags: 4 << 11)
        #expect(try self.send(notify.encoded()).responseCode == DNSMessage.ResponseCode.notImplemented)

        guard case .failure = self.responder.respond(to: [1, 2, 3][...]) else {
            Issue.record("fewer than 12 bytes: no answer")
            return
        }
        guard case .failure = self.responder.respond(to: DNSMessage(id: 5, flags: DNSMessage.Flag.response).encoded()[...]) else {
            Issue.record("a response is not answered")
            return
        }
    }

    @Test func framesToTheServiceAndARP() throws {
        let client = (mac: MACAddress("02:53:59:00:00:0b")!, ip: IPv4Address(10, 0, 0, 11), port: UInt16(40053))
        let query = UDPFrame.build(from: client, to: (Self.serverMAC, DNSResponder.defaultIP, 53), payload: self.rawQuery("echo.switchyard.test"))
        guard case .reply(let frame, let summary) = self.responder.answer(query.bytes) else {
            Issue.record("a query frame is answered")
            return
        }
        let udp = try #require(UDPFrame(parsing: frame))
        #expect(udp.checksumsValid && udp.ip.destination == client.ip && udp.udp.destinationPort == client.port && udp.udp.sourcePort == 53)
        #expect(summary == "A? echo.switchyard.test. → NOERROR, 1 answer")
        let arp = ARPPacket.requestFrame(from: client.mac, ip: client.ip, asking: DNSResponder.defaultIP)
        guard case .arpReply = self.responder.answer(arp.bytes) else {
            Issue.record("ARP for the service is answered")
            return
        }
        let toOthers = UDPFrame.build(from: client, to: (Self.serverMAC, IPv4Address(10, 0, 0, 6), 53), payload: self.rawQuery("echo.switchyard.test"))
        #expect(self.responder.answer(toOthers.bytes) == nil, "a query for another address is not ours")
    }

    @Test func recordsAndHostsFiles() throws {
        var zone = DNSZone(domain: Self.domain)
        try zone.add(record: "web=10.0.0.80")
        try zone.add(record: "db.switchyard.test=10.0.0.81")
        try zone.add(hostsFile: "# lab\n10.0.0.90 printer printer-alias # comment\n::1 localhost\n\n", path: "hosts")
        #expect(zone.addresses(of: DNSName("WEB.switchyard.test")!) == [IPv4Address(10, 0, 0, 80)])
        #expect(zone.addresses(of: DNSName("db.switchyard.test")!) == [IPv4Address(10, 0, 0, 81)])
        #expect(zone.names(of: IPv4Address(10, 0, 0, 90))?.map(\.description) == ["printer.switchyard.test.", "printer-alias.switchyard.test."])
        #expect(throws: DNSZone.RecordError.self) { try zone.add(record: "web") }
        #expect(throws: DNSZone.RecordError.self) { try zone.add(record: "example.com.=10.0.0.1") }
        do {
            try zone.add(hostsFile: "10.0.0.1 ok\nnot-an-address name\n", path: "hosts")
            Issue.record("a bad hosts line is an error")
        } catch {
            #expect(error.description == "hosts:2: expected 'IP NAME [ALIAS...]'")
        }
        #expect(zone.addresses6(of: DNSName("localhost.switchyard.test")!) == [IPv6Address("::1")!], "IPv6 hosts lines are AAAA records")
        #expect(throws: DNSZone.RecordError.self) { try zone.add(hostsFile: "fe80::1%eth0 router\n", path: "hosts") }
    }

    @Test func aaaaRecordsAnswerBesideTheARecords() throws {
        var zone = DNSResponder.defaultZone(domain: Self.domain, dnsIP: DNSResponder.defaultIP)
        try zone.add(record: "web=fd53:5900::80")
        try zone.add(record: "web=10.0.0.80")
        #expect(throws: DNSZone.RecordError.self) { try zone.add(record: "web=fd53::5900::80") }
        let responder = DNSResponder(mac: Self.serverMAC, zone: zone, ttl: 60)
        func ask(_ name: String, _ type: UInt16) throws -> DNSMessage {
            var query = DNSMessage(id: 9, flags: 0)
            query.questions = [DNSQuestion(name: DNSName(name)!, type: type)]
            guard case .success(let response) = responder.respond(to: query.encoded()[...]) else { throw TestFailure("no answer") }
            return try DNSMessage(parsing: response.bytes[...])
        }
        #expect(try ask("web.switchyard.test", DNSRecord.RecordType.aaaa).answers.map(\.data) == [.address6(IPv6Address("fd53:5900::80")!)])
        #expect(try ask("web.switchyard.test", DNSRecord.RecordType.a).answers.map(\.data) == [.address(IPv4Address(10, 0, 0, 80))])
        #expect(try ask("web.switchyard.test", DNSRecord.RecordType.any).answers.map(\.data) == [.address(IPv4Address(10, 0, 0, 80)), .address6(IPv6Address("fd53:5900::80")!)])
        // The services' own unique local addresses are in the default zone; --ip6 none leaves dns out.
        #expect(try ask("echo.switchyard.test", DNSRecord.RecordType.aaaa).answers.map(\.data) == [.address6(IPv6Address("fd53:5900::2")!)])
        let withoutIPv6 = DNSResponder.defaultZone(domain: Self.domain, dnsIP: DNSResponder.defaultIP, dnsIP6: .none)
        #expect(withoutIPv6.addresses6(of: DNSName("dns.switchyard.test")!) == nil)
        // An AAAA record goes out as 16 bytes and reads back the same (RFC 3596).
        let encoded = try ask("web.switchyard.test", DNSRecord.RecordType.aaaa)
        #expect(encoded.answers.first?.type == DNSRecord.RecordType.aaaa)
    }

    @Test func queriesOverIPv6AreAnsweredOverIPv6() throws {
        var responder = self.responder
        let service = IPv6Address("fd53:5900::5")!
        responder.ip6 = [IPv6Address.linkLocal(for: Self.serverMAC), service]
        var query = DNSMessage(id: 3, flags: 0)
        query.questions = [DNSQuestion(name: DNSName("dns.switchyard.test")!, type: DNSRecord.RecordType.aaaa)]
        let clientMAC = MACAddress("52:54:00:12:34:56")!
        let client = IPv6Address("fd53:5900::32")!
        let request = UDPv6Frame.build(from: (clientMAC, client, 40000), to: (Self.serverMAC, service, 53), payload: query.encoded())
        guard case .reply(let reply, _) = responder.answer(request.bytes) else {
            Issue.record("a query to the service's IPv6 address is answered")
            return
        }
        let udp = try #require(UDPv6Frame(parsing: reply))
        #expect(udp.checksumValid && udp.ip.source == service && udp.ip.destination == client && udp.udp.destinationPort == 40000)
        #expect(try DNSMessage(parsing: udp.udp.payload).answers.map(\.data) == [.address6(service)])
        let elsewhere = UDPv6Frame.build(from: (clientMAC, client, 40000), to: (Self.serverMAC, IPv6Address("fd53:5900::6")!, 53), payload: query.encoded())
        #expect(responder.answer(elsewhere.bytes) == nil, "another address is not ours")
    }
}
