import SwitchyardPackets
import Testing

/// Large TCP segments and checksums to fill in, as an offloading kernel hands them over, made
/// into what a wire carries; every checksum checked by summing again.
@Suite struct OffloadResolverTests {
    /// A TCP segment from 10.0.0.61:40000 to 10.0.0.62:5001 (or the IPv6 pair) with `payload`,
    /// checksums left as the kernel leaves them for offload (zero here: they are rewritten).
    static func frame(ipv6: Bool, payload: [UInt8], flags: UInt8 = 0x18, sequence: UInt32 = 1000, identification: UInt16 = 77) -> [UInt8] {
        var bytes: [UInt8] = [0x02, 0, 0, 0, 0, 0x62, 0x02, 0, 0, 0, 0, 0x61] + (ipv6 ? [0x86, 0xDD] : [0x08, 0x00])
        let tcpLength = 20 + 12  // with a timestamps option
        if ipv6 {
            bytes += [0x60, 0, 0, 0]
            bytes += [UInt8(truncatingIfNeeded: (tcpLength + payload.count) >> 8), UInt8(truncatingIfNeeded: tcpLength + payload.count), 6, 64]
            bytes += [0xFD, 0x53, 0x59] + [UInt8](repeating: 0, count: 12) + [0x61]
            bytes += [0xFD, 0x53, 0x59] + [UInt8](repeating: 0, count: 12) + [0x62]
        } else {
            let total = 20 + tcpLength + payload.count
            bytes += [0x45, 0, UInt8(truncatingIfNeeded: total >> 8), UInt8(truncatingIfNeeded: total), UInt8(identification >> 8), UInt8(truncatingIfNeeded: identification), 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 61, 10, 0, 0, 62]
        }
        bytes += [0x9C, 0x40, 0x13, 0x89]
        bytes += withUnsafeBytes(of: sequence.bigEndian, Array.init)
        bytes += [0, 0, 0, 1, UInt8(tcpLength / 4) << 4, flags, 0xFF, 0xFF, 0, 0, 0, 0]
        bytes += [1, 1, 8, 10, 0, 0, 0, 5, 0, 0, 0, 6]
        return bytes + payload
    }

