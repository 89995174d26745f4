import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders

/// What a service does with one frame delivered to it.
enum ServiceAction {
    /// Send this frame from the service's endpoint, logging the line at info if there is one.
    case send(EthernetFrame, log: String?)
    /// Understood, and nothing to send (a DHCP RELEASE); the line is logged at info.
    case noted(String)
    /// Addressed to the service but not something it answers: counted, shown at debug.
    case ignored(String)
}

/// The loop every service runs: each frame delivered to its endpoint goes through its
/// `ServiceHost` first (ICMP echo, neighbour discovery, reassembly of both families), then is answered as
/// `decide` says (nil: not for this service at all), until the connection closes or the task
/// is cancelled. What the service sends is fragmented to the host's MTU.
enum ServiceLoop {
    static func serve(
        on client: FabricClient,
        from endpointID: UInt32,
        host: ServiceHost,
        logger: Logger,
        _ decide: ([UInt8]) throws -> ServiceAction?
    ) async throws {
        var host = host
        Self.announce(host, logger: logger)
        var ignored = 0
        let clock = ContinuousClock()
        let start = clock.now
        for try await frame in client.frames {
            let bytes: [UInt8]
            switch host.receive(frame.bytes, now: start.duration(to: clock.now)) {
            case .answered(let reply):
                try Self.send(reply, host: &host, on: client, from: endpointID)
                continue
            case .consumed(let refusal):
                Self.log(refusal, host: host, logger: logger)
                continue
            case .forService(let whole):
                bytes = whole
            }
            switch try decide(bytes) {
            case .send(let reply, let line):
                if let line {
                    logger.info("\(line)")
                }
                try Self.send(reply, host: &host, on: client, from: endpointID)
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

    /// Its IPv6 addresses, which the ready line (frozen by protocol v1's tools) does not show.
    static func announce(_ host: ServiceHost, logger: Logger) {
        logger.info("IPv6 \(host.ip6.map(\.description).joined(separator: " "))", metadata: ["mtu": "\(host.mtu)"])
    }

    /// Sends `frame` as the host puts it on the link: whole, or in fragments.
    static func send(_ frame: EthernetFrame, host: inout ServiceHost, on client: FabricClient, from endpointID: UInt32) throws {
        for part in host.outgoing(frame) {
            try client.send(frame: part.bytes, from: endpointID)
        }
    }

    /// Each kind of refused fragment is logged once, with the counts so far: a storm of them
    /// is one line, not thousands.
    static func log(_ refusal: ReassemblyRefusal?, host: ServiceHost, logger: Logger) {
        guard let refusal else { return }
        let counts = host.refusals.sorted { $0.key.rawValue < $1.key.rawValue }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        logger.notice("dropped fragments: \(refusal); later drops are counted, not logged", metadata: ["refused": "\(counts)"])
    }
}
