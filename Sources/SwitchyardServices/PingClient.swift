import SwitchyardClient
import SwitchyardPackets
import SwitchyardResponders
import SwitchyardWire

/// The UDP ping of the original tools: endpoint `cli1`, 10.0.0.1:12345, one datagram to the
/// echo service per ping, waiting for the echo before the next. To an IPv6 service address it
/// sends from fd53:5900::1 (its link-local address to a link-local one); echoes that come
/// back in fragments are put together first.
public struct PingClient: Sendable {
    public enum Resolution: String, Sendable, CaseIterable {
        /// The service MAC from ENDPOINT_INFO, as the original ping did.
        case lookup
        /// Broadcast ARP for the service IP (neighbour solicitation for an IPv6 one).
        case arp
    }

    public static let endpointName = "cli1"
    public static let defaultIP = IPv4Address(10, 0, 0, 1)
    public static let defaultPort: UInt16 = 12345

    public var payload: [UInt8]
    public var count = 1
    /// Time from one ping's send to the next one's (ping -i); zero sends the next at once.
    public var interval: Duration = .zero
    public var timeout: Duration = .seconds(3)
    public var resolution = Resolution.lookup
    public var endpointName = Self.endpointName
    public var ip = Self.defaultIP
    public var port = Self.defaultPort
    public var serviceName = EchoResponder.endpointName
    public var serviceIP = IPAddress.v4(EchoResponder.defaultIP)
    public var servicePort = EchoResponder.defaultPort

    public init(payload: [UInt8]) {
        self.payload = payload
    }

    /// What a run saw.
    public struct Report: Sendable {
        public var sent = 0
        public var received = 0
        /// Replies beyond the first to a ping (a `duplicate` rule), shown as ping(8) shows them.
        public var duplicates = 0
        /// Round-trip times of the answered pings.
        public var roundTrips: [Duration] = []

        public init() {}
    }

    /// Pings; `output` gets the lines a person reads (and whether the line reports a failure). Throws `FabricClientError` `.timeout` when
    /// the service cannot be found or resolved; unanswered pings are counted, not thrown.
    /// `progress` sees the report after every ping, so a run cut short still has its statistics.
    public func run(
        on client: FabricClient,
        output: (_ line: String, _ isFailure: Bool) -> Void,
        progress: (Report) -> Void = { _ in }
    ) async throws -> Report {
        try await self.run(on: client, clock: ContinuousClock(), output: output, progress: progress)
    }

    /// `run` with the clock that paces the pings, measures round trips and times out.
    public func run<C: Clock>(
        on client: FabricClient,
        clock: C,
        output: (_ line: String, _ isFailure: Bool) -> Void,
        progress: (Report) -> Void = { _ in }
    ) async throws -> Report where C.Duration == Duration {
        let me = try await AttachedEndpoint.attach(self.endpointName, on: client)
        let source = me.sourceAddress(toward: self.serviceIP, ip: self.ip)
        let serviceMAC = try await me.locateService(
            self.serviceName, ip: self.serviceIP, from: source, resolution: self.resolution,
            timeout: self.timeout, on: client, clock: clock, hint: "switchyard-echo"
        )
        guard let request = UDPMessage.build(from: (me.mac, source, self.port), to: (serviceMAC, self.serviceIP, self.servicePort), payload: self.payload) else {
            preconditionFailure("the source address is chosen in the service address's family")
        }
        return try await self.ping(request.bytes, from: me.id, source: source, on: client, clock: clock, output: output, progress: progress)
    }