    static func sum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        InternetChecksum.compute(bytes)
    }

    /// The TCP checksum of a segment summed again, pseudo-header included: 0 when right.
    static func tcpCheck(_ segment: [UInt8], ipv6: Bool) -> UInt16 {
        let tcp = ipv6 ? 54 : 34
        var checksum = InternetChecksum()
        if ipv6 {
            checksum.add(segment[22..<54])
        } else {
            checksum.add(segment[26..<34])
        }
        checksum.add(UInt16(6))
        checksum.add(UInt16(segment.count - tcp))
        checksum.add(segment[tcp...])
        return checksum.value
    }

    @Test(arguments: [false, true])
    func aLargeSegmentIsCutIntoSegmentsOfGSOSizeWithRightChecksumsAndSequence(ipv6: Bool) throws {
        let payload = (0..<5000).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let frame = Self.frame(ipv6: ipv6, payload: payload, flags: 0x19)  // ACK, PSH, FIN
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, gsoType: ipv6 ? 4 : 1, headerLength: UInt16(frame.count - payload.count), gsoSize: 1448, checksumStart: ipv6 ? 54 : 34, checksumOffset: 16)
        var resolver = OffloadResolver()
        var segments: [[UInt8]] = []
        let resolved = frame.withUnsafeBytes { resolver.resolve($0, header: header) { segments.append(Array($0)) } }
        #expect(resolved)
        try #require(segments.count == 4, "5000 bytes in 1448s")
        let tcp = ipv6 ? 54 : 34
        var joined: [UInt8] = []
        for (index, segment) in segments.enumerated() {
            let body = Array(segment[(tcp + 32)...])
            joined += body
            #expect(body.count == (index < 3 ? 1448 : 5000 - 3 * 1448))
            #expect(Self.tcpCheck(segment, ipv6: ipv6) == 0, "segment \(index): TCP checksum")
            let sequence = UInt32(segment[tcp + 4]) << 24 | UInt32(segment[tcp + 5]) << 16 | UInt32(segment[tcp + 6]) << 8 | UInt32(segment[tcp + 7])
            #expect(sequence == 1000 + UInt32(index * 1448))
            #expect(segment[tcp + 13] == (index == 3 ? 0x19 : 0x10), "FIN and PSH only on the last")
            if ipv6 {
                #expect(Int(segment[18]) << 8 | Int(segment[19]) == 32 + body.count)
            } else {
                #expect(Self.sum(segment[14..<34]) == 0, "segment \(index): IPv4 header checksum")
                #expect(Int(segment[16]) << 8 | Int(segment[17]) == 20 + 32 + body.count)
                #expect(Int(segment[18]) << 8 | Int(segment[19]) == 77 + index, "identifications count up")
            }
        }
        #expect(joined == payload)
    }

    /// NEEDS_CSUM alone: the field holds the pseudo-header's sum (Linux's CHECKSUM_PARTIAL);
    /// the checksum of everything from `checksumStart` goes into it.
    @Test func aChecksumToFillInIsFilledIn() throws {
        let payload = Array("a datagram the kernel left for the device to checksum".utf8)
        var frame = Self.frame(ipv6: false, payload: payload)
        let tcp = 34
        var pseudo = InternetChecksum()
        pseudo.add(frame[26..<34])
        pseudo.add(UInt16(6))
        pseudo.add(UInt16(frame.count - tcp))
        let partial = ~pseudo.value
        frame[tcp + 16] = UInt8(partial >> 8)
        frame[tcp + 17] = UInt8(truncatingIfNeeded: partial)
        var resolver = OffloadResolver()
        var out: [[UInt8]] = []
        let header = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: UInt16(tcp), checksumOffset: 16)
        #expect(frame.withUnsafeBytes { resolver.resolve($0, header: header) { out.append(Array($0)) } })
        try #require(out.count == 1)
        #expect(Self.tcpCheck(out[0], ipv6: false) == 0)
        #expect(out[0][..<(tcp + 16)] == frame[..<(tcp + 16)] && out[0][(tcp + 18)...] == frame[(tcp + 18)...], "only the checksum changed")
    }

    @Test func whatItCannotResolveIsRefused() {
        var resolver = OffloadResolver()
        let udp = VirtioNetHeader(gsoType: 3, gsoSize: 1400)
        let notTCP = VirtioNetHeader(gsoType: 1, gsoSize: 1400)
        let outside = VirtioNetHeader(flags: VirtioNetHeader.needsChecksum, checksumStart: 60, checksumOffset: 16)
        var frame = Self.frame(ipv6: false, payload: [1, 2, 3])
        frame[23] = 17  // UDP in the IPv4 header
        var called = false
        #expect(!frame.withUnsafeBytes { resolver.resolve($0, header: udp) { _ in called = true } })
        #expect(!frame.withUnsafeBytes { resolver.resolve($0, header: notTCP) { _ in called = true } })
        #expect(!Array(frame.prefix(70)).withUnsafeBytes { resolver.resolve($0, header: outside) { _ in called = true } })
        #expect(!called)
    }

    @Test func theHeaderRoundTripsThroughItsWords() {
        let header = VirtioNetHeader(flags: 1, gsoType: 0x81, headerLength: 66, gsoSize: 1448, checksumStart: 34, checksumOffset: 16)
        #expect(VirtioNetHeader(words: header.words) == header)
        var bytes = [UInt8](repeating: 0, count: 10)
        bytes.withUnsafeMutableBytes { VirtioNetHeader.store(words: header.words, to: $0.baseAddress!) }
        #expect(bytes == [1, 0x81, 66, 0, 0xA8, 0x05, 34, 0, 16, 0])
        #expect(bytes.withUnsafeBytes { VirtioNetHeader($0) } == header)
        #expect(header.gso == .tcpIPv4 && !header.isPlain)
    }

    /// The word-at-a-time sum is the byte-at-a-time one, at every length and odd start.
    @Test func theFastChecksumIsTheSlowOne() {
        let bytes = (0..<1501).map { UInt8(truncatingIfNeeded: $0 &* 131 &+ 7) }
        for length in [0, 1, 2, 3, 4, 5, 7, 8, 63, 64, 1500, 1501] {
            for split in [0, 1, min(3, length)] where split <= length {
                var fast = InternetChecksum()
                fast.add(bytes[0..<split])
                bytes.withUnsafeBytes { fast.add(raw: UnsafeRawBufferPointer(rebasing: $0[split..<length])) }
                #expect(fast.value == InternetChecksum.compute(bytes[0..<length]), "length \(length), split \(split)")
            }
        }
    }
}
