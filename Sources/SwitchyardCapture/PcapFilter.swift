import CPcap

/// A compiled BPF filter (tcpdump's expression language), applied to frames in memory with
/// `pcap_offline_filter`. Sendable: after `init` nothing writes the program, and
/// `pcap_offline_filter` only reads it, so concurrent matches are safe.
public final class PcapFilter: @unchecked Sendable {
    public let expression: String
    private let handle: OpaquePointer
    private var program = bpf_program()

    /// Compiles `expression` for Ethernet frames of at most `snapshotLength` bytes; an invalid
    /// expression throws `.invalidFilter` with libpcap's message.
    public init(expression: String, snapshotLength: Int = 262_144) throws(PcapError) {
        self.expression = expression
        self.handle = try Pcap.openDead(snapshotLength: snapshotLength)
        if pcap_compile(self.handle, &self.program, expression, 1, PCAP_NETMASK_UNKNOWN) != 0 {
            // deinit still runs (every property is set) and releases the handle.
            let message = Pcap.lastError(self.handle)
            throw PcapError(.invalidFilter, "invalid filter \"\(expression)\": \(message)")
        }
    }

    deinit {
        pcap_freecode(&self.program)
        pcap_close(self.handle)
    }

    /// True when the filter accepts the frame (`bytes` is its captured part).
    public func matches(_ bytes: UnsafeRawBufferPointer, originalLength: Int) -> Bool {
        var header = pcap_pkthdr()
        header.caplen = UInt32(bytes.count)
        header.len = UInt32(originalLength)
        guard let base = bytes.baseAddress?.assumingMemoryBound(to: UInt8.self) else {
            return withUnsafePointer(to: 0 as UInt8) { pcap_offline_filter(&self.program, &header, $0) != 0 }
        }
        return pcap_offline_filter(&self.program, &header, base) != 0
    }

    public func matches(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { self.matches($0, originalLength: bytes.count) }
    }
}
