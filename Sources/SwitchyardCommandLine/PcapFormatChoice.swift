import ArgumentParser

/// Which file format a capture path asks for. Until the pcapng writer exists, a `.pcapng`
/// name is refused rather than silently filled with classic pcap.
public enum PcapFormatChoice {
    public static func requireClassicPcap(_ path: String, flag: String) throws {
        if path.lowercased().hasSuffix(".pcapng") {
            throw ValidationError("\(flag) \(path): writing pcapng is not supported yet; name the file .pcap (classic pcap, which Wireshark and tcpdump read)")
        }
    }
}
