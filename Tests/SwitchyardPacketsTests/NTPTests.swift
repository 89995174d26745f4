import SwitchyardPackets
import SwitchyardTestKit
import Testing

/// Known instants (seconds since the Unix epoch from Python's calendar.timegm) and their NTP
/// timestamps: era 0 runs from 1900 to 2036-02-07T06:28:16Z, where era 1 starts at 0 again.
@Test(arguments: [
    (Int64(0), UInt64(0x83AA_7E80) << 32),  // 1970-01-01T00:00:00Z
    (Int64(1_767_225_600), UInt64(0xED00_3780) << 32),  // 2026-01-01T00:00:00Z
    (Int64(2_085_978_495), UInt64(0xFFFF_FFFF) << 32),  // the last second of era 0
    (Int64(2_085_978_496), UInt64(0)),  // 2036-02-07T06:28:16Z: era 1 begins
    (Int64(2_208_988_800), UInt64(0x0754_FD00) << 32),  // 2040-01-01T00:00:00Z (era 1)
])
func ntpTimestampsOfKnownInstants(unixSeconds: Int64, raw: UInt64) {
    let timestamp = NTPTimestamp(unixNanoseconds: unixSeconds * 1_000_000_000)
    #expect(timestamp.rawValue == raw)
    // Back to Unix time, with the era taken from a pivot within a few years of the instant.
    #expect(timestamp.unixNanoseconds(near: (unixSeconds + 86_400 * 365 * 3) * 1_000_000_000) == unixSeconds * 1_000_000_000)
    #expect(timestamp.unixNanoseconds(near: (unixSeconds - 86_400 * 365 * 3) * 1_000_000_000) == unixSeconds * 1_000_000_000)
}

@Test func ntpFractionsAre32BitBinaryFractions() {
    let half = NTPTimestamp(unixNanoseconds: 500_000_000)
    #expect(half.fraction == 0x8000_0000)
    let micro = NTPTimestamp(unixNanoseconds: 1_767_225_600_000_001_000)
    #expect(micro.unixNanoseconds(near: 1_767_225_600_000_000_000) == 1_767_225_600_000_001_000)
}

@Test func ntpPacketRoundTripsAndKeepsFieldPositions() {
    var packet = NTPPacket(mode: .server)
    packet.stratum = 1
    packet.poll = 6
    packet.precision = -20
    packet.referenceID = Array("LOCL".utf8)
    packet.originateTimestamp = NTPTimestamp(rawValue: 0x0102_0304_0506_0708)
    packet.transmitTimestamp = NTPTimestamp(rawValue: 0xED00_3780_0000_0000)
    let bytes = packet.bytes
    #expect(bytes.count == 48)
    #expect(bytes[0] == 0x24, "LI 0, VN 4, mode 4")
    #expect(Array(bytes[12..<16]) == Array("LOCL".utf8))
    #expect(Array(bytes[24..<32]) == [1, 2, 3, 4, 5, 6, 7, 8], "originate at offset 24 (RFC 5905 figure 8)")
    #expect(NTPPacket(parsing: bytes[...]) == packet)
    #expect(NTPPacket(parsing: bytes.dropLast()) == nil)
    #expect(packet.referenceIDText == "LOCL")
}

@Test func frameSummariesDescribeNTP() {
    var request = NTPPacket(mode: .client)
    request.transmitTimestamp = NTPTimestamp(unixNanoseconds: 0)
    let frame = UDPFrame.build(
        from: (MACAddress("02:53:59:00:00:02")!, IPv4Address(10, 0, 0, 10), 40000),
        to: (MACAddress("02:53:59:00:00:01")!, IPv4Address(10, 0, 0, 3), 123),
        payload: request.bytes
    )
    #expect(FrameSummary.describe(frame.bytes) == "02:53:59:00:00:02 > 02:53:59:00:00:01, IPv4, length 90: 10.0.0.10.40000 > 10.0.0.3.123: NTPv4, Client, length 48")
}
