import SwitchyardPackets

/// The NTP service's decisions, with no I/O: answers ARP for its IP and each NTPv4 client
/// request (mode 3, 48+ bytes) with a 48-byte server packet (RFC 5905 section 7.3).
public struct NTPResponder: Sendable {
    public static let endpointName = "svc_ntp"
    public static let defaultIP = IPv4Address(10, 0, 0, 3)
    /// Reference id of a stratum-1 server synchronised to its own local clock.
    public static let referenceID: [UInt8] = Array("LOCL".utf8)
    /// log2 seconds: about a microsecond, as the reference peer advertises.
    public static let precision: Int8 = -20

    public var mac: MACAddress
    public var ip: IPv4Address
    /// 1 per the facts page; changeable to test regression tooling.
    public var stratum: UInt8
    public var clock: any WallClock

    public init(mac: MACAddress, ip: IPv4Address = Self.defaultIP, stratum: UInt8 = 1, clock: any WallClock) {
        self.mac = mac
        self.ip = ip
        self.stratum = stratum
        self.clock = clock
    }

    public enum Answer: Sendable {
        case arpReply(EthernetFrame)
        case ntpReply(EthernetFrame, request: UDPFrame)
        /// Sent to our NTP port but not an NTP client request: counted, not answered.
        case ignored(reason: String)
    }

    /// What to do about `bytes`; nil when the frame is not for this service at all.
    public func answer(_ bytes: [UInt8]) -> Answer? {
        let received = self.clock.now()
        guard let frame = EthernetFrame(parsing: bytes) else { return nil }
        if let reply = ARPPacket.replyFrame(to: frame, ownerOf: self.ip, mac: self.mac) {
            return .arpReply(reply)
        }
        guard let udp = UDPFrame.addressed(to: self.mac, ip: self.ip, port: NTPPacket.port, in: frame) else { return nil }
        guard let request = NTPPacket(parsing: udp.udp.payload) else {
            return .ignored(reason: "\(udp.udp.payload.count)-byte payload, shorter than an NTP packet")
        }
        guard request.mode == .client else {
            return .ignored(reason: "mode \(request.mode.rawValue) (\(request.mode)), not a client request")
        }
        var response = NTPPacket(mode: .server)
        response.version = 4
        response.stratum = self.stratum
        response.poll = request.poll
        response.precision = Self.precision
        response.referenceID = Self.referenceID
        response.referenceTimestamp = NTPTimestamp(unixNanoseconds: received)
        response.originateTimestamp = request.transmitTimestamp
        response.receiveTimestamp = NTPTimestamp(unixNanoseconds: received)
        response.transmitTimestamp = NTPTimestamp(unixNanoseconds: self.clock.now())
        return .ntpReply(udp.reply(from: self.mac, payload: response.bytes), request: udp)
    }
}
