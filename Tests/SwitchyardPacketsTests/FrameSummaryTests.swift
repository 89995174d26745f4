import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// Frames built by scapy 2.8.0 (PyPI) for the sniffer's summary lines: each decoder is checked
/// against an independent encoder.
enum SummaryVectors {
    static let vlan = ScapyVectors.hex("0253590000020253590000018100602a08004500001e00000000401166cd0a0000010a00000230391b5f000a37d66869")
    static let stp = ScapyVectors.hex("0180c200000002535900000100264242030000000000000000000000000000000000000000000000000000000100140002000f00")
    static let neighborSolicitation = ScapyVectors.hex("3333ff00000202535900000186dd6000000000183afffe800000000000000000000000000001ff0200000000000000000001ff00000287007da100000000fe800000000000000000000000000002")
    static let tcpSyn = ScapyVectors.hex("02535900000202535900000108004500002800000000400666ce0a0000010a0000029c400050000003e8000000005002faf000770000")
    static let icmpEcho = ScapyVectors.hex("02535900000202535900000108004500002000000000400166db0a0000010a000002080033310007000161626364")
    static let dhcpDiscover = ScapyVectors.hex("ffffffffffff52540012345608004500011000000000401179de00000000ffffffff0044004300fc2b54010106001a2b3c4d00000000000000000000000000000000000000005254001234560000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000063825363350101ff")
    static let dnsQuery = ScapyVectors.hex("02535900000202535900000108004500004200000000401166a60a0000010a00000514e90035002ee25d123401000001000000000000046563686f0a7377697463687961726404746573740000010001")
    static let dnsAnswer = ScapyVectors.hex("02535900000102535900000208004500006600000000401166820a0000050a000001003514e9005272f6123485000001000100000000046563686f0a7377697463687961726404746573740000010001046563686f0a73776974636879617264047465737400000100010000003c00040a000002")
    static let dnsNXDomain = ScapyVectors.hex("02535900000102535900000208004500004200000000401166a60a0000050a000001003514e9002e6e76000785030001000000000000046e6f70650a7377697463687961726404746573740000010001")
}

@Test(arguments: [
    (SummaryVectors.vlan, "02:53:59:00:00:01 > 02:53:59:00:00:02, vlan 42, p 3, IPv4, length 48: 10.0.0.1.12345 > 10.0.0.2.7007: UDP, length 2"),
    (SummaryVectors.stp, "02:53:59:00:00:01 > 01:80:c2:00:00:00, 802.3, length 52: LLC, dsap 0x42, ssap 0x42, ctrl 0x03 (STP), 802.3 length 38"),
    (SummaryVectors.neighborSolicitation, "02:53:59:00:00:01 > 33:33:ff:00:00:02, IPv6, length 78: fe80::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has fe80::2, length 24"),
    (SummaryVectors.tcpSyn, "02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 54: 10.0.0.1.40000 > 10.0.0.2.80: Flags [S], seq 1000, win 64240, length 0"),
    (SummaryVectors.icmpEcho, "02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 46: 10.0.0.1 > 10.0.0.2: ICMP echo request, id 7, seq 1, length 12"),
    (SummaryVectors.dhcpDiscover, "52:54:00:12:34:56 > ff:ff:ff:ff:ff:ff, IPv4, length 286: 0.0.0.0.68 > 255.255.255.255.67: BOOTP/DHCP, Request from 52:54:00:12:34:56, DHCP Discover, xid 0x1a2b3c4d, length 244"),
    (SummaryVectors.dnsQuery, "02:53:59:00:00:01 > 02:53:59:00:00:02, IPv4, length 80: 10.0.0.1.5353 > 10.0.0.5.53: 4660+ A? echo.switchyard.test. (38)"),
    (SummaryVectors.dnsAnswer, "02:53:59:00:00:02 > 02:53:59:00:00:01, IPv4, length 116: 10.0.0.5.53 > 10.0.0.1.5353: 4660*- 1/0/0 A 10.0.0.2 (74)"),
    (SummaryVectors.dnsNXDomain, "02:53:59:00:00:02 > 02:53:59:00:00:01, IPv4, length 80: 10.0.0.5.53 > 10.0.0.1.5353: 7*- NXDomain 0/0/0 q: A? nope.switchyard.test. (38)"),
])
func summaryLinesDecodeEveryCommonProtocol(frame: [UInt8], line: String) {
    #expect(FrameSummary.describe(frame) == line)
}

/// Every prefix of every vector (a frame cut anywhere) still gives a line: no decoder traps.
@Test func truncatedFramesNeverTrap() {
    let all = [SummaryVectors.vlan, SummaryVectors.stp, SummaryVectors.neighborSolicitation, SummaryVectors.tcpSyn,
               SummaryVectors.icmpEcho, SummaryVectors.dhcpDiscover, SummaryVectors.dnsQuery, SummaryVectors.dnsAnswer]
    for frame in all {
        for length in 0...frame.count {
            #expect(!FrameSummary.describe(Array(frame.prefix(length))).isEmpty)
        }
    }
}

/// A DNS name whose compression pointer points at itself is refused, not followed forever.
@Test func dnsCompressionLoopsAreCut() {
    var frame = SummaryVectors.dnsQuery
    // The question name starts at 14 + 20 + 8 + 12 = 54: make it a pointer to offset 12 (itself).
    frame[54] = 0xC0
    frame[55] = 12
    #expect(FrameSummary.describe(frame).contains("(no question)"))
}

@Test(arguments: [
    (ScapyVectors.hex("00000000000000000000000000000001"), "::1"),
    (ScapyVectors.hex("fe800000000000000000000000000002"), "fe80::2"),
    (ScapyVectors.hex("20010db8000000010000000000000001"), "2001:db8:0:1::1"),
    (ScapyVectors.hex("20010db8000100020003000400050006"), "2001:db8:1:2:3:4:5:6"),
])
func ipv6TextFollowsRFC5952(bytes: [UInt8], text: String) {
    #expect(FrameSummary.describe(frameWithIPv6Source(bytes)).contains(" \(text) > "))
}

private func frameWithIPv6Source(_ source: [UInt8]) -> [UInt8] {
    var frame = SummaryVectors.neighborSolicitation
    frame.replaceSubrange(22..<38, with: source)
    return frame
}
