/// What a wire would carry for a frame an offloading kernel handed over with a
/// `VirtioNetHeader`: a TCP GSO frame (IPv4 or IPv6) cut into segments of `gsoSize` bytes of
/// payload, each with its IP and TCP checksums, sequence number, IPv4 identification and flags
/// as the kernel's own segmentation (`tcp_gso_segment`) makes them; a frame marked NEEDS_CSUM
/// with its checksum filled in. For endpoints that take no offloads (v1, QEMU, VXLAN).
///
/// Reuses one buffer for every segment: `resolve` calls its body once per segment with a view
/// that is valid only during the call.
public struct OffloadResolver: Sendable {
    private var scratch: [UInt8] = []

    public init() {}

    /// The frames for `frame`; false (nothing passed to `body`) when the header asks for what
    /// this does not do: UDP segmentation, a GSO frame that is not TCP over IPv4 or IPv6 as the
    /// header says, or a checksum position outside the frame.
    public mutating func resolve(_ frame: UnsafeRawBufferPointer, header: VirtioNetHeader, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        switch header.gso {
        case .none?:
            guard header.flags & VirtioNetHeader.needsChecksum != 0 else {
                body(frame)
                return true
            }
            return self.fillChecksum(frame, start: Int(header.checksumStart), offset: Int(header.checksumOffset), body)
        case .tcpIPv4?, .tcpIPv6?:
            return self.segment(frame, isIPv6: header.gso == .tcpIPv6, mss: Int(header.gsoSize), body)
        case .udp?, nil:
            return false
        }
    }

    /// CHECKSUM_PARTIAL: the field holds the pseudo-header's sum; the checksum is that of
    /// everything from `start` on, stored at `start + offset`.
    private mutating func fillChecksum(_ frame: UnsafeRawBufferPointer, start: Int, offset: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        guard start + offset + 2 <= frame.count else { return false }
        self.scratch.removeAll(keepingCapacity: true)
        self.scratch.append(contentsOf: frame)
        self.scratch.withUnsafeMutableBytes { bytes in
            var sum = InternetChecksum()
            sum.add(raw: UnsafeRawBufferPointer(rebasing: bytes[start...]))
            bytes.storeBytes(of: sum.value.bigEndian, toByteOffset: start + offset, as: UInt16.self)
        }
        self.scratch.withUnsafeBytes(body)
        return true
    }

    private mutating func segment(_ frame: UnsafeRawBufferPointer, isIPv6: Bool, mss: Int, _ body: (UnsafeRawBufferPointer) -> Void) -> Bool {
        let ethernet = 14
        guard mss > 0, frame.count > ethernet else { return false }
        let etherType = UInt16(bigEndian: frame.loadUnaligned(fromByteOffset: 12, as: UInt16.self))
        let ipLength: Int
        if isIPv6 {
            guard etherType == 0x86DD, frame.count >= ethernet + 40, frame[ethernet + 6] == 6 else { return false }
            ipLength = 40
        } else {
            guard etherType == 0x0800, frame[ethernet] >> 4 == 4, frame[ethernet + 9] == 6 else { return false }
            ipLength = Int(frame[ethernet] & 0x0F) * 4
            guard ipLength >= 20 else { return false }
        }
        let tcp = ethernet + ipLength
        guard frame.count >= tcp + 20 else { return false }
        let tcpLength = Int(frame[tcp + 12] >> 4) * 4
        let headers = tcp + tcpLength
        guard tcpLength >= 20, frame.count >= headers else { return false }
        let payload = frame.count - headers
        let sequence = UInt32(bigEndian: frame.loadUnaligned(fromByteOffset: tcp + 4, as: UInt32.self))
        let identification = isIPv6 ? 0 : UInt16(bigEndian: frame.loadUnaligned(fromByteOffset: ethernet + 4, as: UInt16.self))
        let flags = frame[tcp + 13]
        let segments = max(1, (payload + mss - 1) / mss)
        for index in 0..<segments {
            let start = index * mss
            let length = min(mss, payload - start)
            self.scratch.removeAll(keepingCapacity: true)
            self.scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[0..<headers]))
            self.scratch.append(contentsOf: UnsafeRawBufferPointer(rebasing: frame[(headers + start)..<(headers + start + length)]))
            self.scratch.withUnsafeMutableBytes { bytes in
                if isIPv6 {
                    bytes.storeBytes(of: UInt16(tcpLength + length).bigEndian, toByteOffset: ethernet + 4, as: UInt16.self)
                } else {
                    bytes.storeBytes(of: UInt16(ipLength + tcpLength + length).bigEndian, toByteOffset: ethernet + 2, as: UInt16.self)
                    bytes.storeBytes(of: (identification &+ UInt16(truncatingIfNeeded: index)).bigEndian, toByteOffset: ethernet + 4, as: UInt16.self)
                    bytes.storeBytes(of: UInt16(0), toByteOffset: ethernet + 10, as: UInt16.self)
                    var header = InternetChecksum()
                    header.add(raw: UnsafeRawBufferPointer(rebasing: bytes[ethernet..<tcp]))
                    bytes.storeBytes(of: header.value.bigEndian, toByteOffset: ethernet + 10, as: UInt16.self)
                }
                bytes.storeBytes(of: (sequence &+ UInt32(truncatingIfNeeded: start)).bigEndian, toByteOffset: tcp + 4, as: UInt32.self)
                var segmentFlags = flags
                if index != segments - 1 {
                    segmentFlags &= ~UInt8(0x09)  // FIN and PSH only on the last segment
                }
                if index != 0 {
                    segmentFlags &= ~UInt8(0x80)  // CWR only on the first
                }
                bytes[tcp + 13] = segmentFlags
                bytes.storeBytes(of: UInt16(0), toByteOffset: tcp + 16, as: UInt16.self)
                var checksum = InternetChecksum()
                if isIPv6 {
                    checksum.add(raw: UnsafeRawBufferPointer(rebasing: bytes[(ethernet + 8)..<(ethernet + 40)]))
                    checksum.add(UInt16(0))
                    checksum.add(UInt16(tcpLength + length))
                    checksum.add(UInt16(6))
                } else {
                    checksum.add(raw: UnsafeRawBufferPointer(rebasing: bytes[(ethernet + 12)..<(ethernet + 20)]))
                    checksum.add(UInt16(6))
                    checksum.add(UInt16(tcpLength + length))
                }
                checksum.add(raw: UnsafeRawBufferPointer(rebasing: bytes[tcp...]))
                bytes.storeBytes(of: checksum.value.bigEndian, toByteOffset: tcp + 16, as: UInt16.self)
            }
            self.scratch.withUnsafeBytes(body)
        }
        return true
    }
}
