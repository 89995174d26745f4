import Logging
import SwitchyardClient
import SwitchyardPackets

/// What a service does with one frame delivered to it.
enum ServiceAction {
    /// Send this frame from the service's endpoint, logging the line at info if there is one.
    case send(EthernetFrame, log: String?)
    /// Understood, and nothing to send (a DHCP RELEASE); the line is logged at info.
    case noted(String)
    /// Addressed to the service but not something it answers: counted, shown at debug.
    case ignored(String)
}

/// The loop every service runs: each frame delivered to its endpoint, answered as `decide`
/// says (nil: not for this service at all), until the connection closes or the task is
/// cancelled. An ICMP echo request for the service's address is answered first, as a host
/// answers it (`ICMPEcho`), whatever the service.
enum ServiceLoop {
    static func serve(
        on client: FabricClient,
        from endpointID: UInt32,
        host: ServiceHost,
        logger: Logger,
        _ decide: ([UInt8]) throws -> ServiceAction?
    ) async throws {
        var ignored = 0
        for try await frame in client.frames {
            if let reply = host.echoReply(to: frame.bytes) {
                try client.send(frame: reply.bytes, from: endpointID)
                continue
            }
            switch try decide(frame.bytes) {
            case .send(let reply, let line):
                if let line {
                    logger.info("\(line)")
                }
                try client.send(frame: reply.bytes, from: endpointID)
            case .noted(let line):
                logger.info("\(line)")
            case .ignored(let reason):
                ignored += 1
                logger.debug("ignored a request", metadata: ["reason": "\(reason)", "ignored": "\(ignored)"])
            case nil:
                continue
            }
        }
    }
}

/// What every service answers as a host on its address, beside its own protocol: ICMP echo.
struct ServiceHost: Sendable {
    var mac: MACAddress
    var ip: IPv4Address
    var timeToLive: UInt8 = IPv4Packet.defaultTTL

    /// The echo reply when `bytes` is an echo request for this host.
    func echoReply(to bytes: [UInt8]) -> EthernetFrame? {
        guard let frame = EthernetFrame(parsing: bytes), frame.etherType == .ipv4 else { return nil }
        return ICMPEcho.replyFrame(to: frame, ownerOf: self.ip, mac: self.mac, timeToLive: self.timeToLive)
    }
}