    /// The pings themselves, once the endpoint and the service's MAC are known.
    func ping<C: Clock>(
        _ request: [UInt8],
        from endpointID: UInt32,
        source: IPAddress,
        on exchange: some FrameExchange,
        clock: C,
        output: (_ line: String, _ isFailure: Bool) -> Void,
        progress: (Report) -> Void
    ) async throws -> Report where C.Duration == Duration {
        let shown = PythonBytesLiteral.render(self.payload)
        let target = self.serviceIP.withPort(self.servicePort)
        var receiver = EchoReceiver<C>(ping: self, source: source, start: clock.now)
        var report = Report()
        var next = clock.now
        for index in 0..<self.count {
            if index > 0, self.interval > .zero {
                next = next.advanced(by: self.interval)
                try await clock.sleep(until: next, tolerance: nil)
            }
            // Echoes still waiting answered the previous ping again; they are not this one's.
            try await self.takeDuplicates(on: exchange, receiver: &receiver, clock: clock, target: target, into: &report, output: output, progress: progress)
            let start = clock.now
            try exchange.send(frame: request, from: endpointID)
            report.sent += 1
            progress(report)
            output("[cli] sent \(self.payload.count) bytes to \(target) \(shown)", false)
            if let reply = try await exchange.awaitFrame(until: start.advanced(by: self.timeout), on: clock, answer: { receiver.echo(in: $0, now: clock.now) }) {
                report.received += 1
                report.roundTrips.append(start.duration(to: clock.now))
                progress(report)
                output("[cli] got reply from \(target) \(PythonBytesLiteral.render(reply.payload))", false)
                try await self.takeDuplicates(on: exchange, receiver: &receiver, clock: clock, target: target, into: &report, output: output, progress: progress)
            } else {
                output("[cli] timeout: no reply from \(target) within \(self.timeout.secondsDescription) s", true)
            }
        }
        return report
    }

    /// Takes the echoes already received: copies of an answered ping's reply, each marked
    /// `DUP!` as ping(8) marks them and counted apart. Copies come back to back (a rule
    /// duplicates a delivery in one batch), so what has arrived by now is all there is.
    private func takeDuplicates<C: Clock>(
        on exchange: some FrameExchange,
        receiver: inout EchoReceiver<C>,
        clock: C,
        target: String,
        into report: inout Report,
        output: (_ line: String, _ isFailure: Bool) -> Void,
        progress: (Report) -> Void
    ) async throws {
        guard report.received > 0 else { return }
        while let frame = try await exchange.nextFrame(timeout: .zero) {
            guard let duplicate = receiver.echo(in: frame, now: clock.now) else { continue }
            report.duplicates += 1
            progress(report)
            output("[cli] got reply from \(target) \(PythonBytesLiteral.render(duplicate.payload)) (DUP!)", false)
        }
    }

    /// Picks the echoes of our datagrams out of what arrives, putting IPv4 fragments together.
    struct EchoReceiver<C: Clock> where C.Duration == Duration {
        var ping: PingClient
        var source: IPAddress
        var start: C.Instant
        var reassembler = IPv4Reassembler()
        var reassembler6 = IPv6Reassembler()

        mutating func echo(in frame: ReceivedFrame, now: C.Instant) -> UDPMessage? {
            let time = self.start.duration(to: now)
            guard let ethernet = EthernetFrame(parsing: frame.bytes),
                  let whole = self.reassembler.frame(ethernet, now: time).flatMap({ self.reassembler6.frame($0, now: time) }),
                  let udp = UDPMessage(parsing: whole),
                  udp.source == self.ping.serviceIP, udp.sourcePort == self.ping.servicePort,
                  udp.destination == self.source, udp.destinationPort == self.ping.port
            else { return nil }
            return udp
        }
    }
}

extension PingClient.Report {
    /// ping(8)-style summary lines.
    public func summary(target: String) -> [String] {
        let loss = self.sent == 0 ? 0 : (self.sent - self.received) * 100 / self.sent
        var lines = [
            "--- \(target) udp ping statistics ---",
            "\(self.sent) packets transmitted, \(self.received) received, "
                + (self.duplicates > 0 ? "+\(self.duplicates) duplicates, " : "") + "\(loss)% packet loss",
        ]
        if !self.roundTrips.isEmpty {
            let ms = self.roundTrips.map { $0.seconds * 1e3 }
            let avg = ms.reduce(0, +) / Double(ms.count)
            lines.append("rtt min/avg/max = \(Self.format(ms.min()!))/\(Self.format(avg))/\(Self.format(ms.max()!)) ms")
        }
        return lines
    }

    private static func format(_ value: Double) -> String {
        DecimalText.fixed(value, decimals: 3)
    }
}
