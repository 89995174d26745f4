import CPcap

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Constants and the one place libpcap's error conventions are turned into `PcapError`.
enum Pcap {
    /// Ethernet (IEEE 802.3): the only link type the fabric carries (`DLT_EN10MB`).
    static let linkTypeEthernet: Int32 = 1

    /// Size of libpcap's error buffer (`PCAP_ERRBUF_SIZE`).
    static let errorBufferSize = 256

    /// Calls `body` with an error buffer; returns its result, or throws `code` with libpcap's
    /// message when the result is nil.
    static func call<Result>(_ code: PcapError.Code, _ context: String, _ body: (UnsafeMutablePointer<CChar>) -> Result?) throws(PcapError) -> Result {
        var buffer = [CChar](repeating: 0, count: errorBufferSize)
        let result = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!) }
        guard let result else {
            let message = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw PcapError(code, message.isEmpty ? context : "\(context): \(message)")
        }
        return result
    }

    /// The text of `errno` (for stdio failures, which libpcap reports that way).
    static func errnoText(_ value: Int32 = errno) -> String {
        String(cString: strerror(value))
    }

    /// A handle that is never read from: needed to compile filters and to write files.
    static func openDead(snapshotLength: Int) throws(PcapError) -> OpaquePointer {
        guard let handle = pcap_open_dead_with_tstamp_precision(linkTypeEthernet, Int32(snapshotLength), UInt32(PCAP_TSTAMP_PRECISION_NANO)) else {
            throw PcapError(.cannotCreateFile, "libpcap could not create a capture handle")
        }
        return handle
    }

    /// libpcap's last error on `handle`.
    static func lastError(_ handle: OpaquePointer) -> String {
        String(cString: pcap_geterr(handle))
    }
}
