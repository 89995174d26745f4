import Logging
import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// Runs the TFTP service on a fabric until the connection closes or the task is cancelled:
/// frames answered as `TFTPServer` decides, retransmissions when its deadlines pass (by this
/// service's monotonic clock), ARP, ICMP echo and reassembly as its `ServiceHost` does them.
public struct TFTPService: Sendable {
    public var name = TFTPServer.endpointName
    public var ip = TFTPServer.defaultIP
    public var root: TFTPRoot
    /// Its MTU (the largest block is this less 32 bytes) and IPv6 addresses.
    public var hostSettings = HostSettings()

    public init(root: TFTPRoot) {
        self.root = root
    }

    public func run(on client: FabricClient, logger: Logger, ready: (EndpointRecord) -> Void) async throws {
        let me = try await AttachedEndpoint.attach(self.name, on: client)
        let record = me.record
        var server = TFTPServer(mac: me.mac, ip: self.ip, root: self.root, mtu: self.hostSettings.mtu)
        var host = ServiceHost(mac: me.mac, ip: self.ip, settings: self.hostSettings)
        ServiceLoop.announce(host, logger: logger)
        let clock = ContinuousClock()
        let start = clock.now
        ready(record)
        while !client.isClosed {
            let now = start.duration(to: clock.now)
            let wait = server.nextDeadline.map { max(.zero, $0 - now) } ?? .seconds(3600)
            if let frame = try await client.nextFrame(timeout: wait) {
                let bytes: [UInt8]
                switch host.receive(frame.bytes, now: start.duration(to: clock.now)) {
                case .answered(let reply):
                    try ServiceLoop.send(reply, host: &host, on: client, from: record.endpointID)
                    continue
                case .consumed(let refusal):
                    ServiceLoop.log(refusal, host: host, logger: logger)
                    continue
                case .forService(let whole):
                    bytes = whole
                }
                guard let ethernet = EthernetFrame(parsing: bytes) else { continue }
                if let reply = ARPPacket.replyFrame(to: ethernet, ownerOf: self.ip, mac: me.mac) {
                    try client.send(frame: reply.bytes, from: record.endpointID)
                    continue
                }
                let (frames, events) = server.handle(bytes, now: start.duration(to: clock.now))
                for reply in frames {
                    try ServiceLoop.send(reply, host: &host, on: client, from: record.endpointID)
                }
                for event in events {
                    switch event {
                    case .started(let file, let from, let size, let blockSize, let window):
                        logger.info("sending \(file) (\(size) bytes) to \(from), blocks of \(blockSize), window \(window)")
                    case .finished(let file, let to):
                        logger.info("sent \(file) to \(to)")
                    case .refused(let why):
                        logger.notice("refused: \(why)")
                    }
                }
            }
            ServiceLoop.log(host.timePassed(now: start.duration(to: clock.now)), host: host, logger: logger)
            for retransmission in server.timePassed(now: start.duration(to: clock.now)) {
                try client.send(frame: retransmission.bytes, from: record.endpointID)
            }
        }
    }
}
