import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// DHCP and DNS messages built by scapy 2.8.0 (PyPI), so our parsers and builders are checked
/// against an independent implementation:
/// `raw(BOOTP(op=1, xid=0x12345678, chaddr=mac)/DHCP(options=[("message-type","discover"), …, "end"]))`,
/// `dns_compress(DNS(id=0x1234, qr=1, aa=1, rd=1, qd=DNSQR(…), an=DNSRR(…)))` and so on.
enum ScapyDHCPDNSVectors {
    /// DISCOVER from 52:54:00:12:34:56, xid 0x12345678, options 53=1, 55=[1,3,6,15], 12="vm1".
    static let discover = hexBytes(
        "01010600123456780000000000000000000000000000000000000000" + "52540012345600000000000000000000"
            + String(repeating: "00", count: 192) + "6382536335010137040103060f0c03766d31ff"
    )
    /// OFFER of 10.0.0.100 from 10.0.0.4, file "boot.ipxe", lease 3600, mask, router, two DNS servers, domain.
    static let offer = hexBytes(
        "020106001234567800000000000000000a0000640a00000400000000" + "52540012345600000000000000000000"
            + String(repeating: "00", count: 64) + "626f6f742e69707865" + String(repeating: "00", count: 119)
            + "6382536335010236040a000004330400000e100104ffffff0003040a00000106080a0000050a0000060f0f737769746368796172642e74657374ff"
    )
    static let query = hexBytes("123401000001000000000000046563686f0a7377697463687961726404746573740000010001")
    /// The answer to `query`, compressed by scapy's dns_compress.
    static let answer = hexBytes("123485000001000100000000046563686f0a7377697463687961726404746573740000010001c00c000100010000003c00040a000002")
    /// Uncompressed PTR answer for 2.0.0.10.in-addr.arpa.
    static let ptr = hexBytes(
        "00078500000100010000000001320130013002313007696e2d61646472046172706100000c000101320130013002313007696e2d61646472046172706100000c00010000003c0016046563686f0a73776974636879617264047465737400"
    )
    /// NXDOMAIN with the zone's SOA in the authority section, uncompressed.
    static let nxdomain = hexBytes(
        "000985030001000000010000046e6f70650a73776974636879617264047465737400000100010a73776974636879617264047465737400000600010000003c004503646e730a737769746368796172640474657374000a686f73746d61737465720a737769746368796172640474657374000000000100000e1000000258000151800000003c"
    )
}

@Suite struct DHCPCodecTests {
    let mac = MACAddress("52:54:00:12:34:56")!

    @Test func parsesScapysDiscover() throws {
        let message = try #require(DHCPMessage(parsing: ScapyDHCPDNSVectors.discover[...]))
        #expect(message.op == 1 && message.xid == 0x1234_5678 && message.clientMAC == self.mac)
        #expect(message.messageType == .discover)
        #expect(message.option(DHCPOption.Code.parameterRequestList) == [1, 3, 6, 15])
        #expect(message.textOption(DHCPOption.Code.hostName) == "vm1")
    }

    @Test func buildsWhatScapyBuildsPaddedToBOOTPsMinimum() {
        var message = DHCPMessage(op: .request, xid: 0x1234_5678)
        message.chaddr = self.mac.bytes
        message.options = [
            DHCPOption(code: DHCPOption.Code.messageType, data: [1]),
            DHCPOption(code: DHCPOption.Code.parameterRequestList, data: [1, 3, 6, 15]),
            .text(DHCPOption.Code.hostName, "vm1"),
        ]
        let bytes = message.bytes
        #expect(bytes.count == DHCPMessage.minimumEncodedLength)
        #expect(Array(bytes.prefix(ScapyDHCPDNSVectors.discover.count)) == ScapyDHCPDNSVectors.discover)
        #expect(bytes.dropFirst(ScapyDHCPDNSVectors.discover.count).allSatisfy { $0 == 0 })
    }

    @Test func parsesScapysOffer() throws {
        let offer = try #require(DHCPMessage(parsing: ScapyDHCPDNSVectors.offer[...]))
        #expect(offer.messageType == .offer)
        #expect(offer.yiaddr == IPv4Address(10, 0, 0, 100) && offer.siaddr == IPv4Address(10, 0, 0, 4))
        #expect(DHCPMessage.text(ofField: offer.file) == "boot.ipxe")
        #expect(offer.addressOption(DHCPOption.Code.serverIdentifier) == IPv4Address(10, 0, 0, 4))
        #expect(offer.uint32Option(DHCPOption.Code.leaseTime) == 3600)
        #expect(offer.addressOption(DHCPOption.Code.subnetMask) == IPv4Address(255, 255, 255, 0))
        #expect(offer.addressListOption(DHCPOption.Code.domainNameServer) == [IPv4Address(10, 0, 0, 5), IPv4Address(10, 0, 0, 6)])
        #expect(offer.textOption(DHCPOption.Code.domainName) == "switchyard.test")
        // Re-encoded, the same bytes (plus padding to 300).
        #expect(Array(offer.bytes.prefix(ScapyDHCPDNSVectors.offer.count)) == ScapyDHCPDNSVectors.offer)
    }

    @Test func longOptionsAreSplitAndJoined() throws {
        var message = DHCPMessage(op: .reply, xid: 1)
        message.options = [DHCPOption(code: 43, data: Array(repeating: 7, count: 300))]
        let parsed = try #require(DHCPMessage(parsing: message.bytes[...]))
        #expect(parsed.options.map(\.data.count) == [255, 45], "RFC 3396: split into consecutive instances")
        #expect(parsed.option(43) == Array(repeating: 7, count: 300))
    }

