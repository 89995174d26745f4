/// Numbers fixed by protocol v1 (`docs/protocol.md`, "Transport").
public enum ProtocolLimits {
    /// The only protocol version this implementation speaks.
    public static let version: UInt16 = 1

    /// Bytes of header counted in `msg_len`: version, type, endpoint_id and flags.
    public static let headerLength = 12

    /// Bytes on the wire before the payload: `msg_len` itself plus the header.
    public static let wireHeaderLength = 4 + headerLength

    /// Largest `msg_len` accepted (16 MiB). A larger one means framing is lost.
    public static let maximumMessageLength = 16 * 1024 * 1024

    /// Shortest frame a PACKET_OUT may carry: an Ethernet II header (IEEE 802.3, 14 bytes).
    public static let minimumFrameLength = 14

    /// Longest frame a PACKET_OUT may carry: the largest IPv4 datagram (RFC 791: 65,535 bytes)
    /// behind an Ethernet header. Jumbo and offloaded frames fit; a larger one gets ERROR.
    public static let maximumFrameLength = 65_535 + 14

    /// Default fabric address.
    public static let defaultHost = "127.0.0.1"
    public static let defaultPort = 9999
}