    @Test(arguments: [
        ("too short", Array(ScapyDHCPDNSVectors.discover.prefix(239))),
        ("wrong cookie", Array(ScapyDHCPDNSVectors.discover.prefix(236)) + [0x63, 0x82, 0x53, 0x00, 0xFF]),
        ("option past the end", Array(ScapyDHCPDNSVectors.discover.prefix(240)) + [53, 9, 1]),
    ])
    func rejectsMalformedMessages(_ name: String, _ bytes: [UInt8]) {
        #expect(DHCPMessage(parsing: bytes[...]) == nil, "\(name)")
    }

    @Test func optionsWithoutEndAreReadToTheEnd() throws {
        let bytes = Array(ScapyDHCPDNSVectors.discover.dropLast())
        #expect(try #require(DHCPMessage(parsing: bytes[...])).messageType == .discover)
    }
}

@Suite struct DNSCodecTests {
    @Test func parsesAndBuildsScapysQuery() throws {
        let query = try DNSMessage(parsing: ScapyDHCPDNSVectors.query[...])
        #expect(query.id == 0x1234 && !query.isResponse && query.has(DNSMessage.Flag.recursionDesired))
        #expect(query.questions == [DNSQuestion(name: DNSName("echo.switchyard.test")!, type: DNSRecord.RecordType.a)])
        #expect(query.encoded() == ScapyDHCPDNSVectors.query)
    }

    @Test func compressesAsScapyDoes() throws {
        var answer = DNSMessage(id: 0x1234, flags: 0x8500)
        let name = DNSName("echo.switchyard.test")!
        answer.questions = [DNSQuestion(name: name, type: DNSRecord.RecordType.a)]
        answer.answers = [DNSRecord(name: name, type: DNSRecord.RecordType.a, ttl: 60, data: .address(IPv4Address(10, 0, 0, 2)))]
        #expect(answer.encoded() == ScapyDHCPDNSVectors.answer)
        #expect(try DNSMessage(parsing: ScapyDHCPDNSVectors.answer[...]) == answer)
    }

    @Test func readsScapysPTRAndSOARecords() throws {
        let ptr = try DNSMessage(parsing: ScapyDHCPDNSVectors.ptr[...])
        #expect(ptr.answers.first?.data == .name(DNSName("echo.switchyard.test")!))
        #expect(ptr.questions.first?.name.reverseAddress == IPv4Address(10, 0, 0, 2))
        let nxdomain = try DNSMessage(parsing: ScapyDHCPDNSVectors.nxdomain[...])
        #expect(nxdomain.responseCode == DNSMessage.ResponseCode.nameError)
        guard case .soa(let soa) = nxdomain.authorities.first?.data else {
            Issue.record("no SOA in \(nxdomain)")
            return
        }
        #expect(soa.mname == DNSName("dns.switchyard.test")! && soa.serial == 1 && soa.minimum == 60)
        // Our encoding of the same message is shorter (compressed) and reads back equal.
        let ours = nxdomain.encoded()
        #expect(ours.count < ScapyDHCPDNSVectors.nxdomain.count)
        #expect(try DNSMessage(parsing: ours[...]) == nxdomain)
    }

    @Test func pointerLoopsAndBadPointersAreErrorsNotHangs() {
        // Header with one question whose name is a pointer to itself.
        let loop: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage(parsing: loop[...]) }
        // Two names pointing at each other.
        let pair: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0x61, 0xC0, 15, 0xC0, 12, 0, 1, 0, 1]
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage(parsing: pair[...]) }
        let pastEnd: [UInt8] = [0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xC0, 200, 0, 1, 0, 1]
        #expect(throws: DNSMessage.ParseError.self) { try DNSMessage(parsing: pastEnd[...]) }
        do {
            _ = try DNSMessage(parsing: loop[...])
        } catch {
            #expect(error.id == 1, "the header was readable, so a server can answer FORMERR to it")
        }
    }

    @Test func truncationDropsRecordsAndSetsTC() throws {
        var message = DNSMessage(id: 1, flags: 0x8400)
        let name = DNSName("big.switchyard.test")!
        message.questions = [DNSQuestion(name: name, type: DNSRecord.RecordType.a)]
        message.answers = (1...60).map { DNSRecord(name: name, type: DNSRecord.RecordType.a, ttl: 60, data: .address(IPv4Address(10, 0, 1, UInt8($0)))) }
        let whole = message.encoded()
        #expect(whole.count > 512)
        let cut = message.encoded(limit: 512)
        #expect(cut.count <= 512)
        let parsed = try DNSMessage(parsing: cut[...])
        #expect(parsed.has(DNSMessage.Flag.truncated))
        #expect(parsed.answers == Array(message.answers.prefix(parsed.answers.count)) && !parsed.answers.isEmpty)
    }

    @Test func namesAreCaseInsensitiveButKeepTheirCase() {
        let asked = DNSName("ECHO.Switchyard.TEST")!
        #expect(asked.isSubdomain(of: DNSName("switchyard.test")!))
        #expect(asked.key == DNSName("echo.switchyard.test")!)
        #expect(asked.description == "ECHO.Switchyard.TEST.")
        #expect(DNSName("a..b") == nil && DNSName(String(repeating: "x", count: 64)) == nil)
        #expect(DNSName.reverse(IPv4Address(10, 0, 0, 2)).description == "2.0.0.10.in-addr.arpa.")
        #expect(DNSName("02.0.0.10.in-addr.arpa")!.reverseAddress == nil, "leading zeros are not an address")
    }
}
